/**
 * The runbook lock's rule (contracts/lock.ts), the one the lock workflow applies to each acquire in order, and the
 * holders it accepts.
 */
import { decideLock, describeHolder, DISPLACED_KEPT, lockStateFrom, mayHold, type LockHolder, type LockState } from '../contracts/lock';

const RB = 'ak';
const run = (kind: string, workflowId = kind === 'drill' ? `drill-${RB}-1` : `${kind}-${RB}`, runId = `r-${workflowId}`): LockHolder => ({ workflowId, runId, kind, drill: kind === 'drill' });
const free: LockState = { displaced: [] };
const held = (h: LockHolder, displaced: string[] = []): LockState => ({ holder: h, displaced });

test('a free lock goes to whoever asks, drill or not', () => {
  expect(decideLock(free, { holder: run('drill') }, true)).toEqual({ answer: { granted: true, drills: [] }, state: held(run('drill')) });
  expect(decideLock(free, { holder: run('failback') }, true)).toEqual({ answer: { granted: true, drills: [] }, state: held(run('failback')) });
});

test('the holder asking again (a retried activity, a reset run, the same failover run again) is granted: its identity is its workflow id', () => {
  const h = run('failover');
  expect(decideLock(held(h), { holder: { ...h } }, true).answer).toEqual({ granted: true, drills: [] });
  const again = run('failover', `failover-${RB}`, 'r-next');
  expect(decideLock(held(h), { holder: again }, true)).toEqual({ answer: { granted: true, drills: [] }, state: held(again) });
});

test('a real run takes the lock from a live drill and is told to stop it; a drill never takes it from a live drill or real run', () => {
  const drill = run('drill');
  expect(decideLock(held(drill), { holder: run('rebuild') }, true)).toEqual({ answer: { granted: true, drills: [drill.workflowId] }, state: held(run('rebuild'), [drill.workflowId]) });
  expect(decideLock(held(drill), { holder: run('drill', `drill-${RB}-2`) }, true)).toEqual({ answer: { granted: false, heldBy: drill }, state: held(drill) });
  expect(decideLock(held(run('promote')), { holder: run('drill', `drill-${RB}-2`) }, true).answer).toEqual({ granted: false, heldBy: run('promote') });
});

test('the drills a real run displaced are named to every later real run (a retried acquire, a run after one cancelled while it waited), never to a drill', () => {
  const state = held(run('failover'), [`drill-${RB}-1`]);
  // The failover's acquire retried after it was applied: the drill is named again.
  expect(decideLock(state, { holder: run('failover') }, true).answer).toEqual({ granted: true, drills: [`drill-${RB}-1`] });
  // The failover ended (cancelled while it waited for the drill): the next real run is told too.
  expect(decideLock(state, { holder: run('failback') }, false).answer).toEqual({ granted: true, drills: [`drill-${RB}-1`] });
  expect(decideLock(state, { holder: run('drill', `drill-${RB}-3`) }, false).answer).toEqual({ granted: true, drills: [] });
  // Bounded: the oldest are forgotten.
  let many: LockState = free;
  for (let i = 0; i < DISPLACED_KEPT + 3; i++) many = decideLock(decideLock(many, { holder: run('drill', `drill-${RB}-${i}`) }, false).state, { holder: run('failover') }, true).state;
  expect(many.displaced).toHaveLength(DISPLACED_KEPT);
  expect(many.displaced.at(-1)).toBe(`drill-${RB}-${DISPLACED_KEPT + 2}`);
});

test('a real run never takes it from a live real run; from one that has ended (the lock read it), anyone does', () => {
  const h = held(run('failover'));
  expect(decideLock(h, { holder: run('failback') }, true).answer).toEqual({ granted: false, heldBy: run('failover') });
  expect(decideLock(h, { holder: run('failback') }, false)).toEqual({ answer: { granted: true, drills: [] }, state: held(run('failback')) });
  expect(decideLock(h, { holder: run('drill') }, false).answer.granted).toBe(true);
});

test('only a drover run of the runbook may hold it: a real run under its own id, a drill under the runbook prefix', () => {
  expect(mayHold(run('failover'), RB)).toBe(true);
  expect(mayHold(run('drill', `drill-${RB}-20261204T010203Z`), RB)).toBe(true);
  for (const bad of [
    undefined,
    'failover-ak',
    { workflowId: '', runId: 'r', kind: 'failover', drill: false },
    run('failover', 'failover-other'),
    run('failover', `failback-${RB}`),
    { ...run('failover'), kind: 'exfiltrate' },
    run('drill', `drill-other-1`),
    { ...run('drill'), kind: 'failover' },
  ]) {
    expect(mayHold(bad, RB)).toBe(false);
  }
  expect(lockStateFrom({ holder: run('failover', 'failover-other'), displaced: ['drill-ak-1', 7] }, RB)).toEqual({ displaced: ['drill-ak-1'] });
  expect(lockStateFrom(undefined, RB)).toEqual(free);
});

test('refusals name the holder', () => {
  expect(describeHolder(run('failback'), RB)).toBe('a failback of ak is running (failback-ak)');
  expect(describeHolder(run('drill'), RB)).toBe('a drill of ak is running (drill-ak-1)');
});
