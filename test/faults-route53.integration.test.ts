/**
 * The Route 53 health check fidelity rules (infra/faults/fidelity-route53.ts) and the fault proxy's region-loss model
 * (`regionLoss`, `callsTo`), against a moto of this file's own behind the proxy.
 */
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EC2 } from '@aws-sdk/client-ec2';
import { IAM } from '@aws-sdk/client-iam';
import { Route53, type CreateHealthCheckCommandInput } from '@aws-sdk/client-route-53';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AWS_FIDELITY_RULES } from '../infra/faults/fidelity';
import { ROUTE53_FIDELITY_RULES } from '../infra/faults/fidelity-route53';
import { callsTo, regionLoss, startFaultProxy, type FaultProxy, type ProxyLogEntry } from '../infra/faults/proxy';
import { startOwnMoto, type MotoServer } from './harness/servers';

const CREDS = { accessKeyId: 'x', secretAccessKey: 'x' };
const PARIS = 'eu-west-3';
const MUMBAI = 'ap-south-1';

let moto: MotoServer & { direct: string };
/** moto behind the suite's fidelity rules, with a log of its own (moto.endpoint's proxy keeps its log to itself). */
let aws: FaultProxy;

beforeAll(async () => {
  moto = await startOwnMoto();
  aws = await startFaultProxy({ target: moto.direct, fidelity: AWS_FIDELITY_RULES });
}, 60_000);

afterAll(async () => {
  await aws?.stop();
  await moto?.stop();
});

/** The rejection of a promise, failing the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const route53 = (endpoint: string, region = 'us-east-1', requestHandler?: NodeHttpHandler) => new Route53({ region, endpoint, credentials: CREDS, maxAttempts: 1, requestHandler });

/** A CLOUDWATCH_METRIC health check on alarm `name` in eu-west-2, with a CallerReference unique to this run. */
const cloudwatchCheck = (reference: string, name = 'x'): CreateHealthCheckCommandInput => ({
  CallerReference: `${reference}-${process.pid}`,
  HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier: { Region: 'eu-west-2', Name: name }, InsufficientDataHealthStatus: 'LastKnownStatus' },
});

describe('route53-health-check-alarm: a CLOUDWATCH_METRIC health check answers with its alarm, as Route 53 does', () => {
  test('Create, Get and List answer the AlarmIdentifier and InsufficientDataHealthStatus it was created with, and no endpoint Port or IPAddress; moto alone drops both and answers Port 80', async () => {
    expect(AWS_FIDELITY_RULES.map((r) => r.id)).toEqual(expect.arrayContaining(ROUTE53_FIDELITY_RULES.map((r) => r.id)));
    const r53 = route53(aws.endpoint);
    const created = await r53.createHealthCheck(cloudwatchCheck('alarm'));
    const id = created.HealthCheck?.Id as string;
    const asAws = { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier: { Region: 'eu-west-2', Name: 'x' }, InsufficientDataHealthStatus: 'LastKnownStatus' };
    expect(created.HealthCheck?.HealthCheckConfig).toMatchObject(asAws);
    expect(created.$metadata.httpStatusCode).toBe(201);

    const got = (await r53.getHealthCheck({ HealthCheckId: id })).HealthCheck?.HealthCheckConfig;
    expect(got).toMatchObject(asAws);
    expect([got?.Port, got?.IPAddress]).toEqual([undefined, undefined]);
    const listed = (await r53.listHealthChecks({})).HealthChecks?.find((h) => h.Id === id);
    expect(listed?.HealthCheckConfig).toMatchObject(asAws);
    expect(listed?.HealthCheckConfig?.Port).toBeUndefined();

    // What the rule makes up for: moto itself has neither setting, and a Port.
    const motoAlone = (await route53(moto.direct).getHealthCheck({ HealthCheckId: id })).HealthCheck?.HealthCheckConfig;
    expect([motoAlone?.AlarmIdentifier, motoAlone?.InsufficientDataHealthStatus, motoAlone?.Port]).toEqual([undefined, undefined, 80]);
  });

  test('UpdateHealthCheck may set another alarm and InsufficientDataHealthStatus: the update and later reads answer them; an update of another setting keeps them', async () => {
    const r53 = route53(aws.endpoint);
    const id = (await r53.createHealthCheck(cloudwatchCheck('alarm-update'))).HealthCheck?.Id as string;
    const updated = await r53.updateHealthCheck({ HealthCheckId: id, AlarmIdentifier: { Region: 'eu-west-1', Name: 'y' }, InsufficientDataHealthStatus: 'Unhealthy' });
    expect(updated.HealthCheck?.HealthCheckConfig).toMatchObject({ AlarmIdentifier: { Region: 'eu-west-1', Name: 'y' }, InsufficientDataHealthStatus: 'Unhealthy' });
    await r53.updateHealthCheck({ HealthCheckId: id, Inverted: true });
    expect((await r53.getHealthCheck({ HealthCheckId: id })).HealthCheck?.HealthCheckConfig).toMatchObject({
      Inverted: true,
      AlarmIdentifier: { Region: 'eu-west-1', Name: 'y' },
      InsufficientDataHealthStatus: 'Unhealthy',
    });
    // Only the status, and the alarm stays as it was.
    await r53.updateHealthCheck({ HealthCheckId: id, InsufficientDataHealthStatus: 'Healthy' });
    expect((await r53.getHealthCheck({ HealthCheckId: id })).HealthCheck?.HealthCheckConfig).toMatchObject({ AlarmIdentifier: { Region: 'eu-west-1', Name: 'y' }, InsufficientDataHealthStatus: 'Healthy' });
  });
});

describe('route53-health-check-caller-reference: CreateHealthCheck is idempotent on its CallerReference, as Route 53 is', () => {
  test('the same request twice answers the same health check (201, with its Location) and one is listed; moto alone creates two', async () => {
    const r53 = route53(aws.endpoint);
    const input = cloudwatchCheck('twice');
    const first = await r53.createHealthCheck(input);
    aws.clearLog();
    const again = await r53.createHealthCheck(input);
    expect(again.HealthCheck?.Id).toBe(first.HealthCheck?.Id);
    expect(again.$metadata.httpStatusCode).toBe(201);
    expect(again.Location).toBe(`https://route53.amazonaws.com/2013-04-01/healthcheck/${first.HealthCheck?.Id}`);
    // Answered as the health check is, alarm included.
    expect(again.HealthCheck?.HealthCheckConfig).toMatchObject({ AlarmIdentifier: { Region: 'eu-west-2', Name: 'x' }, InsufficientDataHealthStatus: 'LastKnownStatus' });
    expect(aws.log().map((e) => [e.operation, e.injected, e.status])).toEqual([['CreateHealthCheck', 'fidelity:route53-health-check-caller-reference', 201]]);
    const mine = async (endpoint: string, reference: string) => ((await route53(endpoint).listHealthChecks({})).HealthChecks ?? []).filter((h) => h.CallerReference === reference);
    expect((await mine(aws.endpoint, input.CallerReference as string)).map((h) => h.Id)).toEqual([first.HealthCheck?.Id]);

    const direct = cloudwatchCheck('twice-moto-alone');
    await route53(moto.direct).createHealthCheck(direct);
    await route53(moto.direct).createHealthCheck(direct);
    expect(await mine(moto.direct, direct.CallerReference as string)).toHaveLength(2);
  });

  test('the same CallerReference with another alarm is refused 409 HealthCheckAlreadyExists; once the health check is deleted, so is its CallerReference whatever the settings', async () => {
    const r53 = route53(aws.endpoint);
    const input = cloudwatchCheck('conflict');
    const id = (await r53.createHealthCheck(input)).HealthCheck?.Id as string;
    const other = await rejection(r53.createHealthCheck(cloudwatchCheck('conflict', 'another-alarm')));
    expect([other.name, other.$metadata?.httpStatusCode]).toEqual(['HealthCheckAlreadyExists', 409]);
    expect(aws.log().at(-1)).toMatchObject({ operation: 'CreateHealthCheck', injected: 'fidelity:route53-health-check-caller-reference', status: 409 });

    await r53.deleteHealthCheck({ HealthCheckId: id });
    expect((await rejection(r53.getHealthCheck({ HealthCheckId: id }))).name).toBe('NoSuchHealthCheck');
    for (const again of [input, cloudwatchCheck('conflict', 'another-alarm')]) {
      const refused = await rejection(r53.createHealthCheck(again));
      expect([refused.name, refused.$metadata?.httpStatusCode]).toEqual(['HealthCheckAlreadyExists', 409]);
    }
    expect(((await r53.listHealthChecks({})).HealthChecks ?? []).filter((h) => h.CallerReference === input.CallerReference)).toEqual([]);
  });
});

describe('regionLoss: a lost region never answers, and losing us-east-1 loses the control planes hosted there', () => {
  let faults: FaultProxy;
  // A blackholed request is held until the client gives up: after 500 ms here. A call that must be answered gets
  // 15 s (moto builds a region's EC2 on its first call, which can take more than 500 ms).
  const handler = (ms = 500) => new NodeHttpHandler({ requestTimeout: ms, throwOnRequestTimeout: true });
  const ANSWERED_MS = 15_000;
  const summary = (log: ProxyLogEntry[]) => log.map((e) => [e.region, e.service, e.operation, e.injected ?? 'forwarded', e.status ?? 'no answer']);

  beforeAll(async () => {
    faults = await startFaultProxy({ target: moto.endpoint });
  });
  afterAll(async () => {
    await faults?.stop();
  });
  beforeEach(() => {
    faults.clearRules();
    faults.clearLog();
  });

  /** The status of a GetCallerIdentity signed for `region` (moto checks no signature), or 'no answer' when the client gave up after `ms`. */
  const stsCallerIdentity = (region: string, ms = 500) =>
    fetch(`${faults.endpoint}/`, {
      method: 'POST',
      headers: { authorization: `AWS4-HMAC-SHA256 Credential=x/20261204/${region}/sts/aws4_request, SignedHeaders=host, Signature=0`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      signal: AbortSignal.timeout(ms),
    }).then(
      (r) => r.status,
      () => 'no answer',
    );

  test('a region rule and the us-east-1 control planes', () => {
    expect(regionLoss(MUMBAI)).toEqual([{ id: 'region-loss:ap-south-1', region: MUMBAI, fault: { kind: 'blackhole' } }]);
    expect(regionLoss('us-east-1')).toEqual([
      { id: 'region-loss:us-east-1', region: 'us-east-1', fault: { kind: 'blackhole' } },
      { id: 'region-loss:us-east-1', service: 'route53', fault: { kind: 'blackhole' } },
      { id: 'region-loss:us-east-1', service: 'iam', fault: { kind: 'blackhole' } },
    ]);
  });

  test('with us-east-1 lost, Route 53 and IAM time out whatever region their client names, and so does the global STS endpoint; EC2, CloudWatch and STS in eu-west-3 answer', async () => {
    faults.setRules(regionLoss('us-east-1'));
    const r53 = await rejection(route53(faults.endpoint, 'us-east-1', handler()).listHostedZones({}));
    expect(r53.name).toBe('TimeoutError');
    // A Route 53 client that names another region signs for it (its endpoint is overridden): matched by service.
    expect((await rejection(route53(faults.endpoint, PARIS, handler()).listHostedZones({}))).name).toBe('TimeoutError');
    expect((await rejection(new IAM({ region: PARIS, endpoint: faults.endpoint, credentials: CREDS, maxAttempts: 1, requestHandler: handler() }).listRoles({}))).name).toBe('TimeoutError');
    expect(await stsCallerIdentity('us-east-1')).toBe('no answer');

    const zones = await new EC2({ region: PARIS, endpoint: faults.endpoint, credentials: CREDS, maxAttempts: 1, requestHandler: handler(ANSWERED_MS) }).describeAvailabilityZones({});
    expect(zones.AvailabilityZones?.every((z) => z.RegionName === PARIS)).toBe(true);
    const alarms = await new CloudWatch({ region: PARIS, endpoint: faults.endpoint, credentials: CREDS, maxAttempts: 1, requestHandler: handler(ANSWERED_MS) }).describeAlarms({});
    expect(alarms.$metadata.httpStatusCode).toBe(200);
    expect(await stsCallerIdentity(PARIS, ANSWERED_MS)).toBe(200);

    const log = faults.log();
    // Every request addressed to us-east-1 (Route 53 and IAM signed for eu-west-3 included) was held, none answered.
    expect(summary(callsTo(log, 'us-east-1'))).toEqual([
      ['us-east-1', 'route53', 'ListHostedZones', 'blackhole', 'no answer'],
      [PARIS, 'route53', 'ListHostedZones', 'blackhole', 'no answer'],
      [PARIS, 'iam', 'ListRoles', 'blackhole', 'no answer'],
      ['us-east-1', 'sts', 'GetCallerIdentity', 'blackhole', 'no answer'],
    ]);
    expect(callsTo(log, 'us-east-1').every((e) => e.rule === 'region-loss:us-east-1')).toBe(true);
    expect(summary(log.filter((e) => !callsTo(log, 'us-east-1').includes(e)))).toEqual([
      [PARIS, 'ec2', 'DescribeAvailabilityZones', 'forwarded', 200],
      [PARIS, 'cloudwatch', 'DescribeAlarms', 'forwarded', 200],
      [PARIS, 'sts', 'GetCallerIdentity', 'forwarded', 200],
    ]);
  }, 60_000);

  test('with ap-south-1 lost, Route 53 still answers and ap-south-1 does not: no request addressed to ap-south-1 was answered', async () => {
    faults.setRules(regionLoss(MUMBAI));
    expect((await route53(faults.endpoint, 'us-east-1', handler(ANSWERED_MS)).listHostedZones({})).$metadata.httpStatusCode).toBe(200);
    expect((await rejection(new EC2({ region: MUMBAI, endpoint: faults.endpoint, credentials: CREDS, maxAttempts: 1, requestHandler: handler() }).describeAvailabilityZones({}))).name).toBe('TimeoutError');
    expect(await stsCallerIdentity(MUMBAI)).toBe('no answer');

    const log = faults.log();
    expect(summary(callsTo(log, MUMBAI))).toEqual([
      [MUMBAI, 'ec2', 'DescribeAvailabilityZones', 'blackhole', 'no answer'],
      [MUMBAI, 'sts', 'GetCallerIdentity', 'blackhole', 'no answer'],
    ]);
    expect(summary(callsTo(log, 'us-east-1'))).toEqual([['us-east-1', 'route53', 'ListHostedZones', 'forwarded', 200]]);
  }, 60_000);
});
