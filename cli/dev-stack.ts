import path from 'node:path';
import { withoutUserinfo } from '../config/endpoints';
import { devDir, devStateFile, readDevState, removeDevState, writeDevState, type DevMotoState, type DevState, type DevTemporalState } from '../config/dev-state';
import { droverHome } from '../config/home';
import { isPortFree, motoHealthy, registerSearchAttributes, startMoto, startTemporal, temporalHealthy } from '../infra/local/stack';
import { ensureTools } from '../infra/local/tools';
import { processAlive, stopProcess } from '../processes/supervisor';
import { CliError, EXIT, type CliIO } from './io';

// What `drover dev up|down|status` (and `drover demo run`) do to the embedded stack. Loaded only when one of
// them runs (cli/commands/dev.ts, cli/commands/demo.ts): a `drover worker` never loads the embedded stack.

export interface ServerStatus {
  /** `up`: ours and healthy; `unhealthy`: ours, running, not answering; `down`; `external`: from the environment. */
  state: 'up' | 'unhealthy' | 'down' | 'external';
  healthy: boolean;
  usable: boolean;
  address?: string;
  uiUrl?: string;
  endpoint?: string;
  pid?: number;
  logFile?: string;
}

export interface StackStatus {
  home: string;
  temporal: ServerStatus;
  moto: ServerStatus;
}

/** An env value that points at the stack's own server (e.g. exported from a previous `dev up`) is not "external". */
function externalTemporal(own: string | undefined, port: number): string | undefined {
  const env = process.env.TEMPORAL_ADDRESS;
  if (!env) return undefined;
  const mine = new Set([own, `127.0.0.1:${port}`, `localhost:${port}`].filter(Boolean));
  return mine.has(env) ? undefined : env;
}

function externalAws(own: string | undefined, port: number): string | undefined {
  const env = process.env.AWS_ENDPOINT_URL?.replace(/\/$/, '');
  if (!env) return undefined;
  const mine = new Set([own, `http://127.0.0.1:${port}`, `http://localhost:${port}`].filter(Boolean));
  return mine.has(env) ? undefined : env;
}

export async function devStatus(): Promise<StackStatus> {
  const state = readDevState() ?? {};
  const home = droverHome();
  let temporal: ServerStatus;
  const extT = externalTemporal(state.temporal?.address, state.temporal?.port ?? 7233);
  if (extT) {
    const healthy = await temporalHealthy(extT);
    temporal = { state: 'external', healthy, usable: healthy, address: extT };
  } else if (state.temporal && processAlive(state.temporal.pid, state.temporal.bin)) {
    const t = state.temporal;
    const healthy = await temporalHealthy(t.address);
    temporal = { state: healthy ? 'up' : 'unhealthy', healthy, usable: healthy, address: t.address, uiUrl: t.uiUrl, pid: t.pid, logFile: t.logFile };
  } else {
    temporal = { state: 'down', healthy: false, usable: false };
  }
  let moto: ServerStatus;
  const extM = externalAws(state.moto?.endpoint, state.moto?.port ?? 5055);
  if (extM) {
    const healthy = await motoHealthy(extM);
    // Any AWS-compatible endpoint is usable; only moto answers /moto-api/, so reachability is informative only.
    moto = { state: 'external', healthy, usable: true, endpoint: extM };
  } else if (state.moto && processAlive(state.moto.pid, state.moto.bin)) {
    const m = state.moto;
    const healthy = await motoHealthy(m.endpoint);
    moto = { state: healthy ? 'up' : 'unhealthy', healthy, usable: healthy, endpoint: m.endpoint, pid: m.pid, logFile: m.logFile };
  } else {
    moto = { state: 'down', healthy: false, usable: false };
  }
  return { home, temporal, moto };
}

/** Bring the local stack up (idempotent); also used by `drover demo run`. */
export async function devUp(io: CliIO, opts: { temporalPort: number; uiPort: number; motoPort: number }): Promise<void> {
  const state: DevState = readDevState() ?? {};
  const extT = externalTemporal(state.temporal?.address, opts.temporalPort);
  const extM = externalAws(state.moto?.endpoint, opts.motoPort);

  if (extT && !(await temporalHealthy(extT))) {
    throw new CliError(`TEMPORAL_ADDRESS=${extT} is not reachable`, EXIT.UNAVAILABLE, ['unset TEMPORAL_ADDRESS to let `drover dev up` start a local Temporal dev server']);
  }

  const ownT = !extT ? await runningTemporal(state.temporal) : undefined;
  const ownM = !extM ? await runningMoto(state.moto) : undefined;
  // A dev server started by an older drover lacks the search attributes `drover runs list` needs.
  const added = ownT ? await registerSearchAttributes(ownT.address).catch(() => []) : [];
  if (added.length) io.out(`temporal: registered search attributes ${added.join(', ')}`);
  const needT = !extT && !ownT;
  const needM = !extM && !ownM;
  // A stale entry (dead pid) is dropped; an external override leaves our own entry alone.
  if (!extT) state.temporal = ownT;
  if (!extM) state.moto = ownM;

  if (needT || needM) {
    if (needT) await requireFreePort(opts.temporalPort, '--temporal-port', 'Temporal gRPC');
    if (needT) await requireFreePort(opts.uiPort, '--ui-port', 'Temporal Web UI');
    if (needM) await requireFreePort(opts.motoPort, '--moto-port', 'moto');
    const tools = await ensureTools({ log: (l) => io.err(l) }).catch((e: Error) => {
      throw new CliError(e.message, EXIT.UNAVAILABLE);
    });
    const dir = devDir();
    const startedAt = new Date().toISOString();
    const [t, m] = await Promise.allSettled([
      needT
        ? startTemporal({
            bin: tools.temporal,
            dbFile: path.join(dir, 'temporal.sqlite'),
            port: opts.temporalPort,
            uiPort: opts.uiPort,
            logFile: path.join(dir, 'temporal.log'),
            detached: true,
          })
        : undefined,
      needM ? startMoto({ bin: tools.motoServer, port: opts.motoPort, logFile: path.join(dir, 'moto.log'), detached: true }) : undefined,
    ]);
    if (t.status === 'fulfilled' && t.value) {
      const v = t.value;
      state.temporal = { pid: v.pid, bin: tools.temporal, port: v.port, uiPort: v.uiPort, address: v.address, uiUrl: v.uiUrl, dbFile: v.dbFile, logFile: v.logFile, startedAt };
    }
    if (m.status === 'fulfilled' && m.value) {
      const v = m.value;
      state.moto = { pid: v.pid, bin: tools.motoServer, port: v.port, endpoint: v.endpoint, logFile: v.logFile, startedAt };
    }
    // Record whatever did start, so `dev down` can stop it even when the other one failed.
    writeDevState(state);
    const failures = [t, m].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length) {
      const [first, ...lines] = failures.map((f) => String((f.reason as Error)?.message ?? f.reason)).join('\n').split('\n');
      throw new CliError(first ?? 'the local stack did not start', EXIT.UNAVAILABLE, lines);
    }
  }

  if (extT) io.out(`temporal: using external ${extT} (TEMPORAL_ADDRESS)`);
  else if (state.temporal) io.out(`temporal: ${ownT ? 'already up' : 'started'} at ${state.temporal.address} (pid ${state.temporal.pid})`);
  if (state.temporal && !extT) io.out(`web ui:   ${state.temporal.uiUrl}`);
  if (extM) io.out(`aws:      using external ${withoutUserinfo(extM)} (AWS_ENDPOINT_URL)`);
  else if (state.moto) io.out(`aws:      moto ${ownM ? 'already up' : 'started'} at ${state.moto.endpoint} (pid ${state.moto.pid})`);
  io.out(`state:    ${devStateFile()}`);
  io.out('');
  io.out('use it from your shell with:');
  io.out(`  export TEMPORAL_ADDRESS=${extT ?? state.temporal?.address}`);
  // An external endpoint is already in the environment (and may carry a password): not echoed.
  io.out(extM ? '  # AWS_ENDPOINT_URL is already set' : `  export AWS_ENDPOINT_URL=${state.moto?.endpoint}`);
}

async function requireFreePort(port: number, flag: string, what: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new CliError(`port ${port} for the ${what} is already in use on 127.0.0.1`, EXIT.UNAVAILABLE, [
      `choose another with ${flag}, or point drover at the running server with TEMPORAL_ADDRESS / AWS_ENDPOINT_URL`,
    ]);
  }
}

/** The recorded server when its process is alive and answers (waiting briefly in case it is still starting). */
async function runningTemporal(t: DevTemporalState | undefined): Promise<DevTemporalState | undefined> {
  if (!t || !processAlive(t.pid, t.bin)) return undefined;
  if (await eventually(() => temporalHealthy(t.address), 15_000)) return t;
  throw new CliError(`the dev Temporal server (pid ${t.pid}) is running but not answering at ${t.address}`, EXIT.UNAVAILABLE, [
    `see ${t.logFile}; \`drover dev down\` then \`drover dev up\` restarts it`,
  ]);
}

async function runningMoto(m: DevMotoState | undefined): Promise<DevMotoState | undefined> {
  if (!m || !processAlive(m.pid, m.bin)) return undefined;
  if (await eventually(() => motoHealthy(m.endpoint), 15_000)) return m;
  throw new CliError(`the dev moto server (pid ${m.pid}) is running but not answering at ${m.endpoint}`, EXIT.UNAVAILABLE, [
    `see ${m.logFile}; \`drover dev down\` then \`drover dev up\` restarts it`,
  ]);
}

async function eventually(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
  return true;
}

export async function devDown(io: CliIO): Promise<void> {
  const state = readDevState();
  if (!state || (!state.temporal && !state.moto)) {
    removeDevState();
    io.out('the dev stack is not running');
    return;
  }
  const stops = await Promise.allSettled([
    state.temporal ? stopProcess(state.temporal.pid, 10_000, state.temporal.bin) : Promise.resolve(false),
    state.moto ? stopProcess(state.moto.pid, 10_000, state.moto.bin) : Promise.resolve(false),
  ]);
  const names = ['temporal', 'moto'] as const;
  const failed: string[] = [];
  stops.forEach((r, i) => {
    const s = state[names[i]];
    if (!s) return;
    if (r.status === 'rejected') failed.push(`${names[i]} (pid ${s.pid}): ${(r.reason as Error).message}`);
    else io.out(`${names[i]}: ${r.value ? `stopped (pid ${s.pid})` : 'was not running'}`);
  });
  if (failed.length) throw new CliError('could not stop the dev stack', EXIT.UNAVAILABLE, failed);
  removeDevState();
  if (state.temporal) io.out(`history kept in ${state.temporal.dbFile}`);
}
