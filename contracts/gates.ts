/**
 * What a run's approval gates show and record, as the CLI, the reports and the workflows read it: a
 * decision, an approval so far, and the pending gate. Imports nothing of drover's.
 */
import type { IdentityPublicKey } from './identity';

export interface Decision {
  gate: string;
  /** An ARN verified through STS, or an id as given (`verified` false). */
  approver: string;
  decision: 'approved' | 'rejected';
  at: number;
  comment?: string;
  /** Absent in runs recorded before verified identities. */
  verified?: boolean;
}

/** One approval a pending gate has received so far. */
export interface GateApproval {
  approver: string;
  verified: boolean;
  /** The UserId STS answered (runs since approvals-v2): a role session's role id, for counting approvers by seat. */
  userId?: string;
  at: number;
  comment?: string;
}

export interface PendingGate {
  name: string;
  /** Who may approve or reject: the policy's principals (ARNs, ARN patterns, or ids). */
  approvers: string[];
  requestedAt: number;
  summary: string;
  // Absent in runs recorded before gate policies (one approval from `approvers`).
  /** Distinct principals whose approval the gate needs. */
  required?: number;
  approvals?: GateApproval[];
  selfApproval?: boolean;
  /** The run's requester, verified or as given. */
  requestedBy?: { id: string; verified: boolean };
  /** Whether `--as` identities are accepted (labelled unverified). */
  trustClientIdentity?: boolean;
  timeoutAt?: number;
  onTimeout?: 'abort' | 'proceed';
  escalateAt?: number;
  escalatedAt?: number;
  /** The worker's public identity key: what `drover approve` seals the signed request to (runs since sealed identities). */
  identityKey?: IdentityPublicKey;
  /** Why the worker could not publish its identity key (the gate then takes `--as` only, where trusted). */
  identityKeyError?: string;
  /** Sign for STS in this region: the first of those the worker verifies at (runs since approvals-v2). */
  stsRegion?: string;
}

/** Who "approves" a drill's gate that proceeded on its timeout. */
export const TIMEOUT_ACTOR = 'drover-timeout';
