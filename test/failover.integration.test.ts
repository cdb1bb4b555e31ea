/**
 * Region failover end to end: the real Temporal dev server, the real moto server, drover's real
 * activities and CLI. No AWS client is mocked; the emulator's state is read back with the SDK.
 */
import fs from 'node:fs';
import { workerSinks } from '../cli/worker';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker, NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients, type AwsConfig } from '../aws/clients';
import { exec } from '../cli/main';
import { startLagFeeders, startRegionApps, type RegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import type { Runbook } from '../runbooks/schema';
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { approveUpdate } from '../contracts/messages';
import { captureIO, dbArn, deleteWriterRecord, describeTopology, emulatorConfig, eventually, onlyDatabase, prepareRunbook, refOf, setAlarm, testRunbooks, workflowBundle, writeRunbook } from './harness/fixtures';
import { startInterposer, type Interposer } from './harness/interpose';
import { startOwnMoto, testTemporalAddress } from './harness/servers';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';

let moto: MotoServer;
let interposer: Interposer;
let apps: RegionApps;
let client: Client;
let connection: Connection;
let nativeConnection: NativeConnection;
const savedEnv = { ...process.env };
let seq = 0;
const feeders: Array<{ stop(): void }> = [];

beforeAll(async () => {
  moto = await startOwnMoto();
  interposer = await startInterposer(moto.endpoint);
  apps = await startRegionApps([PRIMARY, STANDBY]);
  connection = await Connection.connect({ address: testTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
  client = new Client({ connection });
  await workflowBundle();
});

afterAll(async () => {
  process.env = savedEnv;
  for (const f of feeders) f.stop();
  await connection?.close();
  await nativeConnection?.close();
  await apps?.stop();
  await interposer?.stop();
  await moto?.stop();
});

afterEach(() => {
  apps.apps[STANDBY].setHealthy(true);
  interposer.disarm();
});

/** A seeded ApnaKart variant with names of its own, so its workflow id and resources are its own. */
async function seeded(set?: Array<[Array<string | number>, unknown]>): Promise<{ file: string; runbook: Runbook; taskQueue: string }> {
  const name = `ak-${process.pid}-${++seq}`;
  const { file, runbook } = writeRunbook({ name, unique: true, set, probeBases: { [PRIMARY]: apps.apps[PRIMARY].baseUrl, [STANDBY]: apps.apps[STANDBY].baseUrl } });
  await seedRunbook(runbook, emulatorConfig(moto.endpoint));
  // The replica is caught up: RDS would publish ReplicaLag 0 every minute.
  feeders.push(startLagFeeders({ endpoint: moto.endpoint, rb: runbook, lagSeconds: 0, everyMs: 300 }));
  return { file, runbook, taskQueue: `tq-${name}` };
}

async function withWorker<T>(taskQueue: string, config: AwsConfig, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({ sinks: workerSinks(),
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ aws: createAwsClients(config), temporal: () => client, runbooks: testRunbooks }),
  });
  return worker.runUntil(fn);
}

function input(rb: Runbook, mode: FailoverInput['mode'] = 'planned'): FailoverInput {
  return { runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'integration test', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
}

async function failureStatus(p: Promise<unknown>): Promise<RunStatus> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return (cause as ApplicationFailure).details?.[0] as RunStatus;
}

async function waitForStep(workflowId: string, pred: (s: RunStatus) => boolean, what: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  return eventually(async () => {
    const s = await handle.query<RunStatus>('status');
    return pred(s) ? s : undefined;
  }, what);
}

describe('region failover on Temporal and moto', () => {
  test('given a seeded ApnaKart, a planned failover approved through the CLI flips the weights, promotes the replica, scales compute and repoints the writer', async () => {
    const { file, runbook: rb, taskQueue } = await seeded();
    const before = await describeTopology(rb, moto.endpoint);
    expect(before.weights['api.' + rb.dns.hostedZone]).toEqual({ [PRIMARY]: 100, [STANDBY]: 0 });
    expect(before.replica.source).toBe(dbArn(PRIMARY, onlyDatabase(rb).primary.identifier));

    process.env.TEMPORAL_ADDRESS = testTemporalAddress();
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.DROVER_TASK_QUEUE = taskQueue;
    const io = captureIO();
    const approverIO = captureIO();
    const workflowId = `failover-${rb.name}`;

    const code = await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const run = exec(['failover', file, '--to', STANDBY, '--reason', 'Mumbai degraded', '--requested-by', 'ic-test', '--time-scale', '0.01'], io);
      await eventually(async () => {
        const d = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
        return d?.status.name === 'RUNNING' && (await client.workflow.getHandle(workflowId).query<RunStatus>('status')).pendingGate;
      }, 'the failover gate');
      expect(await exec(['approve', workflowId, '--gate', 'failover', '--as', 'ic-arjun', '--comment', 'go'], approverIO)).toBe(0);
      return run;
    });

    expect(io.stderr.join('\n')).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    expect(approverIO.stdout.join('\n')).toContain('approved gate failover as ic-arjun');

    const after = await describeTopology(rb, moto.endpoint);
    for (const r of rb.dns.records) {
      expect(after.weights[r.name]).toEqual(r.routing === 'weighted' ? { [PRIMARY]: 0, [STANDBY]: 100 } : { [PRIMARY]: 'SECONDARY', [STANDBY]: 'PRIMARY' });
    }
    expect(after.replicaPromotedTag).toBe(true);
    expect(after.writer).toBe(after.replica.endpoint);
    for (const c of rb.compute.clusters.filter((x) => x.region === STANDBY)) {
      for (const g of c.nodeGroups) expect(after.nodeGroups[`${STANDBY}/${c.name}/${g.name}`]).toBe(g.active);
    }

    // The timeline and the RTO come from recorded timestamps.
    const statusIO = captureIO();
    expect(await exec(['status', workflowId, '--json'], statusIO)).toBe(0);
    const status = JSON.parse(statusIO.stdout.join('\n')) as RunStatus;
    expect(status.phase).toBe('completed');
    // Planned: the promotion child fenced the primary and waited for lag 0.
    expect(status.rpo).toEqual(expect.objectContaining({ lagSeconds: 0, note: 'writes fenced and lag 0 before promotion: RPO 0' }));
    const verify = status.steps.find((s) => s.id === 'verify');
    expect(status.rto?.ms).toBe((verify?.endedAt ?? 0) - status.startedAt);
    expect(status.decisions).toEqual([expect.objectContaining({ gate: 'failover', approver: 'ic-arjun', decision: 'approved', comment: 'go' })]);
    expect(io.stdout.join('\n')).toMatch(/RTO: .* measured from trigger/);
    // Compute and database ran side by side: each started before the other ended.
    const scale = status.steps.find((s) => s.id === 'scale-compute');
    const promote = status.steps.find((s) => s.id === 'promote-database');
    expect(scale?.startedAt).toBeLessThanOrEqual(promote?.endedAt ?? 0);
    expect(promote?.startedAt).toBeLessThanOrEqual(scale?.endedAt ?? 0);

    // The audit trail: every step, the gate request and decision, run start and end, in one verified chain.
    expect(status.audit?.events).toBeGreaterThanOrEqual(status.steps.length + 4);
    const verified = captureIO();
    expect(await exec(['audit', 'verify', workflowId], verified)).toBe(0);
    expect(verified.stdout.slice(0, 2)).toEqual([`audit of ${workflowId} verified: ${status.audit?.events} events, head ${status.audit?.head}`, `  anchored in Temporal: run ${status.runId} (completed) recorded ${status.audit?.events} events ending at this head`]);
    const shown = captureIO();
    expect(await exec(['audit', 'show', workflowId], shown)).toBe(0);
    expect(shown.stdout.join('\n')).toContain('gate.approved');
    expect(shown.stdout.join('\n')).toContain('ic-arjun (unverified)');

    // Editing one event in the local copy breaks verification, naming that event.
    const trailFile = path.join(process.env.DROVER_AUDIT_DIR ?? '', rb.name, workflowId, `${status.runId}.jsonl`);
    const lines = fs.readFileSync(trailFile, 'utf8').trimEnd().split('\n');
    const third = JSON.parse(lines[2]);
    lines[2] = JSON.stringify({ ...third, detail: `${third.detail} (edited)` });
    fs.writeFileSync(trailFile, `${lines.join('\n')}\n`);
    const broken = captureIO();
    expect(await exec(['audit', 'verify', workflowId], broken)).toBe(1);
    expect(broken.stderr.join('\n')).toContain(`#3 ${third.action}`);
  });

  test('given a rejected approval, the run ends rejected and nothing after the gate changes', async () => {
    const { runbook: rb, taskQueue } = await seeded();
    const before = await describeTopology(rb, moto.endpoint);
    const workflowId = `failover-${rb.name}`;
    const status = await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      await waitForStep(workflowId, (s) => s.pendingGate?.name === 'failover', 'the failover gate');
      process.env.TEMPORAL_ADDRESS = testTemporalAddress();
      const io = captureIO();
      expect(await exec(['reject', workflowId, '--gate', 'failover', '--as', 'sre-meera', '--reason', 'primary recovered'], io)).toBe(0);
      return failureStatus(handle.result());
    });
    expect(status.phase).toBe('rejected');
    expect(status.error?.message).toContain('rejected by sre-meera: primary recovered');
    expect(status.steps.filter((s) => s.status === 'done').map((s) => s.id)).toEqual(['preempt-drills', 'preflight']);
    expect(await describeTopology(rb, moto.endpoint)).toEqual(before);
  });

  test('given an approver not in the runbook or a gate that is not pending, the approval is refused before it is recorded', async () => {
    const { runbook: rb, taskQueue } = await seeded();
    const workflowId = `failover-${rb.name}`;
    await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      await waitForStep(workflowId, (s) => s.pendingGate?.name === 'failover', 'the failover gate');
      process.env.TEMPORAL_ADDRESS = testTemporalAddress();
      const stranger = captureIO();
      expect(await exec(['approve', workflowId, '--gate', 'failover', '--as', 'mallory'], stranger)).toBe(3);
      expect(stranger.stderr.join('\n')).toContain('"mallory" is not an approver');
      const wrongGate = captureIO();
      expect(await exec(['approve', workflowId, '--gate', 'failback', '--as', 'ic-priya'], wrongGate)).toBe(3);
      expect(wrongGate.stderr.join('\n')).toContain('gate "failback" is not pending');
      const s = await handle.query<RunStatus>('status');
      expect(s.decisions).toEqual([]);
      await handle.terminate('test done');
    });
  });

  test('given an alarm firing during the 50% soak, traffic reverts to the last good weights and the run fails with the reason', async () => {
    const { runbook: rb, taskQueue } = await seeded();
    const workflowId = `failover-${rb.name}`;
    const alarm = rb.health.alarms[STANDBY][0];
    // The worker reaches moto through the interposer, which holds the Route 53 change to 50% until the
    // alarm is set: the 50% soak (1.2 s at this scale) starts with the alarm firing, however slow the machine.
    const status = await withWorker(taskQueue, emulatorConfig(interposer.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      const fired = interposer.intercept({
        what: 'the Route 53 change to 50%',
        match: async (req) => req.operation === 'ChangeResourceRecordSets' && (await handle.query<RunStatus>('status')).currentStep === 'traffic-50',
        before: () => setAlarm(moto.endpoint, STANDBY, alarm, 'ALARM'),
      });
      await waitForStep(workflowId, (s) => s.pendingGate !== undefined, 'the gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] });
      await fired.released;
      return failureStatus(handle.result());
    });
    expect(status.phase).toBe('failed');
    expect(status.error?.type).toBe('HealthBreach');
    expect(status.error?.message).toContain(`alarm ${alarm} is ALARM`);
    expect(status.error?.message).toContain('traffic reverted to 10%');
    expect(status.trafficPercent).toBe(10);
    const after = await describeTopology(rb, moto.endpoint);
    expect(after.weights['api.' + rb.dns.hostedZone]).toEqual({ [PRIMARY]: 90, [STANDBY]: 10 });
    expect(status.steps.find((s) => s.id === 'traffic-100')?.status).toBe('pending');
  });

  test('given a probe failing during soak, the breach names the probe and traffic reverts', async () => {
    const { runbook: rb, taskQueue } = await seeded([[['approvals', 'gates'], []]]);
    const workflowId = `failover-${rb.name}`;
    apps.apps[STANDBY].setHealthy(false);
    const status = await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      return failureStatus(handle.result());
    });
    expect(status.error?.message).toMatch(/probe api-health answered 503/);
    expect(status.steps.find((s) => s.id === 'gate:failover')?.status).toBe('skipped');
    expect((await describeTopology(rb, moto.endpoint)).weights['www.' + rb.dns.hostedZone]).toEqual({ [PRIMARY]: 100, [STANDBY]: 0 });
  });

  test('given a failover already running for a runbook, a second one is refused with a clear message', async () => {
    const { file, runbook: rb, taskQueue } = await seeded();
    const workflowId = `failover-${rb.name}`;
    await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      await waitForStep(workflowId, (s) => s.pendingGate !== undefined, 'the gate');
      process.env.TEMPORAL_ADDRESS = testTemporalAddress();
      process.env.DROVER_TASK_QUEUE = taskQueue;
      const io = captureIO();
      expect(await exec(['failover', file, '--to', STANDBY, '--reason', 'second attempt'], io)).toBe(3);
      expect(io.stderr.join('\n')).toContain(`a failover of ${rb.name} is running (${workflowId}); one run per runbook at a time, so this failover was not started`);
      await handle.terminate('test done');
    });
  });

  test('given the primary region unreachable, an unplanned failover completes without contacting it and records its RPO', async () => {
    const { runbook: rb, taskQueue } = await seeded([[['approvals', 'gates'], []]]);
    await prepareRunbook(rb, moto.endpoint);
    const workflowId = `failover-${rb.name}`;
    // A closed loopback port: every ap-south-1 call would fail to connect.
    const config = emulatorConfig(moto.endpoint, { [PRIMARY]: 'http://127.0.0.1:9' });
    const result = await withWorker(taskQueue, config, () => client.workflow.execute('regionFailover', { taskQueue, workflowId, args: [input(rb, 'unplanned')] }));
    const status = result as RunStatus;
    expect(status.phase).toBe('completed');
    expect(status.steps.find((s) => s.id === 'preflight')?.notes).toContain(`unplanned: primary region ${PRIMARY} not contacted (assumed lost)`);
    expect(status.rpo?.lagSeconds).toBe(2);
    const after = await describeTopology(rb, moto.endpoint);
    // Moved by the data plane (docs/region-loss.md): the weights stay, the primary's control withdraws its sets.
    expect(after.weights['api.' + rb.dns.hostedZone]).toEqual({ [PRIMARY]: 100, [STANDBY]: 0 });
    expect(status.dataPlane?.control.region).toBe(PRIMARY);
    expect(after.replicaPromotedTag).toBe(true);
  });

  test('given the same primary outage, a planned failover is refused at preflight, listing every failed check, and changes nothing', async () => {
    const { runbook: rb, taskQueue } = await seeded();
    await setAlarm(moto.endpoint, STANDBY, rb.health.alarms[STANDBY][1], 'ALARM');
    const before = await describeTopology(rb, moto.endpoint);
    const config = emulatorConfig(moto.endpoint, { [PRIMARY]: 'http://127.0.0.1:9' });
    const status = await withWorker(taskQueue, config, () => failureStatus(client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input(rb, 'planned')] })));
    expect(status.error?.type).toBe('PreflightFailed');
    expect(status.error?.message).toContain('primary database:');
    expect(status.error?.message).toContain(`target alarms: alarm ${rb.health.alarms[STANDBY][1]} in ${STANDBY} is ALARM`);
    expect(status.steps.find((s) => s.id === 'gate:failover')?.status).toBe('pending');
    expect(await describeTopology(rb, moto.endpoint)).toEqual(before);
  });

  test('given a target probe at a wrong URL (it answers 404), one that nobody answers and a writer record that does not exist, a failover is refused at preflight, before its gate, naming each (never a URL\'s query), and nothing changes', async () => {
    const wrong = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => wrong.listen(0, '127.0.0.1', resolve));
    const port = (wrong.address() as AddressInfo).port;
    // A port nothing listens on (a server's, closed): connection refused.
    const gone = http.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const closed = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    try {
      const { runbook: rb, taskQueue } = await seeded([[['health', 'probes', STANDBY], [{ name: 'api', url: `http://127.0.0.1:${port}/helth?key=probe-key-1` }, { name: 'web', url: `http://127.0.0.1:${closed}/health` }]]]);
      await deleteWriterRecord(rb, moto.endpoint);
      const before = await describeTopology(rb, moto.endpoint);
      const status = await withWorker(taskQueue, emulatorConfig(moto.endpoint), () => failureStatus(client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input(rb)] })));
      expect(status.error?.type).toBe('PreflightFailed');
      const problems = (status.error?.message ?? '').split('\n- ').slice(1).sort();
      const writer = onlyDatabase(rb).writerRecord.name;
      expect(problems).toEqual([
        `target probes: probe api (http://127.0.0.1:${port}/helth) in ${STANDBY} answered 404, expects 200: is the URL right?`,
        `target probes: probe web (http://127.0.0.1:${closed}/health) in ${STANDBY}: connect ECONNREFUSED 127.0.0.1:${closed}`,
        `writer record: ${writer} has no CNAME in zone ${rb.dns.hostedZone} (the application's writer endpoint; create it pointing at ${onlyDatabase(rb).primary.identifier})`,
      ]);
      expect(status.steps.find((s) => s.id === 'gate:failover')?.status).toBe('pending');
      expect(await describeTopology(rb, moto.endpoint)).toEqual(before);
    } finally {
      await new Promise((resolve) => wrong.close(resolve));
    }
  });

  test('given a standby whose service answers 503 (scaled down behind its load balancer), preflight passes with a note and the run waits at its gate', async () => {
    const { runbook: rb, taskQueue } = await seeded();
    apps.apps[STANDBY].setHealthy(false);
    const workflowId = `failover-${rb.name}`;
    const status = await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input(rb)] });
      const waiting = await waitForStep(workflowId, (s) => s.pendingGate?.name === 'failover', 'the failover gate');
      await handle.terminate('test: preflight seen');
      return waiting;
    });
    const notes = status.steps.find((s) => s.id === 'preflight')?.notes ?? [];
    expect(notes.filter((n) => n.startsWith('probe '))).toEqual(
      rb.health.probes[STANDBY].map((p) => `probe ${p.name} in ${STANDBY} answered 503, expects 200 (its service may be scaled down until the failover scales it up)`),
    );
    expect(status.steps.find((s) => s.id === 'preflight')?.status).toBe('done');
  });

  test('given two runs under one workflow id, drover report --run-id reports the one named (the latest without it); an unknown run id exits 4', async () => {
    const { runbook: rb, taskQueue } = await seeded([[['approvals', 'gates'], []]]);
    const workflowId = `failover-${rb.name}`;
    // Two quick runs that fail alike (a target that is not the standby region), one after the other.
    const runs = await withWorker(taskQueue, emulatorConfig(moto.endpoint), async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [{ ...input(rb), targetRegion: PRIMARY }] });
        await handle.result().catch(() => undefined);
        ids.push(handle.firstExecutionRunId);
      }
      return ids;
    });
    expect(runs[0]).not.toBe(runs[1]);
    process.env.TEMPORAL_ADDRESS = testTemporalAddress();
    const reportOf = async (args: string[]) => {
      const io = captureIO();
      const code = await exec(['report', workflowId, '--format', 'json', '--trend', '0', ...args], io);
      return { code, io };
    };
    const runIdOf = (io: ReturnType<typeof captureIO>) => (JSON.parse(io.stdout.join('\n')) as { report: { runId: string } }).report.runId;
    const first = await reportOf(['--run-id', runs[0]]);
    expect(first.code).toBe(0);
    expect(runIdOf(first.io)).toBe(runs[0]);
    const latest = await reportOf([]);
    expect(latest.code).toBe(0);
    expect(runIdOf(latest.io)).toBe(runs[1]);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const missing = await reportOf(['--run-id', unknown]);
    expect(missing.code).toBe(4);
    expect(missing.io.stderr[0]).toBe(`drover: no run ${unknown} of ${workflowId}`);
  });

  test('given a workflow started directly with a target that is not the standby region, the run fails through its usual end: every step not run, run.end in a drained trail, nothing changed', async () => {
    const { runbook: rb, taskQueue } = await seeded([[['approvals', 'gates'], []]]);
    const before = await describeTopology(rb, moto.endpoint);
    const status = await withWorker(taskQueue, emulatorConfig(moto.endpoint), () => failureStatus(client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ ...input(rb), targetRegion: PRIMARY }] })));
    expect(status.phase).toBe('failed');
    expect(status.error).toEqual({ type: 'Validation', message: `target region ${PRIMARY} is not the standby region ${STANDBY} of ${rb.name}` });
    expect(status.steps.filter((s) => s.status === 'done')).toEqual([]);
    // The trail ends with run.end and its head is in the record, so audit verify has its anchor.
    expect(status.audit?.events).toBeGreaterThanOrEqual(2);
    const verified = captureIO();
    process.env.TEMPORAL_ADDRESS = testTemporalAddress();
    expect(await exec(['audit', 'verify', `failover-${rb.name}`], verified)).toBe(0);
    expect(await describeTopology(rb, moto.endpoint)).toEqual(before);
  });
});
