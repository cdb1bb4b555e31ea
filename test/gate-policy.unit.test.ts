/**
 * The gate rules as pure functions (runbooks/gate-policy.ts, contracts/gate-wire.ts): a gate's policy
 * from the runbook, whether a decision counts, the decision of a gate that has its approvals, what a
 * timeout does, and what the Update validators accept. No server: the Gates class applies these rules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { parseRunbook } from '../runbooks/load';
import { approvedDecision, gatePolicy, refusalOf, timeoutOutcome, type DecisionFacts } from '../runbooks/gate-policy';
import { checkDecisionArgs, checkRequesterProof, MAX_TEXT } from '../contracts/gate-wire';
import type { PendingGate } from '../contracts/gates';

const APNAKART = readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8');
const PRIYA = 'arn:aws:iam::123456789012:user/priya';
const ARJUN = 'arn:aws:iam::123456789012:user/arjun';
const ROLE = 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/*';

function pending(over: Partial<PendingGate> = {}): PendingGate {
  return { name: 'failover', approvers: [PRIYA, ARJUN, ROLE], requestedAt: 0, summary: 's', required: 2, approvals: [], selfApproval: false, ...over };
}
function facts(over: Partial<DecisionFacts> = {}): DecisionFacts {
  return { request: pending(), runbook: 'apnakart', who: { id: ARJUN, verified: true }, decision: 'approved', bySeat: true, ...over };
}

describe('gatePolicy', () => {
  test('given a gate with a policy, the policy wins; given one without, the runbook approvers, one approval, abort', () => {
    const doc = parseDocument(APNAKART);
    doc.setIn(['approvals', 'approvers'], [PRIYA]);
    doc.setIn(['notifications'], { snsTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:drover-apnakart' });
    doc.setIn(['approvals', 'policies'], { failover: { principals: [ARJUN, PRIYA], required: 2, selfApproval: true, timeout: '10m', onTimeout: 'proceed', escalateAfter: '5m' } });
    const r = parseRunbook(doc.toString());
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const rb = r.runbook;
    expect(gatePolicy(rb, 'failover', 3_600_000)).toEqual({ principals: [ARJUN, PRIYA], required: 2, selfApproval: true, timeoutMs: 600_000, onTimeout: 'proceed', escalateAfterMs: 300_000, trustClientIdentity: true });
    expect(gatePolicy(rb, 'failback', 3_600_000)).toMatchObject({ principals: [PRIYA], required: 1, selfApproval: false, timeoutMs: 3_600_000, onTimeout: 'abort', escalateAfterMs: undefined });
  });
});

describe('refusalOf', () => {
  test('given an approver no principal matches, the decision is refused as not-allowed, a rejection too', () => {
    const who = { id: 'arn:aws:iam::999999999999:user/mallory', verified: true };
    expect(refusalOf(facts({ who }))?.kind).toBe('not-allowed');
    expect(refusalOf(facts({ who, decision: 'rejected' }))?.kind).toBe('not-allowed');
  });

  test('given the verified requester approving a gate without self-approval, it is refused; with self-approval, it counts', () => {
    const f = facts({ who: { id: PRIYA, verified: true }, verifiedRequester: { id: PRIYA, verified: true } });
    expect(refusalOf(f)).toEqual({ kind: 'self-approval', reason: `${PRIYA} requested this run, and gate failover does not allow self-approval` });
    expect(refusalOf({ ...f, request: pending({ selfApproval: true }) })).toBeUndefined();
    // The requester may still reject their own run.
    expect(refusalOf({ ...f, decision: 'rejected' })).toBeUndefined();
  });

  test('given two sessions of one role whose session names are not pinned, the second approval counts as the same approver (by seat)', () => {
    const first = { approver: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/a', verified: true, userId: 'AROAEXAMPLE:a', at: 1 };
    const who = { id: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/b', verified: true, userId: 'AROAEXAMPLE:b' };
    const bySeat = refusalOf(facts({ who, request: pending({ approvals: [first] }) }));
    expect(bySeat?.kind).toBe('duplicate');
    expect(bySeat?.reason).toContain(`as ${first.approver}`);
    // Before approvals-v2 approvers were counted by their id string: the second session counted.
    expect(refusalOf(facts({ who, bySeat: false, request: pending({ approvals: [first] }) }))).toBeUndefined();
  });

  test('given the requester only as given at start (unverified), before approvals-v2 the same id is refused as self-approval', () => {
    expect(refusalOf(facts({ who: { id: ARJUN, verified: false }, bySeat: false, requestedBy: ARJUN }))?.kind).toBe('self-approval');
    expect(refusalOf(facts({ who: { id: ARJUN, verified: false }, bySeat: false, requestedBy: PRIYA }))).toBeUndefined();
  });

  test('given an approver who already approved, a second approval is refused as duplicate', () => {
    const r = refusalOf(facts({ request: pending({ approvals: [{ approver: ARJUN, verified: true, at: 1 }] }) }));
    expect(r).toEqual({ kind: 'duplicate', reason: `${ARJUN} has already approved gate failover; it needs 2 distinct approvers (1 so far)` });
  });
});

describe('approvedDecision and timeoutOutcome', () => {
  test('given two approvals, the decision names both (unverified ones labelled), joins their comments, and is verified only if both were', () => {
    const d = approvedDecision('failover', [{ approver: PRIYA, verified: true, at: 5, comment: 'go' }, { approver: 'arjun', verified: false, at: 9 }]);
    expect(d).toEqual({ gate: 'failover', approver: `${PRIYA}, arjun (unverified)`, decision: 'approved', at: 9, comment: 'go', verified: false });
  });

  test('given onTimeout proceed, a drill proceeds as drover-timeout and a real run aborts saying why', () => {
    const p = { timeoutMs: 90_000, onTimeout: 'proceed' as const, required: 2 };
    const drill = timeoutOutcome('failover', p, 1, 'drill-1', 42);
    expect(drill).toEqual({ proceed: true, decision: expect.objectContaining({ approver: 'drover-timeout', decision: 'approved', at: 42, verified: false }) });
    const real = timeoutOutcome('failover', p, 1, undefined, 42);
    expect(real).toEqual({ proceed: false, detail: expect.stringContaining('1 of 2 approvals'), message: 'gate failover was not approved within 90s (1 of 2 approvals); nothing after it was changed; onTimeout "proceed" applies to drills only, so this run aborts' });
    expect(timeoutOutcome('failover', { ...p, onTimeout: 'abort' }, 0, 'drill-1', 42)).toMatchObject({ proceed: false, message: 'gate failover was not approved within 90s (0 of 2 approvals); nothing after it was changed' });
  });
});

describe('the Update validators', () => {
  const sealed = { jwe: 'aaa.bbb.ccc.ddd.eee', binding: { run: 'wf/run', gate: 'failover', decision: 'approve' as const, nonce: 'a'.repeat(32) } };

  test('given no gate pending, another gate, no identity, or two identities, the approval is refused with the reason', () => {
    expect(() => checkDecisionArgs({ gate: 'failover', sealed }, undefined, true)).toThrow('no gate is pending approval (asked for "failover")');
    expect(() => checkDecisionArgs({ gate: 'failback', sealed }, pending(), true)).toThrow('gate "failback" is not pending; the pending gate is "failover"');
    expect(() => checkDecisionArgs({ gate: 'failover' }, pending(), true)).toThrow('an approval needs an identity');
    expect(() => checkDecisionArgs({ gate: 'failover', sealed, approver: 'x' }, pending(), true)).toThrow('give either a signed identity or --as, not both');
    expect(() => checkDecisionArgs({ gate: 'failover', sealed }, pending(), true)).not.toThrow();
  });

  test('given a clear-text signed request once identities travel sealed, a malformed JWE or a long comment, it is refused', () => {
    const identity = { method: 'POST', url: 'https://sts.us-east-1.amazonaws.com/', headers: {}, body: '' };
    expect(() => checkDecisionArgs({ gate: 'failover', identity }, pending(), true)).toThrow('must be sealed');
    expect(() => checkDecisionArgs({ gate: 'failover', identity }, pending(), false)).not.toThrow();
    expect(() => checkDecisionArgs({ gate: 'failover', sealed: { ...sealed, jwe: 'not a jwe' } }, pending(), true)).toThrow('compact JWE');
    expect(() => checkDecisionArgs({ gate: 'failover', sealed, comment: 'x'.repeat(MAX_TEXT + 1) }, pending(), true)).toThrow('comment too long');
  });

  test('given a requester proof bound to another run, or none awaited, it is refused', () => {
    const challenge = { run: 'wf/run', identityKey: { kty: 'EC' } as never, stsRegion: 'ap-southeast-1', expiresAt: 1 };
    const proof = { sealed: { ...sealed, binding: { run: 'wf/run', gate: '*', decision: 'request' as const, nonce: 'b'.repeat(32) } } };
    expect(() => checkRequesterProof(proof as never, challenge, false)).not.toThrow();
    expect(() => checkRequesterProof({ sealed: { ...proof.sealed, binding: { ...proof.sealed.binding, run: 'other/run' } } } as never, challenge, false)).toThrow('bound to run wf/run');
    expect(() => checkRequesterProof(proof as never, undefined, false)).toThrow('not waiting');
    expect(() => checkRequesterProof(proof as never, challenge, true)).toThrow('not waiting');
  });
});

describe('the gate rules at their edges, with exact texts', () => {
  const runbookWith = (approvals: Record<string, unknown>) => ({ approvals }) as unknown as Parameters<typeof gatePolicy>[0];

  test('given no policy for the gate, its defaults are the runbook approvers, one approval, no self-approval, the run timeout, abort, and the runbook\'s trust', () => {
    expect(gatePolicy(runbookWith({ approvers: [PRIYA], policies: {}, trustClientIdentity: false }), 'failover', 3_600_000)).toEqual({
      principals: [PRIYA],
      required: 1,
      selfApproval: false,
      timeoutMs: 3_600_000,
      onTimeout: 'abort',
      escalateAfterMs: undefined,
      trustClientIdentity: false,
    });
    expect(gatePolicy(runbookWith({ approvers: [PRIYA] }), 'failover', 60_000)).toMatchObject({ principals: [PRIYA], timeoutMs: 60_000, trustClientIdentity: false });
    expect(gatePolicy(runbookWith({ approvers: [], policies: { failover: { principals: [ARJUN] } }, trustClientIdentity: true }), 'failover', 5)).toMatchObject({ principals: [ARJUN], required: 1, selfApproval: false, timeoutMs: 5, onTimeout: 'abort', trustClientIdentity: true });
  });

  test('given an approver no principal matches, the refusal lists the gate, the runbook and its approvers', () => {
    const who = { id: 'arn:aws:iam::999999999999:user/mallory', verified: true };
    expect(refusalOf(facts({ who }))).toEqual({
      kind: 'not-allowed',
      reason: `"arn:aws:iam::999999999999:user/mallory" is not an approver of gate failover of runbook apnakart (approvers: ${PRIYA}, ${ARJUN}, ${ROLE})`,
    });
  });

  test('given the requester as given at start only (trustClientIdentity), by seat, the same unverified id is refused as self-approval', () => {
    const who = { id: 'arjun', verified: false };
    expect(refusalOf(facts({ who, requestedBy: 'arjun', request: pending({ approvers: ['arjun', 'priya'] }) }))).toEqual({ kind: 'self-approval', reason: 'arjun requested this run, and gate failover does not allow self-approval' });
    expect(refusalOf(facts({ who, requestedBy: 'priya', request: pending({ approvers: ['arjun', 'priya'] }) }))).toBeUndefined();
    expect(refusalOf(facts({ who, request: pending({ approvers: ['arjun', 'priya'] }) }))).toBeUndefined();
  });

  test('given another session of the requester\'s role, by seat, it is refused as the requester, naming who requested', () => {
    const requester = { id: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/a', verified: true, userId: 'AROAEXAMPLE:a' };
    const who = { id: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/b', verified: true, userId: 'AROAEXAMPLE:b' };
    expect(refusalOf(facts({ who, verifiedRequester: requester }))).toEqual({
      kind: 'self-approval',
      reason: `${who.id} requested this run (as ${requester.id}; the same approver by the rules in docs/approvals.md), and gate failover does not allow self-approval`,
    });
    // With self-approval allowed, the same seat may approve.
    expect(refusalOf(facts({ who, verifiedRequester: requester, request: pending({ selfApproval: true }) }))).toBeUndefined();
  });

  test('given another session of a role that already approved, by seat, the duplicate names the first session; the same id does not repeat itself', () => {
    const first = { approver: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/a', verified: true, userId: 'AROAEXAMPLE:a', at: 1 };
    const who = { id: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/b', verified: true, userId: 'AROAEXAMPLE:b' };
    expect(refusalOf(facts({ who, request: pending({ approvals: [first] }) }))).toEqual({
      kind: 'duplicate',
      reason: `${who.id} has already approved gate failover as ${first.approver} (every session of a role whose session names are not pinned is one approver); it needs 2 distinct approvers (1 so far)`,
    });
    expect(refusalOf(facts({ who: { ...who, id: first.approver }, request: pending({ approvals: [first] }) }))).toEqual({
      kind: 'duplicate',
      reason: `${first.approver} has already approved gate failover; it needs 2 distinct approvers (1 so far)`,
    });
  });

  test('by id (before approvals-v2): the verified requester is refused, a duplicate id too, with self-approval allowed only the duplicate', () => {
    const verifiedRequester = { id: ARJUN, verified: true };
    expect(refusalOf(facts({ bySeat: false, verifiedRequester }))).toEqual({ kind: 'self-approval', reason: `${ARJUN} requested this run, and gate failover does not allow self-approval` });
    expect(refusalOf(facts({ bySeat: false, verifiedRequester: { id: PRIYA, verified: true } }))).toBeUndefined();
    const approved = pending({ selfApproval: true, approvals: [{ approver: PRIYA, verified: true, at: 1 }, { approver: ARJUN, verified: true, at: 2 }] });
    expect(refusalOf(facts({ bySeat: false, verifiedRequester, request: approved }))).toEqual({ kind: 'duplicate', reason: `${ARJUN} has already approved gate failover; it needs 2 distinct approvers (2 so far)` });
    expect(refusalOf(facts({ bySeat: false, verifiedRequester, request: pending({ selfApproval: true }) }))).toBeUndefined();
  });

  test('a rejection is never refused as a duplicate or as the requester\'s', () => {
    const request = pending({ approvals: [{ approver: ARJUN, verified: true, at: 1 }] });
    expect(refusalOf(facts({ decision: 'rejected', request, verifiedRequester: { id: ARJUN, verified: true } }))).toBeUndefined();
    expect(refusalOf(facts({ decision: 'rejected', request, bySeat: false }))).toBeUndefined();
  });

  test('a pending gate without an approvals list counts none', () => {
    const request = { ...pending(), approvals: undefined } as unknown as PendingGate;
    expect(refusalOf(facts({ request }))).toBeUndefined();
    expect(refusalOf(facts({ request, bySeat: false }))).toBeUndefined();
  });

  test('the approved decision: comments joined (empty ones dropped), none gives no comment, verified only when every approval was', () => {
    expect(approvedDecision('failback', [{ approver: PRIYA, verified: true, at: 5 }, { approver: ARJUN, verified: true, at: 7, comment: '' }])).toEqual({ gate: 'failback', approver: `${PRIYA}, ${ARJUN}`, decision: 'approved', at: 7, comment: undefined, verified: true });
    expect(approvedDecision('failback', [{ approver: PRIYA, verified: true, at: 5, comment: 'a' }, { approver: ARJUN, verified: true, at: 7, comment: 'b' }]).comment).toBe('a; b');
  });

  test('a timeout that proceeds in a drill: the decision by drover-timeout, its comment exact, the wait rounded to seconds', () => {
    expect(timeoutOutcome('failover', { timeoutMs: 90_500, onTimeout: 'proceed', required: 2 }, 1, 'drill-7', 42)).toEqual({
      proceed: true,
      decision: { gate: 'failover', approver: 'drover-timeout', decision: 'approved', at: 42, comment: "no decision within 91s (1 of 2 approvals); the gate's policy proceeds on timeout in drills (drill drill-7)", verified: false },
    });
    expect(timeoutOutcome('failover', { timeoutMs: 90_499, onTimeout: 'abort', required: 1 }, 0, undefined, 42)).toEqual({
      proceed: false,
      detail: 'gate failover: no decision within 90s (0 of 1 approvals)',
      message: 'gate failover was not approved within 90s (0 of 1 approvals); nothing after it was changed',
    });
    expect(timeoutOutcome('failback', { timeoutMs: 60_000, onTimeout: 'proceed', required: 1 }, 0, undefined, 42)).toEqual({
      proceed: false,
      detail: 'gate failback: no decision within 60s (0 of 1 approvals); onTimeout "proceed" applies to drills only, so this run aborts',
      message: 'gate failback was not approved within 60s (0 of 1 approvals); nothing after it was changed; onTimeout "proceed" applies to drills only, so this run aborts',
    });
  });
});
