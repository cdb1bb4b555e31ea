/**
 * The progressive, health-gated traffic shift of a failover (workflows/traffic.ts inside regionFailover),
 * on the time-skipping test server with stub activities: each step soaks before the next, and a breach
 * during a soak puts the last healthy weights back and ends the run.
 */
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, withRun, timeSkippingPerFile, workflowTestRunbook } from './harness/timeskipping';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const ALARM = 'apnakart-api-5xx-singapore';

const env = timeSkippingPerFile();

/** An ApnaKart variant of its own, without approval gates (the gates have their own tests). */
const runbook = () => workflowTestRunbook('wf-traffic');

function input(rb: { name: string }): FailoverInput {
  return { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
}

/** Run a failover of `rb` to its end against `world`. */
function failover(rb: { name: string }, world: StubWorld): Promise<unknown> {
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input(rb)] }, (h) => h.result());
}

/** The traffic changes and soaks, in the order the run made them. */
function shiftsAndSoaks(world: StubWorld): string[] {
  return world.calls
    .filter((c) => c.name === 'shiftTraffic' || c.name === 'soak')
    .map((c) => (c.name === 'shiftTraffic' ? `shift ${String(c.input.percent)}% ${String(c.input.toRegion)}` : `soak ${String(c.input.region)} ${String(c.input.durationMs)}ms`));
}

describe('progressive traffic shift', () => {
  test('given healthy soaks, traffic moves through each step, soaking the target region for the runbook\'s soak time before the next', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const status = (await failover(rb, world)) as RunStatus;

    expect(status.phase).toBe('completed');
    expect(shiftsAndSoaks(world)).toEqual([
      `shift 10% ${STANDBY}`, `soak ${STANDBY} 120000ms`,
      `shift 50% ${STANDBY}`, `soak ${STANDBY} 120000ms`,
      `shift 100% ${STANDBY}`, `soak ${STANDBY} 120000ms`,
    ]);
    expect(world.callsTo('soak').every((s) => JSON.stringify(s.alarms) === JSON.stringify(rb.health.alarms[STANDBY]))).toBe(true);
    expect(status.trafficPercent).toBe(100);
    expect(world.trafficOn(STANDBY)).toBe(100);
    expect(world.callsTo('checkHealth')).toHaveLength(1); // the final verification
  });

  test('given an alarm breach during the 50% soak, traffic reverts to 10%, no later step is applied, and the run fails with the breach', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    world.soakBreaches = (region, percent) => (region === STANDBY && percent === 50 ? [`alarm ${ALARM} is ALARM`] : []);
    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('HealthBreach');
    expect(f.message).toBe(`health breach at 50% in ${STANDBY}: alarm ${ALARM} is ALARM; traffic reverted to 10%`);
    expect(shiftsAndSoaks(world)).toEqual([`shift 10% ${STANDBY}`, `soak ${STANDBY} 120000ms`, `shift 50% ${STANDBY}`, `soak ${STANDBY} 120000ms`, `shift 10% ${STANDBY}`]);
    expect(world.trafficOn(STANDBY)).toBe(10);
    expect(world.trafficOn(PRIMARY)).toBe(90);

    const s = f.record;
    expect(s.phase).toBe('failed');
    expect(s.trafficPercent).toBe(10);
    const step = (id: string) => s.steps.find((x) => x.id === id);
    expect(step('traffic-10')?.status).toBe('done');
    expect(step('traffic-50')?.status).toBe('failed');
    expect(step('traffic-50')?.notes).toContain(`reverted traffic to 10% ${STANDBY}`);
    expect(step('traffic-100')).toMatchObject({ status: 'pending', notes: ['not run'] });
    expect(step('verify')).toMatchObject({ status: 'pending', notes: ['not run'] });
    expect(world.callsTo('checkHealth')).toEqual([]);
    expect(s.compensations?.[0]).toBe(`kept: traffic at 10% ${STANDBY}, the last step that soaked healthy; no later step was applied`);
  });

  test('given a breach during the first soak, all traffic goes back to the primary region', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    world.soakBreaches = (region) => (region === STANDBY ? ['probe api-health answered 503'] : []);
    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('HealthBreach');
    expect(f.message).toContain('traffic reverted to 0%');
    expect(shiftsAndSoaks(world)).toEqual([`shift 10% ${STANDBY}`, `soak ${STANDBY} 120000ms`, `shift 0% ${STANDBY}`]);
    expect(world.trafficOn(PRIMARY)).toBe(100);
    expect(f.record.trafficPercent).toBe(0);
    expect(f.record.compensations?.[0]).toBe(`kept: no traffic moved to ${STANDBY}`);
  });
});
