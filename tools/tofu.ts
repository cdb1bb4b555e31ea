import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../config/home';
import { lastLine, runCommand } from '../processes/supervisor';
import { checkExecutable, findOnPath, isExecutable, withLock } from './install';

/** The pinned OpenTofu release, built from its Go module (the proxy is reachable where GitHub releases may not be). */
export const TOFU_PIN = { module: 'github.com/opentofu/opentofu', version: 'v1.10.10' } as const;

const TOFU_PACKAGE = `${TOFU_PIN.module}/cmd/tofu`;
const BUILD_TIMEOUT_MS = 30 * 60_000;
// What OpenTofu's own release build sets (.goreleaser.yaml): without dev=no, `tofu version` says "-dev".
const LDFLAGS = `-s -w -X '${TOFU_PIN.module}/version.dev=no'`;

type Log = (line: string) => void;

/** Where the pinned build is cached: `<toolsDir>/opentofu-<version>/tofu`. */
export function tofuPath(): string {
  return path.join(toolsDir(), `opentofu-${TOFU_PIN.version.replace(/^v/, '')}`, 'tofu');
}

/**
 * The OpenTofu binary drover runs: `$DROVER_TOFU` when set, else the cached pinned build, else a
 * fresh build with the local Go toolchain (minutes, once). Throws an Error with a one-line message.
 */
export async function ensureTofu(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const override = process.env.DROVER_TOFU;
  if (override) return checkExecutable(override, 'DROVER_TOFU');
  const bin = tofuPath();
  if (isExecutable(bin)) return bin;
  return withLock(async () => {
    if (isExecutable(bin)) return bin; // another process built it while we waited for the lock
    await buildTofu(bin, log);
    return bin;
  }, log);
}

/**
 * The OpenTofu (or Terraform) binary a rebuild runs: the runbook's if it names one, else ensureTofu().
 * The worker injects it into the IaC activities (ActivityDeps.iac.binary).
 */
export async function resolveTofu(preferred?: string): Promise<string> {
  return preferred ?? ensureTofu();
}

/**
 * `go install module@version` refuses modules whose go.mod has replace directives, and OpenTofu's has
 * some. So build from a throwaway main module that requires the pin and repeats OpenTofu's replace
 * (and godebug) directives, read from the downloaded go.mod so a new pin needs no code change.
 */
async function buildTofu(dest: string, log: Log): Promise<void> {
  const fail = (why: string) => new Error(`cannot build OpenTofu ${TOFU_PIN.version}: ${why}`);
  const go = findOnPath('go');
  if (!go) throw fail('no go toolchain is on PATH (install Go, or set DROVER_TOFU to a tofu or terraform binary)');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-tofu-build-'));
  const env = { ...process.env, GOWORK: 'off', CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod`.trim() };
  const goIn = (args: string[], timeoutMs = BUILD_TIMEOUT_MS) => runCommand(go, ['-C', work, ...args], { env, timeoutMs });
  const started = Date.now();
  try {
    log(`building OpenTofu ${TOFU_PIN.version} from Go modules into ${path.dirname(dest)} (first run only, several minutes)`);
    const download = await goIn(['mod', 'download', '-json', `${TOFU_PIN.module}@${TOFU_PIN.version}`], 10 * 60_000);
    const mod = parseJson<{ GoMod?: string; Dir?: string; Error?: string }>(download.output);
    if (download.code !== 0 || !mod?.GoMod || !mod.Dir) throw fail(`go mod download failed: ${mod?.Error ?? lastLine(download.output)}`);

    fs.writeFileSync(path.join(work, 'go.mod'), buildModule(fs.readFileSync(mod.GoMod, 'utf8')));
    // OpenTofu's go.sum pins the same dependency hashes its release used.
    fs.copyFileSync(path.join(mod.Dir, 'go.sum'), path.join(work, 'go.sum'));
    fs.chmodSync(path.join(work, 'go.sum'), 0o644); // the module cache is read-only; go get adds lines

    const get = await goIn(['get', `${TOFU_PACKAGE}@${TOFU_PIN.version}`]);
    if (get.code !== 0) throw fail(`go get failed: ${lastLine(get.output)}`);

    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const partial = `${dest}.partial-${process.pid}`;
    const build = await goIn(['build', '-trimpath', '-ldflags', LDFLAGS, '-o', partial, TOFU_PACKAGE]);
    if (build.code !== 0 || !isExecutable(partial)) throw fail(`go build failed: ${lastLine(build.output)}`);

    // stderr is mixed in (e.g. CLI configuration warnings): look for the version line itself.
    const version = await runCommand(partial, ['version'], { timeoutMs: 60_000 });
    const reported = /^OpenTofu (\S+)$/m.exec(version.output)?.[1];
    if (reported !== TOFU_PIN.version) {
      fs.rmSync(partial, { force: true });
      throw fail(`the built binary reports version ${reported ?? `unknown (${lastLine(version.output)})`}, not ${TOFU_PIN.version}`);
    }
    // Renamed last, so an interrupted build never leaves a binary that looks complete.
    fs.renameSync(partial, dest);
    log(`built OpenTofu ${TOFU_PIN.version} in ${Math.round((Date.now() - started) / 1000)} s: ${dest}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The throwaway main module: OpenTofu's go and godebug lines (they change the binary's behaviour),
 * a requirement on the pin, and OpenTofu's replace directives copied verbatim.
 */
function buildModule(upstreamGoMod: string): string {
  const { go, godebug, replace } = goModDirectives(upstreamGoMod);
  for (const r of replace) {
    // A directory replacement points inside OpenTofu's repository, which a module download does not have.
    const target = r.split('=>')[1]?.trim() ?? '';
    if (/^(\.\.?\/|\/)/.test(target)) throw new Error(`cannot build OpenTofu ${TOFU_PIN.version}: its go.mod replaces with the directory ${target}`);
  }
  return [
    'module drover.local/opentofu-build',
    '',
    ...(go ? [`go ${go}`, ''] : []),
    ...godebug.map((d) => `godebug ${d}`),
    '',
    `require ${TOFU_PIN.module} ${TOFU_PIN.version}`,
    '',
    ...replace.map((r) => `replace ${r}`),
    '',
  ].join('\n');
}

/** The go version and the bodies of the godebug and replace directives of a go.mod, single-line or in blocks. */
function goModDirectives(goMod: string): { go?: string; godebug: string[]; replace: string[] } {
  const found = { go: undefined as string | undefined, godebug: [] as string[], replace: [] as string[] };
  let block: 'godebug' | 'replace' | 'other' | undefined;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (block) {
      if (line === ')') block = undefined;
      else if (block !== 'other') found[block].push(line);
      continue;
    }
    const m = /^(\w+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, verb, rest] = m;
    const kind = verb === 'godebug' || verb === 'replace' ? verb : 'other';
    if (rest === '(') block = kind;
    else if (verb === 'go') found.go = rest;
    else if (kind !== 'other') found[kind].push(rest);
  }
  return found;
}

/** The JSON object in a go command's output (stderr is mixed in by `runCommand`). */
function parseJson<T>(output: string): T | undefined {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  try {
    return JSON.parse(output.slice(start, end + 1)) as T;
  } catch {
    return undefined;
  }
}
