import type {
  DescribeNodegroupCommandInput,
  DescribeUpdateCommandInput,
  ErrorDetail,
  Issue,
  ListUpdatesCommandInput,
  NodegroupScalingConfig,
  NodegroupStatus,
  TagResourceCommandInput,
  UntagResourceCommandInput,
  UpdateNodegroupConfigCommandInput,
  UpdateStatus,
} from '@aws-sdk/client-eks';
import {
  InvalidDBInstanceStateFault,
  RDSServiceException,
  type AddTagsToResourceCommandInput,
  type DBInstance,
  type DescribeDBInstancesCommandInput,
  type ListTagsForResourceCommandInput,
  type PromoteReadReplicaCommandInput,
  type Tag,
} from '@aws-sdk/client-rds';
import type { ChangeResourceRecordSetsCommandInput, GetChangeCommandInput, ListHostedZonesByNameCommandInput, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { CloudWatchApi, EksApi, RdsApi, Route53Api } from '../aws/clients';
import { toFailure, UNKNOWN_4XX_ATTEMPTS } from '../aws/errors';
import { createEksActivities } from '../activities/eks';
import { createHealthActivities } from '../activities/health';
import { createRdsActivities } from '../activities/rds';
import { INSTANCE_BUSY, SHORT_BUSY_ATTEMPTS } from '../activities/settle';
import { createRoute53Activities } from '../activities/route53';
import { pollUntil } from '../activities/wait';
import type { DnsRecord } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import { expectFailure, rejection, useMockActivityEnvironment } from './harness/activity';

// Only what moto cannot produce runs here, over typed fakes: a Route 53 change that stays PENDING, an RDS
// promotion in progress or answering InvalidDBInstanceState, an EKS node group UPDATING, throttling; and
// drover's error mapping and waits as pure functions. Every state moto can produce (record sets and change
// batches, read replicas and their promotion, DBInstanceNotFound, IAM denials, ReplicaLag datapoints,
// alarms, node groups and their updates) is tested against it in test/activities.integration.test.ts.

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';

const mock = useMockActivityEnvironment();
const run = mock.run;

const unexpected = (call: string) => async (): Promise<never> => {
  throw new Error(`unexpected call ${call}`);
};

/** An AWS error as the SDK builds it from the wire: its class name, and the query protocol's code in Code. */
function awsError(name: string, message: string, httpStatusCode: number, requestId = 'req-err-1', code = name): RDSServiceException {
  return Object.assign(new RDSServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode, requestId }, message }), { Code: code });
}

// ---------------------------------------------------------------------------------------------
// Route 53: a change that stays PENDING
// ---------------------------------------------------------------------------------------------

const API: DnsRecord = {
  name: 'api.apnakart.com',
  type: 'CNAME',
  ttl: 60,
  routing: 'weighted',
  targets: {
    [MUMBAI]: { setIdentifier: 'api-mumbai', value: 'api-mumbai.elb.ap-south-1.amazonaws.com' },
    [SINGAPORE]: { setIdentifier: 'api-singapore', value: 'api-singapore.elb.ap-southeast-1.amazonaws.com' },
  },
};

/**
 * One hosted zone holding api at 100/0, whose changes stay PENDING for `pendingPolls` GetChange calls.
 * Kept as a fake: moto's GetChange (and ChangeResourceRecordSets) answer INSYNC at once, never PENDING.
 */
function fakeRoute53(opts: { pendingPolls: number }) {
  const sets: ResourceRecordSet[] = [MUMBAI, SINGAPORE].map((region) => ({
    Name: `${API.name}.`,
    Type: 'CNAME',
    SetIdentifier: API.targets[region].setIdentifier,
    TTL: 60,
    ResourceRecords: [{ Value: API.targets[region].value }],
    Weight: region === MUMBAI ? 100 : 0,
  }));
  const getChangeCalls: string[] = [];
  let changes = 0;
  const api = {
    listHostedZonesByName: async (input: ListHostedZonesByNameCommandInput = {}) => ({
      HostedZones: input.DNSName === 'apnakart.com' ? [{ Id: '/hostedzone/Z1COM', Name: 'apnakart.com.', CallerReference: 'Z1COM' }] : [],
      IsTruncated: false,
      MaxItems: input.MaxItems ?? 100,
      $metadata: {},
    }),
    listResourceRecordSets: async () => ({ ResourceRecordSets: structuredClone(sets), IsTruncated: false, MaxItems: 300, $metadata: {} }),
    changeResourceRecordSets: async (input: ChangeResourceRecordSetsCommandInput) => {
      for (const change of input.ChangeBatch?.Changes ?? []) {
        const set = change.ResourceRecordSet as ResourceRecordSet;
        const i = sets.findIndex((s) => s.SetIdentifier === set.SetIdentifier);
        sets[i] = structuredClone(set);
      }
      changes++;
      return { ChangeInfo: { Id: `/change/C${changes}`, Status: 'PENDING' as const, SubmittedAt: new Date() }, $metadata: { requestId: `req-change-${changes}` } };
    },
    getChange: async (input: GetChangeCommandInput) => {
      const id = input.Id ?? '';
      getChangeCalls.push(id);
      const polls = getChangeCalls.filter((c) => c === id).length;
      return { ChangeInfo: { Id: id, Status: polls > opts.pendingPolls ? ('INSYNC' as const) : ('PENDING' as const), SubmittedAt: new Date() }, $metadata: {} };
    },
    createHostedZone: unexpected('route53:CreateHostedZone'),
  } satisfies Route53Api;
  return { api, getChangeCalls };
}

describe('shiftTraffic', () => {
  test('given a change that stays PENDING twice, it polls GetChange until INSYNC and heartbeats each status', async () => {
    const r53 = fakeRoute53({ pendingPolls: 2 });
    const { shiftTraffic } = createRoute53Activities(() => r53.api);

    const result = await run(shiftTraffic, { hostedZone: 'apnakart.com', records: [API], fromRegion: MUMBAI, toRegion: SINGAPORE, percent: 10 });

    expect(result).toEqual([{ zone: 'apnakart.com', changeId: '/change/C1', changed: 2, requestId: 'req-change-1' }]);
    expect(r53.getChangeCalls).toEqual(['/change/C1', '/change/C1', '/change/C1']);
    expect(mock.heartbeats).toEqual(
      ['PENDING', 'PENDING', 'INSYNC'].map((progress) => ({ waitingFor: 'Route 53 change /change/C1 (apnakart.com 10%) to be INSYNC', progress })),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// RDS: a promotion in progress, InvalidDBInstanceState, throttling
// ---------------------------------------------------------------------------------------------

interface FakeDb {
  status: string;
  source?: string;
  /** Describes left before a status other than available settles to available and standalone. */
  settlesAfter?: number;
}

/**
 * Kept as a fake for what moto cannot produce: its PromoteReadReplica completes at once (the instance never
 * reports `modifying`), never answers InvalidDBInstanceState (it checks no state, and accepts a second call),
 * and moto never throttles.
 */
function fakeRds(region: string, dbs: Record<string, FakeDb>, opts: { promoteError?: Error; describeError?: Error } = {}) {
  const arn = (id: string) => `arn:aws:rds:${region}:123456789012:db:${id}`;
  const tags = new Map<string, Tag[]>();
  const promoteCalls: string[] = [];
  const tagCalls: { arn: string; tags: Tag[] }[] = [];
  let describes = 0;

  const instance = (id: string): DBInstance => ({
    DBInstanceIdentifier: id,
    DBInstanceArn: arn(id),
    DBInstanceStatus: dbs[id].status,
    ReadReplicaSourceDBInstanceIdentifier: dbs[id].source,
    Endpoint: { Address: `${id}.abc123.${region}.rds.amazonaws.com`, Port: 5432 },
  });

  const api = {
    describeDBInstances: async (input: DescribeDBInstancesCommandInput = {}) => {
      describes++;
      if (opts.describeError) throw opts.describeError;
      const id = input.DBInstanceIdentifier ?? '';
      const db = dbs[id];
      if (db.settlesAfter !== undefined && db.status !== 'available') {
        db.settlesAfter -= 1;
        if (db.settlesAfter <= 0) {
          db.status = 'available';
          db.source = undefined;
        }
      }
      return { DBInstances: [instance(id)], $metadata: { requestId: `req-describe-${describes}` } };
    },
    promoteReadReplica: async (input: PromoteReadReplicaCommandInput) => {
      promoteCalls.push(input.DBInstanceIdentifier ?? '');
      if (opts.promoteError) throw opts.promoteError;
      return { DBInstance: instance(input.DBInstanceIdentifier ?? ''), $metadata: { requestId: 'req-promote-1' } };
    },
    listTagsForResource: async (input: ListTagsForResourceCommandInput) => ({ TagList: tags.get(input.ResourceName ?? '') ?? [], $metadata: {} }),
    addTagsToResource: async (input: AddTagsToResourceCommandInput) => {
      const added = input.Tags ?? [];
      tagCalls.push({ arn: input.ResourceName ?? '', tags: added });
      tags.set(input.ResourceName ?? '', [...(tags.get(input.ResourceName ?? '') ?? []).filter((t) => !added.some((a) => a.Key === t.Key)), ...added]);
      return { $metadata: {} };
    },
    createDBInstance: unexpected('rds:CreateDBInstance'),
    createDBInstanceReadReplica: unexpected('rds:CreateDBInstanceReadReplica'),
  } satisfies RdsApi;

  return { api, promoteCalls, tagCalls, describeCount: () => describes };
}

const noCloudWatch = (): CloudWatchApi => ({
  describeAlarms: unexpected('cloudwatch:DescribeAlarms'),
  getMetricStatistics: unexpected('cloudwatch:GetMetricStatistics'),
  putMetricAlarm: unexpected('cloudwatch:PutMetricAlarm'),
  putMetricData: unexpected('cloudwatch:PutMetricData'),
  setAlarmState: unexpected('cloudwatch:SetAlarmState'),
});

const REPLICA = 'apnakart-pg-singapore';
const PRIMARY_DB = 'apnakart-pg-mumbai';

/** InvalidDBInstanceState as RDS answers it ("The DB instance isn't in a valid state", HTTP 400; RDS API Reference, PromoteReadReplica). */
const invalidState = () =>
  Object.assign(new InvalidDBInstanceStateFault({ $metadata: { httpStatusCode: 400, requestId: 'req-400' }, message: 'Instance is not in available state' }), { Code: 'InvalidDBInstanceState' });

describe('promoteReplica', () => {
  test('given a promotion under way (InvalidDBInstanceState while modifying, still a replica), the attempt fails retryably as busy; a retry that finds it standalone completes the record', async () => {
    const dbs = { [REPLICA]: { status: 'modifying', source: PRIMARY_DB as string | undefined } };
    const rds = fakeRds(SINGAPORE, dbs, { promoteError: invalidState() });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2' }));
    expect(err).toMatchObject({ type: INSTANCE_BUSY, nonRetryable: false });

    // RDS made it standalone (the call had landed): the next attempt does not promote again, and records it as drover's.
    Object.assign(dbs[REPLICA], { status: 'available', source: undefined });
    const result = await run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2' });

    expect(result.alreadyPromoted).toBe(true);
    expect(rds.promoteCalls).toEqual([REPLICA]);
    expect(rds.tagCalls.map((c) => c.tags.map((t) => t.Key))).toEqual([['drover:promoted-by'], ['drover:promoted-at']]);
  });

  // The review's finding: a replica modifying for another reason (no promotion asked) answers the same refusal; it was
  // tagged promoted. Now it is busy: the short attempt fails retryably, and Temporal asks again once it may be available.
  test('given a replica modifying for another reason (InvalidDBInstanceState, no earlier ask), it fails retryably as busy and does not mark it promoted', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'modifying', source: PRIMARY_DB } }, { promoteError: invalidState() });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2c' }));

    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: INSTANCE_BUSY, nonRetryable: false, message: `rds:PromoteReadReplica refused: ${REPLICA} in ${SINGAPORE} is modifying; asked again once it is available` });
    expect(rds.tagCalls.flatMap((c) => c.tags.map((t) => t.Key))).toEqual(['drover:promoted-by']);
  });

  // A replica backing up for longer than a short step keeps asking (its backup may take hours): from attempt
  // SHORT_BUSY_ATTEMPTS the refusal is typed, so the run knows nothing is under way and undoes its fence.
  test(`given a replica still busy at activity attempt ${SHORT_BUSY_ATTEMPTS}, the refusal stands: InvalidState, not another retry`, async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'backing-up', source: PRIMARY_DB } }, { promoteError: invalidState() });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);
    const late = new MockActivityEnvironment({ attempt: SHORT_BUSY_ATTEMPTS }, { logger: new DefaultLogger('ERROR', () => undefined) });

    const err = await rejection(late.run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2d' }));

    expectFailure(err, FailureType.InvalidState, new RegExp(`^rds:PromoteReadReplica refused: ${REPLICA} in ${SINGAPORE} is backing-up; still refused at activity attempt ${SHORT_BUSY_ATTEMPTS} \\(InvalidDBInstanceState\\)$`));
    expect(rds.tagCalls.flatMap((c) => c.tags.map((t) => t.Key))).toEqual(['drover:promoted-by']);
  });

  // A storage-full instance answers InvalidDBInstanceState without being promoted (a stopped replica cannot
  // occur: RDS, like moto, refuses to stop a read replica).
  test('given a replica in storage-full answering InvalidDBInstanceState, it fails InvalidState and does not mark it promoted', async () => {
    const rds = fakeRds(SINGAPORE, { [REPLICA]: { status: 'storage-full', source: PRIMARY_DB } }, { promoteError: invalidState() });
    const { promoteReplica } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(promoteReplica, { region: SINGAPORE, identifier: REPLICA, runRef: 'failover-2b' }));

    expectFailure(err, FailureType.InvalidState, new RegExp(`^rds:PromoteReadReplica refused: ${REPLICA} in ${SINGAPORE} is storage-full, a state RDS does not leave by itself \\(InvalidDBInstanceState\\)$`));
    expect((err as ApplicationFailure).details).toEqual([{ call: 'rds:PromoteReadReplica', code: 'InvalidDBInstanceState', status: 'storage-full' }]);
    expect(rds.tagCalls.flatMap((c) => c.tags.map((t) => t.Key))).toEqual(['drover:promoted-by']);
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
});

describe('AWS error mapping', () => {
  test('given ThrottlingException, the original error is rethrown for Temporal to retry (not an ApplicationFailure)', async () => {
    const throttled = awsError('ThrottlingException', 'Rate exceeded', 400);
    const rds = fakeRds(SINGAPORE, {}, { describeError: throttled });
    const { describeDb } = createRdsActivities(() => rds.api, noCloudWatch);

    const err = await rejection(run(describeDb, { region: SINGAPORE, identifier: REPLICA }));

    expect(err).toBe(throttled);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
  });

  test.each([
    { code: 'AccessDeniedException', status: 403, type: FailureType.PermissionDenied },
    { code: 'ValidationException', status: 400, type: FailureType.Validation },
    { code: 'InvalidChangeBatch', status: 400, type: FailureType.Validation },
    { code: 'NoSuchHostedZone', status: 404, type: FailureType.NotFound },
    { code: 'ResourceNotFoundException', status: 404, type: FailureType.NotFound },
    { code: 'InvalidDBInstanceState', status: 400, type: FailureType.InvalidState },
    // A full snapshot quota stays full: every drill leaves final snapshots, so a retry would never end.
    { code: 'SnapshotQuotaExceeded', status: 400, type: FailureType.InvalidState },
  ])('given $code, toFailure returns a non-retryable $type failure naming the call', ({ code, status, type }) => {
    expectFailure(toFailure(awsError(code, 'boom', status), 'svc:Call'), type, new RegExp(`^svc:Call failed: ${code}: boom`));
  });

  test('given a query-protocol error carrying its code in Code, toFailure maps that code', () => {
    const err = Object.assign(new Error('not authorized'), { Code: 'AccessDenied' });
    expectFailure(toFailure(err, 'rds:DescribeDBInstances'), FailureType.PermissionDenied, /AccessDenied/);
  });

  // Codes no list names: their family says what they are (S3's InvalidRequest, RDS's InvalidDBSubnetGroupFault and
  // SNS's InvalidParameter were retried forever before).
  test.each([
    { code: 'InvalidRequest', type: FailureType.Validation },
    { code: 'InvalidDBSubnetGroupFault', type: FailureType.Validation },
    { code: 'InvalidParameter', type: FailureType.Validation },
    { code: 'MalformedXML', type: FailureType.Validation },
    { code: 'InvalidGroup.NotFound', type: FailureType.NotFound },
    { code: 'NoSuchBucket', type: FailureType.NotFound },
    { code: 'InvalidAccessKeyId', type: FailureType.PermissionDenied },
  ])('given $code (HTTP 400, in no list), toFailure maps it by its family to a non-retryable $type failure', ({ code, type }) => {
    expectFailure(toFailure(awsError(code, 'nope', 400), 'svc:Call'), type, new RegExp(`^svc:Call failed: ${code.replace('.', '\\.')}: nope`));
  });

  test(`given a 4xx code drover does not recognise, an activity retries it until attempt ${UNKNOWN_4XX_ATTEMPTS}, then fails for good naming it; outside a run it fails at once`, async () => {
    const err = awsError('BrandNewRefusal', 'no', 400);
    const at = async (attempt: number) => new MockActivityEnvironment({ attempt }, { logger: new DefaultLogger('ERROR', () => undefined) }).run(async () => toFailure(err, 'svc:Call'));
    for (let attempt = 1; attempt < UNKNOWN_4XX_ATTEMPTS; attempt += 1) expect(await at(attempt)).toBe(err);
    expectFailure(await at(UNKNOWN_4XX_ATTEMPTS), FailureType.AwsRejected, new RegExp(`^svc:Call failed: BrandNewRefusal: no \\(request req-err-1\\) \\(HTTP 400, not retried after activity attempt ${UNKNOWN_4XX_ATTEMPTS}\\)$`));
    expectFailure(toFailure(err, 'svc:Call'), FailureType.AwsRejected, /^svc:Call failed: BrandNewRefusal: no \(request req-err-1\) \(HTTP 400\)$/);
    // A resource busy (Invalid…State…) is such a refusal too: retried, within the bound, not failed at once.
    const busy = awsError('InvalidDBClusterStateFault', 'busy', 400);
    expect(await new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR', () => undefined) }).run(async () => toFailure(busy, 'svc:Call'))).toBe(busy);
    // A transient 4xx is never bounded: S3's OperationAborted (409) clears by itself.
    const aborted = awsError('OperationAborted', 'try again', 409);
    expect(await new MockActivityEnvironment({ attempt: 50 }, { logger: new DefaultLogger('ERROR', () => undefined) }).run(async () => toFailure(aborted, 'svc:Call'))).toBe(aborted);
  });

  test.each(['ThrottlingException', 'Throttling', 'InternalFailure', 'ServiceUnavailable', 'PriorRequestNotComplete', 'ResourceInUseException', 'ConditionalRequestConflict'])(
    'given transient %s, toFailure leaves the error retryable',
    (code) => {
      const err = awsError(code, 'try again', code.startsWith('Internal') || code === 'ServiceUnavailable' ? 500 : 400);
      expect(toFailure(err, 'svc:Call')).toBe(err);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// EKS: a node group UPDATING
// ---------------------------------------------------------------------------------------------

interface FakeNodeGroup {
  status: NodegroupStatus;
  scaling: NodegroupScalingConfig;
  /** After an update, how many DescribeNodegroup polls report UPDATING; undefined: it stays ACTIVE throughout. */
  settlesAfter?: number;
  issues?: Issue[];
}

/** An update as the fake runs it: InProgress for `polls` DescribeUpdate calls, then `ends`. */
interface FakeUpdate {
  id: string;
  group: string;
  polls: number;
  ends: UpdateStatus;
  errors?: ErrorDetail[];
}

/**
 * Kept as a fake: what EKS may answer that the emulator (even behind its fidelity rules) does not: a node group
 * ACTIVE at its new size while its update is still InProgress, an update that ends Failed.
 */
function fakeEks(groups: Record<string, FakeNodeGroup>, script: { updatePolls?: number; ends?: UpdateStatus; errors?: ErrorDetail[]; updating?: number; existing?: FakeUpdate[] } = {}) {
  const updates: UpdateNodegroupConfigCommandInput[] = [];
  const all: FakeUpdate[] = [...(script.existing ?? [])];
  const clusterTags: Record<string, string> = {};
  const statusOf = (u: FakeUpdate): UpdateStatus => (u.polls > 0 ? 'InProgress' : u.ends);
  const api = {
    describeNodegroup: async (input: DescribeNodegroupCommandInput) => {
      const g = groups[input.nodegroupName ?? ''];
      if (g.status === 'UPDATING' && g.settlesAfter !== undefined) {
        g.settlesAfter -= 1;
        if (g.settlesAfter <= 0) g.status = 'ACTIVE';
      }
      return { nodegroup: { clusterName: input.clusterName, nodegroupName: input.nodegroupName, status: g.status, scalingConfig: { ...g.scaling }, health: { issues: g.issues ?? [] } }, $metadata: {} };
    },
    updateNodegroupConfig: async (input: UpdateNodegroupConfigCommandInput) => {
      updates.push(structuredClone(input));
      const g = groups[input.nodegroupName ?? ''];
      g.scaling = { ...g.scaling, ...input.scalingConfig };
      if (script.updating !== undefined) {
        g.status = 'UPDATING';
        g.settlesAfter = script.updating;
      }
      const u: FakeUpdate = { id: `upd-${updates.length}`, group: input.nodegroupName ?? '', polls: script.updatePolls ?? 1, ends: script.ends ?? 'Successful', errors: script.errors };
      all.push(u);
      return { update: { id: u.id, status: 'InProgress' as const, type: 'ConfigUpdate' as const }, $metadata: { requestId: `req-update-${updates.length}` } };
    },
    describeUpdate: async (input: DescribeUpdateCommandInput) => {
      const u = all.find((x) => x.id === input.updateId && x.group === input.nodegroupName);
      if (!u) throw new Error(`fake: no update ${input.updateId}`);
      const status = statusOf(u);
      u.polls -= 1;
      return { update: { id: u.id, status, type: 'ConfigUpdate' as const, errors: status === 'Failed' ? (u.errors ?? []) : [] }, $metadata: {} };
    },
    listUpdates: async (input: ListUpdatesCommandInput) => ({ updateIds: all.filter((u) => u.group === input.nodegroupName).map((u) => u.id), $metadata: {} }),
    // The cluster carries the capacity tags scaleNodeGroups records before its first change to a group.
    describeCluster: async () => ({ cluster: { name: 'fake', arn: 'arn:aws:eks:ap-southeast-1:123456789012:cluster/fake', tags: { ...clusterTags } }, $metadata: {} }),
    tagResource: async (input: TagResourceCommandInput) => {
      Object.assign(clusterTags, input.tags);
      return { $metadata: {} };
    },
    untagResource: async (input: UntagResourceCommandInput) => {
      for (const k of input.tagKeys ?? []) delete clusterTags[k];
      return { $metadata: {} };
    },
    createCluster: unexpected('eks:CreateCluster'),
    createNodegroup: unexpected('eks:CreateNodegroup'),
  } satisfies EksApi;
  return { api, updates, clusterTags };
}

describe('scaleNodeGroups', () => {
  test('given a node group UPDATING after its update, it polls until its update is Successful and every group is ACTIVE at size, heartbeating each state', async () => {
    const eks = fakeEks(
      {
        general: { status: 'ACTIVE', scaling: { minSize: 2, desiredSize: 2, maxSize: 24 } },
        checkout: { status: 'ACTIVE', scaling: { minSize: 6, desiredSize: 6, maxSize: 12 } },
      },
      { updatePolls: 1, updating: 2 },
    );
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
    expect(result.after).toEqual([
      { name: 'general', status: 'ACTIVE', desiredSize: 12, minSize: 12, maxSize: 24 },
      { name: 'checkout', status: 'ACTIVE', desiredSize: 6, minSize: 6, maxSize: 12 },
    ]);
    expect(mock.heartbeats).toEqual(
      ['general ACTIVE 2: update upd-1 InProgress', 'general UPDATING 12: update upd-1 InProgress', 'all ACTIVE'].map((progress) => ({ waitingFor: 'apnakart-singapore node groups to be ACTIVE at size', progress })),
    );
  });

  // Issue 24 item 7: ACTIVE at the new size was taken as done while EKS still applied the update.
  test('given a node group that reports ACTIVE at its new size while its update is InProgress, it is not done until DescribeUpdate answers Successful', async () => {
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 2, desiredSize: 2, maxSize: 24 } } }, { updatePolls: 2 });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    await run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12, max: 24 }] });

    expect(mock.heartbeats.map((h) => h.progress)).toEqual([
      'general ACTIVE 2: update upd-1 InProgress',
      'general ACTIVE 12: update upd-1 InProgress',
      'general ACTIVE 12: update upd-1 InProgress',
      'all ACTIVE',
    ]);
  });

  test('given its update ends Failed, it fails non-retryable InvalidState naming the update and the errors EKS gives', async () => {
    const errors: ErrorDetail[] = [{ errorCode: 'NodeCreationFailure', errorMessage: 'Instances failed to join the kubernetes cluster', resourceIds: ['i-0a1b2c3d4e5f60718'] }];
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 2, desiredSize: 2, maxSize: 24 } } }, { updatePolls: 1, ends: 'Failed', errors });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    const err = await rejection(run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12, max: 24 }] }));

    expectFailure(err, FailureType.InvalidState, /^eks: update upd-1 of node group apnakart-singapore\/general is Failed: NodeCreationFailure: Instances failed to join the kubernetes cluster \(i-0a1b2c3d4e5f60718\)$/);
  });

  test('given a retried attempt whose earlier attempt\'s update landed (the group at size, its update InProgress), it sends nothing and waits for that update', async () => {
    const eks = fakeEks(
      // UPDATING while its update runs, as EKS shows it (a group ACTIVE has none in progress: no history is read for it).
      { general: { status: 'UPDATING', settlesAfter: 3, scaling: { minSize: 12, desiredSize: 12, maxSize: 24 } } },
      { existing: [{ id: 'upd-earlier', group: 'general', polls: 2, ends: 'Successful' }] },
    );
    const { scaleNodeGroups } = createEksActivities(() => eks.api);
    const retried = new MockActivityEnvironment({ attempt: 2 }, { logger: new DefaultLogger('ERROR', () => undefined) });
    const progress: string[] = [];
    retried.on('heartbeat', (d: { progress?: string }) => {
      if (d?.progress && progress.at(-1) !== d.progress) progress.push(d.progress);
    });

    await retried.run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12, max: 24 }] });

    expect(eks.updates).toEqual([]);
    expect(progress[0]).toBe('general UPDATING 12: update upd-earlier InProgress (found in progress)');
    expect(progress.at(-1)).toBe('all ACTIVE');
  });

  test('given a node group at size with a health issue, the wait names it (code, message, resources) and times out with it at its bound', async () => {
    const issue: Issue = { code: 'AsgInstanceLaunchFailures', message: 'Could not launch On-Demand Instances. InsufficientInstanceCapacity', resourceIds: ['eks-general-asg'] };
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 12, desiredSize: 12, maxSize: 24 }, issues: [issue] } });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    const err = await rejection(run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 12, max: 24 }], timeoutMs: 1200 }));

    expectFailure(err, FailureType.WaitTimedOut, /\(last: general ACTIVE 12: health issues: AsgInstanceLaunchFailures: Could not launch On-Demand Instances\. InsufficientInstanceCapacity \(eks-general-asg\)\)$/);
  });
  // A scale-down (a drill's rollback, a failback's return to standby) is not held by a launch failure that lingers.
  test('given a scale-down of a group with a health issue, it is done once the group is ACTIVE at its smaller size', async () => {
    const issue: Issue = { code: 'AsgInstanceLaunchFailures', message: 'Could not launch On-Demand Instances. InsufficientInstanceCapacity', resourceIds: ['eks-general-asg'] };
    const eks = fakeEks({ general: { status: 'ACTIVE', scaling: { minSize: 12, desiredSize: 12, maxSize: 24 }, issues: [issue] } }, { updatePolls: 0, ends: 'Successful' });
    const { scaleNodeGroups } = createEksActivities(() => eks.api);

    const out = await run(scaleNodeGroups, { region: SINGAPORE, cluster: 'apnakart-singapore', groups: [{ name: 'general', size: 2, max: 24 }], timeoutMs: 5000 });

    expect(out.after).toMatchObject([{ name: 'general', status: 'ACTIVE', desiredSize: 2 }]);
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

  // Item 5 of "Durable under real operations": a wait longer than its activity's start-to-close timeout was
  // retried with a fresh bound each attempt, so WaitTimedOut never fired.
  test('given a retried attempt whose earlier attempt heartbeat the same wait, it keeps that deadline: a wait past its bound fails at the first poll', async () => {
    let checks = 0;
    const earlier = { waitingFor: 'the replica to catch up', progress: 'lag 90s', deadline: Date.now() - 1 };
    const retried = new MockActivityEnvironment({ heartbeatDetails: earlier }, { logger: new DefaultLogger('ERROR', () => undefined) });
    const err = await rejection(
      retried.run(() =>
        pollUntil({ what: 'the replica to catch up', timeoutMs: 6 * 60 * 60_000, initialIntervalMs: 20 }, async () => {
          checks++;
          return { done: false, value: 0, progress: 'lag 80s' };
        }),
      ),
    );

    // Ended before polling again, with the progress the earlier attempt last saw.
    expectFailure(err, FailureType.WaitTimedOut, /waiting for the replica to catch up \(last: lag 90s\)$/);
    expect(checks).toBe(0);
  });

  // The AWS SDK sets no request timeout: a poll that never answers would hold the attempt (its heartbeats, now on a
  // timer, keep it alive) until the 7 h start-to-close.
  test('given a poll that never answers, the attempt fails (retryable, naming the wait) after the call timeout, and at the deadline the wait times out', async () => {
    const hung = () => new Promise<never>(() => undefined);
    const retryable = await rejection(run(() => pollUntil({ what: 'the replica to catch up', timeoutMs: 60_000, callTimeoutMs: 1000 }, hung)));
    expect(retryable).not.toBeInstanceOf(ApplicationFailure);
    expect((retryable as Error).message).toBe('no answer within 1000 ms while waiting for the replica to catch up; the attempt is retried');

    const atDeadline = await rejection(run(() => pollUntil({ what: 'the replica to catch up', timeoutMs: 1000, callTimeoutMs: 60_000 }, hung)));
    expectFailure(atDeadline, FailureType.WaitTimedOut, /waiting for the replica to catch up \(last: not polled yet; the last poll was not answered\)$/);
  });

  test("given a retried attempt whose earlier attempt heartbeat another wait, this wait's bound starts now", async () => {
    const earlier = { waitingFor: 'snapshot s1 to be available', progress: 'creating', deadline: Date.now() - 1 };
    const retried = new MockActivityEnvironment({ heartbeatDetails: earlier }, { logger: new DefaultLogger('ERROR', () => undefined) });
    const beats: Array<{ deadline?: number }> = [];
    retried.on('heartbeat', (d: { deadline?: number }) => beats.push(d));
    let checks = 0;
    const started = Date.now();
    const value = await retried.run(() =>
      pollUntil({ what: 'the replica to catch up', timeoutMs: 60_000, initialIntervalMs: 10 }, async () => ({ done: ++checks === 3, value: 'caught up', progress: `poll ${checks}` })),
    );

    expect(value).toBe('caught up');
    expect(checks).toBe(3);
    // Every beat carries the one absolute deadline of this wait, a retry's to keep.
    const deadlines = new Set(beats.map((b) => b.deadline));
    expect(deadlines.size).toBe(1);
    expect([...deadlines][0]).toBeGreaterThanOrEqual(started + 60_000);
  });

  // Item 6: a poll interval as long as the heartbeat timeout, plus call latency, let the heartbeat lapse.
  test('given a poll slower than the heartbeat timeout, heartbeats still go out on their own timer during it', async () => {
    const slow = new MockActivityEnvironment({ heartbeatTimeoutMs: 300 }, { logger: new DefaultLogger('ERROR', () => undefined) });
    const events: string[] = [];
    slow.on('heartbeat', () => events.push('beat'));
    let checks = 0;
    await slow.run(() =>
      pollUntil({ what: 'snapshot s1 to be available', timeoutMs: 60_000, initialIntervalMs: 600, maxIntervalMs: 600 }, async () => {
        checks++;
        events.push('call');
        // A slow call (2 s on a bad day; 700 ms here, more than twice the heartbeat timeout).
        await new Promise((r) => setTimeout(r, 700));
        events.push('answer');
        return { done: checks === 2, value: undefined, progress: `poll ${checks}` };
      }),
    );

    // Beats went out while each call was under way (before: only after each answer), and while it slept.
    const during = (from: number, to: number) => events.slice(from, to).filter((e) => e === 'beat').length;
    const calls = events.flatMap((e, i) => (e === 'call' ? [i] : []));
    const answers = events.flatMap((e, i) => (e === 'answer' ? [i] : []));
    expect(calls).toHaveLength(2);
    expect(during(calls[0], answers[0])).toBeGreaterThanOrEqual(1);
    expect(during(calls[1], answers[1])).toBeGreaterThanOrEqual(1);
    expect(during(answers[0] + 2, calls[1])).toBeGreaterThanOrEqual(1);
  });

  test('given a soak whose health check is slower than the heartbeat timeout, heartbeats still go out on their own timer during the check', async () => {
    const slow = new MockActivityEnvironment({ heartbeatTimeoutMs: 300 }, { logger: new DefaultLogger('ERROR', () => undefined) });
    const events: string[] = [];
    slow.on('heartbeat', () => events.push('beat'));
    const cloudwatch = () =>
      ({
        describeAlarms: async () => {
          events.push('call');
          // A slow page of DescribeAlarms (the SDK's retries on a bad day; 700 ms here, over twice the heartbeat timeout).
          await new Promise((r) => setTimeout(r, 700));
          events.push('answer');
          return { MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK' }], $metadata: {} };
        },
      }) as unknown as CloudWatchApi;
    const out = await slow.run(() => createHealthActivities(cloudwatch).soak({ region: 'ap-southeast-1', alarms: ['api-5xx'], probes: [], durationMs: 1000, intervalMs: 400 }));

    expect(out).toMatchObject({ healthy: true });
    const calls = events.flatMap((e, i) => (e === 'call' ? [i] : []));
    const answers = events.flatMap((e, i) => (e === 'answer' ? [i] : []));
    expect(calls.length).toBeGreaterThanOrEqual(2);
    // Each check had a beat while it was under way (before: beats only between checks).
    for (const [i, from] of calls.entries()) expect(events.slice(from, answers[i]).filter((e) => e === 'beat').length).toBeGreaterThanOrEqual(1);
  });
});
