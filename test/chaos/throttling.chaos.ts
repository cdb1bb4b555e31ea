/**
 * Throttling: 30% of every AWS call the worker makes is answered with the service's throttling error.
 * The SDK retries a throttled call itself (drover's worker config: 3 attempts); a call throttled three
 * times fails its activity, which Temporal retries with backoff. Failover and failback complete, and the
 * retries are checked, not only counted: the proxy logs each request's SDK invocation id and attempt
 * number (`amz-sdk-invocation-id`, `amz-sdk-request`), so every throttled request short of the last
 * attempt must be followed by the next attempt of the same call, and a call throttled on its last
 * attempt must have made Temporal retry an activity (attempts beyond the first, from the histories).
 */
import type { ProxyLogEntry } from '../../infra/faults/proxy';
import type { FailbackResult } from '../../workflows/failback';
import type { RunStatus } from '../../contracts/run';
import { describeTopology, onlyDatabase, refOf } from '../harness/fixtures';
import { ChaosWorld, faultCounts, PRIMARY, report, STANDBY } from './world';

const world = new ChaosWorld();
const lines: string[] = [];

beforeAll(() => world.start(), 120_000);
afterAll(async () => {
  report('throttling (30% of every AWS call)', lines);
  await world.stop();
});

/** Activity retries in a run and its children: sum of (attempt - 1) over started activities, by activity type. */
async function activityRetries(workflowIds: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of workflowIds) {
    const history = await world.client.workflow.getHandle(id).fetchHistory();
    const types = new Map<string, string>();
    for (const e of history.events ?? []) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        const name = types.get(String(started.scheduledEventId)) ?? '?';
        out[name] = (out[name] ?? 0) + (started.attempt ?? 1) - 1;
      }
    }
  }
  return out;
}

/**
 * What became of each throttled request: retried by the SDK (the same invocation's next attempt is in the
 * log), exhausted (it was the call's last attempt, so the activity saw the error), or neither (a retry the
 * SDK should have made and did not).
 */
function throttleOutcomes(log: ProxyLogEntry[]): { throttled: number; sdkRetried: number; exhausted: number; unexplained: ProxyLogEntry[] } {
  const attempts = new Set(log.map((e) => `${e.invocationId} ${e.attempt}`));
  const out = { throttled: 0, sdkRetried: 0, exhausted: 0, unexplained: [] as ProxyLogEntry[] };
  for (const e of log) {
    if (e.injected !== 'throttle') continue;
    out.throttled++;
    if (e.invocationId === undefined || e.attempt === undefined || e.maxAttempts === undefined) out.unexplained.push(e);
    else if (attempts.has(`${e.invocationId} ${e.attempt + 1}`)) out.sdkRetried++;
    else if (e.attempt === e.maxAttempts) out.exhausted++;
    else out.unexplained.push(e);
  }
  return out;
}

test('given 30% throttling on every AWS call, a planned failover and the failback complete with the intended topology', async () => {
  const { runbook: rb, taskQueue } = await world.seed('ak-throttle', [[['approvals', 'gates'], []]]);
  const ch = await world.channel({ seed: 30, rules: [{ id: 'throttle-30', probability: 0.3, fault: { kind: 'throttle' } }] });
  world.worker(taskQueue, ch.endpoint);
  const seeded = await describeTopology(rb, world.moto.endpoint);
  const options = { timeScale: 0.05 };

  const fo = (await world.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: throttling', requestedBy: 'ic-chaos', options }] })) as RunStatus;
  expect(fo.phase).toBe('completed');
  const mid = await describeTopology(rb, world.moto.endpoint);
  expect(mid.weights[`api.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 0, [STANDBY]: 100 });
  expect(mid.replicaPromotedTag).toBe(true);
  const foLog = ch.faults.log();
  ch.faults.clearLog();

  const fb = (await world.client.workflow.execute('failback', { taskQueue, workflowId: `failback-${rb.name}`, args: [{ runbookRef: refOf(rb), reason: 'chaos: throttling', requestedBy: 'ic-chaos', options }] })) as FailbackResult;
  expect(fb.phase).toBe('completed');
  const after = await describeTopology(rb, world.moto.endpoint);
  expect(after.weights).toEqual(seeded.weights);
  expect(after.nodeGroups).toEqual(seeded.nodeGroups);
  expect(after.writer).toMatch(new RegExp(`^${onlyDatabase(rb).primary.identifier}\\.`));
  const fbLog = ch.faults.log();

  const foCounts = faultCounts(foLog);
  const fbCounts = faultCounts(fbLog);
  // The proxy really throttled about 30% of the calls (seeded PRNG), and only with throttling errors.
  for (const c of [foCounts, fbCounts]) {
    expect(c.total / c.requests).toBeGreaterThan(0.2);
    expect(c.total / c.requests).toBeLessThan(0.4);
  }
  expect([...new Set([...foLog, ...fbLog].filter((e) => e.injected).map((e) => e.injected))]).toEqual(['throttle']);
  const foRetries = await activityRetries([`failover-${rb.name}`, `failover-${rb.name}-promote`]);
  const fbRetries = await activityRetries([`failback-${rb.name}`, `failback-${rb.name}-switchover`]);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  for (const [name, log, counts, retries] of [
    ['failover', foLog, foCounts, foRetries],
    ['failback', fbLog, fbCounts, fbRetries],
  ] as const) {
    const t = throttleOutcomes(log);
    // Every throttle is accounted for: the SDK retried it, or it was the call's third throttle in a row.
    expect([name, t.unexplained]).toEqual([name, []]);
    expect([name, t.sdkRetried + t.exhausted]).toEqual([name, counts.total]);
    // Most throttles are retried by the SDK itself: at 30% a throttled request is its call's third attempt
    // only about 6.5% of the time (0.3^3 / (0.3 + 0.3^2 + 0.3^3)), so half is a lower bound with a wide margin.
    expect(t.sdkRetried).toBeGreaterThanOrEqual(Math.ceil(counts.total / 2));
    // Temporal retried activities exactly when some call was throttled on all three attempts (that call
    // failed its activity); with every other throttle absorbed by the SDK, no activity needed a retry.
    expect([name, sum(retries) > 0]).toEqual([name, t.exhausted > 0]);
    lines.push(`${name}: ${counts.total} of ${counts.requests} AWS calls throttled; retried by the SDK (next attempt of the same call seen): ${t.sdkRetried}; throttled on the last of 3 attempts: ${t.exhausted}; activity retries by Temporal: ${sum(retries)} ${JSON.stringify(retries)}`);
    for (const [op, n] of Object.entries(counts.byOperation).sort((a, b) => b[1] - a[1])) lines.push(`  ${op}: ${n}`);
  }
}, 600_000);
