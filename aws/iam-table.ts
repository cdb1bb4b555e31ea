/**
 * Every AWS client method drover calls (aws/clients.ts), mapped to the IAM action(s) it needs and the resource types
 * those actions authorize: what `drover iam-policy` builds its policies from (aws/iam-policy.ts). The table is keyed
 * by the client interfaces' own method names, so a method added to a client without an entry here does not compile,
 * and test/iam-policy.unit.test.ts also reads aws/clients.ts to be sure.
 *
 * Sources: the Service Authorization Reference, "Actions, resources, and condition keys for <service>"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_<prefix>.html, prefix as in SAR below). A
 * method with `resources: []` calls an action whose "Resource types" column is empty: AWS authorizes it only with
 * `Resource: "*"`. Each of those names its page in `source`.
 */
import type { AwsClients } from './clients';

/** The Service Authorization Reference page of each service prefix drover calls. */
export const SAR: Record<string, string> = {
  route53: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html',
  rds: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html',
  ec2: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html',
  kms: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html',
  secretsmanager: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html',
  eks: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html',
  cloudwatch: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html',
  s3: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html',
  sns: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html',
  servicequotas: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_servicequotas.html',
  sts: 'https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html',
  iam: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html',
};

/**
 * The resource types (the SAR's names) drover's calls are authorized against; ARN formats are in aws/iam-policy.ts.
 * Route 53's are global (no region, no account); RDS's global-cluster has no region.
 */
export type ResourceType =
  | 'route53:hostedzone'
  | 'route53:change'
  | 'route53:healthcheck'
  | 'rds:db'
  | 'rds:db-listing'
  | 'rds:snapshot'
  | 'rds:pg'
  | 'rds:og'
  | 'rds:subgrp'
  | 'rds:cluster'
  | 'rds:global-cluster'
  | 'kms:key'
  | 'secretsmanager:secret'
  | 'eks:cluster'
  | 'eks:nodegroup'
  | 'eks:addon'
  | 'eks:access-entry'
  | 'cloudwatch:alarm'
  | 's3:bucket'
  | 's3:object'
  | 'sns:topic'
  | 'iam:role';

/**
 * Who makes the call: `worker` (an activity, or the audit store the worker writes through), `prepare` (`drover prepare`,
 * run by an operator with their own credentials, in peacetime), `local` (the embedded stack's seeding and the tests
 * only, never against AWS).
 */
export type Caller = 'worker' | 'prepare' | 'local';

export interface MethodPermission {
  /** The IAM actions the call needs (more than one where one API operation is authorized by several). */
  actions: readonly string[];
  /** The resource types the actions are authorized against; empty: the action supports no resource-level permission (Resource "*"). */
  resources: readonly ResourceType[];
  callers: readonly Caller[];
  /** Where this is said: the SAR page of the service, and a note where the mapping is not the obvious one. */
  source: string;
  note?: string;
}

/** The client methods of each service, as aws/clients.ts declares them (STS is not signed by the worker: see below). */
type MethodsOf<K extends keyof AwsClients> = Exclude<keyof ReturnType<NonNullable<AwsClients[K]>>, 'endpoint' | 'send'>;
type Table = { [K in Exclude<keyof AwsClients, 'sts'>]: Record<MethodsOf<K> & string, MethodPermission> };

const W: readonly Caller[] = ['worker'];
const P: readonly Caller[] = ['prepare'];
const L: readonly Caller[] = ['local'];

/**
 * The table. STS is absent on purpose: the worker signs no STS request of its own; `verifyIdentity` replays a request the
 * approver (or requester) signed, so it is the approver's identity STS authorizes, and GetCallerIdentity needs no
 * permission at all ("No permissions are required to perform this operation", STS API Reference, GetCallerIdentity).
 */
export const IAM_TABLE: Table = {
  route53: {
    // ListHostedZonesByName: "Resource types" empty in the SAR: Resource "*".
    listHostedZonesByName: { actions: ['route53:ListHostedZonesByName'], resources: [], callers: W, source: SAR.route53 },
    listResourceRecordSets: { actions: ['route53:ListResourceRecordSets'], resources: ['route53:hostedzone'], callers: W, source: SAR.route53 },
    changeResourceRecordSets: { actions: ['route53:ChangeResourceRecordSets'], resources: ['route53:hostedzone'], callers: [...W, ...P], source: SAR.route53 },
    getChange: { actions: ['route53:GetChange'], resources: ['route53:change'], callers: W, source: SAR.route53 },
    createHostedZone: { actions: ['route53:CreateHostedZone'], resources: [], callers: L, source: SAR.route53 },
    // CreateHealthCheck and ListHealthChecks: no resource type in the SAR: Resource "*".
    createHealthCheck: { actions: ['route53:CreateHealthCheck'], resources: [], callers: P, source: SAR.route53 },
    listHealthChecks: { actions: ['route53:ListHealthChecks'], resources: [], callers: P, source: SAR.route53 },
    updateHealthCheck: { actions: ['route53:UpdateHealthCheck'], resources: ['route53:healthcheck'], callers: P, source: SAR.route53 },
  },
  rds: {
    describeDBInstances: {
      actions: ['rds:DescribeDBInstances'],
      resources: ['rds:db-listing'],
      callers: [...W, ...P],
      source: SAR.rds,
      note: 'cleanup and the read_only scan list instances (no identifier: activities/dblifecycle.ts, activities/readonly.ts), authorized against db:* of the region',
    },
    promoteReadReplica: { actions: ['rds:PromoteReadReplica'], resources: ['rds:db'], callers: W, source: SAR.rds },
    addTagsToResource: { actions: ['rds:AddTagsToResource'], resources: ['rds:db', 'rds:snapshot', 'rds:pg'], callers: W, source: SAR.rds },
    removeTagsFromResource: { actions: ['rds:RemoveTagsFromResource'], resources: ['rds:db', 'rds:snapshot', 'rds:pg'], callers: W, source: SAR.rds },
    listTagsForResource: { actions: ['rds:ListTagsForResource'], resources: ['rds:db', 'rds:snapshot', 'rds:pg'], callers: W, source: SAR.rds },
    createDBInstance: { actions: ['rds:CreateDBInstance'], resources: ['rds:db'], callers: L, source: SAR.rds },
    createDBInstanceReadReplica: {
      actions: ['rds:CreateDBInstanceReadReplica'],
      resources: ['rds:db', 'rds:pg', 'rds:og', 'rds:subgrp'],
      callers: W,
      source: SAR.rds,
      note: 'db* is both the source and the new replica; the groups it is created with (pg, og, subgrp) are resource types of the action too',
    },
    modifyDBInstance: { actions: ['rds:ModifyDBInstance'], resources: ['rds:db', 'rds:pg', 'rds:og', 'rds:subgrp'], callers: W, source: SAR.rds },
    createDBSnapshot: { actions: ['rds:CreateDBSnapshot'], resources: ['rds:db', 'rds:snapshot'], callers: W, source: SAR.rds },
    describeDBSnapshots: { actions: ['rds:DescribeDBSnapshots'], resources: ['rds:db', 'rds:snapshot'], callers: W, source: SAR.rds },
    deleteDBInstance: { actions: ['rds:DeleteDBInstance'], resources: ['rds:db'], callers: W, source: SAR.rds },
    rebootDBInstance: { actions: ['rds:RebootDBInstance'], resources: ['rds:db'], callers: W, source: SAR.rds },
    describeDBSubnetGroups: { actions: ['rds:DescribeDBSubnetGroups'], resources: ['rds:subgrp'], callers: W, source: SAR.rds },
    describeDBParameterGroups: { actions: ['rds:DescribeDBParameterGroups'], resources: ['rds:pg'], callers: W, source: SAR.rds },
    describeOptionGroups: { actions: ['rds:DescribeOptionGroups'], resources: ['rds:og'], callers: W, source: SAR.rds },
    describeDBParameters: { actions: ['rds:DescribeDBParameters'], resources: ['rds:pg'], callers: W, source: SAR.rds },
    modifyDBParameterGroup: { actions: ['rds:ModifyDBParameterGroup'], resources: ['rds:pg'], callers: W, source: SAR.rds },
    resetDBParameterGroup: { actions: ['rds:ResetDBParameterGroup'], resources: ['rds:pg'], callers: W, source: SAR.rds },
    describeGlobalClusters: { actions: ['rds:DescribeGlobalClusters'], resources: ['rds:global-cluster'], callers: W, source: SAR.rds },
    switchoverGlobalCluster: { actions: ['rds:SwitchoverGlobalCluster'], resources: ['rds:global-cluster', 'rds:cluster'], callers: W, source: SAR.rds },
    failoverGlobalCluster: { actions: ['rds:FailoverGlobalCluster'], resources: ['rds:global-cluster', 'rds:cluster'], callers: W, source: SAR.rds },
    describeDBClusters: { actions: ['rds:DescribeDBClusters'], resources: ['rds:cluster'], callers: P, source: SAR.rds },
  },
  ec2: {
    // ec2:Describe* support no resource-level permissions (SAR, Amazon EC2: "Resource types" empty): Resource "*".
    describeSecurityGroups: { actions: ['ec2:DescribeSecurityGroups'], resources: [], callers: W, source: SAR.ec2 },
    createSecurityGroup: { actions: ['ec2:CreateSecurityGroup'], resources: [], callers: L, source: SAR.ec2, note: 'the fence group is made by the embedded stack (infra/local/seed.ts); in AWS by the team' },
    describeVpcs: { actions: ['ec2:DescribeVpcs'], resources: [], callers: L, source: SAR.ec2 },
    // Readiness: which zones of the standby region offer the node groups' instance types.
    describeInstanceTypeOfferings: { actions: ['ec2:DescribeInstanceTypeOfferings'], resources: [], callers: W, source: SAR.ec2 },
    // Readiness: the vCPUs of the node groups' instance types (the EC2 On-Demand quota is counted in vCPUs).
    describeInstanceTypes: { actions: ['ec2:DescribeInstanceTypes'], resources: [], callers: W, source: SAR.ec2 },
  },
  kms: {
    describeKey: { actions: ['kms:DescribeKey'], resources: ['kms:key'], callers: W, source: SAR.kms },
    // ListAliases: no resource type in the SAR: Resource "*".
    listAliases: { actions: ['kms:ListAliases'], resources: [], callers: W, source: SAR.kms },
  },
  secrets: {
    getSecretValue: {
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['secretsmanager:secret'],
      callers: W,
      source: SAR.secretsmanager,
      note: 'a secret encrypted with a customer managed key also needs kms:Decrypt on that key (aws/iam-policy.ts adds it, through Secrets Manager only)',
    },
  },
  eks: {
    describeCluster: { actions: ['eks:DescribeCluster'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    describeNodegroup: { actions: ['eks:DescribeNodegroup'], resources: ['eks:nodegroup'], callers: W, source: SAR.eks },
    updateNodegroupConfig: { actions: ['eks:UpdateNodegroupConfig'], resources: ['eks:nodegroup'], callers: W, source: SAR.eks },
    createCluster: { actions: ['eks:CreateCluster'], resources: ['eks:cluster'], callers: L, source: SAR.eks, note: 'in AWS a rebuild creates clusters through OpenTofu, not this client (aws/iam-policy.ts, rebuild statements)' },
    createNodegroup: { actions: ['eks:CreateNodegroup'], resources: ['eks:cluster'], callers: L, source: SAR.eks },
    describeUpdate: { actions: ['eks:DescribeUpdate'], resources: ['eks:cluster', 'eks:nodegroup'], callers: W, source: SAR.eks },
    listUpdates: { actions: ['eks:ListUpdates'], resources: ['eks:cluster', 'eks:nodegroup'], callers: W, source: SAR.eks },
    tagResource: { actions: ['eks:TagResource'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    untagResource: { actions: ['eks:UntagResource'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    // Readiness's cluster record (activities/cluster-record.ts): what the cluster is, for a rebuild to compare with.
    listNodegroups: { actions: ['eks:ListNodegroups'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    listAddons: { actions: ['eks:ListAddons'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    describeAddon: { actions: ['eks:DescribeAddon'], resources: ['eks:addon'], callers: W, source: SAR.eks },
    listAccessEntries: { actions: ['eks:ListAccessEntries'], resources: ['eks:cluster'], callers: W, source: SAR.eks },
    describeAccessEntry: { actions: ['eks:DescribeAccessEntry'], resources: ['eks:access-entry'], callers: W, source: SAR.eks },
    listAssociatedAccessPolicies: { actions: ['eks:ListAssociatedAccessPolicies'], resources: ['eks:access-entry'], callers: W, source: SAR.eks },
  },
  cloudwatch: {
    describeAlarms: { actions: ['cloudwatch:DescribeAlarms'], resources: ['cloudwatch:alarm'], callers: [...W, ...P], source: SAR.cloudwatch },
    // GetMetricStatistics and PutMetricData: no resource type in the SAR: Resource "*" (PutMetricData is narrowed by its cloudwatch:namespace condition key).
    getMetricStatistics: { actions: ['cloudwatch:GetMetricStatistics'], resources: [], callers: W, source: SAR.cloudwatch },
    putMetricAlarm: { actions: ['cloudwatch:PutMetricAlarm'], resources: ['cloudwatch:alarm'], callers: P, source: SAR.cloudwatch },
    putMetricData: { actions: ['cloudwatch:PutMetricData'], resources: [], callers: [...W, ...P], source: SAR.cloudwatch, note: 'the data-plane controls (activities/controls.ts): only the Drover/Controls namespace' },
    setAlarmState: { actions: ['cloudwatch:SetAlarmState'], resources: ['cloudwatch:alarm'], callers: L, source: SAR.cloudwatch },
  },
  s3: {
    createBucket: { actions: ['s3:CreateBucket'], resources: ['s3:bucket'], callers: W, source: SAR.s3 },
    getObjectLockConfiguration: { actions: ['s3:GetBucketObjectLockConfiguration'], resources: ['s3:bucket'], callers: W, source: SAR.s3 },
    putObjectLockConfiguration: { actions: ['s3:PutBucketObjectLockConfiguration'], resources: ['s3:bucket'], callers: W, source: SAR.s3 },
    putObject: {
      actions: ['s3:PutObject', 's3:PutObjectRetention'],
      resources: ['s3:object'],
      callers: W,
      source: SAR.s3,
      note: 'the audit store puts each event with x-amz-object-lock-mode and -retain-until-date, which need s3:PutObjectRetention too (S3 User Guide, "Using S3 Object Lock", required permissions)',
    },
    getObject: { actions: ['s3:GetObject'], resources: ['s3:object'], callers: W, source: SAR.s3 },
    listObjectsV2: { actions: ['s3:ListBucket'], resources: ['s3:bucket'], callers: W, source: SAR.s3, note: 'ListObjectsV2 is authorized by s3:ListBucket' },
    listObjectVersions: { actions: ['s3:ListBucketVersions'], resources: ['s3:bucket'], callers: W, source: SAR.s3, note: 'ListObjectVersions is authorized by s3:ListBucketVersions' },
  },
  sns: {
    publish: { actions: ['sns:Publish'], resources: ['sns:topic'], callers: W, source: SAR.sns },
  },
  // Readiness's quota check. Asked with Resource "*": the SAR's quota resource type is for applied quotas' tags and
  // increase requests; reading a value names a service and quota code, not an ARN drover has.
  serviceQuotas: {
    getServiceQuota: { actions: ['servicequotas:GetServiceQuota'], resources: [], callers: W, source: SAR.servicequotas },
    getAWSDefaultServiceQuota: { actions: ['servicequotas:GetAWSDefaultServiceQuota'], resources: [], callers: W, source: SAR.servicequotas },
  },
  iam: {
    // "No permissions are required to perform this operation" (STS API Reference, GetCallerIdentity).
    getCallerIdentity: { actions: [], resources: [], callers: W, source: SAR.sts },
    simulatePrincipalPolicy: {
      actions: ['iam:SimulatePrincipalPolicy'],
      resources: ['iam:role'],
      callers: W,
      source: SAR.iam,
      note: "the preflight's permission check simulates the worker's own role (resource types: group, role, user)",
    },
  },
};
