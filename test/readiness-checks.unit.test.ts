/**
 * Readiness's checks over fake parts (activities/readiness.ts): what each finding makes of a verdict where the
 * emulator cannot stage it (an instance type no zone offers, all weights 0, an Aurora global member, a part that
 * throws), and the direction a runbook without databases is judged in.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { createReadinessActivities, type ReadinessParts } from '../activities/readiness';
import type { Ec2Api, ServiceQuotasApi } from '../aws/clients';
import type { CheckResult } from '../contracts/readiness';
import type { Runbook } from '../runbooks/schema';
import { loadRunbookFile } from '../runbooks/load';

const loaded = loadRunbookFile(`${__dirname}/../runbooks/apnakart.yaml`);
if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
const RB = loaded.runbook;
const [PRIMARY, STANDBY] = [RB.regions.primary, RB.regions.standby];

function parts(over: Partial<ReadinessParts> = {}): ReadinessParts {
  return {
    describeDb: async (i) => ({ identifier: i.identifier, arn: `arn:${i.identifier}`, region: i.region, status: 'available', standalone: false, promotedByDrover: false, fencedByDrover: false, replicationSource: 'primary' }) as never,
    replicaLag: async () => ({ lagSeconds: 0, observedAt: new Date().toISOString() }),
    describeCompute: async (i) => ({ clusterStatus: 'ACTIVE', nodeGroups: i.nodeGroups.map((name) => ({ name, status: 'ACTIVE', desiredSize: 1, minSize: 1, maxSize: 100 })), problems: [] }),
    missingRecords: async () => [],
    readTraffic: async (i) => i.records.map((r) => ({ name: r.name, routing: r.routing, share: { [PRIMARY]: 100, [STANDBY]: 0 } })),
    readCname: async () => 'primary.example',
    checkAlarmTargets: async () => ({ problems: [], notes: [] }),
    checkProbeTargets: async () => ({ problems: [], notes: [] }),
    checkPermissions: async () => ({ problems: [], notes: [] }),
    readControls: async (i) => i.regions.map((region) => ({ region, alarmRegion: STANDBY, alarmName: 'control', exists: true, problems: [], state: 'OK' })),
    ...over,
  };
}

/** A Temporal client with no drills and no schedules. */
const temporal = (() =>
  ({
    workflow: { list: async function* () {} },
    schedule: { getHandle: () => ({ describe: async () => Promise.reject(new ScheduleNotFoundError('none', 'x')) }) },
  }) as unknown as Client);

/** EC2 offering `offered` types in two zones of any region; every type has 2 vCPUs, but `vcpus` says otherwise. */
const ec2 = (offered: string[], vcpus: Record<string, number> = {}) => (region: string) =>
  ({
    describeInstanceTypes: async (input: { InstanceTypes?: string[] }) => ({ InstanceTypes: (input.InstanceTypes ?? []).map((t) => ({ InstanceType: t, VCpuInfo: { DefaultVCpus: vcpus[t] ?? 2 } })) }),
    describeInstanceTypeOfferings: async (input: { Filters?: Array<{ Values?: string[] }> }) => ({
      InstanceTypeOfferings: (input.Filters?.[0]?.Values ?? []).filter((t) => offered.includes(t)).flatMap((t) => [`${region}a`, `${region}b`].map((Location) => ({ InstanceType: t, Location, LocationType: 'availability-zone' }))),
    }),
  }) as unknown as Ec2Api;

/** Service Quotas: the applied value of a region, or (none applied) NoSuchResourceException and the default. */
function quotas(applied: Record<string, number | undefined>, defaultValue = 5) {
  const asked: string[] = [];
  const api = (region: string) =>
    ({
      getServiceQuota: async (i: { QuotaCode: string }) => {
        asked.push(`applied ${region} ${i.QuotaCode}`);
        // As the SDK throws it (a 400 of the client's fault), so drover's own error classifier (aws/errors.ts) reads it.
        if (applied[region] === undefined) throw Object.assign(new Error('no applied value'), { name: 'NoSuchResourceException', $metadata: { httpStatusCode: 400 }, $fault: 'client' });
        return { Quota: { Value: applied[region] } };
      },
      getAWSDefaultServiceQuota: async (i: { QuotaCode: string }) => (asked.push(`default ${region} ${i.QuotaCode}`), { Quota: { Value: defaultValue } }),
    }) as unknown as ServiceQuotasApi;
  return { api, asked };
}

async function evaluate(over: Partial<ReadinessParts>, rb: Runbook = RB, offered = ['m6i.large'], sq = quotas({ [PRIMARY]: 1000, [STANDBY]: 1000 }).api, vcpus: Record<string, number> = {}): Promise<Record<string, CheckResult>> {
  const a = createReadinessActivities({ parts: parts(over), cloudwatch: () => ({ getMetricStatistics: async () => ({ Datapoints: [] }) }) as never, ec2: ec2(offered, vcpus), serviceQuotas: sq, temporal });
  const r = await a.evaluateRunbookReadiness({ runbook: rb, digest: 'sha256:0' });
  return Object.fromEntries(r.checks.map((c) => [c.id, c]));
}

const standbyCluster = RB.compute.clusters.find((c) => c.region === STANDBY)!.name;

test('an instance type no zone of the standby offers is not ready, naming it; offered, each type says where', async () => {
  const offered = await evaluate({});
  expect(offered[`capacity:${standbyCluster}`]).toMatchObject({ verdict: 'ready', reasons: expect.arrayContaining([`instance type m6i.large offered in 2 zones (${STANDBY}a, ${STANDBY}b)`]) });
  const none = await evaluate({}, RB, []);
  expect(none[`capacity:${standbyCluster}`]).toMatchObject({ verdict: 'not-ready', reasons: [`instance type m6i.large is offered in no Availability Zone of ${STANDBY}: its node groups cannot launch nodes there`] });
  // The types EKS says a group launches win over the runbook's.
  const live = await evaluate({ describeCompute: async (i) => ({ clusterStatus: 'ACTIVE', nodeGroups: i.nodeGroups.map((name) => ({ name, status: 'ACTIVE', maxSize: 100, instanceTypes: ['c7g.large'] })), problems: [] }) }, RB, ['m6i.large']);
  expect(live[`capacity:${standbyCluster}`].reasons).toContain(`instance type c7g.large is offered in no Availability Zone of ${STANDBY}: its node groups cannot launch nodes there`);
});

test('weights of 0 on both sets are an equal split, degraded; a part that throws leaves its check not ready under its own id', async () => {
  const zero = await evaluate({ readTraffic: async (i) => i.records.map((r) => ({ name: r.name, routing: r.routing, share: { [PRIMARY]: 0, [STANDBY]: 0 } })) });
  expect(zero.records.verdict).toBe('degraded');
  expect(zero.records.reasons[0]).toMatch(/both sets weigh 0 .* so Route 53 answers with each equally/);
  const thrown = await evaluate({ checkProbeTargets: async () => Promise.reject(new Error('socket hang up')) });
  expect(thrown[`probes:${STANDBY}`]).toMatchObject({ verdict: 'not-ready', reasons: ['not read: socket hang up'] });
  expect(Object.keys(thrown)).not.toContain('error');
});

test('an Aurora global member is not read as an instance: ready, saying so', async () => {
  const db = RB.database!;
  const aurora: Runbook = { ...RB, database: { ...db, engine: 'aurora-global', globalClusterIdentifier: 'shop-global' } };
  const out = await evaluate({ describeDb: async () => Promise.reject(new Error('DBInstanceNotFound')) }, aurora);
  expect(out['replica:main']).toMatchObject({ verdict: 'ready', reasons: [expect.stringMatching(/is a DB cluster of global cluster shop-global: not read here/)] });
});

test('a runbook without databases is judged for a failback once every record serves the standby alone', async () => {
  const noDb: Runbook = { ...RB, database: undefined, databases: undefined };
  const a = createReadinessActivities({ parts: parts({ readTraffic: async (i) => i.records.map((r) => ({ name: r.name, routing: r.routing, share: { [PRIMARY]: 0, [STANDBY]: 100 } })) }), cloudwatch: () => ({}) as never, ec2: ec2(['m6i.large']), serviceQuotas: quotas({}).api, temporal });
  const r = await a.evaluateRunbookReadiness({ runbook: noDb });
  expect(r).toMatchObject({ direction: 'failback', directionReason: `every record serves ${STANDBY} alone: a failover is in effect` });
  expect(r.checks.map((c) => c.id)).toContain(`alarms:${PRIMARY}`);
});

test('the EC2 On-Demand standard quota: the vCPUs the standby\'s groups ask for against it, and its parity with the primary', async () => {
  // ApnaKart's standby groups: general 12 and checkout 6 at active size, m6i.large (2 vCPUs): 36 vCPUs.
  const enough = await evaluate({});
  expect(enough[`quotas:${STANDBY}`]).toMatchObject({ verdict: 'ready', reasons: expect.arrayContaining([`the failover's node groups ask for 36 vCPUs; "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" (L-1216C47A) in ${STANDBY} is 1000 (instances already running there count too)`]) });

  const short = await evaluate({}, RB, ['m6i.large'], quotas({ [PRIMARY]: 1000, [STANDBY]: 32 }).api);
  expect(short[`quotas:${STANDBY}`].verdict).toBe('not-ready');
  expect(short[`quotas:${STANDBY}`].reasons).toEqual([
    `the failover's node groups ask for 36 vCPUs of On-Demand standard instances; "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" (L-1216C47A) in ${STANDBY} is 32`,
    `"Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" (L-1216C47A) is 32 in ${STANDBY} and 1000 in ${PRIMARY}: the standby cannot run what the primary may`,
  ]);
  expect(short[`quotas:${STANDBY}`].fix).toMatch(/request an increase of L-1216C47A in ap-southeast-1 to 36 or more/);

  // No applied value in the standby: its default is read (and is below the primary's: degraded, not refused).
  const sq = quotas({ [PRIMARY]: 1000 }, 640);
  const parity = await evaluate({}, RB, ['m6i.large'], sq.api);
  expect(parity[`quotas:${STANDBY}`]).toMatchObject({ verdict: 'degraded', fix: 'request an increase of L-1216C47A in ap-southeast-1 to 1000' });
  expect(sq.asked).toEqual(expect.arrayContaining([`applied ${STANDBY} L-1216C47A`, `default ${STANDBY} L-1216C47A`, `applied ${PRIMARY} L-1216C47A`]));
  expect(sq.asked).not.toContain(`default ${PRIMARY} L-1216C47A`);
});

test('Spot groups and families outside the standard quota are not counted; a quota that cannot be read is degraded, saying what to grant', async () => {
  const other = await evaluate({ describeCompute: async (i) => ({ clusterStatus: 'ACTIVE', nodeGroups: i.nodeGroups.map((name) => ({ name, status: 'ACTIVE', maxSize: 100, ...(name === 'general' ? { capacityType: 'SPOT' } : { instanceTypes: ['g5.xlarge'] }) })), problems: [] }) }, RB, ['m6i.large', 'g5.xlarge'], quotas({ [PRIMARY]: 10, [STANDBY]: 10 }).api);
  expect(other[`quotas:${STANDBY}`].verdict).toBe('ready');
  expect(other[`quotas:${STANDBY}`].reasons).toEqual(expect.arrayContaining([expect.stringMatching(/\/general \(not On-Demand\) draws on another quota: not counted$/), expect.stringMatching(/\/checkout \(g5\.xlarge\) draws on another quota: not counted$/), expect.stringMatching(/ask for 0 vCPUs/)]));
  const denied = { getServiceQuota: async () => Promise.reject(Object.assign(new Error('User is not authorized to perform servicequotas:GetServiceQuota'), { name: 'AccessDeniedException' })), getAWSDefaultServiceQuota: async () => ({}) } as unknown as ServiceQuotasApi;
  const unread = await evaluate({}, RB, ['m6i.large'], () => denied);
  expect(unread[`quotas:${STANDBY}`]).toMatchObject({ verdict: 'degraded', reasons: [expect.stringMatching(/^L-1216C47A not read: .*not authorized/)] });
});

test('what the quota counts: the I family\'s im4gn, not a Capacity Block; a type EC2 gives no vCPUs for is not read', async () => {
  const groups = (types: Record<string, { instanceTypes?: string[]; capacityType?: string }>) => ({ describeCompute: async (i: { nodeGroups: string[] }) => ({ clusterStatus: 'ACTIVE', nodeGroups: i.nodeGroups.map((name) => ({ name, status: 'ACTIVE', maxSize: 100, ...types[name] })), problems: [] }) });
  const im = await evaluate(groups({ general: { instanceTypes: ['im4gn.large'] }, checkout: { instanceTypes: ['m6i.large'], capacityType: 'CAPACITY_BLOCK' } }), RB, ['im4gn.large', 'm6i.large'], quotas({ [PRIMARY]: 100, [STANDBY]: 100 }).api, { 'im4gn.large': 2 });
  expect(im[`quotas:${STANDBY}`].reasons).toEqual(expect.arrayContaining([expect.stringMatching(/\/checkout \(not On-Demand\) draws on another quota: not counted$/), expect.stringMatching(/ask for 24 vCPUs/)]));
  const unknown = { describeInstanceTypes: async () => ({ InstanceTypes: [] }), describeInstanceTypeOfferings: async () => ({ InstanceTypeOfferings: [] }) } as unknown as Ec2Api;
  const a = createReadinessActivities({ parts: parts(), cloudwatch: () => ({ getMetricStatistics: async () => ({ Datapoints: [] }) }) as never, ec2: () => unknown, serviceQuotas: quotas({ [PRIMARY]: 100, [STANDBY]: 100 }).api, temporal });
  const r = await a.evaluateRunbookReadiness({ runbook: RB });
  expect(r.checks.find((c) => c.id === `quotas:${STANDBY}`)).toMatchObject({ verdict: 'degraded', reasons: [expect.stringMatching(/^L-1216C47A not read: EC2 gave no vCPU count for m6i\.large/)] });
});

test('each cluster of the runbook is recorded beside the checks; EKS refusing everything records them unread, and no verdict moves', async () => {
  const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  const refusing = () => new Proxy({}, { get: () => async () => Promise.reject(denied) }) as never;
  const run = (eks?: () => never) => createReadinessActivities({ parts: parts(), cloudwatch: () => ({ getMetricStatistics: async () => ({ Datapoints: [] }) }) as never, ec2: ec2(['m6i.large']), serviceQuotas: quotas({ [PRIMARY]: 1000, [STANDBY]: 1000 }).api, temporal, eks }).evaluateRunbookReadiness({ runbook: RB, digest: 'sha256:0' });
  const [without, refused] = await Promise.all([run(), run(refusing)]);
  expect(without.clusters).toBeUndefined();
  expect(refused.checks.map((c) => [c.id, c.verdict])).toEqual(without.checks.map((c) => [c.id, c.verdict]));
  expect(refused.verdict).toBe(without.verdict);
  expect(refused.clusters).toEqual(RB.compute.clusters.map((c) => ({ recordedAt: expect.any(String), region: c.region, name: c.name, present: false, unreadable: ['cluster: AccessDeniedException'] })));
});
