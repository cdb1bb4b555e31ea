/**
 * Readiness (docs/readiness.md): whether the runbook's next failover, or with one in effect its failback, would work,
 * one verdict per check. Read-only. Each check is made of the same activity functions the failover's preflight calls
 * (describeDb, replicaLag, describeCompute, missingRecords, readTraffic, readCname, checkAlarmTargets,
 * checkProbeTargets, checkPermissions, readControls), so a check has one implementation, here composed in-process.
 */
import type { _InstanceType } from '@aws-sdk/client-ec2';
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import ms from 'ms';
import type { CloudWatchApi, Ec2Api, EksRecordApi, ServiceQuotasApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { coverageOf } from '../contracts/controls';
import { DRILL_WORKFLOW_TYPE, drillScheduleId, MEMO_RUNBOOK } from '../contracts/ids';
import { FailureType } from '../contracts/failures';
import { isReadinessRun, worst, type CheckResult, type Direction, type ReadinessResult, type ReadinessRun, type Verdict } from '../contracts/readiness';
import { databasesOf, writerZone, writerZoneId, type NamedDatabase } from '../runbooks/databases';
import { parseRunbook } from '../runbooks/load';
import type { DnsRecord, Probe, Runbook } from '../runbooks/schema';
import { RUNBOOK_NAME, runbookDigest, type RunbookRef, type RunbookSource } from '../runbooks/source';
import type { PermissionCheck } from './permissions';
import type { ControlReading } from './controls';
import type { AlarmPolicy } from './health';
import type { DbState, LagReading } from './rds';
import type { NodeGroupState } from './eks';
import type { RecordState } from './route53';
import { scrubSecrets } from '../audit/scrub';
import { compareClusterRecords, comparePlanWithRecord, describeDifference, type ClusterRecord, type Comparison, type PlannedCluster } from '../contracts/cluster-record';
import { readClusterRecord } from './cluster-record';
import { readinessEvaluations } from './readiness-history';

/** The activity functions readiness is made of: the preflight's own (activities/index.ts passes them). */
export interface ReadinessParts {
  describeDb(input: { region: string; identifier: string }): Promise<DbState>;
  replicaLag(input: { region: string; identifier: string }): Promise<LagReading | null>;
  describeCompute(input: { region: string; cluster: string; nodeGroups: string[]; launch?: boolean }): Promise<{ clusterStatus: string; nodeGroups: NodeGroupState[]; problems: string[] }>;
  missingRecords(input: { hostedZone: string; hostedZoneId?: string; records: DnsRecord[]; regions: string[] }): Promise<string[]>;
  readTraffic(input: { hostedZone: string; hostedZoneId?: string; records: DnsRecord[]; regions: string[] }): Promise<RecordState[]>;
  readCname(input: { zone: string; zoneId?: string; name: string }): Promise<string | undefined>;
  checkAlarmTargets(input: { region: string; alarms: string[] } & AlarmPolicy): Promise<{ problems: string[]; notes: string[] }>;
  checkProbeTargets(input: { region: string; probes: Probe[] }): Promise<{ problems: string[]; notes: string[] }>;
  checkPermissions(input: { runbook: Runbook; stsRegion: string }): Promise<PermissionCheck>;
  readControls(input: { runbook: string; primary: string; standby: string; regions: string[]; coverage?: string[] }): Promise<ControlReading[]>;
}

export interface ReadinessDeps {
  parts: ReadinessParts;
  cloudwatch: (region: string) => CloudWatchApi;
  ec2: (region: string) => Ec2Api;
  serviceQuotas: (region: string) => ServiceQuotasApi;
  temporal: () => Client;
  runbooks?: RunbookSource;
  /** EKS clients for the clusters' records (activities/cluster-record.ts); without them an evaluation records none. */
  eks?: (region: string) => EksRecordApi;
}

/** How many completed drills of the task queue the freshness check reads at most (newest first). */
const DRILLS_LISTED = 2000;

/**
 * The EC2 quota a failover's scale-up draws on: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
 * counted in vCPUs (Service Quotas, quota code L-1216C47A; EC2 User Guide, "On-Demand Instance quotas").
 */
const EC2_ON_DEMAND_STANDARD = { service: 'ec2', code: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' };
/**
 * Instance types that quota counts: a family of one of those letters and its generation (`m6i`, `i4i`), and the I
 * family's `im4gn` and `is4gen`; not `inf2`, `mac1` or `hpc6a`, which have quotas of their own.
 */
const STANDARD_FAMILY = /^(?:[acdhmrtz]|i[ms]?)\d/;

/** How long an evaluation waits for its cluster records at most (an unreachable region's reads give up within 15 s). */
/** How many earlier rebuilds of a runbook a rebuild looks at to find its baseline (unverifiedRebuildSince). */
const REBUILDS_LOOKED_AT = 20;
const RECORD_MS = 45_000;

/** How far back the replica lag trend looks. */
const TREND_MS = 30 * 60_000;

const message = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e));

/** A check's result from its findings: the worst finding's verdict, and the fix of the worst. */
function result(id: string, title: string, findings: Array<{ verdict: Verdict; reason: string; fix?: string }>, ok: string): CheckResult {
  const verdict = worst(findings.map((f) => f.verdict));
  if (verdict === 'ready') return { id, title, verdict, reasons: [ok, ...findings.map((f) => f.reason)] };
  const bad = findings.filter((f) => f.verdict !== 'ready');
  const fixes = [...new Set(bad.filter((f) => f.verdict === verdict && f.fix).map((f) => f.fix as string))];
  return { id, title, verdict, reasons: bad.map((f) => f.reason), ...(fixes.length ? { fix: fixes.join('; ') } : {}) };
}

export function createReadinessActivities(deps: ReadinessDeps) {
  const { parts } = deps;

  /** The workers' copy of runbook `name` and its digest, whatever digest a caller validated (drift is a finding, not a refusal). */
  async function workersRunbook(name: string): Promise<{ runbook: Runbook; digest: string }> {
    const refuse = (m: string) => ApplicationFailure.create({ type: FailureType.RunbookRefused, message: m, nonRetryable: true });
    if (!RUNBOOK_NAME.test(name)) throw refuse(`"${name.slice(0, 80)}" is not a runbook name`);
    if (!deps.runbooks) throw refuse('this worker has no runbook source configured (drover worker --runbooks DIR), so it evaluates no runbook');
    const found = await deps.runbooks.read(name);
    if (!found) throw refuse(`the workers have no runbook ${name} in ${deps.runbooks.location}: deploy it to the workers' runbook directory`);
    if (!('text' in found)) return { runbook: found.runbook, digest: found.digest };
    const parsed = parseRunbook(found.text);
    if (!parsed.ok) throw refuse(`the workers' copy of runbook ${name} (${found.where}) is invalid: ${parsed.problems.slice(0, 5).map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`);
    if (parsed.runbook.name !== name) throw refuse(`${found.where} holds runbook ${parsed.runbook.name}, not ${name}`);
    return { runbook: parsed.runbook, digest: runbookDigest(found.text) };
  }

  /**
   * ReplicaLag's Maximum per period over the last 30 minutes, oldest first: the trend a single reading cannot show
   * (GetMetricStatistics, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html;
   * RDS publishes ReplicaLag once a minute, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html).
   */
  async function lagSeries(region: string, identifier: string, periodMs: number): Promise<number[]> {
    const end = new Date();
    // Periods of a minute at least (RDS's own period): 30 datapoints, far under GetMetricStatistics' 1,440 per call
    // ("A single request can include no more than 1,440 data points"), whatever finer period a test's runbook reads.
    const period = Math.max(periodMs, 60_000) / 1000;
    const out = await aws('cloudwatch:GetMetricStatistics(ReplicaLag)', () =>
      deps.cloudwatch(region).getMetricStatistics({
        Namespace: 'AWS/RDS',
        MetricName: 'ReplicaLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: identifier }],
        StartTime: new Date(end.getTime() - TREND_MS),
        EndTime: end,
        Period: period,
        Statistics: ['Maximum'],
      }),
    );
    return (out.Datapoints ?? [])
      .filter((d) => d.Timestamp && d.Maximum !== undefined)
      .sort((a, b) => (a.Timestamp as Date).getTime() - (b.Timestamp as Date).getTime())
      .map((d) => d.Maximum as number);
  }

  function trendOf(series: number[]): string {
    if (series.length < 2) return series.length === 1 ? `one datapoint in the last 30 minutes (${series[0]}s)` : 'no datapoints in the last 30 minutes';
    const half = Math.floor(series.length / 2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [early, late] = [mean(series.slice(0, half)), mean(series.slice(half))];
    const way = late > early * 1.5 + 1 ? 'rising' : early > late * 1.5 + 1 ? 'falling' : 'steady';
    return `${way} over the last 30 minutes (${series.length} periods, min ${Math.min(...series)}s, max ${Math.max(...series)}s)`;
  }

  /** Failover direction: the standby replica exists, replicates, and is within its lag bound (with the trend). */
  async function replicaCheck(rb: Runbook, d: NamedDatabase): Promise<CheckResult> {
    const id = `replica:${d.name}`;
    const title = `replica ${d.replica.identifier} in ${rb.regions.standby}`;
    // An Aurora global cluster's members are DB clusters, which DescribeDBInstances does not answer for: not read here.
    if (d.engine === 'aurora-global') return result(id, title, [], `${d.replica.identifier} is a DB cluster of global cluster ${d.globalClusterIdentifier ?? '?'}: not read here (the failover's preflight and promotion read the global cluster)`);
    let db: DbState;
    try {
      db = await parts.describeDb({ region: rb.regions.standby, identifier: d.replica.identifier });
    } catch (e) {
      const gone = e instanceof ApplicationFailure && e.type === FailureType.NotFound;
      return result(id, title, [{ verdict: 'not-ready', reason: gone ? `${d.replica.identifier} does not exist in ${rb.regions.standby}` : `not read: ${message(e)}`, fix: gone ? `re-create the cross-region read replica ${d.replica.identifier} of ${d.primary.identifier} in ${rb.regions.standby} (CreateDBInstanceReadReplica), or fix the runbook's replica identifier` : 'give the worker rds:DescribeDBInstances, or check the region' }], '');
    }
    const findings: Array<{ verdict: Verdict; reason: string; fix?: string }> = [];
    if (db.standalone) findings.push({ verdict: 'not-ready', reason: `${db.identifier} is not a read replica${db.promotedByDrover ? ' (promoted by drover: a failover is in effect)' : ''}`, fix: db.promotedByDrover ? 'fail back first (drover failback)' : `re-create ${db.identifier} as a read replica of ${d.primary.identifier}` });
    if (db.status !== 'available') findings.push({ verdict: 'not-ready', reason: `${db.identifier} is ${db.status}, not available`, fix: 'wait until it is available, or repair it' });
    if (!db.standalone) {
      const [lag, series] = await Promise.all([
        parts.replicaLag({ region: rb.regions.standby, identifier: d.replica.identifier }).catch((e: unknown) => new Error(message(e))),
        lagSeries(rb.regions.standby, d.replica.identifier, d.lagPeriod).catch(() => undefined),
      ]);
      const trend = series ? `; ${trendOf(series)}` : '';
      if (lag instanceof Error) findings.push({ verdict: 'degraded', reason: `ReplicaLag not read: ${lag.message}`, fix: 'give the worker cloudwatch:GetMetricStatistics' });
      else if (!lag) findings.push({ verdict: 'degraded', reason: `no ReplicaLag datapoint for ${db.identifier} in the last 10 minutes${trend}`, fix: 'check that replication runs (RDS publishes ReplicaLag every minute while it does)' });
      else if (lag.lagSeconds < 0) findings.push({ verdict: 'not-ready', reason: `ReplicaLag is ${lag.lagSeconds} at ${lag.observedAt}: replication is not running${trend}`, fix: `repair replication from ${rb.regions.primary}` });
      else if (lag.lagSeconds * 1000 > d.maxReplicaLag) findings.push({ verdict: 'degraded', reason: `ReplicaLag ${lag.lagSeconds}s exceeds the bound of ${d.maxReplicaLag / 1000}s (a planned failover is refused until it is within)${trend}`, fix: 'find what slows replication (write load, instance class, network)' });
      else findings.push({ verdict: 'ready', reason: `ReplicaLag ${lag.lagSeconds}s within ${d.maxReplicaLag / 1000}s${trend}` });
    }
    return result(id, title, findings, `${db.identifier} is ${db.status}, a read replica of ${db.replicationSource ?? d.primary.identifier}`);
  }

  /** Failback direction: the promoted standby is the writer and available; the way back re-creates the replica. */
  async function writerCheck(rb: Runbook, d: NamedDatabase): Promise<CheckResult> {
    const id = `writer:${d.name}`;
    const title = `writer ${d.replica.identifier} in ${rb.regions.standby}`;
    try {
      if (d.engine === 'aurora-global') return result(id, title, [], `${d.replica.identifier} is a DB cluster of global cluster ${d.globalClusterIdentifier ?? '?'}: not read here (the failback's assessment reads the global cluster)`);
      const db = await parts.describeDb({ region: rb.regions.standby, identifier: d.replica.identifier });
      const findings: Array<{ verdict: Verdict; reason: string; fix?: string }> = [];
      if (!db.standalone) findings.push({ verdict: 'not-ready', reason: `${db.identifier} is still a read replica of ${db.replicationSource ?? d.primary.identifier}: no failover of this database is in effect`, fix: 'fail over first, or judge the failover (drover check --direction failover)' });
      if (db.status !== 'available') findings.push({ verdict: 'not-ready', reason: `${db.identifier} is ${db.status}, not available`, fix: 'wait until it is available' });
      if (db.fencedByDrover) findings.push({ verdict: 'not-ready', reason: `${db.identifier} is fenced by drover: it takes no writes`, fix: 'find which run fenced it (drover runs list) and let it finish' });
      return result(id, title, findings, `${db.identifier} is the writer (${db.status}); the failback re-creates the replica in ${rb.regions.primary}`);
    } catch (e) {
      return result(id, title, [{ verdict: 'not-ready', reason: `not read: ${message(e)}`, fix: 'check the instance and the worker\'s rds:DescribeDBInstances' }], '');
    }
  }

  /**
   * The Availability Zones of `region` that offer each of `types` ("Lists the instance types that are offered for the
   * specified location", DescribeInstanceTypeOfferings with LocationType availability-zone, filtered by instance-type;
   * paginated: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypeOfferings.html).
   */
  async function zonesOffering(region: string, types: string[]): Promise<Map<string, string[]>> {
    const zones = new Map<string, string[]>(types.map((t) => [t, []]));
    let token: string | undefined;
    do {
      const next = token;
      const out = await aws('ec2:DescribeInstanceTypeOfferings', () =>
        deps.ec2(region).describeInstanceTypeOfferings({ LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: types }], ...(next ? { NextToken: next } : {}) }),
      );
      for (const o of out.InstanceTypeOfferings ?? []) if (o.InstanceType && o.Location) zones.get(o.InstanceType)?.push(o.Location);
      token = out.NextToken && out.NextToken !== next ? out.NextToken : undefined;
    } while (token);
    return zones;
  }

  /**
   * A quota's value in `region`: the applied value (GetServiceQuota: "Retrieves the applied quota value ... If the applied
   * quota value is not available for a quota, the quota is not retrieved"), else the default (GetAWSDefaultServiceQuota),
   * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html.
   */
  async function quotaValue(region: string, q: { service: string; code: string }): Promise<number> {
    const api = deps.serviceQuotas(region);
    const input = { ServiceCode: q.service, QuotaCode: q.code };
    try {
      const out = await aws(`servicequotas:GetServiceQuota(${q.code})`, () => api.getServiceQuota(input));
      if (out.Quota?.Value !== undefined) return out.Quota.Value;
    } catch (e) {
      // NoSuchResourceException, as aws() types it (NotFound): no applied value; read the default.
      const none = (e instanceof ApplicationFailure && e.type === FailureType.NotFound) || (e as Error).name === 'NoSuchResourceException';
      if (!none) throw e;
    }
    const out = await aws(`servicequotas:GetAWSDefaultServiceQuota(${q.code})`, () => api.getAWSDefaultServiceQuota(input));
    if (out.Quota?.Value === undefined) throw new Error(`Service Quotas answered no value for ${q.service} ${q.code} in ${region}`);
    return out.Quota.Value;
  }

  /**
   * The vCPUs the failover's node groups in `to` ask for (each group's active size times its instance type's vCPUs, On-Demand
   * groups of standard families), against the region's EC2 On-Demand standard quota, and that quota against `from`'s
   * (parity, as AWS ARC's plan evaluation checks). Instances already running in the region draw on the same quota: that
   * usage is not read here.
   */
  async function quotasCheck(rb: Runbook, to: string, from: string): Promise<CheckResult> {
    const id = `quotas:${to}`;
    const title = `service quotas in ${to}`;
    const groups: Array<{ cluster: string; name: string; active: number; type: string; onDemand: boolean; from: 'EKS' | 'runbook' }> = [];
    const findings: Array<{ verdict: Verdict; reason: string; fix?: string }> = [];
    let needed = 0;
    try {
      for (const c of rb.compute.clusters.filter((x) => x.region === to)) {
        const out = await parts.describeCompute({ region: to, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name), launch: true });
        for (const g of c.nodeGroups) {
          const live = out.nodeGroups.find((n) => n.name === g.name);
          // The first type is the one a managed group prefers; a group built from a launch template names none to EKS:
          // the runbook's then (said in the reason). Capacity Blocks and Spot draw on other quotas.
          groups.push({ cluster: c.name, name: g.name, active: g.active, type: (live?.instanceTypes ?? g.instanceTypes)[0], onDemand: (live?.capacityType ?? 'ON_DEMAND') === 'ON_DEMAND', from: live?.instanceTypes ? 'EKS' : 'runbook' });
        }
      }
      const counted = groups.filter((g) => g.onDemand && STANDARD_FAMILY.test(g.type));
      findings.push(...groups.filter((g) => !counted.includes(g)).map((g) => ({ verdict: 'ready' as const, reason: `${g.cluster}/${g.name} (${g.onDemand ? g.type : 'not On-Demand'}) draws on another quota: not counted` })));
      const types = [...new Set(counted.map((g) => g.type))];
      if (types.length > 0) {
        const out = await aws('ec2:DescribeInstanceTypes', () => deps.ec2(to).describeInstanceTypes({ InstanceTypes: types as _InstanceType[] }));
        const vcpus = new Map((out.InstanceTypes ?? []).map((t) => [t.InstanceType as string, t.VCpuInfo?.DefaultVCpus]));
        for (const g of counted) {
          const n = vcpus.get(g.type);
          if (n === undefined) throw new Error(`EC2 gave no vCPU count for ${g.type} (${g.cluster}/${g.name}, from the ${g.from})`);
          needed += g.active * n;
        }
      }
      if (counted.some((g) => g.from === 'runbook')) findings.push({ verdict: 'ready', reason: `EKS names no instance type for ${counted.filter((g) => g.from === 'runbook').map((g) => `${g.cluster}/${g.name}`).join(', ')} (a launch template's): the runbook's instanceTypes were counted` });
      const [here, there] = await Promise.all([quotaValue(to, EC2_ON_DEMAND_STANDARD), quotaValue(from, EC2_ON_DEMAND_STANDARD)]);
      const q = `"${EC2_ON_DEMAND_STANDARD.name}" (${EC2_ON_DEMAND_STANDARD.code})`;
      if (needed > here) findings.push({ verdict: 'not-ready', reason: `the failover's node groups ask for ${needed} vCPUs of On-Demand standard instances; ${q} in ${to} is ${here}`, fix: `request an increase of ${EC2_ON_DEMAND_STANDARD.code} in ${to} to ${needed} or more (Service Quotas console), or lower the runbook's active sizes` });
      else findings.push({ verdict: 'ready', reason: `the failover's node groups ask for ${needed} vCPUs; ${q} in ${to} is ${here} (instances already running there count too)` });
      if (here < there) findings.push({ verdict: 'degraded', reason: `${q} is ${here} in ${to} and ${there} in ${from}: the standby cannot run what the primary may`, fix: `request an increase of ${EC2_ON_DEMAND_STANDARD.code} in ${to} to ${there}` });
    } catch (e) {
      return result(id, title, [...findings, { verdict: 'degraded', reason: `${EC2_ON_DEMAND_STANDARD.code} not read: ${message(e)}`, fix: 'give the worker servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota and ec2:DescribeInstanceTypes (drover iam-policy includes them)' }], '');
    }
    const counted = groups.filter((g) => g.onDemand && STANDARD_FAMILY.test(g.type)).length;
    return result(id, title, findings, `${counted} node group${counted === 1 ? '' : 's'} counted`);
  }

  /** The clusters of `region`: ACTIVE, and each node group's maximum leaves room for the runbook's active size. */
  async function capacityCheck(region: string, c: Runbook['compute']['clusters'][number]): Promise<CheckResult> {
    const id = `capacity:${c.name}`;
    const title = `compute ${c.name} in ${region}`;
    let out;
    try {
      out = await parts.describeCompute({ region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name), launch: true });
    } catch (e) {
      return result(id, title, [{ verdict: 'not-ready', reason: `not read: ${message(e)}`, fix: 'check the cluster and the worker\'s eks:DescribeCluster and eks:DescribeNodegroup' }], '');
    }
    const findings: Array<{ verdict: Verdict; reason: string; fix?: string }> = out.problems.map((p) => ({ verdict: 'not-ready' as const, reason: p, fix: 'create or repair it (drover rebuild recreates a cluster from code)' }));
    for (const g of c.nodeGroups) {
      const now = out.nodeGroups.find((n) => n.name === g.name);
      if (!now || now.maxSize === undefined) continue;
      // The failover raises maxSize to the runbook's size (activities/eks.ts scaleNodeGroups), so a lower maximum does
      // not refuse it; it is the ceiling every other scaler (the cluster autoscaler, the team) works under until then,
      // and a sign the standby was sized down since the runbook was written.
      const wanted = Math.max(g.active, g.max ?? 0);
      if (now.maxSize < wanted) findings.push({ verdict: 'degraded', reason: `node group ${g.name}'s maximum is ${now.maxSize}, below the runbook's ${g.max !== undefined && g.max > g.active ? `max ${g.max}` : `active size ${g.active}`}`, fix: `raise ${c.name}/${g.name}'s maxSize to ${wanted} or more (UpdateNodegroupConfig), or lower the runbook's size` });
      else findings.push({ verdict: 'ready', reason: `node group ${g.name}: max ${now.maxSize} >= ${wanted}` });
    }
    // The instance types the groups launch (as EKS says; the runbook's where EKS does not), offered in the region's zones.
    const types = [...new Set(c.nodeGroups.flatMap((g) => out.nodeGroups.find((n) => n.name === g.name)?.instanceTypes ?? g.instanceTypes))];
    if (types.length > 0) {
      try {
        const zones = await zonesOffering(region, types);
        for (const [type, where] of zones) {
          if (where.length === 0) findings.push({ verdict: 'not-ready', reason: `instance type ${type} is offered in no Availability Zone of ${region}: its node groups cannot launch nodes there`, fix: `give the node groups an instance type ${region} offers (aws ec2 describe-instance-type-offerings --location-type availability-zone --region ${region})` });
          else findings.push({ verdict: 'ready', reason: `instance type ${type} offered in ${where.length} zone${where.length === 1 ? '' : 's'} (${[...where].sort().join(', ')})` });
        }
      } catch (e) {
        findings.push({ verdict: 'degraded', reason: `instance type offerings not read: ${message(e)}`, fix: 'give the worker ec2:DescribeInstanceTypeOfferings (drover iam-policy includes it)' });
      }
    }
    return result(id, title, findings, `cluster ${c.name} is ${out.clusterStatus}`);
  }

  /** The runbook's records exist, and their weights are where the runbook leaves them: all traffic on `serving`. */
  async function recordsCheck(rb: Runbook, serving: string, other: string): Promise<CheckResult> {
    const id = 'records';
    const title = `DNS records in ${rb.dns.hostedZone}`;
    const input = { hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [rb.regions.primary, rb.regions.standby] };
    try {
      const missing = await parts.missingRecords(input);
      if (missing.length > 0) return result(id, title, missing.map((m) => ({ verdict: 'not-ready' as const, reason: `missing record ${m}`, fix: 'create the record sets the runbook names (or fix the runbook)' })), '');
      const states = await parts.readTraffic(input);
      const findings = states.map((s) => {
        const [on, off] = [s.share[serving] ?? 0, s.share[other] ?? 0];
        // "If you set Weight to 0 for all of the records in the group, traffic is routed to all resources with equal
        // probability" (Route 53 Developer Guide, weighted routing: routing-policy-weighted.html).
        if (s.routing === 'weighted' && on === 0 && off === 0) {
          return { verdict: 'degraded' as const, reason: `${s.name}: both sets weigh 0 (${serving}=0, ${other}=0), so Route 53 answers with each equally; the runbook expects all of it on ${serving}`, fix: `give ${s.name}'s ${serving} set its weight back (100 or its own)` };
        }
        if (off > 0 || on === 0) {
          const total = on + off;
          return { verdict: 'degraded' as const, reason: `${s.name} sends ${total === 0 ? 0 : Math.round((off / total) * 100)}% to ${other} (${s.routing === 'weighted' ? `weights ${serving}=${on}, ${other}=${off}` : `PRIMARY on ${on ? serving : other}`}); the runbook expects all of it on ${serving}`, fix: `put ${s.name} back (weights: ${serving} 100 or its own, ${other} 0), or finish the run that moved it` };
        }
        return { verdict: 'ready' as const, reason: `${s.name}: all traffic on ${serving}` };
      });
      return result(id, title, findings, `${rb.dns.records.length} records, every set present`);
    } catch (e) {
      return result(id, title, [{ verdict: 'not-ready', reason: `not read: ${message(e)}`, fix: 'check the hosted zone and the worker\'s route53:ListResourceRecordSets' }], '');
    }
  }

  async function writerRecordCheck(rb: Runbook, d: NamedDatabase): Promise<CheckResult> {
    const id = `writer-record:${d.name}`;
    const title = `writer record ${d.writerRecord.name}`;
    try {
      const value = await parts.readCname({ zone: writerZone(rb, d), zoneId: writerZoneId(rb, d), name: d.writerRecord.name });
      if (value === undefined) return result(id, title, [{ verdict: 'not-ready', reason: `${d.writerRecord.name} has no CNAME in zone ${writerZone(rb, d)}`, fix: `create it, pointing at ${d.primary.identifier}'s endpoint` }], '');
      return result(id, title, [], `${d.writerRecord.name} is a CNAME to ${value}`);
    } catch (e) {
      return result(id, title, [{ verdict: 'not-ready', reason: `not read: ${message(e)}`, fix: 'check the zone and the worker\'s route53 permissions' }], '');
    }
  }

  async function alarmsCheck(rb: Runbook, region: string): Promise<CheckResult> {
    const id = `alarms:${region}`;
    const names = rb.health.alarms[region] ?? [];
    try {
      const out = await parts.checkAlarmTargets({ region, alarms: names, insufficientData: rb.health.insufficientData, insufficientDataByAlarm: rb.health.insufficientDataByAlarm });
      return result(
        id,
        `alarms in ${region}`,
        [...out.problems.map((p) => ({ verdict: 'not-ready' as const, reason: p, fix: p.includes('MISSING') ? 'create the alarm, or fix its name in health.alarms' : 'find out why it alarms before failing over into it' })), ...out.notes.map((n) => ({ verdict: 'ready' as const, reason: n }))],
        `${names.length} alarm${names.length === 1 ? '' : 's'} read`,
      );
    } catch (e) {
      return result(id, `alarms in ${region}`, [{ verdict: 'not-ready', reason: `not read: ${message(e)}`, fix: 'check the worker\'s cloudwatch:DescribeAlarms' }], '');
    }
  }

  async function probesCheck(rb: Runbook, region: string): Promise<CheckResult> {
    const id = `probes:${region}`;
    const probes = rb.health.probes[region] ?? [];
    const out = await parts.checkProbeTargets({ region, probes });
    return result(
      id,
      `probes in ${region}`,
      [...out.problems.map((p) => ({ verdict: 'not-ready' as const, reason: p, fix: 'fix the probe URL in health.probes, or the service behind it' })), ...out.notes.map((n) => ({ verdict: 'ready' as const, reason: n }))],
      `${probes.length} probe${probes.length === 1 ? '' : 's'} answered`,
    );
  }

  async function permissionsCheck(rb: Runbook, stsRegion: string): Promise<CheckResult> {
    const id = 'permissions';
    const title = "the worker's permissions";
    try {
      const out = await parts.checkPermissions({ runbook: rb, stsRegion });
      return result(
        id,
        title,
        [
          ...out.problems.map((p) => ({ verdict: 'not-ready' as const, reason: p, fix: 'grant it (drover iam-policy RUNBOOK prints the policy the worker needs)' })),
          // The simulation itself refused or unreachable: said, and weaker than a pass. The other notes (a pattern that
          // cannot be simulated faithfully, what was allowed) are the preflight's notes: said, not a verdict.
          ...out.notes.map((n) => (/^worker permissions not checked/.test(n) ? { verdict: 'degraded' as const, reason: n, fix: 'give the worker iam:SimulatePrincipalPolicy on its own role (drover iam-policy includes it)' } : { verdict: 'ready' as const, reason: n })),
        ],
        'IAM policy simulation allows every action the runbook\'s runs need',
      );
    } catch (e) {
      return result(id, title, [{ verdict: 'degraded', reason: `not checked: ${message(e)}`, fix: 'give the worker iam:SimulatePrincipalPolicy on its own role' }], '');
    }
  }

  /** The last drill that completed, against drills.maxAge (no maxAge: reported, never degraded). */
  async function drillsCheck(rb: Runbook): Promise<CheckResult> {
    const id = 'drill-freshness';
    const title = 'last successful drill';
    const maxAge = rb.drills.maxAge;
    let last: Date | undefined;
    try {
      // Drills this deployment's workers ran (its task queue: a drill on another queue was not run by them), newest
      // first as visibility lists closed runs; at most DRILLS_LISTED rows are read, so a namespace full of runs (or of
      // workflows started to fill it) cannot hold the evaluation past its timeout.
      let seen = 0;
      const candidates: Array<{ workflowId: string; runId: string; closed: Date }> = [];
      const client = deps.temporal();
      for await (const w of client.workflow.list({ query: `WorkflowType = '${DRILL_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed' AND TaskQueue = '${Context.current().info.taskQueue}'` })) {
        if (++seen > DRILLS_LISTED) break;
        if (w.memo?.[MEMO_RUNBOOK] === rb.name && w.closeTime) candidates.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime });
      }
      // The memo is whatever the starter wrote: the newest drill whose own record says it completed this runbook counts.
      candidates.sort((a, b) => b.closed.getTime() - a.closed.getTime());
      for (const c of candidates.slice(0, 20)) {
        const record = (await client.workflow.getHandle(c.workflowId, c.runId).result().catch(() => undefined)) as { runbook?: unknown; phase?: unknown } | undefined;
        if (record?.runbook === rb.name && record.phase === 'completed') {
          last = c.closed;
          break;
        }
      }
    } catch (e) {
      return result(id, title, [{ verdict: 'degraded', reason: `drills not read from Temporal: ${message(e)}` }], '');
    }
    const age = last ? Date.now() - last.getTime() : undefined;
    const said = last ? `the last successful drill ended ${last.toISOString()} (${ms(age as number)} ago)` : 'no successful drill on record';
    if (maxAge === undefined) return result(id, title, [], `${said}; drills.maxAge is not set`);
    if (age === undefined || age > maxAge) return result(id, title, [{ verdict: 'degraded', reason: `${said}; drills.maxAge is ${ms(maxAge)}`, fix: `run a drill (drover drill run RUNBOOK), or schedule them more often than every ${ms(maxAge)} (drover drill schedule)` }], '');
    return result(id, title, [], `${said}, within drills.maxAge ${ms(maxAge)}`);
  }

  /** The digest of the runbook a schedule's action was created from (its input's runbookRef), or undefined. */
  async function scheduledDigest(scheduleId: string): Promise<string | undefined | null> {
    try {
      const d = await deps.temporal().schedule.getHandle(scheduleId).describe();
      const action = d.action as { args?: unknown[] };
      const ref = (action.args?.[0] as { runbookRef?: RunbookRef } | undefined)?.runbookRef;
      return typeof ref?.digest === 'string' ? ref.digest : undefined;
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) return null;
      throw e;
    }
  }

  /** The file the caller validated, and the runbook each schedule was made from, against the workers' copy. */
  async function driftCheck(rb: Runbook, digest: string, callerDigest: string | undefined): Promise<CheckResult> {
    const id = 'runbook-drift';
    const title = 'runbook copies';
    const findings: Array<{ verdict: Verdict; reason: string; fix?: string }> = [];
    if (callerDigest && callerDigest !== digest) findings.push({ verdict: 'degraded', reason: `the workers' copy (${digest.slice(0, 19)}…) is not the file this evaluation was asked for (${callerDigest.slice(0, 19)}…)`, fix: 'deploy the runbook to the workers, or validate theirs: a run started from this file is refused' });
    // The drill schedule's drills are refused once the workers' copy differs from the one it was made from (a run names
    // its runbook by digest). The readiness schedule's evaluations run the workers' copy whatever it was made from.
    const scheduleId = drillScheduleId(rb.name);
    try {
      const made = await scheduledDigest(scheduleId);
      if (made !== null && made !== digest) findings.push({ verdict: 'degraded', reason: `the drill schedule ${scheduleId} was created from another copy of the runbook (${made ? `${made.slice(0, 19)}…` : 'no digest'}) than the workers' (${digest.slice(0, 19)}…): its drills are refused`, fix: 'create it again from the current file (drover drill schedule RUNBOOK.yaml --cron EXPR)' });
      else if (made !== null) findings.push({ verdict: 'ready', reason: "the drill schedule runs the workers' copy" });
    } catch (e) {
      findings.push({ verdict: 'degraded', reason: `the drill schedule not read: ${message(e)}` });
    }
    return result(id, title, findings, `the workers' copy is ${digest.slice(0, 19)}…`);
  }

  /** Whether an unplanned failover could leave `region` without Route 53's API (docs/region-loss.md). */
  async function controlsCheck(rb: Runbook, region: string): Promise<CheckResult> {
    const id = `controls:${region}`;
    const title = `data-plane control of ${region}`;
    try {
      const [c] = await parts.readControls({ runbook: rb.name, primary: rb.regions.primary, standby: rb.regions.standby, regions: [region], coverage: coverageOf(rb) });
      if (!c.exists || c.problems.length > 0) return result(id, title, [{ verdict: 'degraded', reason: `${c.alarmName} in ${c.alarmRegion}: ${c.problems.join('; ') || 'missing'}: an unplanned failover from ${region} is refused (a planned one does not need it)`, fix: 'run drover prepare RUNBOOK.yaml --apply while Route 53 answers' }], '');
      return result(id, title, [], `${c.alarmName} in ${c.alarmRegion} is ${c.state ?? 'unknown'}, marked ready`);
    } catch (e) {
      return result(id, title, [{ verdict: 'degraded', reason: `not read: ${message(e)}`, fix: 'check the worker\'s cloudwatch:DescribeAlarms in the control\'s region' }], '');
    }
  }

  /**
   * A failover is in effect when a database's standby was promoted by drover; with no database drover reads (none, or
   * Aurora global only), when every record serves the standby alone.
   */
  async function directionOf(rb: Runbook): Promise<{ direction: Direction; why: string }> {
    const dbs = databasesOf(rb).filter((x) => x.engine !== 'aurora-global');
    for (const d of dbs) {
      const db = await parts.describeDb({ region: rb.regions.standby, identifier: d.replica.identifier }).catch(() => undefined);
      if (db?.standalone && db.promotedByDrover) return { direction: 'failback', why: `${db.identifier} in ${rb.regions.standby} was promoted by drover: a failover is in effect` };
    }
    if (dbs.length === 0) {
      const states = await parts.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [rb.regions.primary, rb.regions.standby] }).catch(() => []);
      if (states.length > 0 && states.every((s) => (s.share[rb.regions.standby] ?? 0) > 0 && (s.share[rb.regions.primary] ?? 0) === 0)) return { direction: 'failback', why: `every record serves ${rb.regions.standby} alone: a failover is in effect` };
      return { direction: 'failover', why: `the records serve ${rb.regions.primary}: it is the primary` };
    }
    return { direction: 'failover', why: `no standby promoted by drover: ${rb.regions.primary} is the primary` };
  }

  /**
   * The newest record of a cluster present (see the activity lastClusterRecord below); with `createdBefore`, only a
   * record of a cluster created before that time (not one an unverified rebuild made).
   */
  async function lastClusterRecord(input: { runbook: string; region: string; cluster: string; createdBefore?: string }): Promise<{ workflowId: string; evaluatedAt: string; record: ClusterRecord } | undefined> {
    const before = input.createdBefore ? Date.parse(input.createdBefore) : undefined;
    const older = (c: ClusterRecord) => before === undefined || c.createdAt === undefined || Date.parse(c.createdAt) < before;
    for await (const e of readinessEvaluations(deps.temporal(), input.runbook, Context.current().info.taskQueue)) {
      Context.current().heartbeat();
      const record = e.result.clusters?.find((c) => c.region === input.region && c.name === input.cluster && c.present && older(c));
      if (record) return { workflowId: e.workflowId, evaluatedAt: e.result.evaluatedAt, record };
    }
    return undefined;
  }

  /**
   * When the earliest of the rebuilds of `region` since its last verified one started, if one of them applied: earlier
   * runs of this workflow id (the runbook's rebuilds, newest first, at most REBUILDS_LOOKED_AT), stopping at one that
   * completed. Read from the rebuild's own results, so a record of a cluster they made is never taken for the baseline.
   */
  async function unverifiedRebuildSince(region: string): Promise<string | undefined> {
    const run = Context.current().info.workflowExecution;
    if (!run) return undefined;
    const client = deps.temporal();
    // A run that failed carries its status in the failure's details (workflows/run.ts), as one that completed in its result.
    const outcome = async (workflowId: string, runId: string) =>
      (await client.workflow
        .getHandle(workflowId, runId)
        .result()
        .catch((e: unknown) => (e as { cause?: { details?: unknown[] } }).cause?.details?.[0])) as { phase?: string; rebuild?: { region?: string; apply?: unknown }; steps?: Array<{ id: string; status: string }> } | undefined;
    let since: string | undefined;
    let seen = 0;
    for await (const w of client.workflow.list({ query: `WorkflowId = '${run.workflowId.replaceAll("'", '')}'` })) {
      if (w.runId === run.runId || w.status.name === 'RUNNING') continue;
      if (++seen > REBUILDS_LOOKED_AT) break;
      const status = await outcome(w.workflowId, w.runId);
      // A run with no status to read (terminated, timed out) may have applied anything, in either region.
      if (status === undefined) {
        since = w.startTime.toISOString();
        continue;
      }
      if (status.rebuild?.region !== region) continue;
      if (status.phase === 'completed') break;
      // An apply that started (done, failed or cancelled half-way) may have made the cluster a record would now show.
      const apply = status.steps?.find((st) => st.id === 'apply')?.status;
      if (status.rebuild.apply !== undefined || (apply !== undefined && apply !== 'pending' && apply !== 'skipped')) since = w.startTime.toISOString();
    }
    return since;
  }

  /**
   * The record of each of the runbook's clusters, in both regions (the one a rebuild recreates may be either). Best
   * effort, beside the checks: a record that fails is left out, and no verdict depends on one.
   */
  async function recordClusters(rb: Runbook): Promise<ClusterRecord[]> {
    const eks = deps.eks;
    if (!eks) return [];
    const records = Promise.all(rb.compute.clusters.map((c) => readClusterRecord(eks, c.region, c.name, c.nodeGroups.map((g) => g.name)).catch(() => undefined)));
    // Bounded, so a slow region's EKS cannot hold the evaluation past its activity's timeout (2 minutes): then none.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), RECORD_MS)));
    const done = await Promise.race([records, late]).finally(() => clearTimeout(timer));
    return (done ?? []).filter((r): r is ClusterRecord => r !== undefined);
  }

  async function evaluate(rb: Runbook, digest: string, opts: { direction?: Direction; callerDigest?: string }): Promise<ReadinessResult> {
    const auto = opts.direction ? { direction: opts.direction, why: 'asked for' } : await directionOf(rb);
    const [to, from] = auto.direction === 'failover' ? [rb.regions.standby, rb.regions.primary] : [rb.regions.primary, rb.regions.standby];
    const dbs = databasesOf(rb);
    // Each check by its id and title, so one that throws is still that check (not ready, with why).
    const checks: Array<[string, string, () => Promise<CheckResult>]> = [
      ...dbs.map((d): [string, string, () => Promise<CheckResult>] => (auto.direction === 'failover' ? [`replica:${d.name}`, `replica ${d.replica.identifier}`, () => replicaCheck(rb, d)] : [`writer:${d.name}`, `writer ${d.replica.identifier}`, () => writerCheck(rb, d)])),
      ...rb.compute.clusters.filter((c) => c.region === to).map((c): [string, string, () => Promise<CheckResult>] => [`capacity:${c.name}`, `compute ${c.name} in ${to}`, () => capacityCheck(to, c)]),
      ['records', `DNS records in ${rb.dns.hostedZone}`, () => recordsCheck(rb, from, to)],
      ...dbs.map((d): [string, string, () => Promise<CheckResult>] => [`writer-record:${d.name}`, `writer record ${d.writerRecord.name}`, () => writerRecordCheck(rb, d)]),
      [`alarms:${to}`, `alarms in ${to}`, () => alarmsCheck(rb, to)],
      ...((rb.health.probes[to] ?? []).length > 0 ? [[`probes:${to}`, `probes in ${to}`, () => probesCheck(rb, to)] as [string, string, () => Promise<CheckResult>]] : []),
      ...(rb.compute.clusters.some((c) => c.region === to) ? [[`quotas:${to}`, `service quotas in ${to}`, () => quotasCheck(rb, to, from)] as [string, string, () => Promise<CheckResult>]] : []),
      ['permissions', "the worker's permissions", () => permissionsCheck(rb, to)],
      ['drill-freshness', 'last successful drill', () => drillsCheck(rb)],
      ['runbook-drift', 'runbook copies', () => driftCheck(rb, digest, opts.callerDigest)],
      ...(auto.direction === 'failover' ? [[`controls:${from}`, `data-plane control of ${from}`, () => controlsCheck(rb, from)] as [string, string, () => Promise<CheckResult>]] : []),
    ];
    const [settled, clusters] = await Promise.all([
      Promise.all(checks.map(([id, title, run]) => run().catch((e: unknown): CheckResult => ({ id, title, verdict: 'not-ready', reasons: [`not read: ${message(e)}`] })))),
      recordClusters(rb),
    ]);
    settled.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { runbook: rb.name, digest, direction: auto.direction, directionReason: auto.why, evaluatedAt: new Date().toISOString(), verdict: worst(settled.map((c) => c.verdict)), checks: settled, ...(clusters.length ? { clusters } : {}) };
  }

  return {
    /**
     * Evaluate the runbook `ref` names, as the workers hold it (a copy that differs from `ref.digest` is a finding,
     * runbook-drift, unless `compareFile` is false: a schedule's evaluations always run the workers' copy). `direction`: which run to judge; by default the one that comes next (a failback when a failover
     * is in effect). Read-only: safe to retry.
     */
    async evaluateReadiness(input: { ref: RunbookRef; direction?: Direction; compareFile?: boolean }): Promise<ReadinessResult> {
      const { runbook, digest } = await workersRunbook(input.ref?.name ?? '');
      return evaluate(runbook, digest, { direction: input.direction, callerDigest: input.compareFile === false ? undefined : input.ref.digest });
    },

    /** Evaluate a runbook a run resolved already (a drill's): the same checks. */
    async evaluateRunbookReadiness(input: { runbook: Runbook; digest?: string; direction?: Direction }): Promise<ReadinessResult> {
      return evaluate(input.runbook, input.digest ?? '', { direction: input.direction });
    },

    /**
     * The newest record of `cluster` in `region` in which it was present, from the runbook's completed evaluations on
     * this worker's task queue, newest first (activities/readiness-history.ts: at most EVALUATIONS_LISTED evaluations
     * are listed, and none older than the namespace's retention period exists any more); undefined when none has one.
     */
    lastClusterRecord,

    /**
     * A rebuild's record of the cluster it recreates (lastClusterRecord), and where the planned cluster would differ from
     * it, over the fields the plan knows (comparePlanWithRecord), `accept` globs applied: what the plan gate shows.
     */
    async clusterAgainstRecord(input: { runbook: string; region: string; cluster: string; planned?: PlannedCluster; accept: string[] }): Promise<{ found?: { workflowId: string; evaluatedAt: string; record: ClusterRecord }; plan?: { differences: string[]; accepted: string[] }; since?: string }> {
      // A cluster an earlier rebuild of this region applied but never verified (its verification failed, or it was
      // stopped) is no record of what was there: a readiness evaluation since would present it as the baseline.
      const since = await unverifiedRebuildSince(input.region);
      const found = await lastClusterRecord({ runbook: input.runbook, region: input.region, cluster: input.cluster, createdBefore: since });
      const extra = since ? { since } : {};
      if (!found) return extra;
      if (!input.planned) return { found, ...extra };
      const c = comparePlanWithRecord(found.record, input.planned, input.accept);
      return { found, plan: { differences: c.differences.map(describeDifference), accepted: c.accepted.map(describeDifference) }, ...extra };
    },

    /** The rebuilt cluster, read now, against the record the rebuild found before it planned (compareClusterRecords, `accept` applied). */
    async verifyClusterRecord(input: { region: string; cluster: string; nodeGroups: string[]; record: ClusterRecord; accept: string[] }): Promise<{ differences: string[]; accepted: string[]; informational: string[]; unknown: string[] }> {
      const eks = deps.eks;
      if (!eks) throw ApplicationFailure.create({ type: FailureType.VerificationFailed, message: 'this worker has no EKS client to read the rebuilt cluster with', nonRetryable: true });
      // The record's node groups too: a group the record has and the rebuilt cluster lacks is a difference to name.
      const groups = [...new Set([...input.nodeGroups, ...Object.keys(input.record.nodeGroups ?? {})])];
      const now = await readClusterRecord(eks, input.region, input.cluster, groups);
      const c: Comparison = compareClusterRecords(input.record, now, input.accept);
      return { differences: c.differences.map(describeDifference), accepted: c.accepted.map(describeDifference), informational: c.informational.map(describeDifference), unknown: c.unknown };
    },

    /** The runbook's notification topic, as the workers' copy names it (null when it names none). */
    async readinessTopic(input: { runbook: string }): Promise<string | null> {
      return (await workersRunbook(input.runbook)).runbook.notifications?.snsTopicArn ?? null;
    },

    /**
     * The schedule's evaluation before `workflowId`/`runId`: the newest of the schedule's recent actions (Temporal keeps
     * its last 10, in the order they started) that is not this run and completed as a readiness record; null when there
     * is none. Read from the schedule, not from visibility: a workflow started by hand under a look-alike id is no
     * action of the schedule, and the schedule knows its actions at once, where visibility may lag.
     */
    async previousReadiness(input: { scheduleId: string; workflowId: string; runId: string }): Promise<{ workflowId: string; result: ReadinessRun } | null> {
      const client = deps.temporal();
      let actions;
      try {
        actions = (await client.schedule.getHandle(input.scheduleId).describe()).info.recentActions.map((a) => a.action.workflow);
      } catch (e) {
        if (e instanceof ScheduleNotFoundError) return null;
        throw e;
      }
      for (const a of [...actions].reverse()) {
        if (a.workflowId === input.workflowId && a.firstExecutionRunId === input.runId) continue;
        const handle = client.workflow.getHandle(a.workflowId, a.firstExecutionRunId);
        const d = await handle.describe().catch(() => undefined);
        if (d?.status.name !== 'COMPLETED') continue;
        const result: unknown = await handle.result().catch(() => undefined);
        // A run of the schedule evaluated as a check (its schedule could not confirm it in time) told nobody anything.
        if (isReadinessRun(result) && result.trigger === 'schedule' && result.change?.told) return { workflowId: a.workflowId, result };
      }
      return null;
    },
  };
}
