import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RunStatus } from '../workflows/regionFailover';
import { CliError, EXIT, type CliIO, type ExitCode } from './io';
import { renderGate, renderOutcome, renderStatus, renderStep } from './render';
import { RUN_KINDS, runWorkflowId, type RunKind } from './temporal';

/** The status a run recorded: live from its query while open, from its result or failure once closed. */
export async function fetchStatus(client: Client, workflowId: string): Promise<{ status: RunStatus; closed: boolean }> {
  const handle = client.workflow.getHandle(workflowId);
  let closed: boolean;
  try {
    closed = (await handle.describe()).status.name !== 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new CliError(`no run ${workflowId}`, EXIT.NOT_FOUND, ['list runs with the Temporal Web UI, or check the runbook name']);
    throw e;
  }
  if (!closed) return { status: (await handle.query<RunStatus>('status')) as RunStatus, closed };
  try {
    return { status: (await handle.result()) as RunStatus, closed };
  } catch (e) {
    const cause = e instanceof WorkflowFailedError ? e.cause : undefined;
    const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as RunStatus | undefined) : undefined;
    if (details?.steps) return { status: details, closed };
    throw new CliError(`run ${workflowId} ended without a status: ${(cause ?? (e as Error)).message}`, EXIT.FAILED);
  }
}

/** Exit code for a run's final phase. */
export function exitCodeFor(status: RunStatus): ExitCode {
  if (status.phase === 'completed') return EXIT.OK;
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
  for (;;) {
    const { status, closed } = await fetchStatus(client, workflowId);
    if (opts.tty) {
      const lines = renderStatus(status);
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
