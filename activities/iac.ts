import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import { lastLine, superviseProcess, type Supervised } from '../processes/supervisor';
import { isExecutable } from '../tools/install';
import { refusedDestroys, summarizePlan, uncovered, type ReadPlan, type ShowJson } from './iac-plan';
import { clusterFromPlan } from '../contracts/cluster-record';
import { scrubSecrets } from '../audit/scrub';
import { backendRefusal, initDigest, type IacWork } from './team-code';
import { inActivity } from './wait';

import type { ApplySummary, PlanSummary } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';

/** Heartbeat details. */
export interface IacProgress {
  phase: 'init' | 'plan' | 'apply';
  resource?: string;
  action?: string;
  done: number;
  total?: number;
  message?: string;
}

export interface IacPlanInput {
  dir: string;
  /**
   * How the stack in `dir` was synthesized: a worker that does not have `dir` (another host, another pod since the
   * plan) synthesizes it again from this (activities/index.ts); without it, a missing directory is an invalid stack.
   */
  stack?: StackSource;
  binary?: string;
  /** Globs (picomatch, `[` literal) of addresses the plan may delete or replace. */
  allowDestroy: string[];
  timeoutMs: number;
  /** The team's own code: OpenTofu's working data and the plan outside `dir`, variables and backend settings (activities/team-code.ts). */
  work?: IacWork;
  /** Read from the plan what it would make of this EKS cluster (PlanSummary.planned), to compare with its record. */
  cluster?: { name: string; region: string };
}

export interface IacApplyInput {
  dir: string;
  /**
   * How the stack in `dir` was synthesized: a worker that does not have `dir` (another host, another pod since the
   * plan) synthesizes it again from this (activities/index.ts); without it, a missing directory is an invalid stack.
   */
  stack?: StackSource;
  binary?: string;
  approved: PlanSummary;
  allowDestroy: string[];
  timeoutMs: number;
  work?: IacWork;
}

/** What `synthesizeCluster` made a stack from: the same input gives the same stack (CDK for Terraform is deterministic). */
export interface StackSource {
  runbook: Runbook;
  region: string;
  runTag: string;
  /** The synthesized stack's digest (cdk.tf.json): a directory found with another content is synthesized again. */
  digest?: string;
}

export interface IacDeps {
  /** Resolves the binary: the input's binary if given, else the worker's (tools/tofu's resolveTofu). */
  binary: (preferred?: string) => Promise<string>;
  env?: NodeJS.ProcessEnv;
  /** How long an interrupted tofu may take to stop (and release its lock) before SIGKILL; default 30 s. */
  graceMs?: number;
}

const PLAN_FILE = 'drover.tfplan';
const HEARTBEAT_EVERY_MS = 5_000;
const DEFAULT_GRACE_MS = 30_000;
const CLEANUP_TIMEOUT_MS = 60_000;
// An address no configuration can hold (there is no "drover_lock_probe" provider): untaint of it only takes and releases the lock.
const LOCK_PROBE_ADDRESS = 'drover_lock_probe.probe';
const HOW_TO_CONFIGURE = "set the runbook's rebuild.binary or $DROVER_TOFU to an OpenTofu (or Terraform) binary";

type Phase = IacProgress['phase'];

/** Where and how tofu runs: the binary, the configuration's directory, and the work settings of the team's code. */
interface Target {
  bin: string;
  dir: string;
  /** Added to the worker's environment, less drover's own settings (tofuEnvironment); TF_DATA_DIR and more for the team's code. */
  env: Record<string, string>;
  /** The saved plan: in the stack directory, or in the team's code's data directory (never in their code). */
  planFile: string;
  initArgs: string[];
  planArgs: string[];
  /** The team's code: checked after init (its backend) and digested (activities/team-code.ts). */
  work?: IacWork;
}

/**
 * OpenTofu's environment: the worker's, without drover's and Temporal's own settings (TEMPORAL_*, DROVER_*: a
 * team's data "external" or provisioner runs at plan with this environment) and without the worker's TF_WORKSPACE
 * (which selects another state: "TF_WORKSPACE", https://opentofu.org/docs/cli/config/environment-variables/); then
 * the target's own settings, which may set TF_WORKSPACE from the runbook.
 */
export function tofuEnvironment(...layers: Array<NodeJS.ProcessEnv | Record<string, string> | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const layer of layers.slice(0, -1)) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (/^(TEMPORAL_|DROVER_)/i.test(k) || k === 'TF_WORKSPACE') continue;
      env[k] = v;
    }
  }
  return { ...env, ...layers.at(-1) };
}

function targetOf(bin: string, dir: string, work: IacWork | undefined): Target {
  if (!work) return { bin, dir, env: {}, planFile: path.join(dir, PLAN_FILE), initArgs: [], planArgs: [] };
  fs.mkdirSync(work.dataDir, { recursive: true });
  // One provider cache per worker ("TF_PLUGIN_CACHE_DIR", https://opentofu.org/docs/cli/config/environment-variables/);
  // OpenTofu 1.10 may use it from several inits at once.
  if (work.pluginCacheDir) fs.mkdirSync(work.pluginCacheDir, { recursive: true });
  return {
    bin,
    dir,
    work,
    env: {
      TF_DATA_DIR: work.dataDir,
      ...(work.pluginCacheDir ? { TF_PLUGIN_CACHE_DIR: work.pluginCacheDir } : {}),
      // The rebuilt region for the AWS provider and the s3 backend (a module source's root has no provider block).
      ...(work.region ? { AWS_REGION: work.region, AWS_DEFAULT_REGION: work.region } : {}),
      ...(work.workspace ? { TF_WORKSPACE: work.workspace } : {}),
    },
    planFile: path.join(work.dataDir, PLAN_FILE),
    initArgs: [...work.backendConfig.map((c) => `-backend-config=${c}`), ...(work.lockfileReadonly ? ['-lockfile=readonly'] : [])],
    planArgs: work.varFile ? [`-var-file=${work.varFile}`] : [],
  };
}

/** One line of OpenTofu's machine-readable UI (`-json`). */
interface UiEvent {
  type?: string;
  hook?: { resource?: { addr?: string }; action?: string };
  change?: { resource?: { addr?: string }; action?: string };
  changes?: { add?: number; change?: number; remove?: number };
  diagnostic?: Diagnostic;
}

interface Diagnostic {
  severity?: string;
  summary?: string;
  detail?: string;
  range?: { filename?: string; start?: { line?: number } };
}

/** How a tofu command ended (`tail`: the last 20 kB of its output, for errors without diagnostics). */
interface Outcome extends Supervised {
  diagnostics: Diagnostic[];
}

interface Invocation {
  args: string[];
  timeoutMs: number;
  /** Keep all of stdout: `show -json` and `output -json` print one document. */
  captureStdout?: boolean;
  onEvent?: (event: UiEvent) => void;
  /** Absent for the clean-up commands run after a cancellation, which must not be cancelled themselves. */
  signal?: AbortSignal;
}

interface StepOptions extends Omit<Invocation, 'signal' | 'onEvent'> {
  /** Heartbeat details for a UI event, or undefined to skip it. */
  progress?: (e: UiEvent) => IacProgress | undefined;
  /** The first heartbeat, repeated until an event says more (default: nothing done yet). */
  initial?: IacProgress;
}

/**
 * IaC activities: plan a synthesized stack with OpenTofu (or Terraform), then apply exactly the
 * approved plan. Both heartbeat progress and stop tofu gracefully when cancelled.
 */
export function createIacActivities(deps: IacDeps) {
  const graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;

  /** One tofu command in `dir`, parsing its `-json` lines as they come. Never rejects. */
  async function exec(t: Target, inv: Invocation): Promise<Outcome> {
    const diagnostics: Diagnostic[] = [];
    const run = await superviseProcess(t.bin, inv.args, {
      cwd: t.dir,
      env: tofuEnvironment(process.env, deps.env, { ...t.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', NO_COLOR: '1' }),
      timeoutMs: inv.timeoutMs,
      signal: inv.signal,
      // SIGINT: tofu stops its operations, writes state and releases the lock. SIGKILL if it will not.
      stopSignal: 'SIGINT',
      graceMs,
      captureStdout: inv.captureStdout,
      onStdoutLine: (line) => {
        const event = parseUiLine(line);
        if (!event) return;
        if (event.type === 'diagnostic' && event.diagnostic) diagnostics.push(event.diagnostic);
        inv.onEvent?.(event);
      },
    });
    return { ...run, diagnostics };
  }

  /** Resolve the binary and check it can run. */
  async function resolveBinary(preferred?: string): Promise<string> {
    let bin: string;
    try {
      bin = await deps.binary(preferred);
    } catch (e) {
      throw failure(FailureType.IacToolMissing, `no OpenTofu binary: ${firstLine((e as Error).message)}; ${HOW_TO_CONFIGURE}`);
    }
    if (!isExecutable(bin)) throw failure(FailureType.IacToolMissing, `the OpenTofu binary ${bin} is missing or not executable; ${HOW_TO_CONFIGURE}`);
    return bin;
  }

  /**
   * Run a command of `phase` with heartbeats; on cancellation or timeout make sure the state lock is
   * free, then throw. Failures of the command itself are left to the caller.
   */
  async function step(t: Target, phase: Phase, inv: StepOptions): Promise<Outcome> {
    const ctx = inActivity();
    let last: IacProgress = inv.initial ?? { phase, done: 0, message: `tofu ${inv.args[0]}` };
    ctx?.heartbeat(last);
    const ticker = setInterval(() => ctx?.heartbeat(last), HEARTBEAT_EVERY_MS);
    let outcome: Outcome;
    try {
      outcome = await exec(t, {
        ...inv,
        signal: ctx?.cancellationSignal,
        onEvent: (e) => {
          const p = inv.progress?.(e);
          if (!p) return;
          last = p;
          ctx?.heartbeat(p);
        },
      });
    } finally {
      clearInterval(ticker);
    }
    if (outcome.spawnError) {
      throw failure(FailureType.IacToolMissing, `cannot run ${t.bin} (${outcome.spawnError.code ?? outcome.spawnError.message}); ${HOW_TO_CONFIGURE}`);
    }
    if (outcome.interrupted) {
      if (phase !== 'init') await releaseLock(t);
      if (outcome.interrupted === 'cancelled') throw ctx?.cancellationSignal.reason ?? new Error(`tofu ${inv.args[0]} was cancelled`);
      const message = `tofu ${inv.args[0]} did not finish within ${seconds(inv.timeoutMs)} and was interrupted`;
      // An interrupted apply may have changed resources: a person looks before anything runs again.
      if (phase === 'apply') throw failure(FailureType.IacApplyFailed, `${message}; the state it wrote is kept`);
      throw new Error(`${message} (retried)`); // init and plan change nothing: a retry is safe
    }
    return outcome;
  }

  /**
   * After an interrupted command: take and release the state lock once. A lock a killed tofu left
   * behind (remote backends; the local backend's OS lock dies with the process) is force-unlocked.
   */
  async function releaseLock(t: Target): Promise<void> {
    const probe = await exec(t, { args: ['untaint', '-allow-missing', '-lock-timeout=0s', '-no-color', LOCK_PROBE_ADDRESS], timeoutMs: CLEANUP_TIMEOUT_MS });
    const lockId = lockIdFrom(probe.tail);
    if (probe.code === 0 || !lockId) return;
    inActivity()?.log.warn(`force-unlocking the state lock ${lockId} left by an interrupted tofu in ${t.dir}`);
    const unlock = await exec(t, { args: ['force-unlock', '-force', '-no-color', lockId], timeoutMs: CLEANUP_TIMEOUT_MS });
    if (unlock.code !== 0) inActivity()?.log.error(`tofu force-unlock ${lockId} failed: ${lastLine(unlock.tail)}`);
  }

  /**
   * `init`; for the team's code, then refuse a backend that keeps state in their directory (or cannot save a plan),
   * and return the digest of the code, lock file and modules init settled on (undefined for the built-in stack).
   */
  async function init(t: Target, timeoutMs: number): Promise<string | undefined> {
    const progress = (e: UiEvent): IacProgress | undefined => (e.type === 'diagnostic' ? { phase: 'init', done: 0, message: diagnosticTitle(e) } : undefined);
    let r = await step(t, 'init', { args: ['init', '-input=false', '-no-color', '-json', ...t.initArgs], timeoutMs, progress });
    // `init -json` is new (OpenTofu 1.10, Terraform 1.9): older binaries get the human output.
    if (r.code !== 0 && /flag provided but not defined: -json/.test(r.tail)) {
      r = await step(t, 'init', { args: ['init', '-input=false', '-no-color', ...t.initArgs], timeoutMs });
    }
    if (r.code !== 0) throw commandFailure(FailureType.IacInvalidStack, 'tofu init', r);
    if (!t.work) return undefined;
    const refused = backendRefusal(t.work.dataDir, t.work.codeDir ?? t.dir, t.work.workspace);
    if (refused) throw failure(FailureType.IacInvalidStack, refused);
    return initDigest(t.dir, t.work.dataDir);
  }

  /** `plan -out` then `show -json`: a summary of exactly what the saved plan will do. */
  async function plan(t: Target, timeoutMs: number): Promise<ReadPlan & { show: ShowJson }> {
    const planFile = t.planFile;
    let planned = 0;
    const progress = (e: UiEvent): IacProgress | undefined => {
      const resource = e.change?.resource?.addr ?? e.hook?.resource?.addr;
      if (e.type === 'planned_change') planned += 1;
      if (e.type === 'planned_change' || e.type === 'refresh_start' || e.type === 'refresh_complete') {
        return { phase: 'plan', resource, action: e.change?.action ?? e.hook?.action, done: planned, message: `${e.type} ${resource ?? ''}`.trim() };
      }
      if (e.type === 'change_summary') return { phase: 'plan', done: planned, total: planned, message: changeSummaryText(e) };
      if (e.type === 'diagnostic') return { phase: 'plan', done: planned, message: diagnosticTitle(e) };
      return undefined;
    };
    // -detailed-exitcode: 0 no changes, 2 changes, 1 error.
    const r = await step(t, 'plan', { args: ['plan', '-input=false', '-no-color', '-json', '-detailed-exitcode', ...t.planArgs, `-out=${planFile}`], timeoutMs, progress });
    if (r.code !== 0 && r.code !== 2) throw commandFailure(FailureType.IacInvalidStack, 'tofu plan', r);

    const show = await step(t, 'plan', { args: ['show', '-json', '-no-color', planFile], timeoutMs, captureStdout: true });
    if (show.code !== 0) throw commandFailure(FailureType.IacInvalidStack, 'tofu show', show);
    let parsed: ShowJson;
    try {
      parsed = JSON.parse(show.stdout) as ShowJson;
    } catch {
      throw failure(FailureType.IacInvalidStack, `tofu show -json ${planFile} printed no JSON plan: ${lastLine(show.tail)}`);
    }
    const digest = await sha256(planFile);
    if (!digest) throw failure(FailureType.IacInvalidStack, `tofu plan wrote no readable plan file ${planFile}`);
    return { ...summarizePlan(parsed, planFile, digest), show: parsed };
  }

  /** Apply a saved plan. `stale` when tofu refused it because the state moved on since it was made. */
  async function applyPlan(t: Target, planFile: string, total: number, timeoutMs: number): Promise<{ ok: boolean; stale: boolean; applied: string[]; outcome: Outcome }> {
    const applied: string[] = [];
    const progress = (e: UiEvent): IacProgress | undefined => {
      const resource = e.hook?.resource?.addr;
      if (e.type === 'apply_complete' && resource && !applied.includes(resource)) applied.push(resource);
      if (e.type?.startsWith('apply_') || e.type?.startsWith('provision_')) {
        // provision_progress carries the provisioner's output, which may hold secrets: only its type goes out.
        return { phase: 'apply', resource, action: e.hook?.action, done: applied.length, total, message: `${e.type} ${resource ?? ''}`.trim() };
      }
      if (e.type === 'change_summary') return { phase: 'apply', done: applied.length, total, message: changeSummaryText(e) };
      if (e.type === 'diagnostic') return { phase: 'apply', done: applied.length, total, message: diagnosticTitle(e) };
      return undefined;
    };
    const outcome = await step(t, 'apply', { args: ['apply', '-input=false', '-no-color', '-json', planFile], timeoutMs, progress });
    const stale = outcome.code !== 0 && outcome.diagnostics.some((d) => /^Saved plan (is stale|does not match the given state)/.test(d.summary ?? ''));
    return { ok: outcome.code === 0, stale, applied, outcome };
  }

  async function outputs(t: Target, timeoutMs: number, progress: IacProgress): Promise<Record<string, unknown>> {
    const r = await step(t, 'apply', { args: ['output', '-json', '-no-color'], timeoutMs, captureStdout: true, initial: progress });
    if (r.code !== 0) throw commandFailure(FailureType.IacApplyFailed, 'tofu output', r);
    let parsed: Record<string, { sensitive?: boolean; value?: unknown }>;
    try {
      parsed = JSON.parse(r.stdout || '{}') as typeof parsed;
    } catch {
      throw failure(FailureType.IacApplyFailed, `tofu output -json printed no JSON: ${lastLine(r.tail)}`);
    }
    return Object.fromEntries(Object.entries(parsed).map(([name, o]) => [name, o.sensitive ? '(sensitive)' : o.value]));
  }

  return {
    /** Init and plan the stack into a saved plan; refuses a plan that destroys what allowDestroy does not name. */
    async iacPlan(input: IacPlanInput): Promise<PlanSummary> {
      const t = targetOf(await resolveBinary(input.binary), checkStackDir(input.dir), input.work);
      const codeSha256 = await init(t, input.timeoutMs);
      const { summary, show } = await plan(t, input.timeoutMs);
      // Only the cluster's EKS fields leave the plan (its other planned values may hold secrets).
      const planned = input.cluster ? clusterFromPlan(show, input.cluster.name, input.cluster.region) : undefined;
      if (planned) summary.planned = planned;
      const refused = refusedDestroys(summary.toDestroy, input.allowDestroy);
      if (refused.length > 0) {
        fs.rmSync(summary.planFile, { force: true }); // a refused plan must not be applied by anyone
        throw refusal(refused, input.allowDestroy);
      }
      return codeSha256 ? { ...summary, codeSha256 } : summary;
    },

    /**
     * Apply the approved plan. On a retry whose saved plan is stale or gone (a worker died during or
     * after an apply), re-plan: nothing left means already applied; a subset of the approved changes
     * is applied; anything else is refused.
     */
    async iacApply(input: IacApplyInput): Promise<ApplySummary> {
      const started = Date.now();
      const dir = checkStackDir(input.dir);
      const approved = input.approved;
      const refused = refusedDestroys(approved.toDestroy, input.allowDestroy);
      if (refused.length > 0) throw refusal(refused, input.allowDestroy);
      const t = targetOf(await resolveBinary(input.binary), dir, input.work);
      // A retry may land on a worker that never initialised this directory; init is idempotent.
      const codeSha256 = await init(t, input.timeoutMs);
      if (approved.codeSha256 && codeSha256 !== approved.codeSha256) {
        throw failure(FailureType.IacPlanChanged, "the team's code (or a module or provider lock it uses) changed since the plan was approved; nothing was applied");
      }
      const done = async (applied: string[], total: number, alreadyApplied: boolean, replanned: boolean): Promise<ApplySummary> => {
        const o = await outputs(t, input.timeoutMs, { phase: 'apply', done: applied.length, total, message: 'reading outputs' });
        return { applied, outputs: o, alreadyApplied, replanned, durationMs: Date.now() - started };
      };

      if ((await sha256(approved.planFile)) === approved.planSha256) {
        const r = await applyPlan(t, approved.planFile, approved.changes.length, input.timeoutMs);
        if (r.ok) {
          fs.rmSync(approved.planFile, { force: true }); // applied plans are spent; a retry re-plans
          return done(r.applied, approved.changes.length, false, false);
        }
        if (!r.stale) throw commandFailure(FailureType.IacApplyFailed, 'tofu apply', r.outcome, 'the state it wrote is kept');
      }

      const fresh = await plan(t, input.timeoutMs);
      if (fresh.summary.noChanges) {
        fs.rmSync(fresh.summary.planFile, { force: true });
        return done([], 0, true, false);
      }
      const differences = uncovered(fresh, approved);
      if (differences.length > 0) {
        throw failure(FailureType.IacPlanChanged, `the stack's plan changed since it was approved; nothing more was applied: ${differences.join('; ')}`);
      }
      // Replacing what the approved plan itself created (and an interrupted apply tainted) is not a destroy to refuse.
      const approvedCreates = new Set(approved.changes.filter((c) => c.actions.join('+') === 'create').map((c) => c.address));
      const refusedNow = refusedDestroys(
        fresh.summary.toDestroy.filter((a) => !(fresh.taintedReplacements.has(a) && approvedCreates.has(a))),
        input.allowDestroy,
      );
      if (refusedNow.length > 0) throw refusal(refusedNow, input.allowDestroy);
      const r = await applyPlan(t, fresh.summary.planFile, fresh.summary.changes.length, input.timeoutMs);
      if (!r.ok) {
        const type = r.stale ? FailureType.IacPlanChanged : FailureType.IacApplyFailed;
        throw commandFailure(type, 'tofu apply (re-planned)', r.outcome, 'the state it wrote is kept');
      }
      fs.rmSync(fresh.summary.planFile, { force: true });
      return done(r.applied, fresh.summary.changes.length, false, true);
    },
  };
}

function refusal(refused: string[], allowDestroy: string[]): ApplicationFailure {
  const allowed = allowDestroy.length > 0 ? `allowDestroy is ${allowDestroy.join(', ')}` : 'allowDestroy is empty';
  return failure(FailureType.IacPlanRefused, `the plan would destroy or replace ${refused.join(', ')}, which allowDestroy does not name (${allowed}); nothing was applied`);
}

/**
 * A failed command as one line: its error diagnostics (summary: detail (file:line)), else its last
 * output line. A state locked by another run is the exception: nothing ran, so it is a plain, retried error.
 */
function commandFailure(type: FailureType, what: string, r: Outcome, after?: string): Error {
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  const lockId = lockIdFrom(r.diagnostics.map((d) => `${d.summary}\n${d.detail}`).join('\n'));
  if (lockId) return new Error(`${what}: the state is locked by another operation (lock ID ${lockId}); retrying. If no tofu is running on it, run: tofu force-unlock ${lockId}`);
  const why = errors.length > 0 ? [...new Set(errors.map(describeDiagnostic))].join('; ') : lastLine(r.tail);
  // A diagnostic may quote a value (a backend setting, a variable): secrets are redacted before it is kept.
  return failure(type, scrubSecrets(`${what} failed (exit ${r.code}): ${why}${after ? `; ${after}` : ''}`));
}

function describeDiagnostic(d: Diagnostic): string {
  const where = d.range?.filename ? ` (${d.range.filename}${d.range.start?.line ? `:${d.range.start.line}` : ''})` : '';
  const text = [d.summary, d.detail].filter(Boolean).join(': ');
  return `${oneLine(text)}${where}`;
}

function failure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message: truncate(message, 4_000), nonRetryable: true });
}

/**
 * The stack directory, absolute (tofu runs in it, so a relative plan path would point elsewhere). It
 * must hold configuration, or tofu would happily plan an empty stack that destroys everything.
 */
function checkStackDir(input: string): string {
  const dir = path.resolve(input);
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    throw failure(FailureType.IacInvalidStack, `the stack directory ${dir} does not exist or cannot be read`);
  }
  if (!files.some((f) => f.endsWith('.tf') || f.endsWith('.tf.json'))) {
    throw failure(FailureType.IacInvalidStack, `the stack directory ${dir} holds no .tf or .tf.json file (was the stack synthesized?)`);
  }
  return dir;
}

function parseUiLine(line: string): UiEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as UiEvent;
  } catch {
    return undefined;
  }
}

function changeSummaryText(e: UiEvent): string {
  const c = e.changes ?? {};
  return `${c.add ?? 0} to add, ${c.change ?? 0} to change, ${c.remove ?? 0} to destroy`;
}

/** Only a diagnostic's summary goes into heartbeats: its detail may quote values. */
function diagnosticTitle(e: UiEvent): string {
  return `${e.diagnostic?.severity ?? 'diagnostic'}: ${e.diagnostic?.summary ?? ''}`;
}

function lockIdFrom(output: string): string | undefined {
  return /Error acquiring the state lock[\s\S]*?\bID:\s+(\S+)/.exec(output)?.[1];
}

/** The file's sha256, or undefined when it cannot be read (a retry on another worker has no plan file). */
async function sha256(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Uint8Array);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
