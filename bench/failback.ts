/**
 * Benchmark: failback of the ApnaKart runbook after a planned failover, end to end on a real Temporal
 * dev server and moto, N runs (default 5); reports the median wall time of each failback step.
 *
 *   npm run bench:failback [-- --runs 5 --time-scale 0.05]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients, type AwsConfig } from '../activities/aws/clients';
import { quietRuntime } from '../cli/worker';
import { pointProbesAt, startLagFeeder, startRegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { loadRunbookFile } from '../runbooks/load';
import { approveUpdate } from '../workflows/gates';
import type { RunStatus } from '../workflows/status';
import { machine, median } from './failover';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 5);
const SCALE = arg('time-scale', 0.05);
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

/** Approve the run's gate as soon as it is pending, then wait for its result. */
async function approveAndWait(handle: WorkflowHandle, gate: string, approver: string): Promise<RunStatus> {
  for (;;) {
    const s = await handle.query<RunStatus>('status');
    if (s.pendingGate?.name === gate) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await handle.executeUpdate(approveUpdate, { args: [{ gate, approver }] });
  return (await handle.result()) as RunStatus;
}

async function main(): Promise<void> {
  quietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  const moto = await startMoto();
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  const loaded = loadRunbookFile(path.join(__dirname, '../runbooks/apnakart.yaml'));
  if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
  const rb = pointProbesAt(loaded.runbook, apps.apps);
  // moto does not replicate: publish ReplicaLag 0 for both database names, as RDS would.
  const feeders = [
    startLagFeeder({ endpoint: moto.endpoint, region: rb.regions.standby, identifier: () => rb.database.replica.identifier, lagSeconds: () => 0 }),
    startLagFeeder({ endpoint: moto.endpoint, region: rb.regions.primary, identifier: () => rb.database.primary.identifier, lagSeconds: () => 0 }),
  ];
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silent });
  const worker = await Worker.create({ connection, taskQueue: 'bench', workflowBundle, activities: createActivities({ aws: createAwsClients(config) }) });
  const approver = rb.approvals.approvers[0];
  const runs: Array<{ wall: number; steps: Record<string, number> }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await resetMoto(moto.endpoint);
        await seedRunbook(rb, config);
        const options = { timeScale: SCALE };
        const fo = await client.workflow.start('regionFailover', { taskQueue: 'bench', workflowId: `bench-failover-${i}`, args: [{ runbook: rb, targetRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark', requestedBy: 'bench', options }] });
        await approveAndWait(fo, 'failover', approver);
        const fb = await client.workflow.start('failback', { taskQueue: 'bench', workflowId: `bench-failback-${i}`, args: [{ runbook: rb, reason: 'benchmark', requestedBy: 'bench', options }] });
        const result = await approveAndWait(fb, 'failback', approver);
        const steps = Object.fromEntries(result.steps.map((s) => [s.id, (s.endedAt ?? 0) - (s.startedAt ?? 0)]));
        const wall = Math.max(...result.steps.map((s) => s.endedAt ?? 0)) - result.startedAt;
        runs.push({ wall, steps });
        process.stderr.write(`run ${i + 1}/${RUNS}: failback wall ${wall} ms\n`);
      }
    });
  } finally {
    feeders.forEach((f) => f.stop());
    await connection.close();
    await apps.stop();
    await moto.stop();
    await temporal.stop();
  }
  const med = (f: (r: (typeof runs)[number]) => number) => Math.round(median(runs.map(f)));
  const lines = [
    `machine: ${machine()}`,
    '',
    '| failback step | median wall (ms) |',
    '|---|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${med((r) => r.steps[id])} |`),
    `| **whole failback** | **${med((r) => r.wall)}** |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
