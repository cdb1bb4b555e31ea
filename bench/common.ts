/** What the benchmarks share: a private Temporal + moto stack with ApnaKart seeded, and the statistics. */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients, type AwsCallRecord, type AwsConfig } from '../activities/aws/clients';
import { quietRuntime } from '../cli/worker';
import { pointProbesAt, startLagFeeder, startRegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { loadRunbookFile } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { approveUpdate } from '../workflows/gates';
import type { RunStatus } from '../workflows/status';

/** A numeric command-line option: `--runs 5`. */
export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The machine and commit the figures were measured on. */
export function machine(): string {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout
  }
  return `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}, commit ${commit}`;
}

export interface BenchStack {
  rb: Runbook;
  client: Client;
  worker: Worker;
  taskQueue: string;
  /** Reset the emulator and seed ApnaKart again: every run starts from the seeded topology. */
  reseed(): Promise<void>;
  stop(): Promise<void>;
}

/** Start Temporal, moto, the region apps and a worker; ReplicaLag 0 is published for both databases. */
export async function startBenchStack(record?: (call: AwsCallRecord) => void): Promise<BenchStack> {
  quietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  const moto = await startMoto();
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  const loaded = loadRunbookFile(path.join(__dirname, '../runbooks/apnakart.yaml'));
  if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
  const rb = pointProbesAt(loaded.runbook, apps.apps);
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  // moto does not replicate: publish ReplicaLag 0 for both database names, as RDS would.
  const feeders = [
    startLagFeeder({ endpoint: moto.endpoint, region: rb.regions.standby, identifier: () => rb.database.replica.identifier, lagSeconds: () => 0 }),
    startLagFeeder({ endpoint: moto.endpoint, region: rb.regions.primary, identifier: () => rb.database.primary.identifier, lagSeconds: () => 0 }),
  ];
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silent });
  const taskQueue = 'bench';
  const worker = await Worker.create({ connection, taskQueue, workflowBundle, activities: createActivities({ aws: createAwsClients(config, record) }) });
  return {
    rb,
    client,
    worker,
    taskQueue,
    reseed: async () => {
      await resetMoto(moto.endpoint);
      await seedRunbook(rb, config);
    },
    stop: async () => {
      feeders.forEach((f) => f.stop());
      await connection.close();
      await apps.stop();
      await moto.stop();
      await temporal.stop();
    },
  };
}

/** Approve the run's gate as soon as it is pending (an automatic approver), then wait for its result. */
export async function approveAndWait(handle: WorkflowHandle, gate: string, approver: string): Promise<RunStatus> {
  for (;;) {
    const s = await handle.query<RunStatus>('status');
    if (s.pendingGate?.name === gate) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await handle.executeUpdate(approveUpdate, { args: [{ gate, approver }] });
  return (await handle.result()) as RunStatus;
}
