/**
 * The chaos suite's world: a private moto (with its request recorder), per-run fault proxies (and
 * optional taps) in front of it, local region apps for probes, lag feeders, and drover workers run as
 * real processes (`drover worker`) that the suite SIGKILLs and restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startFaultProxy, type FaultProxy, type FaultRule, type ProxyLogEntry } from '../../infra/faults/proxy';
import { startLagFeeder, startRegionApps, type RegionApps } from '../../infra/local/apps';
import { seedRunbook } from '../../infra/local/seed';
import type { MotoServer } from '../../infra/local/stack';
import { processAlive } from '../../processes/supervisor';
import { databasesOf } from '../../runbooks/databases';
import type { Runbook } from '../../runbooks/schema';
import type { RunStatus } from '../../contracts/run';
import { emulatorConfig, testRunbookDir, workflowBundle, writeRunbook } from '../harness/fixtures';
import { startOwnMoto, testTempDir, testTemporalAddress } from '../harness/servers';
import { FeederScope } from '../harness/feeders';
import { startTap, type Tap } from './tap';

export const PRIMARY = 'ap-south-1';
export const STANDBY = 'ap-southeast-1';
const ROOT = path.join(__dirname, '../..');

/** Calls that change AWS state (the ones a repeat of would matter). */
export const STATE_CHANGING = ['PromoteReadReplica', 'ChangeResourceRecordSets', 'UpdateNodegroupConfig', 'CreateDBInstanceReadReplica', 'ModifyDBInstance', 'CreateDBSnapshot', 'DeleteDBInstance'];

/** A drover worker process on one task queue; kill() is SIGKILL, restart() starts a fresh one. */
export class WorkerProcess {
  private child?: ChildProcess;
  private stderr = '';
  kills = 0;

  constructor(private readonly env: Record<string, string>) {}

  start(): void {
    // tsx's loader inside this very process: the `tsx` CLI would run the worker in a child process,
    // and a SIGKILL of the CLI would leave that child running as an orphan (still polling).
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), 'worker'], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child = child;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`worker is not running (stderr: ${this.stderr})`);
    const kids = childrenOf(child.pid ?? -1);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    if (child.signalCode !== 'SIGKILL') throw new Error(`worker exited with ${child.signalCode ?? child.exitCode}, not SIGKILL`);
    if (processAlive(child.pid ?? -1)) throw new Error(`worker ${child.pid} still runs after SIGKILL`);
    // tsx's esbuild service (a child) exits by itself when its stdin closes; anything else must not outlive the worker.
    const deadline = Date.now() + 5000;
    while (kids.some((k) => processAlive(k)) && Date.now() < deadline) await sleep(100);
    const survivors = kids.filter((k) => processAlive(k)).map((k) => `${k} (${cmdline(k)})`);
    if (survivors.length > 0) throw new Error(`worker ${child.pid} left processes behind: ${survivors.join(', ')}`);
    this.kills++;
  }

  async restart(): Promise<void> {
    if (this.alive()) await this.kill();
    this.start();
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.alive()) {
      const child = this.child as ChildProcess;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 200);
  } catch {
    return '?';
  }
}

/** Live processes whose parent is `pid` (a worker must have none that would outlive it). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && processAlive(Number(d))) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** process.env without anything that would point a worker somewhere else. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('DROVER_ENDPOINT_') || k === 'AWS_ENDPOINT_URL' || k === 'TEMPORAL_ADDRESS') delete env[k];
  return env;
}

/** One run's path to the emulator: worker -> [tap] -> fault proxy -> moto. */
export interface Channel {
  faults: FaultProxy;
  tap?: Tap;
  /** What the worker uses as AWS_ENDPOINT_URL. */
  endpoint: string;
}

export interface Seeded {
  runbook: Runbook;
  taskQueue: string;
}

export class ChaosWorld {
  moto!: MotoServer;
  apps!: RegionApps;
  client!: Client;
  bundleFile!: string;
  private connection!: Connection;
  private readonly feeders = new FeederScope();
  private channels: Channel[] = [];
  private workers: WorkerProcess[] = [];
  /** ReplicaLag the feeders publish per DB identifier (default 0). */
  readonly lag = new Map<string, number>();
  private seq = 0;

  /** Constructed at a test file's top level: a test's lag feeders stop when it ends (FeederScope). */
  constructor(private readonly opts: { temporalAddress?: () => string; recording?: boolean } = {}) {}

  temporalAddress(): string {
    return this.opts.temporalAddress?.() ?? testTemporalAddress();
  }

  async start(): Promise<void> {
    this.moto = await startOwnMoto(this.opts.recording ? { env: { MOTO_ENABLE_RECORDING: 'True' } } : {});
    if (this.opts.recording) await fetch(`${this.moto.endpoint}/moto-api/recorder/start-recording`, { method: 'POST' });
    this.apps = await startRegionApps([PRIMARY, STANDBY]);
    await this.connect();
    // Worker processes load a prebuilt bundle, as production workers do.
    this.bundleFile = path.join(testTempDir('bundle-'), 'workflows.js');
    fs.writeFileSync(this.bundleFile, (await workflowBundle()).code);
  }

  async connect(): Promise<void> {
    this.connection = await Connection.connect({ address: this.temporalAddress() });
    this.client = new Client({ connection: this.connection });
  }

  async disconnect(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.feeders.stopAll();
    await Promise.allSettled(this.workers.map((w) => w.stop()));
    // Workflow code quotes the secret patterns it scrubs: the bundle is not left for the temporary root's secrets scan.
    if (this.bundleFile) fs.rmSync(path.dirname(this.bundleFile), { recursive: true, force: true });
    await Promise.allSettled(this.channels.flatMap((c) => [c.tap?.stop(), c.faults.stop()]));
    await this.disconnect();
    await this.apps?.stop();
    await this.moto?.stop();
  }

  async channel(opts: { tap?: boolean; seed?: number; rules?: FaultRule[] } = {}): Promise<Channel> {
    const faults = await startFaultProxy({ target: this.moto.endpoint, seed: opts.seed });
    if (opts.rules) faults.setRules(opts.rules);
    const tap = opts.tap ? await startTap({ target: faults.endpoint }) : undefined;
    const ch = { faults, tap, endpoint: tap?.endpoint ?? faults.endpoint };
    this.channels.push(ch);
    return ch;
  }

  /** A seeded ApnaKart variant with its own names, probes at the local apps, lag fed for both databases. */
  async seed(prefix: string, set: Array<[Array<string | number>, unknown]> = []): Promise<Seeded> {
    const name = `${prefix}-${process.pid}-${++this.seq}`;
    const { runbook } = writeRunbook({ name, unique: true, set, probeBases: { [PRIMARY]: this.apps.apps[PRIMARY].baseUrl, [STANDBY]: this.apps.apps[STANDBY].baseUrl } });
    await seedRunbook(runbook, emulatorConfig(this.moto.endpoint));
    for (const region of [PRIMARY, STANDBY]) {
      for (const id of databasesOf(runbook).flatMap((db) => [db.primary.identifier, db.replica.identifier])) {
        this.feeders.add(startLagFeeder({ endpoint: this.moto.endpoint, region, identifier: () => id, lagSeconds: () => this.lag.get(id) ?? 0, everyMs: 300 }));
      }
    }
    return { runbook, taskQueue: `tq-${name}` };
  }

  worker(taskQueue: string, awsEndpoint: string, extraEnv: Record<string, string> = {}): WorkerProcess {
    const w = new WorkerProcess({ TEMPORAL_ADDRESS: this.temporalAddress(), AWS_ENDPOINT_URL: awsEndpoint, DROVER_TASK_QUEUE: taskQueue, DROVER_WORKFLOW_BUNDLE: this.bundleFile, DROVER_RUNBOOKS: testRunbookDir(), ...extraEnv });
    this.workers.push(w);
    w.start();
    return w;
  }

  async status(workflowId: string): Promise<RunStatus | undefined> {
    return this.client.workflow
      .getHandle(workflowId)
      .query<RunStatus>('status')
      .catch(() => undefined);
  }

  /** Poll a run's status (every 40 ms) until `pred` holds. */
  async until(workflowId: string, pred: (s: RunStatus) => boolean | string, what: string, timeoutMs = 180_000): Promise<RunStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status(workflowId);
      if (s) {
        const r = pred(s);
        if (typeof r === 'string') throw new Error(`${what}: ${r}`);
        if (r) return s;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last status: ${s ? `${s.phase}, current ${s.currentStep}, steps ${s.steps.map((x) => `${x.id}=${x.status}`).join(' ')}` : 'no answer'})`);
      await sleep(40);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The RunStatus a failed run carries in its failure details. */
export async function failedStatus<T = RunStatus>(p: Promise<unknown>): Promise<T> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError)) throw new Error(`expected the run to fail, got ${err === undefined ? 'success' : String(err)}`);
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(cause)}`);
  return cause.details?.[0] as T;
}

/** Injected faults per operation (and kind), from a fault proxy's log. */
export function faultCounts(log: ProxyLogEntry[]): { total: number; requests: number; byOperation: Record<string, number> } {
  const byOperation: Record<string, number> = {};
  let total = 0;
  for (const e of log) {
    if (!e.injected) continue;
    total++;
    const k = `${e.service}:${e.operation} ${e.injected}`;
    byOperation[k] = (byOperation[k] ?? 0) + 1;
  }
  return { total, requests: log.length, byOperation };
}

/** Print a block to the suite's output (kept by jest with the file's results). */
export function report(title: string, lines: string[]): void {
  console.log(`\n=== chaos: ${title} ===\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}
