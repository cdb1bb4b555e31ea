import { spawn } from 'node:child_process';

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
