import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { scrubSecrets } from '../audit/scrub';
import { FailureType } from '../contracts/failures';
import { lastLine, superviseProcess } from '../processes/supervisor';
import type { Runbook, TeamCode } from '../runbooks/schema';
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

function settingsOf(code: TeamCode): { vars: Record<string, unknown>; regionVars: Record<string, Record<string, unknown>>; backendConfig: Record<string, unknown> } {
  if ('cdktf' in code) return code.cdktf;
  const m = code.module;
  return { vars: m.vars, regionVars: m.regionVars, backendConfig: 'dir' in m ? m.backendConfig : {} };
}

/** The variables for `region`: vars, then regionVars[region] over them. */
export function variablesFor(code: TeamCode, region: string): Record<string, unknown> {
  const s = settingsOf(code);
  return { ...s.vars, ...(s.regionVars[region] ?? {}) };
}

/** How OpenTofu runs on the team's code of `runbook` for one run (outdir: the run's directory). Pure. */
export function teamWork(code: TeamCode, region: string, outdir: string): IacWork {
  const p = teamPaths(outdir);
  const kind = codeKind(code);
  const vars = variablesFor(code, region);
  return {
    dataDir: p.dataDir,
    varFile: kind !== 'module-source' && Object.keys(vars).length > 0 ? p.varFile : undefined,
    backendConfig: Object.entries(settingsOf(code).backendConfig).map(([k, v]) => `${k}=${String(v)}`),
    lockfileReadonly: kind === 'module',
  };
}

/** Directories and files of a module directory that are OpenTofu's working data or state, not code. */
const NOT_CODE = /^(\.terraform|\.git|node_modules|cdktf\.out)$|\.tfstate(\.backup)?$|^\.terraform\.tfstate\.lock\.info$|\.tfplan$/;
const MAX_CODE_FILES = 20_000;

/**
 * The sha256 of a module directory's code: every file's relative path and content, in order, without OpenTofu's
 * working data and state. Another worker with another checkout of the code gets another digest.
 */
export function codeDigest(dir: string): string {
  const hash = createHash('sha256');
  let files = 0;
  const walk = (rel: string) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (NOT_CODE.test(e.name)) continue;
      const name = path.join(rel, e.name);
      if (e.isDirectory()) walk(name);
      else if (e.isFile()) {
        files += 1;
        if (files > MAX_CODE_FILES) throw new Error(`${dir} holds more than ${MAX_CODE_FILES} files: is it the module's directory?`);
        hash.update(`${name}\0`).update(new Uint8Array(fs.readFileSync(path.join(dir, name)))).update('\0');
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
  return {
    terraform: { backend: { [code.backend.type]: code.backend.config } },
    module: { cluster: { source: code.source, ...(code.version ? { version: code.version } : {}), ...variablesFor({ module: code }, region) } },
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
    const dir = code.module.dir;
    const at = 'rebuild.code.module.dir';
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw invalid(`${at}: ${dir} is not a directory on this worker; nothing was planned`);
    if (!fs.readdirSync(dir).some((f) => f.endsWith('.tf') || f.endsWith('.tf.json'))) throw invalid(`${at}: ${dir} holds no .tf or .tf.json file: it is not a root module; nothing was planned`);
    writeVars();
    return { dir, stackName: path.basename(dir), kind: 'module', resources: [], digest: codeDigest(dir) };
  }

  if ('module' in code && 'source' in code.module) {
    fs.mkdirSync(p.root, { recursive: true });
    writeWhole(path.join(p.root, 'main.tf.json'), `${JSON.stringify(rootModule(code.module, input.region), null, 2)}\n`);
    return { dir: p.root, stackName: `module ${code.module.source}${code.module.version ? ` ${code.module.version}` : ''}`, kind: 'module-source', resources: [], digest: codeDigest(p.root) };
  }

  const app = (code as Extract<TeamCode, { cdktf: unknown }>).cdktf;
  const at = 'rebuild.code.cdktf';
  if (!fs.statSync(app.dir, { throwIfNoEntry: false })?.isDirectory()) throw invalid(`${at}.dir: ${app.dir} is not a directory on this worker; nothing was synthesized`);
  const stackName = app.stack.replaceAll('{region}', input.region);
  fs.rmSync(p.cdktfOut, { recursive: true, force: true });
  fs.mkdirSync(p.synthHome, { recursive: true, mode: 0o700 });
  // The app's synth is the team's program: it gets the minimal environment the redeploy hook gets, never the
  // worker's credentials, with CDKTF_OUTDIR (cdktf's App writes there unless the app names another outdir).
  const env = { ...inheritedEnvironment(input.env ?? process.env, app.passEnv), HOME: p.synthHome, CDKTF_OUTDIR: p.cdktfOut, AWS_EC2_METADATA_DISABLED: 'true' };
  const tail: string[] = [];
  const keep = (line: string) => {
    if (line.trim()) tail.splice(0, Math.max(0, tail.push(line) - 20));
  };
  const ctx = inActivity();
  const beat = setInterval(() => ctx?.heartbeat({ phase: 'synth', command: app.synth[0] }), 5_000);
  let r;
  try {
    r = await superviseProcess(app.synth[0], app.synth.slice(1), { cwd: app.dir, env, timeoutMs: app.timeout, signal: ctx?.cancellationSignal, stopSignal: 'SIGTERM', graceMs: 10_000, onStdoutLine: keep, onStderrLine: keep });
  } finally {
    clearInterval(beat);
  }
  if (r.spawnError) throw invalid(`${at}.synth: cannot run ${app.synth[0]} (${r.spawnError.code ?? r.spawnError.message}); nothing was synthesized`);
  if (r.interrupted === 'cancelled') throw ctx?.cancellationSignal.reason ?? new Error('cancelled');
  if (r.interrupted) throw new Error(`${at}.synth: ${app.synth.join(' ')} did not finish within ${Math.round(app.timeout / 1000)} s (retried)`);
  // The line that says what went wrong: the last error line (a stack trace and a runtime banner follow it), else the last line.
  const lines = scrubSecrets(tail.join('\n')).split('\n');
  const said = [...lines].reverse().find((l) => /^\s*(\w*Error\b|error\b)/i.test(l))?.trim() ?? lines.at(-1) ?? lastLine(r.tail);
  if (r.code !== 0) throw invalid(`${at}.synth: ${app.synth.join(' ')} exited ${r.code}: ${said}; nothing was planned`);
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
  return { dir: stackDir, stackName, kind: 'cdktf', resources, digest: codeDigest(stackDir) };
}
