import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../../contracts/ids';
import { droverHome, ensureTools } from './tools';

export interface TemporalServer {
  /** gRPC frontend, `127.0.0.1:PORT`. */
  address: string;
  /** Web UI, `http://127.0.0.1:UIPORT`. */
  uiUrl: string;
  port: number;
  uiPort: number;
  pid: number;
  dbFile: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface MotoServer {
  /** `http://127.0.0.1:PORT`, the value for AWS_ENDPOINT_URL. */
  endpoint: string;
  port: number;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface StartTemporalOptions {
  dbFile: string;
  port?: number;
  uiPort?: number;
  logFile?: string;
  /** Outlive this process (new session, unref'd). Otherwise it is killed when this process exits. */
  detached?: boolean;
  /** Temporal CLI binary; default: ensureTools(). */
  bin?: string;
  /** How long to wait for the server to answer; default 30 s. */
  readyTimeoutMs?: number;
}

export interface StartMotoOptions {
  port?: number;
  logFile?: string;
  detached?: boolean;
  env?: Record<string, string>;
  /** moto_server binary; default: ensureTools(). */
  bin?: string;
  readyTimeoutMs?: number;
}

/** A TCP port that was free on the loopback interface a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on 127.0.0.1:port (so a server can bind it). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function requireFree(port: number, what: string): Promise<void> {
  if (!(await isPortFree(port))) throw new Error(`port ${port} for the ${what} is already in use on 127.0.0.1`);
}

/** Start `temporal server start-dev` on loopback with a SQLite file, and wait until it serves gRPC and the Web UI. */
export async function startTemporal(opts: StartTemporalOptions): Promise<TemporalServer> {
  const bin = opts.bin ?? (await ensureTools()).temporal;
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  await requireFree(port, 'Temporal gRPC');
  await requireFree(uiPort, 'Temporal Web UI');
  const dbFile = path.resolve(opts.dbFile);
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const logFile = opts.logFile ?? defaultLogFile(`temporal-${port}`);
  const args = ['server', 'start-dev', '--db-filename', dbFile, '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn', ...searchAttributeArgs()];
  const proc = launch(bin, args, { logFile, detached: opts.detached ?? false, name: 'Temporal dev server' });
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  const server: TemporalServer = { address, uiUrl, port, uiPort, pid: proc.pid, dbFile, logFile, stop: () => proc.stop() };
  await proc.ready(opts.readyTimeoutMs ?? 30_000, async (deadline, signal) => {
    await waitFor(`Temporal gRPC at ${address}`, deadline, signal, () => temporalHealthy(address));
    await waitFor(`Temporal Web UI at ${uiUrl}`, deadline, signal, () => httpAnswers(uiUrl));
  });
  // start-dev registers its --search-attribute flags only in a new database file; one from an older drover lacks them.
  await registerSearchAttributes(address).catch(async (e: unknown) => {
    await server.stop();
    throw new Error(`could not register drover's search attributes on ${address}: ${(e as Error).message}`);
  });
  return server;
}

/** `--search-attribute DroverRunbook=Keyword ...`: drover's custom search attributes, registered when the dev server creates its database. */
function searchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]);
}

/** temporal.api.enums.v1.IndexedValueType, by the SDK's type names. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };

/** Register drover's custom search attributes on a Temporal server where any is missing (idempotent). */
export async function registerSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 });
  try {
    const have = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((k) => !(k.name in have));
    if (missing.length === 0) return [];
    const searchAttributes = Object.fromEntries(missing.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]]));
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    return missing.map((k) => k.name);
  } finally {
    await connection.close();
  }
}

/** Start moto_server on loopback and wait until `GET /moto-api/` answers. */
export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const bin = opts.bin ?? (await ensureTools()).motoServer;
  const port = opts.port ?? (await freePort());
  // moto's werkzeug binds with port reuse, so a second moto on a busy port would start and share it silently.
  await requireFree(port, 'moto');
  const logFile = opts.logFile ?? defaultLogFile(`moto-${port}`);
  const proc = launch(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    logFile,
    detached: opts.detached ?? false,
    name: 'moto server',
    // moto's request recorder (MOTO_ENABLE_RECORDING) appends to a file in its cwd unless told where.
    env: { ...process.env, MOTO_RECORDER_FILEPATH: `${logFile}.recording.jsonl`, ...opts.env },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await proc.ready(opts.readyTimeoutMs ?? 30_000, (deadline, signal) => waitFor(`moto at ${endpoint}`, deadline, signal, () => motoHealthy(endpoint)));
  return { endpoint, port, pid: proc.pid, logFile, stop: () => proc.stop() };
}

/** Whether a Temporal frontend answers GetSystemInfo at `address`. */
export async function temporalHealthy(address: string, timeoutMs = 3_000): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: timeoutMs });
    await conn.withDeadline(Date.now() + timeoutMs, () => conn!.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

/** Whether a moto server answers at `endpoint`. */
export async function motoHealthy(endpoint: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint.replace(/\/$/, '')}/moto-api/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Whether anything answers HTTP at `url` (any status). */
export async function httpAnswers(url: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Drop every resource in a moto server (`POST /moto-api/reset`). */
export async function resetMoto(endpoint: string): Promise<void> {
  const url = `${endpoint.replace(/\/$/, '')}/moto-api/reset`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new Error(`cannot reset moto at ${endpoint}: ${(e as Error).message}`);
  }
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`cannot reset moto at ${endpoint}: HTTP ${res.status}`);
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Launched {
  pid: number;
  /** Runs `check` until its deadline, failing early (with the log tail) if the process exits first; stops the process on failure. */
  ready(timeoutMs: number, check: (deadline: number, signal: AbortSignal) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const ownedChildren = new Set<number>();
let exitHookInstalled = false;

function launch(bin: string, args: string[], opts: { logFile: string; detached: boolean; name: string; env?: NodeJS.ProcessEnv }): Launched {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = fs.openSync(opts.logFile, 'a');
  let child;
  try {
    child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: opts.detached, env: opts.env ?? process.env });
  } finally {
    fs.closeSync(fd);
  }
  let exited: string | undefined;
  const exitListeners: ((why: string) => void)[] = [];
  child.on('error', (e) => {
    exited = `could not start: ${e.message}`;
    exitListeners.forEach((l) => l(exited!));
  });
  child.on('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (child.pid) ownedChildren.delete(child.pid);
    exitListeners.forEach((l) => l(exited!));
  });
  const pid = child.pid ?? -1;
  // Never keep this process alive just for a server (a forgotten one must not hang jest); owned ones die with us.
  child.unref();
  if (!opts.detached && pid > 0) {
    ownedChildren.add(pid);
    installExitHook();
  }
  const stop = async (): Promise<void> => {
    await stopProcess(pid);
  };
  return {
    pid,
    stop,
    async ready(timeoutMs, check) {
      const failure = new Promise<never>((_, reject) => {
        const fail = (why: string) => reject(new Error(`${opts.name} ${why}${logTail(opts.logFile)}`));
        if (exited) fail(exited);
        else exitListeners.push(fail);
      });
      failure.catch(() => undefined);
      const abort = new AbortController();
      try {
        await Promise.race([check(Date.now() + timeoutMs, abort.signal), failure]);
      } catch (e) {
        abort.abort();
        await stop();
        const msg = (e as Error).message;
        throw new Error(exited || msg.includes('\n') ? msg : `${msg}${logTail(opts.logFile)}`);
      }
    },
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Servers started without `detached` belong to this process: never leave them orphaned.
  process.on('exit', () => {
    for (const pid of ownedChildren) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Whether `pid` is a live (non-zombie) process; with `expect`, whose command line contains it. */
export function processAlive(pid: number, expect?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Orphans in a container may never be reaped by PID 1; a zombie counts as gone.
    if (/\) Z /.test(stat)) return false;
    if (expect) return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect);
  } catch {
    // no /proc (not Linux): trust kill(0)
  }
  return true;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Returns whether the process was running. */
export async function stopProcess(pid: number, graceMs = 10_000, expect?: string): Promise<boolean> {
  if (!processAlive(pid, expect)) return false;
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return true;
  signal(pid, 'SIGKILL');
  if (!(await waitGone(pid, 5_000))) throw new Error(`process ${pid} did not exit after SIGKILL`);
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await sleep(100);
  }
  return !processAlive(pid);
}

async function waitFor(what: string, deadline: number, signal: AbortSignal, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (signal.aborted) throw new Error(`stopped waiting for ${what}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${Math.round((Date.now() - started) / 1000)} s`);
    await sleep(250);
  }
}

function logTail(logFile: string, lines = 15): string {
  try {
    const text = fs.readFileSync(logFile, 'utf8');
    const tail = text.split('\n').filter((l) => l.trim()).slice(-lines);
    return tail.length ? `; last log lines (${logFile}):\n${tail.join('\n')}` : ` (log ${logFile} is empty)`;
  } catch {
    return '';
  }
}

let logDir: string | undefined;
function defaultLogFile(name: string): string {
  logDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'drover-logs-'));
  return path.join(logDir, `${name}.log`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// The `drover dev` stack's state, shared with other commands through resolveEndpoints().

export interface DevTemporalState {
  pid: number;
  bin: string;
  port: number;
  uiPort: number;
  address: string;
  uiUrl: string;
  dbFile: string;
  logFile: string;
  startedAt: string;
}

export interface DevMotoState {
  pid: number;
  bin: string;
  port: number;
  endpoint: string;
  logFile: string;
  startedAt: string;
}

export interface DevState {
  temporal?: DevTemporalState;
  moto?: DevMotoState;
}

export function devDir(): string {
  return path.join(droverHome(), 'dev');
}

export function devStateFile(): string {
  return path.join(devDir(), 'state.json');
}

export function readDevState(): DevState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(devStateFile(), 'utf8')) as DevState;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically (temp file + rename) so a reader never sees half a file. */
export function writeDevState(state: DevState): void {
  fs.mkdirSync(devDir(), { recursive: true });
  const tmp = `${devStateFile()}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, devStateFile());
}

export function removeDevState(): void {
  fs.rmSync(devStateFile(), { force: true });
}

/**
 * Where drover commands find their servers: `TEMPORAL_ADDRESS`, else the running `drover dev` stack,
 * else `127.0.0.1:7233`; `AWS_ENDPOINT_URL`, else the dev stack's moto, else the real AWS endpoints.
 */
export function resolveEndpoints(): { temporalAddress: string; awsEndpoint?: string } {
  const state = readDevState();
  // A state file left behind by a crash or reboot must not win over the default.
  const t = state?.temporal && processAlive(state.temporal.pid, state.temporal.bin) ? state.temporal : undefined;
  const m = state?.moto && processAlive(state.moto.pid, state.moto.bin) ? state.moto : undefined;
  const temporalAddress = process.env.TEMPORAL_ADDRESS || t?.address || '127.0.0.1:7233';
  const awsEndpoint = process.env.AWS_ENDPOINT_URL || m?.endpoint || undefined;
  return awsEndpoint ? { temporalAddress, awsEndpoint } : { temporalAddress };
}
