import { ApplicationFailure, ActivityFailure, ChildWorkflowFailure, isCancellation } from '@temporalio/workflow';
import { drainQuietly, type AuditTrail } from './audit';
import { FailureType } from '../contracts/failures';
import type { Notifier } from './notify';
import type { RunStatus } from './status';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** One step of a run's timeline, as the status view and the report show it. */
export interface Step {
  id: string;
  title: string;
  status: StepStatus;
  /** Workflow time (ms since epoch) the step started and ended. */
  startedAt?: number;
  endedAt?: number;
  /** Steps sharing a group ran side by side. */
  group?: string;
  /** True for approval gates: their duration is human latency. */
  gate?: boolean;
  notes: string[];
}

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

/** The ordered timeline of a run: steps are declared up front so the status view shows the whole plan. */
export class Journal {
  readonly steps: Step[] = [];

  constructor(
    plan: Array<Pick<Step, 'id' | 'title'> & Partial<Pick<Step, 'group' | 'gate'>>>,
    /** Each step's outcome is also an audit event (absent when replaying histories from before audit trails). */
    private readonly trail?: AuditTrail,
    /** A failed step is also published (absent when replaying histories from before notifications). */
    private readonly notifier?: Notifier,
  ) {
    for (const s of plan) this.steps.push({ ...s, status: 'pending', notes: [] });
  }

  private audit(step: Step): void {
    this.trail?.record(`step.${step.status}`, { detail: `${step.id}: ${step.title}`, after: { status: step.status, startedAt: step.startedAt, endedAt: step.endedAt, notes: step.notes } });
    this.trail?.flush();
  }

  get(id: string): Step {
    const step = this.steps.find((s) => s.id === id);
    if (!step) throw new Error(`unknown step ${id}`);
    return step;
  }

  note(id: string, note: string): void {
    this.get(id).notes.push(note);
  }

  /** After a failure: every step that never started says so. */
  markNotRun(): void {
    for (const s of this.steps) if (s.status === 'pending') s.notes.push('not run');
  }

  current(): Step | undefined {
    return this.steps.find((s) => s.status === 'running');
  }

  skip(id: string, why: string): void {
    const step = this.get(id);
    step.status = 'skipped';
    step.startedAt = step.endedAt = Date.now();
    step.notes.push(why);
    this.audit(step);
  }

  /** Run `fn` as step `id`, recording its start, end and outcome; failures are recorded and rethrown. */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const step = this.get(id);
    step.status = 'running';
    step.startedAt = Date.now();
    let failure: { err: unknown } | undefined;
    try {
      const out = await fn();
      step.status = 'done';
      return out;
    } catch (err) {
      step.status = 'failed';
      step.notes.push(isCancellation(err) ? 'cancelled' : failureMessage(err));
      failure = { err };
      throw err;
    } finally {
      step.endedAt = Date.now();
      this.audit(step);
      if (failure) this.notifier?.stepFailed(step, failure.err);
    }
  }
}

/**
 * End a failed run the one way every run ends: phase and error from the failure (the compensation
 * appended to the message when `inMessage`), the steps never reached marked as such, the compensation
 * record, the notification, the run.end audit event and the drained trail; then fail the workflow with
 * the run's record attached (the CLI and drills read it from the failure details).
 */
export async function failRun(
  err: unknown,
  run: { status: RunStatus; journal: Journal; trail?: AuditTrail; notifier?: Notifier },
  compensations: () => string[],
  opts: { inMessage?: boolean } = {},
): Promise<never> {
  const { status, journal, trail, notifier } = run;
  const type = failureType(err);
  status.phase = failedPhase(type);
  status.error = { type, message: failureMessage(err) };
  journal.markNotRun();
  status.compensations = compensations();
  if (opts.inMessage && status.compensations.length > 0) status.error.message += `; compensation: ${status.compensations.join('; ')}`;
  await notifier?.finished(status);
  trail?.record('run.end', { after: { phase: status.phase, error: status.error, compensations: status.compensations } });
  status.audit = await drainQuietly(trail, status);
  throw ApplicationFailure.create({ type: type ?? 'Failed', message: status.error.message, nonRetryable: true, details: [{ ...status, currentStep: undefined }] });
}
