import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { GateName, Runbook } from '../runbooks/schema';
import type { Decision, PendingGate } from '../contracts/gates';
import { FailureType } from '../contracts/failures';
import type { AuditTrail } from './audit';

/**
 * Gates as recorded before gate policies (patch gate-policies-v1): one approval from the runbook's
 * approvers, identities as given. Kept unchanged so the histories recorded then replay; new runs never
 * take this path.
 */

/** What a run's gates hold while one waits: the pending gate and every decision so far. */
export interface GateState {
  pending?: PendingGate;
  readonly decisions: Decision[];
}

export function validateV1(state: GateState, runbook: Runbook, gate: string, approver: string): void {
  if (!state.pending) throw new Error(`no gate is pending approval${gate ? ` (asked for "${gate}")` : ''}`);
  if (gate !== state.pending.name) throw new Error(`gate "${gate}" is not pending; the pending gate is "${state.pending.name}"`);
  if (!runbook.approvals.approvers.includes(approver)) {
    throw new Error(`"${approver}" is not an approver of runbook ${runbook.name} (approvers: ${runbook.approvals.approvers.join(', ')})`);
  }
}

export function decideV1(state: GateState, trail: AuditTrail | undefined, gate: string, approver: string, decision: Decision['decision'], comment?: string): string {
  state.decisions.push({ gate, approver, decision, at: Date.now(), comment });
  // Identities given with --as are not verified: labelled so in the trail.
  trail?.record(`gate.${decision}`, { actor: { id: approver, verified: false }, detail: `gate ${gate}${comment ? `: ${comment}` : ''}` });
  trail?.flush();
  return `${decision} gate ${gate} as ${approver}`;
}

export async function awaitOneV1(state: GateState, runbook: Runbook, trail: AuditTrail | undefined, gate: GateName, summary: string, timeoutMs: number): Promise<Decision> {
  state.pending = { name: gate, approvers: runbook.approvals.approvers, requestedAt: Date.now(), summary };
  trail?.record('gate.requested', { detail: `gate ${gate}: ${summary}`, after: { approvers: runbook.approvals.approvers } });
  trail?.flush();
  const decided = () => state.decisions.find((d) => d.gate === gate);
  try {
    const inTime = await condition(() => decided() !== undefined, timeoutMs);
    const d = decided();
    if (!inTime || !d) {
      trail?.record('gate.timeout', { detail: `gate ${gate}: no decision within ${Math.round(timeoutMs / 1000)}s` });
      trail?.flush();
      throw ApplicationFailure.create({ type: FailureType.ApprovalTimedOut, message: `gate ${gate} was not approved within ${Math.round(timeoutMs / 1000)}s; nothing after it was changed`, nonRetryable: true });
    }
    if (d.decision === 'rejected') {
      throw ApplicationFailure.create({ type: FailureType.ApprovalRejected, message: `gate ${gate} rejected by ${d.approver}: ${d.comment ?? ''}`, nonRetryable: true });
    }
    return d;
  } finally {
    state.pending = undefined;
  }
}
