/**
 * Least privilege, proved on moto: a drill (a planned failover, its verification and the automatic failback) run by a
 * worker whose only permissions are `drover iam-policy --role worker`'s, on a moto with IAM enforcement on, behind
 * rules that check each request's resources against that policy (infra/faults/fidelity-iam.ts: moto checks actions
 * only). The same drill with one action taken out of the policy stops at the failover's preflight (iam-preflight-v1),
 * naming the action, with nothing changed; a worker that cannot ask IAM is refused at the call itself.
 */
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { Route53 } from '@aws-sdk/client-route-53';
import { SNS } from '@aws-sdk/client-sns';
import { exec } from '../cli/main';
import { actionsOf, policyFor, withoutAction, type PolicyDocument } from '../aws/iam-policy';
import type { AwsConfig } from '../aws/clients';
import { AWS_FIDELITY_RULES } from '../infra/faults/fidelity';
import { iamEnforcement, type Authorization, type EnforcedPrincipals } from '../infra/faults/fidelity-iam';
import { startLagFeeders } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import type { Runbook } from '../runbooks/schema';
import { captureIO, dbArn, describeTopology, emulatorConfig, MOTO_ACCOUNT, onlyDatabase, refOf, writeRunbook } from './harness/fixtures';
import type { FailoverInput } from '../workflows/regionFailover';
import { DRILLS_ANY_TIME, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { recordHarnessCredential } from './harness/secrets';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const principals: EnforcedPrincipals = new Map();
const decisions: Array<Authorization & { allowed: boolean }> = [];
const env = new IntegrationEnv(undefined, [...iamEnforcement(principals, { account: MOTO_ACCOUNT, log: decisions }), ...AWS_FIDELITY_RULES]);
const saved = { ...process.env };
const feeders: Array<{ stop(): void }> = [];
let seq = 0;

beforeAll(async () => {
  await env.start();
});
afterAll(async () => {
  process.env = saved;
  feeders.forEach((f) => f.stop());
  await authOff().catch(() => undefined);
  await env.stop();
});

/** moto authenticates and authorizes every request from now on (moto-api reset-auth: INITIAL_NO_AUTH_ACTION_COUNT 0). */
async function authOn(): Promise<void> {
  const res = await fetch(`${env.moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!res.ok) throw new Error(`moto reset-auth answered ${res.status}`);
}

/** moto stops checking (the harness reads the emulator's state back with keys of its own). */
async function authOff(): Promise<void> {
  await fetch(`${env.moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
}

/** One signed IAM or STS query call; throws unless 200. */
async function query(service: 'iam' | 'sts', action: string, params: Record<string, string>, keys: Keys = { accessKeyId: 'AKIAIAMTESTBOOTSTRAP', secretAccessKey: 'bootstrap' }): Promise<string> {
  const url = new URL(env.moto.endpoint);
  const body = new URLSearchParams({ Action: action, Version: service === 'iam' ? '2010-05-08' : '2011-06-15', ...params }).toString();
  const request = new HttpRequest({ method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  const signed = await new SignatureV4({ credentials: keys, region: 'us-east-1', service, sha256: Sha256 }).sign(request);
  const res = await fetch(`${env.moto.endpoint}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${service}:${action} answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

const xml = (text: string, tag: string) => {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text);
  if (!m) throw new Error(`no <${tag}> in ${text.slice(0, 200)}`);
  return m[1];
};

function recorded(who: string, keys: Keys): Keys {
  recordHarnessCredential(keys.accessKeyId, `${who} access key id`);
  recordHarnessCredential(keys.secretAccessKey, `${who} secret access key`);
  if (keys.sessionToken) recordHarnessCredential(keys.sessionToken, `${who} session token`);
  return keys;
}

/**
 * moto's copy of the policy. moto (5.2, moto/iam/access_control.py) authorizes every request but S3's against the
 * resource "*" and evaluates no Condition of an identity policy (one with a Condition denies): a statement scoped to
 * ARNs never matches there, so its copy keeps each statement's actions on "*", without conditions, and moto checks
 * the actions. It also names CloudWatch's actions by the signing name (`monitoring:DescribeAlarms`, the credential
 * scope's service), where AWS says `cloudwatch:`: the copy repeats those. The rules in front of moto check the
 * resources and conditions of the policy as generated.
 */
function forMoto(policy: PolicyDocument): PolicyDocument {
  const actions = actionsOf(policy);
  const cw = actions.filter((a) => a.startsWith('cloudwatch:')).map((a) => a.replace('cloudwatch:', 'monitoring:'));
  return { Version: '2012-10-17', Statement: [{ Sid: 'MotoChecksActionsOnly', Effect: 'Allow', Action: [...actions, ...cw], Resource: ['*'] }] };
}

/** An admin user (everything) for the harness, made while moto does not check yet. */
async function admin(): Promise<Keys> {
  const name = `drover-iam-admin-${process.pid}-${++seq}`;
  await query('iam', 'CreateUser', { UserName: name });
  await query('iam', 'PutUserPolicy', { UserName: name, PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) });
  const key = await query('iam', 'CreateAccessKey', { UserName: name });
  return recorded(`admin ${name}`, { accessKeyId: xml(key, 'AccessKeyId'), secretAccessKey: xml(key, 'SecretAccessKey') });
}

/** A session of a worker role whose only (inline) policy is `policy`, as a production worker runs (an assumed role). */
async function workerSession(adminKeys: Keys, policy: PolicyDocument): Promise<{ arn: string; keys: Keys }> {
  const role = `drover-worker-${process.pid}-${++seq}`;
  const adminArn = xml(await query('sts', 'GetCallerIdentity', {}, adminKeys), 'Arn');
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'sts:AssumeRole' }] };
  await query('iam', 'CreateRole', { RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) });
  await query('iam', 'PutRolePolicy', { RoleName: role, PolicyName: 'drover-worker', PolicyDocument: JSON.stringify(forMoto(policy)) });
  const out = await query('sts', 'AssumeRole', { RoleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/${role}`, RoleSessionName: 'worker' }, adminKeys);
  const keys = recorded(`session ${role}`, { accessKeyId: xml(out, 'AccessKeyId'), secretAccessKey: xml(out, 'SecretAccessKey'), sessionToken: xml(out, 'SessionToken') });
  principals.set(keys.accessKeyId, { arn: xml(out, 'Arn'), policy, policySource: `arn:aws:iam::${MOTO_ACCOUNT}:role/${role}` });
  return { arn: xml(out, 'Arn'), keys };
}

/**
 * A seeded ApnaKart variant (drills any time) that names its hosted zone by id, so the policy scopes Route 53 to it;
 * ReplicaLag published with the admin's keys.
 */
async function seeded(adminKeys: Keys, set: Array<[Array<string | number>, unknown]> = []): Promise<{ file: string; runbook: Runbook; taskQueue: string }> {
  const name = `ak-iam-${process.pid}-${++seq}`;
  const probeBases = { [PRIMARY]: env.apps.apps[PRIMARY].baseUrl, [STANDBY]: env.apps.apps[STANDBY].baseUrl };
  const first = writeRunbook({ name, unique: true, set: [DRILLS_ANY_TIME, ...set], probeBases });
  await seedRunbook(first.runbook, env.config());
  const zones = await new Route53({ region: 'us-east-1', endpoint: env.moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }).listHostedZonesByName({ DNSName: first.runbook.dns.hostedZone, MaxItems: 1 });
  const zoneId = (zones.HostedZones?.[0]?.Id ?? '').replace('/hostedzone/', '');
  const { file, runbook } = writeRunbook({ name, unique: true, set: [DRILLS_ANY_TIME, ...set, [['dns', 'hostedZoneId'], zoneId]], probeBases });
  feeders.push(startLagFeeders({ endpoint: env.moto.endpoint, rb: runbook, regions: [STANDBY, PRIMARY], lagSeconds: 0, everyMs: 300, credentials: adminKeys }));
  return { file, runbook, taskQueue: `tq-${name}` };
}

function workerConfig(keys: Keys): AwsConfig {
  return { ...emulatorConfig(env.moto.endpoint), credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken } };
}

async function drill(file: string, taskQueue: string, worker: Keys): Promise<{ code: number; out: string }> {
  useCli(env.moto.endpoint, taskQueue);
  return env.withWorker(
    taskQueue,
    async () => {
      const io = captureIO();
      const code = await exec(['drill', 'run', file, '--time-scale', '0.01', '--json'], io);
      return { code, out: io.all() };
    },
    workerConfig(worker),
  );
}

/** `fn` with moto's IAM enforcement on and the rules' decisions recorded from an empty list; enforcement off after. */
async function enforced<T>(fn: () => Promise<T>): Promise<T> {
  decisions.length = 0;
  await authOn();
  try {
    return await fn();
  } finally {
    await authOff();
  }
}

/** A drill run by a worker holding `worker`'s keys, under enforcement. */
function drillAs(worker: { keys: Keys }, file: string, taskQueue: string): Promise<{ code: number; out: string }> {
  return enforced(() => drill(file, taskQueue, worker.keys));
}

/** Replace the worker role's policy (as someone editing it would); the rules read the new one for its session at once. */
async function putWorkerPolicy(adminKeys: Keys, worker: { arn: string; keys: Keys }, policy: PolicyDocument): Promise<void> {
  const role = /assumed-role\/([^/]+)\//.exec(worker.arn)?.[1] ?? '';
  await query('iam', 'PutRolePolicy', { RoleName: role, PolicyName: 'drover-worker', PolicyDocument: JSON.stringify(forMoto(policy)) }, adminKeys);
  principals.set(worker.keys.accessKeyId, { arn: worker.arn, policy, policySource: `arn:aws:iam::${MOTO_ACCOUNT}:role/${role}` });
}

describe('the worker policy drover iam-policy generates', () => {
  test('readiness: with it, drover check finds every permission; a permission removed from the role is not ready, naming the action and the fix; put back, ready again', async () => {
    const adminKeys = await admin();
    const { file, runbook: rb, taskQueue } = await seeded(adminKeys);
    process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    const { policy } = policyFor(rb, 'worker', { account: MOTO_ACCOUNT });
    const worker = await workerSession(adminKeys, policy);
    useCli(env.moto.endpoint, taskQueue);
    const check = async () => {
      const io = captureIO();
      const code = await exec(['check', file, '--json'], io);
      const run = JSON.parse(io.stdout.join('\n')) as { verdict: string; checks: Array<{ id: string; verdict: string; reasons: string[]; fix?: string }> };
      return { code, run, permissions: run.checks.find((c) => c.id === 'permissions') };
    };
    await enforced(() =>
      env.withWorker(
        taskQueue,
        async () => {
          // Everything ready (the worker's own policy, the controls prepared, no drills.maxAge) but the EC2 quota, which
          // moto does not serve (Service Quotas for VPC only): asked, with the policy's permission, and said not read.
          const ready = await check();
          expect(ready.run.checks.filter((c) => c.verdict !== 'ready').map((c) => [c.id, c.reasons])).toEqual([[`quotas:${STANDBY}`, [expect.stringMatching(/^L-1216C47A not read: /)]]]);
          expect(ready.code).toBe(7);
          expect(ready.permissions?.reasons.join('\n')).toContain("is allowed every action this runbook's runs need");

          await putWorkerPolicy(adminKeys, worker, withoutAction(policy, 'rds:PromoteReadReplica'));
          const removed = await check();
          expect(removed.code).toBe(1);
          expect(removed.run.checks.filter((c) => c.verdict !== 'ready').map((c) => c.id)).toEqual(['permissions', `quotas:${STANDBY}`]);
          expect(removed.permissions).toMatchObject({ verdict: 'not-ready', fix: 'grant it (drover iam-policy RUNBOOK prints the policy the worker needs)' });
          expect(removed.permissions?.reasons).toEqual([
            expect.stringMatching(new RegExp(`^rds:PromoteReadReplica: not allowed for arn:aws:iam::${MOTO_ACCOUNT}:role/drover-worker-[0-9-]+ on arn:aws:rds:`)),
            `the worker's role lacks what this runbook's runs need: drover iam-policy <the ${rb.name} runbook file> --role worker prints it (docs/iam.md)`,
          ]);

          await putWorkerPolicy(adminKeys, worker, policy);
          const back = await check();
          expect(back.code).toBe(7);
          expect(back.permissions?.verdict).toBe('ready');
        },
        workerConfig(worker.keys),
      ),
    );
    // Reading only: the worker's calls under enforcement were all allowed (the simulation asked; nothing refused).
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
  }, 240_000);

  test('is enough for a full drill (failover, verification, failback), its audit trail in S3 and its notifications, on moto with IAM enforcement on and every resource checked', async () => {
    const adminKeys = await admin();
    const topic = `drover-iam-${process.pid}-${seq + 1}`;
    const sns = new SNS({ region: STANDBY, endpoint: env.moto.endpoint, credentials: adminKeys });
    const topicArn = (await sns.createTopic({ Name: topic })).TopicArn as string;
    const bucket = `drover-iam-audit-${process.pid}-${seq + 1}`;
    const { file, runbook: rb, taskQueue } = await seeded(adminKeys, [
      [['audit'], { s3: { bucket, region: STANDBY, prefix: 'trail/', mode: 'GOVERNANCE', retentionDays: 1 } }],
      [['notifications'], { snsTopicArn: topicArn }],
    ]);
    const seededTopology = await describeTopology(rb, env.moto.endpoint);
    const { policy } = policyFor(rb, 'worker', { account: MOTO_ACCOUNT });
    const result = await drillAs(await workerSession(adminKeys, policy), file, taskQueue);
    expect(result.out).not.toMatch(/not authorized|AccessDenied/);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.out.slice(result.out.indexOf('{'), result.out.lastIndexOf('}') + 1)) as { phase: string };
    expect(out.phase).toBe('completed');
    // The preflight asked IAM (iam:SimulatePrincipalPolicy on its own role) and was allowed everything.
    expect(result.out).toContain(`worker permissions: arn:aws:iam::${MOTO_ACCOUNT}:role/`);
    expect(result.out).toContain("is allowed every action this runbook's runs need");

    // Back where it started, every change made by the worker's session.
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.weights).toEqual(seededTopology.weights);
    expect(after.replica.source).toBe(dbArn(PRIMARY, onlyDatabase(rb).primary.identifier));

    // The rules checked the worker's calls resource by resource: none refused, each service drover needs for a drill seen.
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
    const actions = new Set(decisions.map((d) => d.action));
    for (const a of ['rds:PromoteReadReplica', 'rds:CreateDBInstanceReadReplica', 'rds:DeleteDBInstance', 'route53:ChangeResourceRecordSets', 'eks:UpdateNodegroupConfig', 'cloudwatch:DescribeAlarms', 's3:PutObjectRetention', 's3:CreateBucket', 'sns:Publish']) expect(actions).toContain(a);
    // The trail went to the bucket's prefix, under Object Lock; the run's events to the topic.
    expect(decisions).toContainEqual(expect.objectContaining({ action: 's3:PutObjectRetention', resources: [expect.stringMatching(new RegExp(`^arn:aws:s3:::${bucket}/trail/`))], allowed: true }));
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'sns:Publish', resources: [topicArn], allowed: true }));
    // No call was checked against "*" but those AWS authorizes only so.
    const star = [...new Set(decisions.filter((d) => d.resources.includes('*')).map((d) => d.action))].sort();
    expect(star.every((a) => policy.Statement.some((s) => s.Resource.includes('*') && s.Action.includes(a)))).toBe(true);
    // Every action the worker used is one the policy names (no wildcard action).
    for (const a of actions) expect(actionsOf(policy)).toContain(a);
  }, 240_000);

  test('is enough for an unplanned failover through the data-plane controls (PutMetricData held to drover\'s namespace)', async () => {
    const adminKeys = await admin();
    const { file, runbook: rb, taskQueue } = await seeded(adminKeys, [[['approvals', 'gates'], []]]);
    process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    const { policy } = policyFor(rb, 'worker', { account: MOTO_ACCOUNT });
    const worker = await workerSession(adminKeys, policy);
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'unplanned', reason: 'least privilege, region lost', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
    const status = (await enforced(() => env.withWorker(taskQueue, () => env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] }), workerConfig(worker.keys)))) as { phase: string };
    expect(status.phase).toBe('completed');
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
    // The lost region's control was flipped by the worker, within the namespace its policy holds it to.
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'cloudwatch:PutMetricData', context: { 'cloudwatch:namespace': 'drover/controls' }, allowed: true }));
  }, 240_000);

  test('without rds:PromoteReadReplica, the drill is refused by its readiness check of the worker\'s permissions, naming the action, with nothing changed', async () => {
    const adminKeys = await admin();
    const { file, runbook: rb, taskQueue } = await seeded(adminKeys);
    const seededTopology = await describeTopology(rb, env.moto.endpoint);
    const policy = withoutAction(policyFor(rb, 'worker', { account: MOTO_ACCOUNT }).policy, 'rds:PromoteReadReplica');
    const result = await drillAs(await workerSession(adminKeys, policy), file, taskQueue);
    expect(result.code).toBe(3);
    expect(result.out).toContain('drill refused, nothing was changed');
    // The same check as the failover's preflight (drill-readiness-v1 asks it before the drill's failover starts).
    // The permissions are the only check not ready (a pattern IAM cannot simulate faithfully is a note, not a refusal).
    expect(result.out).not.toMatch(/readiness: (?!permissions is not ready)/);
    expect(result.out).toMatch(new RegExp(`readiness: permissions is not ready \\(rds:PromoteReadReplica: not allowed for arn:aws:iam::${MOTO_ACCOUNT}:role/drover-worker-[0-9-]+ on arn:aws:rds:[a-z0-9-]+:${MOTO_ACCOUNT}:db:[a-z0-9-]+ and 3 more; the worker's role lacks what this runbook's runs need: drover iam-policy <the ${rb.name} runbook file> --role worker prints it \\(docs/iam.md\\)\\); fix: grant it \\(drover iam-policy RUNBOOK`));
    // Asked, not tried: no promotion was sent, and nothing changed.
    expect(decisions.map((d) => d.action)).not.toContain('rds:PromoteReadReplica');
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.weights).toEqual(seededTopology.weights);
    expect(after.nodeGroups).toEqual(seededTopology.nodeGroups);
  }, 240_000);

  test('with rds:PromoteReadReplica allowed on another instance only and no right to simulate, the preflight cannot ask; the rules refuse the promotion itself (moto alone would not)', async () => {
    const adminKeys = await admin();
    const { file, runbook: rb, taskQueue } = await seeded(adminKeys);
    const base = withoutAction(withoutAction(policyFor(rb, 'worker', { account: MOTO_ACCOUNT }).policy, 'rds:PromoteReadReplica'), 'iam:SimulatePrincipalPolicy');
    const policy: PolicyDocument = {
      ...base,
      Statement: [...base.Statement, { Sid: 'PromoteSomethingElse', Effect: 'Allow', Action: ['rds:PromoteReadReplica'], Resource: [`arn:aws:rds:${STANDBY}:${MOTO_ACCOUNT}:db:not-this-one`] }],
    };
    const result = await drillAs(await workerSession(adminKeys, policy), file, taskQueue);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('worker permissions not checked: iam:SimulatePrincipalPolicy');
    expect(result.out).toContain('rds:PromoteReadReplica');
    // Asked twice, refused twice: by the drill's readiness evaluation (permissions degraded: not checked, which does not
    // refuse a drill) and by its failover's preflight.
    expect(decisions.filter((d) => !d.allowed)).toEqual([
      expect.objectContaining({ action: 'iam:SimulatePrincipalPolicy' }),
      expect.objectContaining({ action: 'iam:SimulatePrincipalPolicy' }),
      expect.objectContaining({ action: 'rds:PromoteReadReplica', resources: [`arn:aws:rds:${STANDBY}:${MOTO_ACCOUNT}:db:${onlyDatabase(rb).replica.identifier}`] }),
    ]);
  }, 240_000);
});
