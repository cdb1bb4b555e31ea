import { HandlerUnfinishedPolicy } from '@temporalio/common';
import { ApplicationFailure, CancellationScope, condition, isCancellation, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { IdentityCheck, IdentityVerifier, VerifyIdentityInput } from '../activities/identity';
import type { GateName, Runbook } from '../runbooks/schema';
import { principalMatches, requesterMustBeVerified, requesterPrincipals, sameApprover, type VerifiedActor } from '../runbooks/approvers';
import { BINDING_HEADER, headerValue, isSealed, parseBinding, type IdentityPublicKey, type RequesterIdentity } from '../contracts/identity';
import { approveUpdate, identifyRequesterUpdate, rejectUpdate, requesterChallengeQuery, type ApproveArgs, type IdentifyArgs, type RejectArgs, type RequesterChallenge } from '../contracts/messages';
import type { AuditActor } from '../audit/chain';
import type { AuditTrail } from './audit';
import type { Journal } from './journal';
import type { Notifier } from './notify';
import { FailureType } from '../contracts/failures';
import { probe } from './proxies';

/**
 * Patch id: gates follow their runbook policy (M of N, self-approval, timeout action, escalation) and
 * verify signed identities. Histories recorded before it replay the single-approver gates unchanged.
 */
const GATE_POLICIES = 'gate-policies-v1';

/**
 * Patch id: identities travel sealed (a JWE to the worker's identity key, whose public half the pending
 * gate publishes); a signed request in clear text is refused before it reaches the history.
 */
const SEALED_IDENTITY = 'sealed-identity-v1';

/**
 * Patch id: the requester is verified at the start of the run (a proof bound to its run id, asked for
 * only when a gate it may ask forbids self-approval), approvers are counted by seat (docs/approvals.md),
 * and identities are verified at the STS regions the worker chose. Histories before it replay as recorded.
 */
const APPROVALS_V2 = 'approvals-v2';



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
  requestedBy?: AuditActor;
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

/** What a run tells its gates about itself. */
export interface GateContext {
  /** The requester as given at start (`--requested-by`, $DROVER_USER). */
  requestedBy?: string;
  /** The requester's signed GetCallerIdentity (bound to the workflow id, gate `*`, decision `request`), sealed, verified at the first gate. */
  requesterIdentity?: RequesterIdentity;
  /** The drill this run belongs to: `onTimeout: proceed` applies only then. */
  drill?: string;
  /** Publishes approval requests and escalations (absent when replaying histories from before notifications). */
  notifier?: Notifier;
  /** The requester a parent run (a drill) verified: taken as this run's requester. */
  requester?: VerifiedActor;
}


/** How long a run waits at its start for its requester's proof. */
export const REQUESTER_WAIT_MS = 2 * 60_000;


/** The STS regions a run's identities may be verified in when the worker names none: its runbook's, standby first (it survives the primary). */
function runbookRegions(rb: Runbook): string[] {
  return [rb.regions.standby, rb.regions.primary];
}

/** Why an identity could not be verified, as the activity failed (STS unreachable after retries). */
async function verifyOrRefuse(input: VerifyIdentityInput): Promise<IdentityCheck> {
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
    const c = this.challenge;
    if (!c || this.actor || this.refusal) throw new Error('this run is not waiting for its requester\'s identity');
    const s = a?.sealed;
    const b = s?.binding;
    const wellFormed =
      typeof s === 'object' && s !== null && typeof s.jwe === 'string' && s.jwe.length <= MAX_SEALED_BYTES && COMPACT_JWE.test(s.jwe) &&
      typeof b === 'object' && b !== null && b.run === c.run && b.gate === '*' && b.decision === 'request' && typeof b.nonce === 'string' && /^[0-9a-f]{32,64}$/.test(b.nonce);
    if (!wellFormed) throw new Error(`the requester's proof must be a sealed GetCallerIdentity bound to run ${c.run}, gate *, decision request`);
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

/** The limits of what an Update may carry: a GetCallerIdentity request is small. */
const MAX_IDENTITY_BYTES = 16 * 1024;
/** A sealed request: the JWE of one (base64url, plus the header and the wrapped key). */
const MAX_SEALED_BYTES = 32 * 1024;
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TEXT = 2000;

/** The run's approval gates: who may decide, what is pending, and every decision taken. */
export class Gates {
  pending?: PendingGate;
  readonly decisions: Decision[] = [];
  /** Whether this run follows gate policies (false when replaying a history recorded before them). */
  private readonly policies: boolean;
  /** Whether identities travel sealed (false when replaying a history recorded before them). */
  private readonly sealing: boolean;
  /** The worker's public identity key, read once per run when its first gate opens. */
  private identityKey?: IdentityPublicKey;
  /** Every nonce a signed request of this run has carried, accepted or not: each is good once. */
  private readonly nonces = new Set<string>();
  private rejection?: Decision;
  private requester?: VerifiedActor;
  private requesterChecked = false;
  /** Whether this run follows approvals-v2 (false when replaying a history recorded before it). */
  private readonly v2: boolean;
  /** The run's requester proof at its start (approvals-v2). */
  private readonly requesterCheck?: RequesterCheck;
  /** Where this worker verifies identities, read once per run (approvals-v2). */
  private verifier?: IdentityVerifier;

  constructor(
    private readonly runbook: Runbook,
    private readonly trail?: AuditTrail,
    /** Set in a drill whose runbook auto-approves gates: the drill's id. No human is asked. */
    private readonly autoApproveFor?: string,
    private readonly context: GateContext = {},
  ) {
    this.policies = patched(GATE_POLICIES);
    this.sealing = this.policies && patched(SEALED_IDENTITY);
    this.v2 = this.sealing && patched(APPROVALS_V2);
    if (this.v2) this.requesterCheck = new RequesterCheck(runbook, trail);
    if (this.policies) {
      // A run that ends while an identity is being verified abandons that Update (the caller sees the run ended).
      const unfinishedPolicy = HandlerUnfinishedPolicy.ABANDON;
      setHandler(approveUpdate, (a) => this.decideVerified(a, 'approved', a.comment), { validator: (a) => this.check(a), unfinishedPolicy });
      setHandler(rejectUpdate, (r) => this.decideVerified(r, 'rejected', r.reason), {
        validator: (r) => {
          this.check(r);
          if (!r.reason?.trim()) throw new Error('a rejection needs a reason');
        },
        unfinishedPolicy,
      });
      return;
    }
    setHandler(approveUpdate, (a) => this.decide(a.gate, a.approver ?? '', 'approved', a.comment), { validator: (a) => this.validate(a.gate, a.approver ?? '') });
    setHandler(rejectUpdate, (r) => this.decide(r.gate, r.approver ?? '', 'rejected', r.reason), {
      validator: (r) => {
        this.validate(r.gate, r.approver ?? '');
        if (!r.reason?.trim()) throw new Error('a rejection needs a reason');
      },
    });
  }

  /**
   * At the start of a run, inside its try: who requested it. A parent drill's verified requester is taken
   * as is; otherwise, when a gate this run may ask forbids self-approval (and identities are not trusted),
   * the run waits for its starter's proof and ends (RequesterUnverified, nothing changed) without one.
   */
  async start(kindGates: GateName[], approvalTimeoutMs?: number): Promise<void> {
    if (!this.checksRequester()) return;
    this.requesterChecked = true;
    if (this.context.requester) {
      this.requester = this.context.requester;
      return;
    }
    if (!this.requesterCheck || !requesterMustBeVerified(this.runbook, kindGates, this.autoApproveFor !== undefined)) return;
    this.requester = await this.requesterCheck.verify(this.context.requestedBy ?? 'unknown', approvalTimeoutMs);
  }

  /**
   * Whether `start` has anything to do: false when replaying a history recorded before approvals-v2,
   * whose commands must stay in their order (so the workflow does not even await `start` then).
   */
  checksRequester(): boolean {
    return this.v2;
  }

  required(gate: GateName): boolean {
    return this.runbook.approvals.gates.includes(gate);
  }

  /** The run's gate step `gate:<name>`: skipped when the runbook needs no approval, else approved (or the run ends). */
  async step(journal: Journal, gate: GateName, summary: string, timeoutMs: number): Promise<void> {
    const id = `gate:${gate}`;
    if (!this.required(gate)) return journal.skip(id, `the runbook requires no approval for ${gate}`);
    await journal.run(id, async () => {
      const d = await this.await(gate, summary, timeoutMs);
      journal.note(id, `${d.approver === TIMEOUT_ACTOR ? 'proceeded' : 'approved'} by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
    });
  }

  /**
   * Wait for a decision on `gate`. Resolves once the gate's policy is met (or, in a drill whose policy
   * says so, when it times out); throws a non-retryable failure on rejection (ApprovalRejected) or
   * when the timeout runs out (ApprovalTimedOut). The policy's timeout, when set, replaces `timeoutMs`.
   */
  async await(gate: GateName, summary: string, timeoutMs: number): Promise<Decision> {
    if (this.autoApproveFor) return this.autoApprove(gate, this.autoApproveFor);
    if (!this.policies) return this.awaitOne(gate, summary, timeoutMs);
    return this.awaitPolicy(gate, summary, timeoutMs);
  }

  // ---- Gates with policies and verified identities -------------------------------------------

  private policy(gate: GateName, timeoutMs: number) {
    const a = this.runbook.approvals;
    const p = a.policies?.[gate];
    return {
      principals: p?.principals ?? a.approvers,
      required: p?.required ?? 1,
      selfApproval: p?.selfApproval ?? false,
      timeoutMs: p?.timeout ?? timeoutMs,
      onTimeout: p?.onTimeout ?? 'abort',
      escalateAfterMs: p?.escalateAfter,
      trustClientIdentity: a.trustClientIdentity ?? false,
    };
  }

  private async awaitPolicy(gate: GateName, summary: string, defaultTimeoutMs: number): Promise<Decision> {
    await this.verifyRequester();
    const key = await this.publicKey();
    const p = this.policy(gate, defaultTimeoutMs);
    const now = Date.now();
    const request: PendingGate = {
      name: gate,
      approvers: p.principals,
      requestedAt: now,
      summary,
      required: p.required,
      approvals: [],
      selfApproval: p.selfApproval,
      requestedBy: this.requester ? actorOf(this.requester) : (this.context.requestedBy ? { id: this.context.requestedBy, verified: false } : undefined),
      trustClientIdentity: p.trustClientIdentity,
      timeoutAt: now + p.timeoutMs,
      onTimeout: p.onTimeout,
      escalateAt: p.escalateAfterMs !== undefined && p.escalateAfterMs < p.timeoutMs ? now + p.escalateAfterMs : undefined,
      ...key,
    };
    this.rejection = undefined;
    this.pending = request;
    this.trail?.record('gate.requested', {
      detail: `gate ${gate}: ${summary}`,
      after: { approvers: p.principals, required: p.required, selfApproval: p.selfApproval, timeoutMs: p.timeoutMs, onTimeout: p.onTimeout, escalateAfterMs: p.escalateAfterMs, trustClientIdentity: p.trustClientIdentity },
    });
    this.trail?.flush();
    this.context.notifier?.approvalRequested(request);
    const approvals = request.approvals ?? [];
    const escalation = request.escalateAt !== undefined ? new CancellationScope() : undefined;
    if (escalation && p.escalateAfterMs !== undefined) {
      const after = p.escalateAfterMs;
      escalation.run(() => this.escalate(request, after)).catch(() => undefined);
    }
    try {
      const inTime = await condition(() => this.rejected() !== undefined || approvals.length >= p.required, p.timeoutMs);
      const r = this.rejected();
      if (r) {
        throw ApplicationFailure.create({ type: FailureType.ApprovalRejected, message: `gate ${gate} rejected by ${r.approver}: ${r.comment ?? ''}${r.verified ? '' : ' (identity unverified)'}`, nonRetryable: true });
      }
      if (inTime) {
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
      const waited = `${Math.round(p.timeoutMs / 1000)}s`;
      const have = `${approvals.length} of ${p.required} approvals`;
      if (p.onTimeout === 'proceed' && this.context.drill) {
        const d: Decision = { gate, approver: TIMEOUT_ACTOR, decision: 'approved', at: Date.now(), comment: `no decision within ${waited} (${have}); the gate's policy proceeds on timeout in drills (drill ${this.context.drill})`, verified: false };
        this.decisions.push(d);
        this.trail?.record('gate.timeout', { detail: `gate ${gate}: ${d.comment}`, after: { onTimeout: 'proceed', approvals: approvals.length, required: p.required } });
        this.trail?.flush();
        return d;
      }
      const why = p.onTimeout === 'proceed' ? '; onTimeout "proceed" applies to drills only, so this run aborts' : '';
      this.trail?.record('gate.timeout', { detail: `gate ${gate}: no decision within ${waited} (${have})${why}`, after: { onTimeout: 'abort', approvals: approvals.length, required: p.required } });
      this.trail?.flush();
      throw ApplicationFailure.create({ type: FailureType.ApprovalTimedOut, message: `gate ${gate} was not approved within ${waited} (${have}); nothing after it was changed${why}`, nonRetryable: true });
    } finally {
      escalation?.cancel();
      this.pending = undefined;
    }
  }

  /** Part-way through the wait, tell the runbook's topic who is still needed (a failed publish is recorded by the notifier). */
  private async escalate(request: PendingGate, afterMs: number): Promise<void> {
    try {
      await sleep(afterMs);
    } catch (e) {
      if (isCancellation(e)) return;
      throw e;
    }
    const notifier = this.context.notifier;
    if (this.pending !== request || !notifier?.record) return;
    const out = await notifier.escalated(request, afterMs);
    if (!out) return;
    request.escalatedAt = Date.now();
    const got = request.approvals ?? [];
    this.trail?.record('gate.escalated', { target: notifier.record.topicArn, requestId: out.requestId, detail: `gate ${request.name}: ${got.length} of ${request.required} approvals after ${Math.round(afterMs / 1000)}s`, after: { messageId: out.messageId, approvals: got.length, required: request.required } });
    this.trail?.flush();
  }

  /** The worker's public identity key for the pending gate (once per run; retried at the next gate if it failed), and since approvals-v2 the STS region to sign for. */
  private async publicKey(): Promise<Pick<PendingGate, 'identityKey' | 'identityKeyError' | 'stsRegion'>> {
    if (!this.sealing) return {};
    if (this.v2) {
      this.verifier ??= this.requesterCheck?.verifier;
      if (!this.verifier) {
        try {
          this.verifier = await probe.identityVerifier({ regions: runbookRegions(this.runbook) });
        } catch (e) {
          const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
          return { identityKeyError: `the worker could not read its identity key: ${cause}` };
        }
      }
      return { identityKey: this.verifier.key, stsRegion: this.verifier.stsRegions[0] };
    }
    if (!this.identityKey) {
      try {
        this.identityKey = await probe.identityPublicKey();
      } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
        return { identityKeyError: `the worker could not read its identity key: ${cause}` };
      }
    }
    return { identityKey: this.identityKey };
  }

  /** Once per run: a requester who started the run with AWS credentials becomes a verified ARN. */
  private async verifyRequester(): Promise<void> {
    const proof = this.context.requesterIdentity;
    if (this.v2 || this.requesterChecked || !proof) return;
    this.requesterChecked = true;
    const expect = { run: workflowInfo().workflowId, gate: '*', decision: 'request' as const };
    let check: IdentityCheck;
    if (isSealed(proof)) {
      const nonce = proof.binding?.nonce;
      if (typeof nonce === 'string') this.nonces.add(nonce);
      check = await this.verify({ sealed: proof, expect });
    } else {
      const nonce = parseBinding(headerValue(proof.headers ?? {}, BINDING_HEADER))?.nonce;
      if (nonce) this.nonces.add(nonce);
      check = await this.verify({ request: proof, expect });
    }
    if (check.ok) {
      this.requester = { id: check.arn, verified: true };
      this.trail?.record('run.requester', { actor: this.requester, detail: `requester verified through STS (given as ${this.context.requestedBy ?? 'nobody'})`, requestId: check.requestId });
    } else {
      this.trail?.record('run.requester-unverified', { actor: { id: this.context.requestedBy ?? 'unknown', verified: false }, detail: `the requester's signed identity was refused (${check.kind}): ${check.reason}` });
    }
    this.trail?.flush();
  }

  private async verify(input: VerifyIdentityInput): Promise<IdentityCheck> {
    return verifyOrRefuse(this.v2 ? { ...input, regions: runbookRegions(this.runbook) } : input);
  }

  /** The validator: only what needs no record (the gate pending, the input well-formed). */
  private check(a: ApproveArgs | RejectArgs): void {
    const gate = a.gate;
    if (!this.pending) throw new Error(`no gate is pending approval${gate ? ` (asked for "${gate}")` : ''}`);
    if (gate !== this.pending.name) throw new Error(`gate "${gate}" is not pending; the pending gate is "${this.pending.name}"`);
    if (!a.identity && !a.sealed && !a.approver?.trim()) throw new Error('an approval needs an identity: a signed request (AWS credentials) or, in local development, --as ID');
    if ([a.identity, a.sealed, a.approver].filter((x) => x !== undefined).length > 1) throw new Error('give either a signed identity or --as, not both');
    // Refused here, a request in clear text never reaches the history (validators' rejections are not recorded).
    if (a.identity && this.sealing) throw new Error('the signed identity must be sealed for the worker (this drover CLI predates sealed identities: upgrade it)');
    const text = (a as RejectArgs).reason ?? (a as ApproveArgs).comment;
    if (text && text.length > MAX_TEXT) throw new Error(`comment too long (${text.length} characters, at most ${MAX_TEXT})`);
    if (a.identity) {
      const i = a.identity;
      const wellFormed =
        typeof i === 'object' && typeof i.method === 'string' && typeof i.url === 'string' && typeof i.body === 'string' && typeof i.headers === 'object' && i.headers !== null &&
        Object.values(i.headers).every((v) => typeof v === 'string');
      if (!wellFormed) throw new Error('the signed identity must carry method, url, headers and body');
      if (JSON.stringify(i).length > MAX_IDENTITY_BYTES) throw new Error('the signed identity is too large');
    }
    if (a.sealed) {
      const s = a.sealed;
      const b = s?.binding;
      const wellFormed =
        typeof s === 'object' && s !== null && typeof s.jwe === 'string' && s.jwe.length <= MAX_SEALED_BYTES && COMPACT_JWE.test(s.jwe) &&
        typeof b === 'object' && b !== null && typeof b.run === 'string' && typeof b.gate === 'string' && ['approve', 'reject'].includes(b.decision) &&
        typeof b.nonce === 'string' && /^[0-9a-f]{32,64}$/.test(b.nonce);
      if (!wellFormed) throw new Error('the sealed identity must be a compact JWE with its binding (run, gate, decision, nonce)');
    }
  }

  /** The rejection of the pending gate, if any (a method, so narrowing does not outlive an await). */
  private rejected(): Decision | undefined {
    return this.rejection;
  }

  private isRequester(who: AuditActor): boolean {
    if (this.requester && who.id === this.requester.id) return true;
    return this.context.requestedBy !== undefined && who.id === this.context.requestedBy;
  }

  /** Record a refused approval or rejection in the trail, and refuse it (the Update fails; the gate keeps waiting). */
  private refuse(request: PendingGate, actor: AuditActor, decision: Decision['decision'], kind: string, reason: string): never {
    this.trail?.record('gate.refused', {
      actor,
      detail: `gate ${request.name}: ${decision === 'approved' ? 'approval' : 'rejection'} refused (${kind}): ${reason}`,
      after: { gate: request.name, decision: decision === 'approved' ? 'approve' : 'reject', kind },
    });
    this.trail?.flush();
    throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: reason, nonRetryable: true, details: [{ kind }] });
  }

  private async decideVerified(a: ApproveArgs | RejectArgs, decision: Decision['decision'], text?: string): Promise<string> {
    const request = this.pending;
    if (!request || request.name !== a.gate) {
      throw ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: `gate "${a.gate}" is not pending`, nonRetryable: true, details: [{ kind: 'not-pending' }] });
    }
    const info = workflowInfo();
    let who: VerifiedActor;
    if (a.sealed) {
      const unknown: AuditActor = { id: 'unverified caller', verified: false };
      const nonce = a.sealed.binding.nonce;
      // Checked and spent before anything is awaited, so two Updates with one nonce cannot both pass.
      if (this.nonces.has(nonce)) return this.refuse(request, unknown, decision, 'replayed', 'the signed request was already used in this run (nonce seen before)');
      this.nonces.add(nonce);
      const check = await this.verify({ sealed: a.sealed, expect: { run: `${info.workflowId}/${info.runId}`, gate: request.name, decision: decision === 'approved' ? 'approve' : 'reject', comment: text } });
      if (!check.ok) return this.refuse(request, unknown, decision, check.kind, check.reason);
      who = { id: check.arn, verified: true, userId: check.userId };
    } else if (a.identity) {
      const unknown: AuditActor = { id: 'unverified caller', verified: false };
      const binding = parseBinding(headerValue(a.identity.headers, BINDING_HEADER));
      if (!binding) return this.refuse(request, unknown, decision, 'unverifiable', `the signed request has no valid ${BINDING_HEADER} header`);
      // Checked and spent before anything is awaited, so two Updates with one nonce cannot both pass.
      if (this.nonces.has(binding.nonce)) return this.refuse(request, unknown, decision, 'replayed', 'the signed request was already used in this run (nonce seen before)');
      this.nonces.add(binding.nonce);
      const check = await this.verify({ request: a.identity, expect: { run: `${info.workflowId}/${info.runId}`, gate: request.name, decision: decision === 'approved' ? 'approve' : 'reject', comment: text } });
      if (!check.ok) return this.refuse(request, unknown, decision, check.kind, check.reason);
      who = { id: check.arn, verified: true, userId: check.userId };
    } else {
      who = { id: (a.approver ?? '').trim(), verified: false };
      if (!request.trustClientIdentity) {
        return this.refuse(request, actorOf(who), decision, 'unverifiable', `"${who.id}" is an unverified identity (--as), and runbook ${this.runbook.name} accepts only signed ones (approvals.trustClientIdentity is false): approve with AWS credentials, without --as`);
      }
    }
    if (this.pending !== request) return this.refuse(request, actorOf(who), decision, 'not-pending', `gate ${request.name} was decided or timed out while the identity was verified`);
    if (!request.approvers.some((p) => principalMatches(p, who.id))) {
      return this.refuse(request, actorOf(who), decision, 'not-allowed', `"${who.id}" is not an approver of gate ${request.name} of runbook ${this.runbook.name} (approvers: ${request.approvers.join(', ')})`);
    }
    const approvals = request.approvals ?? [];
    if (decision === 'approved') {
      if (this.v2) {
        // Approvers are counted by seat, not by ARN string: two sessions of one role are one approver (docs/approvals.md).
        const requester = this.requester ?? (this.context.requestedBy ? { id: this.context.requestedBy, verified: false } : undefined);
        if (!request.selfApproval && requester && sameApprover(who, requester, request.approvers)) {
          const as = requester.id === who.id ? '' : ` (as ${requester.id}; the same approver by the rules in docs/approvals.md)`;
          return this.refuse(request, actorOf(who), decision, 'self-approval', `${who.id} requested this run${as}, and gate ${request.name} does not allow self-approval`);
        }
        const same = approvals.find((x) => sameApprover(who, { id: x.approver, verified: x.verified, userId: x.userId }, request.approvers));
        if (same) {
          const as = same.approver === who.id ? '' : ` as ${same.approver} (every session of a role whose session names are not pinned is one approver)`;
          return this.refuse(request, actorOf(who), decision, 'duplicate', `${who.id} has already approved gate ${request.name}${as}; it needs ${request.required} distinct approvers (${approvals.length} so far)`);
        }
      } else if (!request.selfApproval && this.isRequester(who)) {
        return this.refuse(request, actorOf(who), decision, 'self-approval', `${who.id} requested this run, and gate ${request.name} does not allow self-approval`);
      }
      if (approvals.some((x) => x.approver === who.id)) {
        return this.refuse(request, actorOf(who), decision, 'duplicate', `${who.id} has already approved gate ${request.name}; it needs ${request.required} distinct approvers (${approvals.length} so far)`);
      }
    }
    const d: Decision = { gate: request.name, approver: who.id, decision, at: Date.now(), comment: text, verified: who.verified };
    this.decisions.push(d);
    this.trail?.record(`gate.${decision}`, { actor: actorOf(who), detail: `gate ${request.name}${text ? `: ${text}` : ''}`, after: decision === 'approved' ? { approvals: approvals.length + 1, required: request.required } : undefined });
    this.trail?.flush();
    const label = `${who.id}${who.verified ? ' (verified)' : ' (unverified)'}`;
    if (decision === 'rejected') {
      this.rejection = d;
      return `rejected gate ${request.name} as ${label}`;
    }
    approvals.push({ approver: who.id, verified: who.verified, at: d.at, comment: text, ...(this.v2 && who.userId ? { userId: who.userId } : {}) });
    const missing = (request.required ?? 1) - approvals.length;
    return `approved gate ${request.name} as ${label}; ${approvals.length} of ${request.required} approvals${missing > 0 ? `, ${missing} more needed` : ', the gate is open'}`;
  }

  // ---- Gates as recorded before policies (kept unchanged so their histories replay) ----------

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

  /** Record the automatic approval of a drill whose runbook auto-approves gates. */
  private autoApprove(gate: GateName, drill: string): Decision {
    const d: Decision = { gate, approver: 'drover-drill', decision: 'approved', at: Date.now(), comment: `automatic in drill ${drill}: the runbook auto-approves gates in drills` };
    this.decisions.push(d);
    this.trail?.record('gate.approved', { actor: { id: d.approver, verified: false }, detail: `gate ${gate}: ${d.comment}` });
    this.trail?.flush();
    return d;
  }

  private async awaitOne(gate: GateName, summary: string, timeoutMs: number): Promise<Decision> {
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

/** An actor as the audit trail records it: id and whether it was verified, nothing else. */
function actorOf(a: VerifiedActor): AuditActor {
  return { id: a.id, verified: a.verified };
}

/** Who "approves" a drill's gate that proceeded on its timeout. */
export const TIMEOUT_ACTOR = 'drover-timeout';
