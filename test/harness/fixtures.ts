import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EKS } from '@aws-sdk/client-eks';
import { RDS } from '@aws-sdk/client-rds';
import { Route53 } from '@aws-sdk/client-route-53';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../cli/worker';
import { parseDocument } from 'yaml';
import { createAwsClients, type AwsConfig } from '../../aws/clients';
import { prepareControls } from '../../activities/controls';
import type { CliIO } from '../../cli/io';
import { databasesOf, findDatabase, writerZone, type NamedDatabase } from '../../runbooks/databases';
import { parseRunbook } from '../../runbooks/load';
import type { Runbook } from '../../runbooks/schema';
import { MemoryRunbookSource, type RunbookRef } from '../../runbooks/source';

/**
 * The test workers' runbook source: every runbook a test writes (writeRunbook) is held here by its text,
 * as a production worker holds its runbook directory, and runs name it by reference (refOf).
 */
export const testRunbooks = new MemoryRunbookSource('test-runbooks');

/** The reference a run names for a runbook a test wrote (its name and the digest of its file). */
export function refOf(rb: Pick<Runbook, 'name'>): RunbookRef {
  return testRunbooks.ref(rb.name);
}

let runbookDir: string | undefined;
/** The directory writeRunbook writes to (one per test process): a worker process's `--runbooks` (DROVER_RUNBOOKS). */
export function testRunbookDir(): string {
  runbookDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'drover-rb-'));
  return runbookDir;
}

export const APNAKART = path.join(__dirname, '../../runbooks/apnakart.yaml');
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

/** AWS configuration for an emulator endpoint, with optional per-region overrides. */
export function emulatorConfig(endpoint: string, regionEndpoints: Record<string, string> = {}): AwsConfig {
  return { endpoint, regionEndpoints, credentials: CREDS, maxAttempts: 2 };
}

/**
 * Write a variant of the ApnaKart runbook to a temp file: its own name (so workflow ids never
 * collide between tests), optionally its own resource names, probes pointed at local apps, and
 * any other edits as YAML paths.
 */
export function writeRunbook(opts: { name: string; unique?: boolean; probeBases?: Record<string, string>; set?: Array<[Array<string | number>, unknown]>; regions?: { primary: string; standby: string } }): {
  file: string;
  runbook: Runbook;
} {
  let text = fs.readFileSync(APNAKART, 'utf8');
  // Another region pair (us-east-1 lost, say): every mention of ApnaKart's regions, the standby's first (its name holds the primary's).
  if (opts.regions) text = text.replaceAll('ap-southeast-1', '\u0000').replaceAll('ap-south-1', opts.regions.primary).replaceAll('\u0000', opts.regions.standby);
  const regions = [opts.regions?.primary ?? 'ap-south-1', opts.regions?.standby ?? 'ap-southeast-1'];
  const doc = parseDocument(text);
  doc.setIn(['name'], opts.name);
  for (const [region, base] of Object.entries(opts.probeBases ?? {})) {
    const probes = doc.getIn(['health', 'probes', region]) as { items: unknown[] } | undefined;
    probes?.items.forEach((_, i) => {
      const url = new URL(String(doc.getIn(['health', 'probes', region, i, 'url'])));
      doc.setIn(['health', 'probes', region, i, 'url'], `${base}${url.pathname}`);
    });
  }
  if (opts.unique) {
    // Distinct resource names per test, so tests can share one emulator without interfering.
    const sfx = opts.name;
    const domain = `${sfx}.apnakart.test`;
    const rename = (p: Array<string | number>, fn: (v: string) => string) => doc.setIn(p, fn(String(doc.getIn(p))));
    rename(['dns', 'hostedZone'], () => domain);
    (doc.getIn(['dns', 'records']) as { items: unknown[] }).items.forEach((_, i) => rename(['dns', 'records', i, 'name'], (v) => v.replace('apnakart.com', domain)));
    rename(['database', 'writerRecord', 'name'], (v) => v.replace('apnakart.com', domain));
    // RDS identifiers have at most 63 characters, and a kept one is renamed with 22 more: a short digest of the name.
    const dbSfx = createHash('sha256').update(sfx).digest('hex').slice(0, 8);
    rename(['database', 'primary', 'identifier'], (v) => `${v}-${dbSfx}`);
    rename(['database', 'replica', 'identifier'], (v) => `${v}-${dbSfx}`);
    (doc.getIn(['compute', 'clusters']) as { items: unknown[] }).items.forEach((_, i) => rename(['compute', 'clusters', i, 'name'], (v) => `${v}-${sfx}`));
    for (const region of regions) {
      (doc.getIn(['health', 'alarms', region]) as { items: unknown[] }).items.forEach((_, i) => rename(['health', 'alarms', region, i], (v) => `${v}-${sfx}`));
    }
  }
  // Tests publish ReplicaLag every few hundred ms (startLagFeeder), so read it at 1 s resolution.
  doc.setIn(['database', 'lagPeriod'], '1s');
  doc.setIn(['database', 'lagZeroTimeout'], '30s');
  // undefined removes the key.
  for (const [p, value] of opts.set ?? []) {
    if (value === undefined) doc.deleteIn(p);
    else doc.setIn(p, value);
  }
  const file = path.join(testRunbookDir(), `${opts.name}.yaml`);
  fs.writeFileSync(file, doc.toString());
  testRunbooks.put(opts.name, doc.toString());
  const parsed = parseRunbook(doc.toString());
  if (!parsed.ok) throw new Error(`test runbook invalid: ${JSON.stringify(parsed.problems)}`);
  return { file, runbook: parsed.runbook };
}

/** drover prepare --apply for a seeded runbook: its data-plane controls made, as an unplanned failover needs them. */
export async function prepareRunbook(rb: Runbook, endpoint: string): Promise<void> {
  const aws = createAwsClients(emulatorConfig(endpoint));
  const out = await prepareControls(rb, { route53: aws.route53, cloudwatch: aws.cloudwatch, rds: aws.rds }, { apply: true });
  if (out.problems.length > 0) throw new Error(`test fixture: drover prepare refused ${rb.name}: ${JSON.stringify(out.problems)}`);
}

/** The runbook's one database (the ApnaKart variants have exactly one); throws when it has none or several. */
export function onlyDatabase(rb: Pick<Runbook, 'database' | 'databases'>): NamedDatabase {
  const all = databasesOf(rb);
  if (all.length !== 1) throw new Error(`test fixture: expected a runbook with exactly one database, it has ${all.length}`);
  return all[0];
}

export const THREE_DATABASES = ['orders', 'payments', 'catalog'];

/** ApnaKart with three databases in place of its one (own instances, and writer records in a zone of their own; shared fence group). */
export function threeDatabases(prefix: string, overrides: Record<string, unknown> = {}): Array<[Array<string | number>, unknown]> {
  const list = THREE_DATABASES.map((name) => ({
    name,
    engine: 'postgres',
    instanceClass: 'db.r6g.large',
    primary: { identifier: `${prefix}-${name}-mumbai` },
    replica: { identifier: `${prefix}-${name}-singapore` },
    maxReplicaLag: '30s',
    lagPeriod: '1s',
    lagZeroTimeout: '30s',
    fence: { method: 'security-group', groupName: 'apnakart-db-fence' },
    securityGroupName: 'apnakart-db',
    writerRecord: { name: `${name}-db.${prefix}.test`, zone: `${prefix}.test`, ttl: 30 },
    ...((overrides[name] as object | undefined) ?? {}),
  }));
  return [
    [['database'], undefined],
    [['databases'], list],
  ];
}

/** A CliIO that keeps what a command printed; its target lines (`drover → …`) apart, in `notes`. */
export function captureIO(): CliIO & { stdout: string[]; stderr: string[]; notes: string[]; all(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const notes: string[] = [];
  return { stdout, stderr, notes, out: (l) => stdout.push(l), err: (l) => stderr.push(l), note: (l) => notes.push(l), all: () => [...stdout, ...stderr].join('\n') };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
  return bundle;
}

/** Delete a database's writer CNAME from the emulator (as if the team never created it), with the SDK. */
export async function deleteWriterRecord(rb: Runbook, endpoint: string): Promise<void> {
  const db = onlyDatabase(rb);
  const route53 = new Route53({ region: 'us-east-1', endpoint, credentials: CREDS });
  const zoneId = (await route53.listHostedZonesByName({ DNSName: writerZone(rb, db) })).HostedZones?.[0]?.Id;
  const set = ((await route53.listResourceRecordSets({ HostedZoneId: zoneId })).ResourceRecordSets ?? []).find((s) => s.Name?.replace(/\.$/, '') === db.writerRecord.name && s.Type === 'CNAME');
  if (!set) throw new Error(`test fixture: ${db.writerRecord.name} has no CNAME to delete`);
  await route53.changeResourceRecordSets({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: set }] } });
}

/**
 * The emulator's state of a runbook's resources, read directly with the SDK (not through drover);
 * `writer` and `replica` are those of the database named `dbName` (default: the runbook's only one).
 */
export async function describeTopology(rb: Runbook, endpoint: string, dbName?: string) {
  const db = dbName === undefined ? onlyDatabase(rb) : findDatabase(rb, dbName);
  if (!db) throw new Error(`test fixture: ${rb.name} has no database ${dbName}`);
  const common = (region: string) => ({ region, endpoint, credentials: CREDS });
  const { primary, standby } = rb.regions;
  const route53 = new Route53(common('us-east-1'));
  const zone = (await route53.listHostedZonesByName({ DNSName: rb.dns.hostedZone })).HostedZones?.[0];
  const sets = (await route53.listResourceRecordSets({ HostedZoneId: zone?.Id })).ResourceRecordSets ?? [];
  const recordSet = (name: string, setId?: string) => sets.find((s) => s.Name?.replace(/\.$/, '') === name && (setId === undefined || s.SetIdentifier === setId));
  const weights: Record<string, Record<string, number | string | undefined>> = {};
  for (const r of rb.dns.records) {
    weights[r.name] = {};
    for (const region of [primary, standby]) {
      const s = recordSet(r.name, r.targets[region].setIdentifier);
      weights[r.name][region] = r.routing === 'weighted' ? s?.Weight : s?.Failover;
    }
  }
  const writerZoneId = (await route53.listHostedZonesByName({ DNSName: writerZone(rb, db) })).HostedZones?.[0]?.Id;
  const writerSets = writerZoneId === zone?.Id ? sets : ((await route53.listResourceRecordSets({ HostedZoneId: writerZoneId })).ResourceRecordSets ?? []);
  const writer = writerSets.find((s) => s.Name?.replace(/\.$/, '') === db.writerRecord.name)?.ResourceRecords?.[0]?.Value;
  const rdsStandby = new RDS(common(standby));
  const replica = (await rdsStandby.describeDBInstances({ DBInstanceIdentifier: db.replica.identifier })).DBInstances?.[0];
  const replicaTags = (await rdsStandby.listTagsForResource({ ResourceName: replica?.DBInstanceArn })).TagList ?? [];
  const nodeGroups: Record<string, number | undefined> = {};
  for (const c of rb.compute.clusters) {
    const eks = new EKS(common(c.region));
    for (const g of c.nodeGroups) {
      nodeGroups[`${c.region}/${c.name}/${g.name}`] = (await eks.describeNodegroup({ clusterName: c.name, nodegroupName: g.name })).nodegroup?.scalingConfig?.desiredSize;
    }
  }
  return {
    weights,
    writer,
    replica: { status: replica?.DBInstanceStatus, source: replica?.ReadReplicaSourceDBInstanceIdentifier, endpoint: replica?.Endpoint?.Address },
    replicaPromotedTag: replicaTags.some((t) => t.Key === 'drover:promoted-at'), nodeGroups };
}

/** moto's account (its default, `MOTO_ACCOUNT_ID` unset): the account of every ARN it makes. */
export const MOTO_ACCOUNT = '123456789012';

/** The ARN of a DB instance in the emulator: what a replica names as its source (ReadReplicaSourceDBInstanceIdentifier of a cross-region replica). */
export function dbArn(region: string, identifier: string): string {
  return `arn:aws:rds:${region}:${MOTO_ACCOUNT}:db:${identifier}`;
}

/**
 * The newest ReplicaLag (Maximum over 1-minute periods of the last 10 minutes, or from `since`) the emulator
 * holds for an instance, read as drover's replicaLag activity reads it; undefined when there is no datapoint.
 */
export async function latestReplicaLag(endpoint: string, region: string, identifier: string, since?: Date): Promise<number | undefined> {
  const out = await new CloudWatch({ region, endpoint, credentials: CREDS }).getMetricStatistics({
    Namespace: 'AWS/RDS',
    MetricName: 'ReplicaLag',
    Dimensions: [{ Name: 'DBInstanceIdentifier', Value: identifier }],
    StartTime: since ?? new Date(Date.now() - 10 * 60_000),
    EndTime: new Date(Date.now() + 60_000),
    Period: 60,
    Statistics: ['Maximum'],
  });
  const newest = (out.Datapoints ?? []).filter((d) => d.Timestamp).sort((a, b) => (b.Timestamp as Date).getTime() - (a.Timestamp as Date).getTime())[0];
  return newest?.Maximum;
}

/** Set a CloudWatch alarm's state in the emulator, as a real breach would. */
export async function setAlarm(endpoint: string, region: string, name: string, state: 'OK' | 'ALARM'): Promise<void> {
  await new CloudWatch({ region, endpoint, credentials: CREDS }).setAlarmState({ AlarmName: name, StateValue: state, StateReason: 'drover test' });
}

/** Requests the emulator received, with their bodies, from moto's recorder (started with MOTO_ENABLE_RECORDING). */
export async function recordedCalls(endpoint: string): Promise<Array<{ action: string; body: string }>> {
  const text = await (await fetch(`${endpoint}/moto-api/recorder/download-recording`)).text();
  const calls: Array<{ action: string; body: string }> = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const req = JSON.parse(line) as { body?: string; body_encoded?: boolean; headers?: Record<string, string>; url?: string };
    const raw = typeof req.body === 'string' ? req.body : '';
    const body = req.body_encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const target = req.headers?.['X-Amz-Target'] ?? req.headers?.['x-amz-target'];
    const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1] ?? /Action=([A-Za-z]+)/.exec(req.url ?? '')?.[1] ?? target?.split('.').pop();
    if (action) calls.push({ action, body });
  }
  return calls;
}

/** The actions of the requests the emulator received, from moto's recorder. */
export async function recordedActions(endpoint: string): Promise<string[]> {
  return (await recordedCalls(endpoint)).map((c) => c.action);
}

/** Start moto's request recording afresh (drop what was recorded so far). */
export async function restartRecording(endpoint: string): Promise<void> {
  await fetch(`${endpoint}/moto-api/recorder/reset-recording`, { method: 'POST' });
  await fetch(`${endpoint}/moto-api/recorder/start-recording`, { method: 'POST' });
}

/** Poll `fn` until it returns a truthy value (tests waiting for a run to reach a step). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The record a failed run carries in its failure details (expects the run to fail). */
export async function failureRecord<T>(p: Promise<unknown>): Promise<T> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return ((err as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as T;
}
