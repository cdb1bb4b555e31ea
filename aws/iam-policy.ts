/**
 * The IAM policies drover's two principals need for one runbook (`drover iam-policy`): the worker's, built from the
 * table of every client method drover calls (aws/iam-table.ts), scoped to the runbook's resources wherever the action
 * supports resource-level permissions; and the approver's. ARN formats are the Service Authorization Reference's
 * ("Resource types defined by ...", one page per service, aws/iam-table.ts SAR).
 */
import { CONTROL_NAMESPACE, controlOf } from '../contracts/controls';
import type { Runbook } from '../runbooks/schema';
import { AWS_REGION_PARTITION } from '../runbooks/aws-regions';
import { databasesOf, type NamedDatabase } from '../runbooks/databases';
import { ADDON_SERVICE_ACCOUNTS, addonServiceAccount } from '../runbooks/eks';
import { CLUSTER_TAG, iamRoleName } from '../infra/eks/names';
import { IAM_TABLE, SAR, type Caller, type MethodPermission, type ResourceType } from './iam-table';

export type PolicyRole = 'worker' | 'approver';
export const POLICY_ROLES: readonly PolicyRole[] = ['worker', 'approver'];

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface PolicyOptions {
  /** The 12-digit account the runbook's resources are in; `*` (any account) when not given. */
  account?: string;
  /** The name (with its path, if any) of the worker's own role: what its permission check simulates. */
  workerRole?: string;
}

/** A policy, and what the runbook could not pin down (a resource named by a pattern where its id is only known at run time). */
export interface GeneratedPolicy {
  policy: PolicyDocument;
  notes: string[];
}


/** A secret given by ARN: Secrets Manager's own format, nothing else (no pattern, no other service's ARN). */
const SECRET_ARN = /^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * What the runbook names that goes into an ARN of the policy, each with its path: a `*` or `?` in one would widen the
 * policy to whatever it matches (IAM reads both as wildcards in a Resource), and a secret's ARN must be a secret's.
 */
export function policyProblems(rb: Runbook): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const named = (path: string, value: string | undefined) => {
    if (value !== undefined && /[*?]/.test(value)) problems.push({ path, message: `"${value}" contains a wildcard (* or ?): drover iam-policy scopes the policy to the resources the runbook names, so name each one exactly` });
  };
  const dbPath = (i: number) => (rb.databases ? `databases[${i}]` : 'database');
  databasesOf(rb).forEach((d, i) => {
    const at = dbPath(i);
    for (const side of ['primary', 'replica'] as const) {
      named(`${at}.${side}.identifier`, d[side].identifier);
      for (const field of ['parameterGroup', 'optionGroup', 'subnetGroup', 'kmsKeyId'] as const) named(`${at}.${side}.${field}`, d[side][field]);
    }
    named(`${at}.globalClusterIdentifier`, d.globalClusterIdentifier);
    for (const field of ['secretId', 'replicaSecretId'] as const) {
      const id = d.access?.[field];
      if (id === undefined) continue;
      named(`${at}.access.${field}`, id);
      if (id.startsWith('arn:') && !/[*?]/.test(id) && !SECRET_ARN.test(id)) problems.push({ path: `${at}.access.${field}`, message: `"${id}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); give the secret's full ARN or its name` });
    }
  });
  rb.compute.clusters.forEach((c, i) => {
    named(`compute.clusters[${i}].name`, c.name);
    c.nodeGroups.forEach((g, j) => named(`compute.clusters[${i}].nodeGroups[${j}].name`, g.name));
  });
  for (const [region, names] of Object.entries(rb.health.alarms)) (names ?? []).forEach((n, i) => named(`health.alarms.${region}[${i}]`, n));
  named('audit.s3.bucket', rb.audit?.s3?.bucket);
  named('audit.s3.prefix', rb.audit?.s3?.prefix);
  named('notifications.snsTopicArn', rb.notifications?.snsTopicArn);
  named('dns.hostedZoneId', rb.dns.hostedZoneId);
  return problems;
}

/** The ARNs of one resource type for this runbook; `notes` say where a pattern stands for what only run time knows. */
function arnsOf(type: ResourceType, rb: Runbook, opts: PolicyOptions, notes: Set<string>): string[] {
  const p = AWS_REGION_PARTITION[rb.regions.primary] ?? 'aws';
  const acct = opts.account ?? '*';
  const regions = [rb.regions.primary, rb.regions.standby];
  const dbs = databasesOf(rb);
  const instanceDbs = dbs.filter((d) => d.engine !== 'aurora-global');
  const each = <T>(items: readonly T[], f: (t: T) => string[]) => [...new Set(items.flatMap(f))];
  const both = (f: (region: string) => string[]) => each(regions, f);
  switch (type) {
    case 'route53:hostedzone': {
      const ids = new Set<string>();
      let unknown = false;
      const zone = (id: string | undefined) => (id ? ids.add(id.replace(/^\/?hostedzone\//, '')) : (unknown = true));
      zone(rb.dns.hostedZoneId);
      for (const r of rb.dns.records) if (r.zone || r.zoneId) zone(r.zoneId);
      for (const d of dbs) if (d.writerRecord.zone || d.writerRecord.zoneId) zone(d.writerRecord.zoneId);
      if (unknown) notes.add('route53 hostedzone/*: the runbook names a zone by name only; give dns.hostedZoneId (and zoneId where a record or writer record has its own zone) to scope Route 53 to it');
      return unknown ? [`arn:${p}:route53:::hostedzone/*`] : [...ids].map((id) => `arn:${p}:route53:::hostedzone/${id}`);
    }
    case 'route53:change':
      // A change id is minted by each ChangeResourceRecordSets: never known in advance.
      return [`arn:${p}:route53:::change/*`];
    case 'route53:healthcheck':
      return [`arn:${p}:route53:::healthcheck/*`];
    case 'rds:db':
      // An instance keeps its name through a failover; a replaced one is kept as <id>-old-<yyyymmddhhmm>-<tag> (runbooks/schema.ts).
      return both((r) => each(instanceDbs, (d) => [d.primary.identifier, d.replica.identifier].flatMap((id) => [`arn:${p}:rds:${r}:${acct}:db:${id}`, `arn:${p}:rds:${r}:${acct}:db:${id}-old-*`])));
    case 'rds:db-listing':
      return instanceDbs.length > 0 ? both((r) => [`arn:${p}:rds:${r}:${acct}:db:*`]) : [];
    case 'rds:snapshot':
      // Final snapshots before a delete: <id>-final-<tag> (activities/dblifecycle.ts).
      return both((r) => each(instanceDbs, (d) => [d.primary.identifier, d.replica.identifier].map((id) => `arn:${p}:rds:${r}:${acct}:snapshot:${id}-*`)));
    case 'rds:pg':
    case 'rds:og':
    case 'rds:subgrp': {
      const kind = type.slice('rds:'.length);
      const field = { pg: 'parameterGroup', og: 'optionGroup', subgrp: 'subnetGroup' }[kind] as 'parameterGroup' | 'optionGroup' | 'subnetGroup';
      if (instanceDbs.length === 0) return [];
      const named = (d: NamedDatabase, side: 'primary' | 'replica') => d[side][field];
      const all = instanceDbs.every((d) => named(d, 'primary') && named(d, 'replica'));
      if (!all || kind === 'pg') {
        // A replica drover re-creates takes the groups of the instance it replaces unless the runbook names them, and the
        // read_only fence modifies the writer's own parameter group (activities/readonly.ts): names only run time knows.
        notes.add(`rds ${kind}:*: ${kind === 'pg' ? 'the read_only fence changes the writer\'s own parameter group, and a re-created replica takes' : 'a re-created replica takes'} the groups of the instance it replaces unless the runbook names them (database.primary/replica.${field})`);
        return both((r) => [`arn:${p}:rds:${r}:${acct}:${kind}:*`]);
      }
      return [
        ...new Set(instanceDbs.flatMap((d) => [`arn:${p}:rds:${rb.regions.primary}:${acct}:${kind}:${named(d, 'primary')}`, `arn:${p}:rds:${rb.regions.standby}:${acct}:${kind}:${named(d, 'replica')}`])),
      ];
    }
    case 'rds:cluster':
      return both((r) => each(dbs.filter((d) => d.engine === 'aurora-global'), (d) => [d.primary.identifier, d.replica.identifier].map((id) => `arn:${p}:rds:${r}:${acct}:cluster:${id}`)));
    case 'rds:global-cluster':
      return each(dbs.filter((d) => d.globalClusterIdentifier), (d) => [`arn:${p}:rds::${acct}:global-cluster:${d.globalClusterIdentifier}`]);
    case 'kms:key': {
      // A re-created encrypted replica is encrypted with the runbook's key of that side, or else with the key of the
      // instance it replaces (found at run time with DescribeKey and ListAliases, activities/dbconfig.ts).
      const sides = instanceDbs.flatMap((d) => [
        { id: d.primary.kmsKeyId, region: rb.regions.primary },
        { id: d.replica.kmsKeyId, region: rb.regions.standby },
      ]);
      const arn = ({ id, region }: { id?: string; region: string }) =>
        id === undefined ? undefined : /^arn:[^:]+:kms:[^:]+:[^:]+:key\//.test(id) ? id : /^([0-9a-f]{8}-[0-9a-f-]{27}|mrk-[0-9a-f]{32})$/.test(id) ? `arn:${p}:kms:${region}:${acct}:key/${id}` : undefined;
      const keys = sides.map(arn);
      if (keys.every((k): k is string => k !== undefined)) return [...new Set(keys)];
      notes.add("kms key/*: a re-created encrypted replica finds its key at run time, or the runbook names it by alias; give each side's kmsKeyId as a key id or key ARN to scope kms:DescribeKey to it");
      return both((r) => [`arn:${p}:kms:${r}:${acct}:key/*`]);
    }
    case 'secretsmanager:secret': {
      return each(instanceDbs, (d) => {
        if (!d.access) return [];
        const arn = (id: string, region: string) => (id.startsWith('arn:') ? [id] : [`arn:${p}:secretsmanager:${region}:${acct}:secret:${id}-??????`]);
        // A secret's ARN ends in a hyphen and six random characters: a name matches with -?????? (Secrets Manager User
        // Guide, "Permissions policy examples": "?" for each of the six characters).
        const primary = arn(d.access.secretId, rb.regions.primary);
        const replica = d.access.replicaSecretId ? arn(d.access.replicaSecretId, rb.regions.standby) : d.access.secretId.startsWith('arn:') ? [] : arn(d.access.secretId, rb.regions.standby);
        return [...primary, ...replica];
      });
    }
    case 'eks:cluster':
      return each(rb.compute.clusters, (c) => [`arn:${p}:eks:${c.region}:${acct}:cluster/${c.name}`]);
    case 'eks:nodegroup':
      // arn:...:nodegroup/<cluster>/<nodegroup>/<uuid>: the uuid is EKS's.
      return each(rb.compute.clusters, (c) => c.nodeGroups.map((g) => `arn:${p}:eks:${c.region}:${acct}:nodegroup/${c.name}/${g.name}/*`));
    case 'eks:addon':
      // arn:...:addon/<cluster>/<addon>/<uuid>: any add-on of the runbook's clusters (the record lists them).
      return each(rb.compute.clusters, (c) => [`arn:${p}:eks:${c.region}:${acct}:addon/${c.name}/*`]);
    case 'eks:access-entry':
      // arn:...:access-entry/<cluster>/<type>/<account>/<name>/<uuid>: any access entry of the runbook's clusters.
      return each(rb.compute.clusters, (c) => [`arn:${p}:eks:${c.region}:${acct}:access-entry/${c.name}/*`]);
    case 'cloudwatch:alarm':
      // The runbook's health alarms, and the data-plane controls' alarms drover prepare makes (contracts/controls.ts).
      return [
        ...each(Object.entries(rb.health.alarms), ([region, names]) => (names ?? []).map((n) => `arn:${p}:cloudwatch:${region}:${acct}:alarm:${n}`)),
        ...both((r) => {
          const c = controlOf(rb, r);
          return [`arn:${p}:cloudwatch:${c.alarmRegion}:${acct}:alarm:${c.alarmName}`];
        }),
      ];
    case 's3:bucket':
      return rb.audit?.s3 ? [`arn:${p}:s3:::${rb.audit.s3.bucket}`] : [];
    case 's3:object':
      return rb.audit?.s3 ? [`arn:${p}:s3:::${rb.audit.s3.bucket}/${rb.audit.s3.prefix ?? ''}*`] : [];
    case 'sns:topic':
      return rb.notifications?.snsTopicArn ? [rb.notifications.snsTopicArn] : [];
    case 'iam:role':
      // The worker's own role: its name is not in the runbook (opts.workerRole names it).
      if (opts.workerRole) return [`arn:${p}:iam::${acct}:role/${opts.workerRole}`];
      notes.add("iam role/*: iam:SimulatePrincipalPolicy (the preflight's permission check) is on the worker's own role; give --worker-role NAME to scope it");
      return [`arn:${p}:iam::${acct}:role/*`];
  }
}

/** The services a runbook does not use at all: their calls are left out of its worker's policy. */
function unused(rb: Runbook): Set<string> {
  const dbs = databasesOf(rb);
  const off = new Set<string>();
  if (!rb.audit?.s3) off.add('s3');
  if (!rb.notifications?.snsTopicArn) off.add('sns');
  if (!dbs.some((d) => d.access)) off.add('secrets');
  if (!dbs.some((d) => d.engine !== 'aurora-global')) off.add('kms');
  return off;
}

/** Methods that only make sense for some databases. */
function methodApplies(service: string, method: string, rb: Runbook): boolean {
  const dbs = databasesOf(rb);
  const aurora = dbs.some((d) => d.engine === 'aurora-global');
  const instances = dbs.some((d) => d.engine !== 'aurora-global');
  if (service === 'rds' && /GlobalCluster/.test(method)) return aurora;
  if (service === 'rds' && method !== 'describeDBClusters' && !/GlobalCluster/.test(method)) return instances;
  return true;
}

/** Statements grouped by identical resources and condition, in table order; Sids unique (IAM requires it within a policy). */
function group(entries: Array<{ sid: string; actions: string[]; resources: string[]; condition?: PolicyStatement['Condition'] }>): PolicyStatement[] {
  const out = new Map<string, PolicyStatement>();
  const sids = new Set<string>();
  for (const e of entries) {
    if (e.resources.length === 0) continue;
    const resources = [...new Set(e.resources)].sort();
    const key = JSON.stringify([resources, e.condition ?? null]);
    let s = out.get(key);
    if (!s) {
      // One statement holds every action AWS authorizes only on "*" (named in aws/iam-table.ts, each with its source).
      let sid = resources.length === 1 && resources[0] === '*' && !e.condition ? 'NoResourceLevelPermissions' : e.sid;
      for (let n = 2; sids.has(sid); n++) sid = `${e.sid}${n}`;
      sids.add(sid);
      s = { Sid: sid, Effect: 'Allow', Action: [], Resource: resources, ...(e.condition ? { Condition: e.condition } : {}) };
      out.set(key, s);
    }
    s.Action = [...new Set([...s.Action, ...e.actions])].sort();
  }
  return [...out.values()];
}

function sidOf(service: string, types: readonly ResourceType[]): string {
  const name = (s: string) => s.replace(/[^A-Za-z0-9]/g, ' ').replace(/(^| )(\w)/g, (_, __, c: string) => c.toUpperCase()).replace(/ /g, '');
  return types.length === 0 ? `${name(service)}NoResourceLevel` : `${name(service)}${types.map((t) => name(t.split(':')[1])).join('')}`;
}

/** The worker's policy: every call its activities make for this runbook, scoped to the runbook's resources. */
/** A runbook whose names would widen the policy (a wildcard, a foreign ARN): each problem is path-qualified. */
export class PolicyScopeError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'PolicyScopeError';
  }
}

export function workerPolicy(rb: Runbook, opts: PolicyOptions = {}, callers: readonly Caller[] = ['worker']): GeneratedPolicy {
  const problems = policyProblems(rb);
  if (problems.length > 0) throw new PolicyScopeError(`the ${rb.name} runbook names resources no policy can be scoped to`, problems.map((p) => `${p.path}: ${p.message}`));
  const notes = new Set<string>();
  const off = unused(rb);
  const entries: Parameters<typeof group>[0] = [];
  for (const [service, methods] of Object.entries(IAM_TABLE) as Array<[string, Record<string, MethodPermission>]>) {
    if (off.has(service)) continue;
    for (const [method, perm] of Object.entries(methods)) {
      if (!perm.callers.some((c) => callers.includes(c)) || !methodApplies(service, method, rb)) continue;
      if (perm.actions.length === 0) continue;
      const resources = perm.resources.length === 0 ? ['*'] : [...new Set(perm.resources.flatMap((t) => arnsOf(t, rb, opts, notes)))];
      const condition = perm.actions.includes('cloudwatch:PutMetricData') ? { StringEquals: { 'cloudwatch:namespace': CONTROL_NAMESPACE } } : undefined;
      entries.push({ sid: sidOf(service, perm.resources), actions: [...perm.actions], resources, condition });
    }
  }
  // A secret encrypted with a customer managed key is decrypted by Secrets Manager on the caller's behalf: kms:Decrypt,
  // only through Secrets Manager (kms:ViaService; Secrets Manager User Guide, "Secret encryption and decryption").
  if (!off.has('secrets')) {
    const regions = [rb.regions.primary, rb.regions.standby];
    const p = AWS_REGION_PARTITION[rb.regions.primary] ?? 'aws';
    entries.push({
      sid: 'KmsDecryptSecretsViaSecretsManager',
      actions: ['kms:Decrypt'],
      resources: regions.map((r) => `arn:${p}:kms:${r}:${opts.account ?? '*'}:key/*`),
      condition: { StringEquals: { 'kms:ViaService': regions.map((r) => `secretsmanager.${r}.amazonaws.com`) } },
    });
  }
  // A re-created encrypted replica in another region is made with the runbook's KMS key of that region (KmsKeyId of
  // CreateDBInstanceReadReplica, activities/dblifecycle.ts createReplica): RDS creates a grant on the key for itself,
  // with the caller's kms:CreateGrant, only for an AWS resource (RDS User Guide, "AWS KMS key management": "the user
  // must have the kms:CreateGrant ... permissions"; condition kms:GrantIsForAWSResource, AWS KMS Developer Guide).
  if (!off.has('kms')) {
    const keys = arnsOf('kms:key', rb, opts, notes);
    if (keys.length > 0) entries.push({ sid: 'KmsCreateGrantForRdsReplicas', actions: ['kms:CreateGrant'], resources: keys, condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } });
  }
  if (rb.rebuild) entries.push(...rebuildStatements(rb, opts, notes));
  return { policy: { Version: '2012-10-17', Statement: group(entries) }, notes: [...notes] };
}

/**
 * What `drover rebuild`'s OpenTofu apply of infra/eks/stack.ts needs beyond the client calls: it creates each cluster's
 * IAM roles (by their exact names, iamRoleName: <cluster>-<region>-cluster|node, and -ebs-csi|-vpc-cni for the add-ons'
 * service accounts) and passes them to EKS (iam:PassRole, with iam:PassedToService eks.amazonaws.com; SAR, IAM), the
 * cluster's OIDC provider, the cluster (encrypted with the runbook's KMS key of its region), access entries and their
 * policies, a launch template per node group, node groups and add-ons. What only EC2 or EKS names (a launch template's
 * id, the issuer's id) is held to the cluster by its drover:cluster tag. Derived from the stack's resources, not from a
 * run against AWS: see docs/iam.md, "What is left".
 */
/**
 * The AWS managed policies infra/eks/stack.ts attaches to the roles it creates (CLUSTER_POLICIES, NODE_POLICIES there,
 * and the add-on service-account policies of runbooks/eks.ts): the only ones the rebuild may attach or detach, so a
 * worker cannot attach AdministratorAccess to a role it creates.
 */
export const REBUILD_MANAGED_POLICIES: readonly string[] = [
  ...new Set(['AmazonEKSClusterPolicy', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly', ...Object.values(ADDON_SERVICE_ACCOUNTS).map((a) => a.policy)]),
];

function rebuildStatements(rb: Runbook, opts: PolicyOptions, notes: Set<string>): Parameters<typeof group>[0] {
  const p = AWS_REGION_PARTITION[rb.regions.primary] ?? 'aws';
  const acct = opts.account ?? '*';
  // The stack's role names, exactly as infra/eks/stack.ts makes them (iamRoleName: <cluster>-<region>-<kind>, or
  // shortened with a hash): no pattern that another cluster's <name>-<region>-<kind> role would match. An add-on's
  // service-account role only where a cluster has that add-on with its role.
  const kinds = (c: Runbook['compute']['clusters'][number]) => [
    'cluster' as const,
    'node' as const,
    ...c.addons.flatMap((a) => addonServiceAccount(a, c.production)?.kind ?? []),
  ];
  const roles = [...new Set(rb.compute.clusters.flatMap((c) => kinds(c).map((kind) => `arn:${p}:iam::${acct}:role/${iamRoleName(c.name, c.region, kind)}`)))];
  const clusters = rb.compute.clusters.flatMap((c) => [
    `arn:${p}:eks:${c.region}:${acct}:cluster/${c.name}`,
    `arn:${p}:eks:${c.region}:${acct}:nodegroup/${c.name}/*`,
    `arn:${p}:eks:${c.region}:${acct}:addon/${c.name}/*`,
    // access-entry/<cluster>/<identity type>/<account>/<name>/<uuid> (SAR, Amazon EKS).
    `arn:${p}:eks:${c.region}:${acct}:access-entry/${c.name}/*`,
  ]);
  // The cluster's OIDC provider is named by its issuer, oidc.eks.<region>.amazonaws.com[.cn]/id/<id> (IAM User Guide, IAM
  // OIDC identity providers): the host ends at "/id/", so oidc.eks.<region>.amazonaws.com.evil.net does not match; the id
  // is EKS's, known only once the cluster exists, so any provider of EKS in the region matches the ARN and the tag the
  // stack puts on its own (droverTags, infra/eks/names.ts) tells the cluster's from another cluster's.
  const oidcProvider = (c: Runbook['compute']['clusters'][number]) => `arn:${p}:iam::${acct}:oidc-provider/oidc.eks.${c.region}.${(AWS_REGION_PARTITION[c.region] ?? p) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}/id/*`;
  const launchTemplates = (c: Runbook['compute']['clusters'][number]) => [`arn:${p}:ec2:${c.region}:${acct}:launch-template/*`];
  const secretKeys = [...new Set(rb.compute.clusters.flatMap((c) => (c.encryption?.kmsKeys[c.region] ? [c.encryption.kmsKeys[c.region]] : [])))];
  notes.add('rebuild: the IAM, EKS and EC2 actions of the OpenTofu apply are derived from infra/eks/stack.ts, not observed against AWS');
  const resourceTag = `aws:ResourceTag/${CLUSTER_TAG}`;
  const requestTag = `aws:RequestTag/${CLUSTER_TAG}`;
  // Per cluster: a template or provider is the cluster's when it carries the cluster's tag in the cluster's own region.
  const perCluster = rb.compute.clusters.flatMap((c): Parameters<typeof group>[0] => [
    // Tag, untag and delete only the provider tagged as this cluster's (IAM API Reference, TagOpenIDConnectProvider:
    // "You can use tags to restrict access to only an OIDC provider that has a specified tag attached";
    // aws:ResourceTag/${TagKey} on the oidc-provider resource type, SAR IAM,
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
    // Creating the provider with its tags needs iam:TagOpenIDConnectProvider too, checked before the provider exists (no
    // resource tag yet; public reports show the request's ARN without its /id/ part, aws-ia/terraform-aws-eks-blueprints#902,
    // eksctl-io/eksctl#4046): allowed only for a request that tags it as this cluster's (aws:RequestTag/${TagKey}).
    {
      sid: 'RebuildOidcProviderTagOnCreate',
      actions: ['iam:TagOpenIDConnectProvider'],
      resources: [oidcProvider(c), oidcProvider(c).replace(/\/id\/\*$/, '')],
      condition: { StringEquals: { [requestTag]: c.name } },
    },
    {
      sid: 'RebuildOidcProviderTagged',
      actions: ['iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider', 'iam:DeleteOpenIDConnectProvider'],
      resources: [oidcProvider(c)],
      condition: { StringEquals: { [resourceTag]: c.name } },
    },
    // Launch templates (ids made by EC2, lt-...): a template's data cannot be held to anything by IAM ("You can't use
    // resource-level permissions to restrict the resources that users can specify in a launch template ... make sure
    // that only trusted administrators are granted permission to create launch templates and launch template
    // versions", EC2 User Guide, "IAM permissions required for Amazon EC2 launch templates"), so the worker may create
    // only templates tagged as this cluster's (aws:RequestTag/${TagKey}, the stack's tags on the template), tag a
    // template only in the CreateLaunchTemplate call itself (ec2:CreateAction), and version, modify or delete only a
    // template tagged as this cluster's (aws:ResourceTag/${TagKey}): never another team's. Condition keys of
    // CreateLaunchTemplate, CreateLaunchTemplateVersion, ModifyLaunchTemplate, DeleteLaunchTemplate and CreateTags on the
    // launch-template resource type: SAR, Amazon EC2, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html.
    { sid: 'RebuildCreateLaunchTemplates', actions: ['ec2:CreateLaunchTemplate'], resources: launchTemplates(c), condition: { StringEquals: { [requestTag]: c.name } } },
    {
      sid: 'RebuildTagLaunchTemplatesOnCreate',
      actions: ['ec2:CreateTags'],
      resources: launchTemplates(c),
      condition: { StringEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate', [requestTag]: c.name } },
    },
    {
      sid: 'RebuildLaunchTemplates',
      actions: ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplate'],
      resources: launchTemplates(c),
      condition: { StringEquals: { [resourceTag]: c.name } },
    },
  ]);
  return [
    {
      sid: 'RebuildIamRoles',
      actions: ['iam:CreateRole', 'iam:GetRole', 'iam:TagRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:ListInstanceProfilesForRole', 'iam:DeleteRole'],
      resources: roles,
    },
    // Attach and detach only the stack's AWS managed policies (iam:PolicyARN, SAR IAM): no privilege escalation through a role the rebuild creates.
    {
      sid: 'RebuildAttachStackPolicies',
      actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
      resources: roles,
      condition: { ArnEquals: { 'iam:PolicyARN': REBUILD_MANAGED_POLICIES.map((name) => `arn:${p}:iam::aws:policy/${name}`) } },
    },
    { sid: 'RebuildPassRolesToEks', actions: ['iam:PassRole'], resources: roles, condition: { StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' } } },
    {
      sid: 'RebuildEks',
      actions: [
        'eks:CreateCluster',
        'eks:DeleteCluster',
        // Log types and the authentication mode change in place; encryption can be added to a cluster that lacks it.
        'eks:UpdateClusterConfig',
        'eks:AssociateEncryptionConfig',
        'eks:CreateNodegroup',
        'eks:DeleteNodegroup',
        'eks:UpdateNodegroupVersion',
        'eks:CreateAddon',
        'eks:DescribeAddon',
        'eks:DeleteAddon',
        'eks:UpdateAddon',
        'eks:CreateAccessEntry',
        'eks:DescribeAccessEntry',
        'eks:UpdateAccessEntry',
        'eks:DeleteAccessEntry',
        'eks:AssociateAccessPolicy',
        'eks:DisassociateAccessPolicy',
        'eks:ListAssociatedAccessPolicies',
        'eks:TagResource',
        'eks:ListTagsForResource',
        'eks:DescribeCluster',
        'eks:DescribeNodegroup',
      ],
      resources: clusters,
    },
    // Create and read a provider of EKS in the clusters' regions: its ARN is known only once EKS has made the issuer.
    { sid: 'RebuildOidcProvider', actions: ['iam:CreateOpenIDConnectProvider', 'iam:GetOpenIDConnectProvider'], resources: [...new Set(rb.compute.clusters.map(oidcProvider))] },
    ...perCluster,
    // DescribeKey checks the cluster's key; EKS uses the key through a grant it creates with the caller's
    // kms:CreateGrant, which is allowed only when an AWS service integrated with AWS KMS makes it on the caller's behalf
    // (kms:GrantIsForAWSResource, AWS KMS Developer Guide, "Controlling access to grants" and "AWS KMS condition keys"),
    // as for RDS above: the worker cannot grant itself or anyone else the key.
    { sid: 'RebuildSecretsKey', actions: ['kms:DescribeKey'], resources: secretKeys },
    { sid: 'RebuildSecretsKeyGrant', actions: ['kms:CreateGrant'], resources: secretKeys, condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } },
    // ec2:Describe* support no resource-level permissions (SAR, Amazon EC2); eks:DescribeAddonVersions has no resource type (SAR, Amazon EKS).
    {
      sid: 'RebuildNoResourceLevel',
      actions: ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions', 'eks:DescribeAddonVersions'],
      resources: ['*'],
    },
  ];
}

/**
 * The approver's policy. An approval is a GetCallerIdentity signed with the approver's credentials (docs/approvals.md)
 * and replayed by the worker to STS; the approver's CLI calls nothing else at AWS. GetCallerIdentity needs no
 * permission and an explicit deny cannot stop it (STS API Reference, GetCallerIdentity): the statement documents the
 * one call an approver's principal makes; what an approver may approve is the runbook's approvals section, not IAM.
 */
export function approverPolicy(): GeneratedPolicy {
  return {
    policy: { Version: '2012-10-17', Statement: [{ Sid: 'ProveIdentityToDrover', Effect: 'Allow', Action: ['sts:GetCallerIdentity'], Resource: ['*'] }] },
    notes: [`sts:GetCallerIdentity needs no permission (${SAR.sts}); the approver's rights are the runbook's approvals section`],
  };
}

/** The policy `role` needs for this runbook. */
export function policyFor(rb: Runbook, role: PolicyRole, opts: PolicyOptions = {}): GeneratedPolicy {
  return role === 'worker' ? workerPolicy(rb, opts) : approverPolicy();
}

/** Every IAM action a policy allows (for tests and the negative run). */
export function actionsOf(policy: PolicyDocument): string[] {
  return [...new Set(policy.Statement.flatMap((s) => s.Action))].sort();
}

/** The policy without `action` (statements left empty are dropped). */
export function withoutAction(policy: PolicyDocument, action: string): PolicyDocument {
  return { ...policy, Statement: policy.Statement.map((s) => ({ ...s, Action: s.Action.filter((a) => a !== action) })).filter((s) => s.Action.length > 0) };
}
