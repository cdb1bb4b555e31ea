import { formatWithOptions } from 'node:util';
import type { LogEntry } from '@temporalio/worker';
import { scrubSecrets } from '../audit/scrub';
import { FailureType } from '../contracts/failures';

/**
 * Failure types that are a rule's answer, not a fault: a preflight that found a problem, a gate rejected or
 * timed out, a drill outside its window, a runbook or requester refused. The worker logs such a run's end as
 * one line; a stack trace there would only bury the reason (and suggest a bug to whoever reads the log).
 */
export const EXPECTED_FAILURES: ReadonlySet<string> = new Set<string>([
  FailureType.PreflightFailed,
  FailureType.ApprovalRejected,
  FailureType.ApprovalTimedOut,
  FailureType.DrillRefused,
  FailureType.DrillCancelled,
  FailureType.RunCancelled,
  FailureType.RunbookBusy,
  FailureType.Preempted,
  FailureType.RebuildRefused,
  FailureType.ApprovalRefused,
  FailureType.RunbookRefused,
  FailureType.RequesterUnverified,
  FailureType.IacPlanRefused,
]);

const format = formatWithOptions.bind(undefined, { colors: false });

function stamp(entry: LogEntry): string {
  return new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
}

/**
 * The failure an entry carries when it is an expected refusal: its type and message. The type is the
 * `failureType` attribute workflows/log-interceptors.ts adds (the error itself loses it crossing threads),
 * or the error's own `type` where it was logged in the worker's thread.
 */
function expectedFailure(meta: Record<string, unknown> | undefined): { type: string; message: string } | undefined {
  const error = meta?.error as { type?: unknown; message?: unknown } | undefined;
  const type = typeof meta?.failureType === 'string' ? meta.failureType : error?.type;
  if (typeof type !== 'string' || !EXPECTED_FAILURES.has(type)) return undefined;
  return { type, message: typeof error?.message === 'string' ? error.message : '' };
}

/**
 * One log entry as the worker writes it to stderr. An expected refusal is one line: time, level, message,
 * the run (workflow id, type, run id) and the failure's type and message on one line (its lines joined).
 * Anything else is written as the Temporal SDK's default logger writes it (the metadata, stack included). Both scrubbed.
 */
export function formatWorkerLog(entry: LogEntry): string {
  const head = `${stamp(entry)} [${entry.level}] ${entry.message}`;
  const refusal = expectedFailure(entry.meta);
  if (refusal) {
    const m = entry.meta ?? {};
    const run = [m.workflowId, m.workflowType && `(${String(m.workflowType)})`, m.runId && `run ${String(m.runId)}`].filter(Boolean).join(' ');
    // Scrubbed like every trail and message drover writes: a reason or a comment may carry a credential.
    const message = scrubSecrets(refusal.message.split('\n').map((l) => l.trim()).filter(Boolean).join(' '));
    return `${head}: ${run}: ${refusal.type}: ${message}`;
  }
  return entry.meta === undefined ? head : scrubSecrets(`${head} ${format(entry.meta)}`);
}

/** The worker's log function (for DefaultLogger): each entry formatted by formatWorkerLog, on stderr. */
export function workerLogFunction(entry: LogEntry): void {
  process.stderr.write(`${formatWorkerLog(entry)}\n`);
}
