/**
 * The runbook's INSUFFICIENT_DATA policy in a failover (the real workflow on the time-skipping test server, stub
 * activities): preflight reads the target alarms with checkAlarmTargets under the policy, its notes land in the
 * preflight's notes and its problems stop the run; the soaks and the final verification are given the policy.
 * What the activities make of it is in test/alarm-policy.unit.test.ts and test/activities.integration.test.ts.
 */
import type { Activities } from '../activities';
import type { RunStatus } from '../contracts/run';
import type { FailoverInput } from '../workflows/regionFailover';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const STANDBY = 'ap-southeast-1';

const env = timeSkippingPerFile();

/** The stub world, with the target alarms' preflight answering `answer` (and recording its inputs like the others). */
class AlarmWorld extends StubWorld {
  answer: { problems: string[]; notes: string[] } = { problems: [], notes: [] };
  override activities(): Partial<Activities> {
    return {
      ...super.activities(),
      checkAlarmTargets: async (input) => {
        this.calls.push({ name: 'checkAlarmTargets', input: input as unknown as Record<string, unknown> });
        return this.answer;
      },
    };
  }
}

function failover(rb: { name: string }, world: StubWorld): Promise<unknown> {
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result());
}

describe('failover: the target alarms under the INSUFFICIENT_DATA policy', () => {
  test('preflight reads them with the runbook\'s policy and keeps their notes; the soaks and the verification are given the policy', async () => {
    const rb = workflowTestRunbook('wf-alarm-policy', [
      [['approvals', 'gates'], []],
      [['health', 'insufficientData'], 'breach'],
      [['health', 'insufficientDataByAlarm'], { 'apnakart-api-5xx-singapore': 'healthy' }],
    ]);
    const world = new AlarmWorld(rb);
    const note = `alarm ${rb.health.alarms[STANDBY][1]} in ${STANDBY} treats missing data as missing (TreatMissingData unset): ...`;
    world.answer = { problems: [], notes: [note] };

    const status = (await failover(rb, world)) as RunStatus;

    expect(status.phase).toBe('completed');
    const policy = { insufficientData: 'breach', insufficientDataByAlarm: rb.health.insufficientDataByAlarm };
    expect(world.callsTo('checkAlarmTargets')).toEqual([{ region: STANDBY, alarms: rb.health.alarms[STANDBY], ...policy }]);
    expect(world.callsTo('alarmStates')).toEqual([]);
    expect(status.steps.find((s) => s.id === 'preflight')?.notes).toContain(note);
    expect(world.callsTo('soak').length).toBeGreaterThan(0);
    for (const soak of world.callsTo('soak')) expect(soak).toMatchObject(policy);
    expect(world.callsTo('checkHealth')).toEqual([expect.objectContaining({ region: STANDBY, ...policy })]);
  });

  test('a problem with the target alarms fails preflight, nothing changed', async () => {
    const rb = workflowTestRunbook('wf-alarm-problem');
    const world = new AlarmWorld(rb);
    const problem = `alarm ${rb.health.alarms[STANDBY][0]} in ${STANDBY} is ALARM`;
    world.answer = { problems: [problem], notes: [] };

    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toBe(`preflight failed, nothing was changed:\n- target alarms: ${problem}`);
    expect(world.callsTo('checkAlarmTargets')).toEqual([{ region: STANDBY, alarms: rb.health.alarms[STANDBY], insufficientData: 'healthy', insufficientDataByAlarm: {} }]);
    expect(world.callsTo('shiftTraffic')).toEqual([]);
  });
});
