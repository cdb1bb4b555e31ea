/**
 * Runs cancelled mid-way (an operator's cancel, a parent cancelled, a drill preempted by a real failover)
 * end consistent: a writer fenced by the run is unfenced unless its replica may be promoting, a failback's
 * switchback is undone, and every run (parent and child) records its end in the trail. On the time-skipping
 * test server with stub activities; a held activity stands for an AWS call still under way when the cancel comes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { PromoteInput } from '../workflows/promoteReplica';
import type { FailbackInput } from '../workflows/failback';
import type { FailoverInput } from '../workflows/regionFailover';
import type { Activities } from '../activities';
import type { Runbook } from '../runbooks/schema';
import { refOf } from './harness/fixtures';
import { StubWorld, typedFailure } from './harness/stubs';
import type { DrillResult, RunStatus } from '../contracts/run';
import { recordHistory, runFailure, withRun, timeSkippingPerFile, workflowTestRunbook } from './harness/timeskipping';
import { waitFor } from './harness/wait';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const PG_MUMBAI = 'apnakart-pg-mumbai';
const PG_SINGAPORE = 'apnakart-pg-singapore';
const MUMBAI = 'apnakart-mumbai';

const env = timeSkippingPerFile();

const runbook = () => workflowTestRunbook('wf-cancel');

/** The audit actions one run appended, in order. */
function actionsOf(world: StubWorld, workflowId: string): string[] {
  return world
    .callsTo('appendAudit')
    .filter((c) => c.workflowId === workflowId)
    .flatMap((c) => (c.drafts as Array<{ action: string }>).map((d) => d.action));
}

/**
 * The calls a run waits for to their answer even when cancelled (they change an instance: their undo must not race
 * them); a cancelled run stops waiting for any other at once.
 */
const TO_THE_END: ReadonlyArray<keyof Activities> = ['fenceInstance', 'promoteReplica', 'scaleNodeGroups'];

/**
 * Start `workflowType`, wait until the held call is reached, cancel the run, and return how it failed. A call the
 * run waits for is answered right after the cancel; any other is let go once the run has ended (as AWS would
 * answer it, late). (On the time-skipping test server, an abandoned call answered in the same instant as the cancel
 * can leave the run's workflow task unfinished; a real server has its own lane in test/chaos/cancellation.chaos.ts.)
 * `recordAs` saves the run's history for the replay tests when DROVER_RECORD_HISTORIES names a directory.
 */
async function cancelAt(world: StubWorld, activity: keyof Activities, start: { workflowType: string; workflowId: string; args: unknown[] }, nth = 1, recordAs?: string) {
  const held = world.hold(activity, nth);
  return withRun(env(), world, start, async (h: WorkflowHandle) => {
    try {
      await held.reached;
      await h.cancel();
      if (TO_THE_END.includes(activity)) held.release();
      const failed = await runFailure(h.result());
      await recordHistory(h, recordAs);
      return failed;
    } finally {
      held.release();
    }
  });
}

function promotion(rb: Runbook): { workflowType: string; workflowId: string; args: unknown[] } {
  const input: PromoteInput = { runbookRef: refOf(rb), toRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
  return { workflowType: 'promoteReplica', workflowId: `promote-${rb.name}`, args: [input] };
}

describe('a cancelled promotion', () => {
  test('given a cancel while the fence is being applied, the fence runs to its answer (its undo never races it), then the writer is unfenced and the run records its end', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await cancelAt(world, 'fenceInstance', promotion(rb));

    expect(f.type).toBe('RunCancelled');
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(world.mutations()).toEqual(['fenceInstance', 'unfenceInstance']);
    expect(f.record.steps.find((s) => s.id === 'fence')).toMatchObject({ status: 'done', notes: ['security groups sg-app -> sg-fence', `compensation: unfenced ${PG_MUMBAI} because the promotion did not happen`] });
    expect(f.record.steps.find((s) => s.id === 'wait-lag-zero')).toMatchObject({ status: 'failed', notes: ['cancelled'] });
    expect(actionsOf(world, `promote-${rb.name}`).at(-1)).toBe('run.end');
  });

  test('given a cancel while waiting for lag 0, the writer is unfenced, nothing is promoted, and the run records its end', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await cancelAt(world, 'waitLagZero', promotion(rb));

    expect(f.type).toBe('RunCancelled');
    expect(f.message).toMatch(/^the run was cancelled/);
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(world.mutations()).toEqual(['fenceInstance', 'unfenceInstance']);
    expect(f.record.steps.find((s) => s.id === 'wait-lag-zero')).toMatchObject({ status: 'failed', notes: ['cancelled'] });
    expect(f.record.steps.find((s) => s.id === 'promote')).toMatchObject({ status: 'pending', notes: ['not run'] });
    expect(actionsOf(world, `promote-${rb.name}`).at(-1)).toBe('run.end');
  });

  test('given a cancel while PromoteReadReplica is under way, the promotion runs to its answer, the old writer stays fenced (two writers never) and the writer record is pointed at the new writer', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await cancelAt(world, 'promoteReplica', promotion(rb));

    expect(f.type).toBe('RunCancelled');
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.mutations()).toEqual(['fenceInstance', 'promoteReplica', 'upsertCname']);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'promote')).toMatchObject({ status: 'failed', notes: ['PromoteReadReplica accepted (request n/a)', 'cancelled'] });
    expect(actionsOf(world, `promote-${rb.name}`).at(-1)).toBe('run.end');
  });

  test('given a cancel while the promoted replica is awaited (PromoteReadReplica accepted), the run still waits for it outside the cancellation and points the writer record at it: a record left at the fenced writer refuses every write', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'awaited'` records it for the replay tests.
    const f = await cancelAt(world, 'waitStandalone', promotion(rb), 1, 'promote-repoints-on-cancel.json');

    expect(f.type).toBe('RunCancelled');
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.mutations()).toEqual(['fenceInstance', 'promoteReplica', 'upsertCname']);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'repoint-writer')).toMatchObject({ status: 'done', notes: [`after the cancel: ${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com -> ${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`] });
    expect(actionsOf(world, `promote-${rb.name}`).at(-1)).toBe('run.end');
  });

  test('given PromoteReadReplica refused (RDS answered: not promotable now), nothing is under way: the writer is unfenced', async () => {
    const rb = runbook();
    const world = new StubWorld(rb).failWhen('promoteReplica', () => typedFailure('InvalidState', 'DB instance apnakart-pg-singapore is backing-up'));
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result()));

    expect(f.type).toBe('InvalidState');
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(f.record.steps.find((s) => s.id === 'fence')?.notes.at(-1)).toBe(`compensation: unfenced ${PG_MUMBAI} because the promotion did not happen`);
  });

  test("given an earlier attempt's PromoteReadReplica landed (its answer lost) and the retry refused while the replica is modifying, the writer stays fenced: the target is read before unfencing, and it is promoting", async () => {
    const rb = runbook();
    // What RDS shows after the lost attempt: the replica modifying, on its way to standalone; the retry is refused.
    const world = new StubWorld(rb).failWhen('promoteReplica', () => {
      world.setDb(PG_SINGAPORE, { status: 'modifying' });
      return typedFailure('InvalidState', `DB instance ${PG_SINGAPORE} is modifying`);
    });
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'answer lost'` records it (under a new name: the committed
    // promote-unfence-reads-target.json, recorded before promote-follows-lost-answer-v1, keeps the path without it replayed).
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result().finally(() => recordHistory(h, 'promote-unfence-reads-target-followed.json'))));

    expect(f.type).toBe('InvalidState');
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.mutations()).toEqual(['fenceInstance', 'promoteReplica']);
    // Waited for (promote-follows-lost-answer-v1), it is still a replica at the bound: both are left as they are.
    expect(f.record.steps.find((s) => s.id === 'fence')?.notes.slice(-2)).toEqual([
      `compensation: ${PG_MUMBAI} left fenced: ${PG_SINGAPORE} is modifying (may be promoting); check it before unfencing`,
      `compensation: ${PG_SINGAPORE} not standalone within the compensation's bound (${PG_SINGAPORE} is modifying, still a replica); ${PG_MUMBAI} stays fenced: check both`,
    ]);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com`);
  });

  /**
   * A world where PromoteReadReplica is refused while the replica is modifying, then the wait for it ends: by default an
   * earlier attempt's call had landed (its answer lost) and the replica is standalone; `busy`, it was modifying for
   * another reason and is a replica again, and the wait times out.
   */
  const lostAnswer = (rb: Runbook, busy = false): StubWorld => {
    const world: StubWorld = new StubWorld(rb)
      .failWhen('promoteReplica', (_i, nth) => {
        if (nth > 1) return undefined; // the compensation's call, once it is standalone: completes drover's record of it
        world.setDb(PG_SINGAPORE, { status: 'modifying' });
        return typedFailure('InvalidState', `DB instance ${PG_SINGAPORE} is modifying`);
      })
      .failWhen('waitStandalone', () => {
        if (busy) {
          world.setDb(PG_SINGAPORE, { status: 'available' });
          return typedFailure('WaitTimedOut', `${PG_SINGAPORE} to be standalone and available: not within 480s`);
        }
        world.setDb(PG_SINGAPORE, { status: 'available', standalone: true, replicationSource: undefined });
        return undefined;
      });
    return world;
  };

  test("given the promotion of a lost answer completes, the run waits for it, counts it promoted and points the writer record at it (the old writer stays fenced), then ends failed on the refusal (promote-follows-lost-answer-v1)", async () => {
    const rb = runbook();
    const world = lostAnswer(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'lost answer completes'` records it for the replay tests.
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result().finally(() => recordHistory(h, 'promote-follows-lost-answer.json'))));

    expect(f.type).toBe('InvalidState');
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.mutations()).toEqual(['fenceInstance', 'promoteReplica', 'promoteReplica', 'upsertCname']);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'promote')?.notes.at(-1)).toBe(`${PG_SINGAPORE} is standalone (available) and its promotion is drover's: counted as promoted (an answer was lost, or an earlier run promoted it)`);
    // The record completed (drover:promoted-at): a failover or promotion run again resumes from it.
    expect(world.callsTo('promoteReplica')).toEqual([expect.objectContaining({ identifier: PG_SINGAPORE, runRef: expect.stringMatching(/^promote-/) }), expect.objectContaining({ identifier: PG_SINGAPORE, runRef: (world.callsTo('promoteReplica')[0] as { runRef: string }).runRef })]);
    expect(f.record.steps.find((s) => s.id === 'repoint-writer')).toMatchObject({ status: 'done', notes: [`after the failure: ${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com -> ${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`] });
    expect((f.record as RunStatus).databases).toEqual([expect.objectContaining({ identifier: PG_SINGAPORE, promoted: true })]);
  });

  test('given a replica that was modifying for another reason (no promotion under way) and is a replica of its source again, the writer is unfenced after the wait', async () => {
    const rb = runbook();
    const world = lostAnswer(rb, true);
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result()));

    expect(f.type).toBe('InvalidState');
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'fence')?.notes.slice(-2)).toEqual([`compensation: ${PG_SINGAPORE} is an available replica of its source again: no promotion is under way`, `compensation: unfenced ${PG_MUMBAI} because the promotion did not happen`]);
  });

  test('given a failover whose promotion finds its lost answer went through, the failover points the writer record at the new writer (the old one is fenced)', async () => {
    const rb = runbook();
    const world = lostAnswer(rb);
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await runFailure(withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result()));

    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'repoint-writer')?.notes).toContainEqual(`after the run stopped: ${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com -> ${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(world.trafficOn(PRIMARY)).toBe(100);

    // Its failure says to run the failover again: that run resumes from the promotion (recorded as drover's) and completes.
    const again = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);
    expect(again.phase).toBe('completed');
    expect(world.callsTo('promoteReplica')).toHaveLength(3);
    expect(world.trafficOn(STANDBY)).toBe(100);
  });
  test('given PromoteReadReplica refused while the target is storage-full (no promotion can be under way), the writer is unfenced', async () => {
    const rb = runbook();
    const world = new StubWorld(rb).failWhen('promoteReplica', () => {
      world.setDb(PG_SINGAPORE, { status: 'storage-full' });
      return typedFailure('InvalidState', `DB instance ${PG_SINGAPORE} is storage-full`);
    });
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result()));

    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(f.record.steps.find((s) => s.id === 'fence')?.notes.at(-1)).toBe(`compensation: unfenced ${PG_MUMBAI} because the promotion did not happen`);
  });
});

describe('a cancelled parent run', () => {
  test('given a failover cancelled while its promotion waits for lag 0, the child unfences the writer and both runs record their end', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await cancelAt(world, 'waitLagZero', { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] });

    expect(f.type).toBe('RunCancelled');
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(world.callsTo('promoteReplica')).toEqual([]);
    expect(actionsOf(world, `failover-${rb.name}`).at(-1)).toBe('run.end');
    expect(actionsOf(world, `failover-${rb.name}-promote`).at(-1)).toBe('run.end');
  });

  test('given a failover cancelled while its promotion waits for the standby to be standalone (PromoteReadReplica accepted), the failover points the writer record at the new writer: the old one is fenced', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await cancelAt(world, 'waitStandalone', { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] });

    expect(f.type).toBe('RunCancelled');
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(world.cnameOf('db.apnakart.com')).toBe(`${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(f.record.steps.find((s) => s.id === 'repoint-writer')?.notes).toContain(`after the run stopped: ${PG_MUMBAI}.stub.${PRIMARY}.rds.amazonaws.com -> ${PG_SINGAPORE}.stub.${STANDBY}.rds.amazonaws.com`);
    expect(world.trafficOn(PRIMARY)).toBe(100);
    expect(actionsOf(world, `failover-${rb.name}`).at(-1)).toBe('run.end');
  });

  test("given a failback cancelled during its switchback, the switchover's fence is undone, the compute scale-up is undone, and both runs record their end", async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'during its switchback'` records it for the replay tests.
    const f = await cancelAt(world, 'waitLagZero', { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, 1, 'failback-cancel-compensates.json');

    expect(f.type).toBe('RunCancelled');
    // The standby's database is the writer still, and takes writes again.
    expect(world.isFenced(PG_SINGAPORE)).toBe(false);
    expect(world.callsTo('promoteReplica')).toEqual([]);
    expect(world.nodeGroupSize(PRIMARY, MUMBAI, 'general')).toBe(2);
    expect(f.record.compensations).toEqual([`undone: ${MUMBAI} back to standby capacity`, `database: the writer is still ${PG_SINGAPORE} in ${STANDBY}; ${PG_MUMBAI} stays its replica`]);
    expect(actionsOf(world, `failback-${rb.name}`).at(-1)).toBe('run.end');
    expect(actionsOf(world, `failback-${rb.name}-switchover`).at(-1)).toBe('run.end');
  });
});

describe('a bounded wait', () => {
  test('given a failback whose new replica never catches up (its wait ends at its bound), the failback ends failed, changing nothing after it, and says so in its notification', async () => {
    const rb = workflowTestRunbook('wf-cancel', [
      [['approvals', 'gates'], []],
      [['notifications'], { snsTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:drover-wf-test' }],
    ]);
    // What pollUntil answers at its absolute deadline (activities/wait.ts; its own tests are in activities.unit).
    const world = new StubWorld(rb, { failedOver: true }).failWhen('waitLagWithin', () => typedFailure('WaitTimedOut', `timed out after 21600s waiting for ${PG_MUMBAI} lag within 30s (last: lag 95s)`));
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await runFailure(withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result()));

    expect(f.type).toBe('WaitTimedOut');
    expect(f.record.steps.find((s) => s.id === 'reestablish-replication')?.status).toBe('failed');
    // Nothing after it: no scale-up, no switchover, no traffic moved back.
    expect(world.callsTo('scaleNodeGroups')).toEqual([]);
    expect(world.callsTo('promoteReplica')).toEqual([]);
    expect(world.trafficOn(STANDBY)).toBe(100);
    const finished = world.callsTo('notify').map((c) => JSON.parse(String(c.message)) as Record<string, unknown>).filter((m) => m.event === 'run.finished');
    expect(finished).toEqual([expect.objectContaining({ kind: 'failback', workflowId: `failback-${rb.name}`, phase: 'failed' })]);
    expect(JSON.stringify(finished[0])).toContain('WaitTimedOut');
  });
});

describe('the undo of a scale-up that was retried', () => {
  test("given a scale-up whose first attempt landed but failed, the retry's sizes do not hide the undo: a later breach scales back", async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    // The first scale lands, then its answer is lost (a timeout): the retry reads the new sizes as "before".
    world.failAfterWhen('scaleNodeGroups', (_i, nth) => (nth === 1 ? new Error('socket hang up') : undefined));
    world.soakBreaches = (region) => (region === PRIMARY ? ['probe api-health answered 503'] : []);
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
    const f = await runFailure(withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result()));

    expect(f.type).toBe('HealthBreach');
    expect(world.callsTo('scaleNodeGroups').filter((c) => c.region === PRIMARY)).toHaveLength(3); // the attempt, its retry, the undo
    expect(f.record.compensations).toContain(`undone: ${MUMBAI} back to standby capacity`);
    expect(world.nodeGroupSize(PRIMARY, MUMBAI, 'general')).toBe(2);
  });
});

describe('a failover run again after it failed past its promotion', () => {
  test.each(['unplanned', 'planned'] as const)('given a %s failover that failed after promoting, a second failover resumes from the promotion and completes', async (mode) => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // The writer record cannot be changed the first time (Route 53's control plane impaired, say); unplanned, the
    // data-plane control cannot be flipped (CloudWatch refusing the datapoint).
    if (mode === 'planned') world.failWhen('upsertCname', (_i, nth) => (nth === 1 ? typedFailure('PermissionDenied', 'route53:ChangeResourceRecordSets denied') : undefined));
    else world.failWhen('setControl', (_i, nth) => (nth === 1 ? typedFailure('PermissionDenied', 'cloudwatch:PutMetricData denied') : undefined));
    const input = (n: number): FailoverInput => ({ runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: `workflow test ${n}`, requestedBy: 'ic-test' });
    const first = await runFailure(withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input(1)] }, (h) => h.result()));
    expect(first.type).toBe('PermissionDenied');
    expect(first.record.compensations?.join('\n')).toContain('continue with drover failover again (it resumes from the promotion)');

    const second = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input(2)] }, (h) => h.result() as Promise<RunStatus>);

    expect(second.phase).toBe('completed');
    expect(second.steps.find((s) => s.id === 'preflight')?.notes).toContain(`${PG_SINGAPORE} was promoted by an earlier drover run: this failover resumes from there`);
    expect(world.callsTo('promoteReplica')).toHaveLength(2); // the second answers "already standalone"
    // Planned, the weights moved; unplanned, the primary's control withdrew it from DNS answers (no Route 53 call).
    if (mode === 'planned') expect(world.trafficOn(STANDBY)).toBe(100);
    else expect([world.controlOf(PRIMARY), world.callsTo('shiftTraffic'), world.callsTo('upsertCname')]).toEqual(['ALARM', [], []]);
    expect(second.rpo?.note).toBe(`resumed: ${PG_SINGAPORE} was promoted by an earlier drover run; its RPO is in that run's record`);
    // Planned: the old writer is fenced again (already), never unfenced.
    expect(world.isFenced(PG_MUMBAI)).toBe(mode === 'planned');
    expect(world.callsTo('unfenceInstance')).toEqual([]);
  });

  const failover = (rb: Runbook, world: StubWorld, mode: 'planned' | 'unplanned') =>
    runFailure(withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'workflow test', requestedBy: 'ic-test' }] }, (h) => h.result()));

  test('given a standby promoted by drover but fenced now (a failback replaced it), a failover refuses to resume onto it', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true }).setFenced(PG_SINGAPORE, true);
    const f = await failover(rb, world, 'unplanned');
    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`${PG_SINGAPORE} was promoted by drover but is fenced now: it is not the writer (a failback replaced it?)`);
    expect(world.mutations()).toEqual([]);
  });

  test('given a planned resume whose old primary is no longer fenced (it may have taken writes since), the failover refuses', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    const f = await failover(rb, world, 'planned');
    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`the old primary ${PG_MUMBAI} is not fenced: it may have taken writes since; fence it (or fail back) before resuming`);
    expect(world.mutations()).toEqual([]);
  });

  test("given a replica that carries drover's promotion tag but still replicates (a forged or stale tag), the failover refuses to resume", async () => {
    const rb = runbook();
    const world = new StubWorld(rb).setDb(PG_SINGAPORE, { standalone: true, promotedByDrover: true });
    const f = await failover(rb, world, 'unplanned');
    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`replica ${PG_SINGAPORE} carries drover's promotion tag but still replicates from ${PG_MUMBAI}: not resumed`);
    expect(world.mutations()).toEqual([]);
  });

});

describe('a cancelled drill', () => {
  test("given a drill cancelled while its promotion waits for lag 0, and the promotion's own unfence refused, the drill's rollback unfences the primary", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // The promotion's compensation cannot unfence (a denied call); the drill's rollback then finds the fence tag.
    world.failWhen('unfenceInstance', (_i, nth) => (nth === 1 ? typedFailure('PermissionDenied', 'rds:ModifyDBInstance denied') : undefined));
    const f = await cancelAt(world, 'waitLagZero', { workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] });

    const drill = f.record as unknown as DrillResult;
    expect(f.type).toBe('DrillCancelled');
    expect(drill.phase).toBe('cancelled');
    expect(world.callsTo('unfenceInstance')).toHaveLength(2);
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(drill.rollback).toContain(`unfenced ${PG_MUMBAI}`);
    expect(world.trafficOn(PRIMARY)).toBe(100);
  });

  test('given a drill cancelled while it checks whether it may run, it ends cancelled through its end: nothing changed, run.end recorded (drill-checks-cancel-ends-v1)', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'while it checks'` records it for the replay tests.
    const f = await cancelAt(world, 'drillRefusals', { workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] }, 1, 'drill-checks-cancelled.json');

    const drill = f.record as unknown as DrillResult;
    expect(f.type).toBe('DrillCancelled');
    expect(drill.phase).toBe('cancelled');
    expect(drill.failure).toMatch(/^drill cancelled before it changed anything/);
    expect(world.mutations()).toEqual([]);
    expect(world.callsTo('takeRunbook')).toEqual([]);
    expect(actionsOf(world, `drill-${rb.name}`)).toEqual(['run.start', 'run.end']);
  });

  test("given a drill cancelled before its promotion whose compute cannot be scaled back, it records the undo it could not make and still ends through its end (drill-rollback-safe-v1)", async () => {
    const rb = runbook();
    // The failover's scale-up lands; the rollback's scale-down (the call that restores) is refused.
    const world = new StubWorld(rb).failWhen('scaleNodeGroups', (i) => (i.restore === 'exact' ? typedFailure('PermissionDenied', 'eks:UpdateNodegroupConfig denied') : undefined));
    const scaling = world.hold('scaleNodeGroups');
    const lagging = world.hold('waitLagZero');
    const f = await runFailure<DrillResult>(
      withRun(env(), world, { workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] }, async (h) => {
        await Promise.all([scaling.reached, lagging.reached]);
        await h.cancel();
        // Answered once the cancel has reached the failover (its promotion unfenced): the wait for the nodes is then
        // never started (on the time-skipping server an answer in the same instant as the cancel can stall the run).
        try {
          await waitFor(() => world.callsTo('unfenceInstance').length === 1, { what: "the promotion's unfence" });
        } finally {
          scaling.release();
        }
        try {
          return await h.result();
        } finally {
          lagging.release();
          // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'cannot be scaled back'` records it for the replay tests.
          await recordHistory(h, 'drill-rollback-safe.json');
        }
      }),
    );

    expect(f.type).toBe('DrillCancelled');
    expect(f.record.rollback).toContain(`NOT ${STANDBY} compute back to standby capacity: eks:UpdateNodegroupConfig denied; do it by hand`);
    expect(world.callsTo('promoteReplica')).toEqual([]);
    expect(world.isFenced(PG_MUMBAI)).toBe(false);
    expect(actionsOf(world, `drill-${rb.name}`).at(-1)).toBe('run.end');
  });

  test("given a drill cancelled while its failover scales the standby up, the scale-up request runs to its answer before the rollback scales it back, never after it, and the wait for the nodes is not waited out (failover-scale-to-its-answer-v1)", async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const scaling = world.hold('scaleNodeGroups');
    const lagging = world.hold('waitLagZero');
    const f = await runFailure<DrillResult>(
      withRun(env(), world, { workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] }, async (h) => {
        await Promise.all([scaling.reached, lagging.reached]);
        await h.cancel();
        // The promotion compensates (its writer unfenced); the failover still waits for the scale-up's answer, so the
        // drill's rollback has not begun: no second scale call. (Before the patch the rollback's scale-down went out
        // now, and the scale-up, answered later in AWS, would have left the standby scaled up.)
        let whileScaling = -1;
        try {
          await waitFor(() => world.callsTo('unfenceInstance').length === 1, { what: "the promotion's unfence" });
          await new Promise((r) => setTimeout(r, 1500));
          whileScaling = world.callsTo('scaleNodeGroups').length;
        } finally {
          scaling.release();
        }
        expect(whileScaling).toBe(1);
        try {
          return await h.result();
        } finally {
          lagging.release();
          // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'scales the standby up'` records the failover's history for the replay tests.
          await recordHistory(env().client.workflow.getHandle(`drill-${rb.name}-failover`), 'failover-scale-to-its-answer.json');
          await recordHistory(h, 'drill-rollback-capacity.json');
        }
      }),
    );

    expect(f.type).toBe('DrillCancelled');
    // The request ran to its answer; the wait for the nodes, cancellable, was never started; then the rollback.
    const [up, back] = world.callsTo('scaleNodeGroups') as Array<{ groups: Array<{ size: number }>; sendOnly?: boolean; restore?: string }>;
    expect(world.callsTo('scaleNodeGroups')).toHaveLength(2);
    expect([up.sendOnly, back.sendOnly, back.restore]).toEqual([true, undefined, 'exact']);
    expect(back.groups.map((g) => g.size)).not.toEqual(up.groups.map((g) => g.size));
    expect(f.record.rollback).toContain(`${STANDBY} compute back to standby capacity`);
    expect(actionsOf(world, `drill-${rb.name}`).at(-1)).toBe('run.end');
  });

  test("given a primary carrying drover's fence tag that the drill never put there (its failover stopped before its promotion), the drill's rollback leaves it as it is (drill-unfences-own-v1)", async () => {
    const rb = runbook();
    // An operator's fence, or a forged tag naming the groups an unfence would restore.
    const world = new StubWorld(rb).setFenced(PG_MUMBAI, true);
    world.failWhen('missingRecords', () => typedFailure('PermissionDenied', 'route53:ListResourceRecordSets denied'));
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/cancellation.workflow.test.ts -t 'never put there'` records it for the replay tests.
    const f = await runFailure<DrillResult>(withRun(env(), world, { workflowType: 'drill', workflowId: `drill-${rb.name}`, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test' }] }, (h) => h.result().finally(() => recordHistory(h, 'drill-unfences-own.json'))));

    expect(f.type).toBe('DrillFailed');
    expect(world.callsTo('promoteReplica')).toEqual([]);
    expect(world.callsTo('unfenceInstance')).toEqual([]);
    expect(world.isFenced(PG_MUMBAI)).toBe(true);
    expect(f.record.rollback).toContain(`${PG_MUMBAI} carries drover's fence tag, but this drill's failover never reached its promotion (the step that fences): left as it is`);
  });
});
