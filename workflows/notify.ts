import { CancellationScope, ChildWorkflowFailure, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { scrubSecrets } from '../audit/scrub';
import type { Runbook } from '../runbooks/schema';
import type { AuditTrail } from './audit';
import type { PendingGate } from '../contracts/gates';
import { formatDuration } from '../contracts/duration';
import { SEARCH_ATTRIBUTES, type ListedKind } from '../contracts/ids';
import { failureMessage, failureType } from './failure';
import { notifications } from './proxies';
import { rtoVerdict, type DrillResult, type NotificationEvent, type NotificationRecord, type RunStatus, type Step } from '../contracts/run';

/**
 * Patch id: runs publish their events to the runbook's SNS topic and record their outcome as a search
 * attribute. Histories recorded before it replay without either.
 */
const NOTIFICATIONS = 'notifications-v1';


/** The JSON body of every message drover publishes. */
export interface NotificationMessage {
  version: 1;
  event: NotificationEvent;
  runbook: string;
  kind: ListedKind;
  workflowId: string;
  runId: string;
  /** Workflow time of the event, ISO 8601. */
  at: string;
  /** What happened, for people; the subject is its one-line form. */
  summary: string;
  [detail: string]: unknown;
}

/** SNS subjects: printable ASCII on one line, "less than 100 characters" (the notify activity cuts a 100th). */
const SUBJECT_MAX = 100;
/** Long texts (a preflight's list of problems) are cut: a message is a notice, the run's status has the rest. */
const TEXT_MAX = 4000;

function subjectLine(text: string): string {
  const flat = text.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length <= SUBJECT_MAX ? flat : `${flat.slice(0, SUBJECT_MAX - 3)}...`;
}

function cut(text: string): string {
  return text.length <= TEXT_MAX ? text : `${text.slice(0, TEXT_MAX - 3)}...`;
}

/** Durations in messages: whole seconds, and minutes at most (42s, 3m07s, 75m00s). */
function duration(ms: number): string {
  return formatDuration(ms, { precision: 'seconds', largestUnit: 'm' });
}

function errorOf(err: unknown): { type?: string; message: string } {
  return { type: failureType(err), message: cut(failureMessage(err)) };
}

/**
 * A run's notifications, kept by the workflow like its AuditTrail: each event is published by the
 * `notify` activity to the runbook's SNS topic, one at a time in the order the run raised them, without
 * the run waiting for it; `finished()` waits for all of them before the run returns. A publish that
 * still fails after its bounded retries is recorded (status and audit trail), never thrown. Without a
 * topic nothing is published (no activity at all). Runs started by another run (a drill's failover and
 * failback, a failover's promotion) leave `run.finished` to their parent.
 */
export class Notifier {
  /** Undefined when the runbook names no topic. */
  readonly record?: NotificationRecord;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly rb: Runbook,
    private readonly kind: ListedKind,
    private readonly trail: AuditTrail | undefined,
    /** The run's mode, and the drill it belongs to, if any (subjects and details say so). */
    private readonly context: { mode?: string; drill?: string },
  ) {
    const topicArn = rb.notifications?.snsTopicArn;
    if (topicArn) this.record = { topicArn, sent: 0, failed: [] };
  }

  /** The run's notifier, or undefined when replaying a history recorded before notifications. Call once, as the run starts. */
  static open(rb: Runbook, kind: ListedKind, trail?: AuditTrail, context: { mode?: string; drill?: string } = {}): Notifier | undefined {
    return patched(NOTIFICATIONS) ? new Notifier(rb, kind, trail, context) : undefined;
  }

  /** "unplanned failover of apnakart", "drill failback of apnakart". */
  private what(): string {
    const prefix = this.context.drill && this.kind !== 'drill' ? 'drill ' : this.context.mode === 'unplanned' ? 'unplanned ' : '';
    return `${prefix}${this.kind} of ${this.rb.name}`;
  }

  /**
   * Queue one message after those already queued. Resolves with SNS's answer, or undefined when there is
   * no topic or the publish failed for good (then recorded). Never rejects, never waits for the run.
   */
  publish(event: NotificationEvent, subject: string, summary: string, details: Record<string, unknown> = {}): Promise<{ messageId?: string; requestId?: string } | undefined> {
    const record = this.record;
    if (!record) return Promise.resolve(undefined);
    const info = workflowInfo();
    const message: NotificationMessage = scrubSecrets({
      version: 1,
      event,
      runbook: this.rb.name,
      kind: this.kind,
      workflowId: info.workflowId,
      runId: info.runId,
      at: new Date(Date.now()).toISOString(),
      summary: cut(summary),
      ...(this.context.mode ? { mode: this.context.mode } : {}),
      ...(this.context.drill ? { drill: this.context.drill } : {}),
      ...details,
    });
    const input = { topicArn: record.topicArn, region: record.topicArn.split(':')[3], subject: subjectLine(scrubSecrets(subject)), message: JSON.stringify(message) };
    // Never cancelled: a cancelled run (a drill preempted by a real failover) still says how it ended.
    const sent = this.tail
      .then(() => CancellationScope.nonCancellable(() => notifications.notify(input)))
      .then(
        (out) => {
          record.sent += 1;
          return out;
        },
        (e: unknown) => {
          const error = errorOf(e).message;
          record.failed.push({ event, error });
          this.trail?.record('notification.failed', { target: record.topicArn, detail: `${event} not published: ${error}`, after: { event, subject: input.subject } });
          this.trail?.flush();
          return undefined;
        },
      );
    this.tail = sent.then(() => undefined);
    return sent;
  }

  /** Wait until every queued message is published or given up. */
  async drain(): Promise<void> {
    await this.tail;
  }

  /** A gate started waiting for people. */
  approvalRequested(gate: PendingGate): void {
    const info = workflowInfo();
    const required = gate.required ?? 1;
    const approve = `drover approve ${info.workflowId} --gate ${gate.name} --comment "..."`;
    void this.publish(
      'approval.requested',
      `drover: ${this.what()} waits for approval at gate ${gate.name}`,
      [
        `Run ${info.workflowId} (${this.rb.name}) waits at gate "${gate.name}": ${gate.summary}`,
        `It needs ${required} approval${required === 1 ? '' : 's'} from: ${gate.approvers.join(', ')}.`,
        gate.timeoutAt ? `The gate times out at ${new Date(gate.timeoutAt).toISOString()}.` : '',
        `Approve: ${approve}`,
      ].filter(Boolean).join('\n'),
      { gate: gate.name, gateSummary: gate.summary, approvers: gate.approvers, required, requestedBy: gate.requestedBy, timeoutAt: gate.timeoutAt && new Date(gate.timeoutAt).toISOString(), onTimeout: gate.onTimeout, approve },
    );
  }

  /** A gate still waits part-way through its timeout: who is still needed. Resolves with SNS's answer, or undefined. */
  escalated(gate: PendingGate, waitedMs: number): Promise<{ messageId?: string; requestId?: string } | undefined> {
    const info = workflowInfo();
    const got = gate.approvals ?? [];
    const missing = (gate.required ?? 1) - got.length;
    const approve = `drover approve ${info.workflowId} --gate ${gate.name} --comment "..."`;
    const then = gate.onTimeout === 'proceed' && this.context.drill ? 'then the drill proceeds' : 'then the run aborts';
    return this.publish(
      'gate.escalated',
      `drover: gate ${gate.name} of ${info.workflowId} still needs ${missing} approval${missing === 1 ? '' : 's'}`,
      [
        `Run ${info.workflowId} (${this.rb.name}) has waited ${Math.round(waitedMs / 60_000)} min at gate "${gate.name}": ${gate.summary}`,
        `Approvals so far: ${got.length === 0 ? 'none' : got.map((x) => `${x.approver}${x.verified ? '' : ' (unverified)'}`).join(', ')}; ${missing} more needed from: ${gate.approvers.join(', ')}.`,
        `The gate times out at ${new Date(gate.timeoutAt ?? 0).toISOString()} (${then}).`,
        `Approve: ${approve}`,
      ].join('\n'),
      {
        gate: gate.name,
        gateSummary: gate.summary,
        waitedMs,
        approvals: got.map((x) => ({ approver: x.approver, verified: x.verified, at: new Date(x.at).toISOString() })),
        missing,
        approvers: gate.approvers,
        timeoutAt: new Date(gate.timeoutAt ?? 0).toISOString(),
        onTimeout: gate.onTimeout,
        approve,
      },
    );
  }

  /**
   * A step failed. Not for gates (their outcome is the run's: rejected or aborted), cancellations (the run
   * says it was cancelled), or a child run's failure (the child published its own failed step).
   */
  stepFailed(step: Step, err: unknown): void {
    if (step.gate || isCancellation(err) || err instanceof ChildWorkflowFailure) return;
    const info = workflowInfo();
    const error = errorOf(err);
    void this.publish('step.failed', `drover: ${this.what()}: step ${step.id} failed`, `Step ${step.id} (${step.title}) of ${info.workflowId} failed: ${error.message}`, {
      step: step.id,
      title: step.title,
      error,
      startedAt: step.startedAt && new Date(step.startedAt).toISOString(),
      endedAt: step.endedAt && new Date(step.endedAt).toISOString(),
    });
  }

  /**
   * The run ends: its outcome becomes the `DroverOutcome` search attribute (when the run was started with
   * drover's search attributes, so they are registered), `run.finished` is published (unless a parent
   * run reports it), and every queued message is published or given up before this resolves.
   */
  async finished(run: RunStatus | DrillResult): Promise<void> {
    const info = workflowInfo();
    if (info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runbook) !== undefined) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: run.phase }]);
    if (!info.parent) {
      const { subject, summary, details } = run.kind === 'drill' ? this.drillEnd(run) : this.runEnd(run);
      void this.publish('run.finished', subject, summary, details);
    }
    await this.drain();
  }

  private runEnd(s: RunStatus): { subject: string; summary: string; details: Record<string, unknown> } {
    const failed = s.steps.find((x) => x.status === 'failed');
    const endedAt = Math.max(s.startedAt, ...s.steps.map((x) => x.endedAt ?? 0));
    const outcome = s.phase === 'completed' ? `COMPLETED${s.rto ? ` (RTO ${duration(s.rto.ms)})` : ''}` : `${s.phase.toUpperCase()}${failed ? ` at ${failed.id}` : ''}`;
    const summary = [
      `${s.workflowId}: ${s.mode} ${s.kind} of ${s.runbook} ${s.fromRegion === s.targetRegion ? `in ${s.targetRegion}` : `${s.fromRegion} -> ${s.targetRegion}`} ${s.phase} after ${duration(endedAt - s.startedAt)}.`,
      s.rto ? `RTO ${duration(s.rto.ms)} (objective ${duration(s.rto.objectiveMs)}: ${rtoVerdict(s.rto.met, s.timeScale)}).` : '',
      s.error ? `${failed ? `Step ${failed.id} failed` : 'Error'}: ${s.error.message}` : '',
      s.compensations?.length ? `Left: ${s.compensations.join('; ')}` : '',
    ].filter(Boolean).join('\n');
    return {
      subject: `drover: ${this.what()} ${outcome}`,
      summary,
      details: {
        phase: s.phase,
        fromRegion: s.fromRegion,
        targetRegion: s.targetRegion,
        reason: s.reason,
        requestedBy: s.requestedBy,
        startedAt: new Date(s.startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - s.startedAt,
        rto: s.rto && { ms: s.rto.ms, objectiveMs: s.rto.objectiveMs, met: s.rto.met, gateWaitMs: s.rto.gateWaitMs, ...(s.timeScale !== undefined ? { timeScale: s.timeScale } : {}) },
        rpo: s.rpo && { lagSeconds: s.rpo.lagSeconds, observedAt: s.rpo.observedAt },
        failedStep: failed?.id,
        error: s.error && { type: s.error.type, message: cut(s.error.message) },
        compensations: s.compensations,
      },
    };
  }

  private drillEnd(d: DrillResult): { subject: string; summary: string; details: Record<string, unknown> } {
    const rto = d.failover?.rto;
    const endedAt = d.endedAt ?? Date.now();
    const outcome = d.phase === 'completed' ? `COMPLETED${rto ? ` (RTO ${duration(rto.ms)})` : ''}` : d.phase.toUpperCase();
    const summary = [
      `${d.workflowId}: ${d.trigger} drill of ${d.runbook} ${d.phase} after ${duration(endedAt - d.startedAt)}.`,
      rto ? `RTO ${duration(rto.ms)} (objective ${duration(d.objectives.rtoMs)}: ${rtoVerdict(rto.met, d.failover?.timeScale)}).` : '',
      d.refusals ? `Refused: ${d.refusals.join('; ')}` : d.failure ? d.failure : '',
      d.rollback?.length ? `Rolled back: ${d.rollback.join('; ')}` : '',
    ].filter(Boolean).join('\n');
    return {
      subject: `drover: ${this.what()} ${outcome}`,
      summary,
      details: {
        phase: d.phase,
        trigger: d.trigger,
        requestedBy: d.requestedBy,
        startedAt: new Date(d.startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - d.startedAt,
        rto: rto && { ms: rto.ms, objectiveMs: rto.objectiveMs, met: rto.met, ...(d.failover?.timeScale !== undefined ? { timeScale: d.failover.timeScale } : {}) },
        failoverId: d.failover ? d.failoverId : undefined,
        failbackId: d.failback ? d.failbackId : undefined,
        refusals: d.refusals,
        failure: d.failure && cut(d.failure),
        rollback: d.rollback,
      },
    };
  }
}
