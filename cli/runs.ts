import { QueryNotRegisteredError, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client, type WorkflowUpdateHandle, type WorkflowExecutionDescription, type WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload, type QueryDefinition } from '@temporalio/common';
import { statusQuery, type RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import { WORKFLOW_TYPES } from '../contracts/ids';
import { queuePolled } from '../activities/drills';
import { gatesAsked, requesterMustBeVerified } from '../runbooks/approvers';
import { identifyRequesterUpdate, requesterChallengeQuery, type RequesterChallenge } from '../contracts/messages';
import { ensureCallerCredentials, sealAsCaller } from './sign';
import { CliError, EXIT, type CliIO, type ExitCode } from './io';
import { renderGate, renderOutcome, renderStatus, renderStep } from './render';
import { RUN_KINDS, runWorkflowId, taskQueue, type RunKind } from './temporal';
import { startAttributes } from './visibility';
import type { InputOf, WorkflowOf } from './workflows';

const WORKER_DEADLINE_MS = 15_000;

/**
 * Run a query or update on a running workflow. Only a worker can answer one: without a worker the
 * call would wait forever, so after a deadline it fails with a clear message (exit 5).
 */
export async function answeredByWorker<T>(client: Client, workflowId: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WORKER_DEADLINE_MS;
  try {
    return await client.withDeadline(deadline, fn);
  } catch (e) {
    if (!deadlinePassed(e, deadline)) throw e;
    throw noWorkerAnswered(workflowId, taskQueue());
  }
}

/** How long a decision the worker accepted may take to be applied (the handler verifies the caller with STS). */
export const DECISION_DEADLINE_MS = 120_000;

/**
 * Whether a drover worker polls `queue` now (a poller seen in the last minute): what tells "no worker" from "a
 * worker too busy to answer in time". Unknown (the call failed) counts as no.
 */
export async function workerPolls(client: Client, queue: string): Promise<boolean> {
  return queuePolled(client, queue, 'workflow');
}

/**
 * Send a decision (an approval or a rejection) as an Update whose id is fixed by the decision itself (the signed
 * request's nonce, or a digest of the unsigned one), so a resend of the same decision is the same update, which
 * Temporal answers once (the SDK's `updateId`: "If the Server receives two Updates with the same Update Id to a
 * Workflow Execution with the same Run Id, the second Update will return a handle to the first Update"). Two stages with their own deadlines: the worker accepts it (its validator ran) within
 * 15 s, else "no worker" or "worker busy" (told apart by the task queue's pollers); then it applies it (the
 * handler verifies the caller) within 2 minutes, else "accepted, still being applied", never a failure that a
 * retry would then find already decided.
 */
export async function decideThroughWorker(
  client: Client,
  run: string,
  queue: string,
  start: () => Promise<WorkflowUpdateHandle<string>>,
): Promise<string> {
  const acceptBy = Date.now() + WORKER_DEADLINE_MS;
  let accepted: WorkflowUpdateHandle<string>;
  try {
    accepted = await client.withDeadline(acceptBy, start);
  } catch (e) {
    if (!deadlinePassed(e, acceptBy)) throw e;
    if (await workerPolls(client, queue)) {
      throw new CliError(`run ${run}'s worker is busy: it did not take up the decision within ${WORKER_DEADLINE_MS / 1000}s`, EXIT.UNAVAILABLE, [
        `the decision may still be applied: check drover status ${run} before sending it again (with --as, the same decision sent again is applied once; a signed one sent again is a new request, and the gate counts each approver once)`,
      ]);
    }
    throw noWorkerAnswered(run, queue);
  }
  const doneBy = Date.now() + DECISION_DEADLINE_MS;
  try {
    return await client.withDeadline(doneBy, () => accepted.result());
  } catch (e) {
    if (!deadlinePassed(e, doneBy)) throw e;
    throw new CliError(`run ${run} accepted the decision (update ${accepted.updateId}), but its worker did not finish applying it within ${DECISION_DEADLINE_MS / 1000}s`, EXIT.UNAVAILABLE, [
      `it is being applied: check drover status ${run}`,
    ]);
  }
}

/** A running run that no worker answered within the deadline: exit 5, with how to start one on its task queue. */
function noWorkerAnswered(workflowId: string, queue: string): CliError {
  return new CliError(`run ${workflowId} is running, but no drover worker answered within ${WORKER_DEADLINE_MS / 1000}s`, EXIT.UNAVAILABLE, [`start one with: drover worker   (task queue ${queue})`]);
}

/**
 * How early a CANCELLED may come back and still be the deadline's. The deadline goes to the server as a relative
 * `grpc-timeout` and comes back from its side, and grpc-js and Node timers count whole milliseconds, so a timer
 * can fire a millisecond or so before `Date.now()` reaches the deadline.
 */
export const DEADLINE_SLACK_MS = 100;

/**
 * Whether a call failed because its deadline passed: gRPC DEADLINE_EXCEEDED (4), or CANCELLED (1) at (or within
 * DEADLINE_SLACK_MS before) the deadline (grpc-js reports either when the deadline fires; an update call gives
 * both as WorkflowUpdateRPCTimeoutOrCancelledError). The CLI cancels no call itself.
 */
export function deadlinePassed(e: unknown, deadline: number, now: number = Date.now()): boolean {
  const code = (e as { code?: number }).code ?? (e as { cause?: { code?: number } }).cause?.code;
  if (code === 4 || e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  return code === 1 && now >= deadline - DEADLINE_SLACK_MS;
}

/**
 * What a run recorded: live from its query while it runs; once closed, its result, or the record a
 * failed run carries in its failure details (drover's workflows fail with their record attached).
 */
export async function fetchRecord<T>(
  client: Client,
  workflowId: string,
  opts: { query: QueryDefinition<T>; isRecord(value: unknown): boolean; notFound: CliError; what: string; runId?: string },
): Promise<{ record: T; closed: boolean; description: WorkflowExecutionDescription }> {
  // A run id names one execution of the workflow id (an earlier run, after the id was reused); none, the latest.
  const handle = client.workflow.getHandle(workflowId, opts.runId);
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw opts.notFound;
    throw e;
  }
  const closed = description.status.name !== 'RUNNING';
  if (!closed) return { record: await answeredByWorker(client, workflowId, () => handle.query(opts.query)), closed, description };
  try {
    return { record: (await handle.result()) as T, closed, description };
  } catch (e) {
    const cause = e instanceof WorkflowFailedError ? e.cause : undefined;
    const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
    if (opts.isRecord(details)) return { record: details as T, closed, description };
    throw new CliError(`${opts.what} ${workflowId} ended without a record: ${(cause ?? (e as Error)).message}`, EXIT.FAILED);
  }
}

/**
 * What the run's long activities last reported (heartbeats): the resource OpenTofu is working on,
 * or what a wait is waiting for. One line per pending activity that has reported, and, before it, one for a
 * pending activity whose last attempt failed (it is being retried): its name, attempt and that failure.
 */
export function activityProgress(description: WorkflowExecutionDescription): string[] {
  const lines: string[] = [];
  for (const a of description.raw.pendingActivities ?? []) {
    // An activity being retried (e.g. an audit append whose trail directory is blocked): why its last attempt failed.
    if (a.lastFailure) lines.push(`retrying ${a.activityType?.name ?? 'an activity'} (attempt ${a.attempt}): ${a.lastFailure.message || 'no reason given'}`);
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let d: Record<string, unknown>;
    try {
      d = defaultPayloadConverter.fromPayload(payload as Payload) ?? {};
    } catch {
      continue;
    }
    const str = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : undefined);
    if (str('phase')) {
      const count = str('total') ? ` (${str('done') ?? 0}/${str('total')})` : '';
      lines.push(`${str('phase')}: ${[str('resource'), str('action')].filter(Boolean).join(' ') || str('message') || 'running'}${count}`);
    } else if (str('waitingFor')) lines.push(`waiting for ${str('waitingFor')}${str('progress') ? `: ${str('progress')}` : ''}`);
  }
  return lines;
}

/** The status a run recorded: live from its query while open, from its result or failure once closed. */
export async function fetchStatus(client: Client, workflowId: string, runId?: string): Promise<{ status: RunStatus; closed: boolean; progress: string[] }> {
  const { record, closed, description } = await fetchRecord<RunStatus>(client, workflowId, {
    query: statusQuery,
    isRecord: (v) => Boolean((v as RunStatus | undefined)?.steps),
    notFound: runId ? new CliError(`no run ${runId} of ${workflowId}`, EXIT.NOT_FOUND) : new CliError(`no run ${workflowId}`, EXIT.NOT_FOUND, ['list runs with the Temporal Web UI, or check the runbook name']),
    what: 'run',
    runId,
  });
  return { status: record, closed, progress: closed ? [] : [...activityProgress(description), ...(await childProgress(client, description))] };
}

/**
 * What the run's open child runs are doing (a failover's promotion waiting for ReplicaLag 0): each child's
 * id and run, its running step, and its own progress lines (its children's too), so the parent's status
 * shows the wait instead of only "▶ Promote replica". Temporal's description lists the pending children.
 */
async function childProgress(client: Client, description: WorkflowExecutionDescription): Promise<string[]> {
  // Read side by side (a failover of many databases has a promotion child each), printed in Temporal's order.
  const each = await Promise.all(
    (description.raw.pendingChildren ?? []).map(async (child): Promise<string[]> => {
      const id = child.workflowId;
      if (!id) return [];
      // Requested but not started yet: reading its id now would show the latest run of that id, an earlier one.
      if (!child.runId) return [`child ${id}: starting`];
      try {
        const { status, progress } = await fetchStatus(client, id, child.runId);
        const step = status.steps.find((s) => s.status === 'running');
        return [`child ${id} (run ${status.runId}): ${step ? `▶ ${step.title}` : status.phase}`, ...progress.map((p) => `child ${id}: ${p}`)];
      } catch (e) {
        // Started a moment ago (no worker has run it yet), or just closed: the parent's own steps say the rest.
        return [`child ${id}: not readable now (${e instanceof CliError ? e.message : (e as Error).message})`];
      }
    }),
  );
  return each.flat();
}

/** Exit code for a run's final phase. */
export function exitCodeFor(status: RunStatus): ExitCode {
  if (status.phase === 'completed') return EXIT.OK;
  const refused: string[] = [FailureType.RebuildRefused, FailureType.RunbookRefused, FailureType.RequesterUnverified, FailureType.RunbookBusy];
  if (status.error?.type && refused.includes(status.error.type)) return EXIT.REFUSED;
  if (status.phase === 'rejected' || status.phase === 'aborted') return EXIT.REJECTED;
  return EXIT.FAILED;
}

export interface WatchOptions {
  intervalMs?: number;
  /** Redraw in place (a terminal) instead of printing changes line by line. */
  tty?: boolean;
  /** Called on each poll while a gate is pending (the demo's automatic approver). */
  onPendingGate?: (status: RunStatus) => Promise<void>;
}

/** Follow a run until it closes, printing its live step list; returns the final status. */
export async function watchRun(client: Client, workflowId: string, io: CliIO, opts: WatchOptions = {}): Promise<RunStatus> {
  let previous: string[] = [];
  const printed = new Map<string, string>();
  let gateShown: string | undefined;
  let progressShown = '';
  for (;;) {
    const { status, closed, progress } = await fetchStatus(client, workflowId);
    if (opts.tty) {
      const lines = renderStatus(status, Date.now(), progress);
      if (previous.length > 0) process.stdout.write(`\x1b[${previous.length}A\x1b[J`);
      for (const l of lines) io.out(l);
      previous = lines;
    } else {
      // A log, not a screen: print the header once, then each step when its state changes.
      if (printed.size === 0) renderStatus(status).slice(0, 2).forEach((l) => io.out(l));
      for (const step of status.steps) {
        const state = `${step.status}|${step.notes.length}`;
        if (step.status !== 'pending' && step.status !== 'running' && printed.get(step.id) !== state) {
          renderStep(step, status.startedAt).forEach((l) => io.out(l));
        }
        printed.set(step.id, state);
      }
      // What a long step is doing now (the resource OpenTofu applies), printed when it changes.
      const now = progress.join(' | ');
      if (now && now !== progressShown) progress.forEach((l) => io.out(`      … ${l}`));
      progressShown = now;
      if (status.pendingGate && gateShown !== status.pendingGate.name) renderGate(status).forEach((l) => io.out(l));
      gateShown = status.pendingGate?.name;
      if (closed) renderOutcome(status).forEach((l) => io.out(l));
    }
    if (closed) return status;
    if (status.pendingGate && opts.onPendingGate) await opts.onPendingGate(status);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

/** The latest run of a kind for a runbook: its status name and close time, or undefined if none. */
export async function latestRun(client: Client, kind: RunKind, runbook: string): Promise<{ workflowId: string; status: string; closeTime?: Date } | undefined> {
  const workflowId = runWorkflowId(kind, runbook);
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, status: d.status.name, closeTime: d.closeTime };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** Refuse (exit 3) when any run that changes this runbook's region pair is active. */
export async function refuseIfActive(client: Client, runbook: string, starting: RunKind): Promise<void> {
  for (const kind of RUN_KINDS) {
    const run = await latestRun(client, kind, runbook);
    if (run?.status === 'RUNNING') {
      throw new CliError(`a ${kind} of ${runbook} is running (${run.workflowId}); one run per runbook at a time, so this ${starting} was not started`, EXIT.REFUSED, [
        `follow it with: drover status ${run.workflowId} --watch`,
      ]);
    }
  }
}

/** The same IO with stdout redirected to stderr: live progress while --json keeps stdout for the JSON. */
export function toStderr(io: CliIO): CliIO {
  return { out: (l) => io.err(l), err: (l) => io.err(l) };
}

/** Follow a run to its end (live on stderr when --json keeps stdout for the final status) and return its exit code. */
export async function followRun(client: Client, workflowId: string, io: CliIO, json?: boolean): Promise<ExitCode> {
  const final = await watchRun(client, workflowId, json ? toStderr(io) : io, { tty: !json && process.stdout.isTTY });
  if (json) io.out(JSON.stringify(final, null, 2));
  return exitCodeFor(final);
}

export interface StartRun<K extends RunKind> {
  kind: K;
  runbook: string;
  /** The runbook as the CLI validated it (the run names it by name and digest): whether the run will ask who requested it. */
  rb: Runbook;
  /** The workflow's input; its requester and mode (default planned) also become the run's search attributes. */
  input: InputOf<K> & { requestedBy: string; mode?: string };
  /** What was started, for the "started ..." line. */
  summary: string;
  detach?: boolean;
  json?: boolean;
  /** Checked after the one-run-per-runbook check, before starting; throws a CliError to refuse. */
  precondition?: () => Promise<void>;
}

/**
 * Start a run the way every run-starting command does: refused (exit 3) while another run of the
 * runbook is active, then followed live to its end unless detached. Returns the exit code.
 */
export async function startAndFollow<K extends RunKind>(client: Client, io: CliIO, run: StartRun<K>): Promise<ExitCode> {
  await refuseIfActive(client, run.runbook, run.kind);
  await run.precondition?.();
  const prove = requesterMustBeVerified(run.rb, gatesAsked(run.kind, run.rb));
  // Checked before the start: without credentials the run would wait for a proof that never comes.
  if (prove) await ensureCallerCredentials();
  const workflowId = runWorkflowId(run.kind, run.runbook);
  const attributes = await startAttributes(client, io, { runbook: run.runbook, kind: run.kind, mode: run.input.mode ?? 'planned', requestedBy: run.input.requestedBy });
  let runId: string;
  try {
    // run.input is typed by the kind's workflow function (StartRun<K>); TypeScript cannot resolve the SDK's
    // conditional argument type for a generic K, hence the cast.
    const options = { taskQueue: taskQueue(), workflowId, args: [run.input], ...attributes } as unknown as WorkflowStartOptions<WorkflowOf<K>>;
    runId = (await client.workflow.start<WorkflowOf<K>>(WORKFLOW_TYPES[run.kind], options)).firstExecutionRunId;
  } catch (e) {
    // Another start won the race since refuseIfActive looked.
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(`a ${run.kind} of ${run.runbook} is running (${workflowId}); one run per runbook at a time, so this ${run.kind} was not started`, EXIT.REFUSED, [
        `follow it with: drover status ${workflowId} --watch`,
      ]);
    }
    throw e;
  }
  io.err(`started ${workflowId}: ${run.summary}`);
  if (prove) io.err(await proveRequester(client, workflowId, runId));
  if (run.detach) {
    io.out(workflowId);
    return EXIT.OK;
  }
  return followRun(client, workflowId, io, run.json);
}

/** How long the CLI waits for a run to ask who started it (the worker loads the runbook first). */
const CHALLENGE_WAIT_MS = 30_000;

/**
 * Prove to a run who started it: wait for the challenge the run publishes (its run id, the worker's
 * identity key, the STS region to sign for), sign a GetCallerIdentity bound to that run id with the
 * caller's AWS credentials, seal it for the worker and send it. Returns the run's answer (the verified ARN).
 */
export async function proveRequester(client: Client, workflowId: string, runId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const deadline = Date.now() + CHALLENGE_WAIT_MS;
  let challenge: RequesterChallenge | undefined;
  for (;;) {
    if ((await handle.describe()).status.name !== 'RUNNING') return 'the run ended before it asked who started it';
    try {
      challenge = await answeredByWorker(client, workflowId, () => handle.query(requesterChallengeQuery));
    } catch (e) {
      // The run registers its challenge once its runbook is loaded.
      if (!(e instanceof QueryNotRegisteredError)) throw e;
    }
    if (challenge) {
      // Sign only for the run this CLI started, whatever a query answer says.
      if (challenge.run !== `${workflowId}/${runId}`) throw new CliError(`run ${workflowId} asked for a proof bound to ${challenge.run}, not to the run just started (${runId}); nothing was signed`, EXIT.FAILED);
      break;
    }
    if (Date.now() > deadline) {
      throw new CliError(`run ${workflowId} did not ask who started it within ${CHALLENGE_WAIT_MS / 1000}s`, EXIT.UNAVAILABLE, [
        'the run waits for the proof a few minutes, then ends without changing anything;',
        `follow it with: drover status ${workflowId}`,
      ]);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const sealed = await sealAsCaller({ run: challenge.run, gate: '*', decision: 'request' }, challenge.identityKey, challenge.stsRegion);
  try {
    return await answeredByWorker(client, workflowId, () => handle.executeUpdate(identifyRequesterUpdate, { args: [{ sealed }] }));
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) {
      throw new CliError(`run ${workflowId} could not verify who started it: ${(e.cause as Error | undefined)?.message ?? e.message}`, EXIT.REFUSED, ['the run ends without changing anything']);
    }
    throw e;
  }
}
