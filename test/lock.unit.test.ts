/**
 * The runbook lock's rule (contracts/lock.ts), the one the lock workflow applies to each acquire in order, once it
 * has read who asks and whether its holder still runs; and what it carries over and accepts.
 */
import { decideLock, describeHolder, DISPLACED_KEPT, isAcquireArgs, kindOfWorkflowType, lockStateFrom, type LockHolder, type LockState } from '../contracts/lock';

const RB = 'ak';
const run = (kind: string, workflowId = kind === 'drill' ? `drill-${RB}-1` : `${kind}-${RB}`, runId = `r-${workflowId}`): LockHolder => ({ workflowId, runId, kind, drill: kind === 'drill' });
const free: LockState = { displaced: [] };
const held = (h: LockHolder, displaced: string[] = []): LockState => ({ holder: h, displaced });

test('a free lock (never taken, or its holder read as ended) goes to whoever asks, drill or not', () => {
  expect(decideLock(free, run('drill'))).toEqual({ answer: { granted: true, drills: [] }, state: held(run('drill')) });
  expect(decideLock(free, run('failback'))).toEqual({ answer: { granted: true, drills: [] }, state: held(run('failback')) });
});

test('the holder asking again (a retried activity, a reset run, the same failover run again) is granted: its identity is its workflow id', () => {
  const h = run('failover');
  expect(decideLock(held(h), { ...h }).answer).toEqual({ granted: true, drills: [] });
  const again = run('failover', `failover-${RB}`, 'r-next');
  expect(decideLock(held(h), again)).toEqual({ answer: { granted: true, drills: [] }, state: held(again) });
});

test('a real run takes the lock from a running drill and is told to stop it; a drill never takes it from a running drill or real run', () => {
  const drill = run('drill');
  expect(decideLock(held(drill), run('rebuild'))).toEqual({ answer: { granted: true, drills: [drill.workflowId] }, state: held(run('rebuild'), [drill.workflowId]) });
  expect(decideLock(held(drill), run('drill', `drill-${RB}-2`))).toEqual({ answer: { granted: false, heldBy: drill }, state: held(drill) });
  expect(decideLock(held(run('promote')), run('drill', `drill-${RB}-2`)).answer).toEqual({ granted: false, heldBy: run('promote') });
  expect(decideLock(held(run('failover')), run('failback')).answer).toEqual({ granted: false, heldBy: run('failover') });
});

test('the drills a real run displaced are named to every later real run (a retried acquire, a run after one cancelled while it waited), never to a drill', () => {
  const state = held(run('failover'), [`drill-${RB}-1`]);
  expect(decideLock(state, run('failover')).answer).toEqual({ granted: true, drills: [`drill-${RB}-1`] });
  // The failover has ended (the lock read it so): the next real run is told too, a drill is not.
  expect(decideLock({ ...state, holder: undefined }, run('failback')).answer).toEqual({ granted: true, drills: [`drill-${RB}-1`] });
  expect(decideLock({ ...state, holder: undefined }, run('drill', `drill-${RB}-3`)).answer).toEqual({ granted: true, drills: [] });
  // Bounded: the oldest are forgotten.
  let many: LockState = free;
  for (let i = 0; i < DISPLACED_KEPT + 3; i++) many = decideLock(decideLock({ ...many, holder: undefined }, run('drill', `drill-${RB}-${i}`)).state, run('failover')).state;
  expect(many.displaced).toHaveLength(DISPLACED_KEPT);
  expect(many.displaced.at(-1)).toBe(`drill-${RB}-${DISPLACED_KEPT + 2}`);
});

test('an acquire names only who asks; the kind of a holder comes from its workflow type; a carried state keeps only what is well formed', () => {
  expect(isAcquireArgs({ workflowId: 'failover-ak' })).toBe(true);
  for (const bad of [undefined, null, 'failover-ak', { workflowId: '' }, { workflowId: 7 }, { workflowId: 'x'.repeat(1001) }]) expect(isAcquireArgs(bad)).toBe(false);
  expect([kindOfWorkflowType('regionFailover'), kindOfWorkflowType('drill'), kindOfWorkflowType('rebuildCluster'), kindOfWorkflowType('runbookLock'), kindOfWorkflowType('evil')]).toEqual(['failover', 'drill', 'rebuild', undefined, undefined]);
  // Displaced ids are only ever this runbook's drills: a forged start argument cannot make a real run stop anything else.
  expect(lockStateFrom({ holder: { workflowId: 'failover-ak' }, displaced: ['drill-ak-1', 7, 'failover-other', 'lock-other', 'drill-other-1'] }, RB)).toEqual({ displaced: ['drill-ak-1'] });
  expect(lockStateFrom({ holder: run('failover'), displaced: [] }, RB)).toEqual(held(run('failover')));
  expect(lockStateFrom(undefined, RB)).toEqual(free);
});

test('refusals name the holder', () => {
  expect(describeHolder(run('failback'), RB)).toBe('a failback of ak is running (failback-ak)');
  expect(describeHolder(run('drill'), RB)).toBe('a drill of ak is running (drill-ak-1)');
  // Terminated, its children still compensating (lock-children-v1): they are named, what an operator waits for.
  expect(describeHolder({ ...run('failover'), children: ['failover-ak-promote'] }, RB)).toBe('a failover of ak (failover-ak) was terminated, and the runs it asked to cancel still run, compensating: failover-ak-promote');
  expect(describeHolder({ ...run('drill'), children: ['drill-ak-1-failover', 'drill-ak-1-failover-promote'] }, RB)).toBe('a drill of ak (drill-ak-1) was terminated, and the runs it asked to cancel still run, compensating: drill-ak-1-failover, drill-ak-1-failover-promote');
});
