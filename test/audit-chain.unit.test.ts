/**
 * The audit chain (audit/chain.ts, audit/hash.ts) pinned to exact values: the canonical text and SHA-256 of
 * fixed events (computed independently, with Python's json and hashlib, from the RFC 8785 rules: sorted
 * keys, no whitespace), sealing after a head, and every verdict of verification with its exact reason, index
 * and seq, checked in the order verification makes them. Every chain is built inside its test.
 */
import { actorLabel, canonicalJson, eventName, GENESIS_HASH, hashInput, type AuditDraft, type AuditEvent } from '../audit/chain';
import { hashEvent, sealEvents, verifyChain } from '../audit/hash';

const RUN = { runId: 'r1', workflowId: 'failover-shop', runbook: 'shop' };
const FIRST_TEXT =
  '{"action":"run.start","actor":{"id":"priya","verified":false},"at":"2026-01-10T03:00:00.000Z","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","runId":"r1","runbook":"shop","seq":1,"workflowId":"failover-shop"}';
const FIRST_HASH = '1c46517dea9d59d86e302a7d50705d5f5e88af3dc41e657c36c0d29ae06fd60e';
const SECOND_HASH = '870b9f7ce94efa9eca2245038378c0628f49e2046e281ac6a1f0fe7e06c67bda';

function drafts(): AuditDraft[] {
  return [
    { ...RUN, at: '2026-01-10T03:00:00.000Z', actor: { id: 'priya', verified: false }, action: 'run.start' },
    { ...RUN, at: '2026-01-10T03:00:05.000Z', actor: { id: 'arn:aws:iam::123456789012:user/dave', verified: true }, action: 'gate.approved', detail: 'failover' },
    { ...RUN, at: '2026-01-10T03:00:09.000Z', actor: { id: 'drover', verified: true }, action: 'aws.PromoteReadReplica', target: 'arn:aws:rds:us-west-2:123456789012:db:shop-b', requestId: 'req-1' },
    { ...RUN, at: '2026-01-10T03:00:12.000Z', actor: { id: 'drover', verified: true }, action: 'run.end', detail: 'completed' },
  ];
}

/** An event changed and sealed again, its own hash right (what a careful forger does). */
function reseal(e: AuditEvent, change: Partial<AuditEvent>): AuditEvent {
  const changed = { ...e, ...change };
  return { ...changed, hash: hashEvent(changed) };
}

describe('the canonical form and the hash', () => {
  test('the genesis hash is 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0000000000000000000000000000000000000000000000000000000000000000');
  });

  test('a fixed first event has a fixed canonical text and SHA-256, and the second links to it', () => {
    const [first, second] = sealEvents(undefined, drafts().slice(0, 2));
    expect(hashInput(first)).toBe(FIRST_TEXT);
    expect(first).toEqual({ ...drafts()[0], seq: 1, prevHash: GENESIS_HASH, hash: FIRST_HASH });
    expect(hashEvent(first)).toBe(FIRST_HASH);
    expect(second).toEqual({ ...drafts()[1], seq: 2, prevHash: FIRST_HASH, hash: SECOND_HASH });
  });

  test('the hash covers everything but itself: a stored hash, right or wrong, changes nothing', () => {
    const [first] = sealEvents(undefined, drafts().slice(0, 1));
    expect(hashInput({ ...first, hash: 'anything' })).toBe(FIRST_TEXT);
    expect(hashEvent({ ...first, hash: 'x' })).toBe(FIRST_HASH);
    const { hash: _hash, ...unsealed } = first; // eslint-disable-line @typescript-eslint/no-unused-vars -- the event without its hash
    expect(hashEvent(unsealed)).toBe(FIRST_HASH);
  });

  test('canonical JSON sorts keys at every depth, keeps array order, and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,1,{"y":2,"z":1}]},"b":1}');
  });

  test('an actor reads as its id, labelled when unverified; an event as #seq action', () => {
    expect(actorLabel({ id: 'arn:aws:iam::1:user/a', verified: true })).toBe('arn:aws:iam::1:user/a');
    expect(actorLabel({ id: 'priya', verified: false })).toBe('priya (unverified)');
    expect(eventName({ seq: 12, action: 'gate.approved' })).toBe('#12 gate.approved');
  });
});

describe('sealEvents', () => {
  test('continues after a head: its seq plus one, chained to its hash', () => {
    const events = sealEvents({ seq: 7, hash: 'f'.repeat(64) }, drafts().slice(0, 2));
    expect(events.map((e) => [e.seq, e.prevHash])).toEqual([
      [8, 'f'.repeat(64)],
      [9, events[0].hash],
    ]);
    expect(events[0].hash).toBe(hashEvent(events[0]));
    expect(events[0].hash).not.toBe(FIRST_HASH);
  });

  test('nothing to seal gives nothing', () => {
    expect(sealEvents({ seq: 3, hash: FIRST_HASH }, [])).toEqual([]);
  });

  test('what is sealed is what storage gives back: dates as ISO text, undefined fields gone', () => {
    const draft = { ...drafts()[0], after: { when: new Date(Date.UTC(2026, 0, 10)) }, target: undefined } as unknown as AuditDraft;
    const [e] = sealEvents(undefined, [draft]);
    expect(e.after).toEqual({ when: '2026-01-10T00:00:00.000Z' });
    expect(Object.keys(e)).not.toContain('target');
    expect(e.hash).toBe(hashEvent(JSON.parse(JSON.stringify(e)) as AuditEvent));
  });
});

describe('verifyChain', () => {
  const chain = () => sealEvents(undefined, drafts());
  const bad = (events: AuditEvent[], expect: Parameters<typeof verifyChain>[1] = {}) => verifyChain(events, expect);

  test('an intact chain passes with its head and count, against every expectation', () => {
    const events = chain();
    expect(verifyChain(events)).toEqual({ ok: true, head: events[3].hash, count: 4 });
    expect(verifyChain(events, { ...RUN, head: events[3].hash })).toEqual({ ok: true, head: events[3].hash, count: 4 });
    expect(verifyChain(events.slice(0, 1), { head: FIRST_HASH })).toEqual({ ok: true, head: FIRST_HASH, count: 1 });
  });

  test('an empty trail fails at index 0 without a seq', () => {
    expect(verifyChain([])).toEqual({ ok: false, firstBad: { seq: undefined, index: 0, reason: 'no audit events' } });
  });

  test('an event of another run, workflow or runbook is named, even when its hash is also wrong', () => {
    const events = chain();
    events[1] = { ...events[1], runId: 'r2', workflowId: 'failover-other', runbook: 'other', detail: 'edited' };
    expect(bad(events, { runId: 'r1' })).toEqual({ ok: false, firstBad: { seq: 2, index: 1, reason: 'event #2 gate.approved belongs to run r2, not r1' } });
    expect(bad(events, { workflowId: 'failover-shop' })).toEqual({ ok: false, firstBad: { seq: 2, index: 1, reason: 'event #2 gate.approved belongs to workflow failover-other, not failover-shop' } });
    expect(bad(events, { runbook: 'shop' })).toEqual({ ok: false, firstBad: { seq: 2, index: 1, reason: 'event #2 gate.approved belongs to runbook other, not shop' } });
    expect(bad(events)).toEqual({ ok: false, firstBad: { seq: 2, index: 1, reason: 'event #2 gate.approved was modified: its content does not match its hash' } });
  });

  test('an edited event is modified; its seq edited without resealing is modified too, not reordered', () => {
    const events = chain();
    expect(bad([events[0], { ...events[1], seq: 5 }])).toEqual({ ok: false, firstBad: { seq: 5, index: 1, reason: 'event #5 gate.approved was modified: its content does not match its hash' } });
  });

  test('a resealed copy of an earlier seq is an insertion', () => {
    const events = chain();
    const copy = reseal(events[1], { detail: 'forged' });
    expect(bad([...events.slice(0, 3), copy, events[3]])).toEqual({ ok: false, firstBad: { seq: 2, index: 3, reason: 'event #2 gate.approved was inserted: seq 2 appears twice' } });
  });

  test('a resealed event with a seq lower than any seen is out of order after the last good one', () => {
    const events = chain();
    const early = reseal(events[0], { seq: 0 });
    expect(bad([events[0], events[1], early])).toEqual({ ok: false, firstBad: { seq: 0, index: 2, reason: 'event #0 run.start is out of order: it comes after #2' } });
  });

  test('two swapped events: the first out of place is named with the event that belongs there', () => {
    const events = chain();
    expect(bad([events[0], events[2], events[1], events[3]])).toEqual({
      ok: false,
      firstBad: { seq: 3, index: 1, reason: 'event #3 aws.PromoteReadReplica is out of order: it stands where #2 gate.approved belongs' },
    });
  });

  test('a deleted event is named by the seq that is missing, after the start of the run or the event before', () => {
    const events = chain();
    expect(bad(events.slice(1))).toEqual({ ok: false, firstBad: { seq: 1, index: 0, reason: 'event #1 was deleted: #2 gate.approved follows the start of the run' } });
    expect(bad([events[0], events[1], events[3]])).toEqual({ ok: false, firstBad: { seq: 3, index: 2, reason: 'event #3 was deleted: #4 run.end follows #2 gate.approved' } });
  });

  test('an event that does not chain names what its prevHash should have been', () => {
    const events = chain();
    expect(bad([reseal(events[0], { prevHash: 'a'.repeat(64) })])).toEqual({
      ok: false,
      firstBad: { seq: 1, index: 0, reason: 'event #1 run.start does not chain: its prevHash is not the genesis hash (an event was replaced or inserted)' },
    });
    expect(bad([events[0], events[1], reseal(events[2], { prevHash: events[0].hash })])).toEqual({
      ok: false,
      firstBad: { seq: 3, index: 2, reason: 'event #3 aws.PromoteReadReplica does not chain: its prevHash is not the hash of #2 gate.approved (an event was replaced or inserted)' },
    });
  });

  test('a chain cut short, or rewritten, is caught by the head the workflow returned', () => {
    const events = chain();
    expect(bad(events.slice(0, 2), { head: events[3].hash })).toEqual({
      ok: false,
      firstBad: { seq: 3, index: 2, reason: `the chain ends at #2 gate.approved with head ${SECOND_HASH}, not the expected head ${events[3].hash}: events after #2 were deleted, or the chain was rewritten` },
    });
  });
});
