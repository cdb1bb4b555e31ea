import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatch, type DescribeAlarmsCommandInput, type GetMetricStatisticsCommandInput } from '@aws-sdk/client-cloudwatch';
import { EKS, type UpdateNodegroupConfigCommandInput } from '@aws-sdk/client-eks';
import { RDS } from '@aws-sdk/client-rds';
import { Route53, type Change, type ChangeResourceRecordSetsCommandInput, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { ApplicationFailure } from '@temporalio/common';
import { createAwsClients, type AwsClients } from '../aws/clients';
import { createEksActivities } from '../activities/eks';
import { HEALTH_ISSUE_TAG } from '../infra/faults/fidelity-eks';
import { createHealthActivities } from '../activities/health';
import { createRdsActivities } from '../activities/rds';
import { createRoute53Activities, type TrafficInput } from '../activities/route53';
import { FailureType } from '../contracts/failures';
import { parseRunbook } from '../runbooks/load';
import type { DnsRecord, Probe } from '../runbooks/schema';
import { expectCallFailure, expectFailure, recordCalls, rejection, useMockActivityEnvironment, type RecordedCall } from './harness/activity';
import { useAuthMoto } from './harness/iam-principals';
import { testAwsEndpoint } from './harness/servers';
import { eventually } from './harness/fixtures';
import { route53ChangePending } from '../infra/faults/fidelity';
import { startFaultProxy } from '../infra/faults/proxy';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

// drover's Route 53, RDS, CloudWatch and EKS activities against the suite's shared moto: each test seeds its own
// resources under unique names, runs the real activity (in a MockActivityEnvironment, for its heartbeats), and
// reads the result back from moto with the SDK directly. IAM denials come from a second moto with IAM
// authentication on (test/harness/authmoto.ts). What moto cannot produce (a change that stays PENDING, a
// promotion in progress, InvalidDBInstanceState, a node group UPDATING, throttling) stays in
// test/activities.unit.test.ts over typed fakes.
// Where moto is more lenient than AWS (GetChange answers INSYNC at once, PromoteReadReplica completes at
// once), no assertion relies on it. A new alarm is INSUFFICIENT_DATA and DescribeAlarms answers in pages of 50
// through the suite's fidelity rules (infra/faults/fidelity-cloudwatch.ts), as on CloudWatch. A node group update is InProgress for a
// few hundred ms, as EKS's are for minutes, through the suite's fidelity rules (infra/faults/fidelity-eks.ts).

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

const mock = useMockActivityEnvironment();
const run = mock.run;

let seq = 0;
/** A name part no other test (of this file or another process) uses: lowercase, as RDS stores identifiers. */
const uid = () => `t${process.pid.toString(36)}${Date.now().toString(36)}${(++seq).toString(36)}`;

/** SDK clients for seeding and reading state back, not through drover. */
function sdk(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = CREDS) {
  const common = (region: string) => ({ region, endpoint, credentials });
  return {
    route53: new Route53(common('us-east-1')),
    rds: (region: string) => new RDS(common(region)),
    eks: (region: string) => new EKS(common(region)),
    cloudwatch: (region: string) => new CloudWatch(common(region)),
  };
}

let shared: ReturnType<typeof sdk>;
/** drover's own clients (aws/clients.ts) on the shared moto. */
let clients: AwsClients;

beforeAll(() => {
  shared = sdk(testAwsEndpoint());
  clients = createAwsClients({ endpoint: testAwsEndpoint(), credentials: CREDS, maxAttempts: 2 });
});

// The moto with IAM authentication on, for the denials.
const { auth, principal } = useAuthMoto();

// ---------------------------------------------------------------------------------------------
// Route 53
// ---------------------------------------------------------------------------------------------

const APNAKART = parseRunbook(readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8'));
if (!APNAKART.ok) throw new Error(`apnakart.yaml is invalid: ${JSON.stringify(APNAKART.problems)}`);
const [API_RECORD, WWW_RECORD, STATIC_RECORD] = APNAKART.runbook.dns.records;

function recordSet(r: DnsRecord, region: string, role: { Weight: number } | { Failover: 'PRIMARY' | 'SECONDARY' }): ResourceRecordSet {
  const target = r.targets[region];
  if (!target) throw new Error(`fixture: ${r.name} has no target in ${region}`);
  return { Name: `${r.name}.`, Type: r.type, SetIdentifier: target.setIdentifier, TTL: r.ttl, ResourceRecords: [{ Value: target.value }], ...role };
}

interface Zone {
  name: string;
  id: string;
}

async function createZone(name: string, sets: ResourceRecordSet[]): Promise<Zone> {
  const created = await shared.route53.createHostedZone({ Name: name, CallerReference: `drover-test-${name}` });
  const id = (created.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, '');
  await shared.route53.changeResourceRecordSets({ HostedZoneId: id, ChangeBatch: { Changes: sets.map((s) => ({ Action: 'UPSERT', ResourceRecordSet: s })) } });
  return { name, id };
}

/** Each routing record set of a zone as moto holds it now: its weight, or its failover role. */
async function roles(zone: Zone): Promise<Record<string, number | string | undefined>> {
  const sets = (await shared.route53.listResourceRecordSets({ HostedZoneId: zone.id })).ResourceRecordSets ?? [];
  return Object.fromEntries(sets.filter((s) => s.SetIdentifier).map((s) => [s.SetIdentifier, s.Weight ?? s.Failover]));
}

async function recordSetOf(zone: Zone, setIdentifier: string): Promise<ResourceRecordSet | undefined> {
  const sets = (await shared.route53.listResourceRecordSets({ HostedZoneId: zone.id })).ResourceRecordSets ?? [];
  return sets.find((s) => s.SetIdentifier === setIdentifier);
}

/**
 * Two hosted zones of their own, as they stand before a failover: api and shop all on Mumbai, www already
 * 10% on Singapore (as if a previous attempt's step landed), static PRIMARY in Mumbai. The ApnaKart records,
 * renamed into the first zone, and a shop record in the second (changes are batched per zone).
 */
async function dnsWorld(opts: { omit?: string[] } = {}) {
  const u = uid();
  const comName = `${u}.apnakart-com.test`;
  const inName = `${u}.apnakart-in.test`;
  const rename = (r: DnsRecord): DnsRecord => ({ ...r, name: r.name.replace('apnakart.com', comName) });
  const API = rename(API_RECORD);
  const WWW = rename(WWW_RECORD);
  const STATIC = rename(STATIC_RECORD);
  const SHOP: DnsRecord = {
    name: `shop.${inName}`,
    type: 'CNAME',
    ttl: 60,
    routing: 'weighted',
    zone: inName,
    targets: {
      [MUMBAI]: { setIdentifier: 'shop-mumbai', value: 'shop-mumbai.elb.ap-south-1.amazonaws.com' },
      [SINGAPORE]: { setIdentifier: 'shop-singapore', value: 'shop-singapore.elb.ap-southeast-1.amazonaws.com' },
    },
  };
  const keep = (sets: ResourceRecordSet[]) => sets.filter((s) => !opts.omit?.includes(s.SetIdentifier ?? ''));
  const com = await createZone(
    comName,
    keep([
      recordSet(API, MUMBAI, { Weight: 100 }),
      recordSet(API, SINGAPORE, { Weight: 0 }),
      recordSet(WWW, MUMBAI, { Weight: 90 }),
      recordSet(WWW, SINGAPORE, { Weight: 10 }),
      recordSet(STATIC, MUMBAI, { Failover: 'PRIMARY' }),
      recordSet(STATIC, SINGAPORE, { Failover: 'SECONDARY' }),
    ]),
  );
  const inZone = await createZone(inName, keep([recordSet(SHOP, MUMBAI, { Weight: 100 }), recordSet(SHOP, SINGAPORE, { Weight: 0 })]));
  const shift = (percent: number, records: DnsRecord[] = [API, WWW, STATIC, SHOP], hostedZone = comName): TrafficInput => ({ hostedZone, records, fromRegion: MUMBAI, toRegion: SINGAPORE, percent });
  return { com, in: inZone, API, WWW, STATIC, SHOP, shift };
}

/** Route 53 activities over drover's client, every call recorded. */
function route53Activities() {
  const rec = recordCalls(clients.route53());
  return { ...createRoute53Activities(() => rec.api), rec };
}

const batchesOf = (rec: ReturnType<typeof recordCalls>) => rec.inputs<ChangeResourceRecordSetsCommandInput>('changeResourceRecordSets');
const answerTo = (rec: ReturnType<typeof recordCalls>, zone: Zone): RecordedCall['output'] =>
  rec.calls.find((c) => c.op === 'changeResourceRecordSets' && (c.input as ChangeResourceRecordSetsCommandInput).HostedZoneId === zone.id)?.output;
const changeIdOf = (out: RecordedCall['output']) => (out?.ChangeInfo as { Id?: string } | undefined)?.Id;

const summary = (changes: Change[] | undefined) =>
  (changes ?? []).map((c) => ({ action: c.Action, setId: c.ResourceRecordSet?.SetIdentifier, weight: c.ResourceRecordSet?.Weight, failover: c.ResourceRecordSet?.Failover }));

// ChangeResourceRecordSets applies a change batch as a transaction: "Route 53 validates the changes in the
// request and then either makes all or none of the changes in the change batch request", and GetChange
// answers PENDING, "the initial status of all change batch requests", until INSYNC (Route 53 API Reference,
// ChangeResourceRecordSets and GetChange). moto answers INSYNC at once: no assertion counts GetChange polls.
describe('shiftTraffic', () => {
  test('given a shift to 10%, it sends one ChangeBatch per hosted zone holding only the record sets that differ', async () => {
    const w = await dnsWorld();
    const { shiftTraffic, rec } = route53Activities();

    const result = await run(shiftTraffic, w.shift(10));

    const batches = batchesOf(rec);
    expect(batches.map((b) => b.HostedZoneId).sort()).toEqual([w.com.id, w.in.id].sort());
    // www is already at 90/10 and static only moves at 100%: only api changes in the first zone.
    expect(summary(batches.find((b) => b.HostedZoneId === w.com.id)?.ChangeBatch?.Changes)).toEqual([
      { action: 'UPSERT', setId: 'api-mumbai', weight: 90, failover: undefined },
      { action: 'UPSERT', setId: 'api-singapore', weight: 10, failover: undefined },
    ]);
    expect(summary(batches.find((b) => b.HostedZoneId === w.in.id)?.ChangeBatch?.Changes)).toEqual([
      { action: 'UPSERT', setId: 'shop-mumbai', weight: 90, failover: undefined },
      { action: 'UPSERT', setId: 'shop-singapore', weight: 10, failover: undefined },
    ]);
    const comAnswer = answerTo(rec, w.com);
    const inAnswer = answerTo(rec, w.in);
    expect(result).toEqual([
      { zone: w.com.name, changeId: changeIdOf(comAnswer), changed: 2, requestId: comAnswer?.$metadata?.requestId },
      { zone: w.in.name, changeId: changeIdOf(inAnswer), changed: 2, requestId: inAnswer?.$metadata?.requestId },
    ]);
    // Each change was polled with GetChange until INSYNC.
    expect(new Set(rec.inputs<{ Id: string }>('getChange').map((i) => i.Id))).toEqual(new Set([changeIdOf(comAnswer), changeIdOf(inAnswer)]));
    expect(await roles(w.com)).toEqual({ 'api-mumbai': 90, 'api-singapore': 10, 'web-mumbai': 90, 'web-singapore': 10, 'static-mumbai': 'PRIMARY', 'static-singapore': 'SECONDARY' });
    expect(await roles(w.in)).toEqual({ 'shop-mumbai': 90, 'shop-singapore': 10 });
  });

  test('given an UPSERT, the record set keeps its value, TTL and set identifier and only its weight changes', async () => {
    const w = await dnsWorld();
    const { shiftTraffic, rec } = route53Activities();

    await run(shiftTraffic, w.shift(10, [w.API]));

    const expected: ResourceRecordSet = { ...recordSet(w.API, SINGAPORE, { Weight: 0 }), Weight: 10 };
    expect(batchesOf(rec)).toHaveLength(1);
    expect(batchesOf(rec)[0].ChangeBatch?.Changes?.[1]).toEqual({ Action: 'UPSERT', ResourceRecordSet: expected });
    expect(await recordSetOf(w.com, 'api-singapore')).toEqual(expected);
  });

  test('given the same shift twice, the second call sends nothing (a retried step is a no-op)', async () => {
    const w = await dnsWorld();
    const { shiftTraffic, rec } = route53Activities();

    await run(shiftTraffic, w.shift(50));
    const callsAfterFirst = rec.calls.length;
    const after = { com: await roles(w.com), in: await roles(w.in) };
    const again = await run(shiftTraffic, w.shift(50));

    expect(batchesOf(rec)).toHaveLength(2);
    expect(rec.ops().slice(callsAfterFirst).filter((op) => op === 'changeResourceRecordSets' || op === 'getChange')).toEqual([]);
    expect(again).toEqual([
      { zone: w.com.name, changed: 0 },
      { zone: w.in.name, changed: 0 },
    ]);
    expect(after).toEqual({
      com: { 'api-mumbai': 50, 'api-singapore': 50, 'web-mumbai': 50, 'web-singapore': 50, 'static-mumbai': 'PRIMARY', 'static-singapore': 'SECONDARY' },
      in: { 'shop-mumbai': 50, 'shop-singapore': 50 },
    });
    expect({ com: await roles(w.com), in: await roles(w.in) }).toEqual(after);
  });

  test('given failover routing, PRIMARY and SECONDARY swap in one batch at 100% and not before', async () => {
    const w = await dnsWorld();
    const { shiftTraffic, rec } = route53Activities();

    await run(shiftTraffic, w.shift(50, [w.API, w.STATIC]));
    expect(batchesOf(rec)).toHaveLength(1);
    expect(summary(batchesOf(rec)[0].ChangeBatch?.Changes).filter((c) => c.failover !== undefined)).toEqual([]);
    expect(await roles(w.com)).toMatchObject({ 'static-mumbai': 'PRIMARY', 'static-singapore': 'SECONDARY' });

    await run(shiftTraffic, w.shift(100, [w.API, w.STATIC]));
    expect(batchesOf(rec)).toHaveLength(2);
    expect(summary(batchesOf(rec)[1].ChangeBatch?.Changes)).toEqual([
      { action: 'UPSERT', setId: 'api-mumbai', weight: 0, failover: undefined },
      { action: 'UPSERT', setId: 'api-singapore', weight: 100, failover: undefined },
      { action: 'UPSERT', setId: 'static-mumbai', weight: undefined, failover: 'SECONDARY' },
      { action: 'UPSERT', setId: 'static-singapore', weight: undefined, failover: 'PRIMARY' },
    ]);
    expect(await roles(w.com)).toEqual({ 'api-mumbai': 0, 'api-singapore': 100, 'web-mumbai': 90, 'web-singapore': 10, 'static-mumbai': 'SECONDARY', 'static-singapore': 'PRIMARY' });
  });

  test('given a record set missing from the zone, it fails NotFound without changing anything', async () => {
    const w = await dnsWorld({ omit: ['web-singapore'] });
    const { shiftTraffic, rec } = route53Activities();

    const err = await rejection(run(shiftTraffic, w.shift(10, [w.API, w.WWW])));

    expectFailure(err, FailureType.NotFound, new RegExp(`^record www\\.${w.com.name.replace(/\./g, '\\.')} CNAME set web-singapore not found in zone ${w.com.name.replace(/\./g, '\\.')}$`));
    expect(batchesOf(rec)).toEqual([]);
    expect(await roles(w.com)).toEqual({ 'api-mumbai': 100, 'api-singapore': 0, 'web-mumbai': 90, 'static-mumbai': 'PRIMARY', 'static-singapore': 'SECONDARY' });
  });

  test('given a hosted zone that does not exist, it fails NotFound', async () => {
    const w = await dnsWorld();
    const missing = `missing-${uid()}.apnakart-com.test`;
    const { shiftTraffic, rec } = route53Activities();

    // ListHostedZonesByName lists zones in order from DNSName on, so the first one it answers may be another zone.
    const err = await rejection(run(shiftTraffic, w.shift(10, [w.API], missing)));

    expectFailure(err, FailureType.NotFound, new RegExp(`^hosted zone ${missing.replace(/\./g, '\\.')} not found$`));
    expect(batchesOf(rec)).toEqual([]);
  });
});

// A change stays PENDING for up to about a minute on Route 53 (the route53-change-pending rule: 200 ms in the suite,
// 3 s here, through a proxy of its own in front of the suite's). An attempt that ends during that time (its
// activity timed out, its worker was redeployed) leaves the change in its heartbeat; before, the retry read the new
// value back (ListResourceRecordSets includes PENDING changes), said "already" and skipped the wait for INSYNC.
describe('a Route 53 change still PENDING when its attempt ended', () => {
  const quiet = { logger: new DefaultLogger('ERROR', () => undefined) };

  /** Run `fn` until its wait has seen PENDING, then cancel the attempt; its last heartbeat is what a retry gets. */
  async function interrupted<I>(fn: (input: I) => Promise<unknown>, input: I): Promise<unknown> {
    const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, quiet);
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    const attempt = first.run(fn, input);
    await eventually(async () => beats.some((b) => (b as { progress?: string }).progress === 'PENDING'), 'a PENDING poll', 10_000);
    first.cancel();
    await rejection(attempt);
    return beats.at(-1);
  }

  test('upsertCname: the retry waits for the earlier change to be INSYNC and reports it, not "already"', async () => {
    const slow = await startFaultProxy({ target: testAwsEndpoint(), fidelity: [route53ChangePending({ pendingMs: 3000 })] });
    try {
      const name = `${uid()}.writer.test`;
      const zone = await createZone(name, [{ Name: `db.${name}.`, Type: 'CNAME', TTL: 30, ResourceRecords: [{ Value: 'old-writer.example.test' }] }]);
      const { upsertCname } = createRoute53Activities(() => createAwsClients({ endpoint: slow.endpoint, credentials: CREDS, maxAttempts: 2 }).route53());
      const input = { zone: name, name: `db.${name}`, value: 'new-writer.example.test', ttl: 30 };

      const heartbeatDetails = await interrupted(upsertCname, input);
      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails, heartbeatTimeoutMs: 30_000 }, quiet);
      const out = (await retry.run(upsertCname, input)) as Awaited<ReturnType<typeof upsertCname>>;

      expect(out).toMatchObject({ before: 'old-writer.example.test', after: 'new-writer.example.test', changeId: expect.stringMatching(/\S/) });
      const status = (await new Route53({ region: 'us-east-1', endpoint: slow.endpoint, credentials: CREDS }).getChange({ Id: out.changeId })).ChangeInfo?.Status;
      expect(status).toBe('INSYNC');
      expect(zone.id).toBeTruthy();
    } finally {
      await slow.stop();
    }
  });

  test('upsertCname: a retry with no record of the earlier change (its heartbeat lost) sends the value again and waits for that change', async () => {
    const slow = await startFaultProxy({ target: testAwsEndpoint(), fidelity: [route53ChangePending({ pendingMs: 3000 })] });
    try {
      const name = `${uid()}.writer.test`;
      await createZone(name, [{ Name: `db.${name}.`, Type: 'CNAME', TTL: 30, ResourceRecords: [{ Value: 'old-writer.example.test' }] }]);
      const rec = recordCalls(createAwsClients({ endpoint: slow.endpoint, credentials: CREDS, maxAttempts: 2 }).route53());
      const { upsertCname } = createRoute53Activities(() => rec.api);
      const input = { zone: name, name: `db.${name}`, value: 'new-writer.example.test', ttl: 30 };

      await interrupted(upsertCname, input);
      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000 }, quiet);
      const out = (await retry.run(upsertCname, input)) as Awaited<ReturnType<typeof upsertCname>>;

      expect(rec.inputs('changeResourceRecordSets')).toHaveLength(2);
      expect(out).toMatchObject({ after: 'new-writer.example.test', changeId: expect.stringMatching(/\S/) });
      const r53 = new Route53({ region: 'us-east-1', endpoint: slow.endpoint, credentials: CREDS });
      expect((await r53.getChange({ Id: out.changeId })).ChangeInfo?.Status).toBe('INSYNC');
    } finally {
      await slow.stop();
    }
  });

  test('shiftTraffic: the retry waits for the earlier attempt\'s changes and reports them per zone', async () => {
    const slow = await startFaultProxy({ target: testAwsEndpoint(), fidelity: [route53ChangePending({ pendingMs: 3000 })] });
    try {
      const w = await dnsWorld();
      const { shiftTraffic } = createRoute53Activities(() => createAwsClients({ endpoint: slow.endpoint, credentials: CREDS, maxAttempts: 2 }).route53());

      const heartbeatDetails = await interrupted(shiftTraffic, w.shift(50));
      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails, heartbeatTimeoutMs: 30_000 }, quiet);
      const out = (await retry.run(shiftTraffic, w.shift(50))) as Awaited<ReturnType<typeof shiftTraffic>>;

      const r53 = new Route53({ region: 'us-east-1', endpoint: slow.endpoint, credentials: CREDS });
      const sent = out.filter((z) => z.changed > 0);
      expect(sent.length).toBeGreaterThan(0);
      for (const z of sent) expect((await r53.getChange({ Id: z.changeId })).ChangeInfo?.Status).toBe('INSYNC');
      expect(await roles(w.com)).toMatchObject({ 'api-mumbai': 50, 'api-singapore': 50 });
    } finally {
      await slow.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// RDS
// ---------------------------------------------------------------------------------------------

interface ReplicaPair {
  primary: string;
  primaryArn: string;
  replica: string;
  replicaArn: string;
  replicaEndpoint?: string;
}

/** A primary in Mumbai and its cross-region read replica in Singapore, created from the primary's ARN. */
async function seedReplica(rds: (region: string) => RDS): Promise<ReplicaPair> {
  const u = uid();
  const primary = `pg-${u}-mumbai`;
  const replica = `pg-${u}-singapore`;
  const created = await rds(MUMBAI).createDBInstance({
    DBInstanceIdentifier: primary,
    DBInstanceClass: 'db.t3.micro',
    Engine: 'postgres',
    MasterUsername: 'apnakart',
    MasterUserPassword: 'not-a-secret-1',
    AllocatedStorage: 20,
    BackupRetentionPeriod: 1,
  });
  const primaryArn = created.DBInstance?.DBInstanceArn as string;
  await rds(SINGAPORE).createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: primaryArn });
  const seen = (await rds(SINGAPORE).describeDBInstances({ DBInstanceIdentifier: replica })).DBInstances?.[0];
  return { primary, primaryArn, replica, replicaArn: seen?.DBInstanceArn as string, replicaEndpoint: seen?.Endpoint?.Address };
}

/** An instance's source and tags as moto holds them, read with the SDK directly. */
async function observe(rds: (region: string) => RDS, region: string, identifier: string) {
  const db = (await rds(region).describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
  const tags = (await rds(region).listTagsForResource({ ResourceName: db?.DBInstanceArn })).TagList ?? [];
  return { source: db?.ReadReplicaSourceDBInstanceIdentifier, tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) };
}

/** RDS activities over drover's clients, Singapore's RDS calls recorded, and the regions asked for. */
function rdsActivities(over: AwsClients = clients) {
  const rec = recordCalls(over.rds(SINGAPORE));
  const regions: string[] = [];
  const activities = createRdsActivities(
    (region) => {
      regions.push(region);
      return region === SINGAPORE ? rec.api : over.rds(region);
    },
    (region) => over.cloudwatch(region),
  );
  return { ...activities, rec, regions };
}

// PromoteReadReplica answers DBInstanceNotFound or InvalidDBInstanceState ("The DB instance isn't in a valid
// state"), and the promotion itself takes minutes on RDS (RDS API Reference, PromoteReadReplica). moto promotes
// at once and keeps ReadReplicaSourceDBInstanceIdentifier, so no assertion reads the state after a promotion.
describe('promoteReplica', () => {
  test('given an instance that is already standalone, it does not call PromoteReadReplica', async () => {
    const identifier = `pg-${uid()}-standalone`;
    await shared.rds(SINGAPORE).createDBInstance({
      DBInstanceIdentifier: identifier,
      DBInstanceClass: 'db.t3.micro',
      Engine: 'postgres',
      MasterUsername: 'apnakart',
      MasterUserPassword: 'not-a-secret-1',
      AllocatedStorage: 20,
    });
    const { promoteReplica, rec } = rdsActivities();

    const result = await run(promoteReplica, { region: SINGAPORE, identifier, runRef: 'failover-1' });

    expect(result.alreadyPromoted).toBe(true);
    expect(result.before).toMatchObject({ identifier, region: SINGAPORE, standalone: true, status: 'available', replicationSource: undefined, promotedByDrover: false });
    expect(rec.ops()).toEqual(['describeDBInstances', 'listTagsForResource']);
    expect(await observe(shared.rds, SINGAPORE, identifier)).toEqual({ source: undefined, tags: {} });
  });

  test('given a read replica, it promotes it exactly once and tags it with the run that did', async () => {
    const pair = await seedReplica(shared.rds);
    const { promoteReplica, rec, regions } = rdsActivities();
    const startedAt = Date.now();

    const result = await run(promoteReplica, { region: SINGAPORE, identifier: pair.replica, runRef: 'failover-1' });

    const promotes = rec.calls.filter((c) => c.op === 'promoteReadReplica');
    expect(promotes.map((c) => c.input)).toEqual([{ DBInstanceIdentifier: pair.replica }]);
    expect(result).toEqual({
      alreadyPromoted: false,
      requestId: promotes[0].output?.$metadata?.requestId,
      before: {
        identifier: pair.replica,
        arn: pair.replicaArn,
        region: SINGAPORE,
        status: 'available',
        endpoint: pair.replicaEndpoint,
        replicationSource: pair.primaryArn,
        promotedByDrover: false,
        fencedByDrover: false,
        standalone: false,
        createdAt: expect.any(Number),
      },
    });
    expect(new Set(regions)).toEqual(new Set([SINGAPORE]));
    const { tags } = await observe(shared.rds, SINGAPORE, pair.replica);
    expect(Object.keys(tags).sort()).toEqual(['drover:promoted-at', 'drover:promoted-by']);
    expect(tags['drover:promoted-by']).toBe('failover-1');
    const promotedAt = Date.parse(tags['drover:promoted-at'] ?? '');
    expect(promotedAt).toBeGreaterThanOrEqual(startedAt);
    expect(promotedAt).toBeLessThanOrEqual(Date.now());
  });

  test('given a retry after a promotion, it does not promote twice: RDS cleared the replication source', async () => {
    const pair = await seedReplica(shared.rds);
    const { promoteReplica, rec } = rdsActivities();

    await run(promoteReplica, { region: SINGAPORE, identifier: pair.replica, runRef: 'failover-1' });
    // RDS clears the source once the promotion rebooted the instance (the rds-instance-states rule passes it through modifying and rebooting).
    await run(rdsActivities().waitStandalone, { region: SINGAPORE, identifier: pair.replica, timeoutMs: 30_000 });
    const retry = await run(promoteReplica, { region: SINGAPORE, identifier: pair.replica, runRef: 'failover-1' });

    expect(retry.alreadyPromoted).toBe(true);
    // The source is gone, as RDS answers after a promotion (moto keeps it: the rds-promotion-clears-source rule answers as RDS).
    expect(retry.before).toMatchObject({ replicationSource: undefined, promotedByDrover: true, standalone: true });
    expect(rec.inputs('promoteReadReplica')).toEqual([{ DBInstanceIdentifier: pair.replica }]);
    // Asked (drover:promoted-by, before the call), then accepted (drover:promoted-at): nothing more on the retry.
    expect(rec.inputs<{ Tags: Array<{ Key: string }> }>('addTagsToResource').map((t) => t.Tags.map((k) => k.Key))).toEqual([['drover:promoted-by'], ['drover:promoted-at']]);
  });

  test("given a replica that carries drover's promotion tag but still replicates, it is no writer: it is promoted, not skipped", async () => {
    const pair = await seedReplica(shared.rds);
    // The tag alone, as a promotion asked for while the instance was modifying for another reason would leave it.
    await shared.rds(SINGAPORE).addTagsToResource({ ResourceName: pair.replicaArn, Tags: [{ Key: 'drover:promoted-at', Value: new Date().toISOString() }] });
    const { promoteReplica, describeDb, rec } = rdsActivities();

    expect(await run(describeDb, { region: SINGAPORE, identifier: pair.replica })).toMatchObject({ replicationSource: pair.primaryArn, promotedByDrover: true, standalone: false });
    const result = await run(promoteReplica, { region: SINGAPORE, identifier: pair.replica, runRef: 'failover-3' });
    expect(result.alreadyPromoted).toBe(false);
    expect(rec.inputs('promoteReadReplica')).toEqual([{ DBInstanceIdentifier: pair.replica }]);
  });

  test('given IAM denies PromoteReadReplica, it fails PermissionDenied naming the call and does not mark it promoted', async () => {
    const m = await auth();
    const seeder = await principal(['*']);
    const seederSdk = sdk(m.endpoint, seeder.credentials);
    const pair = await seedReplica(seederSdk.rds);
    // Allowed everything promoteReplica calls but PromoteReadReplica itself, tagging included.
    const operator = await principal(['rds:DescribeDBInstances', 'rds:ListTagsForResource', 'rds:AddTagsToResource']);
    const { promoteReplica } = rdsActivities(createAwsClients({ endpoint: m.endpoint, credentials: operator.credentials, maxAttempts: 1 }));

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: pair.replica, runRef: 'failover-3' }));

    expectCallFailure(err, FailureType.PermissionDenied, 'rds:PromoteReadReplica', 'AccessDenied');
    // Only the record that this run asked (tagged before the call), never drover:promoted-at.
    expect(await observe(seederSdk.rds, SINGAPORE, pair.replica)).toEqual({ source: pair.primaryArn, tags: { 'drover:promoted-by': 'failover-3' } });
  });
});

describe('waitStandalone', () => {
  test('given an instance that never becomes standalone, it fails WaitTimedOut', async () => {
    const pair = await seedReplica(shared.rds);
    const { waitStandalone } = rdsActivities();

    const err = await rejection(run(waitStandalone, { region: SINGAPORE, identifier: pair.replica, timeoutMs: 100 }));

    expectFailure(err, FailureType.WaitTimedOut, /^timed out after 100 ms waiting for /);
    expect((err as ApplicationFailure).message).toBe(`timed out after 100 ms waiting for ${pair.replica} to be standalone and available (last: available, replicating from ${pair.primaryArn})`);
    expect(mock.heartbeats).toEqual([{ waitingFor: `${pair.replica} to be standalone and available`, progress: `available, replicating from ${pair.primaryArn}` }]);
  });
});

describe('AWS error mapping', () => {
  test('given AccessDenied, describeDb fails with a non-retryable PermissionDenied naming the call', async () => {
    const m = await auth();
    const nobody = await principal([]);
    const { describeDb } = rdsActivities(createAwsClients({ endpoint: m.endpoint, credentials: nobody.credentials, maxAttempts: 1 }));
    const identifier = `pg-${uid()}-singapore`;

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier }));

    expectCallFailure(err, FailureType.PermissionDenied, `rds:DescribeDBInstances(${identifier})`, 'AccessDenied');
  });

  // DescribeDBInstances answers DBInstanceNotFound, HTTP 404, when "DBInstanceIdentifier doesn't refer to an
  // existing DB instance" (RDS API Reference, DescribeDBInstances, Errors).
  test('given an instance that does not exist (DBInstanceNotFound), describeDb fails NotFound', async () => {
    const identifier = `pg-${uid()}-typo`;
    const { describeDb } = rdsActivities();

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier }));

    expectCallFailure(err, FailureType.NotFound, `rds:DescribeDBInstances(${identifier})`, 'DBInstanceNotFound');
  });
});

// ---------------------------------------------------------------------------------------------
// CloudWatch: ReplicaLag
// ---------------------------------------------------------------------------------------------

// GetMetricStatistics rounds a StartTime less than 15 days ago down to the whole minute and aggregates the
// datapoints of each period, stamped with the period's start; "Data points are not returned in chronological
// order" (CloudWatch API Reference, GetMetricStatistics). Datapoints put on whole minutes with a 60 s period
// therefore come back with their own timestamps, from CloudWatch as from moto.
describe('replicaLag', () => {
  test('given several datapoints in any order, it returns the newest', async () => {
    const identifier = `pg-${uid()}-singapore`;
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const newest = new Date(minute - 60_000);
    const dimensions = [{ Name: 'DBInstanceIdentifier', Value: identifier }];
    await shared.cloudwatch(SINGAPORE).putMetricData({
      Namespace: 'AWS/RDS',
      MetricData: [
        { MetricName: 'ReplicaLag', Dimensions: dimensions, Unit: 'Seconds', Value: 90, Timestamp: new Date(minute - 180_000) },
        { MetricName: 'ReplicaLag', Dimensions: dimensions, Unit: 'Seconds', Value: 2, Timestamp: newest },
        { MetricName: 'ReplicaLag', Dimensions: dimensions, Unit: 'Seconds', Value: 45, Timestamp: new Date(minute - 120_000) },
      ],
    });
    const cw = recordCalls(clients.cloudwatch(SINGAPORE));
    const regions: string[] = [];
    const { replicaLag } = createRdsActivities(
      (region) => clients.rds(region),
      (region) => {
        regions.push(region);
        return cw.api;
      },
    );

    const lag = await run(replicaLag, { region: SINGAPORE, identifier });

    expect(lag).toEqual({ lagSeconds: 2, observedAt: newest.toISOString() });
    expect(regions).toEqual([SINGAPORE]);
    expect(cw.inputs<GetMetricStatisticsCommandInput>('getMetricStatistics')).toEqual([
      expect.objectContaining({ Namespace: 'AWS/RDS', MetricName: 'ReplicaLag', Dimensions: dimensions, Statistics: ['Maximum'], Period: 60 }),
    ]);
  });

  test('waitLagWithin never takes ReplicaLag -1 (replication not running) for a lag within bounds: it times out saying so', async () => {
    const identifier = `pg-${uid()}-mumbai`;
    await shared.cloudwatch(MUMBAI).putMetricData({
      Namespace: 'AWS/RDS',
      MetricData: [{ MetricName: 'ReplicaLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: identifier }], Unit: 'Seconds', Value: -1, Timestamp: new Date() }],
    });
    const { waitLagWithin } = rdsActivities();
    await expect(run(waitLagWithin, { region: MUMBAI, identifier, maxLagMs: 30_000, timeoutMs: 1_500 })).rejects.toThrow(/replication not running/);
  });

  test('given no datapoints (a replica CloudWatch has not reported yet), it returns null', async () => {
    const { replicaLag } = rdsActivities();

    expect(await run(replicaLag, { region: SINGAPORE, identifier: `pg-${uid()}-singapore` })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// EKS
// ---------------------------------------------------------------------------------------------

/** A cluster of its own in Singapore with node groups at the given scaling. */
/** A cluster of its own with these node groups; `tags` per group (HEALTH_ISSUE_TAG gives one a health issue). */
async function seedCluster(groups: Record<string, { minSize: number; desiredSize: number; maxSize: number }>, tags: Record<string, Record<string, string>> = {}): Promise<string> {
  const eks = shared.eks(SINGAPORE);
  const cluster = `apnakart-${uid()}-singapore`;
  await eks.createCluster({ name: cluster, roleArn: 'arn:aws:iam::123456789012:role/drover-test-cluster', resourcesVpcConfig: { subnetIds: ['subnet-0c8e2f5b7d1a94e01', 'subnet-0c8e2f5b7d1a94e02'] } });
  for (const [name, scalingConfig] of Object.entries(groups)) {
    await eks.createNodegroup({ clusterName: cluster, nodegroupName: name, nodeRole: 'arn:aws:iam::123456789012:role/drover-test-nodes', subnets: ['subnet-0c8e2f5b7d1a94e01'], scalingConfig, tags: tags[name] });
  }
  return cluster;
}

async function scalingOf(cluster: string, names: string[]) {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const ng = (await shared.eks(SINGAPORE).describeNodegroup({ clusterName: cluster, nodegroupName: name })).nodegroup;
    out[name] = { status: ng?.status, ...ng?.scalingConfig };
  }
  return out;
}

function eksActivities() {
  const rec = recordCalls(clients.eks(SINGAPORE));
  return { ...createEksActivities(() => rec.api), rec };
}

// A managed node group keeps minSize <= desiredSize <= maxSize ("the maximum number of nodes that the managed
// node group can scale out to", EKS API Reference, NodegroupScalingConfig) and reports UPDATING while an update
// is applied. moto applies UpdateNodegroupConfig at once and checks none of it: the sizes are read back.
describe('scaleNodeGroups', () => {
  test('given one group at standby size and one already at target, it updates only the first (min = desired = size) and waits until ACTIVE', async () => {
    const cluster = await seedCluster({ general: { minSize: 2, desiredSize: 2, maxSize: 24 }, checkout: { minSize: 6, desiredSize: 6, maxSize: 12 } });
    const { scaleNodeGroups, rec } = eksActivities();

    const result = await run(scaleNodeGroups, {
      region: SINGAPORE,
      cluster,
      groups: [
        { name: 'general', size: 12, max: 24 },
        { name: 'checkout', size: 6, max: 12 },
      ],
    });

    expect(rec.inputs<UpdateNodegroupConfigCommandInput>('updateNodegroupConfig')).toEqual([{ clusterName: cluster, nodegroupName: 'general', scalingConfig: { minSize: 12, desiredSize: 12, maxSize: 24 } }]);
    expect(result.requestIds).toEqual([rec.calls.find((c) => c.op === 'updateNodegroupConfig')?.output?.$metadata?.requestId]);
    expect(result.before).toEqual([
      { name: 'general', status: 'ACTIVE', desiredSize: 2, minSize: 2, maxSize: 24 },
      { name: 'checkout', status: 'ACTIVE', desiredSize: 6, minSize: 6, maxSize: 12 },
    ]);
    expect(result.after).toEqual([
      { name: 'general', status: 'ACTIVE', desiredSize: 12, minSize: 12, maxSize: 24 },
      { name: 'checkout', status: 'ACTIVE', desiredSize: 6, minSize: 6, maxSize: 12 },
    ]);
    // It waited for its update: InProgress when sent, Successful when it returned.
    const updateId = (rec.calls.find((c) => c.op === 'updateNodegroupConfig')?.output?.update as { id: string }).id;
    expect(mock.heartbeats.map((h) => h.progress)).toEqual([`general ACTIVE 2: update ${updateId} InProgress`, 'all ACTIVE']);
    expect(rec.ops().filter((op) => op === 'describeUpdate').length).toBeGreaterThanOrEqual(1);
    expect((await shared.eks(SINGAPORE).describeUpdate({ name: cluster, nodegroupName: 'general', updateId })).update?.status).toBe('Successful');
    expect(mock.heartbeats[mock.heartbeats.length - 1]).toEqual({ waitingFor: `${cluster} node groups to be ACTIVE at size`, progress: 'all ACTIVE' });
    expect(await scalingOf(cluster, ['general', 'checkout'])).toEqual({
      general: { status: 'ACTIVE', minSize: 12, desiredSize: 12, maxSize: 24 },
      checkout: { status: 'ACTIVE', minSize: 6, desiredSize: 6, maxSize: 12 },
    });
  });

  test('given every group already at its size, it sends no update (re-running the step changes nothing)', async () => {
    const cluster = await seedCluster({ general: { minSize: 12, desiredSize: 12, maxSize: 24 } });
    const { scaleNodeGroups, rec } = eksActivities();

    const result = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12, max: 24 }] });

    expect(rec.inputs('updateNodegroupConfig')).toEqual([]);
    expect(result.requestIds).toEqual([]);
    expect(result.after).toEqual([{ name: 'general', status: 'ACTIVE', desiredSize: 12, minSize: 12, maxSize: 24 }]);
    expect(await scalingOf(cluster, ['general'])).toEqual({ general: { status: 'ACTIVE', minSize: 12, desiredSize: 12, maxSize: 24 } });
  });

  test("given groups whose floor differs from their size (as an autoscaler leaves them), a scale-up records each group's scaling on the cluster once (a retry keeps the first), and a restore sets it back exactly and removes the record", async () => {
    const cluster = await seedCluster({ general: { minSize: 1, desiredSize: 2, maxSize: 6 }, checkout: { minSize: 0, desiredSize: 1, maxSize: 3 } });
    const { scaleNodeGroups, rec } = eksActivities();
    const tagsOf = async () => (await shared.eks(SINGAPORE).describeCluster({ name: cluster })).cluster?.tags ?? {};

    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 4, max: 6 }, { name: 'checkout', size: 2, max: 3 }] });
    // With the floor drover set: the record is live while the group's min is still that one.
    expect(await tagsOf()).toMatchObject({ 'drover:capacity-before:general': 'min=1 desired=2 max=6 set=4', 'drover:capacity-before:checkout': 'min=0 desired=1 max=3 set=2' });
    // Run again (a retried attempt): the live record stays the team's, not drover's own sizes.
    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 4, max: 6 }, { name: 'checkout', size: 2, max: 3 }] });
    expect(rec.inputs('tagResource')).toHaveLength(1);
    // Another size (a second run): the team's values stay, with the floor set now.
    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 5, max: 6 }, { name: 'checkout', size: 2, max: 3 }] });
    expect(await tagsOf()).toMatchObject({ 'drover:capacity-before:general': 'min=1 desired=2 max=6 set=5', 'drover:capacity-before:checkout': 'min=0 desired=1 max=3 set=2' });

    const back = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 2, max: 6 }, { name: 'checkout', size: 1, max: 3 }], restore: 'exact' });
    expect(back.restored).toEqual(['general', 'checkout']);
    expect(await scalingOf(cluster, ['general', 'checkout'])).toEqual({
      general: { status: 'ACTIVE', minSize: 1, desiredSize: 2, maxSize: 6 },
      checkout: { status: 'ACTIVE', minSize: 0, desiredSize: 1, maxSize: 3 },
    });
    expect(Object.keys(await tagsOf()).filter((k) => k.startsWith('drover:'))).toEqual([]);
  });

  test('given sendOnly, it returns once its update is sent, without waiting for it (the wait is the caller\'s second call), and a group at its size sends nothing', async () => {
    const cluster = await seedCluster({ general: { minSize: 2, desiredSize: 2, maxSize: 24 }, checkout: { minSize: 6, desiredSize: 6, maxSize: 12 } });
    const { scaleNodeGroups, rec } = eksActivities();

    const sent = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12, max: 24 }, { name: 'checkout', size: 6, max: 12 }], sendOnly: true });
    expect(rec.inputs<UpdateNodegroupConfigCommandInput>('updateNodegroupConfig').map((u) => u.nodegroupName)).toEqual(['general']);
    // It never looked at its update again: the wait is the second call's.
    expect(rec.ops().filter((op) => op === 'describeUpdate')).toEqual([]);
    expect(Object.values(sent.updates ?? {}).flat()).toHaveLength(1);
    // The wait follows those updates and sends nothing.
    const waited = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12, max: 24 }, { name: 'checkout', size: 6, max: 12 }], waitOnly: true, follow: sent.updates });
    expect(rec.inputs('updateNodegroupConfig')).toHaveLength(1);
    expect(waited.after.map((g) => [g.name, g.status, g.desiredSize])).toEqual([['general', 'ACTIVE', 12], ['checkout', 'ACTIVE', 6]]);
    // A group off its target with nothing to follow (an undo landed meanwhile): waitOnly still sends nothing; it waits to its bound.
    const err = await rejection(run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 20, max: 24 }], waitOnly: true, timeoutMs: 1_500 }));
    expectFailure(err, FailureType.WaitTimedOut, /not at its target yet \(this call waits; it sends nothing\)/);
    expect(rec.inputs('updateNodegroupConfig')).toHaveLength(1);
  });

  test('given a region that serves, a restore brings back its floor only: desired never below its current size or the one asked for, max never lowered; a group without a record is left as it is', async () => {
    const cluster = await seedCluster({ general: { minSize: 1, desiredSize: 1, maxSize: 8 }, checkout: { minSize: 2, desiredSize: 2, maxSize: 4 } });
    const { scaleNodeGroups } = eksActivities();
    // Recorded by a scale-up of general only (checkout untouched: at its size).
    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 4, max: 8 }, { name: 'checkout', size: 2, max: 4 }] });

    // The autoscaler grew general under load since (desired 6): a serving restore keeps it.
    await shared.eks(SINGAPORE).updateNodegroupConfig({ clusterName: cluster, nodegroupName: 'general', scalingConfig: { minSize: 4, desiredSize: 6, maxSize: 8 } });
    await shared.eks(SINGAPORE).updateNodegroupConfig({ clusterName: cluster, nodegroupName: 'checkout', scalingConfig: { minSize: 2, desiredSize: 3, maxSize: 4 } });
    await eventually(async () => (await shared.eks(SINGAPORE).describeNodegroup({ clusterName: cluster, nodegroupName: 'checkout' })).nodegroup?.status === 'ACTIVE', 'the updates applied', 10_000);
    const back = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 4, max: 8 }, { name: 'checkout', size: 2, max: 4 }], restore: 'serving' });
    expect(back.restored).toEqual(['general']);
    expect(back.notes).toEqual(["checkout left as it is: no live record of the team's scaling (drover did not change it, or it was restored already)"]);
    expect(await scalingOf(cluster, ['general', 'checkout'])).toEqual({
      general: { status: 'ACTIVE', minSize: 1, desiredSize: 6, maxSize: 8 },
      checkout: { status: 'ACTIVE', minSize: 2, desiredSize: 3, maxSize: 4 },
    });
  });

  test("given a record that is no longer live (the group's floor changed since drover set it: an old run's, or forged), an exact restore sets the runbook's size instead and a scale-up records afresh; a record drover may not write is a note, and the scale goes on", async () => {
    const cluster = await seedCluster({ general: { minSize: 3, desiredSize: 3, maxSize: 8 } });
    const arn = (await shared.eks(SINGAPORE).describeCluster({ name: cluster })).cluster?.arn as string;
    // A record whose floor (set=12) is not the group's (3): a forged min=0 desired=0 would empty the group.
    await shared.eks(SINGAPORE).tagResource({ resourceArn: arn, tags: { 'drover:capacity-before:general': 'min=0 desired=0 max=1 set=12' } });
    const { scaleNodeGroups } = eksActivities();
    const left = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 2, max: 8 }], restore: 'exact' });
    expect(left.restored).toEqual([]);
    expect(left.notes).toEqual(["general at the runbook's size: no live record of the team's scaling"]);
    // Not the record's 0: the runbook's standby size, as before records existed.
    expect(await scalingOf(cluster, ['general'])).toEqual({ general: { status: 'ACTIVE', minSize: 2, desiredSize: 2, maxSize: 8 } });

    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 6, max: 8 }] });
    expect((await shared.eks(SINGAPORE).describeCluster({ name: cluster })).cluster?.tags?.['drover:capacity-before:general']).toBe('min=2 desired=2 max=8 set=6');

    // Without eks:TagResource: the scale-up still happens, and says the capacity was not recorded.
    const denied = seedCluster({ general: { minSize: 1, desiredSize: 1, maxSize: 8 } });
    const other = await denied;
    const rec = recordCalls(clients.eks(SINGAPORE));
    const api = new Proxy(rec.api, {
      get(target, prop, receiver) {
        if (prop !== 'tagResource') return Reflect.get(target, prop, receiver) as unknown;
        return async () => {
          throw Object.assign(new Error('User is not authorized to perform: eks:TagResource'), { name: 'AccessDeniedException' });
        };
      },
    });
    const out = await run(createEksActivities(() => api).scaleNodeGroups, { region: SINGAPORE, cluster: other, groups: [{ name: 'general', size: 4, max: 8 }] });
    expect(out.after.map((g) => g.desiredSize)).toEqual([4]);
    expect(out.notes).toEqual([expect.stringMatching(/^capacity of general not recorded \(a failback will leave it at the runbook's size\): .*eks:TagResource/)]);
  });

  test('given a target above the current max, max is raised so the update is valid', async () => {
    const cluster = await seedCluster({ general: { minSize: 2, desiredSize: 2, maxSize: 4 } });
    const { scaleNodeGroups, rec } = eksActivities();

    await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12 }] });

    expect(rec.inputs<UpdateNodegroupConfigCommandInput>('updateNodegroupConfig').map((u) => u.scalingConfig)).toEqual([{ minSize: 12, desiredSize: 12, maxSize: 12 }]);
    expect(await scalingOf(cluster, ['general'])).toEqual({ general: { status: 'ACTIVE', minSize: 12, desiredSize: 12, maxSize: 12 } });
  });

  // Issue 24 item 7: a region short of capacity. EKS's update succeeds, the Auto Scaling group cannot launch the
  // nodes, and the node group reports AsgInstanceLaunchFailures ("Your Auto Scaling group is experiencing failures
  // while attempting to launch instances", EKS API Reference, Issue); drover took ACTIVE at size as done.
  test('given a node group whose Auto Scaling group cannot launch instances (AsgInstanceLaunchFailures), it fails WaitTimedOut at its bound naming the issue, its message and its Auto Scaling group', async () => {
    const cluster = await seedCluster({ general: { minSize: 2, desiredSize: 2, maxSize: 24 } }, { general: { [HEALTH_ISSUE_TAG]: 'AsgInstanceLaunchFailures' } });
    const asg = (await shared.eks(SINGAPORE).describeNodegroup({ clusterName: cluster, nodegroupName: 'general' })).nodegroup?.resources?.autoScalingGroups?.[0]?.name as string;
    const { scaleNodeGroups } = eksActivities();

    const err = await rejection(run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12, max: 24 }], timeoutMs: 2_000 }));

    expectFailure(err, FailureType.WaitTimedOut, new RegExp(`waiting for ${cluster} node groups to be ACTIVE at size \\(last: general ACTIVE 12: health issues: AsgInstanceLaunchFailures: Could not launch On-Demand Instances\\. InsufficientInstanceCapacity .+ \\(${asg}\\)\\)$`));
    // The update itself landed and succeeded: the nodes are what is missing.
    expect(await scalingOf(cluster, ['general'])).toEqual({ general: { status: 'ACTIVE', minSize: 12, desiredSize: 12, maxSize: 24 } });
  });

  // EKS runs one update of a node group at a time and refuses another meanwhile: ResourceInUseException (HTTP 409).
  test('given another update in progress when it sends its own (ResourceInUseException), it waits for that update, then sends its own and waits for it', async () => {
    const cluster = await seedCluster({ general: { minSize: 2, desiredSize: 2, maxSize: 24 } });
    const rec = recordCalls(clients.eks(SINGAPORE));
    let other: string | undefined;
    // Someone else's update (a label change) lands just before drover's first UpdateNodegroupConfig.
    const api = new Proxy(rec.api, {
      get(target, prop, receiver) {
        if (prop !== 'updateNodegroupConfig') return Reflect.get(target, prop, receiver) as unknown;
        return async (input: UpdateNodegroupConfigCommandInput) => {
          if (!other) other = (await shared.eks(SINGAPORE).updateNodegroupConfig({ clusterName: cluster, nodegroupName: 'general', labels: { addOrUpdateLabels: { team: 'checkout' } } })).update?.id;
          return target.updateNodegroupConfig(input);
        };
      },
    });
    const { scaleNodeGroups } = createEksActivities(() => api);

    const result = await run(scaleNodeGroups, { region: SINGAPORE, cluster, groups: [{ name: 'general', size: 12, max: 24 }] });

    const sends = rec.calls.filter((c) => c.op === 'updateNodegroupConfig');
    expect(sends).toHaveLength(2);
    expect((sends[0].error as Error).name).toBe('ResourceInUseException');
    expect(sends[1].output?.update).toMatchObject({ status: 'InProgress' });
    expect(rec.ops()).toContain('listUpdates');
    // Waited for the other update, or (on a loaded machine, the fidelity rule's update lasting 300 ms) found it over
    // already at the next read and sent its own then: either way its own was refused once and sent once more.
    const waited = mock.heartbeats.map((h) => h.progress).filter((p) => p === `general ACTIVE 2: ResourceInUseException, update ${other} InProgress; this step's is sent after it` || p === 'general ACTIVE 2: ResourceInUseException, sent again at the next poll');
    expect(waited.length).toBeGreaterThan(0);
    // Sent once the other was over, and waited for: both Successful.
    const ownId = (sends[1].output?.update as { id: string }).id;
    for (const updateId of [other as string, ownId]) expect((await shared.eks(SINGAPORE).describeUpdate({ name: cluster, nodegroupName: 'general', updateId })).update?.status).toBe('Successful');
    expect(result.requestIds).toEqual([sends[1].output?.$metadata?.requestId]);
    expect(await scalingOf(cluster, ['general'])).toEqual({ general: { status: 'ACTIVE', minSize: 12, desiredSize: 12, maxSize: 24 } });
  });
});

// ---------------------------------------------------------------------------------------------
// Health: CloudWatch alarms in moto and real HTTP probes against a local server
// ---------------------------------------------------------------------------------------------

/**
 * Alarms of their own in Singapore, each set explicitly to its state: "the alarm state is immediately set to
 * INSUFFICIENT_DATA" when PutMetricAlarm creates it (CloudWatch API Reference, PutMetricAlarm; the suite's moto
 * answers so through the fidelity rules).
 */
async function seedAlarms(states: Record<string, 'OK' | 'ALARM'>): Promise<void> {
  const cw = shared.cloudwatch(SINGAPORE);
  const entries = Object.entries(states);
  // Ten at a time: moto answers each in a few ms, and 150 alarms stay about a second.
  for (let i = 0; i < entries.length; i += 10) {
    await Promise.all(
      entries.slice(i, i + 10).map(async ([name, state]) => {
        await cw.putMetricAlarm({ AlarmName: name, Namespace: 'ApnaKart/Health', MetricName: name, Statistic: 'Average', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
        await cw.setAlarmState({ AlarmName: name, StateValue: state, StateReason: 'drover test' });
      }),
    );
  }
}

function healthActivities() {
  const rec = recordCalls(clients.cloudwatch(SINGAPORE));
  return { ...createHealthActivities(() => rec.api), rec };
}

describe('checkHealth', () => {
  let server: Server;
  let base: string;
  let closedPortUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' || req.url === '/' ? 200 : 503;
      res.end(res.statusCode === 200 ? 'ok' : 'unavailable');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // A port that was just free: nothing answers on it.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    closedPortUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/healthz`;
    await new Promise<void>((resolve, reject) => gone.close((e) => (e ? reject(e) : resolve())));
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });

  const probe = (name: string, url: string, expectStatus = 200): Probe => ({ name, url, expectStatus, timeout: 3000 });

  test('given an alarm in ALARM and a probe answering 503, both are listed as breaches', async () => {
    const u = uid();
    const [errors, latency] = [`apnakart-api-5xx-${u}`, `apnakart-checkout-latency-${u}`];
    await seedAlarms({ [errors]: 'ALARM', [latency]: 'OK' });
    const { checkHealth } = healthActivities();

    const report = await run(checkHealth, {
      region: SINGAPORE,
      alarms: [errors, latency],
      probes: [probe('api-health', `${base}/healthz`), probe('web-home', `${base}/broken`)],
    });

    expect(report.healthy).toBe(false);
    expect(report.breaches).toEqual([`alarm ${errors} is ALARM`, 'probe web-home answered 503']);
    expect(report.alarms).toEqual({ [errors]: 'ALARM', [latency]: 'OK' });
    expect(report.probes.map((p) => [p.name, p.status, p.ok])).toEqual([
      ['api-health', 200, true],
      ['web-home', 503, false],
    ]);
  });

  test('given every alarm OK and every probe answering its expected status, the region is healthy', async () => {
    const errors = `apnakart-api-5xx-${uid()}`;
    await seedAlarms({ [errors]: 'OK' });
    const { checkHealth } = healthActivities();

    const report = await run(checkHealth, {
      region: SINGAPORE,
      alarms: [errors],
      probes: [probe('api-health', `${base}/healthz`), probe('maintenance-page', `${base}/maintenance`, 503)],
    });

    expect(report).toMatchObject({ region: SINGAPORE, healthy: true, breaches: [], alarms: { [errors]: 'OK' } });
  });

  test('given an alarm that does not exist and a probe nobody answers, both are breaches', async () => {
    const typo = `apnakart-api-5xx-singpore-${uid()}`;
    const { checkHealth } = healthActivities();

    const report = await run(checkHealth, { region: SINGAPORE, alarms: [typo], probes: [probe('api-health', closedPortUrl)] });

    expect(report.healthy).toBe(false);
    expect(report.breaches).toEqual([`alarm ${typo} is MISSING`, expect.stringMatching(/^probe api-health .*ECONNREFUSED/)]);
    expect(report.alarms).toEqual({ [typo]: 'MISSING' });
    expect(report.probes[0]).toMatchObject({ name: 'api-health', ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(report.probes[0].status).toBeUndefined();
  });

  // DescribeAlarms takes at most 100 AlarmNames (CloudWatch API Reference, DescribeAlarms: AlarmNames, "Array
  // Members: Maximum number of 100 items"); moto accepts more, so the batches are read from the calls made. It
  // answers 50 alarms a page with a NextToken to the next (moto answers all at once; the fidelity rules page).
  test('given more than 100 alarms, it reads them in batches of 100, each to its last page', async () => {
    const u = uid();
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${u}-${i}`);
    // Alarms in ALARM across both batches: every page's answer counts.
    const inAlarm = [names[7], names[77], names[99], names[142]];
    await seedAlarms(Object.fromEntries(names.map((n) => [n, inAlarm.includes(n) ? 'ALARM' : 'OK'])));
    const { checkHealth, rec } = healthActivities();

    const report = await run(checkHealth, { region: SINGAPORE, alarms: names, probes: [] });

    expect(rec.inputs<DescribeAlarmsCommandInput>('describeAlarms').map((q) => [q.AlarmNames, q.NextToken !== undefined])).toEqual([
      [names.slice(0, 100), false],
      [names.slice(0, 100), true],
      [names.slice(100), false],
    ]);
    expect(report.breaches).toEqual(inAlarm.map((n) => `alarm ${n} is ALARM`));
    expect(Object.values(report.alarms).filter((s) => s === 'OK')).toHaveLength(146);
    expect(report.healthy).toBe(false);
  });

  // Composite alarms cannot be made in moto (it has no PutCompositeAlarm): test/alarm-policy.unit.test.ts reads them
  // from a fake that answers as CloudWatch does.
  test('given an alarm just created, INSUFFICIENT_DATA until its metric has data, it is healthy by default and a breach under insufficientData: breach', async () => {
    const idle = `apnakart-api-5xx-${uid()}`;
    await shared.cloudwatch(SINGAPORE).putMetricAlarm({ AlarmName: idle, Namespace: 'ApnaKart/Health', MetricName: idle, Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    const { checkHealth, checkAlarmTargets } = healthActivities();

    const report = await run(checkHealth, { region: SINGAPORE, alarms: [idle], probes: [] });
    expect(report).toMatchObject({ healthy: true, breaches: [], alarms: { [idle]: 'INSUFFICIENT_DATA' } });
    const strict = await run(checkHealth, { region: SINGAPORE, alarms: [idle], probes: [], insufficientData: 'breach' });
    expect(strict).toMatchObject({ healthy: false, breaches: [`alarm ${idle} is INSUFFICIENT_DATA`] });
    // Its TreatMissingData (notBreaching) is read: no preflight note for it.
    expect(await run(checkAlarmTargets, { region: SINGAPORE, alarms: [idle] })).toEqual({ problems: [], notes: [] });
  });
});
