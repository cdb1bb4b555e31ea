import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, GENESIS_HASH, hashInput, type AuditDraft, type AuditEvent } from '../audit/chain';
import { checkAnchor, compareCopies } from '../audit/anchor';
import { hashEvent, sealEvents, verifyChain } from '../audit/hash';
import { REDACTED, scrubSecrets } from '../audit/scrub';

const RUN = { runId: '0b5e7c1e-2f4d-4c55-9d8e-5a1f3f1b6c01', workflowId: 'failover-apnakart', runbook: 'apnakart' };
const ZONE = 'arn:aws:route53:::hostedzone/Z0APNAKART';

function drafts(): AuditDraft[] {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 10, 3, 0, s)).toISOString();
  return [
    { ...RUN, at: at(0), actor: { id: 'priya', verified: false }, action: 'run.start', detail: 'planned failover to ap-southeast-1' },
    { ...RUN, at: at(5), actor: { id: 'arn:aws:sts::123456789012:assumed-role/oncall/priya', verified: true }, action: 'gate.approved', detail: 'failover' },
    { ...RUN, at: at(9), actor: { id: 'drover', verified: true }, action: 'aws.PromoteReadReplica', target: 'arn:aws:rds:ap-southeast-1:123456789012:db:apnakart-replica', before: { role: 'replica' }, after: { role: 'standalone' }, requestId: 'req-1' },
    { ...RUN, at: at(12), actor: { id: 'drover', verified: true }, action: 'aws.ChangeResourceRecordSets', target: ZONE, before: { weights: { mumbai: 100, singapore: 0 } }, after: { weights: { mumbai: 0, singapore: 100 } }, requestId: 'C0APNA' },
    { ...RUN, at: at(15), actor: { id: 'drover', verified: true }, action: 'step.done', detail: 'verify' },
    { ...RUN, at: at(16), actor: { id: 'drover', verified: true }, action: 'run.end', detail: 'completed' },
  ];
}

/** Re-seal an edited event so its own hash is right again (what a careful forger does). */
function reseal(e: AuditEvent): AuditEvent {
  return { ...e, hash: hashEvent(e) };
}

function failure(events: AuditEvent[], expect?: Parameters<typeof verifyChain>[1]) {
  const verdict = verifyChain(events, expect);
  if (verdict.ok) throw new Error('expected the chain to fail verification');
  return verdict.firstBad;
}

describe('sealing', () => {
  it('numbers events from 1, links each to the previous hash, and hashes the canonical form without the hash', () => {
    const events = sealEvents(undefined, drafts());
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[0].prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
    const e = events[2];
    expect(e.hash).toBe(createHash('sha256').update(hashInput(e)).digest('hex'));
    expect(hashInput(e)).not.toContain('"hash"');
    expect(hashInput(e)).toContain('"prevHash"');
  });

  it('is deterministic, and continuing from a head gives the same chain as sealing all at once', () => {
    const all = sealEvents(undefined, drafts());
    expect(sealEvents(undefined, drafts())).toEqual(all);
    const first = sealEvents(undefined, drafts().slice(0, 2));
    const rest = sealEvents({ seq: 2, hash: first[1].hash }, drafts().slice(2));
    expect([...first, ...rest]).toEqual(all);
  });

  it('hashes the same whatever the key order, and drops undefined fields as storage does', () => {
    const [a] = sealEvents(undefined, [{ ...RUN, at: '2026-01-10T03:00:00.000Z', actor: { id: 'x', verified: false }, action: 'run.start', after: { b: 1, a: [1, { d: 2, c: 3 }] }, target: undefined }]);
    const [b] = sealEvents(undefined, [{ after: { a: [1, { c: 3, d: 2 }], b: 1 }, action: 'run.start', actor: { verified: false, id: 'x' }, at: '2026-01-10T03:00:00.000Z', ...RUN }]);
    expect(a.hash).toBe(b.hash);
    expect('target' in a).toBe(false);
    expect(hashEvent(JSON.parse(JSON.stringify(a)) as AuditEvent)).toBe(a.hash);
  });

  it('canonicalises per RFC 8785: sorted keys, no whitespace, ECMAScript numbers', () => {
    expect(canonicalJson({ b: [3, 'x'], a: { z: null, y: true } })).toBe('{"a":{"y":true,"z":null},"b":[3,"x"]}');
    // The RFC's own number examples (appendix B).
    expect(canonicalJson({ numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 0.000000000000000000000000001] })).toBe('{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}');
  });

  it('keeps a stable hash for a fixed event (a change of canonical form would orphan every stored trail)', () => {
    const [e] = sealEvents(undefined, drafts().slice(0, 1));
    expect(hashInput(e)).toBe(
      '{"action":"run.start","actor":{"id":"priya","verified":false},"at":"2026-01-10T03:00:00.000Z","detail":"planned failover to ap-southeast-1","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","runId":"0b5e7c1e-2f4d-4c55-9d8e-5a1f3f1b6c01","runbook":"apnakart","seq":1,"workflowId":"failover-apnakart"}',
    );
    expect(e.hash).toBe('709a2478c09579dbaa1516a1b4c659d1d2fcc846a52d065455d61abfe67a937a');
  });
});

describe('verification', () => {
  const chain = () => sealEvents(undefined, drafts());

  it('passes an intact chain and returns its head and count', () => {
    const events = chain();
    expect(verifyChain(events, { runId: RUN.runId, head: events[5].hash })).toEqual({ ok: true, head: events[5].hash, count: 6 });
  });

  it('given one edited event, names it as modified', () => {
    const events = chain();
    events[3] = { ...events[3], after: { weights: { mumbai: 100, singapore: 0 } } };
    expect(failure(events)).toEqual({ seq: 4, index: 3, reason: expect.stringMatching(/event #4 aws\.ChangeResourceRecordSets was modified/) });
  });

  it('given an edited event whose hash was recomputed, names the break at the next link and the event before it', () => {
    const events = chain();
    events[2] = reseal({ ...events[2], actor: { id: 'someone-else', verified: true } });
    const bad = failure(events);
    expect(bad.seq).toBe(4);
    expect(bad.reason).toMatch(/#4 aws\.ChangeResourceRecordSets does not chain: its prevHash is not the hash of #3 aws\.PromoteReadReplica/);
  });

  it('given a deleted event, names the missing seq', () => {
    const events = chain();
    events.splice(2, 1);
    expect(failure(events)).toEqual({ seq: 3, index: 2, reason: 'event #3 was deleted: #4 aws.ChangeResourceRecordSets follows #2 gate.approved' });
  });

  it('given a deleted first event, names it', () => {
    expect(failure(chain().slice(1))).toMatchObject({ seq: 1, index: 0, reason: expect.stringMatching(/#1 was deleted/) });
  });

  it('given a deleted last event, passes the chain alone but fails against the head from the workflow result', () => {
    const events = chain();
    const head = events[5].hash;
    const cut = events.slice(0, 5);
    expect(verifyChain(cut).ok).toBe(true);
    expect(failure(cut, { head }).reason).toMatch(/ends at #5 step\.done .* events after #5 were deleted/);
  });

  it('given an inserted forged event with a duplicate seq, names the duplicate', () => {
    const events = chain();
    const forged = reseal({ ...events[2], seq: 3, detail: 'forged', prevHash: events[1].hash });
    events.splice(2, 0, forged);
    expect(failure(events)).toMatchObject({ seq: 3, index: 3, reason: expect.stringMatching(/#3 aws\.PromoteReadReplica was inserted: seq 3 appears twice/) });
  });

  it('given an inserted event that does not link, names it', () => {
    const events = chain();
    const forged = reseal({ ...events[4], seq: 5, detail: 'forged', prevHash: GENESIS_HASH });
    events.splice(4, 2, forged);
    expect(failure(events).reason).toMatch(/#5 step\.done does not chain/);
  });

  it('given two swapped events, names the one out of place and where it belongs', () => {
    const events = chain();
    [events[2], events[3]] = [events[3], events[2]];
    expect(failure(events)).toEqual({ seq: 4, index: 2, reason: 'event #4 aws.ChangeResourceRecordSets is out of order: it stands where #3 aws.PromoteReadReplica belongs' });
  });

  it('given an event of another run, names it', () => {
    const events = chain();
    expect(failure(events, { runId: 'other-run' }).reason).toMatch(/#1 run\.start belongs to run 0b5e7c1e/);
  });

  it('given an added field, reports a modification (nothing outside the hash can ride along)', () => {
    const events = chain();
    events[1] = { ...events[1], note: 'added later' } as AuditEvent;
    expect(failure(events).reason).toMatch(/#2 gate\.approved was modified/);
  });

  it('fails an empty trail', () => {
    expect(failure([]).reason).toBe('no audit events');
  });

  it('detects any single modification, deletion (but the last), or swap, at any position', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('modify' as const), i: fc.nat(), text: fc.string({ minLength: 1 }) }),
      fc.record({ kind: fc.constant('delete' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), op, (n, o) => {
        const base = drafts();
        const events = sealEvents(undefined, Array.from({ length: n }, (_, k) => ({ ...base[k % base.length], detail: `step ${k}` })));
        const i = o.i % n;
        if (o.kind === 'modify') events[i] = { ...events[i], detail: `${events[i].detail}${o.text}` };
        if (o.kind === 'delete') events.splice(i % (n - 1), 1);
        if (o.kind === 'swap') {
          const j = o.j % n === i ? (i + 1) % n : o.j % n;
          [events[i], events[j]] = [events[j], events[i]];
        }
        const verdict = verifyChain(events);
        return !verdict.ok && /#\d+/.test(verdict.firstBad.reason);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the anchor (the head and count a run recorded, which the trail\'s writer cannot rewrite)', () => {
  const events = sealEvents(undefined, drafts());
  const anchor = (n: number, open = false) => ({ source: 'the record', head: events[n - 1].hash, events: n, open });
  /** A forger's rewrite: one event changed, every hash from it on recomputed, so the chain alone verifies. */
  const rewritten = sealEvents(undefined, drafts().map((d, i) => (i === 1 ? { ...d, actor: { id: 'mallory', verified: true } } : d)));

  it('passes a closed run\'s trail that ends exactly at the recorded head', () => {
    expect(checkAnchor(events, anchor(6))).toEqual({ ok: true, anchored: 6, unanchored: 0 });
  });

  it('given a consistent rewrite whose chain verifies, fails naming the event that should carry the head', () => {
    expect(verifyChain(rewritten)).toMatchObject({ ok: true, count: 6 });
    expect(checkAnchor(rewritten, anchor(6))).toEqual({ ok: false, seq: 6, reason: `event #6 run.end hashes to ${rewritten[5].hash}, not to the anchored head ${events[5].hash} (the record): the chain was rewritten and its hashes recomputed` });
  });

  it('given a tail cut off, names the missing events; given events added after the end, names them', () => {
    expect(checkAnchor(events.slice(0, 4), anchor(6))).toEqual({ ok: false, seq: 5, reason: 'the trail ends at event #4 aws.ChangeResourceRecordSets, but 6 events are anchored by the record: events #5–#6 were cut off' });
    expect(checkAnchor(events, anchor(5))).toEqual({ ok: false, seq: 6, reason: 'event #6 was added after event #5, the last one anchored by the record' });
  });

  it('while the run is open, checks the prefix up to the anchored event and counts later events as not yet anchored', () => {
    expect(checkAnchor(events, anchor(4, true))).toEqual({ ok: true, anchored: 4, unanchored: 2 });
    expect(checkAnchor(events.slice(0, 3), anchor(4, true))).toMatchObject({ ok: false, seq: 4, reason: expect.stringMatching(/event #4 was cut off/) });
    expect(checkAnchor(rewritten, anchor(4, true))).toMatchObject({ ok: false, seq: 4, reason: expect.stringMatching(/^event #4 aws\.ChangeResourceRecordSets hashes to/) });
  });

  it('with a bare head (no count), finds the event it closes; a head in no event fails', () => {
    expect(checkAnchor(events, { source: 'the head given with --head', head: events[5].hash })).toEqual({ ok: true, anchored: 6, unanchored: 0 });
    expect(checkAnchor(events, { source: 'the head given with --head', head: events[3].hash })).toMatchObject({ ok: false, seq: 5, reason: 'events #5–#6 were added after event #4, the last one anchored by the head given with --head' });
    expect(checkAnchor(rewritten, { source: 'the head given with --head', head: events[5].hash })).toMatchObject({ ok: false, reason: expect.stringMatching(/^no event of the trail has the anchored head [0-9a-f]{64} \(the head given with --head\)/) });
  });

  it('compares two copies event by event: the first difference is named, with how many differ', () => {
    const names = { trail: 'JSONL trail', copy: 'S3 copy' };
    expect(compareCopies(events, events, { ...names, anchored: 6, open: false })).toBeUndefined();
    expect(compareCopies(rewritten, events, { ...names, anchored: 6, open: false })).toBe(
      `event #2 differs: the JSONL trail has #2 gate.approved (hash ${rewritten[1].hash}), the S3 copy has #2 gate.approved (hash ${events[1].hash}) (5 events differ in all)`,
    );
    expect(compareCopies(events, events.slice(0, 5), { ...names, anchored: 6, open: false })).toBe('event #6 run.end is in the JSONL trail but not in the S3 copy');
    expect(compareCopies(events.slice(0, 5), events, { ...names, anchored: 5, open: false })).toBe('event #6 run.end is in the S3 copy but not in the JSONL trail');
    // While the run is open, one copy may be an append ahead of the other past the anchored events.
    expect(compareCopies(events.slice(0, 5), events, { ...names, anchored: 4, open: true })).toBeUndefined();
    expect(compareCopies(events.slice(0, 3), events, { ...names, anchored: 4, open: true })).toBe('event #4 aws.ChangeResourceRecordSets is in the S3 copy but not in the JSONL trail');
  });
});

describe('scrubSecrets', () => {
  const presigned =
    'https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
    '&X-Amz-Credential=ASIAQWERTYUIOPASDFGH%2F20260110%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20260110T030000Z' +
    '&X-Amz-Expires=60&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQD' +
    '&X-Amz-SignedHeaders=host&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7';

  it('removes the signature, credential and session token of a presigned request, keeping the rest', () => {
    const out = scrubSecrets({ approval: { url: presigned } }).approval.url;
    expect(out).not.toMatch(/5d672d79c15b|ASIAQWERTY|IQoJb3JpZ2lu/);
    expect(out).toContain('X-Amz-Signature=[redacted]');
    expect(out).toContain('Action=GetCallerIdentity');
    expect(out).toContain('X-Amz-Date=20260110T030000Z');
  });

  it('redacts Authorization and token headers by name, and SigV4 values in text', () => {
    const out = scrubSecrets({
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260110/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc123', 'x-amz-security-token': 'tok', host: 'sts.amazonaws.com' },
      log: 'sent Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=deadbeef',
    });
    expect(out.headers).toEqual({ Authorization: REDACTED, 'x-amz-security-token': REDACTED, host: 'sts.amazonaws.com' });
    expect(out.log).not.toMatch(/AKIA|deadbeef/);
  });

  it('redacts access key ids, secret keys and session tokens anywhere, in nested values and arrays', () => {
    const out = scrubSecrets({
      detail: 'used AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      nested: [{ env: 'AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDNqMZt8kpLb7h2' }],
      SecretAccessKey: 'x',
      MasterUserPassword: 'hunter2-hunter2',
    });
    expect(JSON.stringify(out)).not.toMatch(/AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI|FwoGZXIvYXdz|hunter2/);
    expect(out.SecretAccessKey).toBe(REDACTED);
  });

  it('leaves evidence alone: ARNs, request ids, run ids, SHA-256 and SHA-1 digests, secret ARNs', () => {
    const evidence = {
      target: 'arn:aws:rds:ap-southeast-1:123456789012:db:apnakart-replica',
      actor: { id: 'arn:aws:sts::123456789012:assumed-role/oncall/priya', verified: true },
      requestId: '7a62c49f-347e-4fc4-9331-6e8eEXAMPLE',
      runId: RUN.runId,
      hash: 'a'.repeat(64),
      commit: '3f786850e387550fdab836ed7e6dc881de23001b',
      SecretArn: 'arn:aws:secretsmanager:ap-south-1:123456789012:secret:db-AbCdEf',
      weights: { mumbai: 0, singapore: 100 },
    };
    expect(scrubSecrets(evidence)).toEqual(evidence);
  });
});
