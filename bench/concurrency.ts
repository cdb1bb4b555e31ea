/**
 * Benchmark (c), concurrency: 50 drills of 50 generated runbooks at once, on one `drover worker`
 * (the CLI worker as a child process, with a prebuilt workflow bundle), against one Temporal dev
 * server and one moto. Each run first runs one drill alone on the same stack (the baseline), then
 * starts all of them together. Reports the wall time, the worker's peak memory (VmHWM from /proc),
 * the slowest drill's extra time over the solo drill, and the CPU each process used.
 *
 *   npm run bench:concurrency [-- --runs 5 --drills 50 --time-scale 0.01]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatch, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { AwsConfig } from '../aws/clients';
import { pointProbesAt, startRegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { behindFidelityProxy, resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { databasesOf, dbIn } from '../runbooks/databases';
import { loadRunbookFile } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import type { DrillResult } from '../contracts/run';
import { arg, benchRef, cpuSeconds, drillReady, isMain, machine, median, pool, startWorkerProcess, uniqueVariant, writeWorkflowBundle, type WorkerProc } from './common';

const ROOT = path.join(__dirname, '..');
const CREDS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/**
 * One loop publishing ReplicaLag 0 for every database of every runbook (PutMetricData batches of 20
 * per region), instead of one feeder per instance. Failback re-creates instances under the same
 * identifiers, so the primary's name is fed in the primary region and the replica's in the standby.
 */
function startSharedLagFeeder(endpoint: string, runbooks: Runbook[], everyMs = 500): { stop(): void } {
  const byRegion = new Map<string, string[]>();
  for (const rb of runbooks) {
    for (const db of databasesOf(rb)) {
      for (const region of [rb.regions.primary, rb.regions.standby]) byRegion.set(region, [...(byRegion.get(region) ?? []), dbIn(rb, db, region)]);
    }
  }
  const clients = new Map([...byRegion.keys()].map((region) => [region, new CloudWatch({ region, endpoint, credentials: CREDS })]));
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = new Date();
      const puts: Array<Promise<unknown>> = [];
      for (const [region, ids] of byRegion) {
        for (let i = 0; i < ids.length; i += 20) {
          const data: MetricDatum[] = ids.slice(i, i + 20).map((id) => ({ MetricName: 'ReplicaLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }], Value: 0, Unit: 'Seconds', Timestamp: now }));
          puts.push(clients.get(region)?.putMetricData({ Namespace: 'AWS/RDS', MetricData: data }).catch(() => undefined) ?? Promise.resolve());
        }
      }
      await Promise.all(puts);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** `drover worker` as a child process (one node process: tsx is loaded with --import), sampled every 200 ms; ready when it prints its task queue. */
function startCliWorker(env: Record<string, string>): Promise<WorkerProc> {
  return startWorkerProcess(['cli/main.ts', 'worker'], { cwd: ROOT, env: { ...process.env, ...env }, ready: /drover worker on/, label: 'drover worker' });
}

interface DrillOutcome {
  id: string;
  ms: number;
  phase: string;
  /** Duration of every step of the failover and failback children (`failover:traffic-10`), ms. */
  steps: Record<string, number>;
}

function stepDurations(r: DrillResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, run] of [['failover', r.failover], ['failback', r.failback]] as const) {
    for (const s of run?.steps ?? []) if (s.startedAt && s.endedAt) out[`${kind}:${s.id}`] = s.endedAt - s.startedAt;
    if (run?.startedAt) out[`${kind}:(child start → first step)`] = Math.min(...(run.steps.map((s) => s.startedAt ?? Infinity))) - run.startedAt;
  }
  if (r.failover?.startedAt) out['drill:(start → failover child)'] = r.failover.startedAt - r.startedAt;
  if (r.failback?.startedAt && r.failover) out['drill:(failover end → failback child)'] = r.failback.startedAt - Math.max(...r.failover.steps.map((s) => s.endedAt ?? 0));
  return out;
}

async function runDrill(client: Client, taskQueue: string, rb: Runbook, workflowId: string, scale: number): Promise<DrillOutcome> {
  const started = Date.now();
  const handle = await client.workflow.start('drill', {
    workflowId,
    taskQueue,
    args: [{ runbookRef: benchRef(rb), trigger: 'manual', requestedBy: 'bench', reason: 'benchmark: concurrency', options: { timeScale: scale } }],
    memo: { runbook: rb.name },
  });
  try {
    const r = (await handle.result()) as DrillResult;
    return { id: workflowId, ms: (r.endedAt ?? Date.now()) - r.startedAt, phase: r.phase, steps: stepDurations(r) };
  } catch (e) {
    const detail = e instanceof WorkflowFailedError ? `${e.cause?.message ?? e.message}` : String(e);
    process.stderr.write(`drill ${workflowId} failed: ${detail.slice(0, 300)}\n`);
    return { id: workflowId, ms: Date.now() - started, phase: 'failed', steps: {} };
  }
}

interface RunMeasure {
  solo: number;
  wall: number;
  slowest: number;
  medianDrill: number;
  failed: number;
  peakBytes: number;
  seedMs: number;
  cpu: { worker: number; moto: number; temporal: number };
  /** Per step: the solo drill, the median drill under load, the slowest drill. */
  steps: Record<string, { solo: number; load: number; slowest: number }>;
}

export async function concurrencyBench(opts: { runs: number; drills: number; scale: number; log?: (line: string) => void }): Promise<string> {
  const { runs: RUNS, drills: N, scale: SCALE } = opts;
  const say = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-conc-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  // Behind the fidelity rules, as the tests' moto: drover reads a promotion as RDS answers it (moto keeps the source).
  const moto = await behindFidelityProxy(await startMoto());
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: CREDS };
  const loaded = loadRunbookFile(path.join(ROOT, 'runbooks/apnakart.yaml'));
  if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
  const base = drillReady(pointProbesAt(loaded.runbook, apps.apps));
  const solo = uniqueVariant(base, 'solo');
  const many = Array.from({ length: N }, (_, i) => uniqueVariant(base, `conc${String(i).padStart(2, '0')}`));
  const feeder = startSharedLagFeeder(moto.endpoint, [solo, ...many]);
  const bundleFile = await writeWorkflowBundle(dir);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const taskQueue = 'bench-concurrency';
  const runs: RunMeasure[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const seedStart = Date.now();
      await resetMoto(moto.endpoint);
      await pool([solo, ...many], 8, (rb) => seedRunbook(rb, config));
      const seedMs = Date.now() - seedStart;
      // A fresh worker per run, so VmHWM is this run's peak.
      const worker = await startCliWorker({ TEMPORAL_ADDRESS: temporal.address, AWS_ENDPOINT_URL: moto.endpoint, DROVER_TASK_QUEUE: taskQueue, DROVER_WORKFLOW_BUNDLE: bundleFile });
      try {
        const stamp = `${Date.now()}-${i}`;
        const alone = await runDrill(client, taskQueue, solo, `bench-solo-${stamp}`, SCALE);
        if (alone.phase !== 'completed') throw new Error(`the solo drill ended ${alone.phase}`);
        const cpu0 = { worker: cpuSeconds(worker.pid) ?? 0, moto: cpuSeconds(moto.pid) ?? 0, temporal: cpuSeconds(temporal.pid) ?? 0 };
        const t0 = Date.now();
        const outcomes = await Promise.all(many.map((rb) => runDrill(client, taskQueue, rb, `bench-drill-${rb.name}-${stamp}`, SCALE)));
        const wall = Date.now() - t0;
        const cpu = { worker: (cpuSeconds(worker.pid) ?? 0) - cpu0.worker, moto: (cpuSeconds(moto.pid) ?? 0) - cpu0.moto, temporal: (cpuSeconds(temporal.pid) ?? 0) - cpu0.temporal };
        const slowest = Math.max(...outcomes.map((o) => o.ms));
        const failed = outcomes.filter((o) => o.phase !== 'completed').length;
        const worst = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
        const steps: RunMeasure['steps'] = {};
        for (const id of Object.keys(alone.steps)) {
          steps[id] = { solo: alone.steps[id], load: median(outcomes.map((o) => o.steps[id]).filter((x): x is number => x !== undefined)), slowest: worst.steps[id] ?? NaN };
        }
        const m: RunMeasure = { solo: alone.ms, wall, slowest, medianDrill: median(outcomes.map((o) => o.ms)), failed, peakBytes: worker.peak(), seedMs, cpu, steps };
        runs.push(m);
        say(
          `concurrency run ${i + 1}/${RUNS}: solo ${m.solo} ms; ${N} drills: wall ${wall} ms, slowest ${slowest} ms (+${slowest - m.solo}), failed ${failed}, worker peak ${(m.peakBytes / 2 ** 20).toFixed(0)} MiB, CPU s worker ${cpu.worker.toFixed(1)} moto ${cpu.moto.toFixed(1)} temporal ${cpu.temporal.toFixed(1)}`,
        );
      } finally {
        await worker.stop();
      }
    }
  } finally {
    feeder.stop();
    await connection.close();
    await apps.stop();
    await moto.stop();
    await temporal.stop();
  }
  const med = (f: (r: RunMeasure) => number) => median(runs.map(f));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const lines = [
    `### (c) Concurrency — ${N} drills of ${N} generated runbooks at once, one worker, ${RUNS} runs, time scale ${SCALE} (medians)`,
    '',
    `Runbooks: apnakart.yaml with distinct names and resources (zone, records, database identifiers, clusters, alarms, security groups), drills enabled at any time with auto-approved gates, soak ${base.dns.shift.soak / 1000} s and health interval ${base.health.interval / 1000} s × ${SCALE}; all seeded into one moto (no injected latency), ReplicaLag 0 published for every database every 500 ms by one loop. Worker: \`drover worker\` as a child process (\`node --import tsx cli/main.ts worker\`, prebuilt bundle via DROVER_WORKFLOW_BUNDLE, default worker options), restarted for each run; peak memory is its VmHWM. Each run: reset and seed, one drill alone (baseline), then all ${N} started together.`,
    '',
    '| measure | median | min – max |',
    '|---|---:|---:|',
    `| solo drill (baseline, same stack) | ${s(med((r) => r.solo))} | ${s(Math.min(...runs.map((r) => r.solo)))} – ${s(Math.max(...runs.map((r) => r.solo)))} |`,
    `| **wall time, ${N} drills** (first start → last result) | **${s(med((r) => r.wall))}** | ${s(Math.min(...runs.map((r) => r.wall)))} – ${s(Math.max(...runs.map((r) => r.wall)))} |`,
    `| median drill under load | ${s(med((r) => r.medianDrill))} | ${s(Math.min(...runs.map((r) => r.medianDrill)))} – ${s(Math.max(...runs.map((r) => r.medianDrill)))} |`,
    `| slowest drill | ${s(med((r) => r.slowest))} | ${s(Math.min(...runs.map((r) => r.slowest)))} – ${s(Math.max(...runs.map((r) => r.slowest)))} |`,
    `| **slowest drill's extra time over the solo drill** | **${s(med((r) => r.slowest - r.solo))}** (×${med((r) => r.slowest / r.solo).toFixed(1)}) | ${s(Math.min(...runs.map((r) => r.slowest - r.solo)))} – ${s(Math.max(...runs.map((r) => r.slowest - r.solo)))} |`,
    `| **worker peak RSS (VmHWM)** | **${mib(med((r) => r.peakBytes))}** | ${mib(Math.min(...runs.map((r) => r.peakBytes)))} – ${mib(Math.max(...runs.map((r) => r.peakBytes)))} |`,
    `| drills not completed | ${med((r) => r.failed)} | ${Math.min(...runs.map((r) => r.failed))} – ${Math.max(...runs.map((r) => r.failed))} |`,
    `| CPU used during the ${N} drills: worker / moto / Temporal | ${med((r) => r.cpu.worker).toFixed(1)} / ${med((r) => r.cpu.moto).toFixed(1)} / ${med((r) => r.cpu.temporal).toFixed(1)} s | |`,
    `| reset + seed ${N + 1} runbooks (not timed above) | ${s(med((r) => r.seedMs))} | |`,
    '',
    'Where the extra time goes: each step of the drill\'s failover and failback children (ms, medians over runs).',
    '',
    '| step | solo | median drill under load | slowest drill |',
    '|---|---:|---:|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${Math.round(med((r) => r.steps[id]?.solo ?? NaN))} | ${Math.round(med((r) => r.steps[id]?.load ?? NaN))} | ${Math.round(med((r) => r.steps[id]?.slowest ?? NaN))} |`),
  ];
  return lines.join('\n');
}

if (isMain(module)) {
  concurrencyBench({ runs: arg('runs', 5), drills: arg('drills', 50), scale: arg('time-scale', 0.01) })
    .then((md) => process.stdout.write(`machine: ${machine()}\n\n${md}\n`))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
