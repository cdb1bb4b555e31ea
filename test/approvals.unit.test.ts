/**
 * Approval policies in the runbook language, the binding and principal matching, the identity checks
 * the worker makes before it calls STS (with a stub STS), and the gate as `drover status` shows it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { findSecrets } from '../audit/scrub';
import { loadOrCreateIdentityKey, localPublicIdentityKey, publicIdentityKey } from '../activities/sealing';
import { parseDocument } from 'yaml';
import type { StsReplayApi, RawRequest } from '../aws/clients';
import { createIdentityActivities, MAX_SIGNATURE_AGE_MS, textDigest, type VerifyIdentityInput } from '../activities/identity';
import { renderGate } from '../cli/render';
import { sealSigned, signIdentity } from '../cli/sign';
import { parseRunbook } from '../runbooks/load';
import { formatBinding, headerValue, parseBinding, type SignedIdentity } from '../contracts/identity';
import { principalMatches } from '../runbooks/approvers';
import type { RunStatus } from '../contracts/run';

const APNAKART = readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8');
const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
// A fake STS session token (the shape of a real one: its known prefix, base64).
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjE${'Abc123/+'.repeat(40)}`;
const ENDPOINT = new URL('https://sts.us-east-1.amazonaws.com');
const ARN = 'arn:aws:iam::123456789012:user/priya';
/** IncidentCommander's sessions, their names pinned to people by the role's trust policy. */
const PINNED_IC = 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/${username}';

/** The runbook's SNS topic (top-level `notifications`), for the policies that escalate. */
const TOPIC = { snsTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:drover-escalations' };

function withApprovals(approvals: Record<string, unknown>, more: (doc: ReturnType<typeof parseDocument>) => void = () => undefined, notifications?: unknown) {
  const doc = parseDocument(APNAKART);
  for (const [k, v] of Object.entries(approvals)) doc.setIn(['approvals', k], v);
  if (notifications !== undefined) doc.setIn(['notifications'], notifications);
  more(doc);
  return parseRunbook(doc.toString());
}

function problems(result: ReturnType<typeof parseRunbook>): string[] {
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('approval policies in the runbook', () => {
  test('given no policies, a gate defaults to one approval from approvers, no self-approval, abort on timeout', () => {
    const r = parseRunbook(APNAKART);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.runbook.approvals.trustClientIdentity).toBe(true);
    expect(r.runbook.approvals.policies).toEqual({});
  });

  test('given a policy, its defaults fill in and durations become milliseconds', () => {
    const r = withApprovals({ policies: { failover: { principals: [PINNED_IC], required: 2, timeout: '1h', escalateAfter: '30m' } } }, undefined, TOPIC);
    expect(problems(r)).toEqual([]);
    if (!r.ok) return;
    expect(r.runbook.notifications).toEqual(TOPIC);
    expect(r.runbook.approvals.policies.failover).toEqual({ principals: [PINNED_IC], required: 2, selfApproval: false, timeout: 3_600_000, onTimeout: 'abort', escalateAfter: 1_800_000 });
  });

  test.each<[string, Record<string, unknown>, string, unknown]>([
    ['M of N with fewer exact principals than M', { policies: { failover: { principals: [ARN], required: 2 } } }, 'approvals.policies.failover.required: needs 2 distinct approvers, but only 1 principal is listed', undefined],
    ['proceed on timeout without drills', { policies: { failover: { onTimeout: 'proceed' } } }, 'approvals.policies.failover.onTimeout: "proceed" is only allowed for drills (enable drills); a real run aborts when its gate times out', undefined],
    ['an escalation after the timeout', { policies: { failover: { timeout: '10m', escalateAfter: '10m' } } }, 'approvals.policies.failover.escalateAfter: must be shorter than the timeout (600s)', TOPIC],
    ['an escalation with nowhere to go', { policies: { failover: { escalateAfter: '10m' } } }, 'approvals.policies.failover.escalateAfter: needs notifications.snsTopicArn to send the escalation to', undefined],
    ['plain ids without trusting client identities', { trustClientIdentity: false }, 'approvals.approvers[0]: "ic-priya" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)', undefined],
    ['a misspelt timeout action', { policies: { failover: { onTimeout: 'continue' } } }, 'approvals.policies.failover.onTimeout: expected "abort" or "proceed", got "continue"', undefined],
    ['a policy for an unknown gate', { policies: { failovr: { required: 1 } } }, 'approvals.policies: unknown key "failovr"', undefined],
    ['a bad SNS topic', {}, 'notifications.snsTopicArn: expected an SNS topic ARN', { snsTopicArn: 'drover-escalations' }],
    ['a topic with an unknown key', {}, 'notifications: unknown key "topic"', { topic: 'x' }],
    ['the topic where it was before notifications moved', { notify: TOPIC }, 'approvals.notify: moved: name the topic in notifications: { snsTopicArn } at the top level of the runbook', undefined],
    // Attack: one person approving twice through two sessions of one role whose session names are not pinned.
    ['2 of N through the sessions of one role (session names not pinned)', { trustClientIdentity: false, approvers: ['arn:aws:sts::123456789012:assumed-role/IncidentCommander/*'], policies: { failover: { required: 2 } } }, 'approvals.approvers[0]: a gate that needs 2 distinct approvers cannot tell people apart through arn:aws:sts::123456789012:assumed-role/IncidentCommander/*: every session of a role counts as one approver unless session names are pinned to people; list arn:aws:sts::123456789012:assumed-role/IncidentCommander/${username}', undefined],
    ['2 of N through a role ARN', { trustClientIdentity: false, policies: { failover: { principals: ['arn:aws:iam::123456789012:role/IncidentCommander', ARN], required: 2 } } }, 'approvals.policies.failover.principals[0]: a gate that needs 2 distinct approvers cannot tell people apart through arn:aws:iam::123456789012:role/IncidentCommander', undefined],
    ['${username} outside the session of a role', { trustClientIdentity: false, approvers: ['arn:aws:iam::123456789012:user/${username}'] }, 'approvals.approvers[0]: ${username} stands only for the session name of one role', undefined],
  ])('given %s, validation names the path', (_what, approvals, message, notifications) => {
    const r = withApprovals(approvals, (d) => d.setIn(['drills', 'enabled'], false), notifications);
    expect(problems(r).join('\n')).toContain(message);
  });

  test('given a pinned role or a pattern over users, M is not bounded by the list, and a drill runbook may proceed on timeout', () => {
    expect(problems(withApprovals({ trustClientIdentity: false, approvers: [PINNED_IC], policies: { failover: { required: 3, onTimeout: 'proceed' } } }))).toEqual([]);
    expect(problems(withApprovals({ trustClientIdentity: false, approvers: ['arn:aws:iam::123456789012:user/ic-*'], policies: { failover: { required: 3 } } }))).toEqual([]);
  });
});

describe('principals and bindings', () => {
  test.each([
    [ARN, ARN, true],
    [ARN, 'arn:aws:iam::123456789012:user/priyanka', false],
    ['arn:aws:sts::123456789012:assumed-role/IncidentCommander/*', 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/arjun', true],
    ['arn:aws:sts::123456789012:assumed-role/IncidentCommander/*', 'arn:aws:sts::123456789012:assumed-role/IncidentCommanders/arjun', false],
    ['arn:aws:sts::123456789012:assumed-role/IncidentCommander/*', 'arn:aws:sts::999999999999:assumed-role/IncidentCommander/arjun', false],
    ['arn:aws:iam::123456789012:role/ops/IncidentCommander', 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/arjun', true],
    ['arn:aws:iam::123456789012:role/IncidentCommander', 'arn:aws:sts::123456789012:assumed-role/Other/arjun', false],
    ['arn:aws:iam::123456789012:user/ic-?', 'arn:aws:iam::123456789012:user/ic-a', true],
    ['arn:aws:iam::123456789012:user/a.b', 'arn:aws:iam::123456789012:user/aXb', false],
  ])('principal %s matches %s: %s', (principal, id, expected) => {
    expect(principalMatches(principal, id)).toBe(expected);
  });

  test('a binding round-trips, and a malformed one is refused', () => {
    const b = { run: 'failover-apnakart/0190-abc', gate: 'failover', decision: 'approve' as const, nonce: 'a'.repeat(32), comment: textDigest('go') };
    expect(parseBinding(formatBinding(b))).toEqual(b);
    expect(parseBinding('v2;run=a;gate=b;decision=approve;nonce=' + 'a'.repeat(32))).toBeUndefined();
    expect(parseBinding('v1;run=a;gate=b;decision=approve;nonce=short')).toBeUndefined();
    expect(parseBinding('v1;run=a;gate=b;decision=sudo;nonce=' + 'a'.repeat(32))).toBeUndefined();
    expect(parseBinding('v1;run=a;run=b;gate=b;decision=approve;nonce=' + 'a'.repeat(32))).toBeUndefined();
  });
});

describe('identity verification before STS (stub STS)', () => {
  const RUN = 'failover-apnakart/run-1';
  const expectFor = { run: RUN, gate: 'failover', decision: 'approve' as const, comment: 'go' };
  let sent: RawRequest[];
  let answer: { statusCode: number; body: string };
  const sts = (): StsReplayApi => ({
    endpoint: ENDPOINT,
    send: async (r) => {
      sent.push(r);
      return answer;
    },
  });
  const { verifyIdentity } = createIdentityActivities({ sts });
  const sign = (binding: Partial<{ run: string; gate: string; decision: 'approve' | 'reject'; comment: string }> = {}, signingDate?: Date) =>
    signIdentity({ binding: { run: RUN, gate: 'failover', decision: 'approve', comment: 'go', ...binding }, credentials: KEYS, region: 'us-east-1', endpoint: ENDPOINT, signingDate });
  const verify = (request: SignedIdentity, extra: Partial<VerifyIdentityInput> = {}) => verifyIdentity({ request, expect: expectFor, ...extra });

  beforeEach(() => {
    sent = [];
    answer = {
      statusCode: 200,
      body: `<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>AIDAX</UserId><Account>123456789012</Account><Arn>${ARN}</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    };
  });

  test('given a well-bound, fresh request, it is replayed unchanged to the worker\'s STS and the ARN comes back', async () => {
    const request = await sign();
    expect(await verify(request)).toEqual({ ok: true, arn: ARN, account: '123456789012', userId: 'AIDAX', requestId: 'req-1' });
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    expect(sent[0].headers.authorization).toBe(headerValue(request.headers, 'authorization'));
    expect(sent[0].headers.authorization).toMatch(/SignedHeaders=[^,]*x-drover-binding/);
  });

  test.each([
    ['signed six minutes ago', async () => sign({}, new Date(Date.now() - MAX_SIGNATURE_AGE_MS - 60_000)), 'expired', /signed 3\d\ds ago/],
    ['dated ten minutes ahead', async () => sign({}, new Date(Date.now() + 10 * 60_000)), 'unverifiable', /in the future/],
    ['bound to another run', async () => sign({ run: 'failover-apnakart/run-0' }), 'replayed', /bound to run failover-apnakart\/run-0/],
    ['bound to another gate', async () => sign({ gate: 'failback' }), 'replayed', /bound to gate failback/],
    ['bound to a rejection', async () => sign({ decision: 'reject' }), 'replayed', /decision "reject"/],
    ['bound to another comment', async () => sign({ comment: 'nope' }), 'replayed', /another comment/],
    ['without the binding among the signed headers', async () => {
      const r = await sign();
      const auth = (headerValue(r.headers, 'authorization') ?? '').replace(';x-drover-binding', '');
      return { ...r, headers: { ...r.headers, authorization: auth } };
    }, 'unverifiable', /x-drover-binding header is not among the signed headers/],
    ['for another STS action', async () => ({ ...(await sign()), body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=x' }), 'unverifiable', /not an STS GetCallerIdentity/],
    ['presigned, without an Authorization header', async () => {
      const r = await sign();
      const headers = { ...r.headers };
      delete headers.authorization;
      return { ...r, url: `${r.url}?X-Amz-Signature=abc` , headers };
    }, 'unverifiable', /GetCallerIdentity|presigned/],
    ['signed for another host', async () => signIdentity({ binding: { run: RUN, gate: 'failover', decision: 'approve', comment: 'go' }, credentials: KEYS, region: 'us-east-1', endpoint: new URL('https://sts.evil.example') }), 'unverifiable', /signed for host sts.evil.example/],
  ])('given a request %s, it is refused before STS is called', async (_what, make, kind, reason) => {
    const check = await verify(await make());
    expect(check).toEqual({ ok: false, kind, reason: expect.stringMatching(reason) });
    expect(sent).toHaveLength(0);
  });

  test('given a nonce the run has seen, the request is refused as replayed', async () => {
    const request = await sign();
    const nonce = parseBinding(headerValue(request.headers, 'x-drover-binding'))?.nonce ?? '';
    expect(await verify(request, { usedNonces: [nonce] })).toEqual({ ok: false, kind: 'replayed', reason: expect.stringContaining('already used') });
  });

  test('given STS refusing the signature, the request is forged; given a 5xx, the activity fails for Temporal to retry', async () => {
    answer = { statusCode: 403, body: '<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error></ErrorResponse>' };
    expect(await verify(await sign())).toEqual({ ok: false, kind: 'forged', reason: 'STS refused the signature (SignatureDoesNotMatch)' });
    answer = { statusCode: 403, body: '<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad key</Message></Error></ErrorResponse>' };
    expect(await verify(await sign())).toMatchObject({ ok: false, kind: 'unverifiable' });
    answer = { statusCode: 503, body: '<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>' };
    await expect(verify(await sign())).rejects.toThrow('STS answered 503 ServiceUnavailable');
  });

  test('no refusal reason carries the signature or the key', async () => {
    const request = await sign({ run: 'elsewhere/x' });
    const check = await verify(request);
    const signature = /Signature=([0-9a-f]{64})/.exec(headerValue(request.headers, 'authorization') ?? '')?.[1] ?? 'none';
    expect(JSON.stringify(check)).not.toContain(signature);
    expect(JSON.stringify(check)).not.toContain(KEYS.accessKeyId);
  });
});

describe('the pending gate in drover status', () => {
  const base = { workflowId: 'failover-apnakart' } as RunStatus;
  test('shows approvals so far with their labels, how many more are needed, from whom, the timeout and how to approve', () => {
    const now = 1_000_000;
    const lines = renderGate(
      {
        ...base,
        pendingGate: {
          name: 'failover',
          summary: 'planned failover',
          approvers: ['arn:aws:sts::123456789012:assumed-role/IncidentCommander/*'],
          requestedAt: now - 60_000,
          required: 2,
          approvals: [{ approver: 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/priya', verified: true, at: now - 1000, comment: 'ok' }],
          selfApproval: false,
          requestedBy: { id: 'arn:aws:iam::123456789012:user/lead', verified: true },
          trustClientIdentity: false,
          timeoutAt: now + 30 * 60_000,
          onTimeout: 'abort',
          escalateAt: now + 60_000,
        },
      },
      now,
    );
    expect(lines).toEqual([
      'waiting for approval at gate "failover": planned failover',
      '  approvals: 1 of 2',
      '    ✓ arn:aws:sts::123456789012:assumed-role/IncidentCommander/priya (verified): ok',
      '  needed:    1 more, from: arn:aws:sts::123456789012:assumed-role/IncidentCommander/* (other than those above); not the requester arn:aws:iam::123456789012:user/lead',
      '  timeout:   in 30m00s, then abort; escalation in 1m00s',
      '  approve:   drover approve failover-apnakart --gate failover [--comment TEXT]   (signed with your AWS credentials)',
    ]);
  });

  test('a gate recorded before policies shows as it did', () => {
    const lines = renderGate({ ...base, pendingGate: { name: 'failover', summary: 's', approvers: ['ic-priya'], requestedAt: 0 } });
    expect(lines).toEqual(['waiting for approval at gate "failover": s', '  approvers: ic-priya', '  approve:   drover approve failover-apnakart --gate failover --as <approver>']);
  });
});

describe('sealed identities (stub STS)', () => {
  const RUN = 'failover-apnakart/run-1';
  const expectFor = { run: RUN, gate: 'failover', decision: 'approve' as const, comment: 'go' };
  const dir = mkdtempSync(join(tmpdir(), 'drover-identity-'));
  const keyFile = join(dir, 'keys', 'identity.jwk');
  // The worker's private key is a secret: gone before the suite's secrets scan reads the temporary root.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sts = (): StsReplayApi => ({
    endpoint: ENDPOINT,
    send: async () => ({ statusCode: 200, body: `<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>AIDAX</UserId><Account>123456789012</Account><Arn>${ARN}</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>` }),
  });
  const activities = createIdentityActivities({ sts, keyFile });
  const sign = (binding: Partial<{ run: string; gate: string; decision: 'approve' | 'reject'; comment: string }> = {}) =>
    signIdentity({ binding: { run: RUN, gate: 'failover', decision: 'approve', comment: 'go', ...binding }, credentials: { ...KEYS, sessionToken: SESSION_TOKEN }, region: 'us-east-1', endpoint: ENDPOINT });

  test('the worker creates its key pair on first use (0600) and publishes only the public half, named by its thumbprint', async () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = await activities.identityPublicKey();
    expect(Object.keys(key.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.jwk));
    // A second worker on the same file has the same key.
    expect(await createIdentityActivities({ sts, keyFile }).identityPublicKey()).toEqual(key);
    expect(await localPublicIdentityKey(keyFile)).toEqual(key);
  });

  test('a sealed request carries no credential in clear text, and the worker opens and verifies it', async () => {
    const signed = await sign();
    expect(findSecrets(JSON.stringify(signed))).toEqual(expect.arrayContaining(['access key id', 'session token', 'SigV4 signature']));
    const sealed = await sealSigned(signed, await activities.identityPublicKey());
    expect(findSecrets(JSON.stringify(sealed))).toEqual([]);
    expect(sealed.binding).toEqual({ run: RUN, gate: 'failover', decision: 'approve', nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(decodeProtectedHeader(sealed.jwe)).toEqual({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: (await activities.identityPublicKey()).kid, cty: expect.any(String), epk: expect.any(Object) });
    expect(await activities.verifyIdentity({ sealed, expect: expectFor })).toMatchObject({ ok: true, arn: ARN });
  });

  test.each([
    ['sealed for another worker key', async () => {
      const other = join(dir, 'other.jwk');
      return sealSigned(await sign(), await publicIdentityKey(loadOrCreateIdentityKey(other)));
    }, 'unverifiable', 'sealed for another worker key: share DROVER_IDENTITY_KEY_FILE across workers'],
    ['with a clear binding that is not the signed one', async () => {
      const s = await sealSigned(await sign(), await activities.identityPublicKey());
      return { ...s, binding: { ...s.binding, nonce: 'e'.repeat(32) } };
    }, 'replayed', 'not the one it was signed with'],
    ['with its ciphertext altered', async () => {
      const s = await sealSigned(await sign(), await activities.identityPublicKey());
      const parts = s.jwe.split('.');
      parts[3] = `${parts[3][0] === 'A' ? 'B' : 'A'}${parts[3].slice(1)}`;
      return { ...s, jwe: parts.join('.') };
    }, 'unverifiable', 'could not be decrypted'],
    ['bound to another gate inside the seal', async () => sealSigned(await sign({ gate: 'failback' }), await activities.identityPublicKey()), 'replayed', 'bound to gate failback'],
  ])('given a request %s, it is refused', async (_what, make, kind, reason) => {
    expect(await activities.verifyIdentity({ sealed: await make(), expect: expectFor })).toEqual({ ok: false, kind, reason: expect.stringContaining(reason) });
  });

  test('a key file that is not a private P-256 JWK is refused with a clear message', async () => {
    const bad = join(dir, 'bad.jwk');
    writeFileSync(bad, JSON.stringify({ kty: 'RSA' }));
    await expect(createIdentityActivities({ sts, keyFile: bad }).identityPublicKey()).rejects.toThrow(`identity key ${bad} is not a P-256 EC JWK`);
  });
});
