import { condition, defineUpdate, setHandler, ApplicationFailure } from '@temporalio/workflow';
import type { GateName, Runbook } from '../runbooks/schema';
import type { AuditTrail } from './audit';
import type { Journal } from './journal';
import { FailureType } from './failures';

export interface ApproveArgs {
  gate: string;
  approver: string;
  comment?: string;
}
export interface RejectArgs {
  gate: string;
  approver: string;
  reason: string;
}

/** Approve the pending gate. Rejected before it is recorded if the gate is not pending or the approver not listed. */
export const approveUpdate = defineUpdate<string, [ApproveArgs]>('approve');
/** Reject the pending gate; a rejection is final and ends the run. */
export const rejectUpdate = defineUpdate<string, [RejectArgs]>('reject');

export interface Decision {
  gate: string;
  approver: string;
  decision: 'approved' | 'rejected';
  at: number;
  comment?: string;
}

export interface PendingGate {
  name: string;
  approvers: string[];
  requestedAt: number;
  summary: string;
}

/** The run's approval gates: who may decide, what is pending, and every decision taken. */
export class Gates {
  pending?: PendingGate;
  readonly decisions: Decision[] = [];

  constructor(
    private readonly runbook: Runbook,
    private readonly trail?: AuditTrail,
    /** Set in a drill whose runbook auto-approves gates: the drill's id. No human is asked. */
    private readonly autoApproveFor?: string,
  ) {
    setHandler(approveUpdate, (a) => this.decide(a.gate, a.approver, 'approved', a.comment), { validator: (a) => this.validate(a.gate, a.approver) });
    setHandler(rejectUpdate, (r) => this.decide(r.gate, r.approver, 'rejected', r.reason), {
      validator: (r) => {
        this.validate(r.gate, r.approver);
        if (!r.reason?.trim()) throw new Error('a rejection needs a reason');
      },
    });
  }

  required(gate: GateName): boolean {
    return this.runbook.approvals.gates.includes(gate);
  }

  private validate(gate: string, approver: string): void {
    if (!this.pending) throw new Error(`no gate is pending approval${gate ? ` (asked for "${gate}")` : ''}`);
    if (gate !== this.pending.name) throw new Error(`gate "${gate}" is not pending; the pending gate is "${this.pending.name}"`);
    if (!this.runbook.approvals.approvers.includes(approver)) {
      throw new Error(`"${approver}" is not an approver of runbook ${this.runbook.name} (approvers: ${this.runbook.approvals.approvers.join(', ')})`);
    }
  }

  private decide(gate: string, approver: string, decision: Decision['decision'], comment?: string): string {
    this.decisions.push({ gate, approver, decision, at: Date.now(), comment });
    // Identities given with --as are not verified: labelled so in the trail.
    this.trail?.record(`gate.${decision}`, { actor: { id: approver, verified: false }, detail: `gate ${gate}${comment ? `: ${comment}` : ''}` });
    this.trail?.flush();
    return `${decision} gate ${gate} as ${approver}`;
  }

  /** The run's gate step `gate:<name>`: skipped when the runbook needs no approval, else approved (or the run ends). */
  async step(journal: Journal, gate: GateName, summary: string, timeoutMs: number): Promise<void> {
    const id = `gate:${gate}`;
    if (!this.required(gate)) return journal.skip(id, `the runbook requires no approval for ${gate}`);
    await journal.run(id, async () => {
      const d = await this.await(gate, summary, timeoutMs);
      journal.note(id, `approved by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
    });
  }

  /** Record the automatic approval of a drill whose runbook auto-approves gates. */
  private autoApprove(gate: GateName, drill: string): Decision {
    const d: Decision = { gate, approver: 'drover-drill', decision: 'approved', at: Date.now(), comment: `automatic in drill ${drill}: the runbook auto-approves gates in drills` };
    this.decisions.push(d);
    this.trail?.record('gate.approved', { actor: { id: d.approver, verified: false }, detail: `gate ${gate}: ${d.comment}` });
    this.trail?.flush();
    return d;
  }

  /**
   * Wait for a decision on `gate`. Resolves on approval; throws a non-retryable failure on rejection
   * (ApprovalRejected) or when the timeout runs out (ApprovalTimedOut).
   */
  async await(gate: GateName, summary: string, timeoutMs: number): Promise<Decision> {
    if (this.autoApproveFor) return this.autoApprove(gate, this.autoApproveFor);
    this.pending = { name: gate, approvers: this.runbook.approvals.approvers, requestedAt: Date.now(), summary };
    this.trail?.record('gate.requested', { detail: `gate ${gate}: ${summary}`, after: { approvers: this.runbook.approvals.approvers } });
    this.trail?.flush();
    const decided = () => this.decisions.find((d) => d.gate === gate);
    try {
      const inTime = await condition(() => decided() !== undefined, timeoutMs);
      const d = decided();
      if (!inTime || !d) {
        this.trail?.record('gate.timeout', { detail: `gate ${gate}: no decision within ${Math.round(timeoutMs / 1000)}s` });
        this.trail?.flush();
        throw ApplicationFailure.create({ type: FailureType.ApprovalTimedOut, message: `gate ${gate} was not approved within ${Math.round(timeoutMs / 1000)}s; nothing after it was changed`, nonRetryable: true });
      }
      if (d.decision === 'rejected') {
        throw ApplicationFailure.create({ type: FailureType.ApprovalRejected, message: `gate ${gate} rejected by ${d.approver}: ${d.comment ?? ''}`, nonRetryable: true });
      }
      return d;
    } finally {
      this.pending = undefined;
    }
  }
}
