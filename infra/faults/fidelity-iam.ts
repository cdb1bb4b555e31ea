/**
 * IAM resource enforcement in front of moto: see fidelity.ts for the mechanism, docs/iam.md for what it proves.
 *
 * moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT; moto/iam/access_control.py, 5.2) checks the signature and
 * the action only: every service but S3 (and STS AssumeRole, IAM) is authorized against Resource "*", Condition
 * blocks are evaluated for trust policies only ("TODO add support for the Resource and Condition parts of IAM
 * policies"). AWS authorizes each request against the ARNs of the resources it names ("Resource types" of each
 * action, Service Authorization Reference). These rules do that for the principals a test registers: they compute
 * the action and the resource ARNs of each request drover makes, evaluate the principal's policy (Allow statements:
 * Action and Resource with `*` and `?`, StringEquals, Bool and ArnEquals on the condition keys below), and answer AccessDenied, naming
 * the action and the resource, as AWS does, when no statement allows it. Requests by other keys pass untouched.
 */
import type { FidelityCall, FidelityRule } from './fidelity-rule';

/** An IAM policy as the rules evaluate it (aws/iam-policy.ts PolicyDocument is one). */
export interface EnforcedPolicy {
  Statement: Array<{ Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[]>> }>;
}

/**
 * The principals whose requests are checked, by access key id: their ARN (for the message), their policy, and the IAM
 * ARN a policy simulation names them by (a role session's role).
 */
export type EnforcedPrincipals = Map<string, { arn: string; policy: EnforcedPolicy; policySource?: string }>;

/** One authorization: the IAM action, the resources it is checked against, the condition values the request carries. */
export interface Authorization {
  action: string;
  resources: string[];
  context: Record<string, string>;
  /** Further actions the same request needs on the same resources (an Object Lock put: s3:PutObject too). */
  also?: string[];
}

/** A request the rules could not map: checked against "*" (so only a statement allowing "*" allows it). */
const UNMAPPED = ['*'];

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'i' : '');
  return re.test(value);
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** Whether `policy` allows `action` on `resource` with these condition values (Allow statements only; drover's policies have no Deny). */
export function allows(policy: EnforcedPolicy, action: string, resource: string, context: Record<string, string> = {}): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== 'Allow') return false;
    if (!list(s.Action).some((a) => glob(a, action, true))) return false;
    if (!list(s.Resource).some((r) => glob(r, resource))) return false;
    for (const [op, keys] of Object.entries(s.Condition ?? {})) {
      // StringEquals and Bool compare exactly; ArnEquals matches each value as an ARN pattern (IAM User Guide, "IAM JSON policy elements: Condition operators").
      if (op !== 'StringEquals' && op !== 'Bool' && op !== 'ArnEquals') return false;
      for (const [key, want] of Object.entries(keys)) {
        const have = context[key];
        if (have === undefined) return false;
        if (op === 'ArnEquals' ? !list(want).some((w) => glob(w, have)) : !list(want).includes(have)) return false;
      }
    }
    return true;
  });
}

function jsonBody(call: FidelityCall): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(call.body.toString('utf8') || '{}');
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function seg(path: string, i: number): string {
  const parts = path.split('/');
  try {
    return decodeURIComponent(parts[i] ?? '');
  } catch {
    return parts[i] ?? '';
  }
}

/**
 * The action and resource ARNs of one request drover makes, by service: the mapping of aws/iam-table.ts read from the
 * wire. An operation not listed is checked against "*".
 */
export function authorizationOf(call: FidelityCall, account: string, partition = 'aws'): Authorization {
  const { region, signingName, operation } = call.info;
  const p = call.param;
  const rds = (type: string, name: string | undefined) => (name === undefined ? [] : name.startsWith('arn:') ? [name] : [`arn:${partition}:rds:${region}:${account}:${type}:${name}`]);
  const orAll = (arns: string[], type: string) => (arns.length > 0 ? arns : [`arn:${partition}:rds:${region}:${account}:${type}:*`]);
  switch (signingName) {
    case 'rds': {
      const action = `rds:${operation}`;
      const db = rds('db', p('DBInstanceIdentifier'));
      const groups = [...rds('pg', p('DBParameterGroupName')), ...rds('og', p('OptionGroupName')), ...rds('subgrp', p('DBSubnetGroupName'))];
      const byOp: Record<string, () => string[]> = {
        DescribeDBInstances: () => orAll(db, 'db'),
        PromoteReadReplica: () => db,
        RebootDBInstance: () => db,
        DeleteDBInstance: () => db,
        ModifyDBInstance: () => [...db, ...groups],
        // The new replica, its source (an ARN when it is in another region) and the groups it is created with.
        CreateDBInstanceReadReplica: () => [...db, ...rds('db', p('SourceDBInstanceIdentifier')), ...groups],
        CreateDBSnapshot: () => [...db, ...rds('snapshot', p('DBSnapshotIdentifier'))],
        DescribeDBSnapshots: () => orAll([...db, ...rds('snapshot', p('DBSnapshotIdentifier'))], 'snapshot'),
        AddTagsToResource: () => rds('db', p('ResourceName')),
        RemoveTagsFromResource: () => rds('db', p('ResourceName')),
        ListTagsForResource: () => rds('db', p('ResourceName')),
        DescribeDBSubnetGroups: () => orAll(rds('subgrp', p('DBSubnetGroupName')), 'subgrp'),
        DescribeDBParameterGroups: () => orAll(rds('pg', p('DBParameterGroupName')), 'pg'),
        DescribeOptionGroups: () => orAll(rds('og', p('OptionGroupName')), 'og'),
        DescribeDBParameters: () => rds('pg', p('DBParameterGroupName')),
        ModifyDBParameterGroup: () => rds('pg', p('DBParameterGroupName')),
        ResetDBParameterGroup: () => rds('pg', p('DBParameterGroupName')),
        DescribeDBClusters: () => orAll(rds('cluster', p('DBClusterIdentifier')), 'cluster'),
      };
      const r = byOp[operation]?.();
      return { action, resources: r && r.length > 0 ? r : UNMAPPED, context: {} };
    }
    case 'monitoring': {
      const body = jsonBody(call);
      const alarm = (n: unknown) => `arn:${partition}:cloudwatch:${region}:${account}:alarm:${String(n)}`;
      const names = Array.isArray(body.AlarmNames) ? body.AlarmNames.map(alarm) : body.AlarmName !== undefined ? [alarm(body.AlarmName)] : [];
      const context: Record<string, string> = typeof body.Namespace === 'string' ? { 'cloudwatch:namespace': body.Namespace } : {};
      const scoped = ['DescribeAlarms', 'PutMetricAlarm', 'SetAlarmState'].includes(operation);
      return { action: `cloudwatch:${operation}`, resources: scoped && names.length > 0 ? names : UNMAPPED, context };
    }
    case 'route53': {
      const path = call.path;
      const zone = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(path);
      if (zone) return { action: `route53:${call.method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets'}`, resources: [`arn:${partition}:route53:::hostedzone/${zone[1]}`], context: {} };
      const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(path);
      if (change) return { action: 'route53:GetChange', resources: [`arn:${partition}:route53:::change/${change[1]}`], context: {} };
      const hc = /^\/2013-04-01\/healthcheck\/([^/]+)$/.exec(path);
      if (hc && call.method === 'POST') return { action: 'route53:UpdateHealthCheck', resources: [`arn:${partition}:route53:::healthcheck/${hc[1]}`], context: {} };
      return { action: `route53:${operation}`, resources: UNMAPPED, context: {} };
    }
    case 'eks': {
      const path = call.path;
      const cluster = (name: string) => `arn:${partition}:eks:${region}:${account}:cluster/${name}`;
      // A node group's ARN ends in a UUID EKS assigns; the proxy does not know it and stands a fixed one in for it.
      const nodegroup = (c: string, g: string) => `arn:${partition}:eks:${region}:${account}:nodegroup/${c}/${g}/00000000-0000-0000-0000-000000000000`;
      if (path.startsWith('/tags/')) {
        // The ARN is the rest of the path (the proxy hands the path percent-decoded: the ARN's own "/" included).
        const rest = path.slice('/tags/'.length);
        let arn = rest;
        try {
          arn = decodeURIComponent(rest);
        } catch {
          // already decoded
        }
        return { action: call.method === 'DELETE' ? 'eks:UntagResource' : call.method === 'GET' ? 'eks:ListTagsForResource' : 'eks:TagResource', resources: [arn], context: {} };
      }
      const ng = /^\/clusters\/([^/]+)\/node-groups\/([^/]+)(\/update-config)?$/.exec(path);
      if (ng) return { action: ng[3] ? 'eks:UpdateNodegroupConfig' : call.method === 'GET' ? 'eks:DescribeNodegroup' : `eks:${operation}`, resources: [nodegroup(seg(path, 2), seg(path, 4))], context: {} };
      const updates = /^\/clusters\/([^/]+)\/updates(\/[^/]+)?$/.exec(path);
      if (updates) {
        const group = p('nodegroupName');
        return { action: updates[2] ? 'eks:DescribeUpdate' : 'eks:ListUpdates', resources: [group ? nodegroup(seg(path, 2), group) : cluster(seg(path, 2))], context: {} };
      }
      // The cluster record's reads (activities/cluster-record.ts): listings are authorized on the cluster, an add-on and an
      // access entry on their own ARNs, whose trailing UUID the proxy does not know (a fixed one stands in, as above).
      const listed = /^\/clusters\/([^/]+)\/(node-groups|addons|access-entries)\/?$/.exec(path);
      if (listed && call.method === 'GET') return { action: { 'node-groups': 'eks:ListNodegroups', addons: 'eks:ListAddons', 'access-entries': 'eks:ListAccessEntries' }[listed[2] as 'addons'], resources: [cluster(seg(path, 2))], context: {} };
      const addon = /^\/clusters\/([^/]+)\/addons\/([^/]+)$/.exec(path);
      if (addon && call.method === 'GET') return { action: 'eks:DescribeAddon', resources: [`arn:${partition}:eks:${region}:${account}:addon/${seg(path, 2)}/${seg(path, 4)}/00000000-0000-0000-0000-000000000000`], context: {} };
      const entry = /^\/clusters\/([^/]+)\/access-entries\/(.+?)(\/access-policies)?$/.exec(path);
      if (entry && call.method === 'GET') {
        // An access entry's ARN names the principal's type, account and name: arn:…:access-entry/<cluster>/<type>/<account>/<name>/<uuid>.
        let principal = entry[2];
        try {
          principal = decodeURIComponent(principal);
        } catch {
          // already decoded
        }
        const m = /^arn:[^:]+:(?:iam|sts)::(\d+):(role|user|assumed-role)\/(?:.*\/)?([^/]+)$/.exec(principal);
        const arn = `arn:${partition}:eks:${region}:${account}:access-entry/${entry[1]}/${m ? m[2] : '*'}/${m ? m[1] : '*'}/${m ? m[3] : '*'}/00000000-0000-0000-0000-000000000000`;
        return { action: entry[3] ? 'eks:ListAssociatedAccessPolicies' : 'eks:DescribeAccessEntry', resources: [arn], context: {} };
      }
      const c = /^\/clusters\/([^/]+)$/.exec(path);
      if (c && call.method === 'GET') return { action: 'eks:DescribeCluster', resources: [cluster(seg(path, 2))], context: {} };
      return { action: `eks:${operation}`, resources: UNMAPPED, context: {} };
    }
    case 'kms': {
      const key = String(jsonBody(call).KeyId ?? '');
      const arn = key.startsWith('arn:') ? key : key && !key.startsWith('alias/') ? `arn:${partition}:kms:${region}:${account}:key/${key}` : '';
      return { action: `kms:${operation}`, resources: operation === 'DescribeKey' && arn ? [arn] : UNMAPPED, context: {} };
    }
    case 'secretsmanager': {
      const id = String(jsonBody(call).SecretId ?? '');
      // A secret named without its ARN: the six random characters of its ARN are unknown here; any six match.
      const arn = id.startsWith('arn:') ? id : `arn:${partition}:secretsmanager:${region}:${account}:secret:${id}-xxxxxx`;
      return { action: `secretsmanager:${operation}`, resources: operation === 'GetSecretValue' && id ? [arn] : UNMAPPED, context: {} };
    }
    case 's3': {
      // Path-style requests (the emulator's): /<bucket>[/<key>], the operation told by method and query flag.
      const [, bucket = '', ...keyParts] = call.path.split('/');
      const key = keyParts.join('/');
      const has = (flag: string) => call.param(flag) !== undefined;
      const bucketArn = `arn:${partition}:s3:::${bucket}`;
      const objectArn = `${bucketArn}/${key}`;
      const lockHeaders = call.headers['x-amz-object-lock-mode'] !== undefined || call.headers['x-amz-object-lock-retain-until-date'] !== undefined;
      if (!key) {
        if (has('object-lock')) return { action: call.method === 'PUT' ? 's3:PutBucketObjectLockConfiguration' : 's3:GetBucketObjectLockConfiguration', resources: [bucketArn], context: {} };
        if (has('versions')) return { action: 's3:ListBucketVersions', resources: [bucketArn], context: {} };
        if (call.method === 'PUT') return { action: 's3:CreateBucket', resources: [bucketArn], context: {} };
        if (call.method === 'GET') return { action: 's3:ListBucket', resources: [bucketArn], context: {} };
        return { action: `s3:${operation}`, resources: UNMAPPED, context: {} };
      }
      if (call.method === 'PUT') return { action: lockHeaders ? 's3:PutObjectRetention' : 's3:PutObject', resources: [objectArn], context: {}, also: lockHeaders ? ['s3:PutObject'] : [] };
      if (call.method === 'GET' || call.method === 'HEAD') return { action: 's3:GetObject', resources: [objectArn], context: {} };
      return { action: `s3:${operation}`, resources: UNMAPPED, context: {} };
    }
    case 'sns':
      return { action: `sns:${operation}`, resources: operation === 'Publish' && p('TopicArn') ? [p('TopicArn') as string] : UNMAPPED, context: {} };
    default:
      // EC2's Describe* support no resource-level permission: checked against "*", as AWS does.
      return { action: `${signingName}:${operation}`, resources: UNMAPPED, context: {} };
  }
}

const SERVICES = ['rds', 'cloudwatch', 'route53', 'eks', 'kms', 'secretsmanager', 'sns', 'ec2', 's3', 'servicequotas'];
const DENIED_CODE: Record<string, string> = { eks: 'AccessDeniedException', kms: 'AccessDeniedException', secretsmanager: 'AccessDeniedException', servicequotas: 'AccessDeniedException', ec2: 'UnauthorizedOperation', monitoring: 'AccessDenied' };

const xmlEscape = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * moto (5.2) does not implement iam:SimulatePrincipalPolicy (no `simulate` in moto/iam/responses.py). For a principal a
 * test registered, this answers it from the same evaluation the rules use: each action on each resource (or "*"),
 * with the request's context entries; `allowed` or `implicitDeny`. The caller itself needs iam:SimulatePrincipalPolicy
 * on the simulated role ("SimulatePrincipalPolicy: role", SAR IAM). It proves drover asks and reads the answer; IAM's
 * own evaluation (boundaries, SCPs, session policies) is IAM's.
 */
function simulateRule(principals: EnforcedPrincipals, log?: Array<Authorization & { allowed: boolean }>): FidelityRule {
  return {
    id: 'iam-simulate-principal-policy',
    source: { url: 'https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html', says: 'Simulate how a set of IAM policies attached to an IAM entity works with a list of API operations and AWS resources to determine the policies\' effective permissions.' },
    service: 'iam',
    operations: ['SimulatePrincipalPolicy'],
    refuse(call) {
      const key = accessKeyOf(call);
      const caller = key ? principals.get(key) : undefined;
      if (!caller) return undefined;
      const source = call.param('PolicySourceArn') ?? '';
      const callerAllowed = allows(caller.policy, 'iam:SimulatePrincipalPolicy', source);
      log?.push({ action: 'iam:SimulatePrincipalPolicy', resources: [source], context: {}, allowed: callerAllowed });
      if (!callerAllowed) return { status: 403, code: 'AccessDenied', message: `User: ${caller.arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${source} because no identity-based policy allows the iam:SimulatePrincipalPolicy action` };
      const target = [...principals.values()].find((p) => p.policySource === source);
      if (!target) return { status: 404, code: 'NoSuchEntity', message: `The principal ${source} does not exist (the test registered none by that ARN)` };
      const members = (prefix: string) => {
        const out: string[] = [];
        for (let i = 1; call.param(`${prefix}.member.${i}`) !== undefined; i++) out.push(call.param(`${prefix}.member.${i}`) as string);
        return out;
      };
      const context: Record<string, string> = {};
      for (let i = 1; call.param(`ContextEntries.member.${i}.ContextKeyName`) !== undefined; i++) {
        const value = call.param(`ContextEntries.member.${i}.ContextKeyValues.member.1`);
        if (value !== undefined) context[call.param(`ContextEntries.member.${i}.ContextKeyName`) as string] = value;
      }
      const actions = members('ActionNames');
      const resources = members('ResourceArns');
      const results = actions.flatMap((action) => (resources.length > 0 ? resources : ['*']).map((resource) => ({ action, resource, allowed: allows(target.policy, action, resource, context) })));
      const body =
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>' +
        results.map((r) => `<member><EvalActionName>${xmlEscape(r.action)}</EvalActionName><EvalResourceName>${xmlEscape(r.resource)}</EvalResourceName><EvalDecision>${r.allowed ? 'allowed' : 'implicitDeny'}</EvalDecision></member>`).join('') +
        '</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>drover-simulated</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>';
      return { status: 200, ok: true, headers: { 'content-type': 'text/xml' }, body };
    },
  };
}

/** The access key id a request was signed with. */
function accessKeyOf(call: FidelityCall): string | undefined {
  const auth = call.headers.authorization;
  return /Credential=([^/,\s]+)\//.exec(Array.isArray(auth) ? auth[0] : (auth ?? ''))?.[1];
}

/**
 * The rules (one per service drover calls): a request signed by a key in
 * `principals` is answered AccessDenied unless that principal's policy allows its action on each of its resources.
 * Every decision is appended to `opts.log` when given (what was checked, and whether it was allowed).
 */
export function iamEnforcement(principals: EnforcedPrincipals, opts: { account: string; partition?: string; log?: Array<Authorization & { allowed: boolean }> }): FidelityRule[] {
  return [simulateRule(principals, opts.log), ...SERVICES.map((service): FidelityRule => ({
    id: `iam-resource-${service}`,
    source: {
      url: 'https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html',
      says: 'If the column includes a resource type, then you can specify an ARN of that type in a statement with that action. ... If the action has one or more required resources, the caller must have permission to use the action with those resources.',
    },
    service,
    operations: '*',
    refuse(call) {
      const key = accessKeyOf(call);
      const who = key ? principals.get(key) : undefined;
      if (!who) return undefined;
      const auth = authorizationOf(call, opts.account, opts.partition);
      let action = auth.action;
      let denied: string | undefined;
      for (const a of [auth.action, ...(auth.also ?? [])]) {
        denied = auth.resources.find((r) => !allows(who.policy, a, r, auth.context));
        if (denied !== undefined) {
          action = a;
          break;
        }
      }
      opts.log?.push({ ...auth, action, allowed: denied === undefined });
      if (denied === undefined) return undefined;
      return {
        status: 403,
        code: DENIED_CODE[call.info.signingName] ?? 'AccessDenied',
        message: `User: ${who.arn} is not authorized to perform: ${action} on resource: ${denied} because no identity-based policy allows the ${action} action`,
      };
    },
  }))];
}
