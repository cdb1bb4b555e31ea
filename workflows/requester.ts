import { HandlerUnfinishedPolicy } from '@temporalio/common';
import { ApplicationFailure, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IdentityCheck, IdentityVerifier, VerifyIdentityInput } from '../activities/identity';
import type { Runbook } from '../runbooks/schema';
import { principalMatches, requesterPrincipals, type VerifiedActor } from '../runbooks/approvers';
import { identifyRequesterUpdate, requesterChallengeQuery, type IdentifyArgs, type RequesterChallenge } from '../contracts/messages';
import { FailureType } from '../contracts/failures';
import type { AuditTrail } from './audit';
import { checkRequesterProof } from '../contracts/gate-wire';
import { probe } from './proxies';

/** How long a run waits at its start for its requester's proof. */
export const REQUESTER_WAIT_MS = 2 * 60_000;


/** The STS regions a run's identities may be verified in when the worker names none: its runbook's, standby first (it survives the primary). */
export function runbookRegions(rb: Runbook): string[] {
  return [rb.regions.standby, rb.regions.primary];
}

/** Why an identity could not be verified, as the activity failed (STS unreachable after retries). */
export async function verifyOrRefuse(input: VerifyIdentityInput): Promise<IdentityCheck> {
  try {
    return await probe.verifyIdentity(input);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    return { ok: false, kind: 'unverifiable', reason: `STS could not verify the request: ${cause}` };
  }
}

/**
 * A run's requester, proven at its start: the run publishes a challenge (its run id, the worker's identity
 * key, the STS region to sign for); its starter answers with a sealed, signed GetCallerIdentity bound to
 * that run id; the worker verifies it through STS. One proof per run: a refused one ends the run.
 */
export class RequesterCheck {
  challenge?: RequesterChallenge;
  /** Where the worker verifies identities, once read for the challenge (the run's gates reuse it). */
  verifier?: IdentityVerifier;
  private actor?: VerifiedActor;
  private refusal?: string;
  private readonly nonces = new Set<string>();

  constructor(
    private readonly rb: Runbook,
    private readonly trail?: AuditTrail,
  ) {
    setHandler(requesterChallengeQuery, () => this.challenge);
    setHandler(identifyRequesterUpdate, (a) => this.identify(a), { validator: (a) => this.validate(a), unfinishedPolicy: HandlerUnfinishedPolicy.ABANDON });
  }

  /**
   * Wait for the starter's proof (at most REQUESTER_WAIT_MS, or the run's approval timeout if shorter) and
   * verify it; throws RequesterUnverified (nothing changed) when none is proven.
   */
  async verify(claimed: string, approvalTimeoutMs?: number): Promise<VerifiedActor> {
    const waitMs = Math.min(REQUESTER_WAIT_MS, approvalTimeoutMs ?? REQUESTER_WAIT_MS);
    const fail = (why: string): never => {
      this.trail?.record('run.requester-unverified', { actor: { id: claimed, verified: false }, detail: `the requester could not be verified: ${why}` });
      this.trail?.flush();
      throw ApplicationFailure.create({
        type: FailureType.RequesterUnverified,
        message: `the run's requester could not be verified (${why}); a gate of runbook ${this.rb.name} forbids self-approval, so the run must know who started it, and it ended before changing anything. Start it with the AWS credentials of one of its requesters: the drover CLI proves who you are`,
        nonRetryable: true,
      });
    };
    let verifier: IdentityVerifier;
    try {
      verifier = await probe.identityVerifier({ regions: runbookRegions(this.rb) });
      this.verifier = verifier;
    } catch (e) {
      return fail(`the worker could not read its identity key: ${(e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message}`);
    }
    if (verifier.stsRegions.length === 0) return fail('the worker verifies identities in no region');
    const info = workflowInfo();
    this.challenge = { run: `${info.workflowId}/${info.runId}`, identityKey: verifier.key, stsRegion: verifier.stsRegions[0], expiresAt: Date.now() + waitMs };
    const inTime = await condition(() => this.actor !== undefined || this.refusal !== undefined, waitMs);
    this.challenge = undefined;
    const actor = this.actor;
    if (actor) {
      this.trail?.record('run.requester', { actor: { id: actor.id, verified: true }, detail: `requester verified through STS at the start of the run (given as ${claimed})` });
      this.trail?.flush();
      return actor;
    }
    return fail(this.refusal ?? (inTime ? 'no proof' : `no proof arrived within ${Math.round(waitMs / 1000)}s of the start`));
  }

  private validate(a: IdentifyArgs): void {
    checkRequesterProof(a, this.challenge, this.actor !== undefined || this.refusal !== undefined);
  }

  private async identify(a: IdentifyArgs): Promise<string> {
    const c = this.challenge;
    if (!c || this.actor || this.refusal) throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: 'this run is not waiting for its requester\'s identity', nonRetryable: true, details: [{ kind: 'not-pending' }] });
    const nonce = a.sealed.binding.nonce;
    if (this.nonces.has(nonce)) throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: 'the signed request was already used (nonce seen before)', nonRetryable: true, details: [{ kind: 'replayed' }] });
    this.nonces.add(nonce);
    const check = await verifyOrRefuse({ sealed: a.sealed, expect: { run: c.run, gate: '*', decision: 'request' }, regions: runbookRegions(this.rb) });
    if (!check.ok) {
      this.refusal ??= `${check.kind}: ${check.reason}`;
      throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: check.reason, nonRetryable: true, details: [{ kind: check.kind }] });
    }
    // Any AWS account can make an identity: only one the runbook lists may request its runs.
    const listed = requesterPrincipals(this.rb.approvals);
    if (!listed.some((p) => principalMatches(p, check.arn))) {
      const reason = `${check.arn} is not a requester of runbook ${this.rb.name} (${this.rb.approvals.requesters ? 'approvals.requesters' : 'the principals of its gates, as approvals.requesters is not set'}: ${listed.join(', ')})`;
      this.refusal ??= `not-allowed: ${reason}`;
      throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: reason, nonRetryable: true, details: [{ kind: 'not-allowed' }] });
    }
    this.actor ??= { id: check.arn, verified: true, userId: check.userId };
    return `requester verified as ${check.arn}`;
  }
}
