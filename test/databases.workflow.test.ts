/**
 * The database paths of the real workflows on the time-skipping test server with stub activities: a
 * planned promotion with `fence: none` (nothing fenced, lag 0 still awaited), a failback with `fence:
 * none` and one with `retention: delete`, and Aurora global databases (planned switchover, unplanned
 * failover). Each test asserts the activity calls the run made (names, arguments, order) and its end.
 */
import type { Activities } from '../activities';
import type { GlobalClusterState } from '../activities/aurora';
import type { FailbackInput, FailbackResult } from '../workflows/failback';
import type { PromoteInput, PromoteResult } from '../workflows/promoteReplica';
import type { RunStatus, Step } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import { refOf } from './harness/fixtures';
import { StubWorld, typedFailure, type Call, type WorldOptions } from './harness/stubs';
import { runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const MUMBAI = 'apnakart-pg-mumbai';
const SINGAPORE = 'apnakart-pg-singapore';
const ARN = (region: string, id: string) => `arn:aws:rds:${region}:123456789012:db:${id}`;
const ENDPOINT = (region: string, id: string) => `${id}.stub.${region}.rds.amazonaws.com`;

const env = timeSkippingPerFile();

/** What a run does on the side (its trail, its notifications, the runbook's lock): not what these tests are about. */
const BOOKKEEPING = new Set(['prepareAuditTarget', 'appendAudit', 'notify', 'takeRunbook', 'releaseRunbook']);
/** The database lifecycle calls (one database: the workflows make them one at a time). */
const LIFECYCLE = new Set(['fenceState', 'fenceInstance', 'unfenceInstance', 'snapshotInstance', 'retireInstance', 'createReplica', 'waitLagWithin', 'waitLagZero', 'promoteReplica', 'waitStandalone', 'upsertCname']);

const calls = (world: StubWorld, only?: Set<string>): Call[] => world.calls.filter((c) => !BOOKKEEPING.has(c.name) && (!only || only.has(c.name)));
const step = (steps: Step[], id: string) => {
  const s = steps.find((x) => x.id === id);
  return s && { status: s.status, notes: s.notes };
};

/**
 * The stub world with `retireInstance` answering as RDS does for each policy: `keep` renames (the stub's
 * own behaviour), `delete` frees the identifier and reports `deleted` with no retired name.
 */
class RetentionWorld extends StubWorld {
  override activities(): Partial<Activities> {
    const base = super.activities();
    const retire = base.retireInstance as Activities['retireInstance'];
    return {
      ...base,
      retireInstance: async (input) => {
        const out = await retire(input);
        return input.policy === 'delete' ? { action: 'deleted' as const } : out;
      },
    };
  }
}

/**
 * An Aurora global database: two DB clusters, one writer. Switchover and failover move the writer to the
 * target (as RDS reports once done); every call is recorded like the stub world's own.
 */
class AuroraWorld extends StubWorld {
  writer: string;
  /** What waitGlobalWriter raises instead of answering (a writer that never takes over). */
  waitError?: Error;
  constructor(
    rb: Runbook,
    private readonly globalId: string,
    private readonly clusters: Record<string, string>,
    opts: WorldOptions = {},
  ) {
    super(rb, opts);
    this.writer = rb.regions.primary;
  }

  private clusterArn(region: string): string {
    return `arn:aws:rds:${region}:123456789012:cluster:${this.clusters[region]}`;
  }

  private state(): GlobalClusterState {
    const members = Object.keys(this.clusters).map((region) => ({ clusterArn: this.clusterArn(region), region, isWriter: region === this.writer }));
    return { identifier: this.globalId, status: 'available', members, writerArn: this.clusterArn(this.writer) };
  }

  override activities(): Partial<Activities> {
    const recorded = <I extends { region: string }, O>(name: string, fn: (input: I) => O) => async (input: I): Promise<O> => {
      this.calls.push({ name, input: input as unknown as Record<string, unknown> });
      return fn(input);
    };
    const move = (input: { region: string; targetCluster: string }) => {
      const before = this.state();
      const alreadyWriter = this.clusters[this.writer] === input.targetCluster;
      this.writer = Object.keys(this.clusters).find((r) => this.clusters[r] === input.targetCluster) ?? this.writer;
      return { alreadyWriter, alreadyInProgress: false, requestId: `req-${this.calls.length}`, before };
    };
    return {
      ...super.activities(),
      switchoverGlobalCluster: recorded('switchoverGlobalCluster', move),
      failoverGlobalCluster: recorded('failoverGlobalCluster', move),
      waitGlobalWriter: recorded('waitGlobalWriter', () => {
        if (this.waitError) throw this.waitError;
        return this.state();
      }),
    } as Partial<Activities>;
  }
}

function promote(rb: Runbook, world: StubWorld, mode: PromoteInput['mode'], toRegion = STANDBY): Promise<{ ok?: PromoteResult; failed?: { type?: string; message: string; record: RunStatus } }> {
  const input: PromoteInput = { runbookRef: refOf(rb), toRegion, mode, reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'promoteReplica', workflowId: `promote-${rb.name}`, args: [input] }, async (h) => {
    try {
      return { ok: (await h.result()) as PromoteResult };
    } catch {
      return { failed: await runFailure<RunStatus>(h.result()) };
    }
  });
}

function failback(rb: Runbook, world: StubWorld): Promise<FailbackResult> {
  const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
  return withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, async (h) => (await h.result()) as FailbackResult);
}

/** The names a failback gives what it retires: `<id>-final-<run tag>` and `<id>-old-<start, to the minute>-<last 4 of the tag>`. */
function retiredNames(r: { runId: string; startedAt: number }, id: string): { snapshotId: string; retiredIdentifier: string } {
  const tag = r.runId.replace(/-/g, '').slice(-8);
  const stamp = new Date(r.startedAt).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  return { snapshotId: `${id}-final-${tag}`, retiredIdentifier: `${id}-old-${stamp}-${tag.slice(-4)}` };
}

describe('fence: none', () => {
  test('given fence none, a planned promotion fences nothing, still waits for lag 0, then promotes, repoints the writer and verifies; RPO 0 noted as unfenced', async () => {
    const rb = workflowTestRunbook('wf-db-nofence', [
      [['approvals', 'gates'], []],
      [['database', 'fence'], { method: 'none' }],
    ]);
    const world = new StubWorld(rb);
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(ok.phase).toBe('completed');
    const since = calls(world)[1].input.since as number;
    expect(calls(world)).toEqual([
      // Whether an earlier drover run promoted the target already (then this one resumes).
      { name: 'describeDb', input: { region: STANDBY, identifier: SINGAPORE } },
      { name: 'waitLagZero', input: { region: STANDBY, identifier: SINGAPORE, since, periodMs: 1000, timeoutMs: 30_000 } },
      { name: 'promoteReplica', input: { region: STANDBY, identifier: SINGAPORE, runRef: `promote-${rb.name}/${ok.runId}` } },
      { name: 'waitStandalone', input: { region: STANDBY, identifier: SINGAPORE } },
      { name: 'upsertCname', input: { zone: 'apnakart.com', name: 'db.apnakart.com', value: ENDPOINT(STANDBY, SINGAPORE), ttl: 30 } },
      { name: 'describeDb', input: { region: STANDBY, identifier: SINGAPORE } },
      { name: 'fenceState', input: { region: PRIMARY, identifier: MUMBAI } },
    ]);
    // The lag is read from when the fence would have been applied: the run's start, in workflow time.
    expect(since).toBeGreaterThanOrEqual(ok.startedAt);
    expect(since).toBeLessThanOrEqual(ok.steps.find((s) => s.id === 'wait-lag-zero')?.startedAt ?? 0);
    expect(step(ok.steps, 'fence')).toEqual({ status: 'done', notes: ['fence method "none": the operator is responsible for stopping writes'] });
    expect(ok.rpo?.note).toBe('lag 0 observed; writes were not fenced (fence: none, operator responsible)');
    expect(ok.rpo?.lagSeconds).toBe(0);
    expect(ok.newWriter).toEqual({ region: STANDBY, identifier: SINGAPORE, endpoint: ENDPOINT(STANDBY, SINGAPORE), arn: ARN(STANDBY, SINGAPORE) });
    expect(ok.oldPrimary).toEqual({ region: PRIMARY, identifier: MUMBAI, reachable: true, fenced: false, status: 'available' });
  });

  test('given fence none and a lag that never reaches 0, the promotion stops: nothing fenced, nothing unfenced, nothing promoted', async () => {
    const rb = workflowTestRunbook('wf-db-nofence-lag', [
      [['approvals', 'gates'], []],
      [['database', 'fence'], { method: 'none' }],
    ]);
    const world = new StubWorld(rb).failWhen('waitLagZero', () => typedFailure('WaitTimedOut', 'ReplicaLag stayed at 12s'));
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(failed.type).toBe('WaitTimedOut');
    expect(failed.record.phase).toBe('failed');
    expect(calls(world).map((c) => c.name)).toEqual(['describeDb', 'waitLagZero']);
    expect(step(failed.record.steps, 'fence')).toEqual({ status: 'done', notes: ['fence method "none": the operator is responsible for stopping writes'] });
    expect(step(failed.record.steps, 'promote')).toEqual({ status: 'pending', notes: ['not run'] });
    expect(failed.message.split('; ')[0]).toBe(`replica lag of ${SINGAPORE} did not reach 0 within 30s (ReplicaLag stayed at 12s)`);
    expect(failed.record.databases).toEqual([{ name: 'main', identifier: SINGAPORE, region: STANDBY, promoted: false, error: failed.message }]);
  });

  test('given fence none, a failback leaves the old primary unfenced (saying so) and its switchover fences nothing; snapshot, retire (keep) and replicas as usual', async () => {
    const rb = workflowTestRunbook('wf-db-nofence-back', [
      [['approvals', 'gates'], []],
      [['database', 'fence'], { method: 'none' }],
    ]);
    const world = new StubWorld(rb, { failedOver: true });
    const r = await failback(rb, world);
    const old = retiredNames(r, MUMBAI);
    const writer = retiredNames(r, SINGAPORE);
    const switchover = await env().client.workflow.getHandle(`failback-${rb.name}-switchover`).describe();

    expect(r.phase).toBe('completed');
    expect(calls(world, LIFECYCLE)).toEqual([
      { name: 'fenceState', input: { region: PRIMARY, identifier: MUMBAI } },
      { name: 'snapshotInstance', input: { region: PRIMARY, identifier: MUMBAI, snapshotId: old.snapshotId } },
      { name: 'retireInstance', input: { region: PRIMARY, identifier: MUMBAI, policy: 'keep', retiredIdentifier: old.retiredIdentifier, reason: `old primary replaced by failback failback-${rb.name}; split-brain forensics` } },
      { name: 'createReplica', input: { region: PRIMARY, identifier: MUMBAI, sourceArn: ARN(STANDBY, SINGAPORE), instanceClass: 'db.r6g.xlarge', config: expect.objectContaining({ securityGroupIds: ['sg-app'] }), engine: 'postgres', tags: { 'drover:runbook': rb.name } } },
      { name: 'waitLagWithin', input: { region: PRIMARY, identifier: MUMBAI, maxLagMs: 30_000, timeoutMs: 6 * 3_600_000 } },
      // The switchover child: no fence of the writer being replaced, lag 0 awaited all the same.
      { name: 'waitLagZero', input: { region: PRIMARY, identifier: MUMBAI, since: expect.any(Number), periodMs: 1000, timeoutMs: 30_000 } },
      { name: 'promoteReplica', input: { region: PRIMARY, identifier: MUMBAI, runRef: `failback-${rb.name}-switchover/${switchover.runId}` } },
      { name: 'waitStandalone', input: { region: PRIMARY, identifier: MUMBAI } },
      { name: 'upsertCname', input: { zone: 'apnakart.com', name: 'db.apnakart.com', value: ENDPOINT(PRIMARY, MUMBAI), ttl: 30 } },
      { name: 'fenceState', input: { region: STANDBY, identifier: SINGAPORE } },
      { name: 'snapshotInstance', input: { region: STANDBY, identifier: SINGAPORE, snapshotId: writer.snapshotId } },
      { name: 'retireInstance', input: { region: STANDBY, identifier: SINGAPORE, policy: 'keep', retiredIdentifier: writer.retiredIdentifier, reason: `writer replaced by failback failback-${rb.name}` } },
      { name: 'createReplica', input: { region: STANDBY, identifier: SINGAPORE, sourceArn: ARN(PRIMARY, MUMBAI), instanceClass: 'db.r6g.xlarge', config: expect.objectContaining({ securityGroupIds: ['sg-app'] }), engine: 'postgres', tags: { 'drover:runbook': rb.name } } },
    ]);
    expect(world.callsTo('fenceInstance')).toEqual([]);
    expect(world.callsTo('unfenceInstance')).toEqual([]);
    expect(step(r.steps, 'protect-old-primary')?.notes).toEqual([
      'no fence group in the runbook: the old primary was not fenced',
      `final snapshot ${old.snapshotId} (available)`,
      `${MUMBAI}: renamed as ${old.retiredIdentifier}`,
    ]);
    expect(r.topology.retired).toEqual([
      { region: PRIMARY, identifier: MUMBAI, action: 'renamed', retiredIdentifier: old.retiredIdentifier, snapshot: old.snapshotId },
      { region: STANDBY, identifier: SINGAPORE, action: 'renamed', retiredIdentifier: writer.retiredIdentifier, snapshot: writer.snapshotId },
    ]);
  });
});

describe('retention: delete', () => {
  test('given retention delete, a failback fences and snapshots each replaced instance, then deletes it (no retired copy), and records each as deleted with its snapshot', async () => {
    const rb = workflowTestRunbook('wf-db-delete', [
      [['approvals', 'gates'], []],
      [['database', 'retention'], 'delete'],
      [['database', 'retainFor'], undefined],
    ]);
    const world = new RetentionWorld(rb, { failedOver: true });
    const r = await failback(rb, world);
    const old = retiredNames(r, MUMBAI);
    const writer = retiredNames(r, SINGAPORE);
    const switchover = await env().client.workflow.getHandle(`failback-${rb.name}-switchover`).describe();

    expect(r.phase).toBe('completed');
    expect(calls(world, LIFECYCLE)).toEqual([
      { name: 'fenceState', input: { region: PRIMARY, identifier: MUMBAI } },
      { name: 'fenceInstance', input: { region: PRIMARY, identifier: MUMBAI, fenceGroupName: 'apnakart-db-fence' } },
      { name: 'snapshotInstance', input: { region: PRIMARY, identifier: MUMBAI, snapshotId: old.snapshotId } },
      { name: 'retireInstance', input: { region: PRIMARY, identifier: MUMBAI, policy: 'delete', retiredIdentifier: old.retiredIdentifier, reason: `old primary replaced by failback failback-${rb.name}; split-brain forensics` } },
      { name: 'createReplica', input: { region: PRIMARY, identifier: MUMBAI, sourceArn: ARN(STANDBY, SINGAPORE), instanceClass: 'db.r6g.xlarge', config: expect.objectContaining({ securityGroupIds: ['sg-app'] }), engine: 'postgres', tags: { 'drover:runbook': rb.name } } },
      { name: 'waitLagWithin', input: { region: PRIMARY, identifier: MUMBAI, maxLagMs: 30_000, timeoutMs: 6 * 3_600_000 } },
      { name: 'fenceInstance', input: { region: STANDBY, identifier: SINGAPORE, fenceGroupName: 'apnakart-db-fence' } },
      { name: 'waitLagZero', input: { region: PRIMARY, identifier: MUMBAI, since: expect.any(Number), periodMs: 1000, timeoutMs: 30_000 } },
      { name: 'promoteReplica', input: { region: PRIMARY, identifier: MUMBAI, runRef: `failback-${rb.name}-switchover/${switchover.runId}` } },
      { name: 'waitStandalone', input: { region: PRIMARY, identifier: MUMBAI } },
      { name: 'upsertCname', input: { zone: 'apnakart.com', name: 'db.apnakart.com', value: ENDPOINT(PRIMARY, MUMBAI), ttl: 30 } },
      { name: 'fenceState', input: { region: STANDBY, identifier: SINGAPORE } },
      { name: 'snapshotInstance', input: { region: STANDBY, identifier: SINGAPORE, snapshotId: writer.snapshotId } },
      { name: 'retireInstance', input: { region: STANDBY, identifier: SINGAPORE, policy: 'delete', retiredIdentifier: writer.retiredIdentifier, reason: `writer replaced by failback failback-${rb.name}` } },
      { name: 'createReplica', input: { region: STANDBY, identifier: SINGAPORE, sourceArn: ARN(PRIMARY, MUMBAI), instanceClass: 'db.r6g.xlarge', config: expect.objectContaining({ securityGroupIds: ['sg-app'] }), engine: 'postgres', tags: { 'drover:runbook': rb.name } } },
    ]);
    expect(step(r.steps, 'protect-old-primary')?.notes).toEqual([`fenced ${MUMBAI}: sg-app -> sg-fence`, `final snapshot ${old.snapshotId} (available)`, `${MUMBAI}: deleted`]);
    expect(r.topology.retired).toEqual([
      { region: PRIMARY, identifier: MUMBAI, action: 'deleted', snapshot: old.snapshotId },
      { region: STANDBY, identifier: SINGAPORE, action: 'deleted', snapshot: writer.snapshotId },
    ]);
    // The new replicas took the freed identifiers.
    expect(r.topology.databases).toEqual([
      { name: 'main', writer: { region: PRIMARY, identifier: MUMBAI, arn: ARN(PRIMARY, MUMBAI) }, replica: { region: STANDBY, identifier: SINGAPORE, arn: ARN(STANDBY, SINGAPORE), source: ARN(PRIMARY, MUMBAI) } },
    ]);
  });
});

describe('Aurora global database', () => {
  const GLOBAL = 'apnakart-global';
  const WEST = 'apnakart-aurora-mumbai';
  const EAST = 'apnakart-aurora-singapore';
  const aurora = (prefix: string) =>
    workflowTestRunbook(prefix, [
      [['approvals', 'gates'], []],
      [['database', 'engine'], 'aurora-global'],
      [['database', 'globalClusterIdentifier'], GLOBAL],
      [['database', 'primary', 'identifier'], WEST],
      [['database', 'replica', 'identifier'], EAST],
    ]);
  const clusterArn = (region: string, id: string) => `arn:aws:rds:${region}:123456789012:cluster:${id}`;

  test('a planned promotion is one SwitchoverGlobalCluster toward the standby cluster and the wait for it to be the only writer: no fence, no lag wait, no RDS instance call; RPO 0', async () => {
    const rb = aurora('wf-db-aurora-planned');
    const world = new AuroraWorld(rb, GLOBAL, { [PRIMARY]: WEST, [STANDBY]: EAST });
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(calls(world)).toEqual([
      { name: 'switchoverGlobalCluster', input: { region: STANDBY, globalClusterId: GLOBAL, targetCluster: EAST } },
      { name: 'waitGlobalWriter', input: { region: STANDBY, globalClusterId: GLOBAL, targetCluster: EAST } },
    ]);
    expect(world.writer).toBe(STANDBY);
    expect(ok.phase).toBe('completed');
    expect(ok.steps.map((s) => [s.id, s.status, s.notes])).toEqual([
      ['take-runbook', 'done', ['taken: no other run holds it']],
      ['fence', 'skipped', ['Aurora global switchover fences writes itself']],
      ['wait-lag-zero', 'skipped', ['SwitchoverGlobalCluster waits for the secondary to catch up (RPO 0)']],
      ['promote', 'done', ['SwitchoverGlobalCluster accepted']],
      ['repoint-writer', 'skipped', ['no endpoint address (Aurora: the global writer endpoint follows)']],
      ['verify-writer', 'done', [`${EAST} is the global cluster's writer`]],
      ['old-primary', 'skipped', ['Aurora: the old writer is now a secondary of the global cluster']],
    ]);
    expect([ok.rpo?.lagSeconds, ok.rpo?.note]).toEqual([0, 'planned Aurora switchover: RPO 0']);
    expect(ok.newWriter).toEqual({ region: STANDBY, identifier: EAST, arn: clusterArn(STANDBY, EAST) });
    expect(ok.oldPrimary).toEqual({ region: PRIMARY, identifier: WEST, reachable: 'not-contacted', fenced: 'unknown' });
  });

  test('an unplanned promotion is one FailoverGlobalCluster (AllowDataLoss) called in the target region, never the lost one; the data-loss window is recorded as unknown', async () => {
    const rb = aurora('wf-db-aurora-unplanned');
    const world = new AuroraWorld(rb, GLOBAL, { [PRIMARY]: WEST, [STANDBY]: EAST });
    const { ok } = await promote(rb, world, 'unplanned');
    if (!ok) throw new Error('the promotion failed');

    expect(calls(world)).toEqual([
      { name: 'failoverGlobalCluster', input: { region: STANDBY, globalClusterId: GLOBAL, targetCluster: EAST } },
      { name: 'waitGlobalWriter', input: { region: STANDBY, globalClusterId: GLOBAL, targetCluster: EAST } },
    ]);
    expect(world.writer).toBe(STANDBY);
    expect(ok.phase).toBe('completed');
    expect(ok.steps.map((s) => [s.id, s.status, s.notes])).toEqual([
      ['take-runbook', 'done', ['taken: no other run holds it']],
      ['fence', 'skipped', [`unplanned: ${PRIMARY} not contacted (assumed lost)`]],
      ['wait-lag-zero', 'skipped', ['unplanned: promoting with the lag last observed']],
      ['promote', 'done', ['FailoverGlobalCluster (AllowDataLoss) accepted']],
      ['repoint-writer', 'skipped', ['no endpoint address (Aurora: the global writer endpoint follows)']],
      ['verify-writer', 'done', [`${EAST} is the global cluster's writer`]],
      ['old-primary', 'skipped', [`unplanned: ${PRIMARY} not contacted`]],
    ]);
    expect([ok.rpo?.lagSeconds, ok.rpo?.note]).toEqual([-1, 'unplanned: no ReplicaLag datapoint was available; data loss window unknown']);
  });

  test('a planned promotion back to the primary region switches the writer over toward the primary cluster', async () => {
    const rb = aurora('wf-db-aurora-back');
    const world = new AuroraWorld(rb, GLOBAL, { [PRIMARY]: WEST, [STANDBY]: EAST });
    world.writer = STANDBY;
    const { ok } = await promote(rb, world, 'planned', PRIMARY);
    if (!ok) throw new Error('the promotion failed');

    expect(calls(world)).toEqual([
      { name: 'switchoverGlobalCluster', input: { region: PRIMARY, globalClusterId: GLOBAL, targetCluster: WEST } },
      { name: 'waitGlobalWriter', input: { region: PRIMARY, globalClusterId: GLOBAL, targetCluster: WEST } },
    ]);
    expect(world.writer).toBe(PRIMARY);
    expect([ok.phase, ok.fromRegion, ok.targetRegion]).toEqual(['completed', STANDBY, PRIMARY]);
  });

  test('given the new writer never taking over, the promotion fails at the promote step with the wait\'s error and records the switchover as requested', async () => {
    const rb = aurora('wf-db-aurora-stuck');
    const world = new AuroraWorld(rb, GLOBAL, { [PRIMARY]: WEST, [STANDBY]: EAST });
    world.waitError = typedFailure('WaitTimedOut', `${EAST} did not become the writer of ${GLOBAL} within 1800s`);
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(calls(world).map((c) => c.name)).toEqual(['switchoverGlobalCluster', 'waitGlobalWriter']);
    expect(failed.type).toBe('WaitTimedOut');
    expect(failed.message).toBe(`${EAST} did not become the writer of ${GLOBAL} within 1800s`);
    expect(failed.record.phase).toBe('failed');
    expect(step(failed.record.steps, 'promote')).toEqual({ status: 'failed', notes: ['SwitchoverGlobalCluster accepted', failed.message] });
    expect(failed.record.databases).toEqual([{ name: 'main', identifier: EAST, region: STANDBY, promoted: true, rpo: { lagSeconds: 0, observedAt: failed.record.rpo?.observedAt, note: 'planned Aurora switchover: RPO 0' }, error: failed.message }]);
  });
});

describe('encrypted pairs (KMS keys are regional)', () => {
  const KEY = (region: string, id: string) => `arn:aws:kms:${region}:123456789012:key/${id}`;
  const encrypted = (world: StubWorld) => world.setDb(MUMBAI, { kmsKeyId: KEY(PRIMARY, 'mumbai-db') }).setDb(SINGAPORE, { kmsKeyId: KEY(STANDBY, 'singapore-db') });

  test('given an encrypted writer in the standby, each replica the failback re-creates is encrypted with the key of the instance it replaces, in its own region', async () => {
    const rb = workflowTestRunbook('wf-db-kms', [[['approvals', 'gates'], []]]);
    const world = encrypted(new StubWorld(rb, { failedOver: true }));
    const r = await failback(rb, world);

    expect(r.phase).toBe('completed');
    expect(world.callsTo('createReplica').map((c) => [c.region, c.identifier, c.kmsKeyId])).toEqual([
      [PRIMARY, MUMBAI, KEY(PRIMARY, 'mumbai-db')],
      [STANDBY, SINGAPORE, KEY(STANDBY, 'singapore-db')],
    ]);
    // Since replica-config-v1 each replica is made as the instance it replaces is, its key included (the stub's configuration: groups and key).
    expect(step(r.steps, 'assess')?.notes).toEqual(expect.arrayContaining([
      `a replica in ${PRIMARY} is made as ${MUMBAI} is: the default subnet group, security groups app, encrypted with ${KEY(PRIMARY, 'mumbai-db')}`,
      `one in ${STANDBY} as ${SINGAPORE} is: the default subnet group, security groups app, encrypted with ${KEY(STANDBY, 'singapore-db')}`,
    ]));
  });

  test("given the runbook's keys, they win over the replaced instances' (the old primary's key may be why the failover happened)", async () => {
    const rb = workflowTestRunbook('wf-db-kms-own', [[['approvals', 'gates'], []], [['database', 'primary', 'kmsKeyId'], 'alias/apnakart-db'], [['database', 'replica', 'kmsKeyId'], 'alias/apnakart-db-dr']]);
    const world = encrypted(new StubWorld(rb, { failedOver: true }));
    const r = await failback(rb, world);

    expect(r.phase).toBe('completed');
    expect(world.callsTo('createReplica').map((c) => [c.region, c.kmsKeyId])).toEqual([[PRIMARY, 'alias/apnakart-db'], [STANDBY, 'alias/apnakart-db-dr']]);
  });

  test("given the old primary gone, the runbook's key for the primary is used; without one the failback is refused at its assessment, path-qualified, having changed nothing", async () => {
    const gone = (rb: Runbook) => {
      const world = encrypted(new StubWorld(rb, { failedOver: true }));
      const retire = world.activities().retireInstance as Activities['retireInstance'];
      return { world, retire };
    };
    const withKey = workflowTestRunbook('wf-db-kms-rb', [[['approvals', 'gates'], []], [['database', 'primary', 'kmsKeyId'], 'alias/apnakart-db']]);
    const a = gone(withKey);
    await a.retire({ region: PRIMARY, identifier: MUMBAI, policy: 'keep', retiredIdentifier: `${MUMBAI}-old-x`, reason: 'deleted by the team' });
    const done = await failback(withKey, a.world);
    expect(done.phase).toBe('completed');
    expect(a.world.callsTo('createReplica')[0]).toMatchObject({ region: PRIMARY, identifier: MUMBAI, kmsKeyId: 'alias/apnakart-db' });

    const without = workflowTestRunbook('wf-db-kms-none', [[['approvals', 'gates'], []]]);
    const b = gone(without);
    await b.retire({ region: PRIMARY, identifier: MUMBAI, policy: 'keep', retiredIdentifier: `${MUMBAI}-old-x`, reason: 'deleted by the team' });
    const before = b.world.calls.length;
    const refused = await withRun(env(), b.world, { workflowType: 'failback', workflowId: `failback-${without.name}`, args: [{ runbookRef: refOf(without), reason: 'workflow test', requestedBy: 'ic-test' } satisfies FailbackInput] }, (h) => runFailure<RunStatus>(h.result()));
    expect(refused.type).toBe('InvalidState');
    expect(refused.message).toContain(`nothing was changed: database.primary.kmsKeyId: ${SINGAPORE} in ${STANDBY} is encrypted, so a replica in ${PRIMARY} needs a KMS key of ${PRIMARY}`);
    const changes = b.world.calls.slice(before).filter((c) => !BOOKKEEPING.has(c.name) && !['describeDb', 'fenceState', 'readControls', 'readTraffic', 'runbookHolder', 'describeDbConfig', 'resolveReplicaConfig', 'lastFailoverFingerprint'].includes(c.name));
    expect(changes).toEqual([]);
  });
});

describe('a failback run again after an earlier one switched over', () => {
  const refusal = (world: StubWorld, rb: Runbook) =>
    withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [{ runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test' } satisfies FailbackInput] }, (h) => runFailure<RunStatus>(h.result()));
  /** What an earlier failback left once its switchover promoted the replica it had re-created in the original region. */
  const switchedOver = (world: StubWorld) => world.setDb(MUMBAI, { standalone: true, replicationSource: undefined, promotedByDrover: true, createdAt: 3_000 });

  test.each([
    ['a security-group fence (the standby carries its tag)', 'security-group'],
    ['fence none (no tag at all)', 'none'],
  ] as const)('given %s, the original\'s writer (standalone, created after the standby\'s) is seen from RDS\'s facts: the failback is refused at its assessment and changes nothing (it would retire the writer)', async (_what, method) => {
    const rb = workflowTestRunbook(`wf-db-switched-${method}`, [[['approvals', 'gates'], []], ...(method === 'none' ? [[['database', 'fence'], { method: 'none' }] as [string[], unknown]] : [])]);
    const world = switchedOver(new StubWorld(rb, { failedOver: true }));
    if (method === 'security-group') world.setFenced(SINGAPORE, true);
    const refused = await refusal(world, rb);

    expect(refused.type).toBe('InvalidState');
    expect(refused.message).toContain(`nothing was changed: ${MUMBAI} in ${PRIMARY} writes on its own and was created after ${SINGAPORE} (an earlier failback re-created it and switched over to it): a failback now would fence and retire that writer`);
    expect(calls(world, LIFECYCLE).filter((c) => c.name !== 'fenceState')).toEqual([]);
    expect(world.mutations()).toEqual([]);
  });

  test("given the standby left fenced by a switchover that stopped before its promotion (the original is still its replica), the failback is refused, saying so; the first failback after a failover (an older, standalone old primary) is not", async () => {
    const rb = workflowTestRunbook('wf-db-fenced-standby', [[['approvals', 'gates'], []]]);
    const fenced = new StubWorld(rb, { failedOver: true }).setDb(MUMBAI, { standalone: false, replicationSource: ARN(STANDBY, SINGAPORE) }).setFenced(SINGAPORE, true);
    const refused = await refusal(fenced, rb);
    expect(refused.message).toContain(`nothing was changed: ${SINGAPORE} in ${STANDBY} carries drover's fence while ${MUMBAI} in ${PRIMARY} is still its replica: a switchover stopped before its promotion and left it fenced`);
    expect(fenced.mutations()).toEqual([]);

    // An unplanned failover's old primary: standalone (never demoted), created before the replica: the usual failback.
    const first = await failback(rb, new StubWorld(rb, { failedOver: true }));
    expect(first.phase).toBe('completed');
  });
});
