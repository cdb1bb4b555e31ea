/** What the benchmarks share: a private Temporal + moto stack with ApnaKart seeded, and the statistics. */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients, type AwsCallRecord, type AwsConfig } from '../aws/clients';
import { activityInterceptors, quietRuntime, WORKFLOW_INTERCEPTOR_MODULES, workerSinks } from '../cli/worker';
import { pointProbesAt, startLagFeeders, startRegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { behindFidelityProxy, resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { loadRunbookFile } from '../runbooks/load';
import type { Database, Runbook } from '../runbooks/schema';
import { MemoryRunbookSource, type RunbookRef } from '../runbooks/source';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../infra/faults/proxy';
import { approveUpdate } from '../contracts/messages';
import type { RunStatus } from '../contracts/run';

/** The benchmark workers' runbooks: each variant a benchmark builds is held here, and runs name it (runbookRef). */
export const benchRunbooks = new MemoryRunbookSource('bench');

/** Hold a benchmark's runbook variant in the workers' source; the reference its runs name. */
export function benchRef(rb: Runbook): RunbookRef {
  return benchRunbooks.putRunbook(rb);
}

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
  /** The fault proxy the worker's AWS traffic goes through (only with `proxy: true`). */
  proxy?: FaultProxy;
  client: Client;
  worker: Worker;
  taskQueue: string;
  /** Reset the emulator and seed ApnaKart again: every run starts from the seeded topology. */
  reseed(): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  /** Told every AWS call the worker's activities make. */
  record?: (call: AwsCallRecord) => void;
  /** Put the worker's AWS traffic through a fault proxy in front of moto (seeding and lag feeders go direct). */
  proxy?: boolean;
  /** Edit the loaded runbook (after probes are pointed at the local apps). */
  runbook?: (rb: Runbook) => Runbook;
  /** How often ReplicaLag 0 is published (default 500 ms). */
  lagEveryMs?: number;
  /** The worker's AWS timeouts (AwsConfig.timeouts; default AWS_TIMEOUTS, all 0: none). */
  timeouts?: AwsConfig['timeouts'];
}

/** Start Temporal, moto, the region apps and a worker; ReplicaLag 0 is published for both databases. */
export async function startBenchStack(recordOrOptions?: ((call: AwsCallRecord) => void) | BenchStackOptions): Promise<BenchStack> {
  const opts: BenchStackOptions = typeof recordOrOptions === 'function' ? { record: recordOrOptions } : (recordOrOptions ?? {});
  const record = opts.record;
  quietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  // Behind the fidelity rules, as the tests' moto: drover reads a promotion as RDS answers it (moto keeps the source).
  const moto = await behindFidelityProxy(await startMoto());
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  const loaded = loadRunbookFile(path.join(__dirname, '../runbooks/apnakart.yaml'));
  if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
  const pointed = pointProbesAt(loaded.runbook, apps.apps);
  const rb = opts.runbook ? opts.runbook(pointed) : pointed;
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const proxy = opts.proxy ? await startFaultProxy({ target: moto.endpoint }) : undefined;
  const workerConfig: AwsConfig = { ...config, ...(proxy ? { endpoint: proxy.endpoint } : {}), ...(opts.timeouts ? { timeouts: opts.timeouts } : {}) };
  // moto does not replicate: publish ReplicaLag 0 for both names of every database, as RDS would.
  const feeders = startLagFeeders({ endpoint: moto.endpoint, rb, regions: [rb.regions.standby, rb.regions.primary], lagSeconds: 0, everyMs: opts.lagEveryMs });
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: silent });
  const taskQueue = 'bench';
  // Started after the process's tracing (bench/failover.ts --telemetry): its sinks and activity interceptors read it.
  const worker = await Worker.create({ sinks: workerSinks(), interceptors: { activity: activityInterceptors() }, connection, taskQueue, workflowBundle, activities: createActivities({ aws: createAwsClients(workerConfig, record), temporal: () => client, runbooks: benchRunbooks }) });
  return {
    rb,
    proxy,
    client,
    worker,
    taskQueue,
    reseed: async () => {
      await resetMoto(moto.endpoint);
      await seedRunbook(rb, config);
    },
    stop: async () => {
      feeders.stop();
      // A worker still draining holds the connection (close refuses): the servers are stopped all the same.
      await connection.close().catch(() => undefined);
      await proxy?.stop();
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

/** Realistic AWS latencies (ms at time scale 1) that the benchmarks inject with the fault proxy. */
export const REAL_LATENCY = {
  /** PromoteReadReplica: the promotion itself (RDS takes minutes; moto promotes at once). */
  promote: 300_000,
  /** UpdateNodegroupConfig: nodes joining the group. */
  scale: 180_000,
  /** ChangeResourceRecordSets: the change reaching INSYNC (moto reports INSYNC at once). */
  route53: 60_000,
  /** Every other call: uniform over these five values (50..200 ms, median 125 ms). */
  other: [50, 87.5, 125, 162.5, 200],
};

/**
 * Fault-proxy rules that give every AWS operation its realistic latency times `scale`. The proxy has
 * fixed latency per rule and takes the first matching rule whose probability roll succeeds, so the
 * uniform 50-200 ms is five rules with probabilities 1/5, 1/4, 1/3, 1/2, 1 (each value 1/5 overall).
 */
export function latencyRules(scale: number): FaultRule[] {
  const fixed = (operation: string, ms: number): FaultRule => ({ id: `latency:${operation}`, operation, fault: { kind: 'latency', ms: ms * scale } });
  const n = REAL_LATENCY.other.length;
  return [
    fixed('PromoteReadReplica', REAL_LATENCY.promote),
    fixed('UpdateNodegroupConfig', REAL_LATENCY.scale),
    fixed('ChangeResourceRecordSets', REAL_LATENCY.route53),
    ...REAL_LATENCY.other.map((ms, i): FaultRule => ({ id: `latency:other-${ms}`, probability: 1 / (n - i), fault: { kind: 'latency', ms: ms * scale } })),
  ];
}

/** Drills allowed at any time, gates approved automatically, a short cooldown: what the drill benchmarks need. */
export function drillReady(rb: Runbook): Runbook {
  const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Runbook['drills']['windows'][number]['days'];
  return { ...rb, drills: { enabled: true, windows: [{ days, from: '00:00', to: '24:00', timezone: 'UTC' }], autoApprove: true, cooldown: 60 * 60_000, retention: 'delete' } };
}

/**
 * A variant of a runbook with its own name and resource names (zone, records, database identifiers,
 * clusters, alarms), so many variants share one emulator: the idea of the tests' `writeRunbook({ unique })`.
 */
export function uniqueVariant(rb: Runbook, sfx: string): Runbook {
  const domain = `${sfx}.apnakart.test`;
  const dom = (v: string) => v.replace(rb.dns.hostedZone, domain);
  const alarms = Object.fromEntries(Object.entries(rb.health.alarms).map(([region, names]) => [region, names.map((a) => `${a}-${sfx}`)]));
  const renameDb = <D extends Database>(db: D): D => ({
    ...db,
    primary: { identifier: `${db.primary.identifier}-${sfx}` },
    replica: { identifier: `${db.replica.identifier}-${sfx}` },
    writerRecord: { ...db.writerRecord, name: dom(db.writerRecord.name), ...(db.writerRecord.zone ? { zone: dom(db.writerRecord.zone) } : {}) },
    // Security groups too: seeding many variants at once must not race to create one shared group.
    fence: { ...db.fence, ...(db.fence.groupName ? { groupName: `${db.fence.groupName}-${sfx}` } : {}) },
    ...(db.securityGroupName ? { securityGroupName: `${db.securityGroupName}-${sfx}` } : {}),
  });
  return {
    ...rb,
    name: sfx,
    dns: { ...rb.dns, hostedZone: domain, records: rb.dns.records.map((r) => ({ ...r, name: dom(r.name), ...(r.zone ? { zone: dom(r.zone) } : {}) })) },
    // Each database, under whichever key the runbook uses (database or databases).
    ...(rb.database ? { database: renameDb(rb.database) } : {}),
    ...(rb.databases ? { databases: rb.databases.map(renameDb) } : {}),
    compute: { clusters: rb.compute.clusters.map((c) => ({ ...c, name: `${c.name}-${sfx}` })) },
    health: { ...rb.health, alarms },
  };
}

/** Sample a process's peak resident set (VmHWM, bytes) from /proc; undefined when it is gone. */
export function peakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this file is the entry point (`tsx bench/x.ts`), not imported by the runner. */
export function isMain(mod: NodeModule): boolean {
  return require.main === mod;
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Run `fn` over items with at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** A benchmark's worker in a process of its own: its pid, its peak memory (VmHWM, sampled every 200 ms), and a stop. */
export interface WorkerProc {
  pid: number;
  /** Highest VmHWM seen (bytes). */
  peak(): number;
  stop(): Promise<void>;
}

/**
 * Start `node --import tsx ARGS` in `cwd` and wait until its stderr shows `ready` (rejects if it exits first, with
 * what it wrote). `label` names it in that error.
 */
export async function startWorkerProcess(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp; label: string }): Promise<WorkerProc> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid ?? -1;
  let peak = 0;
  const sample = () => (peak = Math.max(peak, peakRss(pid) ?? 0));
  const timer = setInterval(sample, 200);
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (opts.ready.test(stderr)) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(check);
        clearInterval(timer);
        reject(new Error(`${opts.label} exited (${child.exitCode}): ${stderr}`));
      }
    }, 100);
  });
  return {
    pid,
    peak: () => (sample(), peak),
    stop: async () => {
      sample();
      clearInterval(timer);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The workflow bundle, built once (quietly) and written to DIR/workflow-bundle.js for worker processes to load. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: silent });
  const file = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(file, bundle.code);
  return file;
}
