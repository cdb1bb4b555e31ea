import type { GateName, Runbook } from './schema';
import { principalMatches, sameApprover, type VerifiedActor } from './approvers';
import { TIMEOUT_ACTOR, type Decision, type GateApproval, type PendingGate } from '../contracts/gates';

/**
 * A gate's policy as pure functions: what the runbook asks of a gate, whether a decision may count, what
 * the gate decides with the approvals it has, and what its timeout does. The Gates class (gates.ts) does
 * the waiting, the recording and the identity checks; the rules are here, unit-tested on their own.
 */

/** What the runbook asks of one gate (its policy, else the runbook's approvers, one approval, no self-approval, abort). */
export interface GatePolicy {
  principals: string[];
  required: number;
  selfApproval: boolean;
  timeoutMs: number;
  onTimeout: 'abort' | 'proceed';
  escalateAfterMs?: number;
  trustClientIdentity: boolean;
}

export function gatePolicy(rb: Runbook, gate: GateName, defaultTimeoutMs: number): GatePolicy {
  const a = rb.approvals;
  const p = a.policies?.[gate];
  return {
    principals: p?.principals ?? a.approvers,
    required: p?.required ?? 1,
    selfApproval: p?.selfApproval ?? false,
    timeoutMs: p?.timeout ?? defaultTimeoutMs,
    onTimeout: p?.onTimeout ?? 'abort',
    escalateAfterMs: p?.escalateAfter,
    trustClientIdentity: a.trustClientIdentity ?? false,
  };
}

/** Why a decision does not count, as the trail and the refused Update say it. */
export interface Refusal {
  kind: 'not-allowed' | 'self-approval' | 'duplicate';
  reason: string;
}

/** Everything the rules look at when an identified approver decides on the pending gate. */
export interface DecisionFacts {
  request: PendingGate;
  runbook: string;
  who: VerifiedActor;
  decision: Decision['decision'];
  /** approvals-v2: approvers are counted by seat (docs/approvals.md); before it, by the id string. */
  bySeat: boolean;
  /** The requester the run verified, if it did. */
  verifiedRequester?: VerifiedActor;
  /** The requester as given at start (`--requested-by`). */
  requestedBy?: string;
}

/**
 * Whether an approval or rejection by `who` may count on the pending gate: the approver must match one of
 * the gate's principals; an approval must not come from the requester (unless the gate allows
 * self-approval) nor from someone who already approved it. Undefined when it counts.
 */
export function refusalOf(f: DecisionFacts): Refusal | undefined {
  const { request, who } = f;
  if (!request.approvers.some((p) => principalMatches(p, who.id))) {
    return { kind: 'not-allowed', reason: `"${who.id}" is not an approver of gate ${request.name} of runbook ${f.runbook} (approvers: ${request.approvers.join(', ')})` };
  }
  if (f.decision !== 'approved') return undefined;
  const approvals = request.approvals ?? [];
  if (f.bySeat) {
    const requester = f.verifiedRequester ?? (f.requestedBy ? { id: f.requestedBy, verified: false } : undefined);
    if (!request.selfApproval && requester && sameApprover(who, requester, request.approvers)) {
      const as = requester.id === who.id ? '' : ` (as ${requester.id}; the same approver by the rules in docs/approvals.md)`;
      return { kind: 'self-approval', reason: `${who.id} requested this run${as}, and gate ${request.name} does not allow self-approval` };
    }
    const same = approvals.find((x) => sameApprover(who, { id: x.approver, verified: x.verified, userId: x.userId }, request.approvers));
    if (same) {
      const as = same.approver === who.id ? '' : ` as ${same.approver} (every session of a role whose session names are not pinned is one approver)`;
      return { kind: 'duplicate', reason: `${who.id} has already approved gate ${request.name}${as}; it needs ${request.required} distinct approvers (${approvals.length} so far)` };
    }
  } else {
    const isRequester = (f.verifiedRequester !== undefined && who.id === f.verifiedRequester.id) || (f.requestedBy !== undefined && who.id === f.requestedBy);
    if (!request.selfApproval && isRequester) return { kind: 'self-approval', reason: `${who.id} requested this run, and gate ${request.name} does not allow self-approval` };
  }
  if (approvals.some((x) => x.approver === who.id)) {
    return { kind: 'duplicate', reason: `${who.id} has already approved gate ${request.name}; it needs ${request.required} distinct approvers (${approvals.length} so far)` };
  }
  return undefined;
}

/** The decision of a gate whose approvals reached the number its policy needs: every approver, and their comments. */
export function approvedDecision(gate: string, approvals: GateApproval[]): Decision {
  const last = approvals[approvals.length - 1];
  return {
    gate,
    approver: approvals.map((x) => x.approver + (x.verified ? '' : ' (unverified)')).join(', '),
    decision: 'approved',
    at: last.at,
    comment: approvals.map((x) => x.comment).filter(Boolean).join('; ') || undefined,
    verified: approvals.every((x) => x.verified),
  };
}

/**
 * What a gate's timeout does: in a drill whose policy says `proceed`, the run goes on (a decision by
 * TIMEOUT_ACTOR); otherwise it aborts, nothing after the gate changed.
 */
export function timeoutOutcome(gate: string, p: Pick<GatePolicy, 'timeoutMs' | 'onTimeout' | 'required'>, approvals: number, drill: string | undefined, at: number):
  | { proceed: true; decision: Decision }
  | { proceed: false; detail: string; message: string } {
  const waited = `${Math.round(p.timeoutMs / 1000)}s`;
  const have = `${approvals} of ${p.required} approvals`;
  if (p.onTimeout === 'proceed' && drill) {
    return { proceed: true, decision: { gate, approver: TIMEOUT_ACTOR, decision: 'approved', at, comment: `no decision within ${waited} (${have}); the gate's policy proceeds on timeout in drills (drill ${drill})`, verified: false } };
  }
  const why = p.onTimeout === 'proceed' ? '; onTimeout "proceed" applies to drills only, so this run aborts' : '';
  return { proceed: false, detail: `gate ${gate}: no decision within ${waited} (${have})${why}`, message: `gate ${gate} was not approved within ${waited} (${have}); nothing after it was changed${why}` };
}
