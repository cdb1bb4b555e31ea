/**
 * Runbooks with several databases (`databases:`), end to end on the real Temporal dev server and
 * moto: one promotion child per database in parallel, a writer record per database, an RPO per
 * database; a partial failover (one promotion fails) that says which were promoted; a failback that
 * returns exactly the databases that moved.
 */
import { EC2 } from '@aws-sdk/client-ec2';
import { RDS } from '@aws-sdk/client-rds';
import { exec } from '../cli/main';
import { databasesOf, type NamedDatabase } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import type { FailbackResult } from '../workflows/failback';
import { approveUpdate } from '../contracts/messages';
import type { RunStatus } from '../contracts/run';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { captureIO, dbArn, describeTopology, eventually, failureRecord, refOf, THREE_DATABASES, threeDatabases } from './harness/fixtures';
import { testTemporalAddress } from './harness/servers';

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

beforeAll(() => env.start());
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

async function seededThree(prefix: string, overrides: Record<string, unknown> = {}): Promise<{ rb: Runbook; file: string; taskQueue: string; dbs: NamedDatabase[] }> {
  const { runbook, file, taskQueue } = await env.seeded(prefix, threeDatabases(prefix, overrides));
  const dbs = databasesOf(runbook);
  expect(dbs.map((d) => d.name)).toEqual(THREE_DATABASES);
  return { rb: runbook, file, taskQueue, dbs };
}

async function startApproved(workflowType: 'regionFailover' | 'failback', rb: Runbook, taskQueue: string, gate: string, args: object): Promise<Promise<unknown>> {
  const workflowId = `${workflowType === 'failback' ? 'failback' : 'failover'}-${rb.name}`;
  const handle = await env.client.workflow.start(workflowType, { taskQueue, workflowId, args: [{ runbookRef: refOf(rb), reason: 'multi-database test', requestedBy: 'ic-test', options: { timeScale: 0.005 }, ...args }] });
  await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate, `the ${gate} gate`);
  await handle.executeUpdate(approveUpdate, { args: [{ gate, approver: 'ic-priya' }] });
  return handle.result();
}

function useCli(taskQueue: string): void {
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.DROVER_TASK_QUEUE = taskQueue;
}

async function securityGroupNames(region: string, identifier: string): Promise<string[]> {
  const rds = new RDS({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  const ec2 = new EC2({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  const db = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
  const ids = (db?.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '');
  return ((await ec2.describeSecurityGroups({ GroupIds: ids })).SecurityGroups ?? []).map((g) => g.GroupName ?? '').sort();
}

describe('a runbook with three databases', () => {
  test('given three databases, a planned failover promotes each in its own parallel child, repoints each writer record, records an RPO each, and the failback returns all three', async () => {
    const { rb, taskQueue, dbs } = await seededThree('ak-multi');
    const { failover, back } = await env.withWorker(taskQueue, async () => {
      const failover = (await startApproved('regionFailover', rb, taskQueue, 'failover', { targetRegion: STANDBY, mode: 'planned' })) as RunStatus;
      // One promotion child per database, named after it.
      const children = await Promise.all(dbs.map(async (d) => (await env.client.workflow.getHandle(`failover-${rb.name}-promote-${d.name}`).describe()).status.name));
      expect(children).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
      const mid = await Promise.all(dbs.map((d) => describeTopology(rb, env.moto.endpoint, d.name)));
      for (const t of mid) {
        expect(t.replicaPromotedTag).toBe(true);
        expect(t.writer).toBe(t.replica.endpoint);
      }
      const back = (await startApproved('failback', rb, taskQueue, 'failback', {})) as FailbackResult;
      return { failover, back };
    });

    expect(failover.phase).toBe('completed');
    expect(failover.databases?.map((d) => [d.name, d.identifier, d.promoted, d.rpo?.lagSeconds])).toEqual(dbs.map((d) => [d.name, d.replica.identifier, true, 0]));
    expect(failover.rpo?.note).toMatch(/^worst of 3 databases, (orders|payments|catalog): writes fenced and lag 0 before promotion: RPO 0$/);
    const promoteNotes = failover.steps.find((s) => s.id === 'promote-database')?.notes ?? [];
    for (const d of dbs) expect(promoteNotes.some((n) => n.startsWith(`${d.name}: Promote ${d.replica.identifier}`))).toBe(true);
    expect(failover.steps.find((s) => s.id === 'repoint-writer')?.notes).toHaveLength(3);

    expect(back.phase).toBe('completed');
    expect(back.topology.databases.map((t) => [t.name, t.writer.identifier, t.replica.identifier])).toEqual(dbs.map((d) => [d.name, d.primary.identifier, d.replica.identifier]));
    for (const t of back.topology.databases) expect(t.replica.source).toBe(t.writer.arn);
    expect(back.topology.retired.map((r) => r.identifier).sort()).toEqual(dbs.flatMap((d) => [d.primary.identifier, d.replica.identifier]).sort());
    expect(back.databases?.map((d) => [d.name, d.promoted, d.region])).toEqual([
      ['orders', true, PRIMARY],
      ['payments', true, PRIMARY],
      ['catalog', true, PRIMARY],
    ]);
    // In the emulator: each standby replica again replicates from its database's writer in the original region.
    const after = await Promise.all(dbs.map((d) => describeTopology(rb, env.moto.endpoint, d.name)));
    expect(after.map((t) => t.replica.source)).toEqual(dbs.map((d) => dbArn(PRIMARY, d.primary.identifier)));
  });

  test('given one of three databases whose lag never reaches 0, the failover promotes the other two, fails naming the third (unfenced, not promoted), and drover failback returns only the two that moved', async () => {
    const { rb, file, taskQueue, dbs } = await seededThree('ak-part', { catalog: { lagZeroTimeout: '3s' } });
    const [orders, payments, catalog] = dbs;
    env.lag.set(catalog.replica.identifier, 20); // within maxReplicaLag (preflight passes), never 0
    useCli(taskQueue);
    const io = captureIO();
    const { status, back } = await env.withWorker(taskQueue, async () => {
      const status = await failureRecord<RunStatus>(startApproved('regionFailover', rb, taskQueue, 'failover', { targetRegion: STANDBY, mode: 'planned' }));
      env.lag.set(catalog.replica.identifier, 0);
      // The failover failed, but it moved two writers: drover failback accepts it and brings them home.
      expect(await exec(['failback', file, '--reason', 'bring orders and payments home', '--time-scale', '0.005', '--detach'], io)).toBe(0);
      const handle = env.client.workflow.getHandle(`failback-${rb.name}`);
      await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate, 'the failback gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failback', approver: 'ic-priya' }] });
      const back = (await handle.result()) as FailbackResult;
      return { status, back };
    });

    expect(status.error?.message).toContain('1 of 3 promotions failed: catalog: replica lag of');
    expect(status.error?.message).toContain('promoted: orders, payments');
    expect(status.databases?.map((d) => [d.name, d.promoted])).toEqual([['orders', true], ['payments', true], ['catalog', false]]);
    expect(status.trafficPercent).toBe(0);
    expect(status.compensations).toEqual(expect.arrayContaining([
      `kept: promoted in ${STANDBY}: ${orders.replica.identifier}, ${payments.replica.identifier} (a promotion cannot be undone); continue with drover failover again (it resumes from the promotion) or return with drover failback`,
      `kept: not promoted: ${catalog.replica.identifier}`,
    ]));
    expect(status.steps.find((s) => s.id.startsWith('traffic-'))?.status).toBe('pending');

    // The failback: the two that moved come home; catalog, never moved, is left as it was.
    expect(back.phase).toBe('completed');
    expect(back.steps.find((s) => s.id === 'assess')?.notes).toContain(`catalog: ${catalog.replica.identifier} is still a replica of ${catalog.primary.identifier}; the writer never moved, nothing to fail back`);
    expect(back.databases?.map((d) => d.name)).toEqual(['orders', 'payments']);
    expect(back.topology.retired.map((r) => r.identifier).sort()).toEqual([orders.primary.identifier, orders.replica.identifier, payments.primary.identifier, payments.replica.identifier].sort());
    expect(back.topology.databases.map((t) => [t.name, t.writer.identifier])).toEqual(dbs.map((d) => [d.name, d.primary.identifier]));
    for (const t of back.topology.databases) expect(t.replica.source).toBe(t.writer.arn);
    // catalog's primary was unfenced by its failed promotion and never touched again.
    expect(await securityGroupNames(PRIMARY, catalog.primary.identifier)).toEqual(['apnakart-db']);
    const catalogNow = await describeTopology(rb, env.moto.endpoint, 'catalog');
    expect(catalogNow.replicaPromotedTag).toBe(false);
  });

  test('given a runbook with several databases, drover promote without --database (or with an unknown one) exits 2 naming them', async () => {
    const { file, taskQueue } = await seededThree('ak-cli');
    useCli(taskQueue);
    const io = captureIO();
    expect(await exec(['promote', file, '--to', STANDBY, '--reason', 'one database'], io)).toBe(2);
    expect(io.all()).toContain('--database: required, ');
    expect(io.all()).toContain('has several databases (orders, payments, catalog)');
    const io2 = captureIO();
    expect(await exec(['promote', file, '--to', STANDBY, '--reason', 'one database', '--database', 'ledger'], io2)).toBe(2);
    expect(io2.all()).toContain('--database: ');
    expect(io2.all()).toContain('has no database ledger (it has orders, payments, catalog)');
  });

  test('given a failover that failed before promoting any database, drover failback is refused (exit 3) and changes nothing', async () => {
    const { rb, file, taskQueue, dbs } = await seededThree('ak-nofb');
    env.lag.set(dbs[1].replica.identifier, 45); // above maxReplicaLag: a planned failover stops at preflight
    useCli(taskQueue);
    const io = captureIO();
    await env.withWorker(taskQueue, async () => {
      const status = await failureRecord<RunStatus>(env.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'test', requestedBy: 'ic-test' }] }));
      expect(status.error?.message).toContain(`payments: replica: replica lag 45s exceeds the bound of 30s`);
      expect(await exec(['failback', file, '--reason', 'nothing moved', '--detach'], io)).toBe(3);
    });
    expect(io.all()).toContain(`the latest failover of ${rb.name} did not complete (FAILED) and promoted no database`);
    await expect(env.client.workflow.getHandle(`failback-${rb.name}`).describe()).rejects.toThrow();
  });
});
