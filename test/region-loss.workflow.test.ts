/**
 * Leaving a lost region through Route 53's data plane (docs/region-loss.md), on the time-skipping test server with
 * stub activities: an unplanned failover flips the lost region's control and calls no Route 53 activity; without the
 * controls it is refused at preflight; a planned one notes controls not ready; a failback after it writes into the
 * records what DNS answered before it restores the control.
 */
import type { RunStatus } from '../contracts/run';
import { controlOf, detectionMs } from '../contracts/controls';
import type { FailbackInput } from '../workflows/failback';
import type { FailoverInput } from '../workflows/regionFailover';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
/** Every activity that calls Route 53's API. */
const ROUTE53 = ['missingRecords', 'readCname', 'readTraffic', 'shiftTraffic', 'upsertCname'];

const env = timeSkippingPerFile();

function failover(rb: { name: string }, world: StubWorld, mode: FailoverInput['mode']): Promise<RunStatus> {
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);
}

describe('unplanned failover through the data plane', () => {
  test('given prepared controls, the lost region is withdrawn all at once by its control, with no Route 53 call; the record names the mechanism and the detection time apart from RTO', async () => {
    const rb = workflowTestRunbook('wf-region-loss');
    const world = new StubWorld(rb);

    const done = await failover(rb, world, 'unplanned');

    expect(done.phase).toBe('completed');
    expect(world.calls.filter((c) => ROUTE53.includes(c.name))).toEqual([]);
    expect(world.callsTo('setControl')).toEqual([{ runbook: rb.name, primary: PRIMARY, standby: STANDBY, region: PRIMARY, withdrawn: true }]);
    expect([world.controlOf(PRIMARY), world.controlOf(STANDBY)]).toEqual(['ALARM', undefined]);
    const ids = done.steps.map((s) => s.id);
    expect(ids).toContain('withdraw-region');
    expect(ids.filter((id) => id === 'repoint-writer' || id.startsWith('traffic-'))).toEqual([]);
    const spec = controlOf(rb, PRIMARY);
    expect(done.dataPlane).toEqual({ mechanism: 'route53-health-check-cloudwatch-metric', control: { region: PRIMARY, alarmName: spec.alarmName, alarmRegion: STANDBY }, flippedAt: expect.any(String), detectionMs: detectionMs(rb, [30]) });
    expect(done.rto?.detectionMs).toBe(done.dataPlane?.detectionMs);
    expect(done.trafficPercent).toBe(100);
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`control of ${PRIMARY}: ${spec.alarmName} in ${STANDBY} is OK; Route 53's API is not used (data plane)`);
    expect(done.steps.find((s) => s.id === 'verify')?.notes?.[0]).toMatch(new RegExp(`^${PRIMARY} withdrawn \\(${spec.alarmName} ALARM\\)`));
  });

  test('given a notification topic and an audit bucket in the lost region, the preflight says so (the run goes on)', async () => {
    const rb = workflowTestRunbook('wf-region-loss-deps', [
      [['approvals', 'gates'], []],
      [['notifications'], { snsTopicArn: `arn:aws:sns:${PRIMARY}:123456789012:dr-alerts` }],
      [['audit'], { s3: { bucket: 'dr-trail', region: PRIMARY } }],
    ]);
    const world = new StubWorld(rb);

    const done = await failover(rb, world, 'unplanned');

    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(
      `in the lost region ${PRIMARY}: notifications.snsTopicArn (arn:aws:sns:${PRIMARY}:123456789012:dr-alerts); audit.s3.region (bucket dr-trail): move it to a surviving region (docs/region-loss.md)`,
    );
  });

  test('given a runbook whose controls were never prepared, it is refused at preflight with the command to run, and nothing changes', async () => {
    const rb = workflowTestRunbook('wf-region-loss-unprepared');
    const world = new StubWorld(rb, { prepared: false });

    const f = await runFailure(failover(rb, world, 'unplanned'));

    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`control of ${PRIMARY}: alarm ${controlOf(rb, PRIMARY).alarmName} not found in ${STANDBY}: ${PRIMARY} cannot be taken out of DNS answers without Route 53's API; run drover prepare <the ${rb.name} runbook file> --apply`);
    expect(world.mutations()).toEqual([]);
  });

  test('planned, the progressive shift is kept; controls not ready are a preflight note, not a refusal', async () => {
    const rb = workflowTestRunbook('wf-region-loss-planned');
    const world = new StubWorld(rb, { prepared: false });

    const done = await failover(rb, world, 'planned');

    expect(done.phase).toBe('completed');
    expect(world.callsTo('shiftTraffic').map((c) => c.percent)).toEqual(rb.dns.shift.steps);
    expect(world.callsTo('setControl')).toEqual([]);
    expect(done.steps.find((s) => s.id === 'preflight')?.notes?.find((n) => n.startsWith('data-plane controls not ready'))).toContain(`an unplanned failover would be refused; run drover prepare <the ${rb.name} runbook file> --apply`);
    expect(done.dataPlane).toBeUndefined();
  });
});

describe('failback after a data-plane failover', () => {
  test('the records are first made to say what DNS answered (all on the standby), then the original region is put back in DNS answers, then traffic returns step by step', async () => {
    const rb = workflowTestRunbook('wf-region-loss-failback');
    const world = new StubWorld(rb);
    expect((await failover(rb, world, 'unplanned')).phase).toBe('completed');
    world.endedRuns.add(`failover-${rb.name}`);
    // The weights never moved: DNS answered the standby because the primary's control withdrew it.
    expect(world.trafficOn(PRIMARY)).toBe(100);
    world.calls.length = 0;

    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'region back', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    const order = world.calls.filter((c) => ['shiftTraffic', 'upsertCname', 'setControl'].includes(c.name)).map((c) => `${c.name}${c.name === 'shiftTraffic' ? `:${String(c.input.toRegion)}=${String(c.input.percent)}` : c.name === 'setControl' ? `:${String(c.input.withdrawn)}` : ''}`);
    // Restore: the weights to 100% standby, the writer pair to the standby's writer, then the control; later the shift back.
    expect(order.slice(0, 3)).toEqual([`shiftTraffic:${STANDBY}=100`, 'upsertCname', 'setControl:false']);
    expect(order.slice(3).filter((o) => o.startsWith('shiftTraffic'))).toEqual(rb.dns.shift.steps.map((p) => `shiftTraffic:${PRIMARY}=${p}`));
    expect([world.controlOf(PRIMARY), world.trafficOn(PRIMARY)]).toEqual(['OK', 100]);
    expect(done.steps.find((s) => s.id === 'restore-controls')?.status).toBe('done');
  });

  test('given the control\'s alarm no longer saying ALARM after the unplanned failover (made again: INSUFFICIENT_DATA), the failback still restores it: Route 53 follows the data, not the state', async () => {
    const rb = workflowTestRunbook('wf-region-loss-failback-remade');
    const world = new StubWorld(rb);
    expect((await failover(rb, world, 'unplanned')).phase).toBe('completed');
    world.endedRuns.add(`failover-${rb.name}`);
    world.setControlState(PRIMARY, 'INSUFFICIENT_DATA');
    world.calls.length = 0;

    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'region back', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(world.callsTo('setControl')).toEqual([{ runbook: rb.name, primary: PRIMARY, standby: STANDBY, region: PRIMARY, withdrawn: false }]);
    expect(world.calls.findIndex((c) => c.name === 'shiftTraffic')).toBeLessThan(world.calls.findIndex((c) => c.name === 'setControl'));
    expect([world.controlOf(PRIMARY), world.trafficOn(PRIMARY)]).toEqual(['OK', 100]);
  });

  test('given the control\'s alarm deleted during the outage while its health check stays attached, the failback stops at restore-controls before changing any record, naming drover prepare', async () => {
    const rb = workflowTestRunbook('wf-region-loss-failback-gone');
    const world = new StubWorld(rb);
    expect((await failover(rb, world, 'unplanned')).phase).toBe('completed');
    world.endedRuns.add(`failover-${rb.name}`);
    world.setControlState(PRIMARY, undefined);
    world.checksOn.add(PRIMARY);
    world.calls.length = 0;

    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'region back', requestedBy: 'ic-test' };
    const f = await runFailure(withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>));

    expect(f.message).toContain(`${PRIMARY}'s record sets carry health checks (`);
    expect(f.message).toContain(`but ${controlOf(rb, PRIMARY).alarmName} is not found in ${STANDBY}: Route 53 keeps their last status, perhaps withdrawn; run drover prepare <the ${rb.name} runbook file> --apply (Route 53 answers again), then drover failback again`);
    expect(world.calls.filter((c) => ['shiftTraffic', 'upsertCname', 'setControl'].includes(c.name))).toEqual([]);
  });

  test('with no region withdrawn, the step only says so', async () => {
    const rb = workflowTestRunbook('wf-region-loss-failback-planned');
    const world = new StubWorld(rb, { failedOver: true });
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'back', requestedBy: 'ic-test' };

    const done = await withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'restore-controls')?.notes).toEqual([`${PRIMARY} is not withdrawn (${controlOf(rb, PRIMARY).alarmName} is OK)`]);
    expect(world.callsTo('setControl')).toEqual([]);
  });
});
