import { isCancellation } from '@temporalio/workflow';
import type { AuditTrail } from './audit';
import type { Notifier } from './notify';
import type { Step } from '../contracts/run';
import { failureMessage } from './failure';

/** A step as a run declares it up front. */
export type PlannedStep = Pick<Step, 'id' | 'title'> & Partial<Pick<Step, 'group' | 'gate'>>;

/** The ordered timeline of a run: steps are declared up front so the status view shows the whole plan. */
export class Journal {
  readonly steps: Step[] = [];
  /** How many times each step has ended (recorded) in this run. */
  private readonly ends = new Map<string, number>();
  /** Checked before each step starts (a drill's failover: its drill still holds the runbook); throws to stop the run there, the step skipped. */
  private guard?: (id: string) => Promise<void>;

  constructor(
    plan: PlannedStep[],
    /** Each step's outcome is also an audit event (absent when replaying histories from before audit trails). */
    private readonly trail?: AuditTrail,
    /** A failed step is also published (absent when replaying histories from before notifications). */
    private readonly notifier?: Notifier,
    /** Told each step's end and how many times it has ended in this run (the worker's metrics: workflows/telemetry.ts); no command, so no history changes. */
    private readonly observe?: (step: Step, nth: number) => void,
  ) {
    for (const s of plan) this.steps.push({ ...s, status: 'pending', notes: [] });
  }

  private audit(step: Step): void {
    this.trail?.record(`step.${step.status}`, { detail: `${step.id}: ${step.title}`, after: { status: step.status, startedAt: step.startedAt, endedAt: step.endedAt, notes: step.notes } });
    this.trail?.flush();
    const nth = (this.ends.get(step.id) ?? 0) + 1;
    this.ends.set(step.id, nth);
    this.observe?.(step, nth);
  }

  /** Check `guard` before every step from now on. */
  guardWith(guard: (id: string) => Promise<void>): void {
    this.guard = guard;
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
    if (this.guard) {
      try {
        await this.guard(id);
      } catch (err) {
        // Never started: skipped, saying why (a compensation reads it as untouched).
        this.skip(id, `not run: ${isCancellation(err) ? 'cancelled' : failureMessage(err)}`);
        throw err;
      }
    }
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
