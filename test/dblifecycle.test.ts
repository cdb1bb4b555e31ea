import { EC2 } from '@aws-sdk/client-ec2';
import { RDS } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDbLifecycleActivities, FENCED_TAG, isRetiredName, RETAINED_AT_TAG, RETAINED_TAG, rdsTagValue, retiredNameTime } from '../activities/dblifecycle';
import type { MotoServer } from '../infra/local/stack';
import { FailureType } from '../contracts/failures';
import { AWS_FIDELITY_RULES, rdsInstanceStates } from '../infra/faults/fidelity';
import { eventually } from './harness/fixtures';
import { startOwnMoto } from './harness/servers';

// Every test seeds its own instance (jest runs them in random order) on one private moto server.

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const PHASE_MS = 1000;

let moto: MotoServer;
let rds: (region: string) => RDS;
let ec2: (region: string) => EC2;
let activities: ReturnType<typeof createDbLifecycleActivities>;
let env: MockActivityEnvironment;
let heartbeats: unknown[];
let fenceGroup: string;
let appGroups: string[];

beforeAll(async () => {
  // RDS's passing states last a second here (not the suite's 250 ms), so a call made during one is surely refused first.
  moto = await startOwnMoto({ fidelity: AWS_FIDELITY_RULES.map((r) => (r.id === 'rds-instance-states' ? rdsInstanceStates({ phaseMs: PHASE_MS }) : r)) });
  const config = (region: string) => ({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  rds = perRegion((region) => new RDS(config(region)));
  ec2 = perRegion((region) => new EC2(config(region)));
  activities = createDbLifecycleActivities(rds, ec2);

  const vpcId = (await ec2(MUMBAI).describeVpcs({ Filters: [{ Name: 'is-default', Values: ['true'] }] })).Vpcs?.[0]?.VpcId;
  const group = async (name: string) => (await ec2(MUMBAI).createSecurityGroup({ GroupName: name, Description: `drover test ${name}`, VpcId: vpcId })).GroupId as string;
  appGroups = [await group('apnakart-db'), await group('apnakart-bastion')];
  fenceGroup = await group('drover-fence');
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(() => {
  // As on the `long` proxy these activities run on: heartbeating, so a refusal while an instance is busy is waited for in the attempt.
  env = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: new DefaultLogger('ERROR', () => undefined) });
  heartbeats = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
});

/** One client per region, built on first use. */
function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const clients = new Map<string, T>();
  return (region) => {
    if (!clients.has(region)) clients.set(region, make(region));
    return clients.get(region) as T;
  };
}

/** Run an activity in the mock activity context, keeping its result type. */
function run<I, R>(fn: (input: I) => Promise<R>, input: I): Promise<R> {
  return env.run<[I], R, typeof fn>(fn, input);
}

async function rejection(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ApplicationFailure);
    return e as ApplicationFailure;
  }
  throw new Error('expected the activity to fail, but it succeeded');
}

/** A PostgreSQL instance in the emulator: in `region`, with the security groups, tags and protection given. */
async function createInstance(identifier: string, opts: { region: string; groups?: string[]; tags?: Record<string, string>; deletionProtection?: boolean; backups?: boolean }): Promise<string> {
  const out = await rds(opts.region).createDBInstance({
    DBInstanceIdentifier: identifier,
    DBInstanceClass: 'db.t3.micro',
    Engine: 'postgres',
    MasterUsername: 'apnakart',
    MasterUserPassword: 'not-a-secret-1',
    AllocatedStorage: 20,
    ...(opts.backups ? { BackupRetentionPeriod: 1 } : {}),
    ...(opts.groups ? { VpcSecurityGroupIds: opts.groups } : {}),
    ...(opts.deletionProtection !== undefined ? { DeletionProtection: opts.deletionProtection } : {}),
    ...(opts.tags ? { Tags: Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
  });
  return out.DBInstance?.DBInstanceArn as string;
}

/** A primary in Mumbai with backups (a replica source) and the application's security groups. */
function createPrimary(identifier: string, groups = appGroups): Promise<string> {
  return createInstance(identifier, { region: MUMBAI, groups, backups: true });
}

/** The emulator's view of an instance, read with the SDK directly (not through drover). */
async function observe(region: string, identifier: string) {
  const db = (await rds(region).describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
  const tags = (await rds(region).listTagsForResource({ ResourceName: db?.DBInstanceArn })).TagList ?? [];
  return {
    groups: (db?.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId),
    tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
    source: db?.ReadReplicaSourceDBInstanceIdentifier,
    replicas: db?.ReadReplicaDBInstanceIdentifiers ?? [],
  };
}

async function exists(region: string, identifier: string): Promise<boolean> {
  try {
    await rds(region).describeDBInstances({ DBInstanceIdentifier: identifier });
    return true;
  } catch (e) {
    if ((e as Error).name === 'DBInstanceNotFoundFault') return false;
    throw e;
  }
}

describe('write fencing', () => {
  test('fencing swaps the instance onto the fence group alone, records its own groups in a tag, and makes it unwritable; fencing again changes nothing', async () => {
    await createPrimary('orders-fence');
    expect(await run(activities.fenceState, { region: MUMBAI, identifier: 'orders-fence' })).toMatchObject({ exists: true, fenced: false, writable: true, standalone: true });

    const first = await run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-fence', fenceGroupName: 'drover-fence' });
    expect(first).toMatchObject({ alreadyFenced: false, fenceGroupId: fenceGroup, previousGroups: appGroups });
    expect(first.requestId).toMatch(/^[A-Za-z0-9-]{20,}$/); // RDS's RequestId of the ModifyDBInstance call (its value is moto's to pick)
    const after = await observe(MUMBAI, 'orders-fence');
    expect(after.groups).toEqual([fenceGroup]);
    expect(after.tags[FENCED_TAG]).toBe(appGroups.join(' '));
    expect(await run(activities.fenceState, { region: MUMBAI, identifier: 'orders-fence' })).toMatchObject({ fenced: true, writable: false, securityGroups: [fenceGroup] });

    const second = await run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-fence', fenceGroupName: 'drover-fence' });
    expect(second).toMatchObject({ alreadyFenced: true, previousGroups: appGroups, fenceGroupId: fenceGroup });
    expect(second.requestId).toBeUndefined();
    expect(await observe(MUMBAI, 'orders-fence')).toEqual(after);
  });

  test('unfencing restores the recorded groups, removes the tag and makes the instance writable again; a second unfence has nothing to do', async () => {
    await createPrimary('orders-unfence');
    await run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-unfence', fenceGroupName: 'drover-fence' });

    const out = await run(activities.unfenceInstance, { region: MUMBAI, identifier: 'orders-unfence' });
    expect(out).toMatchObject({ unfenced: true, restoredGroups: appGroups });
    const after = await observe(MUMBAI, 'orders-unfence');
    expect(after.groups.sort()).toEqual([...appGroups].sort());
    expect(after.tags).not.toHaveProperty(FENCED_TAG);
    expect(await run(activities.fenceState, { region: MUMBAI, identifier: 'orders-unfence' })).toMatchObject({ fenced: false, writable: true });

    expect(await run(activities.unfenceInstance, { region: MUMBAI, identifier: 'orders-unfence' })).toMatchObject({ unfenced: false });
  });

  test('given a worker killed after tagging but before the swap, a retried fence keeps the recorded groups and completes the swap', async () => {
    const arn = await createPrimary('orders-crash', [appGroups[0]]);
    // The earlier attempt recorded both groups; the instance has since lost one. The record wins.
    await rds(MUMBAI).addTagsToResource({ ResourceName: arn, Tags: [{ Key: FENCED_TAG, Value: appGroups.join(' ') }] });

    const out = await run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-crash', fenceGroupName: 'drover-fence' });
    expect(out).toMatchObject({ alreadyFenced: false, previousGroups: appGroups });
    const after = await observe(MUMBAI, 'orders-crash');
    expect(after.groups).toEqual([fenceGroup]);
    expect(after.tags[FENCED_TAG]).toBe(appGroups.join(' '));
  });

  test('a missing fence group fails NotFound naming the group, and leaves the instance untouched', async () => {
    await createPrimary('orders-nofence');
    const before = await observe(MUMBAI, 'orders-nofence');

    const failure = await rejection(run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-nofence', fenceGroupName: 'no-such-fence' }));
    expect(failure.type).toBe(FailureType.NotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/no-such-fence/);
    expect(await observe(MUMBAI, 'orders-nofence')).toEqual(before);
  });

  test('an instance already on the fence group alone but without drover\'s tag is refused, since its own groups are unknown', async () => {
    await createPrimary('orders-handfenced', [fenceGroup]);
    const failure = await rejection(run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-handfenced', fenceGroupName: 'drover-fence' }));
    expect(failure.type).toBe(FailureType.InvalidState);
    expect((await observe(MUMBAI, 'orders-handfenced')).tags).not.toHaveProperty(FENCED_TAG);
  });

  test('the fence state of a missing instance says it does not exist, without failing', async () => {
    expect(await run(activities.fenceState, { region: MUMBAI, identifier: 'orders-never-created' })).toEqual({ exists: false, fenced: false, writable: false, securityGroups: [] });
  });
});

describe('snapshots', () => {
  test('snapshotting twice under the same id creates one available snapshot', async () => {
    await createPrimary('orders-snap');
    const first = await run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-snap', snapshotId: 'orders-snap-final' });
    expect(first).toMatchObject({ snapshotId: 'orders-snap-final', status: 'available', created: true });
    expect(first.arn).toMatch(/:snapshot:orders-snap-final$/);

    const second = await run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-snap', snapshotId: 'orders-snap-final' });
    expect(second).toMatchObject({ snapshotId: 'orders-snap-final', status: 'available', created: false });
    const snaps = (await rds(MUMBAI).describeDBSnapshots({ DBInstanceIdentifier: 'orders-snap', SnapshotType: 'manual' })).DBSnapshots ?? [];
    expect(snaps.map((s) => s.DBSnapshotIdentifier)).toEqual(['orders-snap-final']);
  });

  test('a snapshot id already used by another instance is refused as InvalidState', async () => {
    await createPrimary('orders-snap-a');
    await createPrimary('orders-snap-b');
    await run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-snap-a', snapshotId: 'orders-snap-shared' });
    const failure = await rejection(run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-snap-b', snapshotId: 'orders-snap-shared' }));
    expect(failure.type).toBe(FailureType.InvalidState);
  });
});

// RDS refuses changes while an instance is backing-up or modifying (InvalidDBInstanceState); drover waits for it to be
// available and asks again. Before, each of these failed the run with InvalidState.
describe('an instance passing through a state', () => {
  /** The waits a run's heartbeats show, by what they waited for. */
  const waitedFor = () => [...new Set(heartbeats.map((h) => (h as { waitingFor?: string }).waitingFor).filter(Boolean))];

  test('a fence that lands in the backup window (backing-up after a snapshot) waits for it, then swaps the groups', async () => {
    await createPrimary('orders-busy-fence');
    await rds(MUMBAI).createDBSnapshot({ DBInstanceIdentifier: 'orders-busy-fence', DBSnapshotIdentifier: 'orders-busy-fence-snap' });
    expect((await rds(MUMBAI).describeDBInstances({ DBInstanceIdentifier: 'orders-busy-fence' })).DBInstances?.[0]?.DBInstanceStatus).toBe('backing-up');

    const out = await run(activities.fenceInstance, { region: MUMBAI, identifier: 'orders-busy-fence', fenceGroupName: 'drover-fence' });

    expect(out).toMatchObject({ alreadyFenced: false, previousGroups: appGroups, fenceGroupId: fenceGroup });
    expect((await observe(MUMBAI, 'orders-busy-fence')).groups).toEqual([fenceGroup]);
    expect(waitedFor()).toContain('orders-busy-fence to be available before rds:ModifyDBInstance(VpcSecurityGroupIds)');
  });

  test('a rename right after the final snapshot (retire, policy keep) waits for the backup, then renames', async () => {
    await createPrimary('orders-busy-keep');
    await run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-busy-keep', snapshotId: 'orders-busy-keep-final' });

    const out = await run(activities.retireInstance, { region: MUMBAI, identifier: 'orders-busy-keep', policy: 'keep', retiredIdentifier: 'orders-busy-keep-old', reason: 'failback run fb-busy' });

    expect(out).toEqual({ action: 'renamed', retiredIdentifier: 'orders-busy-keep-old' });
    expect(await exists(MUMBAI, 'orders-busy-keep')).toBe(false);
    expect(waitedFor()).toContain('orders-busy-keep to be available before rds:ModifyDBInstance(NewDBInstanceIdentifier)');
  });

  test('a delete right after the final snapshot (retire, policy delete) waits for the backup, then deletes', async () => {
    await createPrimary('orders-busy-del');
    await run(activities.snapshotInstance, { region: MUMBAI, identifier: 'orders-busy-del', snapshotId: 'orders-busy-del-final' });

    expect(await run(activities.retireInstance, { region: MUMBAI, identifier: 'orders-busy-del', policy: 'delete', retiredIdentifier: 'orders-busy-del-old', reason: 'failback run fb-busy' })).toEqual({ action: 'deleted' });

    expect(await exists(MUMBAI, 'orders-busy-del')).toBe(false);
    expect(waitedFor()).toContain('orders-busy-del to be available before rds:DeleteDBInstance');
  });
});

describe('retiring an old primary', () => {
  test('policy keep renames the instance, tags it retained with the reason, and frees the original id; a rerun is already done', async () => {
    await createPrimary('orders-keep');
    const input = { region: MUMBAI, identifier: 'orders-keep', policy: 'keep' as const, retiredIdentifier: 'orders-keep-retired', reason: 'failback run fb-1' };

    const before = Date.now();
    expect(await run(activities.retireInstance, input)).toEqual({ action: 'renamed', retiredIdentifier: 'orders-keep-retired' });
    expect(await exists(MUMBAI, 'orders-keep')).toBe(false);
    const tags = (await observe(MUMBAI, 'orders-keep-retired')).tags;
    expect(tags[RETAINED_TAG]).toBe('failback run fb-1');
    // When it was retired, for cleanup to age it by: an ISO time taken during the call.
    expect(tags[RETAINED_AT_TAG]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(tags[RETAINED_AT_TAG] as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(tags[RETAINED_AT_TAG] as string)).toBeLessThanOrEqual(Date.now());

    expect(await run(activities.retireInstance, input)).toEqual({ action: 'already-done', retiredIdentifier: 'orders-keep-retired' });
    expect(await exists(MUMBAI, 'orders-keep-retired')).toBe(true);
  });

  test('policy keep refuses to rename onto an identifier that is taken, and renames nothing', async () => {
    await createPrimary('orders-keep-clash');
    await createPrimary('orders-keep-clash-retired');
    const failure = await rejection(
      run(activities.retireInstance, { region: MUMBAI, identifier: 'orders-keep-clash', policy: 'keep', retiredIdentifier: 'orders-keep-clash-retired', reason: 'failback' }),
    );
    expect(failure.type).toBe(FailureType.InvalidState);
    expect(await exists(MUMBAI, 'orders-keep-clash')).toBe(true);
    expect((await observe(MUMBAI, 'orders-keep-clash-retired')).tags).not.toHaveProperty(RETAINED_TAG);
  });

  test('policy delete removes the instance; a rerun is already done', async () => {
    await createPrimary('orders-delete');
    const input = { region: MUMBAI, identifier: 'orders-delete', policy: 'delete' as const, retiredIdentifier: '', reason: 'failback' };
    expect(await run(activities.retireInstance, input)).toEqual({ action: 'deleted' });
    expect(await exists(MUMBAI, 'orders-delete')).toBe(false);
    expect(await run(activities.retireInstance, input)).toEqual({ action: 'already-done' });
  });

  test('policy delete keeps (renames and tags) an instance under deletion protection instead of failing on it', async () => {
    await createInstance('orders-protected', { region: MUMBAI, deletionProtection: true });
    const input = { region: MUMBAI, identifier: 'orders-protected', policy: 'delete' as const, retiredIdentifier: 'orders-protected-old-202612041330-ab12', reason: 'old primary replaced by failback drill-x-failback; split-brain forensics' };
    expect(await run(activities.retireInstance, input)).toEqual({ action: 'renamed', retiredIdentifier: 'orders-protected-old-202612041330-ab12' });
    expect(await exists(MUMBAI, 'orders-protected')).toBe(false);
    expect((await observe(MUMBAI, 'orders-protected-old-202612041330-ab12')).tags[RETAINED_TAG]).toBe('old primary replaced by failback drill-x-failback split-brain forensics kept: deletion protection is on');
    // A retry (the first attempt's answer lost) reports the rename, not a deletion that never happened.
    expect(await run(activities.retireInstance, input)).toEqual({ action: 'renamed', retiredIdentifier: 'orders-protected-old-202612041330-ab12' });
  });
});

describe('creating a replica', () => {
  test('a cross-region replica is created from the primary ARN once, however often the activity runs, and is not writable', async () => {
    const sourceArn = await createPrimary('orders-src');
    const input = { region: SINGAPORE, identifier: 'orders-src-replica', sourceArn, instanceClass: 'db.t3.micro', tags: { 'drover:run': 'fb-2' } };

    const first = await run(activities.createReplica, input);
    expect(first.created).toBe(true);
    expect(first.arn).toMatch(/^arn:aws:rds:ap-southeast-1:.*:db:orders-src-replica$/);
    expect(first.endpoint).toBe('orders-src-replica.aaaaaaaaaa.ap-southeast-1.rds.amazonaws.com');
    expect(heartbeats.length).toBeGreaterThan(0);

    expect(await run(activities.createReplica, input)).toEqual({ ...first, created: false });
    const replica = await observe(SINGAPORE, 'orders-src-replica');
    expect(replica.source).toBe(sourceArn);
    expect(replica.tags['drover:run']).toBe('fb-2');
    // Created exactly once: moto lists every CreateDBInstanceReadReplica call on the source.
    expect((await observe(MUMBAI, 'orders-src')).replicas).toEqual([first.arn]);
    expect(await run(activities.fenceState, { region: SINGAPORE, identifier: 'orders-src-replica' })).toMatchObject({ standalone: false, writable: false });
  });

  test('an existing instance under the replica name that is not a replica of the source is refused as InvalidState', async () => {
    const sourceArn = await createPrimary('orders-src2');
    await createPrimary('orders-squatter');
    const failure = await rejection(run(activities.createReplica, { region: MUMBAI, identifier: 'orders-squatter', sourceArn, instanceClass: 'db.t3.micro' }));
    expect(failure.type).toBe(FailureType.InvalidState);
    expect(failure.message).toMatch(/not a replica/);
  });
});

describe('retained instances (drover cleanup)', () => {
  /** An instance as a failback leaves it (or not): `tags` null for one merely named like it. */
  const seedInstance = (identifier: string, tags: Record<string, string> | null, deletionProtection = false) => createInstance(identifier, { region: SINGAPORE, tags: tags ?? {}, deletionProtection });

  test('the time in a retired name is read as UTC, with or without the run tag; an invalid one gives none', () => {
    expect(retiredNameTime('shop-db-old-202612041330-ab12')).toBe(Date.UTC(2026, 11, 4, 13, 30));
    expect(retiredNameTime('shop-db-old-202612041330')).toBe(Date.UTC(2026, 11, 4, 13, 30));
    expect(retiredNameTime('shop-db-old-202613041330-ab12')).toBeUndefined(); // month 13
    expect(retiredNameTime('shop-db-old-202612041360-ab12')).toBeUndefined(); // minute 60
    expect(retiredNameTime('shop-db-old-2026120413-ab12')).toBeUndefined();
    expect(retiredNameTime('shop-db')).toBeUndefined();
    expect(isRetiredName('shop-db-old-202612041330-ab12', 'shop-db')).toBe(true);
    expect(isRetiredName('shop-db-old-x-old-202612041330-ab12', 'shop-db')).toBe(false);
    expect(isRetiredName('shop-db-old-x-old-202612041330-ab12', 'shop-db-old-x')).toBe(true);
  });

  test('a reason becomes a tag value RDS accepts: letters, digits, spaces and _ . : / = + - @ only, at most 256', () => {
    const value = rdsTagValue('old primary replaced by failback failback-shop; split-brain forensics (#1) ' + 'x'.repeat(300));
    expect(value.startsWith('old primary replaced by failback failback-shop split-brain forensics 1 x')).toBe(true);
    expect(value).toHaveLength(256);
    // The RDS API Reference's own pattern for tag values.
    expect(value).toMatch(/^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u);
  });

  test("lists only the runbook identifiers' instances that drover retired: named <id>-old-<time>[-tag] exactly and tagged; aged by the tag, else the name", async () => {
    await seedInstance('ledger-db-old-202611010000-aa11', { [RETAINED_TAG]: 'old primary replaced by failback failback-shop', [RETAINED_AT_TAG]: '2026-11-02T10:00:00.000Z' });
    await seedInstance('ledger-db-old-202611150930', { [RETAINED_TAG]: 'writer replaced by failback failback-shop' });
    await seedInstance('ledger-db-old-202611200000-cc33', null); // named like one, not retired by drover
    await seedInstance('ledger-db-old-x-old-202611010000-dd44', { [RETAINED_TAG]: 'another identifier that starts the same' });
    await seedInstance('ledgerx-db-old-202611010000-ee55', { [RETAINED_TAG]: 'another runbook' });
    const found = await run(activities.listRetained, { region: SINGAPORE, identifiers: ['ledger-db'] });
    expect(found).toEqual([
      { region: SINGAPORE, identifier: 'ledger-db-old-202611010000-aa11', status: 'available', instanceClass: 'db.t3.micro', retainedAt: Date.UTC(2026, 10, 2, 10), reason: 'old primary replaced by failback failback-shop', deletionProtection: false, readReplicas: [] },
      { region: SINGAPORE, identifier: 'ledger-db-old-202611150930', status: 'available', instanceClass: 'db.t3.micro', retainedAt: Date.UTC(2026, 10, 15, 9, 30), reason: 'writer replaced by failback failback-shop', deletionProtection: false, readReplicas: [] },
    ]);
    expect(await run(activities.listRetained, { region: MUMBAI, identifiers: ['ledger-db'] })).toEqual([]);
  });

  test('deletes a retained instance only once its final snapshot is available (a rerun is already done); refuses one drover did not retire and one under deletion protection', async () => {
    await seedInstance('purge-db-old-202611010000-aa11', { [RETAINED_TAG]: 'failback' });
    await seedInstance('purge-db-old-202611010000-bb22', null);
    await seedInstance('purge-db-old-202611010000-cc33', { [RETAINED_TAG]: 'failback' }, true);
    const ask = (identifier: string, snapshotId = `${identifier}-final-t1`) => run(activities.requestDeleteRetained, { region: SINGAPORE, identifier, snapshotId });
    const refusal = async (identifier: string) => {
      const f = await rejection(ask(identifier));
      return { type: f.type, message: f.message };
    };

    expect(await refusal('purge-db-old-202611010000-aa11')).toEqual({ type: FailureType.InvalidState, message: `DB instance purge-db-old-202611010000-aa11 in ${SINGAPORE} is not deleted: its final snapshot purge-db-old-202611010000-aa11-final-t1 is missing` });
    await run(activities.snapshotInstance, { region: SINGAPORE, identifier: 'purge-db-old-202611010000-aa11', snapshotId: 'purge-db-old-202611010000-aa11-final-t1' });
    expect(await ask('purge-db-old-202611010000-aa11')).toEqual({ action: 'requested' });
    await run(activities.waitDeleted, { region: SINGAPORE, identifier: 'purge-db-old-202611010000-aa11' });
    expect(await exists(SINGAPORE, 'purge-db-old-202611010000-aa11')).toBe(false);
    expect(await ask('purge-db-old-202611010000-aa11')).toEqual({ action: 'already-done' });
    // The snapshot of one instance does not let another go.
    expect(await refusal('purge-db-old-202611010000-cc33'.replace('cc33', 'bb22'))).toEqual({ type: FailureType.InvalidState, message: `DB instance purge-db-old-202611010000-bb22 in ${SINGAPORE} has no ${RETAINED_TAG} tag: drover did not retire it, so it does not delete it` });
    expect((await rejection(ask('purge-db-old-202611010000-cc33', 'purge-db-old-202611010000-aa11-final-t1'))).message).toBe(`DB instance purge-db-old-202611010000-cc33 in ${SINGAPORE} has deletion protection: turn it off to let cleanup delete it`);
    expect([await exists(SINGAPORE, 'purge-db-old-202611010000-bb22'), await exists(SINGAPORE, 'purge-db-old-202611010000-cc33')]).toEqual([true, true]);
  });

  test('a retained instance with a live read replica lists it; once the replica is promoted it is no longer its replica', async () => {
    await seedInstance('src-db-old-202611010000-aa11', { [RETAINED_TAG]: 'failback' });
    await rds(SINGAPORE).createDBInstanceReadReplica({ DBInstanceIdentifier: 'src-reader', SourceDBInstanceIdentifier: 'src-db-old-202611010000-aa11', DBInstanceClass: 'db.t3.micro' });
    const listed = async () => (await run(activities.listRetained, { region: SINGAPORE, identifiers: ['src-db'] })).map((r) => r.readReplicas);
    expect(await listed()).toEqual([['src-reader']]);
    const f = await rejection(run(activities.requestDeleteRetained, { region: SINGAPORE, identifier: 'src-db-old-202611010000-aa11', snapshotId: 'none' }));
    expect(f.message).toBe(`DB instance src-db-old-202611010000-aa11 in ${SINGAPORE} has read replicas (src-reader): deleting it would promote them`);
    // RDS clears the promoted replica's source and its source's list (moto keeps both; the fidelity rule answers as RDS).
    // Once the promotion has rebooted it (the rds-instance-states rule passes it through modifying and rebooting first).
    await rds(SINGAPORE).promoteReadReplica({ DBInstanceIdentifier: 'src-reader' });
    await eventually(async () => (await rds(SINGAPORE).describeDBInstances({ DBInstanceIdentifier: 'src-reader' })).DBInstances?.[0]?.ReadReplicaSourceDBInstanceIdentifier === undefined, 'src-reader standalone', 10_000);
    expect(await listed()).toEqual([[]]);
  });

  test("a snapshot of another instance is not this one's final snapshot", async () => {
    await seedInstance('swap-db-old-202611010000-aa11', { [RETAINED_TAG]: 'failback' });
    await seedInstance('swap-db-old-202611010000-bb22', { [RETAINED_TAG]: 'failback' });
    await run(activities.snapshotInstance, { region: SINGAPORE, identifier: 'swap-db-old-202611010000-bb22', snapshotId: 'swap-final' });
    const f = await rejection(run(activities.requestDeleteRetained, { region: SINGAPORE, identifier: 'swap-db-old-202611010000-aa11', snapshotId: 'swap-final' }));
    expect(f.message).toBe(`DB instance swap-db-old-202611010000-aa11 in ${SINGAPORE} is not deleted: its final snapshot swap-final is available (of swap-db-old-202611010000-bb22)`);
    expect(await exists(SINGAPORE, 'swap-db-old-202611010000-aa11')).toBe(true);
  });
});
