import { HandlerUnfinishedPolicy } from '@temporalio/common';
import { ApplicationFailure, CancellationScope, condition, isCancellation, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { IdentityCheck, IdentityVerifier, VerifyIdentityInput } from '../activities/identity';
import type { GateName, Runbook } from '../runbooks/schema';
import { requesterMustBeVerified, type VerifiedActor } from '../runbooks/approvers';
import { BINDING_HEADER, headerValue, isSealed, parseBinding, type IdentityPublicKey, type RequesterIdentity } from '../contracts/identity';
import { approveUpdate, rejectUpdate, type ApproveArgs, type RejectArgs } from '../contracts/messages';
import { TIMEOUT_ACTOR, type Decision, type PendingGate } from '../contracts/gates';
import type { AuditActor } from '../audit/chain';
import { FailureType } from '../contracts/failures';
import type { AuditTrail } from './audit';
import { approvedDecision, gatePolicy, refusalOf, timeoutOutcome } from '../runbooks/gate-policy';
import { checkDecisionArgs } from '../contracts/gate-wire';
import { awaitOneV1, decideV1, validateV1, type GateState } from './gates-v1';
import type { Journal } from './journal';
import type { Notifier } from './notify';
import { probe } from './proxies';
import { RequesterCheck, runbookRegions, verifyOrRefuse } from './requester';

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


/** The run's approval gates: who may decide, what is pending, and every decision taken. */
export class Gates implements GateState {
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
    setHandler(approveUpdate, (a) => decideV1(this, this.trail, a.gate, a.approver ?? '', 'approved', a.comment), { validator: (a) => validateV1(this, this.runbook, a.gate, a.approver ?? '') });
    setHandler(rejectUpdate, (r) => decideV1(this, this.trail, r.gate, r.approver ?? '', 'rejected', r.reason), {
      validator: (r) => {
        validateV1(this, this.runbook, r.gate, r.approver ?? '');
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
    if (!this.policies) return awaitOneV1(this, this.runbook, this.trail, gate, summary, timeoutMs);
    return this.awaitPolicy(gate, summary, timeoutMs);
  }

  // ---- Gates with policies and verified identities -------------------------------------------

  private async awaitPolicy(gate: GateName, summary: string, defaultTimeoutMs: number): Promise<Decision> {
    await this.verifyRequester();
    const key = await this.publicKey();
    const p = gatePolicy(this.runbook, gate, defaultTimeoutMs);
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
      if (inTime) return approvedDecision(gate, approvals);
      const outcome = timeoutOutcome(gate, p, approvals.length, this.context.drill, Date.now());
      if (outcome.proceed) {
        const d = outcome.decision;
        this.decisions.push(d);
        this.trail?.record('gate.timeout', { detail: `gate ${gate}: ${d.comment}`, after: { onTimeout: 'proceed', approvals: approvals.length, required: p.required } });
        this.trail?.flush();
        return d;
      }
      this.trail?.record('gate.timeout', { detail: outcome.detail, after: { onTimeout: 'abort', approvals: approvals.length, required: p.required } });
      this.trail?.flush();
      throw ApplicationFailure.create({ type: FailureType.ApprovalTimedOut, message: outcome.message, nonRetryable: true });
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
    checkDecisionArgs(a, this.pending, this.sealing);
  }

  /** The rejection of the pending gate, if any (a method, so narrowing does not outlive an await). */
  private rejected(): Decision | undefined {
    return this.rejection;
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
    const refusal = refusalOf({ request, runbook: this.runbook.name, who, decision, bySeat: this.v2, verifiedRequester: this.requester, requestedBy: this.context.requestedBy });
    if (refusal) return this.refuse(request, actorOf(who), decision, refusal.kind, refusal.reason);
    const approvals = request.approvals ?? [];
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

  /** Record the automatic approval of a drill whose runbook auto-approves gates. */
  private autoApprove(gate: GateName, drill: string): Decision {
    const d: Decision = { gate, approver: 'drover-drill', decision: 'approved', at: Date.now(), comment: `automatic in drill ${drill}: the runbook auto-approves gates in drills` };
    this.decisions.push(d);
    this.trail?.record('gate.approved', { actor: { id: d.approver, verified: false }, detail: `gate ${gate}: ${d.comment}` });
    this.trail?.flush();
    return d;
  }
}

/** An actor as the audit trail records it: id and whether it was verified, nothing else. */
function actorOf(a: VerifiedActor): AuditActor {
  return { id: a.id, verified: a.verified };
}

