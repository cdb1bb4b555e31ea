/**
 * Cancellation lane: a failover (8 points), a failback (7) and a drill (3 in its failover, 2 in its failback), each cancelled at
 * its step boundaries (an operator's cancel; for the drill, what a real failover's preemption does), against moto through the
 * worker process.
 * Every cancelled run ends consistent:
 * - nothing is left fenced that should take writes: a primary whose replica was not promoted carries no
 *   fence tag (after a promotion the old writer stays fenced, by design);
 * - traffic is where the run's record says it is, and the writer record names the writer;
 * - the run ended through its failure path as RunCancelled, its trail drained after `run.end` was
 *   recorded (its record carries the drained head: the audit anchor);
 * - a drill ends cancelled with the world back in its original topology, its node groups at their seeded sizes; cancelled
 *   during its failback (an operator's cancel while it holds the runbook), the failback runs to its end.
 * A replica lag held above 0 keeps a promotion in `wait-lag-zero` for the lanes that cancel there.
 */
import { RDS } from '@aws-sdk/client-rds';
import type { RunStatus, DrillResult } from '../../contracts/run';
import { FENCED_TAG } from '../../activities/dblifecycle';
import { describeTopology, onlyDatabase, refOf } from '../harness/fixtures';
import { DRILLS_ANY_TIME } from '../harness/drills';
import type { Runbook } from '../../runbooks/schema';
import { ChaosWorld, failedStatus, PRIMARY, report, STANDBY } from './world';

const world = new ChaosWorld();
const lines: string[] = [];
const options = { timeScale: 0.05 };

beforeAll(() => world.start(), 120_000);
afterAll(async () => {
  report('cancellation at step boundaries', lines);
  await world.stop();
});

/** Whether `identifier` in `region` carries drover's fence tag. */
async function fenced(region: string, identifier: string): Promise<boolean> {
  const rds = new RDS({ region, endpoint: world.moto.endpoint, credentials: { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' } });
  const db = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
  const tags = (await rds.listTagsForResource({ ResourceName: db?.DBInstanceArn })).TagList ?? [];
  return tags.some((t) => t.Key === FENCED_TAG);
}

/** The endpoint address of `identifier` in `region` (what the writer record must name when it is the writer). */
async function endpointOf(region: string, identifier: string): Promise<string | undefined> {
  const rds = new RDS({ region, endpoint: world.moto.endpoint, credentials: { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' } });
  return (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0]?.Endpoint?.Address;
}

/**
 * The consistency every cancelled run must leave: the writer (the target's instance if the run's record says it
 * was promoted, else the one that wrote before) is not fenced; traffic is where the record says; the trail was
 * drained. (moto keeps ReadReplicaSourceDBInstanceIdentifier after a promotion, so the record, not the emulator's
 * source field, says which instance writes.)
 */
async function expectConsistent(rb: Runbook, status: RunStatus, lane: string): Promise<void> {
  const db = onlyDatabase(rb);
  const topo = await describeTopology(rb, world.moto.endpoint);
  expect([lane, status.error?.type]).toEqual([lane, 'RunCancelled']);
  const toward = status.targetRegion;
  const away = toward === STANDBY ? PRIMARY : STANDBY;
  const idIn = (region: string) => (region === PRIMARY ? db.primary.identifier : db.replica.identifier);
  const switched = status.databases?.[0]?.promoted === true;
  const writer = { region: switched ? toward : away, identifier: idIn(switched ? toward : away) };
  expect([lane, writer.identifier, await fenced(writer.region, writer.identifier)]).toEqual([lane, writer.identifier, false]);
  // The writer record names the writer (a record left at a fenced writer refuses every write).
  expect([lane, topo.writer]).toEqual([lane, expect.any(String)]);
  expect([lane, topo.writer]).toEqual([lane, await endpointOf(writer.region, writer.identifier)]);
  // Traffic where the record says.
  const api = topo.weights[`api.${rb.dns.hostedZone}`];
  expect([lane, api]).toEqual([lane, { [toward]: status.trafficPercent, [away]: 100 - status.trafficPercent }]);
  // The trail drained after run.end was recorded (the anchor is the drained head).
  expect([lane, status.audit?.events]).toEqual([lane, expect.any(Number)]);
  lines.push(`${lane}: ${status.error?.type} at ${status.steps.find((s) => s.status === 'failed')?.id ?? '?'}; writer ${writer.identifier} (${switched ? 'promoted' : 'unchanged'}), not fenced; traffic ${status.trafficPercent}% ${toward}; ${status.audit?.events} audit events`);
}

/** Start a run, wait for `when`, cancel it, and return the record it failed with. */
async function cancelWhen(workflowType: string, workflowId: string, args: unknown[], taskQueue: string, when: { run: string; pred: (s: RunStatus) => boolean; what: string }): Promise<RunStatus> {
  const handle = await world.client.workflow.start(workflowType, { taskQueue, workflowId, args });
  await world.until(when.run, when.pred, when.what);
  await handle.cancel();
  return failedStatus<RunStatus>(handle.result());
}

const started = (id: string) => (s: RunStatus) => s.steps.some((x) => x.id === id && x.status !== 'pending');

describe('a failover cancelled at each step boundary ends consistent', () => {
  const points: Array<{ lane: string; child?: boolean; step: string; holdLag?: boolean }> = [
    { lane: 'preflight', step: 'preflight' },
    { lane: 'scale-compute', step: 'scale-compute' },
    { lane: 'promotion: fence', child: true, step: 'fence', holdLag: true },
    { lane: 'promotion: wait-lag-zero', child: true, step: 'wait-lag-zero', holdLag: true },
    { lane: 'promotion: promote', child: true, step: 'promote' },
    { lane: 'repoint-writer', step: 'repoint-writer' },
    { lane: 'traffic-10', step: 'traffic-10' },
    { lane: 'traffic-50', step: 'traffic-50' },
  ];
  test.each(points)('cancelled at $lane', async ({ lane, child, step, holdLag }) => {
    const { runbook: rb, taskQueue } = await world.seed('ak-cx-fo', [[['approvals', 'gates'], []]]);
    world.worker(taskQueue, (await world.channel()).endpoint);
    const db = onlyDatabase(rb);
    if (holdLag) world.lag.set(db.replica.identifier, 5);
    const workflowId = `failover-${rb.name}`;
    const status = await cancelWhen('regionFailover', workflowId, [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: `chaos: cancel at ${lane}`, requestedBy: 'ic-chaos', options }], taskQueue, {
      run: child ? `${workflowId}-promote` : workflowId,
      pred: started(step),
      what: `${lane} to start`,
    });
    world.lag.delete(db.replica.identifier);
    await expectConsistent(rb, status, `failover ${lane}`);
  });
});

describe('a failback cancelled at each step boundary ends consistent', () => {
  const points: Array<{ lane: string; child?: boolean; step: string; holdLag?: string }> = [
    { lane: 'assess', step: 'assess' },
    { lane: 'protect-old-primary', step: 'protect-old-primary' },
    { lane: 'reestablish-replication', step: 'reestablish-replication' },
    { lane: 'scale-original', step: 'scale-original' },
    { lane: 'switchover: wait-lag-zero', child: true, step: 'wait-lag-zero', holdLag: 'primary' },
    { lane: 'traffic-back-10', step: 'traffic-back-10' },
    { lane: 'return-standby', step: 'return-standby' },
  ];
  test.each(points)('cancelled at $lane', async ({ lane, child, step, holdLag }) => {
    const { runbook: rb, taskQueue } = await world.seed('ak-cx-fb', [[['approvals', 'gates'], []]]);
    world.worker(taskQueue, (await world.channel()).endpoint);
    const db = onlyDatabase(rb);
    const fo = (await world.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: setup', requestedBy: 'ic-chaos', options }] })) as RunStatus;
    expect(fo.phase).toBe('completed');
    // The re-created replica in the original region is what the switchover waits on.
    if (holdLag) world.lag.set(db.primary.identifier, 5);
    const workflowId = `failback-${rb.name}`;
    const status = await cancelWhen('failback', workflowId, [{ runbookRef: refOf(rb), reason: `chaos: cancel at ${lane}`, requestedBy: 'ic-chaos', options }], taskQueue, {
      run: child ? `${workflowId}-switchover` : workflowId,
      pred: (s) => started(step)(s) && (!holdLag || s.steps.some((x) => x.id === 'wait-lag-zero' && x.status === 'running')),
      what: `${lane} to start`,
    });
    world.lag.delete(db.primary.identifier);
    await expectConsistent(rb, status, `failback ${lane}`);
  });
});

describe("a drill cancelled during its failback: the failback runs to its end (an operator's cancel while the drill holds the runbook), back in its original topology, node groups as seeded", () => {
  test.each([
    { lane: 'failback: scale-original', step: 'scale-original' },
    { lane: 'failback: return-standby', step: 'return-standby' },
  ])('cancelled at $lane', async ({ lane, step }) => {
    const { runbook: rb, taskQueue } = await world.seed('ak-cx-drfb', [
      [['approvals', 'gates'], []],
      DRILLS_ANY_TIME,
    ]);
    world.worker(taskQueue, (await world.channel()).endpoint);
    const db = onlyDatabase(rb);
    const seeded = await describeTopology(rb, world.moto.endpoint);
    const workflowId = `drill-${rb.name}`;
    const handle = await world.client.workflow.start('drill', { taskQueue, workflowId, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-chaos', options }] });
    await world.until(`${workflowId}-failback`, started(step), `${lane} to start`);
    await handle.cancel();
    const drill = await handle.result().then((r) => r as DrillResult, (e: unknown) => failedStatus<DrillResult>(Promise.reject(e)));

    expect([lane, drill.failback?.phase]).toEqual([lane, 'completed']);
    const topo = await describeTopology(rb, world.moto.endpoint);
    expect([lane, topo.weights]).toEqual([lane, seeded.weights]);
    expect([lane, topo.nodeGroups]).toEqual([lane, seeded.nodeGroups]);
    expect([lane, await fenced(PRIMARY, db.primary.identifier)]).toEqual([lane, false]);
    expect([lane, topo.writer]).toEqual([lane, await endpointOf(PRIMARY, db.primary.identifier)]);
    expect([lane, topo.replica.source]).toEqual([lane, expect.any(String)]);
    lines.push(`drill ${lane}: ${drill.phase}; failback ${drill.failback?.phase}`);
  });
});

describe('a drill cancelled during its failover ends cancelled, back in its original topology', () => {
  test.each([
    { lane: 'scale-compute', step: 'scale-compute' },
    { lane: 'promotion: wait-lag-zero', child: true, step: 'wait-lag-zero', holdLag: true },
    { lane: 'traffic-10', step: 'traffic-10' },
  ])('cancelled at $lane', async ({ lane, child, step, holdLag }) => {
    const { runbook: rb, taskQueue } = await world.seed('ak-cx-dr', [
      [['approvals', 'gates'], []],
      DRILLS_ANY_TIME,
    ]);
    world.worker(taskQueue, (await world.channel()).endpoint);
    const db = onlyDatabase(rb);
    const seeded = await describeTopology(rb, world.moto.endpoint);
    if (holdLag) world.lag.set(db.replica.identifier, 5);
    const workflowId = `drill-${rb.name}`;
    const handle = await world.client.workflow.start('drill', { taskQueue, workflowId, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-chaos', options }] });
    await world.until(child ? `${workflowId}-failover-promote` : `${workflowId}-failover`, started(step), `${lane} to start`);
    await handle.cancel();
    const drill = await failedStatus<DrillResult>(handle.result());
    world.lag.delete(db.replica.identifier);

    expect([lane, drill.phase]).toEqual([lane, 'cancelled']);
    const topo = await describeTopology(rb, world.moto.endpoint);
    expect([lane, topo.weights[`api.${rb.dns.hostedZone}`]]).toEqual([lane, { [PRIMARY]: 100, [STANDBY]: 0 }]);
    expect([lane, await fenced(PRIMARY, db.primary.identifier)]).toEqual([lane, false]);
    expect([lane, topo.replica.source]).toEqual([lane, expect.any(String)]);
    expect([lane, topo.writer]).toEqual([lane, expect.any(String)]);
    expect([lane, topo.writer]).toEqual([lane, await endpointOf(PRIMARY, db.primary.identifier)]);
    // The rollback returned the standby's node groups (a scale-up request still on its way would leave them raised).
    expect([lane, topo.nodeGroups]).toEqual([lane, seeded.nodeGroups]);
    lines.push(`drill ${lane}: ${drill.phase}; rollback ${JSON.stringify(drill.rollback ?? [])}${drill.failback ? `; failback ${drill.failback.phase}` : ''}`);
  });
});
