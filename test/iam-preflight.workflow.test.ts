/**
 * The failover's permission check (patch iam-preflight-v1; the real workflow on the time-skipping test server, stub
 * activities): preflight asks checkPermissions, its notes land in the preflight's notes, a refused action stops the run
 * before anything changes.
 * What the activity makes of IAM's answer is in test/iam-policy.integration.test.ts.
 */
import type { Activities } from '../activities';
import type { RunStatus } from '../contracts/run';
import type { FailoverInput } from '../workflows/regionFailover';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { recordHistory, runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const STANDBY = 'ap-southeast-1';

const env = timeSkippingPerFile();

/** The stub world, with the permission check answering `answer`. */
class PermissionWorld extends StubWorld {
  answer: { problems: string[]; notes: string[] } | Error = { problems: [], notes: [] };
  override activities(): Partial<Activities> {
    return {
      ...super.activities(),
      checkPermissions: async (input) => {
        this.calls.push({ name: 'checkPermissions', input: input as unknown as Record<string, unknown> });
        if (this.answer instanceof Error) throw this.answer;
        return this.answer;
      },
    };
  }
}

function failover(rb: { name: string }, world: StubWorld, recordAs?: string): Promise<unknown> {
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result().finally(() => recordHistory(h, recordAs)));
}

describe('failover: the worker checks its own permissions at preflight', () => {
  test('an action the worker is not allowed fails preflight, named, and nothing changes', async () => {
    const rb = workflowTestRunbook('wf-iam-refused');
    const world = new PermissionWorld(rb);
    const problem = `rds:PromoteReadReplica on arn:aws:rds:${STANDBY}:123456789012:db:${rb.database?.replica.identifier}: not allowed for arn:aws:iam::123456789012:role/drover-worker`;
    world.answer = { problems: [problem], notes: [] };

    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toBe(`preflight failed, nothing was changed:\n- worker permissions: ${problem}`);
    expect(world.callsTo('checkPermissions')).toEqual([expect.objectContaining({ stsRegion: STANDBY, runbook: expect.objectContaining({ name: rb.name }) })]);
    for (const step of ['fenceWrites', 'promoteReplica', 'scaleNodeGroups', 'shiftTraffic', 'upsertCname']) expect(world.callsTo(step as keyof Activities)).toEqual([]);
  });

  test('allowed: the run goes on, the check\'s note in the preflight\'s notes', async () => {
    const rb = workflowTestRunbook('wf-iam-allowed', [[['approvals', 'gates'], []]]);
    const world = new PermissionWorld(rb);
    world.answer = { problems: [], notes: ['worker permissions: arn:aws:iam::123456789012:role/drover-worker is allowed every action this runbook\'s runs need'] };

    const status = (await failover(rb, world, 'failover-iam-preflight.json')) as RunStatus;

    expect(status.phase).toBe('completed');
    expect(status.steps.find((s) => s.id === 'preflight')?.notes).toContain('worker permissions: arn:aws:iam::123456789012:role/drover-worker is allowed every action this runbook\'s runs need');
  });

  test('a check that fails (its activity times out, IAM is gone): a note, the run goes on', async () => {
    const rb = workflowTestRunbook('wf-iam-failed', [[['approvals', 'gates'], []]]);
    const world = new PermissionWorld(rb);
    world.answer = new Error('IAM did not answer');

    const status = (await failover(rb, world)) as RunStatus;

    expect(status.phase).toBe('completed');
    expect(status.steps.find((s) => s.id === 'preflight')?.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^worker permissions not checked: .*IAM did not answer/)]));
    expect(world.callsTo('promoteReplica')).not.toEqual([]);
  });
});
