/**
 * Run notifications end to end: the real Temporal dev server, moto for AWS, and an SQS queue subscribed
 * to the runbook's SNS topic, from which every published message is read back and parsed.
 */
import { workerSinks } from '../cli/worker';
import { PublishCommand, SNS, SNSClient } from '@aws-sdk/client-sns';
import { Worker } from '@temporalio/worker';
import type { AuditEvent } from '../audit/chain';
import { createNotifyActivities } from '../activities/notify';
import type { Runbook } from '../runbooks/schema';
import { approveUpdate } from '../contracts/messages';
import type { NotificationMessage } from '../workflows/notify';
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { IntegrationEnv, STANDBY } from './harness/env';
import { subscribedTopic as subscribedTo, type Received as SnsReceived } from './harness/sns-queue';
import { emulatorConfig, eventually, failureRecord, refOf, workflowBundle } from './harness/fixtures';
import { startInterposer, type Interposer } from './harness/interpose';
import fs from 'node:fs';
import path from 'node:path';

const env = new IntegrationEnv();
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
/** The workers reach moto through it, so a test sees every SNS Publish they make, whatever its topic. */
let interposer: Interposer;
let mark = 0;

beforeAll(async () => {
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
}, 120_000);
beforeEach(() => {
  mark = interposer.log().length;
});
afterAll(async () => {
  await interposer?.stop();
  await env.stop();
});
afterEach(() => env.apps.apps[STANDBY].setHealthy(true));

type Received = SnsReceived<NotificationMessage>;

/** The topic of every SNS Publish the workers made since the test began, in order (any topic, existing or not). */
function publishedTo(): string[] {
  return interposer
    .log()
    .slice(mark)
    .filter((r) => r.operation === 'Publish')
    .map((r) => new URLSearchParams(r.body).get('TopicArn') ?? '?');
}

/** The test's worker, its AWS calls through the interposer. */
function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  return env.withWorker(taskQueue, fn, emulatorConfig(interposer.endpoint));
}

/** A topic with an SQS queue subscribed to it, its messages in the order of their events. */
function subscribedTopic(): ReturnType<typeof subscribedTo<NotificationMessage>> {
  return subscribedTo<NotificationMessage>(env.moto.endpoint, STANDBY, (a, b) => a.at.localeCompare(b.at));
}

function input(rb: Runbook, reason = 'notifications test'): FailoverInput {
  return { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason, requestedBy: 'ic-test', options: { timeScale: 0.01 } };
}

const failureOf = (p: Promise<unknown>) => failureRecord<RunStatus>(p);

/** The activity types a run scheduled, from its history. */
async function activityTypes(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n): n is string => Boolean(n));
}

/** The history replays on the current workflow code. */
async function replays(workflowId: string): Promise<void> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), sinks: workerSinks() }, history, workflowId)).resolves.toBeUndefined();
}

/** A duration as subjects show it: 42s, 3m07s. */
function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function expectEnvelope(m: Received, rb: Runbook, status: RunStatus, event: string): void {
  expect(m.body).toEqual(expect.objectContaining({ version: 1, event, runbook: rb.name, kind: 'failover', workflowId: status.workflowId, runId: status.runId, mode: 'planned' }));
  expect(new Date(m.body.at).toISOString()).toBe(m.body.at);
  expect(m.body.summary.length).toBeGreaterThan(10);
  expect(m.subject.length).toBeLessThan(100);
}

describe('run notifications to the runbook SNS topic', () => {
  test('given a failover with a gate, the topic receives approval.requested, then run.finished (completed) with the RTO, as JSON with a one-line subject and no secrets', async () => {
    const topic = await subscribedTopic();
    const { runbook: rb, taskQueue } = await env.seeded('notify-ok', [[['notifications'], { snsTopicArn: topic.topicArn }]]);
    const workflowId = `failover-${rb.name}`;
    const status = await withWorker(taskQueue, async () => {
      // A reason carrying what looks like an access key id: it must not leave the worker.
      const handle = await env.client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb, 'Mumbai degraded; key AKIAIOSFODNN7EXAMPLE pasted by mistake')] });
      await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate, 'the failover gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', comment: 'go' }] });
      return (await handle.result()) as RunStatus;
    });
    expect(status.phase).toBe('completed');

    const messages = await topic.receive(2);
    expect(messages.map((m) => m.body.event)).toEqual(['approval.requested', 'run.finished']);
    const [requested, finished] = messages;
    expectEnvelope(requested, rb, status, 'approval.requested');
    expect(requested.subject).toBe(`drover: failover of ${rb.name} waits for approval at gate failover`);
    expect(requested.body).toEqual(expect.objectContaining({ gate: 'failover', required: 1, approvers: rb.approvals.approvers, approve: `drover approve ${workflowId} --gate failover --comment "..."` }));

    expectEnvelope(finished, rb, status, 'run.finished');
    const rto = status.rto?.ms ?? 0;
    expect(finished.subject).toBe(`drover: failover of ${rb.name} COMPLETED (RTO ${seconds(rto)})`);
    expect(finished.body).toEqual(expect.objectContaining({ phase: 'completed', fromRegion: rb.regions.primary, targetRegion: STANDBY, requestedBy: 'ic-test', rto: { ms: rto, objectiveMs: 900_000, met: false, gateWaitMs: status.rto?.gateWaitMs, timeScale: 0.01 } }));
    // Time-scaled (0.01): the summary never calls the RTO met.
    expect(finished.body.summary).toContain(`(objective 15m00s: not judged (time-scaled ×0.01)).`);
    expect(JSON.stringify(messages)).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(finished.body.reason).toContain('[redacted-access-key-id]');

    expect(status.notifications).toEqual({ topicArn: topic.topicArn, sent: 2, failed: [] });
    expect((await activityTypes(workflowId)).filter((t) => t === 'notify')).toEqual(['notify', 'notify']);
    // Exactly the two messages received were published, both to the runbook's topic.
    expect(publishedTo()).toEqual([topic.topicArn, topic.topicArn]);
    await replays(workflowId);
  });

  test('given a probe failing during the first soak, the topic receives step.failed for that step, then run.finished (failed) naming it', async () => {
    const topic = await subscribedTopic();
    const { runbook: rb, taskQueue } = await env.seeded('notify-fail', [
      [['notifications'], { snsTopicArn: topic.topicArn }],
      [['approvals', 'gates'], []],
    ]);
    env.apps.apps[STANDBY].setHealthy(false);
    const workflowId = `failover-${rb.name}`;
    const status = await withWorker(taskQueue, async () => {
      const handle = await env.client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      return failureOf(handle.result());
    });
    expect(status.phase).toBe('failed');
    expect(status.error?.type).toBe('HealthBreach');

    const messages = await topic.receive(2);
    expect(messages.map((m) => m.body.event)).toEqual(['step.failed', 'run.finished']);
    const [stepFailed, finished] = messages;
    expectEnvelope(stepFailed, rb, status, 'step.failed');
    expect(stepFailed.subject).toBe(`drover: failover of ${rb.name}: step traffic-10 failed`);
    expect(stepFailed.body).toEqual(expect.objectContaining({ step: 'traffic-10', error: { type: 'HealthBreach', message: expect.stringMatching(/probe api-health answered 503/) } }));
    expectEnvelope(finished, rb, status, 'run.finished');
    expect(finished.subject).toBe(`drover: failover of ${rb.name} FAILED at traffic-10`);
    expect(finished.body).toEqual(expect.objectContaining({ phase: 'failed', failedStep: 'traffic-10', error: expect.objectContaining({ type: 'HealthBreach' }), compensations: status.compensations }));
    expect(status.notifications).toEqual({ topicArn: topic.topicArn, sent: 2, failed: [] });
    expect(publishedTo()).toEqual([topic.topicArn, topic.topicArn]);
  });

  test('given a runbook without a topic, a run publishes nothing to any topic and schedules no notify activity', async () => {
    // There is no topic of the runbook's to listen on, so what is read is every SNS Publish the worker
    // made during the run, to any topic (the other tests see theirs there).
    const { runbook: rb, taskQueue } = await env.seeded('notify-none', [[['approvals', 'gates'], []]]);
    expect(rb.notifications).toBeUndefined();
    const workflowId = `failover-${rb.name}`;
    const status = (await withWorker(taskQueue, () => env.client.workflow.execute('regionFailover', { taskQueue, workflowId, args: [input(rb)] }))) as RunStatus;
    expect(status.phase).toBe('completed');
    expect(status.notifications).toBeUndefined();
    expect((await activityTypes(workflowId)).filter((t) => t === 'notify')).toEqual([]);
    expect(publishedTo()).toEqual([]);
    // The run's calls did go through the interposer: its one promotion is there.
    expect(interposer.log().slice(mark).filter((r) => r.operation === 'PromoteReadReplica').map((r) => r.region)).toEqual([STANDBY]);
  });

  test('given a topic that does not exist, every publish fails and is recorded, and the run still completes', async () => {
    const missing = `arn:aws:sns:${STANDBY}:123456789012:drover-missing-${process.pid}`;
    const { runbook: rb, taskQueue } = await env.seeded('notify-broken', [
      [['notifications'], { snsTopicArn: missing }],
      [['approvals', 'gates'], []],
    ]);
    const workflowId = `failover-${rb.name}`;
    const status = (await withWorker(taskQueue, () => env.client.workflow.execute('regionFailover', { taskQueue, workflowId, args: [input(rb)] }))) as RunStatus;
    expect(status.phase).toBe('completed');
    expect(status.notifications).toEqual({ topicArn: missing, sent: 0, failed: [{ event: 'run.finished', error: expect.stringContaining('sns:Publish') }] });
    // One attempt, to the runbook's topic: SNS's NotFound is permanent, so neither the SDK nor Temporal retried it.
    expect(publishedTo()).toEqual([missing]);
    const file = path.join(process.env.DROVER_AUDIT_DIR ?? '', rb.name, workflowId, `${status.runId}.jsonl`);
    const events = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
    const failed = events.filter((e) => e.action === 'notification.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toEqual(expect.objectContaining({ target: missing, detail: expect.stringContaining('run.finished not published') }));
    expect(events.map((e) => e.action).slice(-2)).toEqual(['notification.failed', 'run.end']);
  });

  test('given a subject of 100 characters or more, the publish still lands (SNS takes fewer than 100) cut to 99 characters', async () => {
    const topic = await subscribedTopic();
    const sns = new SNSClient({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS, maxAttempts: 1 });
    // The fidelity rule answers as SNS does: a subject of exactly 100 characters is refused.
    await expect(sns.send(new PublishCommand({ TopicArn: topic.topicArn, Subject: 'x'.repeat(100), Message: '{}' }))).rejects.toThrow(/Subject/);
    const subject = `[drover] approval requested: ${'a-very-long-runbook-name-'.repeat(6)}`;
    expect(subject.length).toBeGreaterThanOrEqual(100);
    const message: NotificationMessage = { version: 1, event: 'run.finished', runbook: 'notify-long', kind: 'failover', workflowId: 'w', runId: 'r', mode: 'planned', at: new Date().toISOString(), summary: 'a long subject' } as NotificationMessage;
    await createNotifyActivities(() => new SNS({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS, maxAttempts: 1 })).notify({ topicArn: topic.topicArn, region: STANDBY, subject, message: JSON.stringify(message) });
    const [got] = await topic.receive(1);
    expect(got.subject).toBe(`${subject.slice(0, 96)}...`);
  });
});
