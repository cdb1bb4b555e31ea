/**
 * Leaving a lost region (docs/region-loss.md), end to end: the real Temporal dev server, moto behind the fidelity rules
 * (CloudWatch alarms evaluated, CLOUDWATCH_METRIC health checks kept as AWS keeps them) and, in front of it, the fault
 * proxy's region-loss model. moto stores health checks but never evaluates them: the tests assert the configuration
 * drover prepare makes and what the failover flips against Route 53's documented semantics (docs/region-loss.md).
 */
import fs from 'node:fs';
import { workerSinks } from '../cli/worker';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EC2 } from '@aws-sdk/client-ec2';
import { Route53, type CloudWatchRegion, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { callerReferenceOf } from '../activities/controls';
import { createAwsClients, type AwsConfig } from '../aws/clients';
import { exec } from '../cli/main';
import { renderOutcome } from '../cli/render';
import { controlOf, coverageOf } from '../contracts/controls';
import type { RunStatus } from '../contracts/run';
import { callsTo, regionLoss, startFaultProxy, type FaultProxy } from '../infra/faults/proxy';
import { startLagFeeders, startRegionApps, type RegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import type { Runbook } from '../runbooks/schema';
import type { FailbackInput } from '../workflows/failback';
import type { FailoverInput } from '../workflows/regionFailover';
import { captureIO, emulatorConfig, eventually, failureRecord, onlyDatabase, refOf, testRunbooks, workflowBundle, writeRunbook } from './harness/fixtures';
import { startOwnMoto, testTemporalAddress } from './harness/servers';

const CREDS = { accessKeyId: 'drover-local', secretAccessKey: 'drover-local' };
const VIRGINIA = { primary: 'us-east-1', standby: 'us-west-2' };
const MUMBAI = { primary: 'ap-south-1', standby: 'ap-southeast-1' };

let moto: MotoServer;
let proxy: FaultProxy;
let apps: RegionApps;
let client: Client;
let connection: Connection;
let nativeConnection: NativeConnection;
const savedEnv = { ...process.env };
const feeders: Array<{ stop(): void }> = [];
let seq = 0;

beforeAll(async () => {
  moto = await startOwnMoto();
  proxy = await startFaultProxy({ target: moto.endpoint });
  apps = await startRegionApps([VIRGINIA.primary, VIRGINIA.standby, MUMBAI.primary, MUMBAI.standby]);
  connection = await Connection.connect({ address: testTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
  client = new Client({ connection });
  await workflowBundle();
});

afterAll(async () => {
  process.env = savedEnv;
  for (const f of feeders) f.stop();
  await connection?.close();
  await nativeConnection?.close();
  await apps?.stop();
  await proxy?.stop();
  await moto?.stop();
});

afterEach(() => {
  proxy.clearRules();
  proxy.clearLog();
});

const route53 = () => new Route53({ region: 'us-east-1', endpoint: moto.endpoint, credentials: CREDS });
const cloudwatch = (region: string) => new CloudWatch({ region, endpoint: moto.endpoint, credentials: CREDS });

/** A seeded ApnaKart in `pair`, its writer record in a private zone of its own named by id (the usual split of a database name). */
async function seeded(pair: { primary: string; standby: string }, set: Array<[Array<string | number>, unknown]> = []): Promise<{ file: string; runbook: Runbook; taskQueue: string; writerZoneId: string }> {
  const name = `rl-${process.pid}-${++seq}`;
  const internal = `internal.${name}.apnakart.test`;
  const vpc = await new EC2({ region: pair.primary, endpoint: moto.endpoint, credentials: CREDS }).createVpc({ CidrBlock: '10.40.0.0/16' });
  const zone = await route53().createHostedZone({ Name: internal, CallerReference: `test-${name}`, HostedZoneConfig: { PrivateZone: true, Comment: 'databases' }, VPC: { VPCRegion: pair.primary as 'us-east-1', VPCId: vpc.Vpc?.VpcId } });
  const writerZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  const { file, runbook } = writeRunbook({
    name,
    unique: true,
    regions: pair,
    probeBases: { [pair.primary]: apps.apps[pair.primary].baseUrl, [pair.standby]: apps.apps[pair.standby].baseUrl },
    set: [
      [['approvals', 'gates'], []],
      [['database', 'writerRecord', 'name'], `writer.${internal}`],
      [['database', 'writerRecord', 'zone'], internal],
      [['database', 'writerRecord', 'zoneId'], writerZoneId],
      ...set,
    ],
  });
  await seedRunbook(runbook, emulatorConfig(moto.endpoint));
  // Both regions: a failback waits for its new replica in the original region to catch up.
  feeders.push(startLagFeeders({ endpoint: moto.endpoint, rb: runbook, regions: [pair.standby, pair.primary], lagSeconds: 0, everyMs: 300 }));
  return { file, runbook, taskQueue: `tq-${name}`, writerZoneId };
}

async function withWorker<T>(taskQueue: string, config: AwsConfig, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({ sinks: workerSinks(), connection: nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: createActivities({ aws: createAwsClients(config), temporal: () => client, runbooks: testRunbooks }) });
  return worker.runUntil(fn);
}

/** The worker's AWS: every region through the fault proxy (whose rules lose a region). */
const throughProxy = (): AwsConfig => emulatorConfig(proxy.endpoint);

function failover(rb: Runbook, taskQueue: string, mode: FailoverInput['mode']): Promise<RunStatus> {
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: rb.regions.standby, mode, reason: 'region lost', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
  return client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] }) as Promise<RunStatus>;
}

/** Every record set of a zone. */
async function setsOf(zoneId: string): Promise<ResourceRecordSet[]> {
  return (await route53().listResourceRecordSets({ HostedZoneId: zoneId })).ResourceRecordSets ?? [];
}

async function zoneIdOf(name: string): Promise<string> {
  return ((await route53().listHostedZonesByName({ DNSName: name })).HostedZones?.[0]?.Id ?? '').replace('/hostedzone/', '');
}

/** The primary's caller reference (its alarm in the standby). */
const refOfControl = (rb: Runbook) => callerReferenceOf(rb.name, rb.regions.primary, rb.regions.standby);

/** drover's health checks of the runbook: the primary's control, and none of any other shape (no standby control). */
async function healthChecks(rb: Runbook): Promise<Record<string, { id: string; alarm?: { Region?: string; Name?: string }; insufficient?: string; type?: string }>> {
  const all = (await route53().listHealthChecks({})).HealthChecks ?? [];
  const hc = all.filter((h) => h.CallerReference === refOfControl(rb));
  expect(hc).toHaveLength(1);
  // No other drover check follows an alarm of this runbook (the standby has none).
  expect(all.filter((h) => (h.CallerReference ?? '').startsWith('drover-control-') && h.HealthCheckConfig?.AlarmIdentifier?.Name?.startsWith(`drover-control-${rb.name}-`)).map((h) => h.Id)).toEqual([hc[0].Id]);
  return { [rb.regions.primary]: { id: hc[0].Id ?? '', alarm: hc[0].HealthCheckConfig?.AlarmIdentifier, insufficient: hc[0].HealthCheckConfig?.InsufficientDataHealthStatus, type: hc[0].HealthCheckConfig?.Type } };
}

async function alarmState(rb: Runbook, region: string): Promise<string | undefined> {
  const spec = controlOf(rb, region);
  return (await cloudwatch(spec.alarmRegion).describeAlarms({ AlarmNames: [spec.alarmName] })).MetricAlarms?.[0]?.StateValue;
}

/** What the controls and records say: the DNS answer follows from it by Route 53's documented rules. */
async function routing(rb: Runbook, writerZoneId: string) {
  const hcs = await healthChecks(rb);
  const traffic = await setsOf(await zoneIdOf(rb.dns.hostedZone));
  const records = rb.dns.records.map((r) =>
    Object.fromEntries(
      [rb.regions.primary, rb.regions.standby].map((region) => {
        const s = traffic.find((x) => x.Name?.replace(/\.$/, '') === r.name && x.SetIdentifier === r.targets[region].setIdentifier);
        return [region, { weight: s?.Weight, failover: s?.Failover, healthCheck: s?.HealthCheckId !== undefined && s.HealthCheckId === hcs[region]?.id ? 'drover' : s?.HealthCheckId }];
      }),
    ),
  );
  const writer = (await setsOf(writerZoneId)).filter((s) => s.Name?.replace(/\.$/, '') === onlyDatabase(rb).writerRecord.name);
  return { hcs, records, writer };
}

describe('us-east-1 lost', () => {
  test('given a runbook whose primary is us-east-1 (weighted and failover records, a private writer zone by id): unprepared, an unplanned failover is refused at preflight; drover prepare builds the controls idempotently; then the failover completes with zero requests to us-east-1, Route 53 included', async () => {
    const { file, runbook: rb, taskQueue, writerZoneId } = await seeded(VIRGINIA);
    const { primary, standby } = rb.regions;
    proxy.setRules(regionLoss(primary));

    // Not prepared: refused at preflight with the command to run, nothing changed, nothing sent to us-east-1.
    const refused = await withWorker(taskQueue, throughProxy(), () => failureRecord<RunStatus>(failover(rb, taskQueue, 'unplanned')));
    expect(refused.error?.type).toBe('PreflightFailed');
    expect(refused.error?.message).toContain(`run drover prepare <the ${rb.name} runbook file> --apply`);
    expect(refused.steps.find((s) => s.id === 'promote-database')?.status).toBe('pending');
    expect(callsTo(proxy.log(), primary)).toEqual([]);
    await client.workflow.getHandle(`failover-${rb.name}`).result().catch(() => undefined);

    // drover prepare, in peacetime (Route 53's API answers): shown, applied, then nothing left to do.
    proxy.clearRules();
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    const shown = captureIO();
    expect(await exec(['prepare', file], shown)).toBe(1);
    expect(shown.stdout.join('\n')).toContain(`create alarm ${controlOf(rb, primary).alarmName}`);
    expect(shown.stdout.join('\n')).toContain(`replace writer ${onlyDatabase(rb).writerRecord.name}`);
    expect((await route53().listHealthChecks({})).HealthChecks?.filter((h) => h.CallerReference === refOfControl(rb))).toEqual([]);
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    const again = captureIO();
    expect(await exec(['prepare', file], again)).toBe(0);
    expect(again.stdout).toEqual([`${rb.name}: data-plane controls ready; nothing to change`]);

    // What prepare made: the primary's health check follows an alarm in the standby region; every primary set carries
    // it and no standby set carries any (always healthy: withdrawing the primary cannot fail open); the writer is a
    // failover pair whose PRIMARY points where the CNAME pointed (the primary's endpoint).
    const before = await routing(rb, writerZoneId);
    expect(before.hcs[primary]).toEqual({ id: expect.any(String), type: 'CLOUDWATCH_METRIC', alarm: { Region: standby, Name: controlOf(rb, primary).alarmName }, insufficient: 'LastKnownStatus' });
    for (const r of before.records) expect([r[primary].healthCheck, r[standby].healthCheck]).toEqual(['drover', undefined]);
    expect(before.writer.map((s) => [s.SetIdentifier, s.Failover, s.HealthCheckId === undefined ? 'none' : s.HealthCheckId === before.hcs[primary].id ? 'drover' : s.HealthCheckId]).sort()).toEqual([
      [`drover-writer-${primary}`, 'PRIMARY', 'drover'],
      [`drover-writer-${standby}`, 'SECONDARY', 'none'],
    ]);
    // The new alarm says OK once CloudWatch has evaluated the period of prepare's 0 (the fidelity rule evaluates by the
    // clock, as CloudWatch does: read until then, never once).
    await eventually(async () => (await alarmState(rb, primary)) === 'OK', `${controlOf(rb, primary).alarmName} to evaluate prepare's 0 (OK)`);
    expect([await alarmState(rb, primary), await alarmState(rb, standby)]).toEqual(['OK', undefined]);

    // us-east-1 lost: every request signed for it, and Route 53's and IAM's control planes, blackholed.
    proxy.setRules(regionLoss(primary));
    proxy.clearLog();
    const done = await withWorker(taskQueue, throughProxy(), () => failover(rb, taskQueue, 'unplanned'));

    expect(done.phase).toBe('completed');
    expect(callsTo(proxy.log(), primary)).toEqual([]);
    expect(proxy.log().filter((e) => e.service === 'route53')).toEqual([]);
    // The controls end sending everything to the standby: the primary's health check follows an alarm now ALARM, so
    // Route 53 leaves out each primary set (weighted: the standby's weight-0 set answers once no non-zero set is
    // healthy; failover: SECONDARY answers while PRIMARY is unhealthy; the writer pair alike).
    expect(await alarmState(rb, primary)).toBe('ALARM');
    const after = await routing(rb, writerZoneId);
    expect(after.records).toEqual(before.records);
    expect(done.dataPlane).toMatchObject({ mechanism: 'route53-health-check-cloudwatch-metric', control: { region: primary, alarmRegion: standby } });
    expect(done.steps.find((s) => s.id === 'withdraw-region')?.notes?.[0]).toMatch(/flipped to ALARM at .+: Route 53 health checks \(CLOUDWATCH_METRIC\) take us-east-1's record sets and writer sets out of DNS answers within 120s/);
    const outcome = renderOutcome(done).join('\n');
    expect(outcome).toContain('traffic: moved by Route 53 health checks (CLOUDWATCH_METRIC)');
    expect(outcome).toMatch(/DNS detection after the flip: up to 2m/);
  });
});

describe('another region lost', () => {
  test('given ap-south-1 lost, the same unplanned failover completes without a request to it; after it returns, failback writes the routing into the records, restores the control and shifts traffic back', async () => {
    const { file, runbook: rb, taskQueue, writerZoneId } = await seeded(MUMBAI);
    const { primary, standby } = rb.regions;
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);

    proxy.setRules(regionLoss(primary));
    const done = await withWorker(taskQueue, throughProxy(), () => failover(rb, taskQueue, 'unplanned'));
    expect(done.phase).toBe('completed');
    expect(callsTo(proxy.log(), primary)).toEqual([]);
    expect(await alarmState(rb, primary)).toBe('ALARM');

    // The region is back: failback.
    proxy.clearRules();
    const input: FailbackInput = { runbookRef: refOf(rb), reason: 'region back', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
    const back = (await withWorker(taskQueue, throughProxy(), () => client.workflow.execute('failback', { taskQueue, workflowId: `failback-${rb.name}`, args: [input] }))) as RunStatus;

    expect(back.phase).toBe('completed');
    expect(back.steps.find((s) => s.id === 'restore-controls')?.notes?.at(-1)).toMatch(new RegExp(`is OK since .+: ${primary} answers again where the records send it$`));
    expect(await alarmState(rb, primary)).toBe('OK');
    const r = await routing(rb, writerZoneId);
    // Normal routing: weights and roles on the primary again, every primary set still carrying its control.
    for (const [i, rec] of rb.dns.records.entries()) {
      expect(rec.routing === 'weighted' ? [r.records[i][primary].weight, r.records[i][standby].weight] : [r.records[i][primary].failover, r.records[i][standby].failover]).toEqual(rec.routing === 'weighted' ? [100, 0] : ['PRIMARY', 'SECONDARY']);
      expect([r.records[i][primary].healthCheck, r.records[i][standby].healthCheck]).toEqual(['drover', undefined]);
    }
    expect(r.writer.find((s) => s.Failover === 'PRIMARY')?.SetIdentifier).toBe(`drover-writer-${primary}`);
  }, 300_000);

  test('given prepared controls, a planned failover still shifts progressively with soaks, and the sets keep their health checks', async () => {
    const { file, runbook: rb, taskQueue, writerZoneId } = await seeded(MUMBAI);
    const { primary, standby } = rb.regions;
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);

    const done = await withWorker(taskQueue, emulatorConfig(moto.endpoint), () => failover(rb, taskQueue, 'planned'));

    expect(done.phase).toBe('completed');
    expect(done.steps.filter((s) => s.id.startsWith('traffic-')).map((s) => [s.id, s.status])).toEqual(rb.dns.shift.steps.map((p) => [`traffic-${p}`, 'done']));
    expect(done.dataPlane).toBeUndefined();
    const r = await routing(rb, writerZoneId);
    for (const rec of r.records) expect([rec[primary].healthCheck, rec[standby].healthCheck]).toEqual(['drover', undefined]);
    expect(r.writer.find((s) => s.Failover === 'PRIMARY')?.SetIdentifier).toBe(`drover-writer-${standby}`);
    // Never withdrawn: prepare's 0, once evaluated, says OK (a withdrawal would hold ALARM).
    await eventually(async () => (await alarmState(rb, primary)) !== 'INSUFFICIENT_DATA', `${controlOf(rb, primary).alarmName} to evaluate prepare's 0`);
    expect(await alarmState(rb, primary)).toBe('OK');
  });
});

describe('the ready mark', () => {
  test('given controls prepared for the records as they were, a runbook with a record added since reads them as not ready (an unplanned failover refuses them); prepare again marks them ready', async () => {
    const { file, runbook: rb } = await seeded(MUMBAI);
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    const activities = createActivities({ aws: createAwsClients(emulatorConfig(moto.endpoint)), temporal: () => client, runbooks: testRunbooks });
    const ctl = { runbook: rb.name, primary: rb.regions.primary, standby: rb.regions.standby, regions: [rb.regions.primary] };

    expect((await activities.readControls({ ...ctl, coverage: coverageOf(rb) }))[0].problems).toEqual([]);
    const grown = { ...rb, dns: { ...rb.dns, records: [...rb.dns.records, { ...rb.dns.records[0], name: `new.${rb.dns.hostedZone}` }] } };
    expect((await activities.readControls({ ...ctl, coverage: coverageOf(grown) }))[0].problems).toEqual([
      "was not marked ready for this runbook's records by drover prepare (a prepare cut off, or records or writer records changed since)",
    ]);
  });
});

describe('drover prepare repairs what would fail open or never flip', () => {
  test('given a disabled control and a drover control left on a standby set: prepare re-enables the control and detaches drover\'s from the standby; while the primary is withdrawn it changes nothing', async () => {
    const { file, runbook: rb } = await seeded(MUMBAI);
    const { primary, standby } = rb.regions;
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    const zoneId = await zoneIdOf(rb.dns.hostedZone);
    const [api] = rb.dns.records;
    const ours = (await healthChecks(rb))[primary].id;
    // A disabled health check is healthy whatever its alarm says: the flip would withdraw nothing.
    await route53().updateHealthCheck({ HealthCheckId: ours, Disabled: true });
    // An earlier shape's control on a standby set (drover's caller reference: the standby's control of the first design).
    const stale = await route53().createHealthCheck({ CallerReference: `drover-control-stale-${rb.name}`, HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier: { Region: primary as CloudWatchRegion, Name: `drover-control-${rb.name}-${standby}` }, InsufficientDataHealthStatus: 'LastKnownStatus' } });
    const sets = await setsOf(zoneId);
    const apiStandby = sets.find((s) => s.SetIdentifier === api.targets[standby].setIdentifier) as ResourceRecordSet;
    await route53().changeResourceRecordSets({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { ...apiStandby, HealthCheckId: stale.HealthCheck?.Id } }] } });

    const shown = captureIO();
    expect(await exec(['prepare', file], shown)).toBe(1);
    const out = shown.stdout.join('\n');
    expect(out).toContain(`update health check ${ours} to follow ${controlOf(rb, primary).alarmName} in ${standby} (insufficient data: LastKnownStatus, enabled, not inverted)`);
    expect(out).toContain(`detach drover health check ${stale.HealthCheck?.Id} from ${api.name} ${api.type} set ${apiStandby.SetIdentifier} (${standby})`);

    // Withdrawn (an unplanned failover's flip): prepare changes nothing, naming the failback.
    const activities = createActivities({ aws: createAwsClients(emulatorConfig(moto.endpoint)), temporal: () => client, runbooks: testRunbooks });
    const ctl = { runbook: rb.name, primary, standby };
    expect((await activities.setControl({ ...ctl, region: primary, withdrawn: true })).state).toBe('ALARM');
    const refused = captureIO();
    expect(await exec(['prepare', file, '--apply'], refused)).toBe(2);
    expect(refused.stderr).toContain(`${file}: regions.primary: the control of ${primary} is ALARM (${primary} is out of DNS answers): drover prepare changes nothing while it is withdrawn; run drover failback first, then prepare again`);
    expect((await route53().getHealthCheck({ HealthCheckId: ours })).HealthCheck?.HealthCheckConfig?.Disabled).toBe(true);
    expect((await activities.setControl({ ...ctl, region: primary, withdrawn: false })).state).toBe('OK');

    expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
    expect((await route53().getHealthCheck({ HealthCheckId: ours })).HealthCheck?.HealthCheckConfig?.Disabled).toBe(false);
    const now = await setsOf(zoneId);
    expect(now.find((s) => s.SetIdentifier === apiStandby.SetIdentifier)?.HealthCheckId).toBeUndefined();
    const again = captureIO();
    expect(await exec(['prepare', file], again)).toBe(0);
  });
});

describe('drover prepare refuses what it cannot protect', () => {
  test('given bad input it exits 2 with path-qualified messages and changes nothing: an invalid runbook, a set carrying another health check, a record group with a set the runbook does not name', async () => {
    const { file, runbook: rb } = await seeded(MUMBAI);
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    const zoneId = await zoneIdOf(rb.dns.hostedZone);
    const [api, web, statics] = rb.dns.records;
    const sets = await setsOf(zoneId);
    const theirs = await route53().createHealthCheck({ CallerReference: `theirs-${rb.name}`, HealthCheckConfig: { Type: 'HTTPS', FullyQualifiedDomainName: 'example.com', Port: 443, ResourcePath: '/' } });
    const apiSet = sets.find((s) => s.SetIdentifier === api.targets[rb.regions.primary].setIdentifier) as ResourceRecordSet;
    const webSet = sets.find((s) => s.SetIdentifier === web.targets[rb.regions.standby].setIdentifier) as ResourceRecordSet;
    const staticStandby = sets.find((s) => s.SetIdentifier === statics.targets[rb.regions.standby].setIdentifier) as ResourceRecordSet;
    await route53().changeResourceRecordSets({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          { Action: 'UPSERT', ResourceRecordSet: { ...apiSet, HealthCheckId: theirs.HealthCheck?.Id } },
          { Action: 'CREATE', ResourceRecordSet: { ...webSet, SetIdentifier: 'web-canary', Weight: 1, ResourceRecords: [{ Value: 'canary.example.com' }] } },
          // The team's own check on a standby set: unhealthy while the primary is withdrawn, the record would fail open.
          { Action: 'UPSERT', ResourceRecordSet: { ...staticStandby, HealthCheckId: theirs.HealthCheck?.Id } },
        ],
      },
    });
    const alarmsBefore = (await cloudwatch(rb.regions.standby).describeAlarms({ AlarmNamePrefix: 'drover-control-' })).MetricAlarms?.length;

    const io = captureIO();
    expect(await exec(['prepare', file, '--apply'], io)).toBe(2);
    expect(io.stderr).toContain(`${file}: dns.records[0].targets.${rb.regions.primary}: set ${apiSet.SetIdentifier} carries health check ${theirs.HealthCheck?.Id}, not drover's control: a set has one health check; detach it (or combine it into a calculated health check) first`);
    expect(io.stderr.find((l) => l.startsWith(`${file}: dns.records[1]: `))).toContain('has sets the runbook does not name (web-canary)');
    expect(io.stderr).toContain(`${file}: dns.records[2].targets.${rb.regions.standby}: ${statics.name} ${statics.type} set ${staticStandby.SetIdentifier} (${rb.regions.standby}) carries health check ${theirs.HealthCheck?.Id}: while ${rb.regions.primary} is withdrawn, if it is unhealthy too Route 53 answers as if every set were healthy (the lost region included); detach it from the standby's set`);
    expect((await route53().listHealthChecks({})).HealthChecks?.filter((h) => h.CallerReference === refOfControl(rb))).toEqual([]);
    expect((await cloudwatch(rb.regions.standby).describeAlarms({ AlarmNamePrefix: 'drover-control-' })).MetricAlarms?.length).toBe(alarmsBefore);

    const invalid = captureIO();
    const bad = file.replace(/\.yaml$/, '-bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(file, 'utf8').replace(/hostedZone: .*/, 'hostedZone: not a zone'));
    expect(await exec(['prepare', bad], invalid)).toBe(2);
    expect(invalid.stderr.join('\n')).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ dns\\.hostedZone: expected a DNS name such as api\\.example\\.com`));
  });

  test('given a public and a private zone of the same name (split horizon), a lookup by name is refused listing both; by id, each is its own', async () => {
    const name = `split-${process.pid}.apnakart.test`;
    const vpc = await new EC2({ region: 'ap-south-1', endpoint: moto.endpoint, credentials: CREDS }).createVpc({ CidrBlock: '10.41.0.0/16' });
    const pub = (await route53().createHostedZone({ Name: name, CallerReference: `pub-${name}` })).HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
    const priv = (await route53().createHostedZone({ Name: name, CallerReference: `priv-${name}`, HostedZoneConfig: { PrivateZone: true, Comment: 'databases' }, VPC: { VPCRegion: 'ap-south-1', VPCId: vpc.Vpc?.VpcId } })).HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
    const put = (zone: string, value: string) => route53().changeResourceRecordSets({ HostedZoneId: zone, ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: `db.${name}`, Type: 'CNAME', TTL: 30, ResourceRecords: [{ Value: value }] } }] } });
    await put(pub, 'public.example.com');
    await put(priv, 'private.example.com');
    const activities = createActivities({ aws: createAwsClients(emulatorConfig(moto.endpoint)), temporal: () => client, runbooks: testRunbooks });

    const refusal = await activities.readCname({ zone: name, name: `db.${name}` }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(refusal).toMatch(new RegExp(`^hosted zone name ${name.replace(/\./g, '\\.')} matches 2 zones: .+; name the one meant by id \\(dns\\.hostedZoneId, dns\\.records\\[\\]\\.zoneId or writerRecord\\.zoneId\\)$`));
    expect(refusal).toContain(`${pub} (public)`);
    expect(refusal).toContain(`${priv} (private, "databases")`);
    expect(await activities.readCname({ zone: name, zoneId: priv, name: `db.${name}` })).toBe('private.example.com');
    expect(await activities.readCname({ zone: name, zoneId: pub, name: `db.${name}` })).toBe('public.example.com');
  });
});
