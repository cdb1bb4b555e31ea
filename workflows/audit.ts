import { CancellationScope, patched, workflowInfo } from '@temporalio/workflow';
import type { AuditTarget } from '../activities/audit';
import type { AuditActor, AuditDraftInput, AuditHead } from '../audit/chain';
import type { Runbook } from '../runbooks/schema';
import { failureMessage } from './failure';
import { auditWrites } from './proxies';
import type { AuditAnchor } from '../contracts/run';

/** Patch id: runs write an audit trail (histories before it replay without one). */
const AUDIT_TRAIL = 'audit-trail-v1';

/** drover's own actions: the worker's identity is not verified by drover, so it is labelled as such. */
export const DROVER_ACTOR: AuditActor = { id: 'drover-worker', verified: false };

/** Where the runbook's trail goes: its S3 bucket (with Object Lock) if it names one, and the worker's JSONL directory. */
export function auditTargets(rb: Runbook): AuditTarget[] {
  const s3 = rb.audit?.s3;
  const jsonl: AuditTarget = { kind: 'jsonl' };
  if (!s3) return [jsonl];
  return [{ kind: 's3', region: s3.region ?? rb.regions.standby, bucket: s3.bucket, prefix: s3.prefix, mode: s3.mode, retentionDays: s3.retentionDays }, jsonl];
}

type Fields = Partial<Omit<AuditDraftInput, 'at' | 'action'>>;

/**
 * A run's audit trail, kept by the workflow: events are recorded with workflow time and appended in
 * order by one activity call at a time (parallel steps feed the same queue), so the chain has no gap
 * and a retried append rewrites nothing. `drain()` waits for every append; the result carries the head.
 *
 * What goes into each append is fixed when `flush()` is called, never by when a queued append happens
 * to run, so the activity calls (and the history) depend only on the order of record and flush calls.
 */
export class AuditTrail {
  head?: AuditHead;
  private pending: AuditDraftInput[] = [];
  private tail: Promise<void> = Promise.resolve();
  private error: unknown;
  private prepared = false;

  private constructor(
    private readonly runbook: string,
    private readonly targets: AuditTarget[],
  ) {}

  /** The trail of this run, or undefined when replaying a history recorded before audit trails existed. */
  static open(rb: Runbook): AuditTrail | undefined {
    return patched(AUDIT_TRAIL) ? new AuditTrail(rb.name, auditTargets(rb)) : undefined;
  }

  /** Record an event now (workflow time); it is written by the next flush. */
  record(action: string, fields: Fields = {}): void {
    this.pending.push({ at: new Date(Date.now()).toISOString(), actor: DROVER_ACTOR, action, ...fields });
  }

  /** Queue one append of every event recorded so far, after the appends already queued. */
  flush(): void {
    const drafts = this.pending.splice(0);
    if (drafts.length === 0) return;
    this.tail = this.tail
      .then(() => this.append(drafts))
      .catch((e: unknown) => {
        this.error ??= e;
      });
  }

  /** Never cancelled: a run cancelled mid-way (a drill preempted by a real failover) still writes its trail to the end. */
  private append(drafts: AuditDraftInput[]): Promise<void> {
    return CancellationScope.nonCancellable(async () => {
      if (this.error) return;
      if (!this.prepared) {
        for (const t of this.targets) await auditWrites.prepareAuditTarget(t);
        this.prepared = true;
      }
      const info = workflowInfo();
      this.head = await auditWrites.appendAudit({ target: this.targets, runId: info.runId, workflowId: info.workflowId, runbook: this.runbook, drafts, after: this.head });
    });
  }

  /** Flush, then wait until every recorded event is written; an append that failed for good is thrown here. */
  async drain(): Promise<AuditAnchor | undefined> {
    this.flush();
    await this.tail;
    if (this.error) throw this.error;
    return this.anchor();
  }

  /**
   * What the run's record says about its trail so far: the head and count of what was written, and where the
   * S3 Object Lock copy is. `drover audit verify` checks the stored trail against it (the writer cannot rewrite it).
   */
  anchor(): AuditAnchor | undefined {
    if (!this.head) return undefined;
    const s3 = this.targets.find((t) => t.kind === 's3');
    return { head: this.head.hash, events: this.head.seq, ...(s3?.kind === 's3' ? { s3: { bucket: s3.bucket, region: s3.region, ...(s3.prefix ? { prefix: s3.prefix } : {}) } } : {}) };
  }
}

/**
 * On a failure path: write what is left of the trail, without hiding the run's own error behind an audit one.
 * The audit error is the activity's own (the trail file or bucket and why), not "Activity task failed", and it
 * is not repeated when it is what failed the run (a trail that could not be written at the run's end).
 */
export async function drainQuietly(trail: AuditTrail | undefined, status: { error?: { message: string } }): Promise<AuditAnchor | undefined> {
  try {
    return await trail?.drain();
  } catch (e) {
    const why = failureMessage(e);
    // An empty message never counts as already said ('...'.startsWith('') is true): the audit error is never dropped.
    const alreadySaid = why !== '' && status.error?.message.includes(why) === true;
    if (status.error && !alreadySaid) status.error.message += `; the audit trail could not be written: ${why || 'the error gave no reason'}`;
    return undefined;
  }
}
