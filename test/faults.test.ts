import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EC2 } from '@aws-sdk/client-ec2';
import { EKS } from '@aws-sdk/client-eks';
import { RDS } from '@aws-sdk/client-rds';
import { SNS } from '@aws-sdk/client-sns';
import { Route53 } from '@aws-sdk/client-route-53';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startFaultProxy, type FaultProxy, type ProxyLogEntry } from '../infra/faults/proxy';
import { rdsInstanceStates, AWS_FIDELITY_RULES } from '../infra/faults/fidelity';
import { eksFidelityRules, HEALTH_ISSUE_TAG } from '../infra/faults/fidelity-eks';
import { engineDefaults } from '../infra/faults/fidelity-rds';
import { AWS_TIMEOUTS, clientOptions, createAwsClients } from '../aws/clients';
import { toFailure } from '../aws/errors';
import { startOwnMoto, type MotoServer } from './harness/servers';

const CREDS = { accessKeyId: 'x', secretAccessKey: 'x' };
const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const DB = 'faults-db';
const CLUSTER = 'faults-eks';
const NODEGROUP = 'faults-ng';
const ALARM = 'faults-alarm';

let moto: MotoServer & { direct: string };
let proxy: FaultProxy;
let zoneId: string;

interface ClientOpts {
  region?: string;
  maxAttempts?: number;
  requestHandler?: NodeHttpHandler;
}
const common = (o: ClientOpts = {}) => ({ region: o.region ?? MUMBAI, endpoint: proxy.endpoint, credentials: CREDS, maxAttempts: o.maxAttempts ?? 1, requestHandler: o.requestHandler });
const rds = (o?: ClientOpts) => new RDS(common(o));
const cloudwatch = (o?: ClientOpts) => new CloudWatch(common(o));
const eks = (o?: ClientOpts) => new EKS(common(o));
const route53 = (o?: ClientOpts) => new Route53({ ...common(o), region: 'us-east-1' });

/** The rejection of a promise, failing the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const summary = (log: ProxyLogEntry[]) => log.map((e) => ({ service: e.service, operation: e.operation, injected: e.injected, status: e.status }));

beforeAll(async () => {
  moto = await startOwnMoto();
  proxy = await startFaultProxy({ target: moto.endpoint, seed: 7 });
  // Seed directly against moto, so every test (in any order) has something to describe.
  const direct = { endpoint: moto.endpoint, credentials: CREDS };
  await new RDS({ ...direct, region: MUMBAI }).createDBInstance({
    DBInstanceIdentifier: DB,
    DBInstanceClass: 'db.t3.micro',
    Engine: 'postgres',
    MasterUsername: 'drover',
    MasterUserPassword: 'not-a-secret-1',
    AllocatedStorage: 20,
  });
  const eksDirect = new EKS({ ...direct, region: MUMBAI });
  await eksDirect.createCluster({ name: CLUSTER, roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-a', 'subnet-b'] } });
  await eksDirect.createNodegroup({ clusterName: CLUSTER, nodegroupName: NODEGROUP, nodeRole: 'arn:aws:iam::123456789012:role/nodes', subnets: ['subnet-a'], scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 2 } });
  const zone = await new Route53({ ...direct, region: 'us-east-1' }).createHostedZone({ Name: 'faults.example.test', CallerReference: `faults-${Date.now()}` });
  zoneId = zone.HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
  await new CloudWatch({ ...direct, region: MUMBAI }).putMetricAlarm({
    AlarmName: ALARM,
    MetricName: 'Errors',
    Namespace: 'Drover/Faults',
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(() => {
  proxy.clearRules();
  proxy.clearLog();
});

describe('fault proxy pass-through', () => {
  test('forwards RDS, CloudWatch, Route 53 and EKS calls unchanged and logs each with its operation', async () => {
    const created = await rds({ region: SINGAPORE }).createDBInstance({
      DBInstanceIdentifier: 'faults-passthrough-db',
      DBInstanceClass: 'db.t3.micro',
      Engine: 'postgres',
      MasterUsername: 'drover',
      MasterUserPassword: 'not-a-secret-1',
      AllocatedStorage: 20,
    });
    expect(created.DBInstance?.DBInstanceIdentifier).toBe('faults-passthrough-db');
    const dbs = await rds({ region: SINGAPORE }).describeDBInstances({ DBInstanceIdentifier: 'faults-passthrough-db' });
    expect(dbs.DBInstances?.[0]?.DBInstanceIdentifier).toBe('faults-passthrough-db');

    await cloudwatch().setAlarmState({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: 'fault proxy test' });
    const alarms = await cloudwatch().describeAlarms({ AlarmNames: [ALARM] });
    expect(alarms.MetricAlarms?.[0]?.StateValue).toBe('ALARM');

    const zones = await route53().listHostedZonesByName({ DNSName: 'faults.example.test' });
    expect(zones.HostedZones?.some((z) => z.Name === 'faults.example.test.')).toBe(true);
    const change = await route53().changeResourceRecordSets({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'api.faults.example.test', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] } }] },
    });
    const changeId = change.ChangeInfo?.Id?.replace('/change/', '') ?? '';
    await route53().getChange({ Id: changeId });
    const records = await route53().listResourceRecordSets({ HostedZoneId: zoneId });
    expect(records.ResourceRecordSets?.some((r) => r.Name === 'api.faults.example.test.')).toBe(true);

    const cluster = await eks().describeCluster({ name: CLUSTER });
    expect(cluster.cluster?.name).toBe(CLUSTER);
    await eks().updateNodegroupConfig({ clusterName: CLUSTER, nodegroupName: NODEGROUP, scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 3 } });
    const ng = await eks().describeNodegroup({ clusterName: CLUSTER, nodegroupName: NODEGROUP });
    expect(ng.nodegroup?.scalingConfig?.desiredSize).toBe(3);

    const log = proxy.log();
    expect(log.map((e) => `${e.region}/${e.service}:${e.operation}`)).toEqual([
      `${SINGAPORE}/rds:CreateDBInstance`,
      `${SINGAPORE}/rds:DescribeDBInstances`,
      `${MUMBAI}/cloudwatch:SetAlarmState`,
      `${MUMBAI}/cloudwatch:DescribeAlarms`,
      'us-east-1/route53:ListHostedZonesByName',
      'us-east-1/route53:ChangeResourceRecordSets',
      'us-east-1/route53:GetChange',
      'us-east-1/route53:ListResourceRecordSets',
      `${MUMBAI}/eks:DescribeCluster`,
      `${MUMBAI}/eks:UpdateNodegroupConfig`,
      `${MUMBAI}/eks:DescribeNodegroup`,
    ]);
    expect(log.every((e) => e.injected === undefined && e.status === 200)).toBe(true);
  });
});

describe('fault proxy throttling in each service\'s error format', () => {
  test('RDS (query protocol): a count-1 throttle fails the first call with Throttling 400, the second passes', async () => {
    proxy.addRule({ service: 'rds', operation: 'DescribeDBInstances', count: 1, fault: { kind: 'throttle' } });
    const err = await rejection(rds().describeDBInstances({ DBInstanceIdentifier: DB }));
    expect(err.name).toBe('Throttling');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const ok = await rds().describeDBInstances({ DBInstanceIdentifier: DB });
    expect(ok.DBInstances?.[0]?.DBInstanceIdentifier).toBe(DB);
    expect(summary(proxy.log())).toEqual([
      { service: 'rds', operation: 'DescribeDBInstances', injected: 'throttle', status: 400 },
      { service: 'rds', operation: 'DescribeDBInstances', injected: undefined, status: 200 },
    ]);
  });

  test('CloudWatch (JSON protocol): a count-1 throttle fails the first call with Throttling 400, the second passes', async () => {
    proxy.addRule({ service: 'cloudwatch', operation: 'DescribeAlarms', count: 1, fault: { kind: 'throttle' } });
    const err = await rejection(cloudwatch().describeAlarms({ AlarmNames: [ALARM] }));
    expect(err.name).toBe('Throttling');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const ok = await cloudwatch().describeAlarms({ AlarmNames: [ALARM] });
    expect(ok.MetricAlarms?.[0]?.AlarmName).toBe(ALARM);
    expect(summary(proxy.log())).toEqual([
      { service: 'cloudwatch', operation: 'DescribeAlarms', injected: 'throttle', status: 400 },
      { service: 'cloudwatch', operation: 'DescribeAlarms', injected: undefined, status: 200 },
    ]);
  });

  test('EKS (REST-JSON): a count-1 throttle fails the first call with TooManyRequestsException 429, the second passes', async () => {
    proxy.addRule({ service: 'eks', operation: 'DescribeNodegroup', count: 1, fault: { kind: 'throttle' } });
    const err = await rejection(eks().describeNodegroup({ clusterName: CLUSTER, nodegroupName: NODEGROUP }));
    expect(err.name).toBe('TooManyRequestsException');
    expect(err.$metadata?.httpStatusCode).toBe(429);
    const ok = await eks().describeNodegroup({ clusterName: CLUSTER, nodegroupName: NODEGROUP });
    expect(ok.nodegroup?.nodegroupName).toBe(NODEGROUP);
    expect(summary(proxy.log())).toEqual([
      { service: 'eks', operation: 'DescribeNodegroup', injected: 'throttle', status: 429 },
      { service: 'eks', operation: 'DescribeNodegroup', injected: undefined, status: 200 },
    ]);
  });

  test('Route 53 (REST-XML): a count-1 throttle fails the first call with Throttling 400, the second passes', async () => {
    proxy.addRule({ service: 'route53', operation: 'ListResourceRecordSets', count: 1, fault: { kind: 'throttle' } });
    const err = await rejection(route53().listResourceRecordSets({ HostedZoneId: zoneId }));
    expect(err.name).toBe('Throttling');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const ok = await route53().listResourceRecordSets({ HostedZoneId: zoneId });
    expect(ok.ResourceRecordSets?.length).toBeGreaterThan(0);
    expect(summary(proxy.log())).toEqual([
      { service: 'route53', operation: 'ListResourceRecordSets', injected: 'throttle', status: 400 },
      { service: 'route53', operation: 'ListResourceRecordSets', injected: undefined, status: 200 },
    ]);
  });

  test('the SDK\'s default retries absorb a count-2 throttle, and the log shows all three attempts', async () => {
    proxy.addRule({ service: 'rds', operation: 'DescribeDBInstances', count: 2, fault: { kind: 'throttle' } });
    const out = await rds({ maxAttempts: 3 }).describeDBInstances({ DBInstanceIdentifier: DB });
    expect(out.DBInstances?.[0]?.DBInstanceIdentifier).toBe(DB);
    expect(out.$metadata.attempts).toBe(3);
    expect(proxy.log().map((e) => e.injected ?? 'forwarded')).toEqual(['throttle', 'throttle', 'forwarded']);
    // The log says they were one call retried: one SDK invocation id, attempts 1, 2 and 3 of 3.
    const log = proxy.log();
    expect(log.map((e) => [e.attempt, e.maxAttempts])).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(log[0].invocationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(log.map((e) => e.invocationId)).toEqual([log[0].invocationId, log[0].invocationId, log[0].invocationId]);
    // A second call is a new invocation.
    await rds({ maxAttempts: 3 }).describeDBInstances({ DBInstanceIdentifier: DB });
    const next = proxy.log()[3];
    expect([next.attempt, next.injected]).toEqual([1, undefined]);
    expect(next.invocationId).not.toBe(log[0].invocationId);
  });
});

describe('fault proxy failures', () => {
  test('a 503 status rule surfaces as an SDK error with httpStatusCode 503', async () => {
    proxy.addRule({ service: 'rds', fault: { kind: 'status', status: 503 } });
    const err = await rejection(rds().describeDBInstances({}));
    expect(err.$metadata?.httpStatusCode).toBe(503);
    expect(err.name).toBe('ServiceUnavailable');
    expect(proxy.log()[0]).toMatchObject({ injected: 'status:503', status: 503, operation: 'DescribeDBInstances' });
  });

  test('a 500 status rule on EKS surfaces as ServerException with httpStatusCode 500', async () => {
    proxy.addRule({ service: 'eks', fault: { kind: 'status', status: 500 } });
    const err = await rejection(eks().describeCluster({ name: CLUSTER }));
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(err.name).toBe('ServerException');
  });

  test('a reset rule makes the call fail with a connection reset', async () => {
    proxy.addRule({ service: 'cloudwatch', fault: { kind: 'reset' } });
    const err = await rejection(cloudwatch().describeAlarms({}));
    expect(`${err.code} ${err.name} ${err.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(proxy.log()).toEqual([expect.objectContaining({ service: 'cloudwatch', operation: 'DescribeAlarms', injected: 'reset' })]);
  });

  test('a blackholed region never answers (the client times out) while the other region still works', async () => {
    proxy.addRule({ region: MUMBAI, fault: { kind: 'blackhole' } });
    const handler = () => new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true });
    const err = await rejection(rds({ region: MUMBAI, requestHandler: handler() }).describeDBInstances({}));
    expect(err.name).toMatch(/TimeoutError|AbortError/);
    const ok = await rds({ region: SINGAPORE, requestHandler: handler() }).describeDBInstances({});
    expect(ok.$metadata.httpStatusCode).toBe(200);
    expect(summary(proxy.log())).toEqual([
      { service: 'rds', operation: 'DescribeDBInstances', injected: 'blackhole', status: undefined },
      { service: 'rds', operation: 'DescribeDBInstances', injected: undefined, status: 200 },
    ]);
  }, 15_000);

  test("drover's own clients give up on a blackholed call after their attempt timeout (AWS_TIMEOUTS by default): a read is tried again by the SDK, a write is not (it may have landed)", async () => {
    proxy.addRule({ region: MUMBAI, fault: { kind: 'blackhole' } });
    expect(clientOptions({}, MUMBAI).requestHandler).toEqual({ connectionTimeout: AWS_TIMEOUTS.connectMs, requestTimeout: AWS_TIMEOUTS.readMs, socketTimeout: AWS_TIMEOUTS.readMs, throwOnRequestTimeout: true });
    expect(clientOptions({}, MUMBAI, 'write').requestHandler).toEqual({ connectionTimeout: AWS_TIMEOUTS.connectMs, requestTimeout: AWS_TIMEOUTS.writeMs, socketTimeout: AWS_TIMEOUTS.writeMs, throwOnRequestTimeout: true });
    const clients = createAwsClients({ endpoint: proxy.endpoint, credentials: CREDS, maxAttempts: 2, timeouts: { connectMs: 500, readMs: 500, writeMs: 700 } });
    const read = await rejection(clients.rds(MUMBAI).describeDBInstances({}));
    expect(read.name).toBe('TimeoutError');
    expect(read.message).toMatch(/exceeded the configured 500 ms requestTimeout/);
    // The SDK retried the timed-out read once (maxAttempts 2), and the error stays retryable for Temporal.
    expect(proxy.log().filter((e) => e.injected === 'blackhole').map((e) => [e.operation, e.attempt])).toEqual([
      ['DescribeDBInstances', 1],
      ['DescribeDBInstances', 2],
    ]);
    expect(toFailure(read, 'rds:DescribeDBInstances')).toBe(read);
    proxy.clearLog();
    const write = await rejection(clients.rds(MUMBAI).addTagsToResource({ ResourceName: `arn:aws:rds:${MUMBAI}:123456789012:db:${DB}`, Tags: [{ Key: 'k', Value: 'v' }] }));
    expect(write.message).toMatch(/exceeded the configured 700 ms requestTimeout/);
    expect(proxy.log().filter((e) => e.injected === 'blackhole').map((e) => [e.operation, e.attempt])).toEqual([['AddTagsToResource', 1]]);
  }, 15_000);

  test('a latency rule holds the request for the configured time before forwarding it: at 299 ms it has not reached moto, at 300 ms it has', async () => {
    // No clock is read: the proxy's timer is driven by Jest's fake setTimeout, and moto's own state says
    // whether the request got there. (How long the delay takes in wall time is measured in bench/faults.ts.)
    const alarmState = async () => (await new CloudWatch({ region: MUMBAI, endpoint: moto.endpoint, credentials: CREDS }).describeAlarms({ AlarmNames: [ALARM] })).MetricAlarms?.map((a) => a.StateValue);
    const realSetTimeout = setTimeout;
    const tick = () => new Promise((r) => realSetTimeout(r, 5));
    await new CloudWatch({ region: MUMBAI, endpoint: moto.endpoint, credentials: CREDS }).setAlarmState({ AlarmName: ALARM, StateValue: 'OK', StateReason: 'latency test: before' });
    jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'] });
    try {
      proxy.addRule({ service: 'cloudwatch', operation: 'SetAlarmState', fault: { kind: 'latency', ms: 300 } });
      const call = cloudwatch().setAlarmState({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: 'latency test: through the proxy' });
      for (let i = 0; i < 2000 && proxy.log().length === 0; i++) await tick();
      const seen = () => proxy.log().map((e) => [e.operation, e.injected, e.status ?? 'not answered']);
      expect(seen()).toEqual([['SetAlarmState', 'latency:300', 'not answered']]);

      jest.advanceTimersByTime(299);
      expect(await alarmState()).toEqual(['OK']);
      expect(seen()).toEqual([['SetAlarmState', 'latency:300', 'not answered']]);

      jest.advanceTimersByTime(1);
      const out = await call;
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(await alarmState()).toEqual(['ALARM']);
      expect(seen()).toEqual([['SetAlarmState', 'latency:300', 200]]);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a custom error fault surfaces with its own code and status', async () => {
    proxy.addRule({ service: 'rds', fault: { kind: 'error', code: 'AccessDenied', status: 403, message: 'not allowed in this test' } });
    const err = await rejection(rds().describeDBInstances({}));
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toBe('not allowed in this test');
    expect(err.$metadata?.httpStatusCode).toBe(403);
  });
});

describe('fault proxy rules', () => {
  test('rules changed at run time take effect on the next request', async () => {
    const names = async () => (await cloudwatch().describeAlarms({ AlarmNames: [ALARM] })).MetricAlarms?.map((a) => a.AlarmName);
    expect(await names()).toEqual([ALARM]);
    proxy.setRules([{ id: 'cw-down', service: 'cloudwatch', fault: { kind: 'status', status: 500 } }]);
    expect((await rejection(cloudwatch().describeAlarms({ AlarmNames: [ALARM] }))).$metadata?.httpStatusCode).toBe(500);
    proxy.clearRules();
    expect(await names()).toEqual([ALARM]);
    expect(proxy.log().map((e) => e.rule ?? '-')).toEqual(['-', 'cw-down', '-']);
  });

  test('rules match on region, service and operation; non-matching requests pass', async () => {
    proxy.setRules([
      { region: SINGAPORE, service: 'rds', fault: { kind: 'throttle' } },
      { service: 'rds', operation: 'DescribeDBSnapshots', fault: { kind: 'throttle' } },
      { service: 'eks', fault: { kind: 'throttle' } },
    ]);
    // Mumbai holds the one instance seeded there; Singapore has no alarm (the seeded one is in Mumbai).
    expect((await rds({ region: MUMBAI }).describeDBInstances({})).DBInstances?.map((d) => d.DBInstanceIdentifier)).toEqual([DB]);
    expect((await cloudwatch({ region: SINGAPORE }).describeAlarms({})).MetricAlarms).toEqual([]);
    expect((await rejection(rds({ region: MUMBAI }).describeDBSnapshots({}))).name).toBe('Throttling');
    expect((await rejection(rds({ region: SINGAPORE }).describeDBInstances({}))).name).toBe('Throttling');
  });

  test('probability 0 never injects and probability 1 always does', async () => {
    proxy.setRules([{ service: 'rds', probability: 0, fault: { kind: 'throttle' } }]);
    for (let i = 0; i < 5; i++) await rds().describeDBInstances({});
    expect(proxy.log().filter((e) => e.injected)).toHaveLength(0);
    proxy.clearLog();
    proxy.setRules([{ service: 'rds', probability: 1, fault: { kind: 'throttle' } }]);
    for (let i = 0; i < 5; i++) await rejection(rds().describeDBInstances({}));
    expect(proxy.log().filter((e) => e.injected === 'throttle')).toHaveLength(5);
  });

  test('a seeded probability gives the same fault sequence on every run', async () => {
    const sequence = async () => {
      const own = await startFaultProxy({ target: moto.endpoint, seed: 42 });
      try {
        own.setRules([{ service: 'rds', probability: 0.5, fault: { kind: 'error', code: 'AccessDenied', status: 403 } }]);
        const client = new RDS({ region: MUMBAI, endpoint: own.endpoint, credentials: CREDS, maxAttempts: 1 });
        for (let i = 0; i < 8; i++) await client.describeDBInstances({}).catch(() => undefined);
        return own.log().map((e) => (e.injected ? 'x' : '.')).join('');
      } finally {
        await own.stop();
      }
    };
    const first = await sequence();
    expect(await sequence()).toBe(first);
    expect(first).toMatch(/x/);
    expect(first).toMatch(/\./);
  });
});

describe('fidelity rules: the suite\'s moto answers as AWS does where moto alone would not', () => {
  // moto.endpoint is the rules' proxy (startOwnMoto); moto.direct is moto itself.
  const via = (endpoint: string, region = MUMBAI) => ({ region, endpoint, credentials: CREDS, maxAttempts: 1 });

  test('every rule cites an AWS documentation page and the sentence it encodes', () => {
    expect(AWS_FIDELITY_RULES.length).toBeGreaterThanOrEqual(5);
    for (const r of AWS_FIDELITY_RULES) {
      expect(r.source.url).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      expect(r.source.says.length).toBeGreaterThan(40);
    }
    expect(new Set(AWS_FIDELITY_RULES.map((r) => r.id)).size).toBe(AWS_FIDELITY_RULES.length);
  });

  test('rds-identifier: a rename to 64 characters is refused with InvalidParameterValue (moto would rename)', async () => {
    const long = `r${'x'.repeat(63)}`;
    const e = await rejection(new RDS(via(moto.endpoint)).modifyDBInstance({ DBInstanceIdentifier: DB, NewDBInstanceIdentifier: long, ApplyImmediately: true }));
    expect(e.name).toBe('InvalidParameterValue');
    expect(e.message).toMatch(/NewDBInstanceIdentifier/);
    const twoHyphens = await rejection(new RDS(via(moto.endpoint)).modifyDBInstance({ DBInstanceIdentifier: DB, NewDBInstanceIdentifier: 'faults--db', ApplyImmediately: true }));
    expect(twoHyphens.name).toBe('InvalidParameterValue');
    // moto alone takes it; the instance is renamed back so the other tests find it.
    await new RDS(via(moto.direct)).modifyDBInstance({ DBInstanceIdentifier: DB, NewDBInstanceIdentifier: long, ApplyImmediately: true });
    await new RDS(via(moto.direct)).modifyDBInstance({ DBInstanceIdentifier: long, NewDBInstanceIdentifier: DB, ApplyImmediately: true });
    // A valid rename passes through (and back, on moto alone: the renamed instance is renaming for a while).
    await new RDS(via(moto.endpoint)).modifyDBInstance({ DBInstanceIdentifier: DB, NewDBInstanceIdentifier: `${DB}-old-202612041200-ab12`, ApplyImmediately: true });
    await new RDS(via(moto.direct)).modifyDBInstance({ DBInstanceIdentifier: `${DB}-old-202612041200-ab12`, NewDBInstanceIdentifier: DB, ApplyImmediately: true });
  });

  test('sns-subject: a subject of 100 characters is refused with InvalidParameter, 99 pass (moto takes any)', async () => {
    const topicArn = (await new SNS(via(moto.direct)).createTopic({ Name: `fidelity-${process.pid}` })).TopicArn;
    const e = await rejection(new SNS(via(moto.endpoint)).publish({ TopicArn: topicArn, Subject: 's'.repeat(100), Message: 'm' }));
    // The wire code is SNS's (InvalidParameter); the SDK names it by its model, as it would on AWS.
    expect(e.name).toBe('InvalidParameterException');
    const lineBreak = await rejection(new SNS(via(moto.endpoint)).publish({ TopicArn: topicArn, Subject: 'two\nlines', Message: 'm' }));
    expect(lineBreak.name).toBe('InvalidParameterException');
    await expect(new SNS(via(moto.endpoint)).publish({ TopicArn: topicArn, Subject: 's'.repeat(99), Message: 'm' })).resolves.toHaveProperty('MessageId');
    await expect(new SNS(via(moto.direct)).publish({ TopicArn: topicArn, Subject: 's'.repeat(100), Message: 'm' })).resolves.toHaveProperty('MessageId');
  });

  test('cloudwatch-period: GetMetricStatistics with a period of 90 s is refused; 1, 30 and 120 s pass (moto takes any)', async () => {
    const ask = (endpoint: string, Period: number) =>
      new CloudWatch(via(endpoint)).getMetricStatistics({ Namespace: 'AWS/RDS', MetricName: 'ReplicaLag', StartTime: new Date(Date.now() - 600_000), EndTime: new Date(), Period, Statistics: ['Maximum'] });
    const e = await rejection(ask(moto.endpoint, 90));
    expect(e.name).toBe('InvalidParameterValueException');
    expect(e.message).toMatch(/multiple of 60/);
    for (const ok of [1, 30, 120]) await expect(ask(moto.endpoint, ok)).resolves.toHaveProperty('Datapoints');
    await expect(ask(moto.direct, 90)).resolves.toHaveProperty('Datapoints');
  });

  test('rds-promotion-clears-source: after PromoteReadReplica the instance names no source and its source no longer lists it, under a new name too; a re-created replica of the same name replicates again', async () => {
    // Regions of their own: the other tests count the instances in Mumbai and Singapore.
    const [MUMBAI, SINGAPORE] = ['eu-west-1', 'eu-central-1'];
    const direct = (region: string) => new RDS(via(moto.direct, region));
    // Without rds-instance-states (tested on its own below): the promotion's states would delay the source's clearing.
    const own = await startFaultProxy({ target: moto.direct, fidelity: AWS_FIDELITY_RULES.filter((r) => r.id !== 'rds-instance-states') });
    try {
      const aws = (region: string) => new RDS(via(own.endpoint, region));
      const primary = `fid-src-${process.pid}`;
      const replica = `fid-rep-${process.pid}`;
      const primaryArn = (await direct(MUMBAI).createDBInstance({ DBInstanceIdentifier: primary, DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, BackupRetentionPeriod: 1 })).DBInstance?.DBInstanceArn as string;
      const replicaOf = async (endpoint: (r: string) => RDS, id: string) => (await endpoint(SINGAPORE).describeDBInstances({ DBInstanceIdentifier: id })).DBInstances?.[0]?.ReadReplicaSourceDBInstanceIdentifier;
      const listedBy = async (endpoint: (r: string) => RDS) => (await endpoint(MUMBAI).describeDBInstances({ DBInstanceIdentifier: primary })).DBInstances?.[0]?.ReadReplicaDBInstanceIdentifiers ?? [];
      await direct(SINGAPORE).createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: primaryArn });
      const replicaArn = (await direct(SINGAPORE).describeDBInstances({ DBInstanceIdentifier: replica })).DBInstances?.[0]?.DBInstanceArn as string;
      expect(await replicaOf(aws, replica)).toBe(primaryArn);
      expect(await listedBy(aws)).toEqual([replicaArn]);

      await aws(SINGAPORE).promoteReadReplica({ DBInstanceIdentifier: replica });
      expect(await replicaOf(aws, replica)).toBeUndefined();
      expect(await listedBy(aws)).toEqual([]);
      // moto alone keeps both.
      expect(await replicaOf(direct, replica)).toBe(primaryArn);
      expect(await listedBy(direct)).toEqual([replicaArn]);

      // Renamed (as failback retires it), it stays standalone; a new replica under the old name replicates.
      const retired = `${replica}-old-202612041200-ab12`;
      await aws(SINGAPORE).modifyDBInstance({ DBInstanceIdentifier: replica, NewDBInstanceIdentifier: retired, ApplyImmediately: true });
      expect(await replicaOf(aws, retired)).toBeUndefined();
      await aws(SINGAPORE).createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: primaryArn });
      expect(await replicaOf(aws, replica)).toBe(primaryArn);
      // Deleted, then created again under the same name, an instance is a new one: it replicates.
      await aws(SINGAPORE).deleteDBInstance({ DBInstanceIdentifier: retired, SkipFinalSnapshot: true });
      await aws(SINGAPORE).createDBInstanceReadReplica({ DBInstanceIdentifier: retired, SourceDBInstanceIdentifier: primaryArn });
      expect(await replicaOf(aws, retired)).toBe(primaryArn);
    } finally {
      await own.stop();
    }
  });

  test('rds-cross-region-encrypted-replica: a cross-region replica of an encrypted source needs a key of its own region (moto copies the source\'s key); same-region replicas and unencrypted sources pass as before', async () => {
    // Regions of their own: the other tests count the instances in Mumbai and Singapore.
    const [FRANKFURT, LONDON] = ['eu-central-1', 'eu-west-2'];
    const aws = (region: string) => new RDS(via(moto.endpoint, region));
    const direct = (region: string) => new RDS(via(moto.direct, region));
    const create = (id: string, encrypted: boolean) =>
      aws(FRANKFURT).createDBInstance({ DBInstanceIdentifier: id, DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, BackupRetentionPeriod: 1, ...(encrypted ? { StorageEncrypted: true, KmsKeyId: `arn:aws:kms:${FRANKFURT}:123456789012:key/fra` } : {}) });
    const [sealed, plain] = [`fid-enc-${process.pid}`, `fid-plain-${process.pid}`];
    const sealedArn = (await create(sealed, true)).DBInstance?.DBInstanceArn as string;
    const plainArn = (await create(plain, false)).DBInstance?.DBInstanceArn as string;
    const replica = (id: string, source: string, KmsKeyId?: string) => aws(LONDON).createDBInstanceReadReplica({ DBInstanceIdentifier: id, SourceDBInstanceIdentifier: source, ...(KmsKeyId ? { KmsKeyId } : {}) });

    const noKey = await rejection(replica(`${sealed}-r1`, sealedArn));
    expect([noKey.name, noKey.message]).toEqual(['InvalidParameterCombination', 'Cannot create a cross region unencrypted read replica from encrypted source.']);
    const foreign = await rejection(replica(`${sealed}-r2`, sealedArn, `arn:aws:kms:${FRANKFURT}:123456789012:key/fra`));
    expect(foreign.name).toBe('KMSKeyNotAccessibleFault');
    const keyOnPlain = await rejection(replica(`${plain}-r1`, plainArn, `arn:aws:kms:${LONDON}:123456789012:key/lon`));
    expect([keyOnPlain.name, keyOnPlain.message]).toEqual(['InvalidParameterCombination', "You can't create an encrypted read replica from an unencrypted DB instance."]);

    // With a key of its own region, created, encrypted with it; an unencrypted source's replica needs none.
    const made = (await replica(`${sealed}-r3`, sealedArn, `arn:aws:kms:${LONDON}:123456789012:key/lon`)).DBInstance;
    expect([made?.StorageEncrypted, made?.KmsKeyId]).toEqual([true, `arn:aws:kms:${LONDON}:123456789012:key/lon`]);
    await expect(replica(`${plain}-r2`, plainArn)).resolves.toHaveProperty('DBInstance');
    // Renamed, the source is still known to be encrypted: its new name needs a key too.
    await aws(FRANKFURT).modifyDBInstance({ DBInstanceIdentifier: sealed, NewDBInstanceIdentifier: `${sealed}-old`, ApplyImmediately: true });
    const renamedArn = sealedArn.replace(`:db:${sealed}`, `:db:${sealed}-old`);
    expect((await rejection(replica(`${sealed}-r4`, renamedArn))).name).toBe('InvalidParameterCombination');
    // moto alone copies the source's key into the replica, another region's.
    const copied = (await direct(LONDON).createDBInstanceReadReplica({ DBInstanceIdentifier: `${sealed}-r5`, SourceDBInstanceIdentifier: plainArn.replace(plain, `${sealed}-old`) })).DBInstance;
    expect(copied?.KmsKeyId).toBe(`arn:aws:kms:${FRANKFURT}:123456789012:key/fra`);
  });

  // Regions of their own for the replica rules: the other tests count the instances in Mumbai and Singapore.
  const [WEST1, WEST2] = ['us-west-1', 'us-west-2'];

  /**
   * A proxy of its own with the suite's rules but rds-instance-states (its passing states would refuse modifications
   * made back to back), and what the replica tests make through it; `tag` keeps each test's names apart.
   */
  async function replicaRules(tag: string) {
    const own = await startFaultProxy({ target: moto.direct, fidelity: AWS_FIDELITY_RULES.filter((r) => r.id !== 'rds-instance-states') });
    const name = (what: string) => `fid-${tag}-${what}-${process.pid}`;
    const aws = (region: string) => new RDS(via(own.endpoint, region));
    const direct = (region: string) => new RDS(via(moto.direct, region));
    /** A security group, DB subnet group, option group and DB parameter group (postgres 13) of `region`, made through the rules. */
    const groups = async (region: string) => {
      const sg = (await new EC2(via(own.endpoint, region)).createSecurityGroup({ GroupName: name(`sg-${region}`), Description: 'fidelity' })).GroupId as string;
      const subnets = ((await new EC2(via(moto.direct, region)).describeSubnets({})).Subnets ?? []).map((s) => s.SubnetId as string).slice(0, 2);
      const subnetGroup = name(`sn-${region}`);
      const vpc = (await aws(region).createDBSubnetGroup({ DBSubnetGroupName: subnetGroup, DBSubnetGroupDescription: 'fidelity', SubnetIds: subnets })).DBSubnetGroup?.VpcId as string;
      const optionGroup = name(`og-${region}`);
      await aws(region).createOptionGroup({ OptionGroupName: optionGroup, EngineName: 'postgres', MajorEngineVersion: '13', OptionGroupDescription: 'fidelity' });
      const parameterGroup = name(`pg-${region}`);
      await aws(region).createDBParameterGroup({ DBParameterGroupName: parameterGroup, DBParameterGroupFamily: 'postgres13', Description: 'fidelity' });
      return { sg, subnetGroup, vpc, optionGroup, parameterGroup };
    };
    /** A postgres 13.7 source in WEST1, in groups of its own, keeping backups 7 days. */
    const source = async () => {
      const g = await groups(WEST1);
      // moto gives a cross-region replica its source's parameter group name and looks it up in the replica's region
      // (DescribeDBInstances answers 500 there without one): a twin in WEST2, made on moto alone, unknown to the rules.
      await direct(WEST2).createDBParameterGroup({ DBParameterGroupName: g.parameterGroup, DBParameterGroupFamily: 'postgres13', Description: 'twin' });
      const id = name('src');
      const created = await aws(WEST1).createDBInstance({
        DBInstanceIdentifier: id,
        DBInstanceClass: 'db.t3.micro',
        Engine: 'postgres',
        EngineVersion: '13.7',
        MasterUsername: 'drover',
        MasterUserPassword: 'not-a-secret-1',
        AllocatedStorage: 20,
        BackupRetentionPeriod: 7,
        DBSubnetGroupName: g.subnetGroup,
        VpcSecurityGroupIds: [g.sg],
        DBParameterGroupName: g.parameterGroup,
        OptionGroupName: g.optionGroup,
      });
      return { ...g, id, arn: created.DBInstance?.DBInstanceArn as string };
    };
    /** What DescribeDBInstances shows of an instance's backups and groups. */
    const shown = async (client: RDS, id: string) => {
      const db = (await client.describeDBInstances({ DBInstanceIdentifier: id })).DBInstances?.[0];
      return {
        retention: db?.BackupRetentionPeriod,
        subnetGroup: db?.DBSubnetGroup?.DBSubnetGroupName,
        vpc: db?.DBSubnetGroup?.VpcId,
        securityGroups: db?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId),
        parameterGroups: db?.DBParameterGroups?.map((g) => g.DBParameterGroupName),
        optionGroups: db?.OptionGroupMemberships?.map((g) => g.OptionGroupName),
      };
    };
    return { name, aws, direct, groups, source, shown, log: () => own.log(), stop: () => own.stop() };
  }

  test('rds-cross-region-replica-defaults: a cross-region replica given no groups shows its region\'s defaults (subnet group default, the default security group, default.postgres13, default:postgres-13) and backups off; a same-region one keeps its source\'s groups, backups off (moto copies the source\'s, another region\'s)', async () => {
    expect(engineDefaults('mysql', '8.0.35')).toEqual({ parameterGroup: 'default.mysql8.0', optionGroup: 'default:mysql-8-0' });
    expect(engineDefaults('postgres', '16.3')).toEqual({ parameterGroup: 'default.postgres16', optionGroup: 'default:postgres-16' });
    expect(engineDefaults('mariadb', '10.11.6')).toEqual({ parameterGroup: 'default.mariadb10.11', optionGroup: 'default:mariadb-10-11' });
    expect(engineDefaults('postgres', '9.6.22')).toEqual({ parameterGroup: 'default.postgres9.6', optionGroup: 'default:postgres-9-6' });
    expect(engineDefaults('oracle-ee', '19.0.0.0.ru-2024-01.rur-2024-01.r1')).toBeUndefined();
    const w = await replicaRules('def');
    try {
      const src = await w.source();
      const replica = w.name('rep');
      const made = (await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: src.arn })).DBInstance;
      // The answer to the creation already shows it as RDS does.
      expect([made?.BackupRetentionPeriod, made?.DBSubnetGroup?.DBSubnetGroupName, made?.DBParameterGroups?.[0]?.DBParameterGroupName]).toEqual([0, 'default', 'default.postgres13']);
      expect(await w.shown(w.aws(WEST2), replica)).toEqual({
        retention: 0,
        subnetGroup: 'default',
        vpc: undefined,
        securityGroups: [`sg-default-${WEST2}`],
        parameterGroups: ['default.postgres13'],
        optionGroups: ['default:postgres-13'],
      });
      // moto alone: the source's, of WEST1.
      expect(await w.shown(w.direct(WEST2), replica)).toEqual({ retention: 7, subnetGroup: src.subnetGroup, vpc: src.vpc, securityGroups: [src.sg], parameterGroups: [src.parameterGroup], optionGroups: [src.optionGroup] });

      // In the source's region, the source's groups ("inherited from the source DB instance"), backups off all the same.
      const sameRegion = w.name('rep-same');
      await w.aws(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: sameRegion, SourceDBInstanceIdentifier: src.id });
      const inherited = { subnetGroup: src.subnetGroup, vpc: src.vpc, securityGroups: [src.sg], parameterGroups: [src.parameterGroup], optionGroups: [src.optionGroup] };
      expect(await w.shown(w.aws(WEST1), sameRegion)).toEqual({ retention: 0, ...inherited });
      expect(await w.shown(w.direct(WEST1), sameRegion)).toEqual({ retention: 7, ...inherited });
      // The source itself is shown as moto has it.
      expect(await w.shown(w.aws(WEST1), src.id)).toEqual({ retention: 7, ...inherited });
    } finally {
      await w.stop();
    }
  });

  test('rds-cross-region-replica-defaults: ModifyDBInstance shows what it sets, PromoteReadReplica turns backups on (1 day unless told), a rename carries what RDS shows to the new name, and a new instance under the name shows its own', async () => {
    const w = await replicaRules('life');
    try {
      const src = await w.source();
      const own = await w.groups(WEST2);
      const defaults = { subnetGroup: 'default', vpc: undefined, securityGroups: [`sg-default-${WEST2}`], parameterGroups: ['default.postgres13'], optionGroups: ['default:postgres-13'] };
      const replica = w.name('rep');
      await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: src.arn });

      await w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: replica, BackupRetentionPeriod: 3, ApplyImmediately: true });
      expect(await w.shown(w.aws(WEST2), replica)).toEqual({ ...defaults, retention: 3 });
      await w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: replica, VpcSecurityGroupIds: [own.sg], ApplyImmediately: true });
      expect(await w.shown(w.aws(WEST2), replica)).toEqual({ ...defaults, retention: 3, securityGroups: [own.sg] });

      // Renamed (as a failback retires it), the new name shows the same; moto alone, the source's groups still.
      const retired = `${replica}-old`;
      await w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: replica, NewDBInstanceIdentifier: retired, ApplyImmediately: true });
      expect(await w.shown(w.aws(WEST2), retired)).toEqual({ ...defaults, retention: 3, securityGroups: [own.sg] });
      expect((await w.shown(w.direct(WEST2), retired)).parameterGroups).toEqual([src.parameterGroup]);

      // Promoted without BackupRetentionPeriod: "Default: 1" (moto keeps the source's 7); with one, that one.
      const promoted = w.name('rep-p');
      await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: promoted, SourceDBInstanceIdentifier: src.arn });
      expect((await w.aws(WEST2).promoteReadReplica({ DBInstanceIdentifier: promoted })).DBInstance?.BackupRetentionPeriod).toBe(1);
      expect(await w.shown(w.aws(WEST2), promoted)).toEqual({ ...defaults, retention: 1 });
      expect((await w.shown(w.direct(WEST2), promoted)).retention).toBe(7);
      const told = w.name('rep-t');
      await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: told, SourceDBInstanceIdentifier: src.arn });
      await w.aws(WEST2).promoteReadReplica({ DBInstanceIdentifier: told, BackupRetentionPeriod: 5 });
      expect((await w.shown(w.aws(WEST2), told)).retention).toBe(5);

      // Deleted, and a new instance created under the name: it shows its own, as moto does. (Promoted first: moto fails
      // deleting a cross-region replica, 500, looking it up in its source's list by identifier where it lists the ARN.)
      await w.aws(WEST2).promoteReadReplica({ DBInstanceIdentifier: retired });
      await w.aws(WEST2).deleteDBInstance({ DBInstanceIdentifier: retired, SkipFinalSnapshot: true });
      await w.aws(WEST2).createDBInstance({ DBInstanceIdentifier: retired, DBInstanceClass: 'db.t3.micro', Engine: 'postgres', EngineVersion: '13.7', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, BackupRetentionPeriod: 2, VpcSecurityGroupIds: [own.sg] });
      expect(await w.shown(w.aws(WEST2), retired)).toEqual(await w.shown(w.direct(WEST2), retired));
      expect((await w.shown(w.aws(WEST2), retired)).retention).toBe(2);
    } finally {
      await w.stop();
    }
  });

  test('rds-replica-regional-references: a replica shows the groups of its region it was given; a DB subnet group, security group, option group or DB parameter group the rules saw made in another region only is refused, on ModifyDBInstance and CreateDBInstance too (moto takes any region\'s)', async () => {
    const w = await replicaRules('ref');
    try {
      const src = await w.source();
      const own = await w.groups(WEST2);
      // moto looks a replica's DB subnet group up in its source's region: a twin there, on moto alone, unknown to the rules.
      const subnets = ((await new EC2(via(moto.direct, WEST1)).describeSubnets({})).Subnets ?? []).map((s) => s.SubnetId as string).slice(0, 2);
      await w.direct(WEST1).createDBSubnetGroup({ DBSubnetGroupName: own.subnetGroup, DBSubnetGroupDescription: 'twin', SubnetIds: subnets });

      const given = w.name('rep');
      await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: given, SourceDBInstanceIdentifier: src.arn, DBSubnetGroupName: own.subnetGroup, VpcSecurityGroupIds: [own.sg], OptionGroupName: own.optionGroup });
      expect(await w.shown(w.aws(WEST2), given)).toEqual({ retention: 0, subnetGroup: own.subnetGroup, vpc: own.vpc, securityGroups: [own.sg], parameterGroups: ['default.postgres13'], optionGroups: [own.optionGroup] });
      // moto alone shows its source region's subnet group of that name (in WEST1's VPC).
      expect((await w.shown(w.direct(WEST2), given)).vpc).toBe(src.vpc);

      const refused = (extra: { DBSubnetGroupName?: string; VpcSecurityGroupIds?: string[]; OptionGroupName?: string }) =>
        rejection(w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('refused'), SourceDBInstanceIdentifier: src.arn, ...extra }));
      const subnetGroup = await refused({ DBSubnetGroupName: src.subnetGroup });
      expect([subnetGroup.name, subnetGroup.$metadata?.httpStatusCode]).toEqual(['DBSubnetGroupNotFoundFault', 404]);
      const securityGroup = await refused({ VpcSecurityGroupIds: [own.sg, src.sg] });
      expect([securityGroup.name, securityGroup.$metadata?.httpStatusCode]).toEqual(['InvalidParameterValue', 400]);
      expect(securityGroup.message).toContain(`Invalid security group , groupId= ${src.sg}, groupName=.`);
      const optionGroup = await refused({ OptionGroupName: src.optionGroup });
      expect([optionGroup.name, optionGroup.$metadata?.httpStatusCode]).toEqual(['OptionGroupNotFoundFault', 404]);
      const modified = await rejection(w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: given, VpcSecurityGroupIds: [src.sg], ApplyImmediately: true }));
      expect(modified.name).toBe('InvalidParameterValue');
      expect((await rejection(w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: given, OptionGroupName: src.optionGroup, ApplyImmediately: true }))).name).toBe('OptionGroupNotFoundFault');
      const created = await rejection(
        w.aws(WEST2).createDBInstance({ DBInstanceIdentifier: w.name('new'), DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, DBSubnetGroupName: src.subnetGroup }),
      );
      expect(created.name).toBe('DBSubnetGroupNotFoundFault');
      // One of that name made in WEST2 on moto alone (past the rules) is moto's to judge: the rule asks it first.
      await w.direct(WEST2).createDBSubnetGroup({ DBSubnetGroupName: src.subnetGroup, DBSubnetGroupDescription: 'made past the rules', SubnetIds: ((await new EC2(via(moto.direct, WEST2)).describeSubnets({})).Subnets ?? []).map((s) => s.SubnetId as string).slice(0, 2) });
      await expect(
        w.aws(WEST2).createDBInstance({ DBInstanceIdentifier: w.name('new'), DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, DBSubnetGroupName: src.subnetGroup }),
      ).resolves.toHaveProperty('DBInstance');
      // None of them reached moto: the replica is as it was.
      expect((await w.shown(w.direct(WEST2), given)).securityGroups).toEqual([own.sg]);
      // A security group the rules never saw made is moto's to judge (it takes it).
      await expect(w.aws(WEST2).modifyDBInstance({ DBInstanceIdentifier: given, VpcSecurityGroupIds: [own.sg, 'sg-0fee1900d0c5ab1e5'], ApplyImmediately: true })).resolves.toHaveProperty('DBInstance');

      // moto alone takes WEST1's groups for a WEST2 replica.
      const copied = (await w.direct(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('moto'), SourceDBInstanceIdentifier: src.arn, DBSubnetGroupName: src.subnetGroup, VpcSecurityGroupIds: [src.sg], OptionGroupName: src.optionGroup })).DBInstance;
      expect([copied?.DBSubnetGroup?.DBSubnetGroupName, copied?.VpcSecurityGroups?.[0]?.VpcSecurityGroupId, copied?.OptionGroupMemberships?.[0]?.OptionGroupName]).toEqual([src.subnetGroup, src.sg, src.optionGroup]);

      // In the source's region, a DB subnet group is refused for a source named by identifier, taken for one named by
      // ARN (hashicorp/terraform-provider-aws#40426); moto alone takes both.
      const notAllowed = await rejection(w.aws(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('same'), SourceDBInstanceIdentifier: src.id, DBSubnetGroupName: src.subnetGroup }));
      expect([notAllowed.name, notAllowed.$metadata?.httpStatusCode]).toEqual(['DBSubnetGroupNotAllowedFault', 400]);
      await expect(w.aws(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('same'), SourceDBInstanceIdentifier: src.arn, DBSubnetGroupName: src.subnetGroup })).resolves.toHaveProperty('DBInstance');
      await expect(w.direct(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('same-moto'), SourceDBInstanceIdentifier: src.id, DBSubnetGroupName: src.subnetGroup })).resolves.toHaveProperty('DBInstance');
    } finally {
      await w.stop();
    }
  });

  test('rds-replica-regional-references: DBParameterGroupName on a replica is taken only for MySQL across regions (a group of the replica\'s region: shown; of the source\'s: DBParameterGroupNotFound); PostgreSQL, and MySQL in its own region, are refused with InvalidParameterCombination', async () => {
    const w = await replicaRules('pg');
    try {
      const src = await w.source();
      const postgres = await rejection(w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('pg-rep'), SourceDBInstanceIdentifier: src.arn, DBParameterGroupName: src.parameterGroup }));
      expect([postgres.name, postgres.message]).toEqual(['InvalidParameterCombination', "A parameter group can't be specified during Read Replica creation for the following DB engine: postgres"]);
      expect((await rejection(w.aws(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('pg-same'), SourceDBInstanceIdentifier: src.id, DBParameterGroupName: src.parameterGroup }))).name).toBe('InvalidParameterCombination');
      const mysql = w.name('my');
      const mysqlArn = (
        await w.aws(WEST1).createDBInstance({ DBInstanceIdentifier: mysql, DBInstanceClass: 'db.t3.micro', Engine: 'mysql', EngineVersion: '8.0.35', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, BackupRetentionPeriod: 1 })
      ).DBInstance?.DBInstanceArn as string;
      const [west1Group, west2Group] = [w.name('mypg-w1'), w.name('mypg-w2')];
      await w.aws(WEST1).createDBParameterGroup({ DBParameterGroupName: west1Group, DBParameterGroupFamily: 'mysql8.0', Description: 'fidelity' });
      await w.aws(WEST2).createDBParameterGroup({ DBParameterGroupName: west2Group, DBParameterGroupFamily: 'mysql8.0', Description: 'fidelity' });
      const other = await rejection(w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('my-rep'), SourceDBInstanceIdentifier: mysqlArn, DBParameterGroupName: west1Group }));
      expect([other.name, other.$metadata?.httpStatusCode]).toEqual(['DBParameterGroupNotFoundFault', 404]);
      await w.aws(WEST2).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('my-rep'), SourceDBInstanceIdentifier: mysqlArn, DBParameterGroupName: west2Group });
      expect(await w.shown(w.aws(WEST2), w.name('my-rep'))).toEqual({ retention: 0, subnetGroup: undefined, vpc: undefined, securityGroups: [`sg-default-${WEST2}`], parameterGroups: [west2Group], optionGroups: ['default:mysql-8-0'] });
      const sameRegion = await rejection(w.aws(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('my-same'), SourceDBInstanceIdentifier: mysql, DBParameterGroupName: west1Group }));
      expect([sameRegion.name, sameRegion.message]).toEqual(['InvalidParameterCombination', "A parameter group can't be specified during Read Replica creation for the following DB engine: mysql"]);
      // moto alone takes a parameter group on a same-region replica.
      await expect(w.direct(WEST1).createDBInstanceReadReplica({ DBInstanceIdentifier: w.name('my-same-moto'), SourceDBInstanceIdentifier: mysql, DBParameterGroupName: west1Group })).resolves.toHaveProperty('DBInstance');
      // ModifyDBInstance with another region's DB parameter group: not found (the rule answers; moto would too).
      const modified = await rejection(w.aws(WEST1).modifyDBInstance({ DBInstanceIdentifier: mysql, DBParameterGroupName: west2Group, ApplyImmediately: true }));
      expect(modified.name).toBe('DBParameterGroupNotFoundFault');
      expect(w.log().at(-1)).toMatchObject({ operation: 'ModifyDBInstance', injected: 'fidelity:rds-replica-regional-references', status: 404 });
    } finally {
      await w.stop();
    }
  });

  test('cloudwatch-alarm-initial-state: a new alarm is INSUFFICIENT_DATA until its state is set, an update leaves its state, one created again starts anew (moto starts and resets every alarm OK)', async () => {
    // A region of its own: the other tests count the alarms in Mumbai and Singapore.
    const IRELAND = 'eu-west-1';
    const aws = new CloudWatch(via(moto.endpoint, IRELAND));
    const direct = new CloudWatch(via(moto.direct, IRELAND));
    const [fresh, seeded] = [`fid-new-${process.pid}`, `fid-direct-${process.pid}`];
    const put = (cw: CloudWatch, name: string, Threshold = 1) =>
      cw.putMetricAlarm({ AlarmName: name, Namespace: 'Drover/Fidelity', MetricName: name, Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const states = async (cw: CloudWatch, extra: { StateValue?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' } = {}) =>
      Object.fromEntries(((await cw.describeAlarms({ AlarmNames: [fresh, seeded], ...extra })).MetricAlarms ?? []).map((a) => [a.AlarmName, a.StateValue]));

    await put(aws, fresh);
    // Created past the rules (as a seed straight into moto would): read through them, it is new all the same.
    await put(direct, seeded);
    expect(await states(aws)).toEqual({ [fresh]: 'INSUFFICIENT_DATA', [seeded]: 'INSUFFICIENT_DATA' });
    expect((await aws.describeAlarms({ AlarmNames: [fresh] })).MetricAlarms?.[0]?.StateReason).toBe('Unchecked: Initial alarm creation');
    expect(await states(direct)).toEqual({ [fresh]: 'OK', [seeded]: 'OK' });

    await aws.setAlarmState({ AlarmName: fresh, StateValue: 'ALARM', StateReason: 'fidelity test' });
    expect(await states(aws)).toEqual({ [fresh]: 'ALARM', [seeded]: 'INSUFFICIENT_DATA' });
    // Asked for one state, only the alarms in it (moto ignores StateValue beside AlarmNames).
    expect(await states(aws, { StateValue: 'INSUFFICIENT_DATA' })).toEqual({ [seeded]: 'INSUFFICIENT_DATA' });
    expect(await states(direct, { StateValue: 'INSUFFICIENT_DATA' })).toEqual({ [fresh]: 'ALARM', [seeded]: 'OK' });

    // Updated, the alarm keeps its state (moto resets it to OK).
    await put(aws, fresh, 5);
    const updated = (await aws.describeAlarms({ AlarmNames: [fresh] })).MetricAlarms?.[0];
    expect([updated?.Threshold, updated?.StateValue, updated?.StateReason]).toEqual([5, 'ALARM', 'fidelity test']);
    expect((await direct.describeAlarms({ AlarmNames: [fresh] })).MetricAlarms?.[0]?.StateValue).toBe('OK');

    // Deleted and created again under its name, it is a new alarm.
    await aws.deleteAlarms({ AlarmNames: [fresh] });
    await put(aws, fresh);
    expect(await states(aws)).toEqual({ [fresh]: 'INSUFFICIENT_DATA', [seeded]: 'INSUFFICIENT_DATA' });
  });

  test('cloudwatch-describe-alarms-pages: DescribeAlarms answers 50 alarms a page (MaxRecords when given) with a NextToken to the next; a token it did not hand out and MaxRecords past 100 are refused (moto answers all at once)', async () => {
    const FRANKFURT = 'eu-central-1';
    const aws = new CloudWatch(via(moto.endpoint, FRANKFURT));
    const direct = new CloudWatch(via(moto.direct, FRANKFURT));
    const prefix = `fid-page-${process.pid}-`;
    const names = Array.from({ length: 60 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
    for (const n of names) await direct.putMetricAlarm({ AlarmName: n, Namespace: 'Drover/Fidelity', MetricName: n, Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const pages = async (cw: CloudWatch, MaxRecords?: number) => {
      const out: Array<[number, boolean]> = [];
      const seen: string[] = [];
      let NextToken: string | undefined;
      do {
        const page = await cw.describeAlarms({ AlarmNamePrefix: prefix, ...(MaxRecords ? { MaxRecords } : {}), ...(NextToken ? { NextToken } : {}) });
        out.push([page.MetricAlarms?.length ?? 0, page.NextToken !== undefined]);
        seen.push(...(page.MetricAlarms ?? []).map((a) => a.AlarmName ?? ''));
        NextToken = page.NextToken;
      } while (NextToken);
      return { out, seen };
    };

    const byDefault = await pages(aws);
    expect(byDefault.out).toEqual([[50, true], [10, false]]);
    expect([...byDefault.seen].sort()).toEqual(names);
    expect((await pages(aws, 25)).out).toEqual([[25, true], [25, true], [10, false]]);
    expect((await pages(direct, 25)).out).toEqual([[60, false]]);

    const badToken = await rejection(aws.describeAlarms({ AlarmNamePrefix: prefix, NextToken: 'not-a-token-of-ours' }));
    expect([badToken.name, badToken.$metadata?.httpStatusCode]).toEqual(['InvalidNextToken', 400]);
    const tooMany = await rejection(aws.describeAlarms({ AlarmNamePrefix: prefix, MaxRecords: 101 }));
    // CloudWatch's ValidationError (the SDK names the JSON protocol's error ValidationException).
    expect([tooMany.name, tooMany.$metadata?.httpStatusCode]).toEqual(['ValidationException', 400]);
    expect(tooMany.message).toMatch(/maxRecords.*less than or equal to 100/);
  });

  test('rds-instance-states: a promotion passes through modifying, rebooting and backing-up, a snapshot through backing-up; RDS refuses changes meanwhile with InvalidDBInstanceState, and the source clears once the promotion rebooted', async () => {
    const [REGION] = ['eu-west-3'];
    const own = await startFaultProxy({ target: moto.direct, fidelity: [rdsInstanceStates({ phaseMs: 600 }), ...AWS_FIDELITY_RULES.filter((r) => r.id !== 'rds-instance-states')] });
    try {
      const direct = new RDS(via(moto.direct, REGION));
      const aws = new RDS(via(own.endpoint, REGION));
      const primary = `fid-st-src-${process.pid}`;
      const replica = `fid-st-rep-${process.pid}`;
      await direct.createDBInstance({ DBInstanceIdentifier: primary, DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, BackupRetentionPeriod: 1 });
      await direct.createDBInstanceReadReplica({ DBInstanceIdentifier: replica, SourceDBInstanceIdentifier: primary });
      const seen = async (id: string) => {
        const db = (await aws.describeDBInstances({ DBInstanceIdentifier: id })).DBInstances?.[0];
        return `${db?.DBInstanceStatus}${db?.ReadReplicaSourceDBInstanceIdentifier ? ' (replica)' : ''}`;
      };

      await aws.promoteReadReplica({ DBInstanceIdentifier: replica });
      const statuses: string[] = [];
      for (let last = ''; last !== 'available'; await new Promise((r) => setTimeout(r, 50))) {
        const now = await seen(replica);
        if (now !== statuses.at(-1)) statuses.push(now);
        last = now;
        if (statuses.length === 1) {
          // Refused meanwhile, as RDS refuses a promotion while backing-up; moto alone takes it.
          const refused = await rejection(aws.modifyDBInstance({ DBInstanceIdentifier: replica, DeletionProtection: false, ApplyImmediately: true }));
          expect(refused.name).toBe('InvalidDBInstanceStateFault');
        }
      }
      expect(statuses).toEqual(['modifying (replica)', 'rebooting (replica)', 'backing-up', 'available']);
      expect((await direct.describeDBInstances({ DBInstanceIdentifier: replica })).DBInstances?.[0]?.DBInstanceStatus).toBe('available');

      await aws.createDBSnapshot({ DBInstanceIdentifier: primary, DBSnapshotIdentifier: `${primary}-snap` });
      expect(await seen(primary)).toBe('backing-up');
      expect((await rejection(aws.deleteDBInstance({ DBInstanceIdentifier: primary, SkipFinalSnapshot: true }))).name).toBe('InvalidDBInstanceStateFault');
      await new Promise((r) => setTimeout(r, 700));
      expect(await seen(primary)).toBe('available');
      await aws.modifyDBInstance({ DBInstanceIdentifier: primary, DeletionProtection: false, ApplyImmediately: true });
      expect(await seen(primary)).toBe('modifying');
    } finally {
      await own.stop();
    }
  });

  test('the rules never crash the proxy: a body that is no form, a path that does not decode and a bucket name S3 would refuse go to the emulator as they are', async () => {
    const own = await startFaultProxy({ target: moto.direct, fidelity: AWS_FIDELITY_RULES });
    try {
      const signed = (region: string, service: string) => ({ authorization: `AWS4-HMAC-SHA256 Credential=x/20261204/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0` });
      await fetch(`${own.endpoint}/`, { method: 'POST', headers: { ...signed(MUMBAI, 'sns'), 'content-type': 'application/json' }, body: '{"Action":"Publish","Subject":' }).then((r) => r.arrayBuffer());
      await fetch(`${own.endpoint}/%E0%A4%A/key`, { method: 'PUT', headers: signed('us-east-1', 's3'), body: 'x' }).then((r) => r.arrayBuffer());
      await fetch(`${own.endpoint}/Not_A_Bucket`, { method: 'PUT', headers: signed('us-east-1', 's3') }).then((r) => r.arrayBuffer());
      // Each reached moto and was answered by it: no rule injected anything, and none failed (a failing rule answers 500 InternalFailure).
      expect(own.log().map((e) => ({ operation: e.operation, injected: e.injected, answered: e.status !== undefined }))).toEqual([
        { operation: 'unknown', injected: undefined, answered: true },
        { operation: 'PutObject', injected: undefined, answered: true },
        { operation: 'CreateBucket', injected: undefined, answered: true },
      ]);
      // And the rules still answer as AWS does afterwards.
      const topicArn = (await new SNS(via(moto.direct)).createTopic({ Name: `fidelity-after-${process.pid}` })).TopicArn;
      expect((await rejection(new SNS(via(own.endpoint)).publish({ TopicArn: topicArn, Subject: 's'.repeat(100), Message: 'm' }))).name).toBe('InvalidParameterException');
      expect(own.log().at(-1)).toMatchObject({ operation: 'Publish', injected: 'fidelity:sns-subject', status: 400 });
    } finally {
      await own.stop();
    }
  });

  test('route53-request-rate: a burst past the account bucket (50) is throttled as Route 53 throttles (400 Throttling, Rate exceeded); drover\'s own clients keep within their share and meet no throttle', async () => {
    const own = await startFaultProxy({ target: moto.direct, fidelity: AWS_FIDELITY_RULES });
    try {
      const raw = new Route53({ region: 'us-east-1', endpoint: own.endpoint, credentials: CREDS, maxAttempts: 1 });
      const burst = await Promise.allSettled(Array.from({ length: 60 }, () => raw.listHostedZones({})));
      const refused = burst.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error & { $metadata?: { httpStatusCode?: number } });
      // 50 from the full bucket, and the few its refill (10 a second) adds while the burst arrives (more on a slow machine).
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeLessThanOrEqual(10);
      for (const e of refused) {
        expect(e.name).toBe('Throttling');
        expect(e.message).toBe('Rate exceeded');
        expect(e.$metadata?.httpStatusCode).toBe(400);
      }
      // Refilled (10 a second), the bucket takes calls again; then drover's clients, 55 calls at once, wait for their
      // share (ROUTE53_BUDGET) and are never throttled.
      await new Promise((r) => setTimeout(r, 5_000));
      own.clearLog();
      const route53 = createAwsClients({ endpoint: own.endpoint, credentials: CREDS }).route53();
      const answers = await Promise.all(Array.from({ length: 55 }, () => route53.listHostedZonesByName({ DNSName: 'faults.example.test' })));
      expect(answers.every((a) => a.$metadata.httpStatusCode === 200)).toBe(true);
      expect(own.log().filter((e) => e.injected === 'fidelity:route53-request-rate')).toEqual([]);
      expect(own.log().filter((e) => e.operation === 'ListHostedZonesByName')).toHaveLength(55);
    } finally {
      await own.stop();
    }
  }, 30_000);

  /** A cluster and node group of their own in `region` (a region no other test uses), created on moto directly. */
  async function eksGroup(region: string, tags?: Record<string, string>) {
    const cluster = `fid-eks-${process.pid}-${Date.now().toString(36)}`;
    const direct = new EKS(via(moto.direct, region));
    await direct.createCluster({ name: cluster, roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-a', 'subnet-b'] } });
    await direct.createNodegroup({ clusterName: cluster, nodegroupName: 'general', nodeRole: 'arn:aws:iam::123456789012:role/nodes', subnets: ['subnet-a'], scalingConfig: { minSize: 1, maxSize: 8, desiredSize: 1 }, tags });
    return { cluster, nodegroupName: 'general', direct };
  }

  test('eks-nodegroup-update: an update is InProgress (the node group UPDATING, a second update refused 409 ResourceInUseException), then Successful; DescribeUpdate and ListUpdates answer it (moto alone: Successful at once, neither call)', async () => {
    expect(AWS_FIDELITY_RULES.map((r) => r.id)).toEqual(expect.arrayContaining(['eks-nodegroup-update', 'eks-nodegroup-health']));
    // A proxy of its own with updates of 1.5 s, so the InProgress answers are read well inside the window.
    const own = await startFaultProxy({ target: moto.direct, fidelity: eksFidelityRules({ updateMs: 1500 }) });
    try {
      const { cluster, nodegroupName, direct } = await eksGroup('eu-west-1');
      const aws = new EKS(via(own.endpoint, 'eu-west-1'));
      const started = await aws.updateNodegroupConfig({ clusterName: cluster, nodegroupName, scalingConfig: { minSize: 3, desiredSize: 3, maxSize: 8 } });
      const id = started.update?.id as string;
      expect(started.update).toMatchObject({ id: expect.any(String), status: 'InProgress', type: 'ConfigUpdate', errors: [] });
      expect((await aws.describeUpdate({ name: cluster, nodegroupName, updateId: id })).update).toMatchObject({ id, status: 'InProgress', type: 'ConfigUpdate' });
      expect((await aws.listUpdates({ name: cluster, nodegroupName })).updateIds).toEqual([id]);
      expect((await aws.describeNodegroup({ clusterName: cluster, nodegroupName })).nodegroup).toMatchObject({ status: 'UPDATING', scalingConfig: { minSize: 3, desiredSize: 3, maxSize: 8 } });
      const busy = await rejection(aws.updateNodegroupConfig({ clusterName: cluster, nodegroupName, scalingConfig: { minSize: 4, desiredSize: 4, maxSize: 8 } }));
      expect(busy.name).toBe('ResourceInUseException');
      expect(busy.$metadata?.httpStatusCode).toBe(409);
      expect(busy.message).toContain(id);
      expect(own.log().at(-1)).toMatchObject({ operation: 'UpdateNodegroupConfig', injected: 'fidelity:eks-nodegroup-update', status: 409 });
      // The refused update never reached moto.
      expect((await direct.describeNodegroup({ clusterName: cluster, nodegroupName })).nodegroup?.scalingConfig).toMatchObject({ desiredSize: 3 });

      const deadline = Date.now() + 10_000;
      while ((await aws.describeUpdate({ name: cluster, nodegroupName, updateId: id })).update?.status === 'InProgress' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await aws.describeUpdate({ name: cluster, nodegroupName, updateId: id })).update).toMatchObject({ id, status: 'Successful' });
      expect((await aws.describeNodegroup({ clusterName: cluster, nodegroupName })).nodegroup?.status).toBe('ACTIVE');
      // Over, it no longer blocks the next one.
      const next = await aws.updateNodegroupConfig({ clusterName: cluster, nodegroupName, scalingConfig: { minSize: 4, desiredSize: 4, maxSize: 8 } });
      expect(next.update?.status).toBe('InProgress');
      expect((await aws.listUpdates({ name: cluster, nodegroupName })).updateIds).toEqual([id, next.update?.id]);

      // An update nobody made, and the updates of a node group that does not exist, are not found.
      expect((await rejection(aws.describeUpdate({ name: cluster, nodegroupName, updateId: '00000000-0000-4000-8000-000000000000' }))).name).toBe('ResourceNotFoundException');
      expect((await rejection(aws.listUpdates({ name: cluster, nodegroupName: 'missing' }))).name).toBe('ResourceNotFoundException');
      // moto alone: the update is over at once, and it implements neither DescribeUpdate nor ListUpdates.
      const motoAlone = await direct.updateNodegroupConfig({ clusterName: cluster, nodegroupName, scalingConfig: { minSize: 5, desiredSize: 5, maxSize: 8 } });
      expect(motoAlone.update?.status).toBe('Successful');
      expect((await rejection(direct.describeUpdate({ name: cluster, nodegroupName, updateId: id }))).$metadata?.httpStatusCode).toBe(404);
    } finally {
      await own.stop();
    }
  });

  test('eks-nodegroup-health: a node group created with the drover-fault/health-issue tag reports that issue (AsgInstanceLaunchFailures, naming its Auto Scaling group) through the suite\'s rules; others, and moto alone, report none', async () => {
    const region = 'eu-central-1';
    const short = await eksGroup(region, { [HEALTH_ISSUE_TAG]: 'AsgInstanceLaunchFailures' });
    const fine = await eksGroup(region);
    const aws = new EKS(via(moto.endpoint, region));
    const ng = (await aws.describeNodegroup({ clusterName: short.cluster, nodegroupName: short.nodegroupName })).nodegroup;
    const asg = ng?.resources?.autoScalingGroups?.[0]?.name as string;
    expect(asg).toEqual(expect.any(String));
    expect(ng?.health?.issues).toEqual([{ code: 'AsgInstanceLaunchFailures', message: expect.stringMatching(/InsufficientInstanceCapacity/), resourceIds: [asg] }]);
    expect((await aws.describeNodegroup({ clusterName: fine.cluster, nodegroupName: fine.nodegroupName })).nodegroup?.health?.issues).toEqual([]);
    expect((await short.direct.describeNodegroup({ clusterName: short.cluster, nodegroupName: short.nodegroupName })).nodegroup?.health?.issues).toEqual([]);
  });
});
