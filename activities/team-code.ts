import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { scrubSecrets } from '../audit/scrub';
import { FailureType } from '../contracts/failures';
import { lastLine, superviseProcess } from '../processes/supervisor';
import { forRegion, stateOf, type Runbook, type TeamCode } from '../runbooks/schema';
import { inheritedEnvironment } from './child-env';
import { inActivity } from './wait';

// "Bring your own IaC" (docs/rebuild-cluster.md): the team's own Terraform/OpenTofu root module, a pinned module
// called from a root drover writes, or their CDK for Terraform app, made ready for the same plan, gate and apply as
// the built-in stack. drover never writes into the team's directories: OpenTofu's working data, the plan and the
// variables file live in the run's own directory (TF_DATA_DIR), and the lock file is read-only.

/** How OpenTofu runs on a stack beyond its directory: where its working data goes, and what init and plan are given. */
export interface IacWork {
  /** TF_DATA_DIR: the providers, modules and backend settings init writes, and the saved plan. */
  dataDir: string;
  /** A -var-file drover wrote (the runbook's vars for the region). */
  varFile?: string;
  /** `key=value` for -backend-config. */
  backendConfig: string[];
  /** init -lockfile=readonly: the team's lock file is theirs; a provider it does not pin fails init. */
  lockfileReadonly: boolean;
  /** The rebuilt region: AWS_REGION and AWS_DEFAULT_REGION for tofu (a module source's generated root has no provider block). */
  region?: string;
  /** The team's own directory (module dir, cdktf app dir; the generated root for a module source): no state may be kept in it. */
  codeDir?: string;
  /** TF_WORKSPACE, when the runbook names one (`{region}` replaced); otherwise tofu never gets the worker's. */
  workspace?: string;
  /** TF_PLUGIN_CACHE_DIR: providers downloaded once per worker, not into every run's directory. */
  pluginCacheDir?: string;
}

/** What a prepared stack is made of: the built-in stack (synthesized) or one of the team's forms. */
export type CodeKind = 'module' | 'module-source' | 'cdktf';

export interface TeamStack {
  /** Where OpenTofu runs: the team's module directory, the root drover wrote, or the app's synthesized stack. */
  dir: string;
  stackName: string;
  kind: CodeKind;
  /** Addresses known before a plan (a CDK for Terraform stack's); empty for modules. */
  resources: string[];
  digest: string;
}

/** The kind of the runbook's code, or undefined for the built-in stack. */
export function codeKind(code: TeamCode | undefined): CodeKind | undefined {
  if (!code) return undefined;
  if ('cdktf' in code) return 'cdktf';
  return 'dir' in code.module ? 'module' : 'module-source';
}

/** The run's own directories for the team's code (under the rebuild's per-run directory). */
export function teamPaths(outdir: string): { dataDir: string; varFile: string; root: string; cdktfOut: string; synthHome: string } {
  return {
    dataDir: path.join(outdir, 'tofu-data'),
    varFile: path.join(outdir, 'drover.tfvars.json'),
    root: path.join(outdir, 'root'),
    cdktfOut: path.join(outdir, 'cdktf.out'),
    synthHome: path.join(outdir, 'synth-home'),
  };
}

function settingsOf(code: TeamCode): { vars: Record<string, unknown>; regionVars: Record<string, Record<string, unknown>> } {
  return 'cdktf' in code ? code.cdktf : code.module;
}

/** The variables for `region`: vars, then regionVars[region] over them. */
export function variablesFor(code: TeamCode, region: string): Record<string, unknown> {
  const s = settingsOf(code);
  return { ...s.vars, ...(s.regionVars[region] ?? {}) };
}

/** Where the team's providers are cached on this worker (TF_PLUGIN_CACHE_DIR), under drover's home. */
export function pluginCacheDir(home: string): string {
  return path.join(home, 'iac', 'plugin-cache');
}

/**
 * How OpenTofu runs on the team's code of `runbook` for one run (outdir: the run's directory; home: drover's home,
 * for the provider cache). Pure.
 */
export function teamWork(code: TeamCode, region: string, outdir: string, home?: string): IacWork {
  const p = teamPaths(outdir);
  const kind = codeKind(code);
  const vars = variablesFor(code, region);
  const state = stateOf(code, region);
  return {
    dataDir: p.dataDir,
    varFile: kind !== 'module-source' && Object.keys(vars).length > 0 ? p.varFile : undefined,
    // A module source's backend settings are in the root drover writes; the others complete the team's backend block.
    backendConfig: kind === 'module-source' ? [] : Object.entries(state.backend).map(([k, v]) => `${k}=${v}`),
    lockfileReadonly: kind === 'module',
    region,
    codeDir: kind === 'module-source' ? p.root : state.dir,
    ...(state.workspace ? { workspace: state.workspace } : {}),
    ...(home ? { pluginCacheDir: pluginCacheDir(home) } : {}),
  };
}

/** The synth command with `{outdir}` replaced by the run's output directory (cdktf-cli's --output). */
export function synthArgv(synth: string[], outdir: string): string[] {
  return synth.map((a) => a.replaceAll('{outdir}', outdir));
}

/** The sha256 of a stack directory's cdk.tf.json, or undefined when it cannot be read. */
export function stackDigest(dir: string): string | undefined {
  try {
    return createHash('sha256').update(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')).digest('hex');
  } catch {
    return undefined;
  }
}

/** Directories and files of a module directory that are OpenTofu's working data or state, not code. */
const NOT_CODE = /^(\.terraform|\.git|node_modules|cdktf\.out)$|\.tfstate(\.backup)?$|^\.terraform\.tfstate\.lock\.info$|\.tfplan$/;
const MAX_CODE_FILES = 20_000;

/**
 * The sha256 of a module directory's code: every file's relative path and content, in order, without OpenTofu's
 * working data and state. Another worker with another checkout of the code gets another digest. A symlink to a file
 * counts by its target's content; a symlink to a directory (or a dangling one) by its link text, never followed
 * (nothing outside `dir` is walked); none is skipped.
 */
export function codeDigest(dir: string): string {
  const hash = createHash('sha256');
  let files = 0;
  const walk = (rel: string) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (NOT_CODE.test(e.name)) continue;
      const name = path.join(rel, e.name);
      const full = path.join(dir, name);
      const count = () => {
        files += 1;
        if (files > MAX_CODE_FILES) throw new Error(`${dir} holds more than ${MAX_CODE_FILES} files: is it the module's directory?`);
      };
      if (e.isDirectory()) walk(name);
      else if (e.isFile()) {
        count();
        hash.update(`file\0${name}\0`).update(new Uint8Array(fs.readFileSync(full))).update('\0');
      } else if (e.isSymbolicLink()) {
        count();
        const target = fs.statSync(full, { throwIfNoEntry: false });
        if (target?.isFile()) hash.update(`file\0${name}\0`).update(new Uint8Array(fs.readFileSync(full))).update('\0');
        else hash.update(`link\0${name}\0${fs.readlinkSync(full)}\0`);
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.IacInvalidStack, message, nonRetryable: true });
}

/** The root module drover writes for a pinned module source: the team's backend, and one module call with the region's variables. */
type ModuleSource = Extract<Extract<TeamCode, { module: unknown }>['module'], { source: string }>;

export function rootModule(code: ModuleSource, region: string): Record<string, unknown> {
  const state = stateOf({ module: code }, region);
  return {
    terraform: { backend: { [code.backend.type]: state.backend } },
    // The variables first: the pin comes last, whatever they are named (the runbook also refuses those names).
    module: { cluster: { ...variablesFor({ module: code }, region), source: code.source, ...(code.version ? { version: code.version } : {}) } },
  };
}

/** Write a file whole: a temporary name renamed over it (a killed worker leaves no half file). */
function writeWhole(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

/**
 * Make the team's code ready for plan: check its directory, write the variables (or the root for a module source),
 * or run the CDK for Terraform app's synth into the run's directory. Same code, same result: safe to repeat.
 */
export async function prepareTeamCode(input: { runbook: Runbook; region: string; outdir: string; env?: NodeJS.ProcessEnv }): Promise<TeamStack> {
  const code = input.runbook.rebuild?.code;
  if (!code) throw invalid(`runbook ${input.runbook.name} names no code of its own (rebuild.code)`);
  const p = teamPaths(input.outdir);
  fs.mkdirSync(p.dataDir, { recursive: true });
  const vars = variablesFor(code, input.region);
  const writeVars = () => {
    if (Object.keys(vars).length > 0) writeWhole(p.varFile, `${JSON.stringify(vars, null, 2)}\n`);
  };

  if ('module' in code && 'dir' in code.module) {
    const dir = forRegion(code.module.dir, input.region);
    const at = 'rebuild.code.module.dir';
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw invalid(`${at}: ${dir} is not a directory on this worker; nothing was planned`);
    if (!fs.readdirSync(dir).some((f) => f.endsWith('.tf') || f.endsWith('.tf.json'))) throw invalid(`${at}: ${dir} holds no .tf or .tf.json file: it is not a root module; nothing was planned`);
    writeVars();
    return { dir, stackName: path.basename(dir), kind: 'module', resources: [], digest: codeDigest(dir) };
  }

  if ('module' in code && 'source' in code.module) {
    fs.mkdirSync(p.root, { recursive: true });
    const text = `${JSON.stringify(rootModule(code.module, input.region), null, 2)}\n`;
    writeWhole(path.join(p.root, 'main.tf.json'), text);
    // The root drover wrote, not its directory: init writes the lock file there (the digest after init covers it).
    const digest = createHash('sha256').update(text).digest('hex');
    return { dir: p.root, stackName: `module ${code.module.source}${code.module.version ? ` ${code.module.version}` : ''}`, kind: 'module-source', resources: [], digest };
  }

  const app = (code as Extract<TeamCode, { cdktf: unknown }>).cdktf;
  const at = 'rebuild.code.cdktf';
  const appDir = forRegion(app.dir, input.region);
  if (!fs.statSync(appDir, { throwIfNoEntry: false })?.isDirectory()) throw invalid(`${at}.dir: ${appDir} is not a directory on this worker; nothing was synthesized`);
  const stackName = forRegion(app.stack, input.region);
  if (!app.synth?.length) throw invalid(`${at}.synth: the runbook names no synth command; nothing was synthesized`);
  const synth = app.synth;
  const argv = synthArgv(synth, p.cdktfOut);
  fs.rmSync(p.cdktfOut, { recursive: true, force: true });
  fs.mkdirSync(p.synthHome, { recursive: true, mode: 0o700 });
  // The app's synth is the team's program: it gets the minimal environment the redeploy hook gets, never the
  // worker's credentials, with CDKTF_OUTDIR (cdktf's App writes there unless the app names another outdir).
  // `{outdir}` in its argv is the same directory (cdktf-cli's `synth --output` sets CDKTF_OUTDIR itself from it).
  const env = { ...inheritedEnvironment(input.env ?? process.env, app.passEnv), HOME: p.synthHome, CDKTF_OUTDIR: p.cdktfOut, AWS_EC2_METADATA_DISABLED: 'true' };
  const tail: string[] = [];
  const keep = (line: string) => {
    if (line.trim()) tail.splice(0, Math.max(0, tail.push(line) - 20));
  };
  const ctx = inActivity();
  const beat = setInterval(() => ctx?.heartbeat({ phase: 'synth', command: argv[0] }), 5_000);
  let r;
  try {
    r = await superviseProcess(argv[0], argv.slice(1), { cwd: appDir, env, timeoutMs: app.timeout, signal: ctx?.cancellationSignal, stopSignal: 'SIGTERM', graceMs: 10_000, onStdoutLine: keep, onStderrLine: keep });
  } finally {
    clearInterval(beat);
  }
  if (r.spawnError) throw invalid(`${at}.synth: cannot run ${argv[0]} (${r.spawnError.code ?? r.spawnError.message}); nothing was synthesized`);
  if (r.interrupted === 'cancelled') throw ctx?.cancellationSignal.reason ?? new Error('cancelled');
  if (r.interrupted) throw new Error(`${at}.synth: ${synth.join(' ')} did not finish within ${Math.round(app.timeout / 1000)} s (retried)`);
  // The line that says what went wrong: the last error line (a stack trace and a runtime banner follow it), else the last line.
  const lines = scrubSecrets(tail.join('\n')).split('\n');
  const said = [...lines].reverse().find((l) => /^\s*(\w*Error\b|error\b)/i.test(l))?.trim() ?? lines.at(-1) ?? lastLine(r.tail);
  if (r.code !== 0) throw invalid(`${at}.synth: ${synth.join(' ')} exited ${r.code}: ${said}; nothing was planned`);
  const stackDir = path.join(p.cdktfOut, 'stacks', stackName);
  const file = path.join(stackDir, 'cdk.tf.json');
  if (!fs.existsSync(file)) {
    const stacks = fs.existsSync(path.join(p.cdktfOut, 'stacks')) ? fs.readdirSync(path.join(p.cdktfOut, 'stacks')) : [];
    throw invalid(`${at}.stack: the app synthesized no stack ${stackName} into $CDKTF_OUTDIR (${stacks.length ? `it has ${stacks.join(', ')}` : 'it wrote no stack there: does its App name another outdir?'}); nothing was planned`);
  }
  writeVars();
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { resource?: Record<string, Record<string, unknown>> };
  const resources = Object.entries(json.resource ?? {})
    .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`))
    .sort();
  // The synthesized stack's cdk.tf.json: what a worker that finds the stack directory compares (activities/index.ts);
  // the lock file init writes next to it is covered by the digest after init (activities/iac.ts).
  return { dir: stackDir, stackName, kind: 'cdktf', resources, digest: stackDigest(stackDir) ?? '' };
}

/**
 * The digest of what OpenTofu will run after `init`: the working directory's code (`dir`), its lock file, and every
 * module init installed or found, as `<dataDir>/modules/modules.json` lists them (`Modules[].Dir`, relative to the
 * working directory: local `../x` modules and the downloaded ones under the data directory). A plan approved on one
 * digest is applied on the same one: a moved module or provider lock in between refuses the apply.
 */
export function initDigest(dir: string, dataDir: string): string {
  const hash = createHash('sha256');
  hash.update(`code\0${codeDigest(dir)}\0`);
  const lock = path.join(dir, '.terraform.lock.hcl');
  if (fs.existsSync(lock)) hash.update('lock\0').update(new Uint8Array(fs.readFileSync(lock))).update('\0');
  let modules: Array<{ Key?: string; Dir?: string }> = [];
  try {
    modules = (JSON.parse(fs.readFileSync(path.join(dataDir, 'modules', 'modules.json'), 'utf8')) as { Modules?: typeof modules }).Modules ?? [];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // no module calls: init writes no manifest
  }
  const dirs = [...new Set(modules.map((m) => m.Dir).filter((d): d is string => !!d).map((d) => path.resolve(dir, d)))].filter((d) => d !== path.resolve(dir)).sort();
  for (const d of dirs) hash.update(`module\0${path.relative(dir, d)}\0${fs.existsSync(d) ? codeDigest(d) : 'missing'}\0`);
  return hash.digest('hex');
}

/**
 * Why the backend init recorded is not one a rebuild can use, or undefined. OpenTofu records the initialized backend
 * in `<TF_DATA_DIR>/terraform.tfstate` as `{"backend": {"type", "config"}}` (checked with OpenTofu 1.10: a
 * configuration without a backend block leaves no such file, and runs on the implied local backend, whose state is
 * `terraform.tfstate` in the working directory). State kept in the team's directory (or relative to the working
 * directory, which is the run's or the team's) is lost with the run or written into their code; `remote` and
 * `cloud` run operations remotely and cannot save a plan to apply later
 * (https://opentofu.org/docs/language/settings/backends/remote/).
 */
export function backendRefusal(dataDir: string, codeDir: string, workspace?: string): string | undefined {
  const file = path.join(dataDir, 'terraform.tfstate');
  const keepsOwn = "the team's code keeps its state in its own directory";
  const name = 'name a backend (s3, or local with an absolute path outside the code)';
  if (!fs.existsSync(file)) return `${keepsOwn} (it names no backend: OpenTofu's implied local backend writes terraform.tfstate into ${codeDir}): ${name}; nothing was planned`;
  const recorded = (JSON.parse(fs.readFileSync(file, 'utf8')) as { backend?: { type?: string; config?: Record<string, unknown> } }).backend;
  const type = recorded?.type;
  if (type === 'remote' || type === 'cloud') return `the team's code uses the ${type} backend, which runs plans remotely and cannot save a plan for drover to apply exactly as approved: use a state-only backend (s3); nothing was planned`;
  if (type !== 'local') return undefined;
  const inside = (p: string) => !path.isAbsolute(p) || path.resolve(p) === path.resolve(codeDir) || path.resolve(p).startsWith(`${path.resolve(codeDir)}${path.sep}`);
  const statePath = typeof recorded?.config?.path === 'string' ? recorded.config.path : 'terraform.tfstate';
  if (inside(statePath)) return `${keepsOwn} (local backend path ${statePath}, in ${codeDir} or relative to it): ${name}; nothing was planned`;
  if (workspace && workspace !== 'default') {
    const wsDir = typeof recorded?.config?.workspace_dir === 'string' ? recorded.config.workspace_dir : 'terraform.tfstate.d';
    if (inside(wsDir)) return `${keepsOwn} (the local backend keeps workspace ${workspace} under ${wsDir}, in ${codeDir} or relative to it): ${name}, with an absolute workspace_dir; nothing was planned`;
  }
  return undefined;
}
