/**
 * Database promotion and failback end to end on the real Temporal dev server and moto: fencing,
 * lag 0, RPO, the failover -> failback round trip, split brain, refusals and compensation.
 */
import { DescribeDBSnapshotsCommand, RDS } from '@aws-sdk/client-rds';
import { EC2 } from '@aws-sdk/client-ec2';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { exec } from '../cli/main';
import type { Runbook } from '../runbooks/schema';
import type { FailbackResult } from '../workflows/failback';
import { approveUpdate } from '../contracts/messages';
import type { PromoteResult } from '../workflows/promoteReplica';
import type { RunStatus } from '../contracts/run';
import { captureIO, dbArn, describeTopology, emulatorConfig, eventually, latestReplicaLag, onlyDatabase, prepareRunbook, refOf, setAlarm } from './harness/fixtures';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { startInterposer, type Interposer } from './harness/interpose';
import { testTemporalAddress } from './harness/servers';
import { waitFor } from './harness/wait';

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
/** Between the in-process worker and moto where a test needs to see or order the worker's AWS calls. */
let interposer: Interposer;

beforeAll(async () => {
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
});
afterEach(() => interposer.disarm());
afterAll(async () => {
  process.env = saved;
  await interposer?.stop();
  await env.stop();
});

function useCli(taskQueue: string): void {
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.DROVER_TASK_QUEUE = taskQueue;
}

async function securityGroupNames(_rb: Runbook, region: string, identifier: string): Promise<string[]> {
  const rds = new RDS({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  const ec2 = new EC2({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  const db = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
  const ids = (db?.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '');
  const groups = (await ec2.describeSecurityGroups({ GroupIds: ids })).SecurityGroups ?? [];
  return groups.map((g) => g.GroupName ?? '').sort();
}

async function failed(p: Promise<unknown>): Promise<RunStatus & { compensations?: string[] }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return ((err as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as RunStatus;
}

async function failover(rb: Runbook, taskQueue: string, mode: 'planned' | 'unplanned'): Promise<RunStatus> {
  const handle = await env.client.workflow.start('regionFailover', {
    taskQueue,
    workflowId: `failover-${rb.name}`,
    args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'test failover', requestedBy: 'ic-test', options: { timeScale: 0.005 } }],
  });
  await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate, 'the failover gate');
  await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] });
  return (await handle.result()) as RunStatus;
}

/** A runbook edit: no approval gates. */
const NO_GATES: [Array<string | number>, unknown] = [['approvals', 'gates'], []];

describe('promoteReplica', () => {
  test('given a replica lagging 30 s, a planned promotion fences the primary, waits for lag 0, then promotes and records RPO 0', async () => {
    // No gates: these tests are about the promotion itself (a standalone promotion's gate is tested with the approvals).
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-prom', [NO_GATES]);
    const db = onlyDatabase(rb);
    const replica = db.replica.identifier;
    env.lag.set(replica, 30);
    useCli(taskQueue);
    const io = captureIO();
    const result = await env.withWorker(
      taskQueue,
      async () => {
        const run = exec(['promote', file, '--to', STANDBY, '--mode', 'planned', '--reason', 'planned promotion test', '--json'], io);
        const handle = env.client.workflow.getHandle(`promote-${rb.name}`);
        await eventually(async () => (await handle.query<RunStatus>('status').catch(() => undefined))?.currentStep === 'wait-lag-zero', 'the lag wait');
        // Fenced, still lagging: nothing promoted yet, after the wait has read the replica's lag (30 s) twice more.
        expect(await securityGroupNames(rb, PRIMARY, db.primary.identifier)).toEqual([db.fence.groupName]);
        const mark = interposer.log().length;
        const lagReads = () => interposer.log().slice(mark).filter((r) => r.operation === 'GetMetricStatistics' && r.region === STANDBY && r.body.includes(replica) && r.status === 200);
        await waitFor(() => lagReads().length >= 2, { what: 'two ReplicaLag reads by the lag wait' });
        expect(interposer.log().filter((r) => r.operation === 'PromoteReadReplica' && r.body.includes(replica))).toEqual([]);
        expect((await describeTopology(rb, env.moto.endpoint)).replicaPromotedTag).toBe(false);
        env.lag.set(replica, 0);
        return run;
      },
      emulatorConfig(interposer.endpoint),
    );
    expect(result).toBe(0);
    const status = JSON.parse(io.stdout.join('\n')) as PromoteResult;
    expect(status.rpo).toEqual(expect.objectContaining({ lagSeconds: 0, note: 'writes fenced and lag 0 before promotion: RPO 0' }));
    expect(status.oldPrimary).toEqual(expect.objectContaining({ reachable: true, fenced: true }));
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.replicaPromotedTag).toBe(true);
    expect(after.writer).toBe(after.replica.endpoint);
    // The old primary stays fenced after a successful switchover: it must not take writes again.
    expect(await securityGroupNames(rb, PRIMARY, db.primary.identifier)).toEqual([db.fence.groupName]);
  });

  test('given a lag that never reaches 0, a planned promotion unfences the primary, promotes nothing, and says why', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-lag', [[['database', 'lagZeroTimeout'], '3s'], NO_GATES]);
    const db = onlyDatabase(rb);
    env.lag.set(db.replica.identifier, 45);
    const status = await env.withWorker(taskQueue, () =>
      failed(env.client.workflow.execute('promoteReplica', { taskQueue, workflowId: `promote-${rb.name}`, args: [{ runbookRef: refOf(rb), toRegion: STANDBY, mode: 'planned', reason: 'test', requestedBy: 'ic-test' }] })),
    );
    expect(status.error?.type).toBe('WaitTimedOut');
    expect(status.error?.message).toContain(`replica lag of ${db.replica.identifier} did not reach 0 within 3s`);
    expect(status.error?.message).toContain(`${db.primary.identifier} was unfenced and ${db.replica.identifier} was not promoted`);
    expect(await securityGroupNames(rb, PRIMARY, db.primary.identifier)).toEqual([db.securityGroupName]);
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.replicaPromotedTag).toBe(false);
    expect(after.replica.source).toBe(dbArn(PRIMARY, db.primary.identifier));
  });

  test('given the primary region unreachable, an unplanned promotion records the last observed lag as its RPO', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-unpl', [NO_GATES]);
    const db = onlyDatabase(rb);
    env.lag.set(db.replica.identifier, 7);
    // The promotion reads the last lag published: wait until the feeder has published 7.
    await waitFor(async () => (await latestReplicaLag(env.moto.endpoint, STANDBY, db.replica.identifier)) === 7, { what: 'ReplicaLag 7 published' });
    const result = (await env.withWorker(
      taskQueue,
      () => env.client.workflow.execute('promoteReplica', { taskQueue, workflowId: `promote-${rb.name}`, args: [{ runbookRef: refOf(rb), toRegion: STANDBY, mode: 'unplanned', reason: 'region down', requestedBy: 'ic-test' }] }),
      env.config({ [PRIMARY]: 'http://127.0.0.1:9' }),
    )) as PromoteResult;
    expect(result.phase).toBe('completed');
    expect(result.rpo?.lagSeconds).toBe(7);
    expect(result.rpo?.note).toMatch(/^unplanned: accepted the last observed ReplicaLag \(7s at .+\)$/);
    expect(result.oldPrimary.reachable).toBe('not-contacted');
    expect((await describeTopology(rb, env.moto.endpoint)).replicaPromotedTag).toBe(true);
  });
});

describe('ReplicaLag -1: replication not running (RDS User Guide, USER_ReadRepl)', () => {
  test('given a replica reporting ReplicaLag -1, a planned failover stops at preflight saying replication is not running, and changes nothing', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-lagneg', [NO_GATES]);
    const db = onlyDatabase(rb);
    env.lag.set(db.replica.identifier, -1);
    await waitFor(async () => (await latestReplicaLag(env.moto.endpoint, STANDBY, db.replica.identifier)) === -1, { what: 'ReplicaLag -1 published' });
    const before = await describeTopology(rb, env.moto.endpoint);
    const status = await env.withWorker(taskQueue, () =>
      failed(env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'test', requestedBy: 'ic-test' }] })),
    );
    expect(status.error?.message).toContain(`replica ${db.replica.identifier} reports ReplicaLag -1 at `);
    expect(status.error?.message).toContain(`replication from ${PRIMARY} is not running`);
    expect(await describeTopology(rb, env.moto.endpoint)).toEqual(before);
  });

  test('given the primary region unreachable and ReplicaLag -1, an unplanned promotion goes ahead and records its RPO as unknown, never as -1 s', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-unplneg', [NO_GATES]);
    const db = onlyDatabase(rb);
    env.lag.set(db.replica.identifier, -1);
    await waitFor(async () => (await latestReplicaLag(env.moto.endpoint, STANDBY, db.replica.identifier)) === -1, { what: 'ReplicaLag -1 published' });
    const workflowId = `promote-${rb.name}`;
    const result = (await env.withWorker(
      taskQueue,
      () => env.client.workflow.execute('promoteReplica', { taskQueue, workflowId, args: [{ runbookRef: refOf(rb), toRegion: STANDBY, mode: 'unplanned', reason: 'region down', requestedBy: 'ic-test' }] }),
      env.config({ [PRIMARY]: 'http://127.0.0.1:9' }),
    )) as PromoteResult;
    expect(result.phase).toBe('completed');
    expect(result.rpo?.note).toMatch(/^unplanned: ReplicaLag was -1 at .+ \(replication not running\); data loss window unknown$/);
    useCli(taskQueue);
    const io = captureIO();
    expect(await exec(['status', workflowId], io)).toBe(0);
    expect(io.stdout.find((l) => l.startsWith('RPO: '))).toMatch(/^RPO: unknown observed at /);
  });
});

describe("a parent run's status shows its children's waits", () => {
  test("drover status of a failover shows its promotion child's id and run, running step and wait (ReplicaLag not yet 0), not only the parent's step", async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-childwait', [NO_GATES, [['database', 'lagZeroTimeout'], '10m']]);
    const replica = onlyDatabase(rb).replica.identifier;
    env.lag.set(replica, 20);
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      const parentId = `failover-${rb.name}`;
      const childId = `${parentId}-promote`;
      const parent = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: parentId, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'child wait test', requestedBy: 'ic-test', options: { timeScale: 0.01 } }] });
      const child = env.client.workflow.getHandle(childId);
      await eventually(async () => (await child.query<RunStatus>('status').catch(() => undefined))?.currentStep === 'wait-lag-zero', 'the promotion child at its lag wait');
      // The child's heartbeat (what it waits for) reaches Temporal with its first poll.
      const shown = await eventually(async () => {
        const io = captureIO();
        expect(await exec(['status', parentId], io)).toBe(0);
        return io.stdout.some((l) => l.startsWith(`      … child ${childId}: waiting for`)) ? io.stdout : undefined;
      }, "the child's wait in the parent's status");
      const childRun = (await child.describe()).runId;
      const at = shown.findIndex((l) => l.includes(`child ${childId} (run`));
      expect(shown[at - 1]).toMatch(/^ {2}▶ Promote /);
      expect(shown.slice(at, at + 2)).toEqual([
        `      … child ${childId} (run ${childRun}): ▶ Wait for replica lag 0 on ${replica}`,
        expect.stringMatching(new RegExp(`^      … child ${childId}: waiting for ReplicaLag of ${replica} to reach 0: (lag 20s at \\S+|no datapoint yet)$`)),
      ]);
      await parent.terminate('test done');
    });
  });
});

describe('failback', () => {
  test('given a completed planned failover, failback returns the original roles, weights and capacities, and a second failover then works', async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-trip');
    const db = onlyDatabase(rb);
    const seededTopology = await describeTopology(rb, env.moto.endpoint);
    useCli(taskQueue);
    await env.withWorker(taskQueue, async () => {
      expect((await failover(rb, taskQueue, 'planned')).phase).toBe('completed');
      const io = captureIO();
      const run = exec(['failback', file, '--reason', 'Mumbai healthy again', '--time-scale', '0.005', '--json'], io);
      const handle = env.client.workflow.getHandle(`failback-${rb.name}`);
      await eventually(async () => (await handle.query<RunStatus>('status').catch(() => undefined))?.pendingGate, 'the failback gate');
      expect(await exec(['approve', `failback-${rb.name}`, '--gate', 'failback', '--as', 'sre-meera'], captureIO())).toBe(0);
      expect(await run).toBe(0);
      const result = JSON.parse(io.stdout.join('\n')) as FailbackResult;
      expect(result.topology.databases.map((d) => d.name)).toEqual([db.name]);
      const top = result.topology.databases.find((d) => d.name === db.name);
      expect(top?.writer).toEqual(expect.objectContaining({ region: PRIMARY, identifier: db.primary.identifier }));
      expect(top?.replica).toEqual(expect.objectContaining({ region: STANDBY, identifier: db.replica.identifier, source: top?.writer.arn }));
      expect(result.topology.retired.map((r) => r.identifier)).toEqual([db.primary.identifier, db.replica.identifier]);
      expect(result.rpo?.lagSeconds).toBe(0);

      const back = await describeTopology(rb, env.moto.endpoint);
      expect(back.weights).toEqual(seededTopology.weights);
      expect(back.nodeGroups).toEqual(seededTopology.nodeGroups);
      expect(back.replica.source).toBe(top?.writer.arn);
      expect(back.writer).toMatch(new RegExp(`^${db.primary.identifier}\\.`));

      // What it kept is what drover cleanup finds, each free to delete (the promoted replicas moto still lists are not replicas).
      const kept = captureIO();
      expect(await exec(['cleanup', file, '--older-than', '0s'], kept)).toBe(0);
      const retired = result.topology.retired.map((r) => r.retiredIdentifier);
      expect(kept.stdout.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(' ')[0])).toEqual([...retired].sort());
      expect(kept.stdout.filter((l) => l.startsWith('    '))).toEqual([
        expect.stringMatching(/^ {4}delete, after a final snapshot: retained \d+s ago, at least 0s \(--older-than\)$/),
        expect.stringMatching(/^ {4}delete, after a final snapshot: retained \d+s ago, at least 0s \(--older-than\)$/),
      ]);

      // The unchanged runbook works again: a second failover completes.
      const again = await failover(rb, taskQueue, 'planned');
      expect(again.phase).toBe('completed');
      expect((await describeTopology(rb, env.moto.endpoint)).weights[`api.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 0, [STANDBY]: 100 });
    });
  });

  test('given an unplanned failover that left the old primary writable, failback fences and snapshots it first (split brain)', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-split', [[['approvals', 'gates'], ['failover']]]);
    await prepareRunbook(rb, env.moto.endpoint);
    const db = onlyDatabase(rb);
    const result = await env.withWorker(taskQueue, async () => {
      expect((await failover(rb, taskQueue, 'unplanned')).phase).toBe('completed');
      return (await env.client.workflow.execute('failback', { taskQueue, workflowId: `failback-${rb.name}`, args: [{ runbookRef: refOf(rb), reason: 'split brain test', requestedBy: 'ic-test', options: { timeScale: 0.005 } }] })) as FailbackResult;
    });
    const assess = result.steps.find((s) => s.id === 'assess');
    expect(assess?.notes.join('\n')).toContain('STILL WRITABLE (split-brain risk)');
    const protect = result.steps.find((s) => s.id === 'protect-old-primary');
    expect(protect?.notes[0]).toMatch(/^fenced .*-> sg-/);
    const retiredPrimary = result.topology.retired[0];
    expect(retiredPrimary).toEqual(expect.objectContaining({ region: PRIMARY, identifier: db.primary.identifier, action: 'renamed' }));
    const rds = new RDS({ region: PRIMARY, endpoint: env.moto.endpoint, credentials: CREDS });
    const snaps = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: retiredPrimary.snapshot }));
    expect(snaps.DBSnapshots?.[0]?.DBInstanceIdentifier).toBe(db.primary.identifier);
    const kept = (await rds.describeDBInstances({ DBInstanceIdentifier: retiredPrimary.retiredIdentifier })).DBInstances?.[0];
    const tags = (await rds.listTagsForResource({ ResourceName: kept?.DBInstanceArn })).TagList ?? [];
    expect(tags.find((t) => t.Key === 'drover:retained')?.Value).toContain('split-brain forensics');
    expect(await securityGroupNames(rb, PRIMARY, retiredPrimary.retiredIdentifier ?? '')).toEqual([db.fence.groupName]);
  });

  test('given no completed failover, or another run active on the runbook, failback is refused', async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-refuse');
    useCli(taskQueue);
    const none = captureIO();
    expect(await exec(['failback', file, '--reason', 'nothing to fail back'], none)).toBe(3);
    expect(none.stderr.join('\n')).toContain(`${rb.name} has no failover to fail back from`);
    await env.withWorker(taskQueue, async () => {
      const handle = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'x', requestedBy: 'ic-test' }] });
      await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate, 'the gate');
      const busy = captureIO();
      expect(await exec(['failback', file, '--reason', 'while failing over'], busy)).toBe(3);
      expect(busy.stderr.join('\n')).toContain(`a failover of ${rb.name} is running (failover-${rb.name}); one run per runbook at a time, so this failback was not started`);
      await handle.terminate('test done');
    });
  });

  test('given an alarm in the original region during the switchback, traffic returns to the healthy standby and the compensation is recorded', async () => {
    const { runbook: rb, taskQueue } = await env.seeded('ak-comp', [[['approvals', 'gates'], ['failover']]]);
    const status = await env.withWorker(
      taskQueue,
      async () => {
        expect((await failover(rb, taskQueue, 'planned')).phase).toBe('completed');
        const handle = await env.client.workflow.start('failback', { taskQueue, workflowId: `failback-${rb.name}`, args: [{ runbookRef: refOf(rb), reason: 'compensation test', requestedBy: 'ic-test', options: { timeScale: 0.005 } }] });
        // The Route 53 change of the first switchback step is held until the alarm is set: that step's soak
        // (0.6 s at this scale) starts with the alarm firing, however slow the machine.
        const fired = interposer.intercept({
          what: 'the Route 53 change of traffic-back-10',
          match: async (req) => req.operation === 'ChangeResourceRecordSets' && (await handle.query<RunStatus>('status')).currentStep === 'traffic-back-10',
          before: () => setAlarm(env.moto.endpoint, PRIMARY, rb.health.alarms[PRIMARY][0], 'ALARM'),
        });
        await fired.released;
        return failed(handle.result());
      },
      emulatorConfig(interposer.endpoint),
    );
    expect(status.error?.type).toBe('HealthBreach');
    expect(status.compensations).toEqual(
      expect.arrayContaining([`undone: traffic back to 100% ${STANDBY}`, expect.stringMatching(/^database: the writer is .* in ap-south-1 \(promoted\)/)]),
    );
    // The original region was still at active capacity (a failover does not scale it down): nothing to undo there.
    expect(status.compensations?.some((c) => c.includes('back to standby capacity'))).toBe(false);
    const after = await describeTopology(rb, env.moto.endpoint);
    for (const r of rb.dns.records) {
      expect(after.weights[r.name]).toEqual(r.routing === 'weighted' ? { [PRIMARY]: 0, [STANDBY]: 100 } : { [PRIMARY]: 'SECONDARY', [STANDBY]: 'PRIMARY' });
    }
    expect(status.steps.find((s) => s.id === 'return-standby')?.status).toBe('pending');
  });
});

describe('drover failover --plan', () => {
  test('prints each step (weights per record, node group sizes, database actions, the gate and who approves) and an RTO estimate, read against the live state, and makes only reads', async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-plan');
    useCli(taskQueue);
    process.env.AWS_ENDPOINT_URL = interposer.endpoint;
    const mark = interposer.log().length;
    const io = captureIO();
    expect(await exec(['failover', file, '--to', STANDBY, '--plan'], io)).toBe(0);
    expect(io.stderr).toEqual([]);
    // Where it read, each said once, before the first call: the AWS endpoint it was given and the Temporal server.
    expect(io.notes).toEqual([`drover → AWS at ${interposer.endpoint} (AWS_ENDPOINT_URL)`, `drover → Temporal at ${testTemporalAddress()}, namespace default (plain text)`]);
    // Reads only: no change of records, sizes, instances or tags.
    expect([...new Set(interposer.log().slice(mark).map((r) => r.operation))].sort()).toEqual(['DescribeCluster', 'DescribeDBInstances', 'DescribeNodegroup', 'GetMetricStatistics', 'ListHostedZonesByName', 'ListResourceRecordSets', 'ListTagsForResource']);

    const zone = rb.dns.hostedZone;
    const db = onlyDatabase(rb);
    const cluster = `apnakart-singapore-${rb.name}`;
    const out = io.stdout;
    expect(out[0]).toBe(`plan: planned failover of ${rb.name} ${PRIMARY} -> ${STANDBY} (a plan only: nothing was changed)`);
    // What is in place now, as read.
    expect(out).toEqual(
      expect.arrayContaining([
        `  traffic: api.${zone} (weighted) ${PRIMARY} 100 / ${STANDBY} 0`,
        `  traffic: static.${zone} (failover) ${PRIMARY} 100 / ${STANDBY} 0`,
        `  compute: ${cluster} in ${STANDBY} is ACTIVE; general 2 nodes (ACTIVE), checkout 1 nodes (ACTIVE)`,
        `  writer record db.${zone} -> ${db.primary.identifier}.aaaaaaaaaa.${PRIMARY}.rds.amazonaws.com`,
      ]),
    );
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^  database main: ${db.replica.identifier} in ${STANDBY} is available, replica of ${db.primary.identifier}; ReplicaLag \\d+s at \\S+Z$`)));
    // The steps: the gate and who approves, sizes, the database's actions, weights per record at each step.
    const step = (title: string) => {
      const at = out.findIndex((l) => l.endsWith(title) || l.includes(`${title}  [`) || l.includes(`${title} (parallel`));
      const next = out.findIndex((l, i) => i > at && /^ {2}\d+\. /.test(l));
      return out.slice(at, next < 0 ? undefined : next);
    };
    expect(step('Approval: failover')).toEqual(['  3. Approval: failover', '       1 approval from: ic-priya, ic-arjun, sre-meera; not the requester', '       timeout 1h00m, then abort']);
    expect(step(`Scale ${STANDBY} compute to active capacity`)).toEqual([`  4. Scale ${STANDBY} compute to active capacity (parallel: act)`, `       ${cluster}/general: 2 -> 12 nodes (max 24)`, `       ${cluster}/checkout: 1 -> 6 nodes (max 12)`]);
    expect(step(`Promote replica ${db.replica.identifier}`)).toEqual([
      `  5. Promote replica ${db.replica.identifier} (parallel: act)`,
      `       main: fence writes on ${db.primary.identifier} (security group apnakart-db-fence), wait for ReplicaLag 0 (at most 30.0s), promote ${db.replica.identifier}`,
    ]);
    expect(step(`Shift traffic to 10% ${STANDBY}, then soak`)).toEqual([
      `  7. Shift traffic to 10% ${STANDBY}, then soak  [2m00s]`,
      `       api.${zone} (weighted) ${PRIMARY} 90 / ${STANDBY} 10`,
      `       www.${zone} (weighted) ${PRIMARY} 90 / ${STANDBY} 10`,
      `       static.${zone} (failover) ${PRIMARY} 100 / ${STANDBY} 0`,
      `       soak 2m00s: no alarm breaching and probes answering in ${STANDBY}`,
    ]);
    expect(step(`Shift traffic to 100% ${STANDBY}, then soak`)).toContain(`       static.${zone} (failover) ${PRIMARY} 0 / ${STANDBY} 100`);
    expect(out[out.length - 1]).toBe(
      'estimated RTO: 6m00s excluding approval waits (soaks only: no completed full-time failover of this runbook to measure the other steps on); not estimated: preempt-drills, preflight, scale-compute, promote-database, repoint-writer, verify',
    );

    // --json carries the same plan; an unplanned one promotes with the last lag seen and fences nothing.
    const json = captureIO();
    expect(await exec(['failover', file, '--to', STANDBY, '--plan', '--mode', 'unplanned', '--json'], json)).toBe(0);
    const plan = JSON.parse(json.stdout.join('\n')) as { mode: string; steps: Array<{ id: string; actions: string[] }>; estimate: { rtoMs: number } };
    expect(plan.mode).toBe('unplanned');
    expect(plan.steps.map((s) => s.id)).toEqual(['preempt-drills', 'preflight', 'gate:failover', 'scale-compute', 'promote-database', 'repoint-writer', 'traffic-10', 'traffic-50', 'traffic-100', 'verify']);
    expect(plan.steps[4].actions).toEqual([`main: promote ${db.replica.identifier} with the lag last observed (the primary region is not contacted)`]);
    expect(plan.estimate.rtoMs).toBe(360_000);
    expect([...new Set(interposer.log().slice(mark).map((r) => r.operation))].filter((op) => !/^(Describe|List|Get)/.test(op))).toEqual([]);
    // Still where it was.
    expect((await describeTopology(rb, env.moto.endpoint)).replicaPromotedTag).toBe(false);
  });

  test("after a completed full-time failover, the estimate adds that run's measured step times to the soaks, parallel steps once", async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-plan-measured', [NO_GATES, [['dns', 'shift', 'soak'], '1s']]);
    useCli(taskQueue);
    const done = (await env.withWorker(taskQueue, () =>
      env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'measure', requestedBy: 'ic-test' }] }),
    )) as RunStatus;
    expect(done.phase).toBe('completed');
    const took = (id: string) => {
      const s = done.steps.find((x) => x.id === id);
      return (s?.endedAt ?? 0) - (s?.startedAt ?? 0);
    };
    const io = captureIO();
    expect(await exec(['failover', file, '--to', STANDBY, '--plan', '--json'], io)).toBe(0);
    const plan = JSON.parse(io.stdout.join('\n')) as { steps: Array<{ id: string; estimateMs?: number; estimateSource?: string }>; estimate: { rtoMs: number; measuredOn?: string; unknown: string[] } };
    expect(plan.estimate.measuredOn).toBe(`failover-${rb.name} run ${done.runId}`);
    expect(plan.estimate.unknown).toEqual([]);
    const byId = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
    expect(byId.preflight).toMatchObject({ estimateMs: took('preflight'), estimateSource: 'measured' });
    expect(byId['gate:failover'].estimateMs).toBeUndefined();
    // Each traffic step: the larger of its soak (1 s) and what it took (shift plus soak).
    expect(byId['traffic-10']).toMatchObject({ estimateMs: Math.max(1000, took('traffic-10')) });
    const sequential = ['preempt-drills', 'preflight', 'repoint-writer', 'traffic-10', 'traffic-50', 'traffic-100', 'verify'].reduce((sum, id) => sum + (byId[id].estimateMs ?? 0), 0);
    expect(plan.estimate.rtoMs).toBe(sequential + Math.max(took('scale-compute'), took('promote-database')));
  });

  test("failback --plan after a failover: the old primary's protection and retention, replication, the gate, the switchover and the weights back, reads only", async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-plan-back', [NO_GATES]);
    useCli(taskQueue);
    const failover = (await env.withWorker(taskQueue, () =>
      env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'before a failback plan', requestedBy: 'ic-test', options: { timeScale: 0.01 } }] }),
    )) as RunStatus;
    expect(failover.phase).toBe('completed');
    process.env.AWS_ENDPOINT_URL = interposer.endpoint;
    const mark = interposer.log().length;
    const io = captureIO();
    expect(await exec(['failback', file, '--plan'], io)).toBe(0);
    expect([...new Set(interposer.log().slice(mark).map((r) => r.operation))].filter((op) => !/^(Describe|List|Get)/.test(op))).toEqual([]);
    const db = onlyDatabase(rb);
    const zone = rb.dns.hostedZone;
    const out = io.stdout;
    expect(out[0]).toBe(`plan: planned failback of ${rb.name} ${STANDBY} -> ${PRIMARY} (a plan only: nothing was changed)`);
    expect(out).toEqual(
      expect.arrayContaining([
        `  traffic: api.${zone} (weighted) ${PRIMARY} 0 / ${STANDBY} 100`,
        `  database main: writer ${db.replica.identifier} in ${STANDBY} is available, a writer (standalone); old primary ${db.primary.identifier} in ${PRIMARY} is available, a writer (standalone)`,
        '  1. Take the runbook (one run at a time; a running drill fails back first)',
        '  3. Fence, snapshot and retire the old primary',
        `       main: fence with apnakart-db-fence, final snapshot, then keep it renamed ${db.primary.identifier}-old-<time> (tagged; it keeps costing until deleted)`,
        `       main: ${db.primary.identifier} replicating from ${db.replica.identifier}, then lag within 30.0s`,
        '       skipped: gate failback is not in approvals.gates',
        `       api.${zone} (weighted) ${STANDBY} 90 / ${PRIMARY} 10`,
      ]),
    );
    expect(out[out.length - 1]).toMatch(/^estimated RTO: 6m00s excluding approval waits \(soaks only: no completed full-time failback of this runbook to measure the other steps on\); not estimated: take-runbook, assess, /);
  });

  test('a --to that is not the standby region is refused (exit 2) before anything is read', async () => {
    const { file } = await env.seeded('ak-plan-to');
    const io = captureIO();
    const mark = interposer.log().length;
    process.env.AWS_ENDPOINT_URL = interposer.endpoint;
    expect(await exec(['failover', file, '--to', PRIMARY, '--plan'], io)).toBe(2);
    expect(io.stderr[1]).toMatch(new RegExp(`^  --to: ${PRIMARY} is the primary region of ak-plan-to-\\d+-\\d+; failover goes to the standby region ${STANDBY}$`));
    expect(interposer.log().slice(mark)).toEqual([]);
  });
});
