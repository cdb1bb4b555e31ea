import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// drover's one process supervisor: commands run to their end (superviseProcess, and runCommand over it)
// and servers launched in the background (launch), with how to tell whether a process lives and stop it.

export interface SuperviseOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Aborting it stops the process (an activity's cancellation signal). */
  signal?: AbortSignal;
  /** The polite stop: SIGINT for OpenTofu (it releases its state lock), SIGTERM for hooks. SIGKILL after `graceMs`. */
  stopSignal: NodeJS.Signals;
  graceMs: number;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Keep all of stdout (a command that prints one JSON document). */
  captureStdout?: boolean;
}

export interface Supervised {
  /** The exit code; -1 when the process could not start or ended by a signal without one. */
  code: number;
  stdout: string;
  /** The last 20 kB of stdout and stderr together. */
  tail: string;
  spawnError?: NodeJS.ErrnoException;
  interrupted?: 'cancelled' | 'timed out';
}

const TAIL_BYTES = 20_000;

/**
 * Run a command to its end, line by line, with a timeout and cancellation that stop it politely
 * (`stopSignal`), then for good (SIGKILL). Never rejects: the outcome says how it ended.
 */
export function superviseProcess(cmd: string, args: string[], opts: SuperviseOptions): Promise<Supervised> {
  return new Promise((resolve) => {
    const out: Supervised = { code: -1, stdout: '', tail: '' };
    if (opts.signal?.aborted) {
      out.interrupted = 'cancelled';
      return resolve(out);
    }
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const partial = { stdout: '', stderr: '' };
    const reader = (stream: 'stdout' | 'stderr', onLine?: (line: string) => void) => (b: Buffer) => {
      const s = b.toString('utf8');
      out.tail = (out.tail + s).slice(-TAIL_BYTES);
      if (stream === 'stdout' && opts.captureStdout) out.stdout += s;
      const lines = (partial[stream] + s).split('\n');
      partial[stream] = lines.pop() ?? '';
      if (onLine) lines.forEach(onLine);
    };
    child.stdout.on('data', reader('stdout', opts.onStdoutLine));
    child.stderr.on('data', reader('stderr', opts.onStderrLine));

    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: NonNullable<Supervised['interrupted']>) => {
      if (out.interrupted) return;
      out.interrupted = why;
      child.kill(opts.stopSignal);
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.graceMs);
    };
    const onAbort = () => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = setTimeout(() => stop('timed out'), opts.timeoutMs);

    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (partial.stdout) opts.onStdoutLine?.(partial.stdout);
      if (partial.stderr) opts.onStderrLine?.(partial.stderr);
      out.code = code;
      resolve(out);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      out.spawnError = e;
      finish(-1);
    });
    // An orphaned grandchild (a provisioner's, a hook's) can hold the pipes open after the process exits.
    child.on('exit', (code) => setTimeout(() => finish(code ?? -1), 2_000).unref());
    child.on('close', (code) => finish(code ?? -1));
  });
}

export interface CommandResult {
  code: number;
  output: string;
}

/**
 * Run a command to its end (SIGKILLed after timeoutMs), keeping the last 20 kB of its output (stdout and stderr
 * together). Like any supervised command, it ends at most 2 s after the process exits, even if a process it left
 * behind still holds its output open.
 */
export async function runCommand(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<CommandResult> {
  const r = await superviseProcess(cmd, args, { env: opts.env ?? process.env, timeoutMs: opts.timeoutMs, stopSignal: 'SIGKILL', graceMs: 1_000 });
  if (r.spawnError) return { code: -1, output: `${cmd}: ${r.spawnError.message}` };
  if (r.interrupted) return { code: r.code, output: `${r.tail}\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s` };
  return { code: r.code, output: r.tail };
}

/** The line of a command's output that best explains a failure: the last one mentioning an error, else the last. */
export function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const errorLine = [...lines].reverse().find((l) => /error/i.test(l));
  return errorLine ?? lines[lines.length - 1] ?? 'no output';
}

// ---------------------------------------------------------------------------------------------
// Servers launched in the background

export interface Launched {
  pid: number;
  /** Runs `check` until its deadline, failing early (with the log tail) if the process exits first; stops the process on failure. */
  ready(timeoutMs: number, check: (deadline: number, signal: AbortSignal) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const ownedChildren = new Set<number>();
let exitHookInstalled = false;

/**
 * Start a server in the background, its output appended to `logFile`. A `detached` one outlives this process;
 * any other is killed when this process exits.
 */
export function launch(bin: string, args: string[], opts: { logFile: string; detached: boolean; name: string; env?: NodeJS.ProcessEnv }): Launched {
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
export function defaultLogFile(name: string): string {
  logDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'drover-logs-'));
  return path.join(logDir, `${name}.log`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

