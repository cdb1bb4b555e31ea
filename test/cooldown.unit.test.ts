/**
 * The drill refusals (activity `drillRefusals`, activities/drills.ts) over a fake Temporal client: the
 * cooldown after each kind of real run, pinned to the millisecond (refused while less than `cooldown` has
 * passed since the run closed, allowed from close + cooldown exactly), a real run still active, and
 * another drill of the runbook running. The clock is Jest's (the activity reads `new Date()`).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createDrillActivities } from '../activities/drills';
import type { Runbook } from '../runbooks/schema';

const RB = 'shop';
const HOUR = 3_600_000;
/** Drills allowed at any time of day, a one-hour cooldown. */
const DRILLS: Runbook['drills'] = { enabled: true, windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '00:00', to: '24:00', timezone: 'UTC' }], autoApprove: true, cooldown: HOUR, retention: 'delete' };
const CLOSED = new Date('2026-11-21T03:00:00.000Z');

interface FakeRun {
  running?: boolean;
  closeTime?: Date;
}

/** A Temporal client that knows `runs` by workflow id and lists `drills` (running, with their memo) in visibility. */
function fakeTemporal(runs: Record<string, FakeRun>, drills: Array<{ workflowId: string; runbook: string }> = []) {
  const described: string[] = [];
  const queries: string[] = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        describe: async () => {
          described.push(workflowId);
          const run = runs[workflowId];
          if (!run) throw new WorkflowNotFoundError(`workflow ${workflowId} not found`, workflowId, undefined);
          return { status: { name: run.running ? 'RUNNING' : 'COMPLETED' }, closeTime: run.running ? undefined : run.closeTime };
        },
      }),
      list: ({ query }: { query: string }) => {
        queries.push(query);
        return (async function* () {
          for (const d of drills) yield { workflowId: d.workflowId, memo: { runbook: d.runbook } };
        })();
      },
    },
  };
  return { temporal: () => client as unknown as Client, described, queries };
}

function refusalsAt(now: Date, runs: Record<string, FakeRun>, drills: Array<{ workflowId: string; runbook: string }> = [], self = 'drill-shop-20261121T040000Z') {
  jest.useFakeTimers({ now });
  const fake = fakeTemporal(runs, drills);
  return { fake, refusals: createDrillActivities(fake.temporal).drillRefusals({ runbook: RB, drills: DRILLS, self }) };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('the drill cooldown after a real run', () => {
  test.each([
    ['failover', 'failover-shop'],
    ['failback', 'failback-shop'],
    ['promote', 'promote-shop'],
    ['rebuild', 'rebuild-shop'],
  ])('given a real %s that closed, a drill one millisecond before the cooldown ends is refused naming it and when drills are allowed again', async (kind, id) => {
    const { refusals } = refusalsAt(new Date(CLOSED.getTime() + HOUR - 1), { [id]: { closeTime: CLOSED } });
    expect(await refusals).toEqual([`a real ${kind} (${id}) ended at 2026-11-21T03:00:00.000Z, less than the cooldown of 1h ago; drills are allowed again from 2026-11-21T04:00:00.000Z`]);
  });

  test.each([['failover-shop'], ['failback-shop'], ['promote-shop'], ['rebuild-shop']])('given %s closed exactly one cooldown ago, the drill is allowed (the cooldown ends at close + cooldown, inclusive)', async (id) => {
    const { refusals } = refusalsAt(new Date(CLOSED.getTime() + HOUR), { [id]: { closeTime: CLOSED } });
    expect(await refusals).toEqual([]);
  });

  test('given a failover and a failback that both closed within the cooldown, each is a reason of its own, in the order failover, failback', async () => {
    const back = new Date(CLOSED.getTime() + 20 * 60_000);
    const { refusals } = refusalsAt(new Date(back.getTime() + 30 * 60_000), { 'failover-shop': { closeTime: CLOSED }, 'failback-shop': { closeTime: back } });
    expect(await refusals).toEqual([
      'a real failover (failover-shop) ended at 2026-11-21T03:00:00.000Z, less than the cooldown of 1h ago; drills are allowed again from 2026-11-21T04:00:00.000Z',
      'a real failback (failback-shop) ended at 2026-11-21T03:20:00.000Z, less than the cooldown of 1h ago; drills are allowed again from 2026-11-21T04:20:00.000Z',
    ]);
  });

  test('only the five real runs of the runbook are looked up: a drill\'s own failover and failback (ids under the drill\'s) never start a cooldown', async () => {
    const { fake, refusals } = refusalsAt(new Date(CLOSED.getTime() + 60_000), { 'drill-shop-20261121T025000Z-failover': { closeTime: CLOSED }, 'drill-shop-20261121T025000Z-failback': { closeTime: CLOSED } });
    expect(await refusals).toEqual([]);
    expect(fake.described).toEqual(['failover-shop', 'failback-shop', 'promote-shop', 'rebuild-shop', 'cleanup-shop']);
  });

  test('a cleanup that ended a minute ago starts no cooldown; one still running refuses the drill as active', async () => {
    const ended = refusalsAt(new Date(CLOSED.getTime() + 60_000), { 'cleanup-shop': { closeTime: CLOSED } });
    expect(await ended.refusals).toEqual([]);
    const running = refusalsAt(new Date(CLOSED.getTime() + 60_000), { 'cleanup-shop': { running: true } });
    expect(await running.refusals).toEqual(['a real cleanup of shop is active (cleanup-shop)']);
  });

  test('a cooldown of 0 never refuses, even right after a run closed', async () => {
    jest.useFakeTimers({ now: CLOSED });
    const fake = fakeTemporal({ 'failover-shop': { closeTime: CLOSED } });
    expect(await createDrillActivities(fake.temporal).drillRefusals({ runbook: RB, drills: { ...DRILLS, cooldown: 0 }, self: 'drill-shop-x' })).toEqual([]);
  });
});

describe('other refusals', () => {
  test('given a real promotion still running, the drill is refused as active (no cooldown reason for it)', async () => {
    const { refusals } = refusalsAt(new Date(CLOSED.getTime() + 5 * HOUR), { 'promote-shop': { running: true } });
    expect(await refusals).toEqual(['a real promote of shop is active (promote-shop)']);
  });

  test('given another drill of the runbook running, the drill is refused naming it; itself and drills of other runbooks do not count', async () => {
    const self = 'drill-shop-20261121T040000Z';
    const { fake, refusals } = refusalsAt(
      new Date(CLOSED.getTime() + 5 * HOUR),
      {},
      [
        { workflowId: 'drill-shop-scheduled-2026-11-21T03:59:00Z', runbook: RB },
        { workflowId: self, runbook: RB },
        { workflowId: 'drill-other-20261121T035900Z', runbook: 'other' },
      ],
      self,
    );
    expect(await refusals).toEqual(['another drill of shop is running (drill-shop-scheduled-2026-11-21T03:59:00Z)']);
    expect(fake.queries).toEqual(["WorkflowType = 'drill' AND ExecutionStatus = 'Running'"]);
  });

  test('every reason at once, in order: not enabled, a real run active, a cooldown, another drill', async () => {
    jest.useFakeTimers({ now: new Date(CLOSED.getTime() + 10 * 60_000) });
    const fake = fakeTemporal({ 'failover-shop': { running: true }, 'rebuild-shop': { closeTime: CLOSED } }, [{ workflowId: 'drill-shop-a', runbook: RB }]);
    const refusals = await createDrillActivities(fake.temporal).drillRefusals({ runbook: RB, drills: { ...DRILLS, enabled: false }, self: 'drill-shop-b' });
    expect(refusals).toEqual([
      'drills are not enabled for shop: set drills.enabled: true (and a window) in the runbook',
      'a real failover of shop is active (failover-shop)',
      'a real rebuild (rebuild-shop) ended at 2026-11-21T03:00:00.000Z, less than the cooldown of 1h ago; drills are allowed again from 2026-11-21T04:00:00.000Z',
      'another drill of shop is running (drill-shop-a)',
    ]);
  });

  test('outside every window the reason names the time and the windows', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-23T10:00:00.000Z') });
    const fake = fakeTemporal({});
    const windows: Runbook['drills']['windows'] = [{ days: ['sat', 'sun'], from: '02:00', to: '06:00', timezone: 'Asia/Kolkata' }];
    expect(await createDrillActivities(fake.temporal).drillRefusals({ runbook: RB, drills: { ...DRILLS, windows }, self: 'drill-shop-x' })).toEqual([
      '2026-11-23T10:00:00.000Z is outside the drill windows (sat,sun 02:00-06:00 Asia/Kolkata)',
    ]);
  });
});
