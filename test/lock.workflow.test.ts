/**
 * One run per runbook, through the runbook's lock (contracts/lock.ts): every top-level run takes it before it
 * changes anything, and it passes on once that run has ended; a real run takes it from a drill, whose failover stops
 * before its next step; a run refused by it changes nothing. On the time-skipping test server with stub activities:
 * the stubs apply the lock workflow's own rule (`decideLock`) to one in-memory state. The lock workflow itself, and a
 * drill and a real failover started within milliseconds, run on the real dev server in test/drill.integration.test.ts.
 */
import type { FailbackInput } from '../workflows/failback';
import type { FailoverInput } from '../workflows/regionFailover';
import type { PromoteInput } from '../workflows/promoteReplica';
import type { LockHolder } from '../contracts/lock';
import type { Runbook } from '../runbooks/schema';
import type { DrillResult, RunStatus } from '../contracts/run';
import { refOf } from './harness/fixtures';
import { StubWorld, typedFailure } from './harness/stubs';
import { recordHistory, runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const PG_SINGAPORE = 'apnakart-pg-singapore';
const PG_MUMBAI = 'apnakart-pg-mumbai';

const env = timeSkippingPerFile();
const runbook = () => workflowTestRunbook('wf-lock');

const holder = (kind: string, workflowId: string, drill = kind === 'drill'): LockHolder => ({ workflowId, runId: `run-of-${workflowId}`, kind, drill });

/** A manual drill of `rb`, as the workflow is started. */
const drillOf = (rb: Runbook) => ({ workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] });

/**
 * Run a drill until its writer record is being repointed (its standby promoted), let a real failover take the
 * runbook there (and `meanwhile` change the world), and return how the drill ended; `recordAs` saves its history
 * for the replay tests when DROVER_RECORD_HISTORIES names a directory.
 */
async function takenAfterPromotion(world: StubWorld, rb: Runbook, meanwhile: () => void = () => undefined, recordAs?: string) {
  const repoint = world.hold('upsertCname');
  return runFailure<DrillResult>(
    withRun(env(), world, drillOf(rb), async (h) => {
      await repoint.reached;
      world.takeLock(holder('failover', `failover-${rb.name}`));
      meanwhile();
      repoint.release();
      const out = await h.result().then(() => undefined, (e: unknown) => e);
      await recordHistory(h, recordAs);
      throw out;
    }),
  );
}

describe('a real run and the lock', () => {
  test('given a real failover holding the runbook, a failback is refused with the holder named: a typed RunbookBusy, nothing changed', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.lock = { holder: holder('failover', `failover-${rb.name}`), displaced: [] };
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await runFailure(withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result()));

    expect(f.type).toBe('RunbookBusy');
    expect(f.message).toBe(`a failover of ${rb.name} is running (failover-${rb.name}); one run per runbook at a time, so this failback changed nothing`);
    expect(world.mutations()).toEqual([]);
    expect(f.record.steps.find((s) => s.id === 'take-runbook')).toMatchObject({ status: 'failed' });
    expect(world.lock.holder).toEqual(holder('failover', `failover-${rb.name}`));
  });

  test('given a real failover holding the runbook that has ended without anyone taking it since, a failback takes it', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.lock = { holder: holder('failover', `failover-${rb.name}`), displaced: [] };
    world.endedRuns.add(`failover-${rb.name}`);
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(done.steps[0]).toMatchObject({ id: 'take-runbook', status: 'done', notes: ['taken: no other run holds it'] });
    expect(world.lock.holder?.workflowId).toBe(`failback-${rb.name}`);
  });

  test("given a failback whose acquire took the runbook from a drill but whose answer was lost, the retry is told of the drill again and stops it before any change", async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.lock = { holder: holder('drill', `drill-${rb.name}-1`), displaced: [] };
    world.failAfterWhen('takeRunbook', (_i, nth) => (nth === 1 ? new Error('deadline exceeded') : undefined));
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(world.callsTo('takeRunbook')).toHaveLength(2);
    expect(world.callsTo('preemptDrills')).toEqual([{ runbook: rb.name, drills: [`drill-${rb.name}-1`] }]);
    expect(done.steps[0].notes).toEqual([`taken from drill-${rb.name}-1: cancelled, and failed back before this run changed anything`]);
  });

  test('given a drill holding the runbook, a standalone promotion takes it, stops the drill and waits for it, then promotes', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    world.lock = { holder: holder('drill', `drill-${rb.name}-1`), displaced: [] };
    const input: PromoteInput = { runbookRef: refOf(rb), toRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'promoteReplica', workflowId: `promote-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    const took = world.callsTo('takeRunbook');
    expect(took).toEqual([{ runbook: rb.name, workflowId: `promote-${rb.name}` }]);
    expect(world.callsTo('preemptDrills')).toEqual([{ runbook: rb.name, drills: [`drill-${rb.name}-1`] }]);
    // The drill was stopped (and waited for) before the first change.
    const names = world.calls.map((c) => c.name);
    expect(names.indexOf('preemptDrills')).toBeLessThan(names.indexOf('fenceInstance'));
    expect(done.steps.find((s) => s.id === 'take-runbook')?.notes).toEqual([`taken from drill-${rb.name}-1: cancelled, and failed back before this run changed anything`]);
    // It keeps the lock until it has ended: the lock passes on when the next run finds it so.
    expect(world.lock).toEqual({ holder: { workflowId: `promote-${rb.name}`, runId: `run-of-promote-${rb.name}`, kind: 'promote', drill: false }, displaced: [`drill-${rb.name}-1`] });
  });

  test('given a real failover, it takes the runbook in its first step and names the drill it stopped there', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    world.lock = { holder: holder('drill', `drill-${rb.name}-2`), displaced: [] };
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preempt-drills')?.notes).toEqual([`cancelled, and ended (failed back, or handed over its promoted standby): drill-${rb.name}-2`]);
    // The failover's promotion is a child: its parent holds the lock, it takes none.
    expect(world.callsTo('takeRunbook').map((c) => c.workflowId)).toEqual([`failover-${rb.name}`]);
    expect(world.lock.holder?.workflowId).toBe(`failover-${rb.name}`);
    expect(world.trafficOn(STANDBY)).toBe(100);
  });
});

describe('a drill and the lock', () => {
  test('given a real failover that holds the runbook while the visibility list does not show it yet, a drill is refused and changes nothing', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // drillRefusals (visibility and describe) says yes: the lock is what refuses.
    world.lock = { holder: holder('failover', `failover-${rb.name}`), displaced: [] };
    const f = await runFailure<DrillResult>(withRun(env(), world, drillOf(rb), (h) => h.result()));

    expect(f.type).toBe('DrillRefused');
    expect(f.record.phase).toBe('refused');
    expect(f.record.refusals).toEqual([`a failover of ${rb.name} is running (failover-${rb.name}); one run per runbook at a time, so this drill changed nothing`]);
    expect(f.record.failover).toBeUndefined();
    expect(world.mutations()).toEqual([]);
    expect(world.lock.holder?.workflowId).toBe(`failover-${rb.name}`);
  });

  test("given a real run that takes the runbook while the drill's failover runs its preflight, the failover stops before its next step, the drill rolls back and ends cancelled, changing nothing", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const preflight = world.hold('missingRecords');
    const f = await runFailure<DrillResult>(
      withRun(env(), world, drillOf(rb), async (h) => {
        await preflight.reached;
        // A real failover asks for the runbook now: the lock's rule gives it the drill's place.
        expect(world.takeLock(holder('failover', `failover-${rb.name}`))).toEqual({ granted: true, drills: [`drill-${rb.name}`] });
        preflight.release();
        return h.result();
      }),
    );

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.phase).toBe('cancelled');
    // The next steps are the standby's compute and the promotion, started together: each checks, neither runs.
    expect(f.record.failure).toMatch(new RegExp(`the drill no longer holds ${rb.name}: a real failover \\(failover-${rb.name}\\) holds it now; stopped before (scale-compute|promote-database)$`));
    const steps = f.record.failover?.steps ?? [];
    expect(steps.find((s) => s.id === 'preflight')?.status).toBe('done');
    expect(steps.filter((s) => s.group === 'act').map((s) => [s.id, s.status])).toEqual([['scale-compute', 'skipped'], ['promote-database', 'skipped']]);
    expect(steps.find((s) => s.id === 'scale-compute')?.notes[0]).toMatch(/^not run: the drill no longer holds /);
    expect(world.mutations()).toEqual([]);
    expect(world.lock.holder?.workflowId).toBe(`failover-${rb.name}`);
    expect(world.trafficOn(PRIMARY)).toBe(100);
  });

  test('given a drill that completes, it took the runbook before its failover, and its children took none', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const done = await withRun(env(), world, drillOf(rb), (h) => h.result() as Promise<DrillResult>);

    expect(done.phase).toBe('completed');
    expect(world.callsTo('takeRunbook')).toEqual([{ runbook: rb.name, workflowId: `drill-${rb.name}` }]);
    // Its failover checked the drill still held the runbook before each of its steps.
    expect(world.callsTo('runbookHolder').length).toBe((done.failover?.steps ?? []).filter((s) => s.status !== 'skipped' && s.status !== 'pending').length);
    expect(world.lock.holder?.workflowId).toBe(`drill-${rb.name}`);
  });
});

describe('a drill with notifications', () => {
  test('given a topic, a drill that completes says so once, for itself, naming its failover and failback', async () => {
    const rb = workflowTestRunbook('wf-lock', [
      [['approvals', 'gates'], []],
      [['notifications'], { snsTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:drover-wf-test' }],
    ]);
    const world = new StubWorld(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'a drill that completes says so'` records it for the replay tests.
    const done = await withRun(env(), world, drillOf(rb), async (h) => {
      const out = await (h.result() as Promise<DrillResult>);
      await recordHistory(h, 'drill-notifications.json');
      return out;
    });

    expect(done.phase).toBe('completed');
    const messages = world.callsTo('notify').map((c) => JSON.parse(String(c.message)) as Record<string, unknown>);
    // One message, the drill's own end: its failover and failback (drill mode) say nothing of their own.
    expect(messages).toEqual([expect.objectContaining({ event: 'run.finished', kind: 'drill', phase: 'completed', workflowId: `drill-${rb.name}`, failoverId: `drill-${rb.name}-failover`, failbackId: `drill-${rb.name}-failback` })]);
    expect(world.callsTo('notify')[0]).toMatchObject({ subject: expect.stringMatching(new RegExp(`^drover: drill of ${rb.name} COMPLETED`)) });
  });
});

describe('a drill that had promoted when a real failover took the runbook', () => {
  test('hands over: no failback (no replica re-created, no gate waited at); the real failover then resumes from the standby the drill promoted and completes', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // Promoted, its writer record being repointed: now a real failover takes the runbook.
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'hands over'` records the drill for the replay tests.
    const f = await takenAfterPromotion(world, rb, undefined, 'drill-hands-over.json');

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.handedOverTo).toBe(`failover-${rb.name}`);
    expect(f.record.failure).toContain(`handed over to the real failover failover-${rb.name}, which resumes from ${PG_SINGAPORE} (promoted by this drill); no failback`);
    expect(f.record.failback).toBeUndefined();
    expect(world.callsTo('createReplica')).toEqual([]);
    expect(world.callsTo('retireInstance')).toEqual([]);

    // The real failover (the lock's holder) resumes from the drill's promotion.
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);
    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`${PG_SINGAPORE} was promoted by an earlier drover run: this failover resumes from there`);
    expect(world.trafficOn(STANDBY)).toBe(100);
    expect(world.callsTo('createReplica')).toEqual([]);
  });

  test("given the runbook taken while the promotion waits for the standby to be standalone, the drill's failover stops before repointing, yet points the writer record at the promoted standby (the old writer is fenced), then hands over (failover-repoints-promoted-v1)", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const standalone = world.hold('waitStandalone');
    const f = await runFailure<DrillResult>(
      withRun(env(), world, drillOf(rb), async (h) => {
        await standalone.reached;
        world.takeLock(holder('failover', `failover-${rb.name}`));
        standalone.release();
        const out = await h.result().then(() => undefined, (e: unknown) => e);
        // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'stops before repointing'` records the drill's failover for the replay tests.
        await recordHistory(env().client.workflow.getHandle(`drill-${rb.name}-failover`), 'failover-repoints-promoted.json');
        throw out;
      }),
    );

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.handedOverTo).toBe(`failover-${rb.name}`);
    const repoint = f.record.failover?.steps.find((s) => s.id === 'repoint-writer');
    expect(repoint?.status).toBe('skipped');
    expect(repoint?.notes).toEqual([
      `not run: the drill no longer holds ${rb.name}: a real failover (failover-${rb.name}) holds it now; stopped before repoint-writer`,
      `after the run stopped: ${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com -> ${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`,
    ]);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
  });

  test('given a standby the real failover could not resume from (its old primary no longer fenced), the drill fails back as before', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await takenAfterPromotion(world, rb, () => void world.setFenced(PG_MUMBAI, false));

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.handedOverTo).toBeUndefined();
    expect(f.record.failback).toBeDefined();
    expect(world.callsTo('createReplica').length).toBeGreaterThan(0);
  });

  test('given the real failover that took the runbook ended (cancelled while it waited), the drill does not hand over to it: it fails back', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await takenAfterPromotion(world, rb, () => void world.endedRuns.add(`failover-${rb.name}`));

    expect(f.record.handedOverTo).toBeUndefined();
    expect(f.record.failback).toBeDefined();
  });
});

describe("a drill's failback when a real failover takes the runbook (drill-failback-yields-v1)", () => {
  /**
   * Run a drill until its failback is re-creating the replica in the original region, then let `taker` (if any) take
   * the runbook and cancel the drill (what preemptDrills does, or an operator); return how the drill ended. The held
   * call is answered right after the cancel when the failback is expected to go on, else once the drill has ended.
   * `DROVER_RECORD_HISTORIES=<dir>` records the drill as `recordAs` for the replay tests.
   */
  async function cancelDuringFailback(world: StubWorld, rb: Runbook, opts: { taker?: LockHolder; goesOn: boolean; recordAs?: string }): Promise<DrillResult> {
    const recreate = world.hold('createReplica');
    return withRun(env(), world, drillOf(rb), async (h) => {
      await recreate.reached;
      if (opts.taker) world.takeLock(opts.taker);
      await h.cancel();
      if (opts.goesOn) recreate.release();
      try {
        return (await h.result()) as DrillResult;
      } finally {
        recreate.release();
        await recordHistory(h, opts.recordAs);
      }
    });
  }
  const unplanned = (rb: Runbook): LockHolder => ({ ...holder('failover', `failover-${rb.name}`), mode: 'unplanned' });

  test('given a real unplanned failover, the failback stops before its switchover (no replica waited for, no traffic moved back); the failover then resumes from the standby the drill promoted', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'stops before its switchover'` records the drill for the replay tests.
    const f = await runFailure<DrillResult>(cancelDuringFailback(world, rb, { taker: unplanned(rb), goesOn: false, recordAs: 'drill-failback-yields.json' }));

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.handedOverTo).toBe(`failover-${rb.name}`);
    expect(f.record.failure).toContain(`failback stopped before its switchover: the real unplanned failover failover-${rb.name} took the runbook and resumes from ${PG_SINGAPORE} (promoted by this drill); ${PRIMARY} has no replica now: if failover-${rb.name} does not complete, run drover failback`);
    const back = f.record.failback?.steps ?? [];
    expect(back.find((s) => s.id === 'reestablish-replication')?.status).toBe('failed');
    expect(f.record.failback?.error?.type).toBe('RunCancelled');
    const moveBack = back.filter((s) => s.id === 'gate:failback' || s.id === 'scale-original' || s.id === 'switchover-db' || s.id.startsWith('traffic-back'));
    expect(moveBack.length).toBeGreaterThan(2);
    expect(moveBack.filter((s) => s.status === 'done')).toEqual([]);
    // Nothing moved back: the writer is still the standby the drill promoted, traffic still on the standby.
    expect(world.trafficOn(STANDBY)).toBe(100);
    expect(world.isFenced(PG_SINGAPORE)).toBe(false);
    expect(world.callsTo('createReplica')).toHaveLength(1);

    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'unplanned', reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);
    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`${PG_SINGAPORE} was promoted by an earlier drover run: this failover resumes from there`);
    expect(world.callsTo('createReplica')).toHaveLength(1);
  });

  test('given a real planned failover (it needs the original topology), the failback runs to its end, as before', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const done = await cancelDuringFailback(world, rb, { taker: { ...holder('failover', `failover-${rb.name}`), mode: 'planned' }, goesOn: true });

    expect(done.handedOverTo).toBeUndefined();
    expect(done.failback?.phase).toBe('completed');
    expect(world.trafficOn(PRIMARY)).toBe(100);
    // The replica in the original region, then the standby's again.
    expect(world.callsTo('createReplica')).toHaveLength(2);
  });

  test("given an operator's cancel while the drill still holds the runbook, the failback runs to its end, as before", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const done = await cancelDuringFailback(world, rb, { goesOn: true });

    expect(done.handedOverTo).toBeUndefined();
    expect(done.failback?.phase).toBe('completed');
    expect(world.trafficOn(PRIMARY)).toBe(100);
  });

  /**
   * Run a drill until its failback's switchover has fenced the standby, let a real unplanned failover take the runbook
   * and cancel the drill while the standby still reads as the drill left it (a read that lags), wait until the failback
   * was asked to cancel, then let the switchover go on; return the drill's end (its result, or its failure).
   */
  async function cancelledDuringSwitchover(world: StubWorld, rb: Runbook, recordAs?: string): Promise<unknown> {
    // The switchover's fence of the standby (the drill's second fence: its failover fenced the primary).
    const fence = world.hold('fenceInstance', 2);
    return withRun(env(), world, drillOf(rb), async (h) => {
      await fence.reached;
      world.setFenced(PG_SINGAPORE, false);
      world.takeLock(unplanned(rb));
      await h.cancel();
      const back = env().client.workflow.getHandle(`drill-${rb.name}-failback`);
      for (let i = 0; ; i++) {
        const events = (await back.fetchHistory()).events ?? [];
        if (events.some((e) => e.workflowExecutionCancelRequestedEventAttributes)) break;
        if (i > 200) throw new Error('the failback was never asked to cancel');
        await new Promise((r) => setTimeout(r, 50));
      }
      world.setFenced(PG_SINGAPORE, true);
      fence.release();
      const out = await h.result().catch((e: unknown) => e);
      await recordHistory(back, recordAs);
      return out;
    });
  }

  test('given a cancel for a real unplanned failover that reaches the failback once its switchover back began, the failback runs to its end (never stopped half-way back)', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'half-way back'` records the failback for the replay tests.
    const done = (await cancelledDuringSwitchover(world, rb, 'failback-whole-switchback.json')) as DrillResult;

    expect(done.handedOverTo).toBeUndefined();
    expect(done.failback?.phase).toBe('completed');
    expect(world.trafficOn(PRIMARY)).toBe(100);
    expect(world.callsTo('createReplica')).toHaveLength(2);
  });

  test('given such a failback that then fails past its switchover, the drill reports the failure, not a hand-over', async () => {
    const rb = runbook();
    const world = new StubWorld(rb).failWhen('retireInstance', (_i, nth) => (nth === 2 ? typedFailure('PermissionDenied', 'rds:DeleteDBInstance denied') : undefined));
    const f = await runFailure<DrillResult>(cancelledDuringSwitchover(world, rb).then((out) => Promise.reject(out)));

    expect(f.type).toBe('DrillFailed');
    expect(f.record.handedOverTo).toBeUndefined();
    expect(f.record.failure).toContain('failback failed: ');
    expect(f.record.failure).toContain('rds:DeleteDBInstance denied');
    expect(f.record.failure).not.toContain('failback stopped before its switchover');
  });

  test("given an operator's cancel first, then a real unplanned failover that takes the runbook and signals the drill (its cancel is not seen again), the failback stops before its switchover", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const recreate = world.hold('createReplica');
    const f = await runFailure<DrillResult>(
      withRun(env(), world, drillOf(rb), async (h) => {
        await recreate.reached;
        const reads = world.callsTo('runOf').length;
        await h.cancel();
        // The cancel's read has found the drill still holding the runbook (an operator's cancel): nothing stops.
        for (let i = 0; world.callsTo('runOf').length === reads; i++) {
          if (i > 200) throw new Error("the cancel's read of the lock never came");
          await new Promise((r) => setTimeout(r, 25));
        }
        await new Promise((r) => setTimeout(r, 200));
        expect(world.callsTo('createReplica')).toHaveLength(1);
        // Then a real failover takes the runbook, and preemptDrills's cancel is not seen again: its signal is.
        world.takeLock(unplanned(rb));
        await h.signal('drillPreempted');
        const out = await h.result().then(() => undefined, (e: unknown) => e);
        recreate.release();
        // `DROVER_RECORD_HISTORIES=<dir> npx jest test/lock.workflow.test.ts -t 'signals the drill'` records it for the replay tests.
        await recordHistory(h, 'drill-failback-yields-signal.json');
        throw out;
      }),
    );

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.handedOverTo).toBe(`failover-${rb.name}`);
    expect(world.trafficOn(STANDBY)).toBe(100);
    expect(world.callsTo('createReplica')).toHaveLength(1);
    // Read on the cancel, again on the signal, and once more after the failback closed.
    expect(world.callsTo('runOf').length).toBeGreaterThanOrEqual(3);
  });
});
