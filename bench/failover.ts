/**
 * Benchmark: the demo failover (ApnaKart, planned, soak x0.05) end to end on a real Temporal dev
 * server and moto, N runs (default 5). Reports the median wall time per step and the orchestration
 * overhead: wall time minus the approval wait and minus the time covered by AWS calls or soak waits
 * (their union, so parallel calls and the soak's own alarm reads count once).
 *
 *   npm run bench:failover [-- --runs 5 --time-scale 0.05]
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients, type AwsCallRecord, type AwsConfig } from '../activities/aws/clients';
import { pointProbesAt, startLagFeeder, startRegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { quietRuntime } from '../cli/worker';
import { loadRunbookFile } from '../runbooks/load';
import { approveUpdate } from '../workflows/gates';
import type { RunStatus } from '../workflows/regionFailover';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 5);
const SCALE = arg('time-scale', 0.05);
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Total time covered by a set of intervals, counting overlaps (parallel calls) once. */
function unionMs(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [cs, ce] = sorted[0] ?? [0, 0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > ce) {
      total += ce - cs;
      [cs, ce] = [s, e];
    } else ce = Math.max(ce, e);
  }
  return total + (ce - cs);
}

export function machine(): string {
  const commit = (() => {
    try {
      return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      return 'unknown';
    }
  })();
  return `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}, commit ${commit}`;
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
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  // moto does not replicate: publish the replica's ReplicaLag (caught up), as RDS would.
  const feeder = startLagFeeder({ endpoint: moto.endpoint, region: rb.regions.standby, identifier: () => rb.database.replica.identifier, lagSeconds: () => 0 });
  let calls: AwsCallRecord[] = [];
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silent });
  const worker = await Worker.create({ connection, taskQueue: 'bench', workflowBundle, activities: createActivities({ aws: createAwsClients(config, (c) => calls.push(c)) }) });

  const runs: Array<{ wall: number; aws: number; soak: number; gate: number; overhead: number; steps: Record<string, number>; calls: number }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await resetMoto(moto.endpoint);
        await seedRunbook(rb, config);
        calls = [];
        const handle = await client.workflow.start('regionFailover', {
          taskQueue: 'bench',
          workflowId: `bench-failover-${i}`,
          args: [{ runbook: rb, targetRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark', requestedBy: 'bench', options: { timeScale: SCALE } }],
        });
        for (;;) {
          const s = await handle.query<RunStatus>('status');
          if (s.pendingGate) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: rb.approvals.approvers[0] }] });
        const result = (await handle.result()) as RunStatus;
        const wall = result.rto?.ms ?? 0;
        const start = result.startedAt;
        const end = start + wall;
        const awsIntervals = calls.filter((c) => c.startedAt >= start && c.startedAt <= end).map((c): [number, number] => [c.startedAt, c.startedAt + c.ms]);
        const aws = unionMs(awsIntervals);
        // Each traffic step ends with its soak; the soak's own alarm reads overlap it and count once.
        const soakMs = Math.round(rb.dns.shift.soak * SCALE);
        const soakIntervals = result.steps.filter((s) => s.id.startsWith('traffic-') && s.endedAt).map((s): [number, number] => [(s.endedAt ?? 0) - soakMs, s.endedAt ?? 0]);
        const soak = soakIntervals.length * soakMs;
        const gate = result.rto?.gateWaitMs ?? 0;
        const busy = unionMs([...awsIntervals, ...soakIntervals]);
        const steps = Object.fromEntries(result.steps.map((s) => [s.id, (s.endedAt ?? 0) - (s.startedAt ?? 0)]));
        runs.push({ wall, aws, soak, gate, overhead: wall - busy - gate, steps, calls: calls.length });
        process.stderr.write(`run ${i + 1}/${RUNS}: wall ${wall} ms, AWS ${Math.round(aws)} ms, overhead ${Math.round(wall - busy - gate)} ms\n`);
      }
    });
  } finally {
    feeder.stop();
    await connection.close();
    await apps.stop();
    await moto.stop();
    await temporal.stop();
  }

  const med = (f: (r: (typeof runs)[number]) => number) => Math.round(median(runs.map(f)));
  const lines = [
    `## bench:failover — ${RUNS} runs, soak x${SCALE} (median)`,
    '',
    `machine: ${machine()}`,
    '',
    '| step | median wall (ms) |',
    '|---|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${med((r) => r.steps[id])} |`),
    '',
    '| measure | median (ms) |',
    '|---|---:|',
    `| end-to-end wall time (trigger to verified) | ${med((r) => r.wall)} |`,
    `| inside AWS calls (overlaps counted once) | ${med((r) => r.aws)} |`,
    `| configured soak waits | ${med((r) => r.soak)} |`,
    `| approval wait (automatic approver) | ${med((r) => r.gate)} |`,
    `| **orchestration overhead** (wall − approval − time inside AWS calls or soaks, overlaps once) | **${med((r) => r.overhead)}** |`,
    `| AWS calls per run | ${med((r) => r.calls)} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
