/**
 * Data-plane traffic controls (docs/region-loss.md). The activities (readControls, setControl) use CloudWatch in the
 * region that holds a control's alarm, never Route 53: an unplanned failover from us-east-1 makes no call there.
 * `prepareControls` (drover prepare) builds the controls in peacetime through Route 53's control plane.
 */
import { createHash } from 'node:crypto';
import type { Change, CloudWatchRegion, HealthCheck, ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { ApplicationFailure } from '@temporalio/common';
import type { AuroraClusterApi, CloudWatchApi, RdsApi, Route53PrepareApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { CONTROL_METRIC, CONTROL_NAMESPACE, CONTROL_PERIOD_S, controlOf, coverageOf, type ControlSpec } from '../contracts/controls';
import { FailureType } from '../contracts/failures';
import { databasesOf, dbIn, writerZone, writerZoneId } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import { listZoneSets, recordZone, resolveZoneId, writerPair, writerSetId, type ZoneRef } from './route53';
import { pollUntil } from './wait';

/** What the failover needs of a runbook to name its controls (the activities take no whole runbook). */
export interface ControlsOf {
  runbook: string;
  primary: string;
  standby: string;
}

export interface ControlReading {
  region: string;
  alarmRegion: string;
  alarmName: string;
  exists: boolean;
  /** How the alarm differs from what drover prepare makes (a changed alarm may never flip, or flip on its own). */
  problems: string[];
  /** ALARM: the region is withdrawn from DNS answers; OK or INSUFFICIENT_DATA: it serves. */
  state?: string;
  stateSince?: string;
}

/** The mark drover prepare leaves in a control's alarm description once every set carries its health check. */
export function readyMark(coverage: string[]): string {
  return `ready ${createHash('sha256').update(coverage.join('\n')).digest('hex').slice(0, 16)}`;
}

const specOf = (c: ControlsOf, region: string) => controlOf({ name: c.runbook, regions: { primary: c.primary, standby: c.standby } }, region);

/** How an alarm differs from the control's definition: what Route 53 and the flip rely on. */
function alarmProblems(a: MetricAlarm, spec: ControlSpec): string[] {
  const problems: string[] = [];
  const dims = new Map((a.Dimensions ?? []).map((d) => [d.Name, d.Value]));
  if (a.Namespace !== CONTROL_NAMESPACE || a.MetricName !== CONTROL_METRIC) problems.push(`watches ${a.Namespace}/${a.MetricName}, not ${CONTROL_NAMESPACE}/${CONTROL_METRIC}`);
  if (dims.size !== spec.dimensions.length || spec.dimensions.some((d) => dims.get(d.Name) !== d.Value)) problems.push(`has dimensions ${[...dims].map(([k, v]) => `${k}=${v}`).join(',')}, not ${spec.dimensions.map((d) => `${d.Name}=${d.Value}`).join(',')}`);
  if (a.Statistic !== 'Maximum' || a.Threshold !== 1 || a.ComparisonOperator !== 'GreaterThanOrEqualToThreshold' || a.EvaluationPeriods !== 1 || a.Period !== CONTROL_PERIOD_S) {
    problems.push(`is not Maximum >= 1 over one ${CONTROL_PERIOD_S}-s period`);
  }
  if ((a.TreatMissingData ?? 'missing') !== 'ignore') problems.push(`treats missing data as ${a.TreatMissingData ?? 'missing'}, not ignore (a withdrawn region would come back when no data arrives)`);
  return problems;
}

/** The alarm definition drover prepare puts (PutMetricAlarm: on an existing alarm it keeps the state). */
function alarmInput(spec: ControlSpec, mark: string) {
  return {
    AlarmName: spec.alarmName,
    AlarmDescription: `drover data-plane control: ALARM takes ${spec.region}'s record sets out of DNS answers (Route 53 health check of type CLOUDWATCH_METRIC); ${mark}`,
    Namespace: CONTROL_NAMESPACE,
    MetricName: CONTROL_METRIC,
    Dimensions: spec.dimensions,
    Statistic: 'Maximum' as const,
    Period: CONTROL_PERIOD_S,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold' as const,
    // Kept while no data arrives: one datapoint flips the control until the next one.
    TreatMissingData: 'ignore',
  };
}

export function createControlActivities(cloudwatch: (region: string) => CloudWatchApi) {
  async function readOne(spec: ControlSpec, coverage?: string[]): Promise<ControlReading> {
    const out = await aws('cloudwatch:DescribeAlarms', () => cloudwatch(spec.alarmRegion).describeAlarms({ AlarmNames: [spec.alarmName], AlarmTypes: ['MetricAlarm'] }));
    const a = out.MetricAlarms?.find((m) => m.AlarmName === spec.alarmName);
    const base = { region: spec.region, alarmRegion: spec.alarmRegion, alarmName: spec.alarmName };
    if (!a) return { ...base, exists: false, problems: [`alarm ${spec.alarmName} not found in ${spec.alarmRegion}`] };
    const problems = alarmProblems(a, spec);
    // Only a prepare that attached every set marks the alarm: a control without the mark may protect nothing.
    if (coverage && !(a.AlarmDescription ?? '').endsWith(readyMark(coverage))) problems.push(`was not marked ready for this runbook's records by drover prepare (a prepare cut off, or records or writer records changed since)`);
    // StateTransitionedTimestamp: when the state last changed (StateUpdatedTimestamp also moves on a reason's change).
    return { ...base, exists: true, problems, state: a.StateValue, stateSince: (a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp)?.toISOString() };
  }

  return {
    /** The controls of `regions` as their alarms say (each read in its alarm's region). */
    async readControls(input: ControlsOf & { regions: string[]; coverage?: string[] }): Promise<ControlReading[]> {
      return Promise.all(input.regions.map((r) => readOne(specOf(input, r), input.coverage)));
    },

    /**
     * Withdraw `region` from DNS answers (withdrawn) or put it back: one datapoint of drover's metric in the alarm's
     * region, then wait until the alarm says so (ALARM or OK). Idempotent: a control already in the state is left.
     */
    async setControl(input: ControlsOf & { region: string; withdrawn: boolean }): Promise<{ state: string; since?: string; changed: boolean }> {
      const spec = specOf(input, input.region);
      const want = input.withdrawn ? 'ALARM' : 'OK';
      const now = await readOne(spec);
      if (!now.exists || now.problems.length > 0) {
        throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `the control of ${input.region} (${spec.alarmName} in ${spec.alarmRegion}) ${now.problems.join('; ')}: run drover prepare`, nonRetryable: true });
      }
      // Published even when the alarm already reads `want`: Route 53 follows the alarm's data, not its state (a state set
      // by SetAlarmState moves no health check), so the datapoint is what flips it. The same value again changes nothing.
      // No Timestamp: CloudWatch dates it on receipt, whatever this worker's clock says.
      const publish = () =>
        aws('cloudwatch:PutMetricData', () => cloudwatch(spec.alarmRegion).putMetricData({ Namespace: CONTROL_NAMESPACE, MetricData: [{ MetricName: CONTROL_METRIC, Dimensions: spec.dimensions, Value: input.withdrawn ? 1 : 0, Unit: 'Count' }] }));
      await publish();
      let published = Date.now();
      return pollUntil({ what: `${spec.alarmName} in ${spec.alarmRegion} to be ${want}`, timeoutMs: 10 * 60_000, initialIntervalMs: 250, maxIntervalMs: 10_000 }, async () => {
        const r = await readOne(spec);
        // One datapoint a period: sent again each period until the alarm has evaluated one (a put lost, a period missed).
        if (r.state !== want && Date.now() - published >= CONTROL_PERIOD_S * 1000) {
          await publish();
          published = Date.now();
        }
        return { done: r.state === want, value: { state: r.state ?? 'unknown', since: r.stateSince, changed: now.state !== want }, progress: r.state ?? 'not found' };
      });
    },
  };
}

/** One change `drover prepare` makes, as it shows it. */
export interface PlannedChange {
  what: string;
  /** Where in AWS: a region, or the zone. */
  where: string;
}

/** A record shape the controls cannot protect, at its place in the runbook. */
export interface PrepareProblem {
  path: Array<string | number>;
  message: string;
}

export interface PrepareResult {
  changes: PlannedChange[];
  problems: PrepareProblem[];
  /** What is so and stays so, but an operator should know (a control withdrawn). */
  warnings: string[];
  applied: boolean;
}

export interface PrepareDeps {
  route53: () => Route53PrepareApi;
  cloudwatch: (region: string) => CloudWatchApi;
  rds: (region: string) => Pick<RdsApi, 'describeDBInstances'> & AuroraClusterApi;
}

/** The prefix of every caller reference drover prepare gives a health check. */
const CALLER_PREFIX = 'drover-control-';

/**
 * The health check's caller reference, at most 64 characters (CreateHealthCheck): one per runbook name, region and
 * alarm region, so two runbooks of one name with other pairs (two teams' accounts merged, a copy) never share one.
 */
export function callerReferenceOf(runbook: string, region: string, alarmRegion: string): string {
  return `${CALLER_PREFIX}${createHash('sha256').update(`${runbook}\u0000${region}\u0000${alarmRegion}`).digest('hex').slice(0, 40)}`;
}

const norm = (name: string) => name.replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();

/**
 * Build the runbook's control: the primary's alarm (in the standby region), a CLOUDWATCH_METRIC health check following
 * it, attached to the primary's record sets; each writer record becomes a failover pair (one set per region, PRIMARY
 * where it points now). The standby's sets carry no health check (a drover control left on one by an earlier prepare
 * is detached): Route 53 counts them healthy, so withdrawing the primary never fails open. Shows the changes; makes
 * them only with `apply`. Never changes which region serves: a new alarm starts OK (0 published), a new health check
 * is healthy until its alarm says otherwise (InsufficientDataHealthStatus LastKnownStatus), the writer's PRIMARY set
 * points where the record pointed, and a detached standby set was answered only while it was healthy.
 * Refuses (problems, nothing changed) record shapes it cannot protect.
 */
export async function prepareControls(rb: Runbook, deps: PrepareDeps, opts: { apply: boolean }): Promise<PrepareResult> {
  const regions = [rb.regions.primary, rb.regions.standby];
  const primary = rb.regions.primary;
  const standby = rb.regions.standby;
  const ctl = { runbook: rb.name, primary: rb.regions.primary, standby: rb.regions.standby };
  const changes: PlannedChange[] = [];
  const problems: PrepareProblem[] = [];
  const r53 = deps.route53;

  // 1. The primary's alarm, in the standby region; marked ready only once every set is attached.
  const mark = readyMark(coverageOf(rb));
  const warnings: string[] = [];
  const alarms = await Promise.all(
    [primary].map(async (region) => {
      const spec = specOf(ctl, region);
      const out = await aws('cloudwatch:DescribeAlarms', () => deps.cloudwatch(spec.alarmRegion).describeAlarms({ AlarmNames: [spec.alarmName], AlarmTypes: ['MetricAlarm'] }));
      const a = out.MetricAlarms?.find((m) => m.AlarmName === spec.alarmName);
      const fix = !a ? 'create' : alarmProblems(a, spec).length > 0 ? 'update' : undefined;
      const marked = a !== undefined && (a.AlarmDescription ?? '').endsWith(mark);
      if (fix) changes.push({ what: `${fix} alarm ${spec.alarmName} (${CONTROL_NAMESPACE}/${CONTROL_METRIC} Maximum >= 1 over ${CONTROL_PERIOD_S}s)${fix === 'update' ? ' (its state is kept)' : ''}`, where: spec.alarmRegion });
      if (!marked) changes.push({ what: `mark alarm ${spec.alarmName} ready for this runbook's records (last, once every set carries its health check)`, where: spec.alarmRegion });
      // Withdrawn: left so (prepare never changes which region serves).
      if (a?.StateValue === 'ALARM') warnings.push(`the control of ${region} (${spec.alarmName} in ${spec.alarmRegion}) is ALARM: ${region} is out of DNS answers; prepare leaves it so (a failback restores it)`);
      return { spec, fix, marked, state: a?.StateValue };
    }),
  );

  // 2. Health checks, found by their caller reference.
  const listed: HealthCheck[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await aws('route53:ListHealthChecks', () => r53().listHealthChecks({ ...(marker ? { Marker: marker } : {}) }));
    listed.push(...(page.HealthChecks ?? []));
    if (!page.IsTruncated || !page.NextMarker) break;
    marker = page.NextMarker;
  }
  const checks = [primary].map((region) => {
    const spec = specOf(ctl, region);
    const ref = callerReferenceOf(rb.name, region, spec.alarmRegion);
    // Found by its caller reference; a drover check of another reference that follows this very alarm (made by an
    // earlier drover) is adopted rather than replaced: its sets keep it, and its last status.
    const hc =
      listed.find((h) => h.CallerReference === ref) ??
      listed.find((h) => (h.CallerReference ?? '').startsWith(CALLER_PREFIX) && h.HealthCheckConfig?.AlarmIdentifier?.Region === spec.alarmRegion && h.HealthCheckConfig?.AlarmIdentifier?.Name === spec.alarmName);
    const cfg = hc?.HealthCheckConfig;
    // A disabled health check is healthy whatever its alarm says, an inverted one healthy when it is ALARM (UpdateHealthCheck).
    // Route 53 keeps a copy of its alarm's settings: "If you change settings for the CloudWatch alarm after you create a
    // health check, you must update the health check" (Route 53 Developer Guide, health checks' values), so an alarm
    // created or changed here is followed by an update of its health check.
    const alarmChanged = alarms.some((a) => a.spec.region === region && a.fix !== undefined);
    const right =
      cfg?.Type === 'CLOUDWATCH_METRIC' && cfg.AlarmIdentifier?.Region === spec.alarmRegion && cfg.AlarmIdentifier?.Name === spec.alarmName && cfg.InsufficientDataHealthStatus === 'LastKnownStatus' && !cfg.Disabled && !cfg.Inverted && !alarmChanged;
    if (!hc) changes.push({ what: `create health check ${ref} (CLOUDWATCH_METRIC on ${spec.alarmName} in ${spec.alarmRegion}, insufficient data: LastKnownStatus) for ${region}`, where: 'route53' });
    else if (!right) changes.push({ what: `update health check ${hc.Id} to follow ${spec.alarmName} in ${spec.alarmRegion} (insufficient data: LastKnownStatus, enabled, not inverted)`, where: 'route53' });
    return { region, spec, ref, hc, right };
  });
  /** Whether a health check is a drover control (of this runbook or an earlier shape of it): detached from a standby set. */
  const isDroverCheck = (id: string) => listed.some((h) => h.Id === id && (h.CallerReference ?? '').startsWith(CALLER_PREFIX));

  // 3. The record sets: every traffic record's two sets, and each writer record as a failover pair.
  const zones = new Map<string, { ref: ZoneRef; id?: string; sets?: Map<string, ResourceRecordSet> }>();
  const zoneOf = async (ref: ZoneRef): Promise<{ id: string; sets: Map<string, ResourceRecordSet> }> => {
    const k = `${ref.name}|${ref.id ?? ''}`;
    const hit = zones.get(k);
    if (hit?.id && hit.sets) return { id: hit.id, sets: hit.sets };
    const id = await resolveZoneId(r53, ref);
    const sets = await listZoneSets(r53, id);
    zones.set(k, { ref, id, sets });
    return { id, sets };
  };
  /** Per zone id: the changes to make there, each building on the health checks' ids (known once made). */
  const plans: Array<{ zone: string; id: string; make: (hcId: (region: string) => string) => Change[] }> = [];
  const hcLabel = (region: string) => checks.find((c) => c.region === region)?.hc?.Id ?? `(new health check for ${region})`;
  /**
   * A standby set's health: none of its own is what prepare makes; a drover control (an earlier prepare's) is detached;
   * any other source of health (the team's health check, an alias evaluating its target's health) is refused: when it
   * is unhealthy while the primary is withdrawn, every set of the record is, and Route 53 answers as if all were
   * healthy (by weight or PRIMARY: the lost region).
   */
  const standbyCheck = (set: ResourceRecordSet, what: string, at: Array<string | number>): 'keep' | 'detach' | 'refused' => {
    const failOpen = `while ${primary} is withdrawn, if it is unhealthy too Route 53 answers as if every set were healthy (the lost region included)`;
    if (set.AliasTarget?.EvaluateTargetHealth) {
      problems.push({ path: at, message: `${what} is an alias that evaluates its target's health: ${failOpen}; set EvaluateTargetHealth false on the standby's set` });
      return 'refused';
    }
    if (!set.HealthCheckId) return 'keep';
    if (isDroverCheck(set.HealthCheckId)) {
      changes.push({ what: `detach drover health check ${set.HealthCheckId} from ${what} (a standby set carries none)`, where: 'route53' });
      return 'detach';
    }
    problems.push({ path: at, message: `${what} carries health check ${set.HealthCheckId}: ${failOpen}; detach it from the standby's set` });
    return 'refused';
  };
  const detach = (set: ResourceRecordSet): Change => {
    const { HealthCheckId: _dropped, ...rest } = set;
    void _dropped;
    return { Action: 'UPSERT', ResourceRecordSet: rest };
  };

  for (const [i, r] of rb.dns.records.entries()) {
    const ref = recordZone(r, rb.dns.hostedZone, rb.dns.hostedZoneId);
    let zone;
    try {
      zone = await zoneOf(ref);
    } catch (e) {
      problems.push({ path: ['dns', 'records', i, r.zoneId ? 'zoneId' : 'zone'], message: (e as Error).message });
      continue;
    }
    const group = [...zone.sets.values()].filter((s) => norm(s.Name ?? '') === norm(r.name) && s.Type === r.type);
    const mine = regions.map((region) => ({ region, set: group.find((s) => s.SetIdentifier === r.targets[region]?.setIdentifier) }));
    const others = group.filter((s) => !mine.some((m) => m.set === s));
    if (others.length > 0) {
      // Route 53 always counts a set without a health check as healthy: withdrawing a region would leave traffic on it.
      problems.push({ path: ['dns', 'records', i], message: `${r.name} ${r.type} has sets the runbook does not name (${others.map((s) => s.SetIdentifier ?? 'simple').join(', ')}): withdrawing a region would leave traffic on them; name only two sets, one per region` });
      continue;
    }
    const toAttach: Array<{ region: string; set: ResourceRecordSet }> = [];
    const toDetach: ResourceRecordSet[] = [];
    for (const { region, set } of mine) {
      if (!set) {
        problems.push({ path: ['dns', 'records', i, 'targets', region], message: `no ${r.type} set ${r.targets[region]?.setIdentifier} for ${r.name} in zone ${ref.name}` });
        continue;
      }
      if (region === standby) {
        const fate = standbyCheck(set, `${r.name} ${r.type} set ${set.SetIdentifier} (${standby})`, ['dns', 'records', i, 'targets', region]);
        if (fate === 'detach') toDetach.push(set);
        continue;
      }
      const ours = checks[0].hc?.Id;
      if (set.HealthCheckId && set.HealthCheckId !== ours) {
        problems.push({ path: ['dns', 'records', i, 'targets', region], message: `set ${set.SetIdentifier} carries health check ${set.HealthCheckId}, not drover's control: a set has one health check; detach it (or combine it into a calculated health check) first` });
        continue;
      }
      if (!set.HealthCheckId) toAttach.push({ region, set });
    }
    for (const { region, set } of toAttach) changes.push({ what: `attach ${hcLabel(region)} to ${r.name} ${r.type} set ${set.SetIdentifier} (${region})`, where: `zone ${ref.name}` });
    if (toAttach.length + toDetach.length > 0) {
      plans.push({ zone: ref.name, id: zone.id, make: (hc) => [...toAttach.map(({ region, set }): Change => ({ Action: 'UPSERT', ResourceRecordSet: { ...set, HealthCheckId: hc(region) } })), ...toDetach.map(detach)] });
    }
  }

  for (const [i, d] of databasesOf(rb).entries()) {
    const at: Array<string | number> = rb.databases ? ['databases', i, 'writerRecord'] : ['database', 'writerRecord'];
    const ref: ZoneRef = { name: writerZone(rb, d), ...(writerZoneId(rb, d) ? { id: writerZoneId(rb, d) } : {}) };
    let zone;
    try {
      zone = await zoneOf(ref);
    } catch (e) {
      problems.push({ path: [...at, 'zone'], message: (e as Error).message });
      continue;
    }
    const name = d.writerRecord.name;
    const pair = writerPair(zone.sets, name);
    if (pair) {
      // Already a pair: the primary's set carries its control, the standby's none.
      const mineSet = pair.sets.find((s) => s.SetIdentifier === writerSetId(primary));
      const theirs = pair.sets.find((s) => s.SetIdentifier === writerSetId(standby));
      const ours = checks[0].hc?.Id;
      const attach = mineSet && !(mineSet.HealthCheckId && mineSet.HealthCheckId === ours) ? mineSet : undefined;
      const unhook = theirs && standbyCheck(theirs, `writer ${name} set ${theirs.SetIdentifier}`, [...at, 'name']) === 'detach' ? theirs : undefined;
      if (attach) changes.push({ what: `attach ${hcLabel(primary)} to writer ${name} set ${attach.SetIdentifier}`, where: `zone ${ref.name}` });
      if (attach || unhook) {
        plans.push({ zone: ref.name, id: zone.id, make: (hc) => [...(attach ? [{ Action: 'UPSERT' as const, ResourceRecordSet: { ...attach, HealthCheckId: hc(primary) } }] : []), ...(unhook ? [detach(unhook)] : [])] });
      }
      continue;
    }
    const simple = [...zone.sets.values()].find((s) => norm(s.Name ?? '') === norm(name) && s.Type === 'CNAME' && s.SetIdentifier === undefined);
    if (!simple) {
      problems.push({ path: [...at, 'name'], message: `${name} has no simple CNAME in zone ${ref.name} (nor drover's failover pair): create it pointing at the writer first` });
      continue;
    }
    const current = simple.ResourceRecords?.[0]?.Value ?? '';
    const endpoints = await Promise.all(
      regions.map(async (region) => {
        const id = dbIn(rb, d, region);
        // Aurora global: the identifiers are DB clusters, each with its own writer endpoint.
        const read =
          d.engine === 'aurora-global'
            ? aws('rds:DescribeDBClusters', () => deps.rds(region).describeDBClusters({ DBClusterIdentifier: id })).then((o) => o.DBClusters?.[0]?.Endpoint)
            : aws('rds:DescribeDBInstances', () => deps.rds(region).describeDBInstances({ DBInstanceIdentifier: id })).then((o) => o.DBInstances?.[0]?.Endpoint?.Address);
        const value = await read.catch((e: Error) => {
          problems.push({ path: [...at], message: `cannot read ${id} in ${region} for its endpoint: ${e.message}` });
          return undefined;
        });
        return { region, value };
      }),
    );
    if (endpoints.some((e) => !e.value)) continue;
    const primaryOf = endpoints.find((e) => norm(e.value ?? '') === norm(current));
    if (!primaryOf) {
      problems.push({ path: [...at, 'name'], message: `${name} points at ${current}, which is neither database's endpoint (${endpoints.map((e) => e.value).join(', ')}): drover cannot make the pair without changing where it points` });
      continue;
    }
    changes.push({ what: `replace writer ${name} (CNAME ${current}) by a failover pair: ${endpoints.map((e) => `${writerSetId(e.region)} -> ${e.value} (${e === primaryOf ? 'PRIMARY' : 'SECONDARY'}, ${e.region === primary ? hcLabel(e.region) : 'no health check'})`).join('; ')}`, where: `zone ${ref.name}` });
    plans.push({
      zone: ref.name,
      id: zone.id,
      // One ChangeBatch: the simple record and the pair never exist together (Route 53 refuses that), nor neither.
      make: (hc) => [
        { Action: 'DELETE', ResourceRecordSet: simple },
        ...endpoints.map(
          (e): Change => ({
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: simple.Name,
              Type: 'CNAME',
              TTL: simple.TTL ?? d.writerRecord.ttl,
              SetIdentifier: writerSetId(e.region),
              Failover: e === primaryOf ? 'PRIMARY' : 'SECONDARY',
              ...(e.region === primary ? { HealthCheckId: hc(e.region) } : {}),
              ResourceRecords: [{ Value: e.value as string }],
            },
          }),
        ),
      ],
    });
  }

  // A withdrawn primary's control is left as it is: a health check made, changed or attached now could start healthy
  // (LastKnownStatus with no last status) and put the lost region back in DNS answers. The failback restores it first.
  const withdrawn = alarms.some((a) => a.state === 'ALARM');
  if (withdrawn && changes.length > 0) {
    problems.push({ path: ['regions', 'primary'], message: `the control of ${primary} is ALARM (${primary} is out of DNS answers): drover prepare changes nothing while it is withdrawn; run drover failback first, then prepare again` });
  }
  if (problems.length > 0 || !opts.apply || changes.length === 0) return { changes, problems, warnings, applied: false };

  // Apply: alarms (not marked ready), then health checks (their ids), then each zone's changes in one ChangeBatch, then
  // the ready marks. A prepare cut off anywhere leaves controls an unplanned failover refuses (readControls' mark check).
  for (const { spec, fix } of alarms) {
    if (!fix) continue;
    await aws('cloudwatch:PutMetricAlarm', () => deps.cloudwatch(spec.alarmRegion).putMetricAlarm(alarmInput(spec, 'not ready')));
    // A new alarm starts OK with one 0, unless its health check exists already: then the check keeps its last status
    // (perhaps withdrawn) until a flip, and a 0 here would put a withdrawn region back in DNS answers.
    const hasCheck = checks.some((c) => c.region === spec.region && c.hc);
    if (fix === 'create' && !hasCheck) {
      await aws('cloudwatch:PutMetricData', () => deps.cloudwatch(spec.alarmRegion).putMetricData({ Namespace: CONTROL_NAMESPACE, MetricData: [{ MetricName: CONTROL_METRIC, Dimensions: spec.dimensions, Value: 0, Unit: 'Count' }] }));
    }
  }
  const ids = new Map<string, string>();
  for (const c of checks) {
    const AlarmIdentifier = { Region: c.spec.alarmRegion as CloudWatchRegion, Name: c.spec.alarmName };
    if (!c.hc) {
      const out = await aws('route53:CreateHealthCheck', () => r53().createHealthCheck({ CallerReference: c.ref, HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier, InsufficientDataHealthStatus: 'LastKnownStatus' } }));
      ids.set(c.region, out.HealthCheck?.Id ?? '');
    } else {
      if (!c.right) await aws('route53:UpdateHealthCheck', () => r53().updateHealthCheck({ HealthCheckId: c.hc?.Id, AlarmIdentifier, InsufficientDataHealthStatus: 'LastKnownStatus', Disabled: false, Inverted: false }));
      ids.set(c.region, c.hc.Id ?? '');
    }
  }
  const hcId = (region: string) => ids.get(region) ?? '';
  const byZone = new Map<string, Change[]>();
  for (const p of plans) byZone.set(p.id, [...(byZone.get(p.id) ?? []), ...p.make(hcId)]);
  for (const [id, batch] of byZone) {
    await aws('route53:ChangeResourceRecordSets', () => r53().changeResourceRecordSets({ HostedZoneId: id, ChangeBatch: { Comment: 'drover prepare: data-plane controls', Changes: batch } }));
  }
  // Every set carries its health check: the marks, last (PutMetricAlarm on an existing alarm keeps its state).
  for (const { spec } of alarms) await aws('cloudwatch:PutMetricAlarm', () => deps.cloudwatch(spec.alarmRegion).putMetricAlarm(alarmInput(spec, mark)));
  return { changes, problems, warnings, applied: true };
}
