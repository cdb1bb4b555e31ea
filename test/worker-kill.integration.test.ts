/**
 * A worker process killed with SIGKILL in the middle of a failover, then restarted: the run
 * completes, and moto's own request recording shows each replica was promoted exactly once (one
 * database killed mid-soak; three databases killed while their promotion children wait for lag 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startLagFeeders } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { databasesOf } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import type { MotoServer } from '../infra/local/stack';
import type { RunStatus } from '../contracts/run';
import { exec } from '../cli/main';
import { captureIO, describeTopology, emulatorConfig, eventually, recordedActions, refOf, testRunbookDir, threeDatabases, workflowBundle, writeRunbook } from './harness/fixtures';
import { startOwnMoto, testTemporalAddress } from './harness/servers';

const ROOT = path.join(__dirname, '..');
let moto: MotoServer;
let connection: Connection;
let client: Client;
let bundleFile: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  moto = await startOwnMoto({ env: { MOTO_ENABLE_RECORDING: 'True' } });
  connection = await Connection.connect({ address: testTemporalAddress() });
  client = new Client({ connection });
  // Worker processes load a prebuilt bundle, as production workers do.
  bundleFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bundle-')), 'workflows.js');
  fs.writeFileSync(bundleFile, (await workflowBundle()).code);
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await connection?.close();
  await moto?.stop();
});

/** Record moto's requests afresh, start a worker process and a planned failover (no gate, soak at 1/40) on the runbook's own task queue. */
async function startFailover(rb: Runbook, reason: string) {
  await startRecordingAfresh();
  const taskQueue = `tq-${rb.name}`;
  const workflowId = `failover-${rb.name}`;
  const first = startWorkerProcess(taskQueue);
  const handle = await client.workflow.start('regionFailover', {
    taskQueue,
    workflowId,
    args: [{ runbookRef: refOf(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason, requestedBy: 'ic-test', options: { timeScale: 0.025 } }],
  });
  return { first, handle, taskQueue, workflowId };
}

/** SIGKILL the worker process, wait until it is gone, and start a new one on the same task queue. */
async function killAndRestart(worker: ChildProcess, taskQueue: string): Promise<void> {
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));
  expect(worker.signalCode).toBe('SIGKILL');
  startWorkerProcess(taskQueue);
}

/** Record only this test's requests (tests run in random order; each counts its own promotions). */
async function startRecordingAfresh(): Promise<void> {
  await fetch(`${moto.endpoint}/moto-api/recorder/reset-recording`, { method: 'POST' });
  await fetch(`${moto.endpoint}/moto-api/recorder/start-recording`, { method: 'POST' });
}

function startWorkerProcess(taskQueue: string): ChildProcess {
  // `node --import tsx`, not the tsx CLI: the CLI runs the worker as its own child, which SIGKILL would miss.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), 'worker'], {
    env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), AWS_ENDPOINT_URL: moto.endpoint, DROVER_TASK_QUEUE: taskQueue, DROVER_WORKFLOW_BUNDLE: bundleFile, DROVER_RUNBOOKS: testRunbookDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(child);
  return child;
}

test('given a worker killed with SIGKILL during the traffic shift and restarted, the failover completes, the replica is promoted exactly once, and the audit trail has no gap and no duplicate', async () => {
  const name = `ak-kill-${process.pid}`;
  const { runbook: rb } = writeRunbook({ name, unique: true, set: [[['approvals', 'gates'], []], [['health', 'probes'], {}]] });
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, lagSeconds: 0, everyMs: 300 });
  // A 2 min soak at 1/40 scale: 3 s per traffic step, long enough to kill the worker inside one.
  const { first, handle, taskQueue, workflowId } = await startFailover(rb, 'kill test');
  await eventually(async () => {
    const s = await handle.query<RunStatus>('status').catch(() => undefined);
    return s?.currentStep === 'traffic-10' && s.trafficPercent === 10;
  }, 'the 10% soak', 90_000);
  await killAndRestart(first, taskQueue);
  const result = (await handle.result()) as RunStatus;

  feeder.stop();
  expect(result.phase).toBe('completed');
  const actions = await recordedActions(moto.endpoint);
  expect(actions.filter((a) => a === 'PromoteReadReplica')).toHaveLength(1);
  const after = await describeTopology(rb, moto.endpoint);
  expect(after.weights[`api.${rb.dns.hostedZone}`]).toEqual({ 'ap-south-1': 0, 'ap-southeast-1': 100 });
  expect(after.writer).toBe(after.replica.endpoint);
  expect(Object.entries(after.nodeGroups).filter(([k]) => k.startsWith('ap-southeast-1/')).map(([, v]) => v)).toEqual([12, 6]);

  // Appends written before the kill are not written again, none is lost: the chain verifies from storage.
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  const verified = captureIO();
  expect(await exec(['audit', 'verify', workflowId], verified)).toBe(0);
  expect(verified.stdout.slice(0, 2)).toEqual([`audit of ${workflowId} verified: ${result.audit?.events} events, head ${result.audit?.head}`, `  anchored in Temporal: run ${result.runId} (completed) recorded ${result.audit?.events} events ending at this head`]);
  const exported = captureIO();
  expect(await exec(['audit', 'export', workflowId, '--format', 'json'], exported)).toBe(0);
  const seqs = (JSON.parse(exported.stdout.join('\n')) as { events: Array<{ seq: number }> }).events.map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}, 180_000);

test('given three databases and a worker killed with SIGKILL while their three promotion children wait for lag 0, the failover completes after a restart and each replica is promoted exactly once', async () => {
  const name = `ak-killdb-${process.pid}`;
  const { runbook: rb } = writeRunbook({ name, unique: true, set: [[['approvals', 'gates'], []], [['health', 'probes'], {}], ...threeDatabases(name)] });
  const dbs = databasesOf(rb);
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  // Lag 5 s (within the preflight bound): each child fences its primary, then waits for lag 0.
  let lag = 5;
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, regions: ['ap-southeast-1', 'ap-south-1'], lagSeconds: () => lag, everyMs: 300 });
  const { first, handle, taskQueue, workflowId } = await startFailover(rb, 'kill test, three databases');
  const children = dbs.map((d) => client.workflow.getHandle(`${workflowId}-promote-${d.name}`));
  await eventually(async () => {
    const steps = await Promise.all(children.map((c) => c.query<RunStatus>('status').then((s) => s.currentStep).catch(() => undefined)));
    return steps.every((s) => s === 'wait-lag-zero');
  }, 'all three promotion children at wait-lag-zero', 90_000);
  lag = 0;
  await killAndRestart(first, taskQueue);
  const result = (await handle.result()) as RunStatus;
  feeder.stop();

  expect(result.phase).toBe('completed');
  expect(result.databases?.map((d) => [d.name, d.promoted, d.rpo?.lagSeconds])).toEqual(dbs.map((d) => [d.name, true, 0]));
  const actions = await recordedActions(moto.endpoint);
  expect(actions.filter((a) => a === 'PromoteReadReplica')).toHaveLength(3);
  for (const d of dbs) {
    const after = await describeTopology(rb, moto.endpoint, d.name);
    expect(after.replicaPromotedTag).toBe(true);
    expect(after.writer).toBe(after.replica.endpoint);
  }
}, 180_000);
