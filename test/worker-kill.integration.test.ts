/**
 * A worker process killed with SIGKILL while the promotion activity is in flight, then restarted: the
 * replica's PromoteReadReplica has landed, and so has drover's promotion tag, but the answer to the tag
 * never reaches the worker, so Temporal has no completion for the activity and runs it again on the new
 * worker. That retry is where a second promotion could happen. moto's own request recording shows each
 * replica promoted exactly once (one database; three databases whose three promotions are all in flight
 * at the kill), and the retried activity says it found the replica already promoted.
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
import type { PromoteResult } from '../workflows/promoteReplica';
import { exec } from '../cli/main';
import { startTap, type Tap, type TapEntry } from './chaos/tap';
import { captureIO, describeTopology, emulatorConfig, recordedActions, refOf, restartRecording, testRunbookDir, threeDatabases, workflowBundle, writeRunbook } from './harness/fixtures';
import { startOwnMoto, testTemporalAddress } from './harness/servers';
import { waitFor } from './harness/wait';

const ROOT = path.join(__dirname, '..');
let moto: MotoServer;
let connection: Connection;
let client: Client;
let bundleFile: string;
const workers: ChildProcess[] = [];
const taps: Tap[] = [];

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
  await Promise.allSettled(taps.map((t) => t.stop()));
  await connection?.close();
  await moto?.stop();
  // The bundle is compiled source (fixture strings included), not a store a run wrote: gone before the secrets scan.
  if (bundleFile) fs.rmSync(path.dirname(bundleFile), { recursive: true, force: true });
});

/**
 * Record moto's requests afresh, put a tap between the worker and moto, start a worker process on it and
 * a planned failover (no gate) on the runbook's own task queue.
 */
async function startFailover(rb: Runbook, reason: string) {
  await restartRecording(moto.endpoint);
  const tap = await startTap({ target: moto.endpoint });
  taps.push(tap);
  const taskQueue = `tq-${rb.name}`;
  const workflowId = `failover-${rb.name}`;
  const first = startWorkerProcess(taskQueue, tap.endpoint);
  const handle = await client.workflow.start('regionFailover', {
    taskQueue,
    workflowId,
    args: [{ runbookRef: refOf(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason, requestedBy: 'ic-test', options: { timeScale: 0.025 } }],
  });
  return { first, handle, tap, taskQueue, workflowId };
}

/** SIGKILL the worker process, wait until it is gone, and start a new one on the same task queue. */
async function killAndRestart(worker: ChildProcess, taskQueue: string, awsEndpoint: string): Promise<void> {
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));
  expect(worker.signalCode).toBe('SIGKILL');
  startWorkerProcess(taskQueue, awsEndpoint);
}

function startWorkerProcess(taskQueue: string, awsEndpoint: string): ChildProcess {
  // `node --import tsx`, not the tsx CLI: the CLI runs the worker as its own child, which SIGKILL would miss.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), 'worker'], {
    env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), AWS_ENDPOINT_URL: awsEndpoint, DROVER_TASK_QUEUE: taskQueue, DROVER_WORKFLOW_BUNDLE: bundleFile, DROVER_RUNBOOKS: testRunbookDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(child);
  return child;
}

/** drover's promotion tag on `replica` (the last call of the promotion activity). */
const promotionTag = (replica: string) => (e: TapEntry) => e.operation === 'AddTagsToResource' && e.detail.includes('drover:promoted-at') && e.detail.includes(`:db:${replica}&`);

/**
 * Hold the answers to the promotion tags of `replicas` (the calls land in moto; the worker never hears
 * back), and resolve once every one has landed: the promotions are done in moto, and the activities that
 * made them are still running.
 */
async function promotionsInFlight(tap: Tap, replicas: string[]): Promise<TapEntry[]> {
  const held = await tap.hold({ label: 'promotion tags landed, answers withheld', mode: 'response', count: replicas.length, match: (e) => replicas.some((r) => promotionTag(r)(e)) });
  return waitFor(
    () => {
      const landed = tap.log().filter((e) => held.entries.some((h) => h.seq === e.seq) && e.status === 200);
      return landed.length === replicas.length ? landed : undefined;
    },
    { what: 'the held promotion tags to land in moto', timeoutMs: 30_000 },
  );
}

/** PromoteReadReplica requests moto received, by the instance each promoted. */
async function promotionsByInstance(tap: Tap): Promise<string[]> {
  return tap
    .log()
    .filter((e) => e.forwarded && e.operation === 'PromoteReadReplica')
    .map((e) => /DBInstanceIdentifier=([^&]+)/.exec(e.detail)?.[1] ?? '?')
    .sort();
}

test('given a worker killed with SIGKILL after PromoteReadReplica and the promotion tag landed but before the activity completed, the retried activity finds the replica promoted: one promotion, a completed failover, an audit trail with no gap and no duplicate', async () => {
  const name = `ak-kill-${process.pid}`;
  const { runbook: rb } = writeRunbook({ name, unique: true, set: [[['approvals', 'gates'], []], [['health', 'probes'], {}]] });
  const [db] = databasesOf(rb);
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, lagSeconds: 0, everyMs: 300 });
  const { first, handle, tap, taskQueue, workflowId } = await startFailover(rb, 'kill test');
  await promotionsInFlight(tap, [db.replica.identifier]);
  // The promotion is done in moto, and its activity has no completion: a retry that promoted again would show here.
  expect(await promotionsByInstance(tap)).toEqual([db.replica.identifier]);
  await killAndRestart(first, taskQueue, tap.endpoint);
  const result = (await handle.result()) as RunStatus;

  feeder.stop();
  expect(result.phase).toBe('completed');
  expect((await recordedActions(moto.endpoint)).filter((a) => a === 'PromoteReadReplica')).toEqual(['PromoteReadReplica']);
  expect(await promotionsByInstance(tap)).toEqual([db.replica.identifier]);
  // The activity ran again on the new worker, and found the promotion already made.
  const child = (await client.workflow.getHandle(`${workflowId}-promote`).result()) as PromoteResult;
  expect(child.steps.find((s) => s.id === 'promote')?.notes).toEqual([`${db.replica.identifier} was already standalone; not promoted again`]);
  const after = await describeTopology(rb, moto.endpoint);
  expect(after.replicaPromotedTag).toBe(true);
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
}, 300_000);

test('given three databases and a worker killed with SIGKILL while all three promotion activities are in flight (each promotion landed, none completed), the failover completes after a restart and each replica is promoted exactly once', async () => {
  const name = `ak-killdb-${process.pid}`;
  const { runbook: rb } = writeRunbook({ name, unique: true, set: [[['approvals', 'gates'], []], [['health', 'probes'], {}], ...threeDatabases(name)] });
  const dbs = databasesOf(rb);
  const replicas = dbs.map((d) => d.replica.identifier);
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, regions: ['ap-southeast-1', 'ap-south-1'], lagSeconds: 0, everyMs: 300 });
  const { first, handle, tap, taskQueue, workflowId } = await startFailover(rb, 'kill test, three databases');
  await promotionsInFlight(tap, replicas);
  expect(await promotionsByInstance(tap)).toEqual([...replicas].sort());
  await killAndRestart(first, taskQueue, tap.endpoint);
  const result = (await handle.result()) as RunStatus;
  feeder.stop();

  expect(result.phase).toBe('completed');
  expect(result.databases?.map((d) => [d.name, d.promoted, d.rpo?.lagSeconds])).toEqual(dbs.map((d) => [d.name, true, 0]));
  expect((await recordedActions(moto.endpoint)).filter((a) => a === 'PromoteReadReplica')).toEqual(['PromoteReadReplica', 'PromoteReadReplica', 'PromoteReadReplica']);
  expect(await promotionsByInstance(tap)).toEqual([...replicas].sort());
  for (const d of dbs) {
    const child = (await client.workflow.getHandle(`${workflowId}-promote-${d.name}`).result()) as PromoteResult;
    expect([d.name, child.steps.find((s) => s.id === 'promote')?.notes]).toEqual([d.name, [`${d.replica.identifier} was already standalone; not promoted again`]]);
    const after = await describeTopology(rb, moto.endpoint, d.name);
    expect(after.replicaPromotedTag).toBe(true);
    expect(after.writer).toBe(after.replica.endpoint);
  }
}, 300_000);

test('a worker process logs a run refused at preflight as one line naming the run and every problem, with no stack trace', async () => {
  const name = `ak-refused-${process.pid}`;
  // A probe on port 9 (one fetch refuses to use: "bad port"): the preflight refuses the failover before anything changes.
  const { runbook: rb } = writeRunbook({ name, unique: true, set: [[['approvals', 'gates'], []], [['health', 'probes', 'ap-southeast-1'], [{ name: 'api', url: 'http://127.0.0.1:9/health' }]]] });
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, lagSeconds: 0, everyMs: 300 });
  const taskQueue = `tq-${rb.name}`;
  const worker = startWorkerProcess(taskQueue, moto.endpoint);
  let stderr = '';
  worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'log test', requestedBy: 'ic-test' }] });
    await expect(handle.result()).rejects.toThrow();
    const lines = await waitFor(() => {
      const found = stderr.split('\n').filter((l) => l.includes(`failover-${rb.name}`));
      return found.some((l) => l.includes('Workflow failed')) ? found : undefined;
    }, { what: "the worker's log line for the refused run" });
    const runId = handle.firstExecutionRunId;
    expect(lines.filter((l) => l.includes('Workflow failed'))).toEqual([
      expect.stringMatching(new RegExp(String.raw`^\S+Z \[WARN\] Workflow failed: failover-${rb.name} \(regionFailover\) run ${runId}: PreflightFailed: preflight failed, nothing was changed: - target probes: probe api \(http://127\.0\.0\.1:9/health\) in ap-southeast-1: bad port$`)),
    ]);
    expect(stderr).not.toMatch(/^\s+at /m);
  } finally {
    feeder.stop();
    worker.kill('SIGTERM');
  }
});
