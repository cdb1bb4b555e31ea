/**
 * Benchmark (d), region loss: "the worst day is every application at once". N generated runbooks (default 50),
 * each with its own names, primary us-east-1 and standby us-west-2, seeded and prepared (drover prepare --apply:
 * the data-plane controls) before the clock starts; then us-east-1 is lost (the fault proxy's regionLoss: every
 * request signed for it, and Route 53's and IAM's control planes, blackholed) and N unplanned failovers start at
 * once on ONE worker whose AWS clients reach every region through that proxy.
 *
 * The worker is a separate process (this file run with `--worker-child`: cli/worker.ts's createWorker, as
 * `drover worker` builds it, over a prebuilt workflow bundle), restarted for each run, so its CPU (/proc/PID/stat)
 * and peak memory (VmHWM) are its own; the fault proxy, the fidelity proxy in front of moto, the lag feeders and the
 * Temporal client live in this process. Each run: reset moto, fresh names, seed and prepare N + 2 runbooks, a fresh
 * worker; one warm-up failover (not measured), one failover alone (the baseline), then the N together.
 *
 * Reports (medians over runs, and each run): wall time of the N against the solo failover, the requests addressed
 * to us-east-1 (must be 0: the bench fails otherwise), the worker's CPU and peak RSS, Temporal history events per
 * failover (the parent, its promotion child `<id>-promote`, and the runbook's lock workflow), and where a failover
 * spends its time and its calls: each step, AWS calls by operation (from the proxy's log), Temporal task waits.
 *
 *   npm run bench:region-loss [-- --runs 3 --runbooks 50 --time-scale 0.01 --lag-every-ms 10000 --warmup 1 --timeout-s 900]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { prepareControls } from '../activities/controls';
import { createAwsClients, type AwsConfig } from '../aws/clients';
import { createWorker, quietRuntime } from '../cli/worker';
import { lockWorkflowId } from '../contracts/lock';
import type { RunStatus } from '../contracts/run';
import { AWS_FIDELITY_RULES } from '../infra/faults/fidelity';
import { callsTo, regionLoss, startFaultProxy, type FaultProxy, type ProxyLogEntry } from '../infra/faults/proxy';
import { pointProbesAt, startLagFeeders, startRegionApps, type RegionApp } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { MemoryRunbookSource } from '../runbooks/source';
import type { FailoverInput } from '../workflows/regionFailover';
import { arg, benchRef, cpuSeconds, isMain, machine, median, pool, startWorkerProcess, uniqueVariant, writeWorkflowBundle, type WorkerProc } from './common';

const ROOT = path.join(__dirname, '..');
const CREDS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const PRIMARY = 'us-east-1';
const STANDBY = 'us-west-2';
const CHILD_FLAG = '--worker-child';
const READY = 'region-loss worker ready';

// ---------------------------------------------------------------------------------------------------------------
// The worker process.

/** What the worker process is told: where Temporal and the fault proxy are, its queue, bundle and runbooks. */
interface ChildSpec {
  temporal: string;
  /** The fault proxy: every region's endpoint. */
  endpoint: string;
  taskQueue: string;
  bundleFile: string;
  runbooks: Runbook[];
}

/** The one worker: `drover worker`'s createWorker, every region's AWS through the fault proxy, the runbooks held in memory. */
async function workerChild(specFile: string): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as ChildSpec;
  quietRuntime();
  const runbooks = new MemoryRunbookSource('bench-region-loss');
  for (const rb of spec.runbooks) runbooks.putRunbook(rb);
  // As awsConfigFromEnv makes it from AWS_ENDPOINT_URL (3 attempts; drover's AWS_TIMEOUTS).
  const aws: AwsConfig = { endpoint: spec.endpoint, credentials: CREDS, maxAttempts: 3 };
  const worker = await createWorker({ address: spec.temporal, taskQueue: spec.taskQueue, deps: { aws: createAwsClients(aws), runbooks }, workflowBundle: { codePath: spec.bundleFile } });
  process.once('SIGTERM', () => worker.shutdown());
  process.stderr.write(`${READY} on ${spec.taskQueue}\n`);
  await worker.run();
  await worker.close().catch(() => undefined);
}

/** This file as the worker process (`--worker-child SPEC`), ready when it says so. */
function startWorkerChild(specFile: string): Promise<WorkerProc> {
  return startWorkerProcess([__filename, CHILD_FLAG, specFile], { cwd: ROOT, env: process.env, ready: new RegExp(READY), label: 'the worker process' });
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements.

/** CPU seconds (user + system) a process has used so far (NaN once it is gone). */
const cpuOf = (pid: number): number => cpuSeconds(pid) ?? NaN;

/** CPU seconds every process on the machine has used so far (busy time of all CPUs, /proc/stat). */
function machineCpu(): number {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

/** This process's CPU seconds so far. */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}


/** ApnaKart moved to us-east-1 / us-west-2 as test/harness/fixtures.ts writeRunbook's `regions` rewrites its text, probes on the local apps, no approval gate. */
function virginiaApnaKart(apps: Record<string, RegionApp>): Runbook {
  const text = fs
    .readFileSync(path.join(ROOT, 'runbooks/apnakart.yaml'), 'utf8')
    // The standby's first: its name holds the primary's.
    .replaceAll('ap-southeast-1', '\u0000')
    .replaceAll('ap-south-1', PRIMARY)
    .replaceAll('\u0000', STANDBY);
  const parsed = parseRunbook(text);
  if (!parsed.ok) throw new Error(`apnakart.yaml in ${PRIMARY}/${STANDBY} is invalid: ${JSON.stringify(parsed.problems)}`);
  const rb = pointProbesAt(parsed.runbook, apps);
  return { ...rb, approvals: { ...rb.approvals, gates: [] } };
}

interface Outcome {
  id: string;
  /** Client-side: start call → result. */
  ms: number;
  resultAt: number;
  status?: RunStatus;
  /** The promotion child's record (`<id>-promote`). */
  child?: RunStatus;
  error?: string;
}

async function failover(client: Client, taskQueue: string, rb: Runbook, workflowId: string, scale: number): Promise<Outcome> {
  const t = performance.now();
  const input: FailoverInput = { runbookRef: benchRef(rb), targetRegion: STANDBY, mode: 'unplanned', reason: `bench: ${PRIMARY} lost`, requestedBy: 'bench', options: { timeScale: scale } };
  try {
    const handle = await client.workflow.start('regionFailover', { taskQueue, workflowId, args: [input], memo: { runbook: rb.name } });
    const status = (await handle.result()) as RunStatus;
    return { id: workflowId, ms: performance.now() - t, resultAt: Date.now(), status };
  } catch (e) {
    const detail = e instanceof WorkflowFailedError ? `${e.cause?.message ?? e.message}` : String(e);
    process.stderr.write(`failover ${workflowId} failed: ${detail.slice(0, 400)}\n`);
    return { id: workflowId, ms: performance.now() - t, resultAt: Date.now(), error: detail };
  }
}

/** The promotion child's record, once the parent has ended. */
async function withChild(client: Client, o: Outcome): Promise<Outcome> {
  const child = (await client.workflow
    .getHandle(`${o.id}-promote`)
    .result()
    .catch(() => undefined)) as RunStatus | undefined;
  return { ...o, child };
}

/** Each step's duration (workflow time), the promotion child's, and the gaps around them, ms. */
function stepTimes(o: Outcome, startedCallAt: number): Record<string, number> {
  const out: Record<string, number> = {};
  const s = o.status;
  if (!s) return out;
  const timed = s.steps.filter((x) => x.startedAt !== undefined && x.endedAt !== undefined);
  if (timed.length === 0) return out;
  out['(client start call → workflow start)'] = s.startedAt - startedCallAt;
  out['(workflow start → first step)'] = Math.min(...timed.map((x) => x.startedAt as number)) - s.startedAt;
  for (const x of timed) out[x.id] = (x.endedAt as number) - (x.startedAt as number);
  const c = o.child;
  if (c) {
    const ct = c.steps.filter((x) => x.startedAt !== undefined && x.endedAt !== undefined);
    const promoteStep = s.steps.find((x) => x.id === 'promote-database');
    if (promoteStep?.startedAt !== undefined) out['promote child: (parent step start → child start)'] = c.startedAt - promoteStep.startedAt;
    if (ct.length > 0) out['promote child: (child start → first step)'] = Math.min(...ct.map((x) => x.startedAt as number)) - c.startedAt;
    for (const x of ct) out[`promote child: ${x.id}`] = (x.endedAt as number) - (x.startedAt as number);
    const lastChild = Math.max(...ct.map((x) => x.endedAt as number));
    if (promoteStep?.endedAt !== undefined && ct.length > 0) out['promote child: (last child step end → parent step end)'] = promoteStep.endedAt - lastChild;
  }
  const verify = s.steps.find((x) => x.id === 'verify');
  if (s.rto) out['(workflow start → verify end: RTO)'] = s.rto.ms;
  if (verify?.endedAt !== undefined) out['(verify end → result at the client)'] = o.resultAt - verify.endedAt;
  out['(client: start call → result)'] = o.ms;
  return out;
}

interface HistoryFigures {
  events: number;
  byType: Record<string, number>;
  /** Activities scheduled, by type. */
  activities: Record<string, number>;
  /** Sum over activities of schedule → start (waiting for a worker slot and poll), ms. */
  activityWaitMs: number;
  /** Sum over workflow tasks of schedule → start, ms. */
  taskWaitMs: number;
  workflowTasks: number;
  /** Per activity type, summed over its executions: scheduled → closed (completed, failed, timed out), ms. */
  activityMs: Record<string, number>;
}

const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => (t ? Number(String(t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

async function historyOf(client: Client, workflowId: string): Promise<HistoryFigures | undefined> {
  let h;
  try {
    h = await client.workflow.getHandle(workflowId).fetchHistory();
  } catch {
    return undefined;
  }
  const out: HistoryFigures = { events: 0, byType: {}, activities: {}, activityWaitMs: 0, taskWaitMs: 0, workflowTasks: 0, activityMs: {} };
  const scheduled = new Map<string, number>();
  const typeOf = new Map<string, string>();
  for (const e of h.events ?? []) {
    out.events += 1;
    const type = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    out.byType[type] = (out.byType[type] ?? 0) + 1;
    const at = tsMs(e.eventTime);
    const a = e.activityTaskScheduledEventAttributes;
    if (a) {
      const name = a.activityType?.name ?? '?';
      out.activities[name] = (out.activities[name] ?? 0) + 1;
      typeOf.set(String(e.eventId), name);
    }
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    if (closed) {
      const name = typeOf.get(String(closed.scheduledEventId)) ?? '?';
      const from = scheduled.get(String(closed.scheduledEventId));
      if (from !== undefined) out.activityMs[name] = (out.activityMs[name] ?? 0) + Math.max(0, at - from);
    }
    if (a || e.workflowTaskScheduledEventAttributes) scheduled.set(String(e.eventId), at);
    const started = e.activityTaskStartedEventAttributes ?? e.workflowTaskStartedEventAttributes;
    if (started) {
      const from = scheduled.get(String(started.scheduledEventId));
      const wait = from === undefined ? 0 : Math.max(0, at - from);
      if (e.activityTaskStartedEventAttributes) out.activityWaitMs += wait;
      else {
        out.taskWaitMs += wait;
        out.workflowTasks += 1;
      }
    }
  }
  return out;
}

/** A failover's histories: the parent, its promotion child, and the runbook's lock (its runs are this failover's only). */
async function historiesOf(client: Client, o: Outcome, runbook: string): Promise<{ parent?: HistoryFigures; child?: HistoryFigures; lock?: HistoryFigures }> {
  const [parent, child, lock] = await Promise.all([historyOf(client, o.id), historyOf(client, `${o.id}-promote`), historyOf(client, lockWorkflowId(runbook))]);
  return { parent, child, lock };
}

/** Per activity type over a failover's histories (parent + child + lock): the solo's count and time, the median failover's time under load. */
function activityTable(solo: Awaited<ReturnType<typeof historiesOf>>, load: Array<Awaited<ReturnType<typeof historiesOf>>>): RunMeasure['activities'] {
  const parts = (h: Awaited<ReturnType<typeof historiesOf>>) => [h.parent, h.child, h.lock].filter((x): x is HistoryFigures => x !== undefined);
  const sum = (h: Awaited<ReturnType<typeof historiesOf>>, f: (x: HistoryFigures) => number | undefined) => parts(h).reduce((a, x) => a + (f(x) ?? 0), 0);
  const names = new Set([solo, ...load].flatMap((h) => parts(h).flatMap((x) => Object.keys(x.activities))));
  const out: RunMeasure['activities'] = {};
  for (const n of names) {
    out[n] = { count: sum(solo, (x) => x.activities[n]), solo: sum(solo, (x) => x.activityMs[n]), load: median(load.map((h) => sum(h, (x) => x.activityMs[n]))) };
  }
  return out;
}

/** Requests in a proxy log by `region service:Operation`. */
function byOperation(log: readonly ProxyLogEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of log) {
    const k = `${e.region} ${e.service}:${e.operation}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark.

interface RunMeasure {
  setupMs: number;
  warmup: number;
  solo: number;
  wall: number;
  medianFailover: number;
  slowest: number;
  failed: number;
  /** Requests addressed to us-east-1 (solo + the N; warm-up too). */
  usEast1: number;
  /** Requests through the fault proxy during the N. */
  requests: number;
  /** Requests reaching moto during the N (the fidelity proxy's log: the failovers' and the lag feeders'). */
  motoRequests: number;
  soloRequests: number;
  cpu: { worker: number; moto: number; temporal: number; bench: number; /** Every other process on the machine (another user's tests). */ others: number };
  /** CPU of worker + moto + Temporal + this process during the solo failover, s. */
  soloCpu: number;
  /** 1-minute load average when the N started and when they ended. */
  load: [number, number];
  peakBytes: number;
  hist: { parent: number[]; child: number[]; both: number[]; lock: number[]; soloParent: number; soloChild: number; soloLock: number };
  waits: { soloActivity: number; soloTask: number; loadActivity: number; loadTask: number; soloTasks: number };
  steps: Record<string, { solo: number; load: number; slowest: number }>;
  ops: Record<string, { solo: number; load: number }>;
  soloHistory: { parent?: HistoryFigures; child?: HistoryFigures; lock?: HistoryFigures };
  soloLog: ProxyLogEntry[];
  /** Per activity type (parent + child + lock): executions of the solo failover, its time (scheduled → closed, summed), the median failover's under load. */
  activities: Record<string, { count: number; solo: number; load: number }>;
  /** Whether DescribeDBInstances carries the instance's tags (TagList) after the solo's promotion, drover's tag among them. */
  tagListInDescribe: boolean;
}

export async function regionLossBench(opts: { runs: number; runbooks: number; scale: number; lagEveryMs: number; warmup: boolean; timeoutMs: number; log?: (line: string) => void }): Promise<{ markdown: string; failures: string[] }> {
  const { runs: RUNS, runbooks: N, scale: SCALE } = opts;
  const say = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-rl-'));
  const temporalServer = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  const moto = await startMoto();
  const apps = await startRegionApps([PRIMARY, STANDBY]);
  const base = virginiaApnaKart(apps.apps);
  const bundleFile = await writeWorkflowBundle(dir);
  const connection = await Connection.connect({ address: temporalServer.address });
  const client = new Client({ connection });
  const runs: RunMeasure[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      // Fresh names each run (Temporal keeps every runbook's lock workflow), fresh emulator state and proxies.
      const solo = uniqueVariant(base, `rl${i}-solo`);
      const warm = uniqueVariant(base, `rl${i}-warm`);
      const many = Array.from({ length: N }, (_, k) => uniqueVariant(base, `rl${i}-${String(k).padStart(2, '0')}`));
      const all = [warm, solo, ...many];
      for (const rb of all) if (JSON.stringify(JSON.parse(JSON.stringify(rb))) !== JSON.stringify(rb)) throw new Error(`${rb.name} does not survive JSON: the worker's runbook digest would differ`);
      const setupStart = Date.now();
      await resetMoto(moto.endpoint);
      // moto behind the fidelity rules (as the tests' and the other benches'), a new proxy per run so no rule keeps another run's state.
      const fidelity = await startFaultProxy({ target: moto.endpoint, fidelity: AWS_FIDELITY_RULES });
      const faults: FaultProxy = await startFaultProxy({ target: fidelity.endpoint });
      const peacetime: AwsConfig = { endpoint: fidelity.endpoint, credentials: CREDS, maxAttempts: 6 };
      const feeders: Array<{ stop(): void }> = [];
      let worker: WorkerProc | undefined;
      try {
        await pool(all, 8, (rb) => seedRunbook(rb, peacetime));
        // drover prepare --apply, in peacetime (Route 53's API answers): one client set, so Route 53 calls share drover's budget.
        const prep = createAwsClients(peacetime);
        await pool(all, 8, async (rb) => {
          // Route 53 refills CreateHealthCheck at 0.5 a second (the fidelity rules too): 2 per runbook outrun it, and
          // the SDK's retries may give up. drover prepare is idempotent: run again until it has nothing left to do.
          for (let attempt = 1; ; attempt++) {
            try {
              const out = await prepareControls(rb, { route53: prep.route53, cloudwatch: prep.cloudwatch, rds: prep.rds }, { apply: true });
              if (out.problems.length > 0) throw new Error(`drover prepare refused ${rb.name}: ${JSON.stringify(out.problems)}`);
              return;
            } catch (e) {
              if (attempt >= 20 || !/Throttling|Rate exceeded/.test(String((e as Error).name ?? '') + String((e as Error).message ?? ''))) throw e;
              await new Promise((r) => setTimeout(r, 5_000));
            }
          }
        });
        // ReplicaLag 0 for each replica (the standby's instance), as the tests publish it: moto does not replicate.
        for (const rb of all) feeders.push(startLagFeeders({ endpoint: fidelity.endpoint, rb, regions: [STANDBY], lagSeconds: 0, everyMs: opts.lagEveryMs }));
        const setupMs = Date.now() - setupStart;

        const taskQueue = `bench-region-loss-${i}`;
        const specFile = path.join(dir, `worker-${i}.json`);
        const spec: ChildSpec = { temporal: temporalServer.address, endpoint: faults.endpoint, taskQueue, bundleFile, runbooks: all };
        fs.writeFileSync(specFile, JSON.stringify(spec));
        worker = await startWorkerChild(specFile);

        // us-east-1 lost from here on.
        faults.setRules(regionLoss(PRIMARY));
        faults.clearLog();
        const stamp = `${Date.now().toString(36)}-${i}`;
        const deadline = <T>(p: Promise<T>, what: string) =>
          Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not end within ${opts.timeoutMs / 1000} s`)), opts.timeoutMs).unref())]);

        let warmupMs = NaN;
        let warmLog: ProxyLogEntry[] = [];
        if (opts.warmup) {
          const w = await deadline(failover(client, taskQueue, warm, `rl-warm-${stamp}`, SCALE), 'the warm-up failover');
          if (w.status?.phase !== 'completed') throw new Error(`the warm-up failover ended ${w.status?.phase ?? 'failed'}: ${w.error ?? ''}`);
          warmupMs = w.ms;
          warmLog = faults.log();
          faults.clearLog();
        }

        const soloCpu0 = cpuOf(worker.pid) + cpuOf(moto.pid) + cpuOf(temporalServer.pid) + ownCpu();
        const soloCallAt = Date.now();
        const alone = await withChild(client, await deadline(failover(client, taskQueue, solo, `rl-solo-${stamp}`, SCALE), 'the solo failover'));
        if (alone.status?.phase !== 'completed') throw new Error(`the solo failover ended ${alone.status?.phase ?? 'failed'}: ${alone.error ?? ''}`);
        const soloCpu = cpuOf(worker.pid) + cpuOf(moto.pid) + cpuOf(temporalServer.pid) + ownCpu() - soloCpu0;
        const soloLog = faults.log();
        faults.clearLog();
        // Straight to moto (not in the proxy's log): does DescribeDBInstances answer the tags drover reads with ListTagsForResource?
        const promoted = await createAwsClients(peacetime)
          .rds(STANDBY)
          .describeDBInstances({ DBInstanceIdentifier: solo.database?.replica.identifier ?? '' })
          .catch(() => undefined);
        const tagListInDescribe = (promoted?.DBInstances?.[0]?.TagList ?? []).some((t) => t.Key?.startsWith('drover:'));

        const cpu0 = { worker: cpuOf(worker.pid), moto: cpuOf(moto.pid), temporal: cpuOf(temporalServer.pid), bench: ownCpu(), all: machineCpu() };
        const load0 = os.loadavg()[0];
        fidelity.clearLog();
        const t0 = performance.now();
        const callAt = Date.now();
        const outcomes = await deadline(Promise.all(many.map((rb) => failover(client, taskQueue, rb, `rl-${rb.name}-${stamp}`, SCALE))), `the ${N} failovers`);
        const wall = performance.now() - t0;
        const ours = { worker: cpuOf(worker.pid) - cpu0.worker, moto: cpuOf(moto.pid) - cpu0.moto, temporal: cpuOf(temporalServer.pid) - cpu0.temporal, bench: ownCpu() - cpu0.bench };
        const cpu = { ...ours, others: Math.max(0, machineCpu() - cpu0.all - ours.worker - ours.moto - ours.temporal - ours.bench) };
        const load: [number, number] = [load0, os.loadavg()[0]];
        const peakBytes = worker.peak();
        const loadLog = faults.log();
        const motoRequests = fidelity.log().length;

        // Nothing may have reached the lost region: not one request, Route 53 and IAM included.
        const lost = callsTo([...warmLog, ...soloLog, ...loadLog], PRIMARY);
        if (lost.length > 0) failures.push(`run ${i + 1}: ${lost.length} requests addressed to ${PRIMARY}: ${[...new Set(lost.map((e) => `${e.service}:${e.operation}`))].join(', ')}`);

        const withChildren = await Promise.all(outcomes.map((o) => withChild(client, o)));
        const failed = withChildren.filter((o) => o.status?.phase !== 'completed');
        for (const o of failed) failures.push(`run ${i + 1}: ${o.id} ended ${o.status?.phase ?? 'failed'}: ${o.error ?? o.status?.error?.message ?? ''}`.slice(0, 400));
        const notDataPlane = withChildren.filter((o) => o.status && o.status.dataPlane?.mechanism !== 'route53-health-check-cloudwatch-metric');
        for (const o of notDataPlane) failures.push(`run ${i + 1}: ${o.id} did not move traffic through the data plane`);

        // Histories, after the clock: each failover's parent, promotion child and lock.
        const soloHistory = await historiesOf(client, alone, solo.name);
        const hists: Array<Awaited<ReturnType<typeof historiesOf>>> = [];
        await pool(
          withChildren.map((o, k) => ({ o, rb: many[k] })),
          8,
          async ({ o, rb }) => void hists.push(await historiesOf(client, o, rb.name)),
        );
        const ev = (f?: HistoryFigures) => f?.events ?? NaN;

        // Steps: the solo failover, the median failover under load, and the slowest failover.
        const soloSteps = stepTimes(alone, soloCallAt);
        const loadSteps = withChildren.map((o) => stepTimes(o, callAt));
        const worst = withChildren.reduce((a, b) => (b.ms > a.ms ? b : a));
        const worstSteps = stepTimes(worst, callAt);
        const steps: RunMeasure['steps'] = {};
        for (const id of new Set([...Object.keys(soloSteps), ...loadSteps.flatMap((s) => Object.keys(s))])) {
          const xs = loadSteps.map((s) => s[id]).filter((x): x is number => x !== undefined);
          steps[id] = { solo: soloSteps[id] ?? NaN, load: xs.length ? median(xs) : NaN, slowest: worstSteps[id] ?? NaN };
        }
        const soloOps = byOperation(soloLog);
        const loadOps = byOperation(loadLog);
        const ops: RunMeasure['ops'] = {};
        for (const k of new Set([...Object.keys(soloOps), ...Object.keys(loadOps)])) ops[k] = { solo: soloOps[k] ?? 0, load: (loadOps[k] ?? 0) / N };

        const m: RunMeasure = {
          setupMs,
          warmup: warmupMs,
          solo: alone.ms,
          wall,
          medianFailover: median(withChildren.map((o) => o.ms)),
          slowest: worst.ms,
          failed: failed.length,
          usEast1: lost.length,
          requests: loadLog.length,
          motoRequests,
          soloRequests: soloLog.length,
          cpu,
          soloCpu,
          load,
          peakBytes,
          hist: {
            parent: hists.map((h) => ev(h.parent)),
            child: hists.map((h) => ev(h.child)),
            both: hists.map((h) => ev(h.parent) + ev(h.child)),
            lock: hists.map((h) => ev(h.lock)),
            soloParent: ev(soloHistory.parent),
            soloChild: ev(soloHistory.child),
            soloLock: ev(soloHistory.lock),
          },
          waits: {
            soloActivity: (soloHistory.parent?.activityWaitMs ?? 0) + (soloHistory.child?.activityWaitMs ?? 0),
            soloTask: (soloHistory.parent?.taskWaitMs ?? 0) + (soloHistory.child?.taskWaitMs ?? 0),
            soloTasks: (soloHistory.parent?.workflowTasks ?? 0) + (soloHistory.child?.workflowTasks ?? 0),
            loadActivity: median(hists.map((h) => (h.parent?.activityWaitMs ?? 0) + (h.child?.activityWaitMs ?? 0))),
            loadTask: median(hists.map((h) => (h.parent?.taskWaitMs ?? 0) + (h.child?.taskWaitMs ?? 0))),
          },
          steps,
          ops,
          soloHistory,
          soloLog,
          activities: activityTable(soloHistory, hists),
          tagListInDescribe,
        };
        runs.push(m);
        fs.writeFileSync(path.join(dir, `run-${i + 1}.json`), JSON.stringify({ ...m, soloLog: undefined }, null, 1));
        say(
          `region-loss run ${i + 1}/${RUNS}: setup ${(setupMs / 1000).toFixed(0)} s; warm-up ${Math.round(warmupMs)} ms; solo ${Math.round(m.solo)} ms; ${N} failovers: wall ${Math.round(wall)} ms (x${(wall / m.solo).toFixed(1)}), median ${Math.round(m.medianFailover)} ms, slowest ${Math.round(m.slowest)} ms, failed ${m.failed}; to ${PRIMARY}: ${m.usEast1}; requests ${m.requests}; CPU s worker ${cpu.worker.toFixed(1)} moto ${cpu.moto.toFixed(1)} temporal ${cpu.temporal.toFixed(1)} bench ${cpu.bench.toFixed(1)} others ${cpu.others.toFixed(1)}; load ${load[0].toFixed(1)}→${load[1].toFixed(1)}; worker peak ${(peakBytes / 2 ** 20).toFixed(0)} MiB; events parent ${median(m.hist.parent)} child ${median(m.hist.child)} lock ${median(m.hist.lock)}`,
        );
      } finally {
        for (const f of feeders) f.stop();
        await worker?.stop();
        await faults.stop();
        await fidelity.stop();
      }
    }
  } finally {
    await connection.close();
    await apps.stop();
    await moto.stop();
    await temporalServer.stop();
  }
  const last = runs.at(-1);
  say(`per-run figures: ${dir}/run-*.json`);
  if (last) say(`the solo failover's AWS requests, last run (ms from its first request; ms each):\n${timeline(last.soloLog)}`);
  return { markdown: report(runs, { N, RUNS, SCALE, lagEveryMs: opts.lagEveryMs, warmup: opts.warmup, base }), failures };
}

function report(runs: RunMeasure[], o: { N: number; RUNS: number; SCALE: number; lagEveryMs: number; warmup: boolean; base: Runbook }): string {
  const { N } = o;
  const med = (f: (r: RunMeasure) => number) => median(runs.map(f));
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const row = (label: string, f: (r: RunMeasure) => number, fmt: (x: number) => string, bold = false) => {
    const m = fmt(med(f));
    return `| ${label} | ${bold ? `**${m}**` : m} | ${runs.map((r) => fmt(f(r))).join(' | ')} |`;
  };
  const int = (x: number) => String(Math.round(x));
  const medMax = (xs: (r: RunMeasure) => number[]) => (r: RunMeasure) => median(xs(r));
  const max = (xs: (r: RunMeasure) => number[]) => (r: RunMeasure) => Math.max(...xs(r));
  const runCols = runs.map((_, k) => `run ${k + 1}`).join(' | ');
  const runAlign = runs.map(() => '---:').join('|');
  const last = runs.at(-1);
  const lines = [
    `### (d) Region loss — ${N} unplanned failovers with ${PRIMARY} lost, one worker`,
    '',
    `machine: ${machine()}`,
    '',
    `${N} runbooks generated from apnakart.yaml with ${PRIMARY} primary and ${STANDBY} standby (the text rewritten as test/harness/fixtures.ts writeRunbook does), each with its own names (zone, records, database identifiers, security groups, clusters, alarms; bench/common uniqueVariant), no approval gate; seeded into one moto behind the fidelity rules and prepared (\`prepareControls(rb, …, { apply: true })\`: alarms, CLOUDWATCH_METRIC health checks, writer failover pairs) before the clock starts; ReplicaLag 0 published for each replica every ${o.lagEveryMs} ms (startLagFeeders, standby only). Then the fault proxy's \`regionLoss('${PRIMARY}')\` (every request signed for ${PRIMARY}, and Route 53's and IAM's control planes, blackholed) and ${N} \`regionFailover\` runs, mode unplanned, target ${STANDBY}, timeScale ${o.SCALE}, started together on ONE worker: a separate process (\`createWorker\` of cli/worker.ts, as \`drover worker\` builds it, default worker options, a prebuilt bundle), every region of its AWS clients pointed at the fault proxy, restarted each run. Each run: moto reset, fresh names, fresh proxies, ${o.warmup ? 'one warm-up failover on the fresh worker (not measured), then ' : ''}one failover alone (the baseline, same stack), then the ${N}. CPU: the worker process's user+system time from /proc/PID/stat during the ${N}; moto, Temporal and this bench process (fault proxy + fidelity proxy + lag feeders + client) alongside. Peak RSS: the worker's VmHWM.`,
    '',
    `| measure | median | ${runCols} |`,
    `|---|---:|${runAlign}|`,
    ...(o.warmup ? [row('first failover on the fresh worker (warm-up, not in the ratio)', (r) => r.warmup, s)] : []),
    row('one failover alone (baseline, same stack): start call → result', (r) => r.solo, s),
    row(`**wall time, ${N} failovers** (first start → last result)`, (r) => r.wall, s, true),
    row(`**wall(${N}) / solo**`, (r) => r.wall / r.solo, (x) => `×${x.toFixed(1)}`, true),
    row('median failover under load (start call → result)', (r) => r.medianFailover, s),
    row('slowest failover', (r) => r.slowest, s),
    row(`failovers not completed`, (r) => r.failed, int),
    row(`**requests addressed to ${PRIMARY}** (callsTo over the proxy log: warm-up + solo + ${N})`, (r) => r.usEast1, int, true),
    row(`requests through the fault proxy during the ${N} (per failover)`, (r) => r.requests, (x) => `${Math.round(x)} (${(x / N).toFixed(1)})`),
    row(`requests reaching moto during the ${N} (fidelity proxy: failovers' + lag feeders')`, (r) => r.motoRequests, int),
    row('requests of the solo failover', (r) => r.soloRequests, int),
    row(`**worker CPU during the ${N}** (separate process, /proc)`, (r) => r.cpu.worker, (x) => `${x.toFixed(1)} s`, true),
    `| CPU during the ${N}: moto / Temporal / bench process | ${med((r) => r.cpu.moto).toFixed(1)} / ${med((r) => r.cpu.temporal).toFixed(1)} / ${med((r) => r.cpu.bench).toFixed(1)} s | ${runs.map((r) => `${r.cpu.moto.toFixed(1)} / ${r.cpu.temporal.toFixed(1)} / ${r.cpu.bench.toFixed(1)}`).join(' | ')} |`,
    row('CPU per failover, worker + moto + Temporal + bench: solo', (r) => r.soloCpu, (x) => `${x.toFixed(2)} s`),
    row(`↳ under load (the ${N}'s / ${N})`, (r) => (r.cpu.worker + r.cpu.moto + r.cpu.temporal + r.cpu.bench) / N, (x) => `${x.toFixed(2)} s`),
    row(`CPU used by every other process on the machine during the ${N} (/proc/stat busy − the above)`, (r) => r.cpu.others, (x) => `${x.toFixed(1)} s`),
    `| 1-min load average at the start → end of the ${N} | ${med((r) => r.load[0]).toFixed(1)} → ${med((r) => r.load[1]).toFixed(1)} | ${runs.map((r) => `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`).join(' | ')} |`,
    row('**worker peak RSS** (VmHWM)', (r) => r.peakBytes, mib, true),
    row('history events per failover, parent `regionFailover`: median', medMax((r) => r.hist.parent), int),
    row('↳ max', max((r) => r.hist.parent), int),
    row('history events, promotion child `<id>-promote`: median', medMax((r) => r.hist.child), int),
    row('↳ max', max((r) => r.hist.child), int),
    row('**history events, parent + child: median**', medMax((r) => r.hist.both), int, true),
    row('↳ max', max((r) => r.hist.both), int),
    row("history events, the runbook's lock workflow (`runbookLock`, one per runbook): median", medMax((r) => r.hist.lock), int),
    `| history events of the solo failover: parent / child / lock | ${med((r) => r.hist.soloParent)} / ${med((r) => r.hist.soloChild)} / ${med((r) => r.hist.soloLock)} | ${runs.map((r) => `${r.hist.soloParent} / ${r.hist.soloChild} / ${r.hist.soloLock}`).join(' | ')} |`,
    row('Temporal waits per failover (parent + child), solo: activity schedule → start', (r) => r.waits.soloActivity, (x) => `${Math.round(x)} ms`),
    row(`↳ under load (median failover)`, (r) => r.waits.loadActivity, (x) => `${Math.round(x)} ms`),
    row('Temporal waits per failover, solo: workflow task schedule → start', (r) => r.waits.soloTask, (x) => `${Math.round(x)} ms`),
    row(`↳ under load (median failover)`, (r) => r.waits.loadTask, (x) => `${Math.round(x)} ms`),
    row(`reset + seed + prepare ${N + (o.warmup ? 2 : 1)} runbooks (not timed above)`, (r) => r.setupMs, (x) => `${(x / 1000).toFixed(0)} s`),
  ];
  lines.push(
    '',
    `Where a failover's time goes: each step (workflow time, ms; medians over runs). The database step runs the promotion child; its steps are listed as "promote child:".`,
    '',
    '| step | solo | median failover under load | slowest failover |',
    '|---|---:|---:|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${Math.round(med((r) => r.steps[id]?.solo ?? NaN))} | ${Math.round(med((r) => r.steps[id]?.load ?? NaN))} | ${Math.round(med((r) => r.steps[id]?.slowest ?? NaN))} |`),
    '',
    `AWS requests per failover by region and operation (the fault proxy's log; medians over runs): the solo failover, and the ${N}'s total / ${N}.`,
    '',
    '| region service:operation | solo | under load, per failover |',
    '|---|---:|---:|',
    ...Object.keys(Object.assign({}, ...runs.map((r) => r.ops)) as Record<string, unknown>)
      .sort((a, b) => med((r) => r.ops[b]?.solo ?? 0) - med((r) => r.ops[a]?.solo ?? 0) || a.localeCompare(b))
      .map((k) => `| ${k} | ${med((r) => r.ops[k]?.solo ?? 0)} | ${med((r) => r.ops[k]?.load ?? 0).toFixed(1)} |`),
  );
  const actNames = Object.keys(runs[0]?.activities ?? {}).sort((a, b) => med((r) => r.activities[b]?.solo ?? 0) - med((r) => r.activities[a]?.solo ?? 0));
  lines.push(
    '',
    `Activities per failover (parent + promotion child + lock), by type: executions, and time from scheduled to closed summed over them (includes the wait for a worker slot; parallel ones overlap), ms, medians over runs.`,
    '',
    '| activity | executions (solo) | solo | median failover under load |',
    '|---|---:|---:|---:|',
    ...actNames.map((n) => `| ${n} | ${med((r) => r.activities[n]?.count ?? 0)} | ${Math.round(med((r) => r.activities[n]?.solo ?? 0))} | ${Math.round(med((r) => r.activities[n]?.load ?? 0))} |`),
    '',
    `DescribeDBInstances answers the instance's tags (TagList, drover's promotion tag among them) in ${runs.filter((r) => r.tagListInDescribe).length} of ${runs.length} runs (read straight from moto after the solo failover).`,
  );
  if (last) {
    const types = new Set([...Object.keys(last.soloHistory.parent?.byType ?? {}), ...Object.keys(last.soloHistory.child?.byType ?? {}), ...Object.keys(last.soloHistory.lock?.byType ?? {})]);
    const acts = new Set([...Object.keys(last.soloHistory.parent?.activities ?? {}), ...Object.keys(last.soloHistory.child?.activities ?? {}), ...Object.keys(last.soloHistory.lock?.activities ?? {})]);
    const cell = (h: HistoryFigures | undefined, k: string, what: 'byType' | 'activities') => String(h?.[what][k] ?? 0);
    lines.push(
      '',
      `The solo failover's history (last run), by event type and by activity scheduled: parent / promotion child / lock.`,
      '',
      '| event type | parent | child | lock |',
      '|---|---:|---:|---:|',
      ...[...types].sort().map((k) => `| ${k} | ${cell(last.soloHistory.parent, k, 'byType')} | ${cell(last.soloHistory.child, k, 'byType')} | ${cell(last.soloHistory.lock, k, 'byType')} |`),
      `| **total** | ${last.soloHistory.parent?.events ?? 0} | ${last.soloHistory.child?.events ?? 0} | ${last.soloHistory.lock?.events ?? 0} |`,
      '',
      '| activity | parent | child | lock |',
      '|---|---:|---:|---:|',
      ...[...acts].sort().map((k) => `| ${k} | ${cell(last.soloHistory.parent, k, 'activities')} | ${cell(last.soloHistory.child, k, 'activities')} | ${cell(last.soloHistory.lock, k, 'activities')} |`),
    );
  }
  lines.push('', `Command: \`npm run bench:region-loss -- --runs ${o.RUNS} --runbooks ${N} --time-scale ${o.SCALE} --lag-every-ms ${o.lagEveryMs}${o.warmup ? '' : ' --warmup 0'}\``);
  return lines.join('\n');
}

/** The solo failover's AWS requests in order (ms from its first), for stderr: where the round trips go. */
function timeline(log: readonly ProxyLogEntry[]): string {
  const t0 = Math.min(...log.map((e) => e.at));
  return log.map((e) => `  +${String(e.at - t0).padStart(5)} ms  ${e.region.padEnd(10)} ${`${e.service}:${e.operation}`.padEnd(44)} ${e.ms.toFixed(1).padStart(7)} ms${e.injected ? `  ${e.injected}` : ''}`).join('\n');
}

if (isMain(module)) {
  const childAt = process.argv.indexOf(CHILD_FLAG);
  if (childAt > 0) {
    workerChild(process.argv[childAt + 1]).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  } else {
    regionLossBench({ runs: arg('runs', 3), runbooks: arg('runbooks', 50), scale: arg('time-scale', 0.01), lagEveryMs: arg('lag-every-ms', 10_000), warmup: arg('warmup', 1) > 0, timeoutMs: arg('timeout-s', 900) * 1000 })
      .then(({ markdown, failures }) => {
        process.stdout.write(`\n${markdown}\n`);
        if (failures.length > 0) {
          process.stderr.write(`\nBENCH FAILED:\n- ${failures.join('\n- ')}\n`);
          process.exit(1);
        }
        process.exit(0);
      })
      .catch((e: unknown) => {
        console.error(e);
        process.exit(1);
      });
  }
}

