/**
 * Approval gates as policy, with verified identities, end to end: the real Temporal dev server, the
 * suite's moto for everything else, and a second moto with IAM authentication on for STS, where each
 * principal is an IAM user (or an assumed role) with its own keys. The CLI signs GetCallerIdentity with
 * those keys; the worker replays the request to the auth-enabled STS, so a tampered signature really fails.
 */
import { workerSinks } from '../cli/worker';
import fs from 'node:fs';
import path from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { AuditEvent } from '../audit/chain';
import { exec } from '../cli/main';
import { proveRequester } from '../cli/runs';
import { generateKeyPairSync } from 'node:crypto';
import { identityKeyFile, loadOrCreateIdentityKey, publicIdentityKey, type IdentityPublicKey } from '../activities/sealing';
import { sealSigned, signIdentity } from '../cli/sign';
import type { Runbook } from '../runbooks/schema';
import { approveUpdate, rejectUpdate } from '../contracts/messages';
import { headerValue, type SignedIdentity } from '../contracts/identity';
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { ACCOUNT, AuthMoto, type Principal } from './harness/authmoto';
import { IntegrationEnv, STANDBY } from './harness/env';
import { captureIO, describeTopology, eventually, failureRecord, refOf, workflowBundle } from './harness/fixtures';
import { historyTexts, scanHistory } from './harness/secrets';
import { testTemporalAddress } from './harness/servers';

const env = new IntegrationEnv();
let sts: AuthMoto;
const saved = { ...process.env };
const people: Record<'priya' | 'arjun' | 'meera' | 'lead' | 'mallory', Principal> = {} as never;
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

beforeAll(async () => {
  [sts] = await Promise.all([AuthMoto.start(), env.start()]);
  for (const name of ['priya', 'arjun', 'meera', 'lead', 'mallory'] as const) people[name] = await sts.user(`ic-${name}`);
}, 180_000);
afterAll(async () => {
  process.env = saved;
  await Promise.allSettled([sts?.stop(), env.stop()]);
});

/** The worker: every AWS call to the suite's moto, except STS, which goes to the auth-enabled one. */
function workerConfig() {
  return { ...env.config(), stsEndpoint: sts.endpoint };
}

/** Point the in-process CLI at the servers; STS (what the CLI signs for) at the auth-enabled moto. */
function useCli(taskQueue: string): void {
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.AWS_ENDPOINT_URL_STS = sts.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.DROVER_TASK_QUEUE = taskQueue;
}

/** Run the CLI with `who`'s AWS credentials in the environment (the default credential chain), or none. */
async function cli(args: string[], who?: Principal): Promise<{ code: number; out: string; err: string }> {
  const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
  const before = keys.map((k) => process.env[k]);
  for (const k of keys) delete process.env[k];
  if (who) {
    process.env.AWS_ACCESS_KEY_ID = who.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = who.credentials.secretAccessKey;
    if (who.credentials.sessionToken) process.env.AWS_SESSION_TOKEN = who.credentials.sessionToken;
  }
  try {
    const io = captureIO();
    const code = await exec(args, io);
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  } finally {
    keys.forEach((k, i) => (before[i] === undefined ? delete process.env[k] : (process.env[k] = before[i])));
  }
}

/** A seeded runbook whose gates take verified identities only, with a policy for the failover gate. */
async function seeded(prefix: string, policy: Record<string, unknown>, approvers: string[], extra: Array<[Array<string | number>, unknown]> = []) {
  return env.seeded(prefix, [
    [['approvals', 'trustClientIdentity'], false],
    [['approvals', 'approvers'], approvers],
    [['approvals', 'gates'], ['failover']],
    [['approvals', 'policies'], { failover: policy }],
    // Who may request these runs (default: the gates' principals): lead, and mallory, who tries the attacks.
    [['approvals', 'requesters'], [people.lead.arn, people.mallory.arn]],
    ...extra,
  ]);
}

async function status(handle: WorkflowHandle): Promise<RunStatus> {
  return handle.query<RunStatus>('status');
}

async function atGate(handle: WorkflowHandle): Promise<RunStatus> {
  return eventually(async () => {
    const s = await status(handle).catch(() => undefined);
    return s?.pendingGate ? s : undefined;
  }, 'the failover gate');
}

/** The run's audit trail as the worker wrote it (JSONL), once `until` holds. */
async function trail(rb: Runbook, workflowId: string, runId: string, until: (events: AuditEvent[]) => boolean = () => true): Promise<AuditEvent[]> {
  const file = path.join(process.env.DROVER_AUDIT_DIR ?? '', rb.name, workflowId, `${runId}.jsonl`);
  return eventually(async () => {
    if (!fs.existsSync(file)) return undefined;
    const events = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
    return until(events) ? events : undefined;
  }, `audit events in ${file}`, 30_000);
}

/** The run's history replays on the current workflow code (Update handlers with activities, nonces, escalation timers). */
async function replays(workflowId: string, runId: string): Promise<void> {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), sinks: workerSinks() }, history, workflowId)).resolves.toBeUndefined();
}

const refusals = (events: AuditEvent[]) => events.filter((e) => e.action === 'gate.refused');
const kindOf = (e: AuditEvent) => (e.after as { kind?: string } | undefined)?.kind;

/** The message an Update was refused with (it must be refused). */
async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('ApprovalRefused');
  return cause.message;
}

function input(rb: Runbook, extra: Partial<FailoverInput> = {}): FailoverInput {
  return { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'approvals test', requestedBy: 'ic-test', options: { timeScale: 0.01 }, ...extra };
}

const failureOf = (p: Promise<unknown>) => failureRecord<RunStatus>(p);

/** Run `fn` with `who`'s AWS credentials in the environment (what the CLI's credential chain reads). */
async function asCaller<T>(who: Principal, fn: () => Promise<T>): Promise<T> {
  const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
  const before = keys.map((k) => process.env[k]);
  process.env.AWS_ACCESS_KEY_ID = who.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = who.credentials.secretAccessKey;
  if (who.credentials.sessionToken) process.env.AWS_SESSION_TOKEN = who.credentials.sessionToken;
  else delete process.env.AWS_SESSION_TOKEN;
  try {
    return await fn();
  } finally {
    keys.forEach((k, i) => (before[i] === undefined ? delete process.env[k] : (process.env[k] = before[i])));
  }
}

/** Start a failover directly and prove, as `who`, who started it (what the CLI does after its start). */
async function startProven(rb: Runbook, who: Principal, extra: Partial<FailoverInput> = {}) {
  useCli(`tq-${rb.name}`);
  const handle = await env.client.workflow.start('regionFailover', { taskQueue: `tq-${rb.name}`, workflowId: `failover-${rb.name}`, args: [input(rb, extra)] });
  expect(await asCaller(who, () => proveRequester(env.client, handle.workflowId, handle.firstExecutionRunId))).toBe(`requester verified as ${who.arn}`);
  return handle;
}

describe('approval gates with verified identities', () => {
  test('given a 2-of-3 gate, the run proceeds only after two distinct verified principals approve; a second approval by the same principal does not count', async () => {
    const { file, runbook: rb, taskQueue } = await seeded('quorum', { required: 2 }, [people.priya.arn, people.arjun.arn, people.meera.arn]);
    useCli(taskQueue);
    const workflowId = `failover-${rb.name}`;
    const result = await env.withWorker(taskQueue, async () => {
      // Started by "lead" with credentials: the run's requester is verified at the gate.
      const started = await cli(['failover', file, '--to', STANDBY, '--reason', 'quorum test', '--time-scale', '0.01', '--detach'], people.lead);
      expect(started.code).toBe(0);
      const handle = env.client.workflow.getHandle(workflowId);
      await atGate(handle);

      const first = await cli(['approve', workflowId, '--gate', 'failover', '--comment', 'lag is fine'], people.priya);
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toContain(`approved gate failover as ${people.priya.arn} (verified); 1 of 2 approvals, 1 more needed`);

      const again = await cli(['approve', workflowId, '--gate', 'failover'], people.priya);
      expect(again.code).toBe(3);
      expect(again.err).toContain(`${people.priya.arn} has already approved gate failover; it needs 2 distinct approvers`);

      const s = await status(handle);
      expect(s.phase).toBe('waiting-approval');
      expect(s.pendingGate?.approvals).toEqual([expect.objectContaining({ approver: people.priya.arn, verified: true, comment: 'lag is fine' })]);
      // The gate publishes the workers' public identity key (what the CLI sealed to), and nothing private.
      expect(s.pendingGate?.identityKey).toEqual(await publicIdentityKey(loadOrCreateIdentityKey(identityKeyFile())));
      expect(JSON.stringify(s.pendingGate)).not.toContain('"d"');
      expect(s.pendingGate?.requestedBy).toEqual({ id: people.lead.arn, verified: true });
      const shown = await cli(['status', workflowId]);
      expect(shown.out).toContain('approvals: 1 of 2');
      expect(shown.out).toContain(`✓ ${people.priya.arn} (verified): lag is fine`);
      expect(shown.out).toContain(`needed:    1 more, from: ${people.priya.arn}, ${people.arjun.arn}, ${people.meera.arn} (other than those above); not the requester ${people.lead.arn}`);

      const second = await cli(['approve', workflowId, '--gate', 'failover', '--comment', 'go'], people.arjun);
      expect(second.code).toBe(0);
      expect(second.out).toContain('2 of 2 approvals, the gate is open');
      return handle.result() as Promise<RunStatus>;
    }, workerConfig());

    expect(result.phase).toBe('completed');
    expect(result.decisions.map((d) => [d.approver, d.decision, d.verified])).toEqual([
      [people.priya.arn, 'approved', true],
      [people.arjun.arn, 'approved', true],
    ]);
    expect(result.steps.find((s) => s.id === 'gate:failover')?.notes.join(' ')).toContain(`approved by ${people.priya.arn}, ${people.arjun.arn}: lag is fine; go`);

    const events = await trail(rb, workflowId, result.runId, (ev) => ev.some((e) => e.action === 'run.end'));
    expect(events.filter((e) => e.action === 'gate.approved').map((e) => e.actor)).toEqual([
      { id: people.priya.arn, verified: true },
      { id: people.arjun.arn, verified: true },
    ]);
    expect(events.find((e) => e.action === 'run.requester')?.actor).toEqual({ id: people.lead.arn, verified: true });
    expect(refusals(events).map(kindOf)).toEqual(['duplicate']);
    // The signed requests (a bearer token for five minutes) never reach the trail.
    const text = JSON.stringify(events);
    expect(text).not.toMatch(/AWS4-HMAC-SHA256|Signature=|x-drover-binding/i);
    for (const p of Object.values(people)) expect(text).not.toContain(p.credentials.accessKeyId);
    // Nor the history: the requester's and the approvers' requests travelled sealed (the suite's teardown scans every history too).
    const history = await env.client.workflow.getHandle(workflowId, result.runId).fetchHistory();
    expect(historyTexts(history).join('\n')).toContain('sealed-identity-v1');
    expect(scanHistory(history)).toEqual([]);
    await replays(workflowId, result.runId);
  });

  test('given self-approval off, the requester (verified at start) cannot approve their own run; another approver can', async () => {
    const { file, runbook: rb, taskQueue } = await seeded('self', { required: 1, selfApproval: false }, [people.lead.arn, people.meera.arn]);
    useCli(taskQueue);
    const workflowId = `failover-${rb.name}`;
    const result = await env.withWorker(taskQueue, async () => {
      expect((await cli(['failover', file, '--to', STANDBY, '--reason', 'self test', '--time-scale', '0.01', '--detach'], people.lead)).code).toBe(0);
      const handle = env.client.workflow.getHandle(workflowId);
      await atGate(handle);
      const self = await cli(['approve', workflowId, '--gate', 'failover'], people.lead);
      expect(self.code).toBe(3);
      expect(self.err).toContain(`${people.lead.arn} requested this run, and gate failover does not allow self-approval`);
      expect((await status(handle)).pendingGate?.approvals).toEqual([]);
      expect((await cli(['approve', workflowId, '--gate', 'failover'], people.meera)).code).toBe(0);
      return handle.result() as Promise<RunStatus>;
    }, workerConfig());
    expect(result.phase).toBe('completed');
    const events = await trail(rb, workflowId, result.runId, (ev) => ev.some((e) => e.action === 'run.end'));
    const refusal = refusals(events);
    expect(refusal.map(kindOf)).toEqual(['self-approval']);
    expect(refusal[0].actor).toEqual({ id: people.lead.arn, verified: true });
  });

  test('given forged, expired, replayed, unlisted and unverified approvals, each is refused and recorded, and the gate still waits', async () => {
    const rolePattern = `arn:aws:sts::${ACCOUNT}:assumed-role/IncidentCommander/\${username}`;
    const { runbook: rb, taskQueue } = await seeded('refuse', { required: 2 }, [rolePattern, people.priya.arn]);
    const commander = await sts.roleSession('IncidentCommander', 'arjun');
    useCli(taskQueue);
    const workflowId = `failover-${rb.name}`;
    await env.withWorker(taskQueue, async () => {
      const handle = await startProven(rb, people.lead);
      const runId = handle.firstExecutionRunId;
      await atGate(handle);
      const endpoint = new URL(sts.endpoint);
      const sign = (who: Principal, binding: { run?: string; gate?: string; decision?: 'approve' | 'reject'; comment?: string }, signingDate?: Date) =>
        signIdentity({ binding: { run: `${workflowId}/${runId}`, gate: 'failover', decision: 'approve', ...binding }, credentials: who.credentials, region: STANDBY, endpoint, signingDate });
      const key = (await status(handle)).pendingGate?.identityKey as IdentityPublicKey;
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const approve = async (identity: SignedIdentity, comment?: string) => handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', sealed: await sealSigned(identity, key), comment }] });

      // 1. A valid IAM user who is not in the policy.
      const stranger = await cli(['approve', workflowId, '--gate', 'failover'], people.mallory);
      expect(stranger.code).toBe(3);
      expect(stranger.err).toContain(`"${people.mallory.arn}" is not an approver of gate failover`);

      // 2. Expired: signed with a clock set six minutes back.
      expect(await refused(approve(await sign(people.priya, {}, new Date(Date.now() - 6 * 60_000))))).toMatch(/signed \d+s ago .*good for 5 minutes/);

      // 3. Replayed: bound to another run, another gate, another decision, another comment.
      expect(await refused(approve(await sign(people.priya, { run: `${workflowId}/another-run` })))).toContain('bound to run');
      expect(await refused(approve(await sign(people.priya, { gate: 'failback' })))).toContain('bound to gate failback');
      expect(await refused(approve(await sign(people.priya, { decision: 'reject' })))).toContain('bound to the decision "reject"');
      expect(await refused(approve(await sign(people.priya, { comment: 'looks fine' }), 'ship it'))).toContain('another comment');

      // 4. Tampered: the signature altered, and a binding rewritten after signing (STS recomputes the signature).
      const good = await sign(people.priya, {});
      const auth = headerValue(good.headers, 'authorization') ?? '';
      const flipped = auth.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
      expect(await refused(approve({ ...good, headers: { ...good.headers, authorization: flipped } }))).toContain('STS refused the signature (SignatureDoesNotMatch)');
      const elsewhere = await sign(people.priya, { run: `${workflowId}/another-run` });
      const rebound = { ...elsewhere, headers: { ...elsewhere.headers, 'x-drover-binding': (headerValue(elsewhere.headers, 'x-drover-binding') ?? '').replace(encodeURIComponent(`${workflowId}/another-run`), encodeURIComponent(`${workflowId}/${runId}`)) } };
      expect(await refused(approve(rebound))).toContain('SignatureDoesNotMatch');

      // 5. An identity asserted with --as, on a runbook that trusts none.
      const asserted = await cli(['approve', workflowId, '--gate', 'failover', '--as', 'ic-priya']);
      expect(asserted.code).toBe(3);
      expect(asserted.err).toContain('accepts only signed ones');

      // 6. Sealed for another worker key (a worker with its own key file), and a clear binding that is not the signed one.
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as { x: string; y: string };
      const otherKey = await publicIdentityKey({ kty: 'EC', crv: 'P-256', x: other.x, y: other.y });
      const elsewhereSealed = handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', sealed: await sealSigned(await sign(people.priya, {}), otherKey) }] });
      expect(await refused(elsewhereSealed)).toContain('sealed for another worker key: share DROVER_IDENTITY_KEY_FILE across workers');
      const sealed = await sealSigned(await sign(people.priya, {}), key);
      const swapped = { ...sealed, binding: { ...sealed.binding, nonce: 'f'.repeat(32) } };
      expect(await refused(handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', sealed: swapped }] }))).toContain('not the one it was signed with');

      // 7. A signed request in clear text (an older CLI) is refused by the validator: it never reaches the history.
      const clear = await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', identity: await sign(people.priya, {}) }] }).then(() => undefined, (e: unknown) => e);
      expect(clear).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((clear as WorkflowUpdateFailedError).cause as Error).message).toContain('must be sealed for the worker');

      // A valid approval by a role session matching the pattern counts; the very same request again is a replay.
      const valid = await sign(commander, {});
      expect(await approve(valid)).toContain(`approved gate failover as ${commander.arn} (verified); 1 of 2 approvals`);
      expect(await refused(approve(valid))).toContain('already used');

      // 8. A rejection by someone outside the policy is refused too.
      const rejectIdentity = await signIdentity({ binding: { run: `${workflowId}/${runId}`, gate: 'failover', decision: 'reject', comment: 'no' + '!'.repeat(3) }, credentials: people.mallory.credentials, region: STANDBY, endpoint });
      expect(await refused(handle.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', sealed: await sealSigned(rejectIdentity, key), reason: 'no!!!' }] }))).toContain('is not an approver');

      const s = await status(handle);
      expect(s.phase).toBe('waiting-approval');
      expect(s.decisions.map((d) => d.approver)).toEqual([commander.arn]);

      const events = await trail(rb, workflowId, runId, (ev) => refusals(ev).length >= 13);
      expect(refusals(events).map(kindOf)).toEqual(['not-allowed', 'expired', 'replayed', 'replayed', 'replayed', 'replayed', 'forged', 'forged', 'unverifiable', 'unverifiable', 'replayed', 'replayed', 'not-allowed']);
      expect(refusals(events)[0].actor).toEqual({ id: people.mallory.arn, verified: true });
      expect(JSON.stringify(events)).not.toMatch(/AWS4-HMAC-SHA256|Signature=/);
      await handle.terminate('test done');
      // Users' keys, a role session's token, signatures: none in the history, tampered or refused requests included.
      expect(scanHistory(await handle.fetchHistory())).toEqual([]);
      await replays(workflowId, runId);
    }, workerConfig());
  });

  test('given a gate that times out with onTimeout abort, nothing changes and the run ends aborted; the escalation reaches the SNS topic part-way', async () => {
    const sns = new SNSClient({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS });
    const sqs = new SQSClient({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS });
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: `drover-escalations-${process.pid}` }))).TopicArn ?? '';
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `escalations-${process.pid}` }))).QueueUrl ?? '';
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

    // Gate timers run in real time (timeScale scales soaks, not approvals). The escalation must find priya's
    // approval already recorded, and her approval goes through the CLI's signing, sealing and STS (a few
    // seconds on a loaded machine), so the escalation comes 30 s after the gate opens (it was 3 s, which a
    // slow approval could lose to); `drover status` right after the approval checks it is not sent yet, and
    // the timeout 10 s later leaves the escalation's publish time to finish before the gate closes.
    const { runbook: rb, taskQueue } = await seeded('timeout', { required: 2, timeout: '40s', escalateAfter: '30s', onTimeout: 'abort' }, [people.priya.arn, people.arjun.arn], [
      [['notifications'], { snsTopicArn: topicArn }],
    ]);
    const before = await describeTopology(rb, env.moto.endpoint);
    useCli(taskQueue);
    const workflowId = `failover-${rb.name}`;
    const final = await env.withWorker(taskQueue, async () => {
      const handle = await startProven(rb, people.lead);
      await atGate(handle);
      expect((await cli(['approve', workflowId, '--gate', 'failover'], people.priya)).code).toBe(0);
      const shown = await cli(['status', workflowId]);
      expect(shown.out).toMatch(/timeout: {3}in \d.*then abort; escalation in \d/);
      return failureOf(handle.result());
    }, workerConfig());

    expect(final.phase).toBe('aborted');
    expect(final.error?.type).toBe('ApprovalTimedOut');
    expect(final.error?.message).toContain('gate failover was not approved within 40s (1 of 2 approvals); nothing after it was changed');
    expect(final.steps.filter((s) => s.status === 'done').map((s) => s.id)).toEqual(['preempt-drills', 'preflight']);
    expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);

    // The run's other events go to the same topic: the request, the escalation, the end (aborted).
    const received: Array<{ Subject?: string; Message?: string; TopicArn?: string }> = [];
    await eventually(async () => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      received.push(...(out.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}')));
      return received.length >= 3;
    }, 'three messages in the subscribed queue', 20_000);
    const bodies = received.map((m) => JSON.parse(m.Message ?? '{}') as { event: string; summary: string; missing?: number; approvals?: Array<{ approver: string }>; approve?: string; phase?: string });
    expect(bodies.map((m) => m.event)).toEqual(['approval.requested', 'gate.escalated', 'run.finished']);
    const envelope = received[1];
    expect(envelope.TopicArn).toBe(topicArn);
    expect(envelope.Subject).toBe(`drover: gate failover of ${workflowId} still needs 1 approval`);
    expect(bodies[1].summary).toContain(`Approvals so far: ${people.priya.arn}; 1 more needed from: ${people.priya.arn}, ${people.arjun.arn}.`);
    expect(bodies[1]).toEqual(expect.objectContaining({ missing: 1, approvals: [expect.objectContaining({ approver: people.priya.arn })], approve: `drover approve ${workflowId} --gate failover --comment "..."` }));
    expect(received[2].Subject).toBe(`drover: failover of ${rb.name} ABORTED at gate:failover`);
    expect(bodies[2].phase).toBe('aborted');

    const events = await trail(rb, workflowId, final.runId, (ev) => ev.some((e) => e.action === 'run.end'));
    const actions = events.map((e) => e.action);
    expect(actions.indexOf('gate.escalated')).toBeGreaterThan(actions.indexOf('gate.approved'));
    expect(actions.indexOf('gate.timeout')).toBeGreaterThan(actions.indexOf('gate.escalated'));
    expect(events.find((e) => e.action === 'gate.escalated')?.target).toBe(topicArn);
    await replays(workflowId, final.runId);
  });

  test('given onTimeout proceed, a drill proceeds past the timed-out gate, but a real run aborts', async () => {
    const { file, taskQueue } = await seeded('proceed', { timeout: '2s', onTimeout: 'proceed' }, [people.priya.arn], [
      [['drills'], { enabled: true, autoApprove: false, windows: [{ from: '00:00', to: '24:00' }], cooldown: '1h' }],
    ]);
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      // A real drill (its failover a child of the drill): started by lead, whose identity the drill verifies first.
      const run = await cli(['drill', 'run', file, '--time-scale', '0.01', '--json'], people.lead);
      expect(run.err).toContain(`requester verified as ${people.lead.arn}`);
      const drill = JSON.parse(run.out) as { phase: string; failover: RunStatus };
      expect(drill.failover.phase).toBe('completed');
      expect(drill.failover.decisions).toEqual([expect.objectContaining({ approver: 'drover-timeout', decision: 'approved', verified: false })]);
      expect(drill.failover.steps.find((s) => s.id === 'gate:failover')?.notes.join(' ')).toContain('proceeded by drover-timeout: no decision within 2s');
    }, workerConfig());

    const real = await seeded('proceed-real', { timeout: '2s', onTimeout: 'proceed' }, [people.priya.arn], [
      [['drills'], { enabled: true, windows: [{ from: '00:00', to: '24:00' }], cooldown: '1h' }],
    ]);
    const aborted = await env.withWorker(real.taskQueue, async () => failureOf((await startProven(real.runbook, people.lead)).result()), workerConfig());
    expect(aborted.phase).toBe('aborted');
    expect(aborted.error?.message).toContain('onTimeout "proceed" applies to drills only, so this run aborts');
  }, 240_000); // a whole drill then a real run, each with its own worker: 90 s alone on this machine, more under the suite's load
});

describe('attacks on approvals by whoever may start a workflow', () => {
  test('given a runbook edited by the requester (its gates removed), the workers refuse the run: nothing changes, the CLI exits 3 naming both digests', async () => {
    const { file, runbook: rb, taskQueue } = await seeded('edited', { required: 1 }, [people.priya.arn]);
    const before = await describeTopology(rb, env.moto.endpoint);
    const edited = path.join(path.dirname(file), `edited-${path.basename(file)}`);
    fs.writeFileSync(edited, fs.readFileSync(file, 'utf8').replace(/gates:\n(\s+- failover\n)/, 'gates: []\n'));
    expect(fs.readFileSync(edited, 'utf8')).toContain('gates: []');
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      const run = await cli(['failover', edited, '--to', STANDBY, '--reason', 'no gate for me', '--time-scale', '0.01'], people.mallory);
      expect(run.code).toBe(3);
      expect(run.out + run.err).toMatch(/the workers' copy of runbook .* is not the one you validated \(sha256:[0-9a-f]{64}\); nothing was changed/);

      // The same with a workflow started by hand: an inline runbook without gates is not taken, whatever the ref says.
      const noGates = { ...rb, approvals: { ...rb.approvals, gates: [] } };
      const inline = await failureOf(env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ ...input(rb), runbookRef: undefined, runbook: noGates }] }));
      expect(inline.error).toEqual({ type: 'RunbookRefused', message: expect.stringContaining('a runbook in the input is not accepted') });
      const both = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ ...input(rb), runbook: noGates }] });
      // The worker's copy (with its gate) is what runs: the run waits for its requester, then at the gate.
      await asCaller(people.mallory, () => proveRequester(env.client, both.workflowId, both.firstExecutionRunId));
      expect((await atGate(both)).pendingGate?.name).toBe('failover');
      await both.terminate('test done');
    }, workerConfig());
    expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);
  });

  test('given a forged drill link in a failover started by hand, its gate is not auto-approved: the link comes from the parent drill only', async () => {
    const { runbook: rb, taskQueue } = await seeded('forged-drill', { required: 1 }, [people.priya.arn], [
      [['drills'], { enabled: true, autoApprove: true, windows: [{ from: '00:00', to: '24:00' }], cooldown: '1h' }],
    ]);
    await env.withWorker(taskQueue, async () => {
      const handle = await startProven(rb, people.mallory, { drill: { workflowId: `drill-${rb.name}`, autoApprove: true } });
      const s = await atGate(handle);
      expect(s.drill).toBeUndefined();
      expect(s.decisions).toEqual([]);
      expect(s.steps.map((x) => x.id)).toContain('preempt-drills');
      await handle.terminate('test done');
    }, workerConfig());
  });

  test('given a requester who proves no identity, the run ends before its first step; given one who claims another name, their own approval is refused as self-approval', async () => {
    const { file, runbook: rb, taskQueue } = await seeded('unverified', { required: 1, selfApproval: false }, [people.lead.arn, people.meera.arn]);
    const before = await describeTopology(rb, env.moto.endpoint);
    useCli(taskQueue);
    const workflowId = `failover-${rb.name}`;
    await env.withWorker(taskQueue, async () => {
      // 1. Started by hand, claiming to be someone else, no proof: no gate ever opens, the run ends, nothing changed.
      const handle = await env.client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb, { requestedBy: 'ic-meera', options: { timeScale: 0.01, approvalTimeoutMs: 3000 } })] });
      const early = await cli(['approve', workflowId, '--gate', 'failover'], people.lead);
      expect(early.code).toBe(3);
      expect(early.err).toContain(`no gate of run ${workflowId} is pending approval`);
      const ended = await failureOf(handle.result());
      expect(ended.error?.type).toBe('RequesterUnverified');
      expect(ended.error?.message).toContain('no proof arrived within 3s of the start');
      expect(ended.steps.filter((x) => x.status === 'done')).toEqual([]);
      const events = await trail(rb, workflowId, handle.firstExecutionRunId, (ev) => ev.some((e) => e.action === 'run.end'));
      expect(events.find((e) => e.action === 'run.requester-unverified')?.actor).toEqual({ id: 'ic-meera', verified: false });

      // 2. Through the CLI with lead's credentials but --requested-by ic-meera: the run knows it is lead.
      const started = await cli(['failover', file, '--to', STANDBY, '--reason', 'lead claims to be meera', '--requested-by', 'ic-meera', '--time-scale', '0.01', '--detach'], people.lead);
      expect(started.code).toBe(0);
      expect(started.err).toContain(`requester verified as ${people.lead.arn}`);
      const run = env.client.workflow.getHandle(workflowId);
      expect((await atGate(run)).pendingGate?.requestedBy).toEqual({ id: people.lead.arn, verified: true });
      const self = await cli(['approve', workflowId, '--gate', 'failover'], people.lead);
      expect(self.code).toBe(3);
      expect(self.err).toContain(`${people.lead.arn} requested this run, and gate failover does not allow self-approval`);
      await run.terminate('test done');
    }, workerConfig());
    expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);
  });

  test('given a requester proven with an identity the runbook does not list (any AWS account can make one), the run ends before its first step', async () => {
    const outsider = await sts.user('throwaway-outsider');
    const { runbook: rb, taskQueue } = await seeded('outsider', { required: 1 }, [people.priya.arn]);
    // Its own endpoints (STS at the harness's verifier), not whatever test ran before it (the order is random).
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      const handle = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input(rb)] });
      const proof = await asCaller(outsider, () => proveRequester(env.client, handle.workflowId, handle.firstExecutionRunId)).then(() => '', (e: Error) => e.message);
      expect(proof).toContain(`${outsider.arn} is not a requester of runbook ${rb.name}`);
      const ended = await failureOf(handle.result());
      expect(ended.error?.type).toBe('RequesterUnverified');
      expect(ended.steps.filter((x) => x.status === 'done')).toEqual([]);
    }, workerConfig());
  });

  test('given a runbook whose promote gate needs an approval, a promotion started on its own waits at that gate before it fences or promotes anything', async () => {
    const { file, runbook: rb, taskQueue } = await seeded('promote-gate', { required: 1 }, [people.priya.arn], [
      [['approvals', 'gates'], ['promote']],
      [['approvals', 'policies'], { promote: { required: 1 } }],
    ]);
    const before = await describeTopology(rb, env.moto.endpoint);
    useCli(taskQueue);
    const workflowId = `promote-${rb.name}`;
    await env.withWorker(taskQueue, async () => {
      const started = await cli(['promote', file, '--to', STANDBY, '--reason', 'promote alone', '--detach'], people.lead);
      expect(started.code).toBe(0);
      const handle = env.client.workflow.getHandle(workflowId);
      const waiting = await atGate(handle);
      expect(waiting.pendingGate?.name).toBe('promote');
      // Only the runbook's lock is taken before the gate: nothing is fenced or promoted.
      expect(waiting.steps.filter((x) => x.status === 'done').map((x) => x.id)).toEqual(['take-runbook']);
      expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);
      expect((await cli(['reject', workflowId, '--gate', 'promote', '--reason', 'not without the IC'], people.priya)).code).toBe(0);
      const final = await failureOf(handle.result());
      expect(final.phase).toBe('rejected');
      expect(final.error?.type).toBe('ApprovalRejected');
    }, workerConfig());
    expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);
  });

  test('given a 2-of-2 gate, one person cannot fill both seats: the sessions of an unpinned role are refused by validation, and a pinned session named after an IAM user approver counts as that user', async () => {
    // The runbook that would let two sessions of one role meet the gate does not validate (CLI exit 2, path-qualified).
    const unpinned = await seeded('unpinned', { required: 1 }, [people.priya.arn]);
    const twoOfTwo = path.join(path.dirname(unpinned.file), `two-of-two-${path.basename(unpinned.file)}`);
    fs.writeFileSync(twoOfTwo, fs.readFileSync(unpinned.file, 'utf8').replace(/required: 1/, 'required: 2').replace(people.priya.arn, `arn:aws:iam::${ACCOUNT}:role/IncidentCommander`));
    useCli(unpinned.taskQueue);
    const refused = await cli(['failover', twoOfTwo, '--to', STANDBY, '--reason', 'two of two'], people.lead);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/approvals\.approvers\[0\]: a gate that needs 2 distinct approvers cannot tell people apart through arn:aws:iam::\d+:role\/IncidentCommander/);

    // Pinned sessions: ic-priya as an IAM user and as the session "ic-priya" of the role are one approver.
    const pinned = `arn:aws:sts::${ACCOUNT}:assumed-role/IncidentCommander/\${username}`;
    const { runbook: rb, taskQueue } = await seeded('pinned', { required: 2 }, [people.priya.arn, pinned]);
    const priyaAsRole = await sts.roleSession('IncidentCommander', 'ic-priya');
    const arjunAsRole = await sts.roleSession('IncidentCommander', 'ic-arjun');
    const workflowId = `failover-${rb.name}`;
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      const handle = await startProven(rb, people.lead);
      await atGate(handle);
      expect((await cli(['approve', workflowId, '--gate', 'failover'], people.priya)).code).toBe(0);
      const twice = await cli(['approve', workflowId, '--gate', 'failover'], priyaAsRole);
      expect(twice.code).toBe(3);
      expect(twice.err).toContain(`${priyaAsRole.arn} has already approved gate failover as ${people.priya.arn}`);
      const other = await cli(['approve', workflowId, '--gate', 'failover'], arjunAsRole);
      expect(other.code).toBe(0);
      expect(other.out).toContain('2 of 2 approvals, the gate is open');
      await handle.terminate('test done');
    }, workerConfig());
  });
});
