/**
 * The runbook lock's rule (contracts/lock.ts), the one the lock workflow applies to each acquire in order.
 */
import { decideLock, describeHolder, isLockHolder, type LockHolder } from '../contracts/lock';

const run = (workflowId: string, kind = 'failover', runId = `r-${workflowId}`): LockHolder => ({ workflowId, runId, kind, drill: kind === 'drill' });

test('a free lock goes to whoever asks, drill or not', () => {
  expect(decideLock(undefined, { holder: run('drill-a', 'drill') })).toEqual({ answer: { granted: true }, holder: run('drill-a', 'drill') });
  expect(decideLock(undefined, { holder: run('failback-a', 'failback') })).toEqual({ answer: { granted: true }, holder: run('failback-a', 'failback') });
});

test('the holder asking again (a retried activity) is granted again; the same workflow id in another run is not the holder', () => {
  const held = run('failover-a');
  expect(decideLock(held, { holder: { ...held } })).toEqual({ answer: { granted: true }, holder: held });
  const again = run('failover-a', 'failover', 'r-next');
  expect(decideLock(held, { holder: again })).toEqual({ answer: { granted: false, heldBy: held }, holder: held });
});

test('a real run takes the lock from a drill, naming it; a drill never takes it from a drill or a real run', () => {
  const drill = run('drill-a', 'drill');
  expect(decideLock(drill, { holder: run('rebuild-a', 'rebuild') })).toEqual({ answer: { granted: true, preempted: drill }, holder: run('rebuild-a', 'rebuild') });
  expect(decideLock(drill, { holder: run('drill-b', 'drill') })).toEqual({ answer: { granted: false, heldBy: drill }, holder: drill });
  expect(decideLock(run('promote-a', 'promote'), { holder: run('drill-b', 'drill') }).answer).toEqual({ granted: false, heldBy: run('promote-a', 'promote') });
});

test('a real run never takes it from a real run, unless it names that exact run as closed (stale)', () => {
  const held = run('failover-a');
  expect(decideLock(held, { holder: run('failback-a', 'failback') }).answer.granted).toBe(false);
  expect(decideLock(held, { holder: run('failback-a', 'failback'), stale: held })).toEqual({ answer: { granted: true }, holder: run('failback-a', 'failback') });
  // A stale claim about another run (the holder changed meanwhile) takes nothing.
  expect(decideLock(held, { holder: run('failback-a', 'failback'), stale: run('failover-a', 'failover', 'r-old') }).answer.granted).toBe(false);
});

test('holders are checked before they are recorded, and refusals name the holder', () => {
  expect(isLockHolder(run('failover-a'))).toBe(true);
  for (const bad of [undefined, null, 'failover-a', { workflowId: '', runId: 'r', kind: 'failover', drill: false }, { workflowId: 'w', runId: 'r', kind: 'failover' }]) expect(isLockHolder(bad)).toBe(false);
  expect(describeHolder(run('failback-ak', 'failback'), 'ak')).toBe('a failback of ak is running (failback-ak)');
  expect(describeHolder(run('drill-ak-1', 'drill'), 'ak')).toBe('a drill of ak is running (drill-ak-1)');
});
