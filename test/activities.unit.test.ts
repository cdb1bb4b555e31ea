import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Datapoint, DescribeAlarmsCommandInput, GetMetricStatisticsCommandInput, StateValue } from '@aws-sdk/client-cloudwatch';
import type { DescribeNodegroupCommandInput, NodegroupScalingConfig, NodegroupStatus, UpdateNodegroupConfigCommandInput } from '@aws-sdk/client-eks';
import {
  DBInstanceNotFoundFault,
  InvalidDBInstanceStateFault,
  RDSServiceException,
  type AddTagsToResourceCommandInput,
  type DBInstance,
  type DescribeDBInstancesCommandInput,
  type ListTagsForResourceCommandInput,
  type PromoteReadReplicaCommandInput,
  type Tag,
} from '@aws-sdk/client-rds';
import type {
  Change,
  ChangeBatch,
  ChangeResourceRecordSetsCommandInput,
  GetChangeCommandInput,
  ListHostedZonesByNameCommandInput,
  ListResourceRecordSetsCommandInput,
  ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { ApplicationFailure } from '@temporalio/common';
import type { CloudWatchApi, EksApi, RdsApi, Route53Api } from '../aws/clients';
import { toFailure } from '../aws/errors';
import { createEksActivities } from '../activities/eks';
import { createHealthActivities } from '../activities/health';
import { createRdsActivities } from '../activities/rds';
import { createRoute53Activities } from '../activities/route53';
import { pollUntil } from '../activities/wait';
import { parseRunbook } from '../runbooks/load';
import type { DnsRecord, Probe } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import { expectFailure, rejection, useMockActivityEnvironment } from './harness/activity';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';

const mock = useMockActivityEnvironment();
const run = mock.run;

const unexpected = (call: string) => async (): Promise<never> => {
  throw new Error(`unexpected call ${call}`);
};

function awsError(name: string, message: string, httpStatusCode: number, requestId = 'req-err-1'): RDSServiceException {
  return new RDSServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode, requestId }, message });
}

// ---------------------------------------------------------------------------------------------
// Route 53: an in-memory fake with hosted zones, paged listings, change batches and GetChange
// ---------------------------------------------------------------------------------------------

interface FakeZone {
  id: string;
  name: string;
  sets: ResourceRecordSet[];
}

const setKey = (s: Pick<ResourceRecordSet, 'Name' | 'Type' | 'SetIdentifier'>) => `${s.Name}|${s.Type}|${s.SetIdentifier ?? ''}`;

function fakeRoute53(zones: FakeZone[], opts: { pendingPolls: number }) {
  const batches: { zoneId: string; batch: ChangeBatch }[] = [];
  const getChangeCalls: string[] = [];
  const zoneById = (id: string) => {
    const zone = zones.find((z) => z.id === id);
    if (!zone) throw new Error(`fake: no zone ${id}`);
    return zone;
  };
  const PAGE = 3;

  const api = {
    listHostedZonesByName: async (input: ListHostedZonesByNameCommandInput = {}) => {
      const wanted = `${(input.DNSName ?? '').replace(/\.$/, '')}.`;
      const sorted = [...zones].sort((a, b) => a.name.localeCompare(b.name)).filter((z) => z.name >= wanted);
      const page = sorted.slice(0, input.MaxItems ?? 100);
      return {
        HostedZones: page.map((z) => ({ Id: `/hostedzone/${z.id}`, Name: z.name, CallerReference: z.id })),
        IsTruncated: sorted.length > page.length,
        MaxItems: input.MaxItems ?? 100,
        $metadata: {},
      };
    },
    listResourceRecordSets: async (input: ListResourceRecordSetsCommandInput) => {
      const zone = zoneById(input.HostedZoneId ?? '');
      const start = input.StartRecordName
        ? zone.sets.findIndex((s) => setKey(s) === setKey({ Name: input.StartRecordName, Type: input.StartRecordType, SetIdentifier: input.StartRecordIdentifier }))
        : 0;
      const page = zone.sets.slice(start, start + PAGE);
      const next = zone.sets[start + PAGE];
      return {
        ResourceRecordSets: structuredClone(page),
        IsTruncated: next !== undefined,
        MaxItems: PAGE,
        NextRecordName: next?.Name,
        NextRecordType: next?.Type,
        NextRecordIdentifier: next?.SetIdentifier,
        $metadata: {},
      };
    },
    changeResourceRecordSets: async (input: ChangeResourceRecordSetsCommandInput) => {
      const zone = zoneById(input.HostedZoneId ?? '');
      const batch = structuredClone(input.ChangeBatch as ChangeBatch);
      batches.push({ zoneId: zone.id, batch });
      for (const change of batch.Changes ?? []) {
        const set = change.ResourceRecordSet as ResourceRecordSet;
        const i = zone.sets.findIndex((s) => setKey(s) === setKey(set));
        if (i >= 0) zone.sets[i] = structuredClone(set);
        else zone.sets.push(structuredClone(set));
      }
      return {
        ChangeInfo: { Id: `/change/C${batches.length}`, Status: 'PENDING' as const, SubmittedAt: new Date() },
        $metadata: { requestId: `req-change-${batches.length}` },
      };
    },
    getChange: async (input: GetChangeCommandInput) => {
      const id = input.Id ?? '';
      getChangeCalls.push(id);
      const polls = getChangeCalls.filter((c) => c === id).length;
      return {
        ChangeInfo: { Id: id, Status: polls > opts.pendingPolls ? ('INSYNC' as const) : ('PENDING' as const), SubmittedAt: new Date() },
        $metadata: {},
      };
    },
    createHostedZone: unexpected('route53:CreateHostedZone'),
  } satisfies Route53Api;

  return { api, batches, getChangeCalls, zoneById };
}

const APNAKART = parseRunbook(readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8'));
if (!APNAKART.ok) throw new Error(`apnakart.yaml is invalid: ${JSON.stringify(APNAKART.problems)}`);
const [API, WWW, STATIC] = APNAKART.runbook.dns.records;

/** A record in a second hosted zone, to prove changes are batched per zone. */
const SHOP_IN: DnsRecord = {
  name: 'shop.apnakart.in',
  type: 'CNAME',
  ttl: 60,
  routing: 'weighted',
  zone: 'apnakart.in',
  targets: {
    [MUMBAI]: { setIdentifier: 'shop-mumbai', value: 'shop-mumbai.elb.ap-south-1.amazonaws.com' },
    [SINGAPORE]: { setIdentifier: 'shop-singapore', value: 'shop-singapore.elb.ap-southeast-1.amazonaws.com' },
  },
};

function recordSet(r: DnsRecord, region: string, role: { Weight: number } | { Failover: 'PRIMARY' | 'SECONDARY' }): ResourceRecordSet {
  const target = r.targets[region];
  if (!target) throw new Error(`fixture: ${r.name} has no target in ${region}`);
  return { Name: `${r.name}.`, Type: r.type, SetIdentifier: target.setIdentifier, TTL: r.ttl, ResourceRecords: [{ Value: target.value }], ...role };
}

function apexSets(zone: string): ResourceRecordSet[] {
  return [
    { Name: `${zone}.`, Type: 'NS', TTL: 172800, ResourceRecords: [{ Value: 'ns-1.awsdns-01.org.' }] },
    { Name: `${zone}.`, Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'ns-1.awsdns-01.org. hostmaster.example.com. 1 7200 900 1209600 86400' }] },
  ];
}

/**
 * Both zones as they stand before a failover: api and shop all on Mumbai, www already 10% on
 * Singapore (as if a previous attempt's step landed), static PRIMARY in Mumbai.
 */
function apnakartZones(): FakeZone[] {
  return [
    {
      id: 'Z1COM',
      name: 'apnakart.com.',
      sets: [
        ...apexSets('apnakart.com'),
        recordSet(API, MUMBAI, { Weight: 100 }),
        recordSet(API, SINGAPORE, { Weight: 0 }),
        recordSet(WWW, MUMBAI, { Weight: 90 }),
        recordSet(WWW, SINGAPORE, { Weight: 10 }),
        recordSet(STATIC, MUMBAI, { Failover: 'PRIMARY' }),
        recordSet(STATIC, SINGAPORE, { Failover: 'SECONDARY' }),
      ],
    },
    {
      id: 'Z2IN',
      name: 'apnakart.in.',
      sets: [...apexSets('apnakart.in'), recordSet(SHOP_IN, MUMBAI, { Weight: 100 }), recordSet(SHOP_IN, SINGAPORE, { Weight: 0 })],
    },
  ];
}

const shift = (percent: number, records: DnsRecord[] = [API, WWW, STATIC, SHOP_IN]) => ({
  hostedZone: 'apnakart.com',
  records,
  fromRegion: MUMBAI,
  toRegion: SINGAPORE,
  percent,
});

const summary = (changes: Change[] | undefined) =>
  (changes ?? []).map((c) => ({ action: c.Action, setId: c.ResourceRecordSet?.SetIdentifier, weight: c.ResourceRecordSet?.Weight, failover: c.ResourceRecordSet?.Failover }));

describe('shiftTraffic', () => {
  test('given a shift to 10%, it sends one ChangeBatch per hosted zone holding only the record sets that differ', async () => {
    const r53 = fakeRoute53(apnakartZones(), { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    const result = await run(shiftTraffic, shift(10));

    expect(r53.batches.map((b) => b.zoneId).sort()).toEqual(['Z1COM', 'Z2IN']);
    const com = r53.batches.find((b) => b.zoneId === 'Z1COM');
    // www is already at 90/10 and static only moves at 100%: only api changes in apnakart.com.
    expect(summary(com?.batch.Changes)).toEqual([
      { action: 'UPSERT', setId: 'api-mumbai', weight: 90, failover: undefined },
      { action: 'UPSERT', setId: 'api-singapore', weight: 10, failover: undefined },
    ]);
    const inZone = r53.batches.find((b) => b.zoneId === 'Z2IN');
    expect(summary(inZone?.batch.Changes)).toEqual([
      { action: 'UPSERT', setId: 'shop-mumbai', weight: 90, failover: undefined },
      { action: 'UPSERT', setId: 'shop-singapore', weight: 10, failover: undefined },
    ]);
    expect(result).toEqual(
      expect.arrayContaining([
        { zone: 'apnakart.com', changeId: expect.stringMatching(/^\/change\//), changed: 2, requestId: expect.stringMatching(/^req-change-/) },
        { zone: 'apnakart.in', changeId: expect.stringMatching(/^\/change\//), changed: 2, requestId: expect.stringMatching(/^req-change-/) },
      ]),
    );
  });

  test('given an UPSERT, the record set keeps its value, TTL and set identifier and only its weight changes', async () => {
    const r53 = fakeRoute53(apnakartZones(), { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    await run(shiftTraffic, shift(10, [API]));

    expect(r53.batches).toHaveLength(1);
    expect(r53.batches[0].batch.Changes?.[1]).toEqual({
      Action: 'UPSERT',
      ResourceRecordSet: { ...recordSet(API, SINGAPORE, { Weight: 0 }), Weight: 10 },
    });
  });

  test('given the same shift twice, the second call sends nothing (a retried step is a no-op)', async () => {
    const r53 = fakeRoute53(apnakartZones(), { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    await run(shiftTraffic, shift(50));
    const batchesAfterFirst = r53.batches.length;
    const pollsAfterFirst = r53.getChangeCalls.length;
    const again = await run(shiftTraffic, shift(50));

    expect(batchesAfterFirst).toBe(2);
    expect(r53.batches).toHaveLength(batchesAfterFirst);
    expect(r53.getChangeCalls).toHaveLength(pollsAfterFirst);
    expect(again).toEqual(expect.arrayContaining([{ zone: 'apnakart.com', changed: 0 }, { zone: 'apnakart.in', changed: 0 }]));
  });

  test('given failover routing, PRIMARY and SECONDARY swap in one batch at 100% and not before', async () => {
    const r53 = fakeRoute53(apnakartZones(), { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    await run(shiftTraffic, shift(50, [API, STATIC]));
    expect(r53.batches).toHaveLength(1);
    expect(summary(r53.batches[0].batch.Changes).filter((c) => c.failover !== undefined)).toEqual([]);

    await run(shiftTraffic, shift(100, [API, STATIC]));
    expect(r53.batches).toHaveLength(2);
    expect(summary(r53.batches[1].batch.Changes)).toEqual([
      { action: 'UPSERT', setId: 'api-mumbai', weight: 0, failover: undefined },
      { action: 'UPSERT', setId: 'api-singapore', weight: 100, failover: undefined },
      { action: 'UPSERT', setId: 'static-mumbai', weight: undefined, failover: 'SECONDARY' },
      { action: 'UPSERT', setId: 'static-singapore', weight: undefined, failover: 'PRIMARY' },
    ]);
    const staticSets = r53.zoneById('Z1COM').sets.filter((s) => s.Name === 'static.apnakart.com.');
    expect(staticSets.map((s) => [s.SetIdentifier, s.Failover])).toEqual([
      ['static-mumbai', 'SECONDARY'],
      ['static-singapore', 'PRIMARY'],
    ]);
  });

  test('given a change that stays PENDING twice, it polls GetChange until INSYNC and mock.heartbeats each status', async () => {
    const r53 = fakeRoute53(apnakartZones(), { pendingPolls: 2 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    const [result] = await run(shiftTraffic, shift(10, [API]));

    expect(r53.getChangeCalls).toEqual([result.changeId, result.changeId, result.changeId]);
    expect(mock.heartbeats.map((h) => h.progress)).toEqual(['PENDING', 'PENDING', 'INSYNC']);
    expect(mock.heartbeats[0].waitingFor).toContain(`Route 53 change ${result.changeId}`);
  });

  test('given a record set missing from the zone, it fails NotFound without changing anything', async () => {
    const zones = apnakartZones();
    zones[0].sets = zones[0].sets.filter((s) => s.SetIdentifier !== 'web-singapore');
    const r53 = fakeRoute53(zones, { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    const err = await rejection(run(shiftTraffic, shift(10, [API, WWW])));

    expectFailure(err, FailureType.NotFound, /www\.apnakart\.com CNAME set web-singapore not found in zone apnakart\.com/);
    expect(r53.batches).toEqual([]);
  });

  test('given a hosted zone that does not exist, it fails NotFound', async () => {
    const r53 = fakeRoute53(apnakartZones().slice(1), { pendingPolls: 0 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    const err = await rejection(run(shiftTraffic, shift(10, [API])));

    expectFailure(err, FailureType.NotFound, /hosted zone apnakart\.com not found/);
  });
});

// ---------------------------------------------------------------------------------------------
// RDS and CloudWatch fakes
// ---------------------------------------------------------------------------------------------

interface FakeDb {
  status: string;
  source?: string;
  /** Describes left before a status other than available settles to available and standalone. */
  settlesAfter?: number;
  /** Keep ReadReplicaSourceDBInstanceIdentifier after promotion, as moto does. */
  keepsSource?: boolean;
}

function fakeRds(region: string, dbs: Record<string, FakeDb>, opts: { promoteError?: Error; describeError?: Error } = {}) {
  const arn = (id: string) => `arn:aws:rds:${region}:123456789012:db:${id}`;
  const tags = new Map<string, Tag[]>();
  const promoteCalls: string[] = [];
  const tagCalls: { arn: string; tags: Tag[] }[] = [];
  let describes = 0;

  const instance = (id: string): DBInstance => {
    const db = dbs[id];
    return {
      DBInstanceIdentifier: id,
      DBInstanceArn: arn(id),
      DBInstanceStatus: db.status,
      ReadReplicaSourceDBInstanceIdentifier: db.source,
      Endpoint: { Address: `${id}.abc123.${region}.rds.amazonaws.com`, Port: 5432 },
    };
  };

  const api = {
    describeDBInstances: async (input: DescribeDBInstancesCommandInput = {}) => {
      describes++;
      if (opts.describeError) throw opts.describeError;
      const id = input.DBInstanceIdentifier ?? '';
      const db = dbs[id];
      if (!db) throw new DBInstanceNotFoundFault({ $metadata: { httpStatusCode: 404, requestId: 'req-404' }, message: `DBInstance ${id} not found.` });
      if (db.settlesAfter !== undefined && db.status !== 'available') {
        db.settlesAfter -= 1;
        if (db.settlesAfter <= 0) {
          db.status = 'available';
          if (!db.keepsSource) db.source = undefined;
        }
      }
      return { DBInstances: [instance(id)], $metadata: { requestId: `req-describe-${describes}` } };
    },
    promoteReadReplica: async (input: PromoteReadReplicaCommandInput) => {
      promoteCalls.push(input.DBInstanceIdentifier ?? '');
      if (opts.promoteError) throw opts.promoteError;
      const db = dbs[input.DBInstanceIdentifier ?? ''];
      db.status = 'modifying';
      db.settlesAfter = 2;
      return { DBInstance: instance(input.DBInstanceIdentifier ?? ''), $metadata: { requestId: 'req-promote-1' } };
    },
    listTagsForResource: async (input: ListTagsForResourceCommandInput) => ({ TagList: tags.get(input.ResourceName ?? '') ?? [], $metadata: {} }),
    addTagsToResource: async (input: AddTagsToResourceCommandInput) => {
      const added = input.Tags ?? [];
      tagCalls.push({ arn: input.ResourceName ?? '', tags: added });
      const current = (tags.get(input.ResourceName ?? '') ?? []).filter((t) => !added.some((a) => a.Key === t.Key));
      tags.set(input.ResourceName ?? '', [...current, ...added]);
      return { $metadata: {} };
    },
    createDBInstance: unexpected('rds:CreateDBInstance'),
    createDBInstanceReadReplica: unexpected('rds:CreateDBInstanceReadReplica'),
  } satisfies RdsApi;

  return { api, promoteCalls, tagCalls, tags, arn, describeCount: () => describes };
}

function fakeCloudWatch(opts: { alarms?: Record<string, StateValue>; datapoints?: Datapoint[] } = {}) {
  const metricQueries: GetMetricStatisticsCommandInput[] = [];
  const alarmQueries: string[][] = [];
  const api = {
    describeAlarms: async (input: DescribeAlarmsCommandInput = {}) => {
      const names = input.AlarmNames ?? [];
      alarmQueries.push(names);
      return {
        MetricAlarms: names.filter((n) => opts.alarms?.[n] !== undefined).map((n) => ({ AlarmName: n, StateValue: opts.alarms?.[n] })),
        $metadata: {},
      };
    },
    getMetricStatistics: async (input: GetMetricStatisticsCommandInput) => {
      metricQueries.push(input);
      return { Label: input.MetricName, Datapoints: opts.datapoints ?? [], $metadata: {} };
    },
    putMetricAlarm: unexpected('cloudwatch:PutMetricAlarm'),
    putMetricData: unexpected('cloudwatch:PutMetricData'),
    setAlarmState: unexpected('cloudwatch:SetAlarmState'),
  } satisfies CloudWatchApi;
  return { api, metricQueries, alarmQueries };
}

const REPLICA = 'apnakart-pg-singapore';
const PRIMARY_DB = 'apnakart-pg-mumbai';
const noCloudWatch = () => fakeCloudWatch().api;

describe('promoteReplica', () => {
  test('given an instance that is already standalone, it does not call PromoteReadReplica', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'available' } });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const result = await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-1' });

    expect(result.alreadyPromoted).toBe(true);
    expect(result.before).toMatchObject({ identifier: REPLICA, standalone: true, status: 'available' });
    expect(rds.promoteCalls).toEqual([]);
    expect(rds.tagCalls).toEqual([]);
  });

  test('given a read replica, it promotes it exactly once and tags it with the run that did', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'available', source: PRIMARY_DB } });
    const { promoteReplica } = createRdsActivities((region) => (region === SINGAPORE ? rds.api : fakeRds(region, {}).api), noCloudWatch);

    const result = await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-1' });

    expect(result).toMatchObject({ alreadyPromoted: false, requestId: 'req-promote-1', before: { replicationSource: PRIMARY_DB, standalone: false } });
    expect(rds.promoteCalls).toEqual([REPLICA]);
    expect(rds.tagCalls).toHaveLength(1);
    expect(rds.tagCalls[0].arn).toBe(rds.arn(REPLICA));
    expect(rds.tagCalls[0].tags).toEqual([
      { Key: 'drover:promoted-at', Value: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { Key: 'drover:promoted-by', Value: 'failover-1' },
    ]);
  });

  test('given a retry after a promotion whose replication source lingers (moto), it does not promote twice', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'available', source: PRIMARY_DB, keepsSource: true } });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-1' });
    const retry = await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-1' });

    expect(retry.alreadyPromoted).toBe(true);
    expect(retry.before).toMatchObject({ replicationSource: PRIMARY_DB, promotedByDrover: true, standalone: true });
    expect(rds.promoteCalls).toEqual([REPLICA]);
  });

  test('given a promotion already under way (InvalidDBInstanceState), it tolerates it and still tags the instance', async () => {
    const rds = fakeRds(
      SINGAPORE,
      { [REPLICA]: { status: 'modifying', source: PRIMARY_DB } },
      { promoteError: new InvalidDBInstanceStateFault({ $metadata: { httpStatusCode: 400 }, message: 'Instance is not in available state' }) },
    );
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const result = await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2' });

    expect(result.alreadyPromoted).toBe(false);
    expect(result.requestId).toBeUndefined();
    expect(rds.promoteCalls).toEqual([REPLICA]);
    expect(rds.tagCalls.map((c) => c.tags.map((t) => t.Key))).toEqual([['drover:promoted-at', 'drover:promoted-by']]);
  });

  test('given a stopped replica answering InvalidDBInstanceState, it fails InvalidState and does not mark it promoted', async () => {
    const rds = fakeRds(
      SINGAPORE,
      { [REPLICA]: { status: 'stopped', source: PRIMARY_DB } },
      { promoteError: new InvalidDBInstanceStateFault({ $metadata: { httpStatusCode: 400 }, message: 'Instance is stopped' }) },
    );
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2b' }));

    expectFailure(err, FailureType.InvalidState, /^rds:PromoteReadReplica failed: InvalidDBInstanceState/);
    expect(rds.tagCalls).toEqual([]);
  });

  test('given IAM denies PromoteReadReplica, it fails PermissionDenied naming the call and tags nothing', async () => {
    const rds = fakeRds(
      SINGAPORE,
      { [REPLICA]: { status: 'available', source: PRIMARY_DB } },
      { promoteError: awsError('AccessDenied', 'User is not authorized to perform: rds:PromoteReadReplica', 403, 'req-denied') },
    );
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-3' }));

    expectFailure(err, FailureType.PermissionDenied, /^rds:PromoteReadReplica failed: AccessDenied: .*\(request req-denied\)$/);
    expect(rds.tagCalls).toEqual([]);
  });
});

describe('waitStandalone', () => {
  test('given a promotion in progress, it polls until the instance is available and standalone, heartbeating its status', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'modifying', source: PRIMARY_DB, settlesAfter: 3 } });
    const { waitStandalone } = createRdsActivities(() => rds.api, noCloudWatch);

    const state = await run(waitStandalone, { region: SINGAPORE, identifier: REPLICA, timeoutMs: 60_000 });

    expect(state).toMatchObject({ identifier: REPLICA, status: 'available', standalone: true, replicationSource: undefined });
    expect(rds.describeCount()).toBe(3);
    expect(mock.heartbeats.map((h) => h.progress)).toEqual([`modifying, replicating from ${PRIMARY_DB}`, `modifying, replicating from ${PRIMARY_DB}`, 'available']);
    expect(mock.heartbeats[0].waitingFor).toBe(`${REPLICA} to be standalone and available`);
  });

  test('given an instance that never becomes standalone, it fails WaitTimedOut', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'available', source: PRIMARY_DB } });
    const { waitStandalone } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(waitStandalone, { region: SINGAPORE, identifier: REPLICA, timeoutMs: 100 }));

    expectFailure(err, FailureType.WaitTimedOut, new RegExp(`waiting for ${REPLICA} to be standalone and available \\(last: available, replicating from ${PRIMARY_DB}\\)`));
  });
});

describe('AWS error mapping', () => {
  test('given AccessDenied, describeDb fails with a non-retryable PermissionDenied naming the call', async () => {
    const rds = fakeRds(SINGAPORE, {}, { describeError: awsError('AccessDenied', 'not authorized', 403, 'req-403') });
    const { describeDb } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier: REPLICA }));

    expectFailure(err, FailureType.PermissionDenied, /^rds:DescribeDBInstances\(apnakart-pg-singapore\) failed: AccessDenied: not authorized \(request req-403\)$/);
    expect((err as ApplicationFailure).details).toEqual([{ call: `rds:DescribeDBInstances(${REPLICA})`, code: 'AccessDenied', requestId: 'req-403' }]);
  });

  test('given ThrottlingException, the original error is rethrown for Temporal to retry (not an ApplicationFailure)', async () => {
    const throttled = awsError('ThrottlingException', 'Rate exceeded', 400);
    const rds = fakeRds(SINGAPORE, {}, { describeError: throttled });
    const { describeDb } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier: REPLICA }));

    expect(err).toBe(throttled);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });

  test('given an instance that does not exist (DBInstanceNotFound), describeDb fails NotFound', async () => {
    const rds = fakeRds(SINGAPORE, {});
    const { describeDb } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier: 'apnakart-pg-typo' }));

    expectFailure(err, FailureType.NotFound, /^rds:DescribeDBInstances\(apnakart-pg-typo\) failed: DBInstanceNotFoundFault: DBInstance apnakart-pg-typo not found\./);
  });

  test.each([
    { code: 'AccessDeniedException', status: 403, type: FailureType.PermissionDenied },
    { code: 'ValidationException', status: 400, type: FailureType.Validation },
    { code: 'InvalidChangeBatch', status: 400, type: FailureType.Validation },
    { code: 'NoSuchHostedZone', status: 404, type: FailureType.NotFound },
    { code: 'ResourceNotFoundException', status: 404, type: FailureType.NotFound },
    { code: 'InvalidDBInstanceState', status: 400, type: FailureType.InvalidState },
  ])('given $code, toFailure returns a non-retryable $type failure naming the call', ({ code, status, type }) => {
    expectFailure(toFailure(awsError(code, 'boom', status), 'svc:Call'), type, new RegExp(`^svc:Call failed: ${code}: boom`));
  });

  test('given a query-protocol error carrying its code in Code, toFailure maps that code', () => {
    const err = Object.assign(new Error('not authorized'), { Code: 'AccessDenied' });
    expectFailure(toFailure(err, 'rds:DescribeDBInstances'), FailureType.PermissionDenied, /AccessDenied/);
  });

  test.each(['ThrottlingException', 'Throttling', 'InternalFailure', 'ServiceUnavailable', 'PriorRequestNotComplete', 'ResourceInUseException'])(
    'given transient %s, toFailure leaves the error retryable',
    (code) => {
      const err = awsError(code, 'try again', code.startsWith('Internal') || code === 'ServiceUnavailable' ? 500 : 400);
      expect(toFailure(err, 'svc:Call')).toBe(err);
    },
  );
});

describe('replicaLag', () => {
  test('given several datapoints in any order, it returns the newest', async () => {
    const now = Date.now();
    const newest = new Date(now - 60_000);
    const cw = fakeCloudWatch({
      datapoints: [
        { Timestamp: new Date(now - 180_000), Maximum: 90 },
        { Timestamp: newest, Maximum: 2 },
        { Timestamp: new Date(now - 120_000), Maximum: 45 },
      ],
    });
    const regions: string[] = [];
    const { replicaLag } = createRdsActivities(
      () => fakeRds(SINGAPORE, {}).api,
      (region) => {
        regions.push(region);
        return cw.api;
      },
    );

    const lag = await run(replicaLag, { region: SINGAPORE, identifier: REPLICA });

    expect(lag).toEqual({ lagSeconds: 2, observedAt: newest.toISOString() });
    expect(regions).toEqual([SINGAPORE]);
    expect(cw.metricQueries[0]).toMatchObject({
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: REPLICA }],
      Statistics: ['Maximum'],
    });
  });

  test('given no datapoints (a replica CloudWatch has not reported yet), it returns null', async () => {
    const cw = fakeCloudWatch({ datapoints: [] });
    const { replicaLag } = createRdsActivities(() => fakeRds(SINGAPORE, {}).api, () => cw.api);

    expect(await run(replicaLag, { region: SINGAPORE, identifier: REPLICA })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// EKS
// ---------------------------------------------------------------------------------------------

interface FakeNodeGroup {
  status: NodegroupStatus;
  scaling: NodegroupScalingConfig;
  settlesAfter?: number;
}

function fakeEks(groups: Record<string, FakeNodeGroup>) {
  const updates: UpdateNodegroupConfigCommandInput[] = [];
  const api = {
    describeNodegroup: async (input: DescribeNodegroupCommandInput) => {
      const g = groups[input.nodegroupName ?? ''];
      if (!g) throw new Error(`fake: no node group ${input.nodegroupName}`);
      if (g.status === 'UPDATING' && g.settlesAfter !== undefined) {
        g.settlesAfter -= 1;
        if (g.settlesAfter <= 0) g.status = 'ACTIVE';
      }
      return {
        nodegroup: { clusterName: input.clusterName, nodegroupName: input.nodegroupName, status: g.status, scalingConfig: { ...g.scaling } },
        $metadata: {},
      };
    },
    updateNodegroupConfig: async (input: UpdateNodegroupConfigCommandInput) => {
      updates.push(structuredClone(input));
      const g = groups[input.nodegroupName ?? ''];
      g.scaling = { ...g.scaling, ...input.scalingConfig };
      g.status = 'UPDATING';
      g.settlesAfter = 2;
      return { update: { id: `upd-${updates.length}`, status: 'InProgress' as const, type: 'ConfigUpdate' as const }, $metadata: { requestId: `req-update-${updates.length}` } };
    },
    describeCluster: unexpected('eks:DescribeCluster'),
    createCluster: unexpected('eks:CreateCluster'),
    createNodegroup: unexpected('eks:CreateNodegroup'),
  } satisfies EksApi;
  return { api, updates, groups };
}

describe('scaleNodeGroups', () => {
  test('given one group at standby size and one already at target, it updates only the first (min = desired = size) and waits until ACTIVE', async () => {
    const eks = fakeEks({
      general: { status: 'ACTIVE', scaling: { minSize: 2, desiredSize: 2, maxSize: 24 } },
      checkout: { status: 'ACTIVE', scaling: { minSize: 6, desiredSize: 6, maxSize: 12 } },
    });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    const result = await run(scaleNodeGroups, {
      region: SINGAPORE,
      cluster: 'apnakart-singapore',
      groups: [
        { name: 'general', size: 12, max: 24 },
        { name: 'checkout', size: 6, max: 12 },
      ],
    });

    expect(eks.updates).toEqual([{ clusterName: 'apnakart-singapore', nodegroupName: 'general', scalingConfig: { minSize: 12, desiredSize: 12, maxSize: 24 } }]);
    expect(result.requestIds).toEqual(['req-update-1']);
    expect(result.before.map((g) => [g.name, g.desiredSize])).toEqual([
      ['general', 2],
      ['checkout', 6],
    ]);
    expect(result.after).toEqual([
      { name: 'general', status: 'ACTIVE', desiredSize: 12, minSize: 12, maxSize: 24 },
      { name: 'checkout', status: 'ACTIVE', desiredSize: 6, minSize: 6, maxSize: 12 },
    ]);
    expect(mock.heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(mock.heartbeats[0].progress).toBe('general UPDATING 12');
    expect(mock.heartbeats[mock.heartbeats.length - 1].progress).toBe('all ACTIVE');
  });

  test('given every group already at its size, it sends no update (re-running the step changes nothing)', async () => {
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 12, desiredSize: 12, maxSize: 24 } } });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    const result = await run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12, max: 24 }] });

    expect(eks.updates).toEqual([]);
    expect(result.requestIds).toEqual([]);
    expect(result.after[0]).toMatchObject({ status: 'ACTIVE', desiredSize: 12 });
  });

  test('given a target above the current max, max is raised so the update is valid', async () => {
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 2, desiredSize: 2, maxSize: 4 } } });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    await run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12 }] });

    expect(eks.updates.map((u) => u.scalingConfig)).toEqual([{ minSize: 12, desiredSize: 12, maxSize: 12 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Health: CloudWatch alarms and real HTTP probes against a local server
// ---------------------------------------------------------------------------------------------

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
    const cw = fakeCloudWatch({ alarms: { 'apnakart-api-5xx-singapore': 'ALARM', 'apnakart-checkout-latency-singapore': 'OK' } });
    const { checkHealth } = createHealthActivities(() => cw.api);

    const report = await run(checkHealth, {
      region: SINGAPORE,
      alarms: ['apnakart-api-5xx-singapore', 'apnakart-checkout-latency-singapore'],
      probes: [probe('api-health', `${base}/healthz`), probe('web-home', `${base}/broken`)],
    });

    expect(report.healthy).toBe(false);
    expect(report.breaches).toEqual(['alarm apnakart-api-5xx-singapore is ALARM', 'probe web-home answered 503']);
    expect(report.alarms).toEqual({ 'apnakart-api-5xx-singapore': 'ALARM', 'apnakart-checkout-latency-singapore': 'OK' });
    expect(report.probes.map((p) => [p.name, p.status, p.ok])).toEqual([
      ['api-health', 200, true],
      ['web-home', 503, false],
    ]);
  });

  test('given every alarm OK and every probe answering its expected status, the region is healthy', async () => {
    const cw = fakeCloudWatch({ alarms: { 'apnakart-api-5xx-singapore': 'OK' } });
    const { checkHealth } = createHealthActivities(() => cw.api);

    const report = await run(checkHealth, {
      region: SINGAPORE,
      alarms: ['apnakart-api-5xx-singapore'],
      probes: [probe('api-health', `${base}/healthz`), probe('maintenance-page', `${base}/maintenance`, 503)],
    });

    expect(report).toMatchObject({ region: SINGAPORE, healthy: true, breaches: [] });
  });

  test('given an alarm that does not exist and a probe nobody answers, both are breaches', async () => {
    const cw = fakeCloudWatch({ alarms: {} });
    const { checkHealth } = createHealthActivities(() => cw.api);

    const report = await run(checkHealth, { region: SINGAPORE, alarms: ['apnakart-api-5xx-singpore'], probes: [probe('api-health', closedPortUrl)] });

    expect(report.healthy).toBe(false);
    expect(report.breaches).toEqual(['alarm apnakart-api-5xx-singpore is MISSING', expect.stringMatching(/^probe api-health .*ECONNREFUSED/)]);
    expect(report.probes[0]).toMatchObject({ name: 'api-health', ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(report.probes[0].status).toBeUndefined();
  });

  test('given more than 100 alarms, it reads them in batches of 100', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${i}`);
    const cw = fakeCloudWatch({ alarms: Object.fromEntries(names.map((n) => [n, 'OK' as StateValue])) });
    const { checkHealth } = createHealthActivities(() => cw.api);

    const report = await run(checkHealth, { region: SINGAPORE, alarms: names, probes: [] });

    expect(cw.alarmQueries.map((q) => q.length)).toEqual([100, 50]);
    expect(report.healthy).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// pollUntil
// ---------------------------------------------------------------------------------------------

describe('pollUntil', () => {
  test('given a condition that never holds, it fails with a non-retryable WaitTimedOut naming what it waited for', async () => {
    let checks = 0;
    const err = await rejection(
      run(() =>
        pollUntil({ what: 'the replica to catch up', timeoutMs: 100, initialIntervalMs: 20, maxIntervalMs: 20 }, async () => {
          checks++;
          return { done: false, value: 0, progress: 'lag 90s' };
        }),
      ),
    );

    expectFailure(err, FailureType.WaitTimedOut, /^timed out after 100 ms waiting for the replica to catch up \(last: lag 90s\)$/);
    expect(checks).toBeGreaterThanOrEqual(2);
    expect(mock.heartbeats).toHaveLength(checks);
    expect(mock.heartbeats[0]).toEqual({ waitingFor: 'the replica to catch up', progress: 'lag 90s' });
  });

  test('given a condition that holds at once (an emulator), it returns after one check without sleeping', async () => {
    let checks = 0;
    const value = await run(() =>
      pollUntil({ what: 'nothing', timeoutMs: 60_000, initialIntervalMs: 60_000 }, async () => {
        checks++;
        return { done: true, value: 'ready', progress: 'done' };
      }),
    );

    expect(value).toBe('ready');
    expect(checks).toBe(1);
  });
});
