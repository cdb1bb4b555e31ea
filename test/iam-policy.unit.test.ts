/**
 * `drover iam-policy`: the table of every client method drover calls (aws/iam-table.ts) is complete, and the policies
 * built from it are scoped to the runbook's resources, with Resource "*" only where AWS supports no resource-level
 * permission. Bad input gets a path-qualified error and exit 2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../cli/main';
import { IAM_TABLE, type MethodPermission } from '../aws/iam-table';
import { actionsOf, policyFor, type PolicyDocument } from '../aws/iam-policy';
import { createPermissionActivities, policySourceOf } from '../activities/permissions';
import { allows } from '../infra/faults/fidelity-iam';
import { iamRoleName } from '../infra/eks/names';
import type { IamSelfApi } from '../aws/clients';
import { ADDON_SERVICE_ACCOUNTS } from '../runbooks/eks';
import { parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { APNAKART, captureIO } from './harness/fixtures';

const ACCOUNT = '123456789012';

/** The method names every `Pick<Client, '…' | '…'>` in aws/clients.ts lists. */
function clientMethods(): Set<string> {
  const text = fs.readFileSync(path.join(__dirname, '../aws/clients.ts'), 'utf8');
  const names = new Set<string>();
  for (const pick of text.matchAll(/Pick<\s*\w+,([^>]*)>/g)) for (const m of pick[1].matchAll(/'(\w+)'/g)) names.add(m[1]);
  // The worker's own identity and permissions: an interface of its own (no SDK client behind it).
  const self = /export interface IamSelfApi \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? '';
  for (const m of self.matchAll(/^\s+(\w+)\(/gm)) names.add(m[1]);
  return names;
}

function tableMethods(): Set<string> {
  return new Set(Object.values(IAM_TABLE).flatMap((methods) => Object.keys(methods)));
}

function apnakart(edit?: (text: string) => string): Runbook {
  const parsed = parseRunbook((edit ?? ((t) => t))(fs.readFileSync(APNAKART, 'utf8')));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

function statementsFor(policy: PolicyDocument, action: string) {
  return policy.Statement.filter((s) => s.Action.includes(action));
}

describe('the IAM table', () => {
  test('every AWS client method aws/clients.ts declares has an entry, and every entry is a declared method', () => {
    const declared = clientMethods();
    expect(declared.size).toBeGreaterThan(40);
    expect([...declared].filter((m) => !tableMethods().has(m))).toEqual([]);
    expect([...tableMethods()].filter((m) => !declared.has(m))).toEqual([]);
  });

  test('every entry names IAM actions of the form service:Action, and a source page', () => {
    for (const perm of Object.values(IAM_TABLE).flatMap((m) => Object.values(m) as MethodPermission[])) {
      for (const a of perm.actions) expect(a).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/);
      expect(perm.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    }
  });
});

describe('the worker policy for ApnaKart', () => {
  const { policy, notes } = policyFor(apnakart(), 'worker', { account: ACCOUNT });
  const actions = actionsOf(policy);

  test('holds the actions drover added for the read_only fence, re-created replicas and the reboot fallback', () => {
    expect(actions).toEqual(
      expect.arrayContaining([
        'rds:ModifyDBParameterGroup',
        'rds:ResetDBParameterGroup',
        'rds:DescribeDBParameters',
        'rds:DescribeDBParameterGroups',
        'rds:AddTagsToResource',
        'rds:RemoveTagsFromResource',
        'rds:ListTagsForResource',
        'rds:RebootDBInstance',
        'rds:DescribeDBSubnetGroups',
        'rds:DescribeOptionGroups',
        'kms:DescribeKey',
        'kms:ListAliases',
        'iam:PassRole',
        'iam:SimulatePrincipalPolicy',
      ]),
    );
  });

  test('gives Resource "*" only to actions that support no resource-level permission, all in one statement', () => {
    const star = policy.Statement.filter((s) => s.Resource.includes('*'));
    expect(star.map((s) => s.Sid)).toEqual(['NoResourceLevelPermissions', 'CloudwatchNoResourceLevel']);
    expect(star[0].Resource).toEqual(['*']);
    expect(star[0].Action).toEqual(['cloudwatch:GetMetricStatistics', 'ec2:DescribeInstanceTypeOfferings', 'ec2:DescribeInstanceTypes', 'ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs', 'eks:DescribeAddonVersions', 'kms:ListAliases', 'route53:ListHostedZonesByName', 'servicequotas:GetAWSDefaultServiceQuota', 'servicequotas:GetServiceQuota']);
    // PutMetricData has no resource either, but is held to drover's own namespace.
    expect(statementsFor(policy, 'cloudwatch:PutMetricData')).toEqual([expect.objectContaining({ Resource: ['*'], Condition: { StringEquals: { 'cloudwatch:namespace': 'drover/controls' } } })]);
  });

  test('scopes RDS to the two instances (and the names they are kept under), in the two regions, in the account', () => {
    const [promote] = statementsFor(policy, 'rds:PromoteReadReplica');
    expect(promote.Resource).toContain(`arn:aws:rds:ap-southeast-1:${ACCOUNT}:db:apnakart-pg-singapore`);
    expect(promote.Resource).toContain(`arn:aws:rds:ap-south-1:${ACCOUNT}:db:apnakart-pg-mumbai-old-*`);
    expect(promote.Resource.every((r) => /^arn:aws:rds:ap-south(east)?-1:123456789012:db:apnakart-pg-(mumbai|singapore)(-old-\*)?$/.test(r))).toBe(true);
    expect(statementsFor(policy, 'rds:CreateDBSnapshot')[0].Resource).toContain(`arn:aws:rds:ap-south-1:${ACCOUNT}:snapshot:apnakart-pg-mumbai-*`);
    expect(statementsFor(policy, 'eks:UpdateNodegroupConfig')[0].Resource).toEqual(
      expect.arrayContaining([`arn:aws:eks:ap-south-1:${ACCOUNT}:nodegroup/apnakart-mumbai/general/*`, `arn:aws:eks:ap-southeast-1:${ACCOUNT}:nodegroup/apnakart-singapore/checkout/*`]),
    );
    expect(statementsFor(policy, 'cloudwatch:DescribeAlarms')[0].Resource).toContain(`arn:aws:cloudwatch:ap-southeast-1:${ACCOUNT}:alarm:apnakart-api-5xx-singapore`);
    // The data-plane controls' alarms (contracts/controls.ts), each in the region that watches the other.
    expect(statementsFor(policy, 'cloudwatch:DescribeAlarms')[0].Resource).toEqual(expect.arrayContaining([`arn:aws:cloudwatch:ap-southeast-1:${ACCOUNT}:alarm:drover-control-apnakart-ap-south-1`]));
    expect(statementsFor(policy, 'iam:PassRole')[0]).toMatchObject({ Condition: { StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' } } });
  });

  test('leaves out what ApnaKart does not use (no audit bucket, topic or engine secret), and no call only the local stack makes', () => {
    for (const a of actions) expect(a).not.toMatch(/^(s3|sns|secretsmanager):/);
    for (const a of ['rds:CreateDBInstance', 'route53:CreateHostedZone', 'cloudwatch:SetAlarmState', 'ec2:CreateSecurityGroup', 'route53:CreateHealthCheck']) expect(actions).not.toContain(a);
  });

  test('says what it could not scope: the zone named by name only', () => {
    expect(statementsFor(policy, 'route53:ChangeResourceRecordSets')[0].Resource).toEqual(['arn:aws:route53:::hostedzone/*']);
    expect(notes.join('\n')).toContain('give dns.hostedZoneId');
  });
});

describe('a runbook that names its zone, keys, secret, bucket and topic', () => {
  const rb = apnakart((t) =>
    t
      .replace('  hostedZone: apnakart.com\n', '  hostedZone: apnakart.com\n  hostedZoneId: Z0123456789ABCDEFGHIJ\n')
      .replace('    identifier: apnakart-pg-mumbai\n', '    identifier: apnakart-pg-mumbai\n    kmsKeyId: arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555\n')
      .replace('    identifier: apnakart-pg-singapore\n', '    identifier: apnakart-pg-singapore\n    kmsKeyId: 66666666-7777-8888-9999-000000000000\n')
      .replace('  maxReplicaLag: 30s\n', '  maxReplicaLag: 30s\n  access: { secretId: apnakart/db-master, caFile: /etc/rds/global-bundle.pem }\n')
      .replace('# notifications: {', 'notifications: {')
      .replace('objectives:', 'audit: { s3: { bucket: apnakart-drover-audit, prefix: trail/ } }\nobjectives:'),
  );
  const { policy } = policyFor(rb, 'worker', { account: ACCOUNT });

  test('each is scoped to its own ARN', () => {
    expect(statementsFor(policy, 'route53:ChangeResourceRecordSets')[0].Resource).toEqual(['arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ']);
    expect(statementsFor(policy, 'kms:DescribeKey')[0].Resource).toEqual([
      'arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555',
      'arn:aws:kms:ap-southeast-1:123456789012:key/66666666-7777-8888-9999-000000000000',
    ]);
    expect(statementsFor(policy, 'secretsmanager:GetSecretValue')[0].Resource).toEqual([
      'arn:aws:secretsmanager:ap-south-1:123456789012:secret:apnakart/db-master-??????',
      'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:apnakart/db-master-??????',
    ]);
    expect(statementsFor(policy, 'kms:Decrypt')[0].Condition).toEqual({ StringEquals: { 'kms:ViaService': ['secretsmanager.ap-south-1.amazonaws.com', 'secretsmanager.ap-southeast-1.amazonaws.com'] } });
    expect(statementsFor(policy, 's3:PutObject')[0]).toMatchObject({ Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectRetention'], Resource: ['arn:aws:s3:::apnakart-drover-audit/trail/*'] });
    expect(statementsFor(policy, 's3:ListBucket')[0].Resource).toEqual(['arn:aws:s3:::apnakart-drover-audit']);
    expect(statementsFor(policy, 'sns:Publish')[0].Resource).toEqual(['arn:aws:sns:ap-southeast-1:123456789012:drover-apnakart']);
  });

  test('kms:CreateGrant on the runbook\'s keys, only for an AWS resource (RDS makes an encrypted replica with KmsKeyId)', () => {
    expect(statementsFor(policy, 'kms:CreateGrant')).toEqual([
      {
        Sid: 'KmsCreateGrantForRdsReplicas',
        Effect: 'Allow',
        Action: ['kms:CreateGrant'],
        Resource: ['arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555', 'arn:aws:kms:ap-southeast-1:123456789012:key/66666666-7777-8888-9999-000000000000'],
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ]);
  });
});

describe('the rebuild statements', () => {
  const { policy } = policyFor(apnakart(), 'worker', { account: ACCOUNT });

  test('attach and detach only the AWS managed policies infra/eks/stack.ts attaches (its roles and the add-ons\' service-account roles)', () => {
    const stack = fs.readFileSync(path.join(__dirname, '../infra/eks/stack.ts'), 'utf8');
    const roles = [...stack.matchAll(/const (?:CLUSTER|NODE)_POLICIES = \[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/'([\w-]+)'/g)].map((x) => x[1]));
    const addons = Object.values(ADDON_SERVICE_ACCOUNTS).map((a) => a.policy);
    expect(roles.length).toBeGreaterThan(0);
    expect(addons).toContain('service-role/AmazonEBSCSIDriverPolicy');
    const used = [...new Set([...roles, ...addons])];
    const attach = statementsFor(policy, 'iam:AttachRolePolicy');
    expect(attach).toHaveLength(1);
    expect(attach[0].Action).toEqual(['iam:AttachRolePolicy', 'iam:DetachRolePolicy']);
    expect(attach[0].Condition).toEqual({ ArnEquals: { 'iam:PolicyARN': used.map((name) => `arn:aws:iam::aws:policy/${name}`) } });
    expect(statementsFor(policy, 'iam:DetachRolePolicy')).toEqual(attach);
    expect(statementsFor(policy, 'iam:PassRole')[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'eks.amazonaws.com' } });
  });
});

describe("the rebuild statements for a production cluster's elements", () => {
  const KEY = `arn:aws:kms:ap-south-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const production = () =>
    apnakart((t) =>
      t.replace(
        '      addons: [{ name: vpc-cni }, { name: coredns }, { name: kube-proxy }]\n',
        `      addons: [{ name: vpc-cni, version: v1.19.2-eksbuild.1 }, { name: aws-ebs-csi-driver, version: v1.38.1-eksbuild.1 }]\n      production: true\n      encryption: { kmsKeys: { ap-south-1: "${KEY}" } }\n`,
      ),
    );

  test('the OIDC provider, access entries, launch templates and the secrets key are scoped to the runbook\'s regions and clusters', () => {
    const { policy } = policyFor(production(), 'worker', { account: ACCOUNT });
    expect(statementsFor(policy, 'iam:CreateOpenIDConnectProvider')[0].Resource).toEqual([`arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.ap-south-1.amazonaws.com/id/*`, `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/*`]);
    expect(statementsFor(policy, 'eks:CreateAccessEntry')[0].Resource).toEqual(expect.arrayContaining([`arn:aws:eks:ap-south-1:${ACCOUNT}:access-entry/apnakart-mumbai/*`, `arn:aws:eks:ap-south-1:${ACCOUNT}:cluster/apnakart-mumbai`]));
    expect(statementsFor(policy, 'eks:AssociateAccessPolicy')).toEqual(statementsFor(policy, 'eks:CreateAccessEntry'));
    expect(statementsFor(policy, 'ec2:CreateLaunchTemplate').map((s) => s.Resource)).toEqual([[`arn:aws:ec2:ap-south-1:${ACCOUNT}:launch-template/*`], [`arn:aws:ec2:ap-southeast-1:${ACCOUNT}:launch-template/*`]]);
    expect(statementsFor(policy, 'kms:DescribeKey').find((s) => s.Sid === 'RebuildSecretsKey')).toEqual({ Sid: 'RebuildSecretsKey', Effect: 'Allow', Action: ['kms:DescribeKey'], Resource: [KEY] });
  });

  test('launch templates: created only tagged as the cluster\'s, tagged only by that create, versioned, modified and deleted only when tagged as the cluster\'s, in its region', () => {
    const { policy } = policyFor(production(), 'worker', { account: ACCOUNT });
    const lt = (region: string) => `arn:aws:ec2:${region}:${ACCOUNT}:launch-template/lt-0123456789abcdef0`;
    expect(statementsFor(policy, 'ec2:CreateLaunchTemplate')[0]).toEqual({
      Sid: 'RebuildCreateLaunchTemplates',
      Effect: 'Allow',
      Action: ['ec2:CreateLaunchTemplate'],
      Resource: [`arn:aws:ec2:ap-south-1:${ACCOUNT}:launch-template/*`],
      Condition: { StringEquals: { 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' } },
    });
    expect(statementsFor(policy, 'ec2:CreateTags').map((s) => s.Condition)).toEqual([
      { StringEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate', 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' } },
      { StringEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate', 'aws:RequestTag/drover:cluster': 'apnakart-singapore' } },
    ]);
    for (const action of ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplate']) {
      expect(statementsFor(policy, action).map((s) => s.Condition)).toEqual([{ StringEquals: { 'aws:ResourceTag/drover:cluster': 'apnakart-mumbai' } }, { StringEquals: { 'aws:ResourceTag/drover:cluster': 'apnakart-singapore' } }]);
    }
    // Evaluated as the test proxy evaluates a policy (infra/faults/fidelity-iam.ts allows).
    expect(allows(policy, 'ec2:CreateLaunchTemplate', lt('ap-south-1'), { 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' })).toBe(true);
    expect(allows(policy, 'ec2:CreateLaunchTemplate', lt('ap-south-1'))).toBe(false);
    expect(allows(policy, 'ec2:CreateLaunchTemplate', lt('ap-south-1'), { 'aws:RequestTag/drover:cluster': 'other-team' })).toBe(false);
    // Another cluster's tag in this cluster's region (or the other way round) is not the cluster's.
    expect(allows(policy, 'ec2:CreateLaunchTemplate', lt('ap-south-1'), { 'aws:RequestTag/drover:cluster': 'apnakart-singapore' })).toBe(false);
    expect(allows(policy, 'ec2:CreateTags', lt('ap-south-1'), { 'ec2:CreateAction': 'CreateLaunchTemplate', 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' })).toBe(true);
    expect(allows(policy, 'ec2:CreateTags', lt('ap-south-1'), { 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' })).toBe(false);
    for (const action of ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplate']) {
      expect(allows(policy, action, lt('ap-southeast-1'), { 'aws:ResourceTag/drover:cluster': 'apnakart-singapore' })).toBe(true);
      expect(allows(policy, action, lt('ap-southeast-1'))).toBe(false);
      expect(allows(policy, action, lt('ap-southeast-1'), { 'aws:ResourceTag/drover:cluster': 'other-team' })).toBe(false);
      expect(allows(policy, action, lt('ap-south-1'), { 'aws:ResourceTag/drover:cluster': 'apnakart-singapore' })).toBe(false);
    }
    // No launch-template action is allowed anywhere without a condition.
    const unconditioned = policy.Statement.filter((s) => !s.Condition && s.Resource.some((r) => r.includes(':launch-template/')));
    expect(unconditioned).toEqual([]);
  });

  test("OIDC providers: only EKS's issuer hosts of the clusters' regions; tagged, untagged and deleted only when tagged as the cluster's", () => {
    const { policy } = policyFor(production(), 'worker', { account: ACCOUNT });
    const provider = (host: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}`;
    const mumbai = provider('oidc.eks.ap-south-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF');
    expect(allows(policy, 'iam:CreateOpenIDConnectProvider', mumbai)).toBe(true);
    expect(allows(policy, 'iam:GetOpenIDConnectProvider', mumbai)).toBe(true);
    // A look-alike host, or no /id/ path, is not EKS's issuer.
    expect(allows(policy, 'iam:CreateOpenIDConnectProvider', provider('oidc.eks.ap-south-1.amazonaws.com.evil.net/id/X'))).toBe(false);
    expect(allows(policy, 'iam:CreateOpenIDConnectProvider', provider('oidc.eks.ap-south-1.amazonaws.com.evil.net'))).toBe(false);
    expect(allows(policy, 'iam:CreateOpenIDConnectProvider', provider('oidc.eks.us-east-1.amazonaws.com/id/X'))).toBe(false);
    expect(statementsFor(policy, 'iam:DeleteOpenIDConnectProvider').map((s) => [s.Action, s.Resource, s.Condition])).toEqual([
      [['iam:DeleteOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider'], [provider('oidc.eks.ap-south-1.amazonaws.com/id/*')], { StringEquals: { 'aws:ResourceTag/drover:cluster': 'apnakart-mumbai' } }],
      [['iam:DeleteOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider'], [provider('oidc.eks.ap-southeast-1.amazonaws.com/id/*')], { StringEquals: { 'aws:ResourceTag/drover:cluster': 'apnakart-singapore' } }],
    ]);
    for (const action of ['iam:DeleteOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider']) {
      expect(allows(policy, action, mumbai, { 'aws:ResourceTag/drover:cluster': 'apnakart-mumbai' })).toBe(true);
      // Another cluster's provider in the same region (its IRSA) is not this one's.
      expect(allows(policy, action, mumbai)).toBe(false);
      expect(allows(policy, action, mumbai, { 'aws:ResourceTag/drover:cluster': 'other-team' })).toBe(false);
      expect(allows(policy, action, mumbai, { 'aws:ResourceTag/drover:cluster': 'apnakart-singapore' })).toBe(false);
    }
    // Tags given with CreateOpenIDConnectProvider are checked before the provider exists (its ARN possibly without
    // /id/): allowed only for a request tagging it as this region's cluster's.
    for (const arn of [mumbai, provider('oidc.eks.ap-south-1.amazonaws.com')]) {
      expect(allows(policy, 'iam:TagOpenIDConnectProvider', arn, { 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' })).toBe(true);
      expect(allows(policy, 'iam:TagOpenIDConnectProvider', arn, { 'aws:RequestTag/drover:cluster': 'apnakart-singapore' })).toBe(false);
    }
    expect(allows(policy, 'iam:TagOpenIDConnectProvider', provider('oidc.eks.ap-south-1.amazonaws.com.evil.net'), { 'aws:RequestTag/drover:cluster': 'apnakart-mumbai' })).toBe(false);
  });

  test("the secrets key: DescribeKey on it, CreateGrant on it only for an AWS resource (EKS's grant)", () => {
    const { policy } = policyFor(production(), 'worker', { account: ACCOUNT });
    expect(statementsFor(policy, 'kms:CreateGrant').find((s) => s.Sid === 'RebuildSecretsKeyGrant')).toEqual({
      Sid: 'RebuildSecretsKeyGrant',
      Effect: 'Allow',
      Action: ['kms:CreateGrant'],
      Resource: [KEY],
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    expect(allows(policy, 'kms:DescribeKey', KEY)).toBe(true);
    expect(allows(policy, 'kms:CreateGrant', KEY, { 'kms:GrantIsForAWSResource': 'true' })).toBe(true);
    expect(allows(policy, 'kms:CreateGrant', KEY)).toBe(false);
    expect(allows(policy, 'kms:CreateGrant', KEY, { 'kms:GrantIsForAWSResource': 'false' })).toBe(false);
  });

  test("the add-ons' service-account roles are created, given their managed policies only, and passed to EKS", () => {
    const { policy } = policyFor(production(), 'worker', { account: ACCOUNT });
    const roles = statementsFor(policy, 'iam:CreateRole')[0].Resource;
    const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
    // The exact names infra/eks/stack.ts gives them: no pattern.
    expect(roles).toEqual(
      [
        iamRoleName('apnakart-mumbai', 'ap-south-1', 'cluster'),
        iamRoleName('apnakart-mumbai', 'ap-south-1', 'ebs-csi'),
        iamRoleName('apnakart-mumbai', 'ap-south-1', 'node'),
        iamRoleName('apnakart-mumbai', 'ap-south-1', 'vpc-cni'),
        iamRoleName('apnakart-singapore', 'ap-southeast-1', 'cluster'),
        iamRoleName('apnakart-singapore', 'ap-southeast-1', 'node'),
      ].map(role),
    );
    expect(roles).toContain(role('apnakart-mumbai-ap-south-1-ebs-csi'));
    expect(roles.every((r) => !/[*?]/.test(r))).toBe(true);
    // Singapore's cluster has no production flag: its add-ons use the node role.
    expect(roles.filter((r) => r.includes('ap-southeast-1'))).toEqual([role('apnakart-singapore-ap-southeast-1-cluster'), role('apnakart-singapore-ap-southeast-1-node')]);
    expect(statementsFor(policy, 'iam:PassRole')[0].Resource).toEqual(roles);
    expect(statementsFor(policy, 'iam:AttachRolePolicy')[0].Condition?.ArnEquals['iam:PolicyARN']).toContain('arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy');
    // Another cluster's roles in the same region are not the rebuild's.
    for (const other of ['other-team-ap-south-1-ebs-csi', 'other-team-ap-south-1-vpc-cni', 'other-team-ap-south-1-node', 'other-team-ap-south-1-cluster']) {
      expect(allows(policy, 'iam:CreateRole', role(other))).toBe(false);
      expect(allows(policy, 'iam:DeleteRole', role(other))).toBe(false);
      expect(allows(policy, 'iam:PassRole', role(other), { 'iam:PassedToService': 'eks.amazonaws.com' })).toBe(false);
    }
    expect(allows(policy, 'iam:PassRole', role('apnakart-mumbai-ap-south-1-ebs-csi'), { 'iam:PassedToService': 'eks.amazonaws.com' })).toBe(true);
  });

  test('a cluster name too long for a role name: the rebuild\'s role is the hashed name the stack makes', () => {
    const long = 'apnakart-' + 'm'.repeat(60);
    const rb = apnakart((t) => t.replace('name: apnakart-mumbai\n', `name: ${long}\n`));
    const roles = statementsFor(policyFor(rb, 'worker', { account: ACCOUNT }).policy, 'iam:CreateRole')[0].Resource;
    expect(roles).toContain(`arn:aws:iam::${ACCOUNT}:role/${iamRoleName(long, 'ap-south-1', 'node')}`);
    expect(iamRoleName(long, 'ap-south-1', 'node').length).toBeLessThanOrEqual(64);
  });

  test('a runbook without encryption asks for no KMS action of the rebuild', () => {
    expect(policyFor(apnakart(), 'worker', { account: ACCOUNT }).policy.Statement.map((s) => s.Sid)).not.toContain('RebuildSecretsKey');
  });
});

describe('the permission check asks about the right principal', () => {
  test.each([
    ['arn:aws:sts::123456789012:assumed-role/drover-worker/i-0abc', 'arn:aws:iam::123456789012:role/drover-worker'],
    ['arn:aws-cn:sts::123456789012:assumed-role/drover-worker/pod-7', 'arn:aws-cn:iam::123456789012:role/drover-worker'],
    ['arn:aws:iam::123456789012:user/drover', 'arn:aws:iam::123456789012:user/drover'],
    ['arn:aws:iam::123456789012:root', undefined],
    ['arn:aws:sts::123456789012:federated-user/bob', undefined],
  ])('%s is simulated as %s', (caller, source) => {
    expect(policySourceOf(caller)).toBe(source);
  });

  test('the worker policy lets the worker simulate its own role, scoped with --worker-role', () => {
    const { policy, notes } = policyFor(apnakart(), 'worker', { account: ACCOUNT, workerRole: 'drover-worker' });
    expect(statementsFor(policy, 'iam:SimulatePrincipalPolicy')[0].Resource).toEqual([`arn:aws:iam::${ACCOUNT}:role/drover-worker`]);
    expect(notes.join('\n')).not.toContain('iam role/*');
    expect(statementsFor(policyFor(apnakart(), 'worker', { account: ACCOUNT }).policy, 'iam:SimulatePrincipalPolicy')[0].Resource).toEqual([`arn:aws:iam::${ACCOUNT}:role/*`]);
  });
});

describe('checkPermissions', () => {
  function fakeIam(deny: string[], asked: Array<{ source: string; actions: string[] }>, caller = 'arn:aws:sts::123456789012:assumed-role/drover-worker/i-1'): IamSelfApi {
    return {
      getCallerIdentity: async () => ({ Arn: caller }),
      simulatePrincipalPolicy: async (input) => {
        asked.push({ source: input.PolicySourceArn, actions: input.ActionNames });
        return input.ActionNames.flatMap((action) => (input.ResourceArns ?? ['*']).map((resource) => ({ action, resource, decision: deny.includes(action) ? 'implicitDeny' : 'allowed' })));
      },
    };
  }

  test('names each refused action once, with the resources it is refused on, and points at drover iam-policy', async () => {
    const asked: Array<{ source: string; actions: string[] }> = [];
    const out = await createPermissionActivities(() => fakeIam(['rds:PromoteReadReplica', 'route53:ListHostedZonesByName'], asked)).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' });
    expect(out.problems).toEqual([
      'route53:ListHostedZonesByName: not allowed for arn:aws:iam::123456789012:role/drover-worker on *',
      'rds:PromoteReadReplica: not allowed for arn:aws:iam::123456789012:role/drover-worker on arn:aws:rds:ap-south-1:123456789012:db:apnakart-pg-mumbai and 3 more',
      "the worker's role lacks what this runbook's runs need: drover iam-policy <the apnakart runbook file> --role worker prints it (docs/iam.md)",
    ]);
    expect(new Set(asked.map((a) => a.source))).toEqual(new Set(['arn:aws:iam::123456789012:role/drover-worker']));
    // A rebuild's OpenTofu permissions are not a failover's: not asked.
    expect(asked.flatMap((a) => a.actions)).not.toContain('iam:PassRole');
  });

  test('asks iam:SimulatePrincipalPolicy on its own role, and every statement (no cap)', async () => {
    const asked: Array<{ source: string; actions: string[]; resources?: string[] }> = [];
    const api = fakeIam([], []);
    const out = await createPermissionActivities(() => ({
      ...api,
      simulatePrincipalPolicy: async (input) => {
        asked.push({ source: input.PolicySourceArn, actions: input.ActionNames, resources: input.ResourceArns });
        return api.simulatePrincipalPolicy(input);
      },
    })).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' });
    expect(asked.filter((a) => a.actions.includes('iam:SimulatePrincipalPolicy'))).toEqual([
      { source: 'arn:aws:iam::123456789012:role/drover-worker', actions: ['iam:SimulatePrincipalPolicy'], resources: ['arn:aws:iam::123456789012:role/drover-worker'] },
    ]);
    const wanted = policyFor(apnakart(), 'worker', { account: ACCOUNT }).policy.Statement.filter((x) => !x.Sid.startsWith('Rebuild'));
    expect(new Set(asked.flatMap((a) => a.actions))).toEqual(new Set(wanted.flatMap((x) => x.Action)));
    expect(out).toEqual({ problems: [], notes: ["worker permissions: arn:aws:iam::123456789012:role/drover-worker is allowed every action this runbook's runs need"] });
  });

  test('a deny on a pattern, or with missing context values, is a note; an explicit deny is refused anywhere', async () => {
    const api: IamSelfApi = {
      ...fakeIam([], []),
      simulatePrincipalPolicy: async (input) =>
        input.ActionNames.flatMap((action) =>
          (input.ResourceArns ?? ['*']).map((resource) => ({
            action,
            resource,
            decision: action === 'rds:DeleteDBInstance' && /[*?]/.test(resource) ? 'explicitDeny' : /[*?]/.test(resource) && resource !== '*' ? 'implicitDeny' : action === 'rds:DescribeDBInstances' ? 'implicitDeny' : 'allowed',
            ...(action === 'rds:DescribeDBInstances' ? { missingContextValues: ['aws:ResourceTag/x'] } : {}),
          })),
        ),
    };
    const out = await createPermissionActivities(() => api).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' });
    expect(out.problems.filter((p) => !p.startsWith("the worker's role"))).toEqual([expect.stringMatching(/^rds:DeleteDBInstance: denied by a policy for arn:aws:iam::123456789012:role\/drover-worker on arn:aws:rds:.*-old-\*/)]);
    expect(out.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^worker permissions: could not check .*rds:PromoteReadReplica.* on pattern arn:aws:rds:ap-south-1:123456789012:db:apnakart-pg-mumbai-old-\*: simulate it with a concrete ARN$/)]));
    expect(out.notes.join('\n')).toMatch(/could not check rds:DescribeDBInstances on /);
  });

  test('IAM that does not answer in time: a note, nothing refused, no throw', async () => {
    const slow: IamSelfApi = { ...fakeIam([], []), simulatePrincipalPolicy: () => new Promise(() => undefined) };
    expect(await createPermissionActivities(() => slow, { concurrency: 5, deadlineMs: 50 }).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' })).toEqual({
      problems: [],
      notes: ['worker permissions not checked: IAM did not answer in 0 s; drover iam-policy prints what the role needs'],
    });
  });

  test('a worker that cannot ask says so and refuses nothing', async () => {
    const failing: IamSelfApi = { ...fakeIam([], []), simulatePrincipalPolicy: async () => Promise.reject(new Error('iam:SimulatePrincipalPolicy failed: AccessDenied: no')) };
    expect(await createPermissionActivities(() => failing).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' })).toEqual({
      problems: [],
      notes: ['worker permissions not checked: iam:SimulatePrincipalPolicy on arn:aws:iam::123456789012:role/drover-worker failed (iam:SimulatePrincipalPolicy failed: AccessDenied: no); drover iam-policy prints what the role needs'],
    });
    expect((await createPermissionActivities(undefined).checkPermissions({ runbook: apnakart(), stsRegion: 'ap-southeast-1' })).problems).toEqual([]);
  });
});

describe('the approver policy', () => {
  test('is the one call an approver makes: a GetCallerIdentity', () => {
    expect(policyFor(apnakart(), 'approver').policy).toEqual({ Version: '2012-10-17', Statement: [{ Sid: 'ProveIdentityToDrover', Effect: 'Allow', Action: ['sts:GetCallerIdentity'], Resource: ['*'] }] });
  });
});

describe('drover iam-policy', () => {
  test('prints the worker policy as JSON, and its notes on stderr', async () => {
    const io = captureIO();
    expect(await exec(['iam-policy', APNAKART, '--role', 'worker', '--account', ACCOUNT], io)).toBe(0);
    const printed = JSON.parse(io.stdout.join('\n')) as PolicyDocument;
    expect(printed).toEqual(policyFor(apnakart(), 'worker', { account: ACCOUNT }).policy);
    expect(io.stderr.every((l) => l.startsWith('note: '))).toBe(true);
  });

  test('without --account, the resources are in any account', async () => {
    const io = captureIO();
    expect(await exec(['iam-policy', APNAKART, '--role', 'worker'], io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('arn:aws:rds:ap-south-1:*:db:apnakart-pg-mumbai"');
  });

  test.each([
    [['--role', 'admin'], '  --role: expected "worker" or "approver"'],
    [['--role', 'worker', '--account', '12345'], '  --account: expected a 12-digit AWS account id'],
  ])('bad options %j: exit 2, the option named', async (args, line) => {
    const io = captureIO();
    expect(await exec(['iam-policy', APNAKART, ...args], io)).toBe(2);
    expect(io.stderr).toEqual(['drover: invalid options', line]);
    expect(io.stdout).toEqual([]);
  });

  test('without --role: exit 2, commander says which option is missing', async () => {
    const io = captureIO();
    expect(await exec(['iam-policy', APNAKART], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain("required option '--role <role>' not specified");
  });

  test('an unknown runbook file: exit 2, the file named', async () => {
    const io = captureIO();
    expect(await exec(['iam-policy', '/nonexistent/apnakart.yaml', '--role', 'worker'], io)).toBe(2);
    expect(io.stderr).toEqual(['drover: /nonexistent/apnakart.yaml is not a valid runbook', '  /nonexistent/apnakart.yaml (root): cannot read /nonexistent/apnakart.yaml: ENOENT']);
  });

  test.each([
    ['a * in a cluster name', (t: string) => t.replace('name: apnakart-mumbai\n', 'name: "apnakart-*"\n'), /compute\.clusters\[0\]\.name: "apnakart-\*" contains a wildcard/],
    ['arn:* as a secret id', (t: string) => t.replace('  maxReplicaLag: 30s\n', '  maxReplicaLag: 30s\n  access: { secretId: "arn:*", caFile: /etc/rds/global-bundle.pem }\n'), /database\.access\.secretId: "arn:\*" contains a wildcard/],
    ['another service\'s ARN as a secret id', (t: string) => t.replace('  maxReplicaLag: 30s\n', '  maxReplicaLag: 30s\n  access: { secretId: "arn:aws:iam::123456789012:role/admin", caFile: /etc/rds/global-bundle.pem }\n'), /database\.access\.secretId: "arn:aws:iam::123456789012:role\/admin" is not a Secrets Manager secret ARN/],
  ])('%s: exit 2, the runbook path named, no policy printed', async (_, edit, line) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drover-iam-')), 'wild.yaml');
    fs.writeFileSync(file, edit(fs.readFileSync(APNAKART, 'utf8')));
    const io = captureIO();
    expect(await exec(['iam-policy', file, '--role', 'worker'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(line);
    expect(io.stdout).toEqual([]);
  });

  test('an invalid runbook: exit 2, each problem path-qualified, nothing printed on stdout', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drover-iam-')), 'bad.yaml');
    fs.writeFileSync(file, fs.readFileSync(APNAKART, 'utf8').replace('standby: ap-southeast-1', 'standby: ap-south-1'));
    const io = captureIO();
    expect(await exec(['iam-policy', file, '--role', 'approver'], io)).toBe(2);
    expect(io.stderr[0]).toBe(`drover: ${file} is not a valid runbook`);
    expect(io.stderr.join('\n')).toMatch(/regions\.standby: must differ from the primary region \(ap-south-1\)/);
    expect(io.stdout).toEqual([]);
  });
});
