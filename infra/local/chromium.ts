import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const INSTALL_COMMAND = 'apt-get update && apt-get install -y --no-install-recommends chromium';

/**
 * The path of a Chromium binary: `chromium` (or `chromium-browser`) on PATH, or Debian's package,
 * installed with apt-get on first use. Throws with the command to run when not root.
 */
export async function ensureChromium(opts: { log?: (line: string) => void } = {}): Promise<string> {
  const found = findChromium();
  if (found) return found;

  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium is not installed and installing it needs root; run: sudo sh -c '${INSTALL_COMMAND}'`);
  }
  opts.log?.(`installing Chromium: ${INSTALL_COMMAND}`);
  // Noninteractive: a debconf prompt would hang the install with no terminal to answer it.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = await run('apt-get', args, env, 15 * 60_000);
    if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.code}): ${tail(r.output)}`);
  }
  const installed = findChromium();
  if (!installed) throw new Error(`apt-get installed chromium but no chromium binary is on PATH or at /usr/bin/chromium`);
  return installed;
}

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
    }
  }
  return isExecutable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      output += `\ntimed out after ${Math.round(timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
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

function tail(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-3).join(' | ') || 'no output';
}
