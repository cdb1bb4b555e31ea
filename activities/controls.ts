/**
 * Data-plane traffic controls (docs/region-loss.md). The activities (readControls, setControl) use CloudWatch in the
 * region that holds a control's alarm, never Route 53: an unplanned failover from us-east-1 makes no call there.
 * `prepareControls` (drover prepare) builds the controls in peacetime through Route 53's control plane.
 */
import { createHash } from 'node:crypto';
import type { Change, CloudWatchRegion, HealthCheck, ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { ApplicationFailure } from '@temporalio/common';
import type { CloudWatchApi, RdsApi, Route53PrepareApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { CONTROL_METRIC, CONTROL_NAMESPACE, CONTROL_PERIOD_S, controlOf, type ControlSpec } from '../contracts/controls';
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
function alarmInput(spec: ControlSpec) {
  return {
    AlarmName: spec.alarmName,
    AlarmDescription: `drover data-plane control: ALARM takes ${spec.region}'s record sets out of DNS answers (Route 53 health check of type CLOUDWATCH_METRIC)`,
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
  async function readOne(spec: ControlSpec): Promise<ControlReading> {
    const out = await aws('cloudwatch:DescribeAlarms', () => cloudwatch(spec.alarmRegion).describeAlarms({ AlarmNames: [spec.alarmName], AlarmTypes: ['MetricAlarm'] }));
    const a = out.MetricAlarms?.find((m) => m.AlarmName === spec.alarmName);
    const base = { region: spec.region, alarmRegion: spec.alarmRegion, alarmName: spec.alarmName };
    if (!a) return { ...base, exists: false, problems: [`alarm ${spec.alarmName} not found in ${spec.alarmRegion}`] };
    return { ...base, exists: true, problems: alarmProblems(a, spec), state: a.StateValue, stateSince: a.StateUpdatedTimestamp?.toISOString() };
  }

  return {
    /** The controls of `regions` as their alarms say (each read in its alarm's region). */
    async readControls(input: ControlsOf & { regions: string[] }): Promise<ControlReading[]> {
      return Promise.all(input.regions.map((r) => readOne(specOf(input, r))));
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
      if (now.state === want) return { state: want, since: now.stateSince, changed: false };
      const publish = () =>
        aws('cloudwatch:PutMetricData', () =>
          cloudwatch(spec.alarmRegion).putMetricData({ Namespace: CONTROL_NAMESPACE, MetricData: [{ MetricName: CONTROL_METRIC, Dimensions: spec.dimensions, Value: input.withdrawn ? 1 : 0, Unit: 'Count', Timestamp: new Date() }] }),
        );
      await publish();
      let published = Date.now();
      return pollUntil({ what: `${spec.alarmName} in ${spec.alarmRegion} to be ${want}`, timeoutMs: 10 * 60_000, initialIntervalMs: 250, maxIntervalMs: 10_000 }, async () => {
        const r = await readOne(spec);
        // One datapoint a period: sent again each period until the alarm has evaluated one (a put lost, a period missed).
        if (r.state !== want && Date.now() - published >= CONTROL_PERIOD_S * 1000) {
          await publish();
          published = Date.now();
        }
        return { done: r.state === want, value: { state: r.state ?? 'unknown', since: r.stateSince, changed: true }, progress: r.state ?? 'not found' };
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
  applied: boolean;
}

export interface PrepareDeps {
  route53: () => Route53PrepareApi;
  cloudwatch: (region: string) => CloudWatchApi;
  rds: (region: string) => Pick<RdsApi, 'describeDBInstances'>;
}

/** The health check's caller reference: one per runbook and region, at most 64 characters (CreateHealthCheck). */
export function callerReferenceOf(runbook: string, region: string): string {
  return `drover-control-${createHash('sha256').update(`${runbook}\u0000${region}`).digest('hex').slice(0, 40)}`;
}

const norm = (name: string) => name.replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();

/**
 * Build the runbook's controls: an alarm per region (in the other region), a CLOUDWATCH_METRIC health check per region
 * following it, attached to that region's record sets; each writer record becomes a failover pair (one set per
 * region, PRIMARY where it points now). Shows the changes; makes them only with `apply`. Never changes which region
 * serves: a new alarm starts OK (0 published), a new health check is healthy until its alarm says otherwise
 * (InsufficientDataHealthStatus LastKnownStatus), and the writer's PRIMARY set points where the record pointed.
 * Refuses (problems, nothing changed) record shapes it cannot protect.
 */
export async function prepareControls(rb: Runbook, deps: PrepareDeps, opts: { apply: boolean }): Promise<PrepareResult> {
  const regions = [rb.regions.primary, rb.regions.standby];
  const ctl = { runbook: rb.name, primary: rb.regions.primary, standby: rb.regions.standby };
  const changes: PlannedChange[] = [];
  const problems: PrepareProblem[] = [];
  const r53 = deps.route53;

  // 1. Alarms, each in the region that is not the one it controls.
  const alarms = await Promise.all(
    regions.map(async (region) => {
      const spec = specOf(ctl, region);
      const out = await aws('cloudwatch:DescribeAlarms', () => deps.cloudwatch(spec.alarmRegion).describeAlarms({ AlarmNames: [spec.alarmName], AlarmTypes: ['MetricAlarm'] }));
      const a = out.MetricAlarms?.find((m) => m.AlarmName === spec.alarmName);
      const fix = !a ? 'create' : alarmProblems(a, spec).length > 0 ? 'update' : undefined;
      if (fix) changes.push({ what: `${fix} alarm ${spec.alarmName} (${CONTROL_NAMESPACE}/${CONTROL_METRIC} Maximum >= 1 over ${CONTROL_PERIOD_S}s)${fix === 'create' ? ', then publish 0 so it starts OK' : ' (its state is kept)'}`, where: spec.alarmRegion });
      return { spec, fix };
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
  const checks = regions.map((region) => {
    const spec = specOf(ctl, region);
    const ref = callerReferenceOf(rb.name, region);
    const hc = listed.find((h) => h.CallerReference === ref);
    const cfg = hc?.HealthCheckConfig;
    const right = cfg?.Type === 'CLOUDWATCH_METRIC' && cfg.AlarmIdentifier?.Region === spec.alarmRegion && cfg.AlarmIdentifier?.Name === spec.alarmName && cfg.InsufficientDataHealthStatus === 'LastKnownStatus';
    if (!hc) changes.push({ what: `create health check ${ref} (CLOUDWATCH_METRIC on ${spec.alarmName} in ${spec.alarmRegion}, insufficient data: LastKnownStatus) for ${region}`, where: 'route53' });
    else if (!right) changes.push({ what: `update health check ${hc.Id} to follow ${spec.alarmName} in ${spec.alarmRegion} (insufficient data: LastKnownStatus)`, where: 'route53' });
    return { region, spec, ref, hc, right };
  });

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
    for (const { region, set } of mine) {
      if (!set) {
        problems.push({ path: ['dns', 'records', i, 'targets', region], message: `no ${r.type} set ${r.targets[region]?.setIdentifier} for ${r.name} in zone ${ref.name}` });
        continue;
      }
      const ours = checks.find((c) => c.region === region)?.hc?.Id;
      if (set.HealthCheckId && set.HealthCheckId !== ours) {
        problems.push({ path: ['dns', 'records', i, 'targets', region], message: `set ${set.SetIdentifier} carries health check ${set.HealthCheckId}, not drover's control: a set has one health check; detach it (or combine it into a calculated health check) first` });
        continue;
      }
      if (!set.HealthCheckId) toAttach.push({ region, set });
    }
    for (const { region, set } of toAttach) changes.push({ what: `attach ${hcLabel(region)} to ${r.name} ${r.type} set ${set.SetIdentifier} (${region})`, where: `zone ${ref.name}` });
    if (toAttach.length > 0) plans.push({ zone: ref.name, id: zone.id, make: (hc) => toAttach.map(({ region, set }) => ({ Action: 'UPSERT', ResourceRecordSet: { ...set, HealthCheckId: hc(region) } })) });
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
      // Already a pair: each set carries its region's health check.
      const fixes = pair.sets.flatMap((s) => {
        const region = regions.find((r) => s.SetIdentifier === writerSetId(r));
        if (!region) return [];
        const ours = checks.find((c) => c.region === region)?.hc?.Id;
        return s.HealthCheckId && s.HealthCheckId === ours ? [] : [{ region, set: s }];
      });
      for (const f of fixes) changes.push({ what: `attach ${hcLabel(f.region)} to writer ${name} set ${f.set.SetIdentifier}`, where: `zone ${ref.name}` });
      if (fixes.length > 0) plans.push({ zone: ref.name, id: zone.id, make: (hc) => fixes.map((f) => ({ Action: 'UPSERT', ResourceRecordSet: { ...f.set, HealthCheckId: hc(f.region) } })) });
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
        const out = await aws('rds:DescribeDBInstances', () => deps.rds(region).describeDBInstances({ DBInstanceIdentifier: id })).catch((e: Error) => {
          problems.push({ path: [...at], message: `cannot read ${id} in ${region} for its endpoint: ${e.message}` });
          return undefined;
        });
        return { region, value: out?.DBInstances?.[0]?.Endpoint?.Address };
      }),
    );
    if (endpoints.some((e) => !e.value)) continue;
    const primaryOf = endpoints.find((e) => norm(e.value ?? '') === norm(current));
    if (!primaryOf) {
      problems.push({ path: [...at, 'name'], message: `${name} points at ${current}, which is neither database's endpoint (${endpoints.map((e) => e.value).join(', ')}): drover cannot make the pair without changing where it points` });
      continue;
    }
    changes.push({ what: `replace writer ${name} (CNAME ${current}) by a failover pair: ${endpoints.map((e) => `${writerSetId(e.region)} -> ${e.value} (${e === primaryOf ? 'PRIMARY' : 'SECONDARY'}, ${hcLabel(e.region)})`).join('; ')}`, where: `zone ${ref.name}` });
    plans.push({
      zone: ref.name,
      id: zone.id,
      // One ChangeBatch: the simple record and the pair never exist together (Route 53 refuses that), nor neither.
      make: (hc) => [
        { Action: 'DELETE', ResourceRecordSet: simple },
        ...endpoints.map(
          (e): Change => ({
            Action: 'CREATE',
            ResourceRecordSet: { Name: simple.Name, Type: 'CNAME', TTL: simple.TTL ?? d.writerRecord.ttl, SetIdentifier: writerSetId(e.region), Failover: e === primaryOf ? 'PRIMARY' : 'SECONDARY', HealthCheckId: hc(e.region), ResourceRecords: [{ Value: e.value as string }] },
          }),
        ),
      ],
    });
  }

  if (problems.length > 0 || !opts.apply || changes.length === 0) return { changes, problems, applied: false };

  // Apply: alarms, then health checks (their ids), then each zone's changes in one ChangeBatch.
  for (const { spec, fix } of alarms) {
    if (!fix) continue;
    await aws('cloudwatch:PutMetricAlarm', () => deps.cloudwatch(spec.alarmRegion).putMetricAlarm(alarmInput(spec)));
    if (fix === 'create') {
      await aws('cloudwatch:PutMetricData', () => deps.cloudwatch(spec.alarmRegion).putMetricData({ Namespace: CONTROL_NAMESPACE, MetricData: [{ MetricName: CONTROL_METRIC, Dimensions: spec.dimensions, Value: 0, Unit: 'Count', Timestamp: new Date() }] }));
    }
  }
  const ids = new Map<string, string>();
  for (const c of checks) {
    const AlarmIdentifier = { Region: c.spec.alarmRegion as CloudWatchRegion, Name: c.spec.alarmName };
    if (!c.hc) {
      const out = await aws('route53:CreateHealthCheck', () => r53().createHealthCheck({ CallerReference: c.ref, HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC', AlarmIdentifier, InsufficientDataHealthStatus: 'LastKnownStatus' } }));
      ids.set(c.region, out.HealthCheck?.Id ?? '');
    } else {
      if (!c.right) await aws('route53:UpdateHealthCheck', () => r53().updateHealthCheck({ HealthCheckId: c.hc?.Id, AlarmIdentifier, InsufficientDataHealthStatus: 'LastKnownStatus' }));
      ids.set(c.region, c.hc.Id ?? '');
    }
  }
  const hcId = (region: string) => ids.get(region) ?? '';
  const byZone = new Map<string, Change[]>();
  for (const p of plans) byZone.set(p.id, [...(byZone.get(p.id) ?? []), ...p.make(hcId)]);
  for (const [id, batch] of byZone) {
    await aws('route53:ChangeResourceRecordSets', () => r53().changeResourceRecordSets({ HostedZoneId: id, ChangeBatch: { Comment: 'drover prepare: data-plane controls', Changes: batch } }));
  }
  return { changes, problems, applied: true };
}
