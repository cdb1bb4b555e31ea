import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../../contracts/ids';
import { AWS_FIDELITY_RULES, type FidelityRule } from '../faults/fidelity';
import { startFaultProxy } from '../faults/proxy';
import { defaultLogFile, launch } from '../../processes/supervisor';
import { ensureTools } from './tools';

// The embedded stack's launchers: a Temporal dev server and a moto server on loopback, and their health probes.
// Their processes are supervised by processes/supervisor.ts; the `drover dev` state file is config/dev-state.ts.

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

/**
 * `server` behind a fault proxy that applies AWS's fidelity rules (infra/faults/fidelity.ts): its endpoint
 * answers as AWS does where moto would not; `direct` is moto itself. stop() stops the proxy, then moto.
 * The proxy lives in this process: the detached dev stack (`drover dev up`) has none, `drover demo run` does.
 */
export async function behindFidelityProxy(server: MotoServer, rules: readonly FidelityRule[] = AWS_FIDELITY_RULES): Promise<MotoServer & { direct: string }> {
  const proxy = await startFaultProxy({ target: server.endpoint, fidelity: rules });
  return {
    ...server,
    endpoint: proxy.endpoint,
    direct: server.endpoint,
    stop: async () => {
      await proxy.stop();
      await server.stop();
    },
  };
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

/**
 * Start `temporal server start-dev` on loopback with a SQLite file, and wait until it serves gRPC and the Web UI.
 * Ports drover picked itself are free only when picked: the dev server takes further free ports of its own for
 * its internal services, and one can be the Web UI port picked a moment before (`bind: address already in use`).
 * Then it starts again on new ports, twice at most; ports the caller chose are never changed.
 */
export async function startTemporal(opts: StartTemporalOptions): Promise<TemporalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalOnce(opts);
    } catch (e) {
      const picked = opts.port === undefined && opts.uiPort === undefined;
      if (!picked || attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startTemporalOnce(opts: StartTemporalOptions): Promise<TemporalServer> {
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

async function waitFor(what: string, deadline: number, signal: AbortSignal, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (signal.aborted) throw new Error(`stopped waiting for ${what}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${Math.round((Date.now() - started) / 1000)} s`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
