import { ApplicationFailure, ActivityFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { FailureType } from '../contracts/failures';
import type { RunStatus } from '../contracts/run';

// What a workflow reads from a failure: its message, its type, the phase it ends a run in, a child's record.

/** The innermost, most useful message of a failure (an activity's or child's cause rather than "Activity task failed"). */
export function failureMessage(err: unknown): string {
  let e = err as Error & { cause?: unknown };
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause as Error & { cause?: unknown };
  return e?.message ?? String(err);
}

/** The status a failed child run attached to its failure (its steps and what it did), if any. */
export function childStatus(err: unknown): RunStatus | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
  const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  return details && typeof details === 'object' && 'steps' in details ? (details as RunStatus) : undefined;
}

/** The failure type of an error or of the activity failure it wraps. */
export function failureType(err: unknown): string | undefined {
  let e = err as Error & { cause?: unknown };
  while (e instanceof ActivityFailure && e.cause) e = e.cause as Error & { cause?: unknown };
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

/** The phase a run ends in after a failure of this type: rejected or aborted at a gate, else failed. */
export function failedPhase(type: string | undefined): 'rejected' | 'aborted' | 'failed' {
  return type === FailureType.ApprovalRejected ? 'rejected' : type === FailureType.ApprovalTimedOut ? 'aborted' : 'failed';
}
