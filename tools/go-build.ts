import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '../config/home';
import { lastLine, runCommand } from '../processes/supervisor';
import { checkExecutable, findOnPath, isExecutable, withLock } from './install';

// Building a pinned command from its Go module: the Go module proxy is reachable where release downloads may not be.
// Used by tools/tofu.ts (OpenTofu), tools/k8s-tools.ts (Helm, kubeconform) and tools/jaeger.ts (Jaeger).

type Log = (line: string) => void;

export interface GoToolPin {
  /** What error messages call it: "Helm". */
  name: string;
  module: string;
  version: string;
  /** The main package inside the module: `${module}/cmd/helm`. */
  pkg: string;
  /** Linker flags (version stamps, as the tool's own release build sets them). */
  ldflags: string;
  /** The arguments that make the built binary print its version, and how to read it from the output. */
  versionArgs: string[];
  reportedVersion: (output: string) => string | undefined;
  /** What to do without a Go toolchain; default "install Go". */
  withoutGo?: string;
}

const BUILD_TIMEOUT_MS = 30 * 60_000;

/**
 * Build `pin.pkg` at `pin.version` into `dest`. `go install pkg@version` refuses modules whose go.mod has replace
 * directives, so (like OpenTofu's build) the build runs in a throwaway main module that requires the pin and repeats
 * the pin's go, godebug and replace lines and its go.sum; a pin without any builds the same way. The binary is renamed
 * into place only after it reports the pinned version, so an interrupted build never leaves one that looks complete.
 */
export async function buildGoTool(pin: GoToolPin, dest: string, log: Log): Promise<void> {
  const fail = (why: string) => new Error(`cannot build ${pin.name} ${pin.version}: ${why}`);
  const go = findOnPath('go');
  if (!go) throw fail(`no go toolchain is on PATH (${pin.withoutGo ?? 'install Go'})`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), `drover-${pin.name.toLowerCase()}-build-`));
  const env = { ...process.env, GOWORK: 'off', CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=mod`.trim() };
  const goIn = (args: string[], timeoutMs = BUILD_TIMEOUT_MS) => runCommand(go, ['-C', work, ...args], { env, timeoutMs });
  const started = Date.now();
  try {
    log(`building ${pin.name} ${pin.version} from Go modules into ${path.dirname(dest)} (first run only, minutes)`);
    const download = await goIn(['mod', 'download', '-json', `${pin.module}@${pin.version}`], 10 * 60_000);
    const mod = parseJson<{ GoMod?: string; Dir?: string; Error?: string }>(download.output);
    if (download.code !== 0 || !mod?.GoMod || !mod.Dir) throw fail(`go mod download failed: ${mod?.Error ?? lastLine(download.output)}`);

    fs.writeFileSync(path.join(work, 'go.mod'), mainModule(pin, fs.readFileSync(mod.GoMod, 'utf8')));
    // The pin's go.sum holds the dependency hashes its release used.
    fs.copyFileSync(path.join(mod.Dir, 'go.sum'), path.join(work, 'go.sum'));
    fs.chmodSync(path.join(work, 'go.sum'), 0o644); // the module cache is read-only; go get adds lines

    const get = await goIn(['get', `${pin.pkg}@${pin.version}`]);
    if (get.code !== 0) throw fail(`go get failed: ${lastLine(get.output)}`);

    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const partial = `${dest}.partial-${process.pid}`;
    const build = await goIn(['build', '-trimpath', '-ldflags', pin.ldflags, '-o', partial, pin.pkg]);
    if (build.code !== 0 || !isExecutable(partial)) throw fail(`go build failed: ${lastLine(build.output)}`);

    const version = await runCommand(partial, pin.versionArgs, { timeoutMs: 60_000 });
    const reported = pin.reportedVersion(version.output);
    if (reported !== pin.version) {
      fs.rmSync(partial, { force: true });
      throw fail(`the built binary reports version ${reported ?? `unknown (${lastLine(version.output)})`}, not ${pin.version}`);
    }
    fs.renameSync(partial, dest);
    log(`built ${pin.name} ${pin.version} in ${Math.round((Date.now() - started) / 1000)} s: ${dest}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The throwaway main module: the pin's go and godebug lines, a requirement on the pin, its replace lines verbatim. */
function mainModule(pin: GoToolPin, upstreamGoMod: string): string {
  const { go, godebug, replace } = goModDirectives(upstreamGoMod);
  for (const r of replace) {
    // A directory replacement points inside the tool's repository, which a module download does not have.
    const target = r.split('=>')[1]?.trim() ?? '';
    if (/^(\.\.?\/|\/)/.test(target)) throw new Error(`cannot build ${pin.name} ${pin.version}: its go.mod replaces with the directory ${target}`);
  }
  return [
    `module drover.local/${pin.name.toLowerCase()}-build`,
    '',
    ...(go ? [`go ${go}`, ''] : []),
    ...godebug.map((d) => `godebug ${d}`),
    '',
    `require ${pin.module} ${pin.version}`,
    '',
    ...replace.map((r) => `replace ${r}`),
    '',
  ].join('\n');
}

/** The go version and the bodies of the godebug and replace directives of a go.mod, single-line or in blocks. */
export function goModDirectives(goMod: string): { go?: string; godebug: string[]; replace: string[] } {
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

/** Where a pinned tool is cached: `<toolsDir>/<name>-<version>/<name>`. */
export function goToolPath(pin: GoToolPin): string {
  const bin = path.basename(pin.pkg);
  return path.join(toolsDir(), `${bin}-${pin.version.replace(/^v/, '')}`, bin);
}

/** A pinned Go tool: `$overrideVar` when set, else the cached build, else a fresh build. */
export async function ensureGoTool(pin: GoToolPin, overrideVar: string, log: Log = () => undefined): Promise<string> {
  const override = process.env[overrideVar];
  if (override) return checkExecutable(override, overrideVar);
  const bin = goToolPath(pin);
  if (isExecutable(bin)) return bin;
  // A lock of its own: a build of minutes must not hold up the quick installs (moto, Temporal) behind `.install.lock`.
  return withLock(async () => {
    if (isExecutable(bin)) return bin; // another process built it while we waited for the lock
    await buildGoTool(pin, bin, log);
    return bin;
  }, log, { name: `.${path.basename(pin.pkg)}.lock` });
}
