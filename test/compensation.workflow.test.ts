/**
 * Compensation order in the failback workflow (workflows/failback.ts): each switchback step pushes its
 * undo, and when a later step fails the undos run in reverse order, each recorded, a failed one not
 * stopping the rest. On the time-skipping test server with stub activities, starting from a world
 * that has failed over (the standby region writes and takes all traffic).
 */
import type { FailbackInput } from '../workflows/failback';
import { refOf } from './harness/fixtures';
import { StubWorld, typedFailure } from './harness/stubs';
import { runFailure, withRun, timeSkippingPerFile, workflowTestRunbook } from './harness/timeskipping';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const MUMBAI = 'apnakart-mumbai';

const env = timeSkippingPerFile();

/** An ApnaKart variant of its own, without approval gates (the gates have their own tests). */
const runbook = () => workflowTestRunbook('wf-comp');

function input(rb: { name: string }): FailbackInput {
  return { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' };
}

function failback(rb: { name: string }, world: StubWorld): Promise<unknown> {
  return withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input(rb)] }, (h) => h.result());
}

/** The compute and traffic changes, in the order the run (and its undos) made them. */
function computeAndTraffic(world: StubWorld): string[] {
  return world.calls
    .filter((c) => c.name === 'scaleNodeGroups' || c.name === 'shiftTraffic')
    .map((c) =>
      c.name === 'scaleNodeGroups'
        ? `scale ${String(c.input.region)} ${String(c.input.cluster)} ${(c.input.groups as Array<{ name: string; size: number }>).map((g) => `${g.name}=${g.size}`).join(',')}`
        : `traffic ${String(c.input.percent)}% ${String(c.input.toRegion)}`,
    );
}

const ACTIVE = `scale ${PRIMARY} ${MUMBAI} general=12,checkout=6`;
const STANDBY_SIZE = `scale ${PRIMARY} ${MUMBAI} general=2,checkout=1`;

describe('failback compensation', () => {
  test('given a health breach at the first traffic step back, the switchback is undone in reverse order: traffic first, then compute', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.soakBreaches = (region) => (region === PRIMARY ? ['probe api-health answered 503'] : []);
    const f = await runFailure(failback(rb, world));

    expect(f.type).toBe('HealthBreach');
    expect(computeAndTraffic(world)).toEqual([
      ACTIVE, // scale-original (pushes its undo)
      `traffic 10% ${PRIMARY}`, // traffic-back-10 (after the traffic undo was pushed)
      `traffic 0% ${PRIMARY}`, // the breach reverts the step
      `traffic 0% ${PRIMARY}`, // undo 2: traffic back to the standby
      STANDBY_SIZE, // undo 1: compute back to standby capacity
    ]);
    expect(f.record.compensations).toEqual([
      `undone: traffic back to 100% ${STANDBY}`,
      `undone: ${MUMBAI} back to standby capacity`,
      `database: the writer is apnakart-pg-mumbai in ${PRIMARY} (promoted); apnakart-pg-singapore stays fenced; db.apnakart.com points at the writer`,
    ]);
    expect(f.message).toContain(`; compensation: undone: traffic back to 100% ${STANDBY}; undone: ${MUMBAI} back to standby capacity`);
    expect(f.record.phase).toBe('failed');
    expect(f.record.steps.find((s) => s.id === 'return-standby')).toMatchObject({ status: 'pending', notes: ['not run'] });
    // The world is where it started for traffic and compute.
    expect(world.trafficOn(STANDBY)).toBe(100);
    expect(world.nodeGroupSize(PRIMARY, MUMBAI, 'general')).toBe(2);
  });

  test('given an undo that fails, it is recorded as not undone and the undos after it still run, in order', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.soakBreaches = (region) => (region === PRIMARY ? ['alarm apnakart-api-5xx-mumbai is ALARM'] : []);
    // The third traffic change is the traffic undo (after the step and its revert).
    world.failWhen('shiftTraffic', (_input, nth) => (nth === 3 ? typedFailure('Throttled', 'Route 53 refused the change') : undefined));
    const f = await runFailure(failback(rb, world));

    expect(f.type).toBe('HealthBreach');
    expect(f.record.compensations?.slice(0, 2)).toEqual([`NOT undone: traffic back to 100% ${STANDBY}: Route 53 refused the change`, `undone: ${MUMBAI} back to standby capacity`]);
    expect(computeAndTraffic(world).slice(-2)).toEqual([`traffic 0% ${PRIMARY}`, STANDBY_SIZE]);
  });

  test('given the database switchover failing before any traffic moved, the promotion unfences its source first, then the failback undoes compute; traffic is never touched', async () => {
    const rb = runbook();
    const world = new StubWorld(rb, { failedOver: true });
    world.failWhen('waitLagZero', () => typedFailure('WaitTimedOut', 'ReplicaLag never reached 0'));
    const f = await runFailure(failback(rb, world));

    expect(f.record.phase).toBe('failed');
    expect(f.message).toContain('apnakart-pg-singapore was unfenced and apnakart-pg-mumbai was not promoted');
    expect(f.record.steps.find((s) => s.id === 'switchover-db')?.status).toBe('failed');
    expect(world.callsTo('shiftTraffic')).toEqual([]);
    expect(world.callsTo('promoteReplica')).toEqual([]);
    // Innermost first: the child's own compensation (unfence), then the parent's undo stack (compute).
    const order = world.calls.map((c) => c.name);
    expect(order.indexOf('unfenceInstance')).toBeGreaterThan(-1);
    expect(order.indexOf('unfenceInstance')).toBeLessThan(order.lastIndexOf('scaleNodeGroups'));
    expect(world.callsTo('unfenceInstance')).toEqual([expect.objectContaining({ region: STANDBY, identifier: 'apnakart-pg-singapore' })]);
    expect(computeAndTraffic(world)).toEqual([ACTIVE, STANDBY_SIZE]);
    expect(f.record.compensations).toEqual([`undone: ${MUMBAI} back to standby capacity`, `database: the writer is still apnakart-pg-singapore in ${STANDBY}; apnakart-pg-mumbai stays its replica`]);
  });
});
