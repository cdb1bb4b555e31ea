import type { GateName, Runbook } from './schema';

export * from './principals';

/** Whether a run must know its requester: a gate it may ask forbids self-approval, identities are not trusted, and no drill approves for it. */
export function requesterMustBeVerified(rb: Runbook, gates: GateName[], drillAutoApproves = false): boolean {
  const a = rb.approvals;
  if (drillAutoApproves || a.trustClientIdentity) return false;
  return gates.some((g) => a.gates.includes(g) && !(a.policies?.[g]?.selfApproval ?? false));
}

/** The gate names each kind of run may ask. */
export const GATES_OF: Record<'failover' | 'failback' | 'rebuild' | 'cleanup' | 'drill', GateName[]> = {
  failover: ['failover'],
  failback: ['failback'],
  rebuild: ['rebuild-plan', 'rebuild-force'],
  // Optional (listed in approvals.gates or not): see docs/failback.md, "Retained instances and cleanup".
  cleanup: ['cleanup'],
  drill: ['failover', 'failback'],
};

/**
 * The gate a promotion started on its own asks: the runbook's promote gate, else its failover gate (a
 * standalone promotion moves the writer as a failover does), else none. A failover's or failback's
 * promotions asked at their parent's gate.
 */
export function standalonePromoteGate(rb: Runbook): GateName | undefined {
  return (['promote', 'failover'] as const).find((g) => rb.approvals.gates.includes(g));
}

/** The gates a run of this kind (started on its own) may ask, for its runbook. */
export function gatesAsked(kind: keyof typeof GATES_OF | 'promote', rb: Runbook): GateName[] {
  if (kind !== 'promote') return GATES_OF[kind];
  const gate = standalonePromoteGate(rb);
  return gate ? [gate] : [];
}
