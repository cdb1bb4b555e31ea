/**
 * The messages a run takes from its starters and approvers (Workflow Updates and queries), by reference
 * for the CLI and the workflows alike. Imports nothing of drover's.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { IdentityPublicKey, SealedIdentity, SignedIdentity } from './identity';

export interface ApproveArgs {
  gate: string;
  /** An identity as asserted (`--as`): accepted only when the runbook sets approvals.trustClientIdentity, and labelled unverified. */
  approver?: string;
  /** A signed STS GetCallerIdentity bound to this run, gate and decision, sealed for the worker: the approver's verified identity. */
  sealed?: SealedIdentity;
  /** The same request in clear text, as CLIs sent it before sealed identities: replayed from old histories, refused in new runs. */
  identity?: SignedIdentity;
  comment?: string;
}
export interface RejectArgs {
  gate: string;
  approver?: string;
  sealed?: SealedIdentity;
  identity?: SignedIdentity;
  reason: string;
}

/** Approve the pending gate. Rejected before it is recorded if the gate is not pending or the input malformed. */
export const approveUpdate = defineUpdate<string, [ApproveArgs]>('approve');
/** Reject the pending gate; a rejection is final and ends the run. */
export const rejectUpdate = defineUpdate<string, [RejectArgs]>('reject');

/** What a run asks of its starter at its start: a GetCallerIdentity bound to `run`, signed for `stsRegion`, sealed to `identityKey`. */
export interface RequesterChallenge {
  /** `<workflow id>/<run id>`: the binding's run. */
  run: string;
  identityKey: IdentityPublicKey;
  stsRegion: string;
  /** When the run stops waiting and ends (nothing changed). */
  expiresAt: number;
}

/** The proof a run's starter sends: its signed GetCallerIdentity (gate `*`, decision `request`), sealed for the worker. */
export interface IdentifyArgs {
  sealed: SealedIdentity;
}

/** The challenge of a run waiting for its requester's proof (undefined when it waits for none). */
export const requesterChallengeQuery = defineQuery<RequesterChallenge | undefined>('requesterChallenge');
/** Prove who started the run; the answer names the verified ARN. Refused: the run ends, nothing changed. */
export const identifyRequesterUpdate = defineUpdate<string, [IdentifyArgs]>('identifyRequester');
