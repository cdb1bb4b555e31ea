import { ApplicationFailure, CancellationScope, isCancellation, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../contracts/failures';
import { describeHolder } from '../contracts/lock';
import { long, short } from './proxies';
import type { Runbook } from '../runbooks/schema';
import { AuditTrail, drainQuietly } from './audit';
import { Gates, type GateContext } from './gates';
import { Journal, type PlannedStep } from './journal';
import { failedPhase, failureMessage, failureType } from './failure';
import { Notifier } from './notify';
import type { ListedKind } from '../contracts/ids';
import { statusQuery, type RunStatus } from '../contracts/run';
import { trustedStart, type RunbookInput, type TrustedStart } from './trusted';
import { runFinished, runStarted, stepEnded } from './telemetry';
import type { RunLabels } from '../contracts/telemetry';

/**
 * One run's lifecycle, the same for every runbook that moves something (failover, promotion, failback,
 * rebuild): `beginRun` answers the status query and resolves what the run may trust; `openRun` builds the
 * trail, notifier, journal, gates and status, registers the status query and writes `run.start`; the run
 * ends through `complete` or `fail`. The order of what these issue (patch markers, the audit flushes)
 * is the order each runbook issued before this module existed: the committed replay histories guard it.
 */

/** What a run says about itself before its runbook is resolved, and in its record. */
export type RunHead = Pick<RunStatus, 'kind' | 'mode' | 'fromRegion' | 'targetRegion' | 'reason' | 'requestedBy'>;

/** What a run shows before its runbook is resolved (and the record it ends with if the worker refuses the runbook). */
function startingStatus(run: RunHead & Pick<RunStatus, 'workflowId' | 'runId' | 'runbook' | 'startedAt'>): RunStatus {
  return { ...run, phase: 'running', decisions: [], steps: [], trafficPercent: 0 };
}

/**
 * The run's status query answers at once (with what the run was asked), then the worker resolves the
 * runbook; a refused runbook ends the run with that starting record, marked failed.
 */
export async function beginRun(input: RunbookInput, head: RunHead): Promise<TrustedStart> {
  const info = workflowInfo();
  const starting = startingStatus({ workflowId: info.workflowId, runId: info.runId, runbook: input.runbookRef?.name ?? input.runbook?.name ?? '', startedAt: info.runStartTime.getTime(), ...head });
  setHandler(statusQuery, () => starting);
  return trustedStart(input, (error) => ({ ...starting, phase: 'failed', error }));
}

export interface RunOpening {
  rb: Runbook;
  head: RunHead;
  /** What notifications call the run ("failover of apnakart"). */
  notifyAs: ListedKind;
  /** The drill this run belongs to, if any. */
  drill?: string;
  /** The timeline, declared up front. */
  plan: PlannedStep[];
  /** The run's gates: `false` for a run that asks none (a promotion its parent asked for). */
  gates: false | { autoApproveFor?: string; context: Omit<GateContext, 'notifier'> };
  /** Whether the record carries the runbook's recovery objectives (a rebuild's does not). */
  objectives: boolean;
  /** Kind-specific parts of the record (a rebuild's own record). */
  record?: Pick<RunStatus, 'rebuild'>;
  /** The --time-scale factor; below 1 the record says so (`timeScale`) and no RTO of the run is judged met. */
  timeScale?: number;
  /** The run.start audit event. */
  start: { detail: string; after: Record<string, unknown> };
}

/**
 * Patch: a run that is not a child takes its runbook's lock (contracts/lock.ts) before it changes anything; the lock
 * passes on once the run has ended. Histories from before it took none.
 */
export const RUNBOOK_LOCK = 'runbook-lock-v1';

/** The step in which a failback, a standalone promotion or a rebuild takes the runbook (a failover: preempt-drills). */
export const TAKE_RUNBOOK = 'take-runbook';
export const TAKE_RUNBOOK_STEP = { id: TAKE_RUNBOOK, title: 'Take the runbook (one run at a time; a running drill fails back first)' };

/**
 * Whether this run takes its runbook's lock: not a child (its parent holds it), not recorded before the lock
 * existed. Synchronous on purpose: a run that takes no lock must not await anything more than it did before
 * (an extra await reorders the commands of concurrent code, the audit trail's writes, in recorded histories).
 */
export function locksRunbook(): boolean {
  return !workflowInfo().parent && patched(RUNBOOK_LOCK);
}

/**
 * Take the runbook's lock for this run (`kind`, a drill or not); call only when `locksRunbook()`. Refused (another
 * real run, or a drill asking while anything runs): a typed failure, nothing changed. Returns the drills the lock
 * was taken from (the caller stops those still running before it changes anything). There is no release: the
 * lock passes from a run once that run has ended (the lock reads it), so no one can free it by asking.
 */
export async function takeRunbook(runbook: string, kind: string, drill: boolean): Promise<{ drills: string[] }> {
  const answer = await short.takeRunbook({ runbook, workflowId: workflowInfo().workflowId });
  if (!answer.granted) {
    throw ApplicationFailure.create({ type: FailureType.RunbookBusy, message: `${describeHolder(answer.heldBy, runbook)}; one run per runbook at a time, so this ${drill ? 'drill' : kind} changed nothing`, nonRetryable: true });
  }
  return { drills: answer.drills };
}

/** A run in progress: what it records to, asks, and shows. */
export class Run {
  private constructor(
    readonly trail: AuditTrail | undefined,
    readonly notifier: Notifier | undefined,
    readonly journal: Journal,
    readonly gates: Gates | undefined,
    readonly status: RunStatus,
    /** The run's labels on the worker's metrics. */
    private readonly labels: RunLabels,
  ) {}

  /** Open the run: its trail, notifier, journal, gates and status (in that order), the status query, and run.start. */
  static open(o: RunOpening): Run {
    const info = workflowInfo();
    const trail = AuditTrail.open(o.rb);
    const notifier = Notifier.open(o.rb, o.notifyAs, trail, { mode: o.head.mode, drill: o.drill });
    const labels: RunLabels = { runbook: o.rb.name, kind: o.head.kind, mode: o.head.mode, drill: Boolean(o.drill) };
    const journal = new Journal(o.plan, trail, notifier, (step, nth) => stepEnded(labels.kind, step, nth));
    const gates = o.gates ? new Gates(o.rb, trail, o.gates.autoApproveFor, { ...o.gates.context, notifier }) : undefined;
    const status: RunStatus = {
      workflowId: info.workflowId,
      runId: info.runId,
      kind: o.head.kind,
      runbook: o.rb.name,
      mode: o.head.mode,
      fromRegion: o.head.fromRegion,
      targetRegion: o.head.targetRegion,
      reason: o.head.reason,
      requestedBy: o.head.requestedBy,
      ...(o.objectives ? { objectives: { rtoMs: o.rb.objectives.rto, rpoMs: o.rb.objectives.rpo } } : {}),
      ...(o.drill ? { drill: o.drill } : {}),
      ...(o.timeScale !== undefined && o.timeScale < 1 ? { timeScale: o.timeScale } : {}),
      startedAt: info.runStartTime.getTime(),
      phase: 'running',
      decisions: gates?.decisions ?? [],
      steps: journal.steps,
      trafficPercent: 0,
      ...o.record,
      notifications: notifier?.record,
    };
    setHandler(statusQuery, () => ({ ...status, audit: status.audit ?? trail?.anchor(), currentStep: journal.current()?.id, pendingGate: gates?.pending, phase: gates?.pending ? 'waiting-approval' : status.phase }));
    trail?.record('run.start', { actor: { id: o.head.requestedBy, verified: false }, detail: o.start.detail, after: o.start.after });
    trail?.flush();
    runStarted(labels);
    return new Run(trail, notifier, journal, gates, status, labels);
  }

  /**
   * Step `take-runbook` (call only when `locksRunbook()`): take the runbook's lock (`takeRunbook`); granted over
   * drills, each still running is cancelled and this waits until it has failed back and closed, so only one run
   * changes the runbook's resources at a time.
   */
  async exclusive(kind: string): Promise<void> {
    await this.journal.run(TAKE_RUNBOOK, async () => {
      const { drills } = await takeRunbook(this.status.runbook, kind, false);
      const stopped = drills.length > 0 ? await long.preemptDrills({ runbook: this.status.runbook, drills }) : [];
      this.journal.note(TAKE_RUNBOOK, stopped.length === 0 ? 'taken: no other run holds it' : `taken from ${stopped.join(', ')}: cancelled, and failed back before this run changed anything`);
    });
  }

  /**
   * End a run that did everything: phase completed, the notification (with `notified` added to the record
   * it sends), the run.end event, and the drained trail, whose anchor the returned record carries.
   */
  async complete(end: { target?: string; after: Record<string, unknown> }, notified?: Partial<RunStatus>): Promise<RunStatus> {
    const status = this.status;
    status.phase = 'completed';
    await this.notifier?.finished(notified ? { ...status, ...notified } : status);
    this.trail?.record('run.end', end.target ? { target: end.target, after: end.after } : { after: end.after });
    try {
      status.audit = await this.trail?.drain();
    } catch (e) {
      const why = `the audit trail could not be written: ${failureMessage(e) || 'the error gave no reason'}`;
      // A child's work is done (a promotion that cannot be undone): it completes saying so, and its parent goes on
      // with the failover instead of stopping before the writer record and traffic move.
      if (workflowInfo().parent) {
        runFinished(this.labels, status);
        return { ...status, auditError: why, currentStep: undefined };
      }
      // The work is done, its evidence is not: the run fails saying so (its failure path says it once).
      throw ApplicationFailure.create({ type: failureType(e), message: why, nonRetryable: true });
    }
    runFinished(this.labels, status);
    return { ...status, currentStep: undefined };
  }

  /**
   * End a failed run the one way every run ends: phase and error from the failure (the compensation
   * appended to the message when `inMessage`), the steps never reached marked as such, the compensation
   * record (when the run keeps one), `settle` for what the kind adds to its record, the notification, the
   * run.end audit event and the drained trail; then fail the workflow with the run's record attached (the
   * CLI and drills read it from the failure details).
   */
  async fail(err: unknown, opts: { compensations?: () => string[]; inMessage?: boolean; settle?: () => void } = {}): Promise<never> {
    const { status, journal, trail, notifier } = this;
    // A cancelled run (an operator's cancel, a drill preempted, a parent cancelled) says so: it ends through
    // here like any failure (compensated, notified, its trail drained), under its own type. A parent whose
    // child ended cancelled sees the child's failure, not a cancellation: its own scope says it was cancelled.
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const type = cancelled ? FailureType.RunCancelled : failureType(err);
    status.phase = failedPhase(type);
    status.error = { type, message: cancelled ? `the run was cancelled (${failureMessage(err)})` : failureMessage(err) };
    journal.markNotRun();
    if (opts.compensations) {
      status.compensations = opts.compensations();
      if (opts.inMessage && status.compensations.length > 0) status.error.message += `; compensation: ${status.compensations.join('; ')}`;
    }
    opts.settle?.();
    await notifier?.finished(status);
    trail?.record('run.end', { after: { phase: status.phase, error: status.error, ...(opts.compensations ? { compensations: status.compensations } : {}) } });
    status.audit = await drainQuietly(trail, status);
    runFinished(this.labels, status, cancelled ? 'cancelled' : status.phase);
    throw ApplicationFailure.create({ type: type ?? 'Failed', message: status.error.message, nonRetryable: true, details: [{ ...status, currentStep: undefined }] });
  }
}
