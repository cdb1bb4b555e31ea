/**
 * The engine fence (engine-fence-v1) in the real promotion workflow, on the time-skipping test server with stub
 * activities: with `database.access`, a planned promotion ends the writer's sessions after the security-group swap and
 * waits for the replica to replay the writer's final position (no CloudWatch period); a fence that cannot be proven
 * unfences and stops; an engine that does not answer falls back to a reboot and ReplicaLag, labelled weaker; an
 * unplanned promotion records what the replica had replayed. The real engines are test/engine-fence.integration.test.ts.
 */
import type { Activities } from '../activities';
import type { FailbackInput, FailbackResult } from '../workflows/failback';
import type { PromoteInput, PromoteResult } from '../workflows/promoteReplica';
import type { RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import { refOf } from './harness/fixtures';
import { StubWorld, STUB_REPLICA_LSN, STUB_WRITER_LSN, typedFailure } from './harness/stubs';
import { recordHistory, runFailure, timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const STANDBY = 'ap-southeast-1';
const env = timeSkippingPerFile();

const ACCESS = { secretId: 'apnakart/db-master', tls: 'off' };
const DB_CALLS = new Set(['fenceInstance', 'holdReadOnly', 'fenceEngine', 'releaseReadOnly', 'rebootToFence', 'waitReplayed', 'waitLagZero', 'replayPosition', 'replicaLag', 'promoteReplica', 'unfenceInstance', 'upsertCname']);

function runbook(prefix: string, engine?: 'mariadb'): Runbook {
  return workflowTestRunbook(prefix, [
    [['approvals', 'gates'], []],
    [['database', 'access'], ACCESS],
    ...(engine ? [[['database', 'engine'], engine] as [Array<string | number>, unknown]] : []),
  ]);
}

function promote(rb: Runbook, world: StubWorld, mode: PromoteInput['mode'], history?: string): Promise<{ ok?: PromoteResult; failed?: { type?: string; message: string; record: RunStatus } }> {
  const input: PromoteInput = { runbookRef: refOf(rb), toRegion: STANDBY, mode, reason: 'workflow test', requestedBy: 'ic-test' };
  return withRun(env(), world, { workflowType: 'promoteReplica', workflowId: `promote-${rb.name}`, args: [input] }, async (h) => {
    try {
      const ok = (await h.result()) as PromoteResult;
      await recordHistory(h, history);
      return { ok };
    } catch {
      return { failed: await runFailure<RunStatus>(h.result()) };
    }
  });
}

/** A writer whose engine does not answer the worker (the stub's fenceEngine answers `reached: false`). */
class UnreachableWriter extends StubWorld {
  override activities(): Partial<Activities> {
    const base = super.activities();
    const fenceEngine = base.fenceEngine as Activities['fenceEngine'];
    return { ...base, fenceEngine: async (input) => (await fenceEngine(input), { reached: false as const, reason: 'connect ETIMEDOUT 10.0.1.5:5432' }) };
  }
}

const dbCalls = (world: StubWorld) => world.calls.filter((c) => DB_CALLS.has(c.name)).map((c) => c.name);

describe('a planned promotion with engine access', () => {
  test('ends the writer sessions after the security-group swap, waits for the replica to replay its final position instead of ReplicaLag, and records both positions as the RPO evidence', async () => {
    const rb = runbook('wf-engine-fence');
    const world = new StubWorld(rb);
    const { ok } = await promote(rb, world, 'planned', 'engine-fence-planned.json');
    if (!ok) throw new Error('the promotion failed');

    expect(ok.phase).toBe('completed');
    expect(dbCalls(world)).toEqual(['fenceInstance', 'fenceEngine', 'waitReplayed', 'promoteReplica', 'upsertCname']);
    const fenceEngine = world.callsTo('fenceEngine')[0];
    expect(fenceEngine).toMatchObject({ region: rb.regions.primary, identifier: rb.database?.primary.identifier, engine: 'postgres', side: 'primary', access: { secretId: ACCESS.secretId, tls: 'off' } });
    expect(world.callsTo('waitReplayed')[0]).toMatchObject({ region: STANDBY, identifier: rb.database?.replica.identifier, side: 'replica', position: { kind: 'lsn', value: STUB_WRITER_LSN } });
    expect(ok.rpo).toMatchObject({ lagSeconds: 0, evidence: { kind: 'engine', writer: { value: STUB_WRITER_LSN }, replica: { value: STUB_WRITER_LSN }, sessionsEnded: 2, fencedBy: 'sessions' } });
    const fence = ok.steps.find((s) => s.id === 'fence');
    expect(fence?.notes.join('\n')).toMatch(/2 client session\(s\) ended; no client session for 2s; final write position 0\/3000148/);
  });

  test('a fence that cannot be proven stops the promotion: the writer is unfenced, nothing is promoted, and the run says why', async () => {
    const rb = runbook('wf-engine-unproven');
    const world = new StubWorld(rb).failWhen('fenceEngine', () => typedFailure('FenceNotProven', 'apnakart-pg-mumbai could not be proven stopped within 60s: 1 client session(s) of app still open'));
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(failed.type).toBe('FenceNotProven');
    expect(failed.message).toMatch(/1 client session\(s\) of app still open/);
    expect(dbCalls(world)).toEqual(['fenceInstance', 'fenceEngine', 'unfenceInstance']);
    expect(world.mutations()).not.toContain('promoteReplica');
  });

  test('a secret the engine refuses stops the promotion before its fence (engine-preflight-v1): nothing changed, the type kept', async () => {
    const rb = runbook('wf-engine-preflight');
    const world = new StubWorld(rb).failWhen('engineAnswers', () => typedFailure('PermissionDenied', 'apnakart-pg-singapore refused the credentials of apnakart/db-master (28P01)'));
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(failed.type).toBe('PermissionDenied');
    expect(world.mutations()).toEqual([]);
    expect(world.callsTo('engineAnswers')[0]).toMatchObject({ region: rb.regions.primary, identifier: rb.database?.primary.identifier, side: 'primary' });
  });

  test('an engine the worker cannot reach is fenced by a reboot, and the RPO rests on ReplicaLag, labelled as the weaker evidence', async () => {
    const rb = runbook('wf-engine-unreachable');
    const unreachable = new UnreachableWriter(rb);
    const { ok } = await promote(rb, unreachable, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(dbCalls(unreachable)).toEqual(['fenceInstance', 'fenceEngine', 'rebootToFence', 'waitLagZero', 'promoteReplica', 'upsertCname']);
    expect(ok.rpo).toMatchObject({ lagSeconds: 0, evidence: { kind: 'replica-lag', fencedBy: 'reboot', weaker: expect.stringMatching(/could not be reached \(connect ETIMEDOUT/) } });
  });

  test('a replica that does not replay the final position in time: unfenced, not promoted, WaitTimedOut', async () => {
    const rb = runbook('wf-engine-behind');
    const world = new StubWorld(rb).failWhen('waitReplayed', () => typedFailure('WaitTimedOut', `timed out waiting for apnakart-pg-singapore to replay ${STUB_WRITER_LSN}`));
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(failed.type).toBe('WaitTimedOut');
    expect(failed.message).toMatch(new RegExp(`did not replay .*final position ${STUB_WRITER_LSN}.*was unfenced and .* was not promoted`));
    expect(dbCalls(world)).toEqual(['fenceInstance', 'fenceEngine', 'waitReplayed', 'unfenceInstance']);
  });
});

describe("a MariaDB writer's read_only (engine-read-only-v1)", () => {
  test('is set in its own parameter group before its sessions are ended, and restored once the replica is the writer', async () => {
    const rb = runbook('wf-engine-read-only', 'mariadb');
    const world = new StubWorld(rb);
    const { ok } = await promote(rb, world, 'planned', 'engine-read-only-planned.json');
    if (!ok) throw new Error('the promotion failed');

    expect(dbCalls(world)).toEqual(['fenceInstance', 'holdReadOnly', 'fenceEngine', 'waitReplayed', 'promoteReplica', 'upsertCname', 'releaseReadOnly', 'releaseReadOnly']);
    const writer = { region: rb.regions.primary, identifier: rb.database?.primary.identifier };
    expect(world.callsTo('holdReadOnly')).toEqual([writer]);
    expect(world.callsTo('fenceEngine')[0]).toMatchObject({ ...writer, engine: 'mariadb', readOnly: true });
    // The new writer's group is checked for read_only an earlier fence left (none here), then the old writer's restored.
    expect(world.callsTo('releaseReadOnly')).toEqual([{ region: STANDBY, identifier: rb.database?.replica.identifier }, { ...writer, from: 'default' }]);
    expect(ok.rpo?.evidence).toMatchObject({ kind: 'engine', readOnly: { held: true, group: `${writer.identifier}-params` } });
    expect(ok.steps.find((s) => s.id === 'fence')?.notes.join('\n')).toMatch(/read_only = 1 in .*'s parameter group \S+-params \(it had the default\)/);
    expect(ok.steps.find((s) => s.id === 'old-primary')?.notes.join('\n')).toMatch(/read_only in \S+-params restored to the default/);
  });

  test('a fence that cannot be proven restores read_only with the unfence: the writer takes writes again', async () => {
    const rb = runbook('wf-engine-read-only-unproven', 'mariadb');
    const world = new StubWorld(rb).failWhen('fenceEngine', () => typedFailure('FenceNotProven', 'apnakart-pg-mumbai could not be proven stopped within 60s'));
    const { failed } = await promote(rb, world, 'planned');
    if (!failed) throw new Error('the promotion completed');

    expect(failed.type).toBe('FenceNotProven');
    // The unfence restores read_only with the groups (whoever unfences: a drill's rollback too).
    expect(dbCalls(world)).toEqual(['fenceInstance', 'holdReadOnly', 'fenceEngine', 'unfenceInstance']);
    expect(failed.record.steps.find((s) => s.id === 'fence')?.notes.join('\n')).toMatch(/compensation: unfenced \S+ because the promotion did not happen; read_only in \S+-params restored to the default/);
  });

  test("read_only an earlier fence left in the new writer's group is restored before the run says it writes", async () => {
    const rb = runbook('wf-engine-read-only-left', 'mariadb');
    const world = new StubWorld(rb);
    world.readOnly.add(rb.database?.replica.identifier ?? '');
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(world.readOnly.size).toBe(0);
    expect(ok.steps.find((s) => s.id === 'verify-writer')?.notes.join('\n')).toMatch(/read_only an earlier fence left in \S+-params restored to the default/);
  });

  test('a group it may not hold (default, or another writer\'s too) is said so, and the fence rests on the sessions', async () => {
    const rb = runbook('wf-engine-read-only-shared', 'mariadb');
    class SharedGroup extends StubWorld {
      override activities(): Partial<Activities> {
        const base = super.activities();
        const hold = base.holdReadOnly as Activities['holdReadOnly'];
        return { ...base, holdReadOnly: async (input) => (await hold(input), { held: false as const, reason: 'its parameter group shop-params is also that of reports-db: read_only would stop their writes too' }) };
      }
    }
    const world = new SharedGroup(rb);
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(world.callsTo('fenceEngine')[0]).not.toHaveProperty('readOnly');
    expect(ok.rpo?.evidence).toMatchObject({ kind: 'engine', fencedBy: 'sessions', readOnly: { held: false, why: expect.stringMatching(/also that of reports-db/) } });
    expect(ok.steps.find((s) => s.id === 'fence')?.notes.join('\n')).toMatch(/read_only not set: its parameter group shop-params is also that of reports-db/);
  });

  test("a new writer whose group the team set read_only in is said loudly, and a check AWS refuses never fails a promotion that happened", async () => {
    const rb = runbook('wf-engine-read-only-team', 'mariadb');
    const replica = rb.database?.replica.identifier;
    class TeamReadOnly extends StubWorld {
      override activities(): Partial<Activities> {
        const base = super.activities();
        const release = base.releaseReadOnly as Activities['releaseReadOnly'];
        return { ...base, releaseReadOnly: async (input) => (input.identifier === replica ? (await release(input), { released: false, group: 'shop-standby-params', on: '1' }) : release(input)) };
      }
    }
    const world = new TeamReadOnly(rb);
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');
    expect(ok.steps.find((s) => s.id === 'verify-writer')?.notes.join('\n')).toMatch(/WARNING: \S+'s parameter group shop-standby-params sets read_only = 1 \(the team's own setting\): the new writer refuses writes/);

    const rb2 = runbook('wf-engine-read-only-check-denied', 'mariadb');
    const denied = new StubWorld(rb2).failWhen('releaseReadOnly', () => typedFailure('PermissionDenied', 'rds:ListTagsForResource failed: AccessDenied'));
    const out = await promote(rb2, denied, 'planned');
    if (!out.ok) throw new Error(`the promotion failed: ${out.failed?.message}`);
    expect(out.ok.phase).toBe('completed');
    expect(out.ok.steps.find((s) => s.id === 'verify-writer')?.notes.join('\n')).toMatch(/could not be checked for read_only: .*AccessDenied/);
  });

  test('a refused ModifyDBParameterGroup (permissions) does not stop the fence: said so, the sessions fence the writer', async () => {
    const rb = runbook('wf-engine-read-only-denied', 'mariadb');
    const world = new StubWorld(rb).failWhen('holdReadOnly', () => typedFailure('PermissionDenied', 'rds:ModifyDBParameterGroup(shop-params) failed: AccessDenied'));
    const { ok } = await promote(rb, world, 'planned');
    if (!ok) throw new Error('the promotion failed');

    expect(world.mutations()).toContain('promoteReplica');
    expect(ok.rpo?.evidence?.readOnly).toEqual({ held: false, why: expect.stringMatching(/AccessDenied/) });
  });
});

describe('an unplanned promotion with engine access', () => {
  test('records what the replica had replayed as the accepted loss window, with the ReplicaLag figure beside it', async () => {
    const rb = runbook('wf-engine-unplanned');
    const world = new StubWorld(rb);
    const { ok } = await promote(rb, world, 'unplanned');
    if (!ok) throw new Error('the promotion failed');

    expect(dbCalls(world)).toEqual(['replicaLag', 'replayPosition', 'promoteReplica', 'upsertCname']);
    expect(ok.rpo).toMatchObject({ lagSeconds: 0, evidence: { kind: 'engine', replica: { kind: 'lsn', value: STUB_REPLICA_LSN, lastReplayedAt: '2026-01-01T00:00:00.000Z' } } });
    expect(ok.rpo?.note).toMatch(new RegExp(`had replayed .* up to ${STUB_REPLICA_LSN} \\(its last replayed commit at 2026-01-01T00:00:00.000Z\\)`));
  });

  test('a replica whose engine refuses drover still promotes: the RPO is the ReplicaLag figure, labelled weaker, with the refusal', async () => {
    const rb = runbook('wf-engine-unplanned-refused');
    const world = new StubWorld(rb).failWhen('replayPosition', () => typedFailure('PermissionDenied', 'apnakart-pg-singapore refused the credentials of apnakart/db-master (28P01)'));
    const { ok } = await promote(rb, world, 'unplanned');
    if (!ok) throw new Error('the promotion failed');

    expect(world.mutations()).toContain('promoteReplica');
    expect(ok.rpo).toMatchObject({ lagSeconds: 0, evidence: { kind: 'replica-lag', weaker: expect.stringMatching(/refused the credentials of apnakart\/db-master/) } });
  });
});

describe('a failback of a database with engine access', () => {
  function failback(rb: Runbook, world: StubWorld, history?: string): Promise<FailbackResult> {
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'workflow test', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
    return withRun(env(), world, { workflowType: 'failback', workflowId: `failback-${rb.name}`, args: [input] }, async (h) => {
      const out = (await h.result()) as FailbackResult;
      await recordHistory(h, history);
      return out;
    });
  }

  test("reads the old primary's final position and reports how far it got past what the promoted replica had: the writes the failover lost", async () => {
    const rb = runbook('wf-engine-failback');
    const world = new StubWorld(rb, { failedOver: true });
    world.failoverEvidence = { workflowId: `failover-${rb.name}`, mode: 'unplanned', databases: [{ name: 'main', identifier: rb.database?.replica.identifier ?? '', evidence: { kind: 'engine', replica: { kind: 'lsn', value: STUB_REPLICA_LSN, at: '2026-12-05T00:00:00.000Z' } } }] };
    const out = await failback(rb, world, 'failback-divergence.json');

    expect(out.phase).toBe('completed');
    expect(world.callsTo('writerPosition')).toEqual([expect.objectContaining({ region: rb.regions.primary, identifier: rb.database?.primary.identifier, side: 'primary' })]);
    // 0/3000148 - 0/3000060 = 0xE8 bytes of WAL the old primary wrote that the promoted replica never had.
    expect(out.divergence).toEqual([expect.objectContaining({ name: 'main', identifier: rb.database?.primary.identifier, final: expect.objectContaining({ value: STUB_WRITER_LSN }), promotedAt: expect.objectContaining({ value: STUB_REPLICA_LSN }), past: { kind: 'lsn', bytes: 0xe8 } })]);
    expect(out.steps.find((s) => s.id === 'protect-old-primary')?.notes.join('\n')).toMatch(/final position 0\/3000148; .* had 0\/3000060 when failover-wf-engine-failback-\S+ promoted it: at most 232 bytes of WAL past it \(its transactions and the engine's own records\), written to the old primary only/);
    // Once the old primary is fenced, before it is snapshotted and retired (the forensic copy of those writes).
    const names = world.calls.map((c) => c.name);
    const fenced = world.calls.findIndex((c) => c.name === 'fenceInstance' && c.input.identifier === rb.database?.primary.identifier);
    expect(fenced).toBeGreaterThanOrEqual(0);
    expect(fenced).toBeLessThan(names.indexOf('writerPosition'));
    expect(names.indexOf('writerPosition')).toBeLessThan(names.indexOf('snapshotInstance'));
  });

  test('after a planned failover the old primary is compared with where it stopped at the fence: what it took after it', async () => {
    const rb = runbook('wf-engine-failback-planned');
    const world = new StubWorld(rb, { failedOver: true });
    const at = '2026-12-05T00:00:00.000Z';
    world.failoverEvidence = { workflowId: `failover-${rb.name}`, mode: 'planned', databases: [{ name: 'main', identifier: rb.database?.replica.identifier ?? '', evidence: { kind: 'engine', writer: { kind: 'lsn', value: STUB_WRITER_LSN, at }, replica: { kind: 'lsn', value: STUB_WRITER_LSN, at } } }] };
    const out = await failback(rb, world);

    expect(out.divergence).toEqual([expect.objectContaining({ past: { kind: 'lsn', bytes: 0 } })]);
    expect(out.divergence?.[0].note).toMatch(/final position 0\/3000148; it stopped at 0\/3000148 when failover-\S+ fenced it: nothing past it \(0 bytes of WAL\)$/);
  });

  test("another database's evidence (same name, another instance) is not compared with", async () => {
    const rb = runbook('wf-engine-failback-other');
    const world = new StubWorld(rb, { failedOver: true });
    world.failoverEvidence = { workflowId: `failover-${rb.name}`, mode: 'unplanned', databases: [{ name: 'main', identifier: 'some-other-instance', evidence: { kind: 'engine', replica: { kind: 'lsn', value: STUB_REPLICA_LSN, at: '2026-12-05T00:00:00.000Z' } } }] };
    const out = await failback(rb, world);

    expect(out.divergence?.[0]).not.toHaveProperty('past');
    expect(out.divergence?.[0].note).toMatch(/recorded no position of .* to compare with/);
  });

  test('an old primary whose engine cannot be read, or no recorded position, is said so: the failback goes on', async () => {
    const rb = runbook('wf-engine-failback-unread');
    const world = new StubWorld(rb, { failedOver: true }).failWhen('writerPosition', () => typedFailure('PermissionDenied', 'apnakart-pg-mumbai refused the credentials of apnakart/db-master (28P01)'));
    const out = await failback(rb, world);

    expect(out.phase).toBe('completed');
    expect(out.divergence?.[0].note).toMatch(/its engine could not be read \(apnakart-pg-mumbai refused the credentials/);
  });
});
