/**
 * A run whose audit trail cannot be written (its bucket's region impaired) ends, failed and saying why, after
 * the audit writes' bounded retries, instead of staying open with its work done. On the time-skipping test
 * server (its own, in this file: the retries skip 10 minutes of time) with stub activities.
 */
import type { PromoteInput } from '../workflows/promoteReplica';
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, withRun, timeSkippingPerFile, workflowTestRunbook } from './harness/timeskipping';

const env = timeSkippingPerFile();

function promotion(rb: { name: string }): { workflowType: string; workflowId: string; args: unknown[] } {
  const input: PromoteInput = { runbookRef: refOf(rb), toRegion: 'ap-southeast-1', mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
  return { workflowType: 'promoteReplica', workflowId: `promote-${rb.name}`, args: [input] };
}

describe('a trail that cannot be written', () => {
  test('given every audit append failing (the bucket region impaired), the run ends failed after the bounded retries, naming why, instead of staying open', async () => {
    const rb = workflowTestRunbook('wf-trail');
    const world = new StubWorld(rb);
    world.failWhen('appendAudit', () => new Error('connect ETIMEDOUT s3.ap-south-1.amazonaws.com'));
    const f = await runFailure(withRun(env(), world, promotion(rb), (h) => h.result()));

    // The promotion itself was done; the run says its evidence is missing.
    expect(world.callsTo('promoteReplica')).toHaveLength(1);
    expect(f.message).toContain('the audit trail could not be written: connect ETIMEDOUT s3.ap-south-1.amazonaws.com');
    expect(f.record.phase).toBe('failed');
    // Retried for its 10 minutes (1 s, 2 s, 4 s ... 30 s between attempts), not forever.
    const attempts = world.callsTo('appendAudit').length;
    expect(attempts).toBeGreaterThan(10);
    expect(attempts).toBeLessThan(40);
  });
});

describe("a promotion child whose trail cannot be written", () => {
  test('given only the promotion child unable to write its trail, the failover still repoints the writer and moves traffic, saying so', async () => {
    const rb = workflowTestRunbook('wf-trail-child');
    const world = new StubWorld(rb);
    world.failWhen('appendAudit', (input) => (String(input.workflowId).endsWith('-promote') ? new Error('connect ETIMEDOUT s3.ap-southeast-1.amazonaws.com') : undefined));
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test' };
    const done = await withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);

    expect(done.phase).toBe('completed');
    expect(world.trafficOn('ap-southeast-1')).toBe(100);
    expect(world.callsTo('upsertCname')).toHaveLength(1);
    expect(done.steps.find((s) => s.id === 'promote-database')?.notes).toContain('promotion child: the audit trail could not be written: connect ETIMEDOUT s3.ap-southeast-1.amazonaws.com');
  });
});
