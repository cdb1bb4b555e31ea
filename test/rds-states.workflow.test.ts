/**
 * An RDS instance passing through a state (backing-up, modifying) in the failover workflows, on the time-skipping
 * test server with stub activities: preflight notes it rather than refusing (the steps wait for it, patch
 * rds-passing-states-v1), and a promoted instance still in its first backup (backing-up) counts as the writer at
 * verification, as it takes writes.
 */
import type { Activities } from '../activities';
import type { DbState } from '../activities/rds';
import type { RunStatus } from '../contracts/run';
import type { FailoverInput } from '../workflows/regionFailover';
import { refOf } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const STANDBY = 'ap-southeast-1';
const SINGAPORE = 'apnakart-pg-singapore';
const MUMBAI = 'apnakart-pg-mumbai';

const env = timeSkippingPerFile();

/** The stub world, with some instances reading in a status other than available (their other fields as they are). */
class BusyWorld extends StubWorld {
  constructor(
    rb: ConstructorParameters<typeof StubWorld>[0],
    readonly statusOf: (identifier: string, standalone: boolean) => string | undefined,
  ) {
    super(rb);
  }

  override activities(): Partial<Activities> {
    const base = super.activities();
    const busy =
      <I extends { identifier: string }>(fn: (input: I) => Promise<DbState>) =>
      async (input: I): Promise<DbState> => {
        const out = await fn(input);
        return { ...out, status: this.statusOf(out.identifier, out.standalone) ?? out.status };
      };
    return { ...base, describeDb: busy(base.describeDb as Activities['describeDb']), waitStandalone: busy(base.waitStandalone as Activities['waitStandalone']) };
  }
}

function failover(rb: { name: string }, world: StubWorld, mode: FailoverInput['mode'] = 'planned'): Promise<RunStatus> {
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input] }, (h) => h.result() as Promise<RunStatus>);
}

describe('failover: instances passing through a state', () => {
  test('planned: a primary backing-up is a preflight note (the fence waits for it); the promoted replica, in its first backup, is the writer', async () => {
    const rb = workflowTestRunbook('wf-rds-states');
    // The primary in its backup window throughout; the replica backing-up once promoted (its first backup).
    const world = new BusyWorld(rb, (id, standalone) => (id === MUMBAI || (id === SINGAPORE && standalone) ? 'backing-up' : undefined));

    const done = await failover(rb, world);

    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`primary ${MUMBAI} is backing-up: the fence waits until it is available`);
    expect(world.callsTo('promoteReplica')).toHaveLength(1);
    expect(done.steps.find((s) => s.id === 'verify')?.status).toBe('done');
  });

  test('planned: a replica backing-up is a preflight problem (RDS refuses its promotion, and the fence would hold writes meanwhile): nothing changes', async () => {
    const rb = workflowTestRunbook('wf-rds-busy-planned');
    const world = new BusyWorld(rb, (id, standalone) => (id === SINGAPORE && !standalone ? 'backing-up' : undefined));

    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`replica ${SINGAPORE} is backing-up, not available: RDS refuses to promote it until it is`);
    expect(world.mutations()).toEqual([]);
  });

  test('unplanned: a replica backing-up is a preflight note; the promotion is asked for (and waits for it in its activity)', async () => {
    const rb = workflowTestRunbook('wf-rds-busy-unplanned');
    const world = new BusyWorld(rb, (id, standalone) => (id === SINGAPORE && !standalone ? 'backing-up' : undefined));

    const done = await failover(rb, world, 'unplanned');

    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`replica ${SINGAPORE} is backing-up: RDS refuses its promotion until it is available, and the promotion waits for that`);
    expect(world.callsTo('promoteReplica')).toHaveLength(1);
  });

  test('a replica in a status that does not pass (storage-full) is still a preflight problem: nothing changes', async () => {
    const rb = workflowTestRunbook('wf-rds-stuck');
    const world = new BusyWorld(rb, (id) => (id === SINGAPORE ? 'storage-full' : undefined));

    const f = await runFailure(failover(rb, world));

    expect(f.type).toBe('PreflightFailed');
    expect(f.message).toContain(`replica ${SINGAPORE} is storage-full, not available`);
    expect(world.mutations()).toEqual([]);
  });
});
