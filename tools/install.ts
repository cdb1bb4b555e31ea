import fs from 'node:fs';
import path from 'node:path';
import { toolsDir } from '../config/home';

// Finding executables and installing pinned tools into the tools directory, one installer at a time.

type Log = (line: string) => void;

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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
