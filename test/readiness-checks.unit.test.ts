/**
 * Readiness's checks over fake parts (activities/readiness.ts): what each finding makes of a verdict where the
 * emulator cannot stage it (an instance type no zone offers, all weights 0, an Aurora global member, a part that
 * throws), and the direction a runbook without databases is judged in.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { createReadinessActivities, type ReadinessParts } from '../activities/readiness';
import type { Ec2Api } from '../aws/clients';
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

/** EC2 offering `offered` types in two zones of any region. */
const ec2 = (offered: string[]) => (region: string) =>
  ({
    describeInstanceTypeOfferings: async (input: { Filters?: Array<{ Values?: string[] }> }) => ({
      InstanceTypeOfferings: (input.Filters?.[0]?.Values ?? []).filter((t) => offered.includes(t)).flatMap((t) => [`${region}a`, `${region}b`].map((Location) => ({ InstanceType: t, Location, LocationType: 'availability-zone' }))),
    }),
  }) as unknown as Ec2Api;

async function evaluate(over: Partial<ReadinessParts>, rb: Runbook = RB, offered = ['m6i.large']): Promise<Record<string, CheckResult>> {
  const a = createReadinessActivities({ parts: parts(over), cloudwatch: () => ({ getMetricStatistics: async () => ({ Datapoints: [] }) }) as never, ec2: ec2(offered), temporal });
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
  const a = createReadinessActivities({ parts: parts({ readTraffic: async (i) => i.records.map((r) => ({ name: r.name, routing: r.routing, share: { [PRIMARY]: 0, [STANDBY]: 100 } })) }), cloudwatch: () => ({}) as never, ec2: ec2(['m6i.large']), temporal });
  const r = await a.evaluateRunbookReadiness({ runbook: noDb });
  expect(r).toMatchObject({ direction: 'failback', directionReason: `every record serves ${STANDBY} alone: a failover is in effect` });
  expect(r.checks.map((c) => c.id)).toContain(`alarms:${PRIMARY}`);
});
