import { lastLine, runCommand } from '../../processes/supervisor';
import { findOnPath, isExecutable } from '../../tools/install';

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
    const r = await runCommand('apt-get', args, { env, timeoutMs: 15 * 60_000 });
    if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.code}): ${lastLine(r.output)}`);
  }
  const installed = findChromium();
  if (!installed) throw new Error(`apt-get installed chromium but no chromium binary is on PATH or at /usr/bin/chromium`);
  return installed;
}

function findChromium(): string | undefined {
  return findOnPath('chromium') ?? findOnPath('chromium-browser') ?? (isExecutable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
}
