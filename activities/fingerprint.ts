/**
 * The topology fingerprint (contracts/fingerprint.ts): read what a failover and its failback touch, and find the
 * fingerprint the last completed failover of a runbook took before its first change. Reads only; a part that cannot be
 * read (a region unreachable) is named in `unread`, never guessed.
 */
import type { ListResourceRecordSetsCommandInput } from '@aws-sdk/client-route-53';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CloudWatchApi, Ec2Api, EksApi, KmsApi, RdsLifecycleApi, Route53Api } from '../aws/clients';
import type { Fingerprint, FingerprintScope, RecordFingerprint } from '../contracts/fingerprint';
import { createDbConfigActivities } from './dbconfig';

/** The workflow type whose result carries the baseline. */
const FAILOVER_TYPE = 'regionFailover';

export interface FingerprintDeps {
  route53: () => Route53Api;
  rds: (region: string) => RdsLifecycleApi;
  ec2: (region: string) => Ec2Api;
  kms: (region: string) => KmsApi;
  eks: (region: string) => EksApi;
  cloudwatch: (region: string) => CloudWatchApi;
  temporal: () => Client;
}

const why = (err: unknown) => (err as Error)?.message ?? String(err);

export function createFingerprintActivities(deps: FingerprintDeps) {
  const configs = createDbConfigActivities(deps.rds, deps.ec2, deps.kms);

  async function zoneId(zone: string, given?: string): Promise<string> {
    if (given) return given;
    const out = await deps.route53().listHostedZonesByName({ DNSName: zone });
    const found = (out.HostedZones ?? []).find((z) => z.Name?.replace(/\.$/, '') === zone.replace(/\.$/, ''));
    if (!found?.Id) throw new Error(`hosted zone ${zone} not found`);
    return found.Id.replace(/^\/hostedzone\//, '');
  }

  /** The record sets named `names` in a zone, every page. */
  async function recordSets(id: string, names: Set<string>): Promise<RecordFingerprint[]> {
    const out: RecordFingerprint[] = [];
    let start: Pick<ListResourceRecordSetsCommandInput, 'StartRecordName' | 'StartRecordType' | 'StartRecordIdentifier'> = {};
    for (;;) {
      const page = await deps.route53().listResourceRecordSets({ HostedZoneId: id, ...start });
      for (const s of page.ResourceRecordSets ?? []) {
        const name = (s.Name ?? '').replace(/\.$/, '');
        if (!names.has(name)) continue;
        out.push({
          name,
          type: s.Type ?? '',
          ...(s.SetIdentifier ? { setIdentifier: s.SetIdentifier } : {}),
          ...(s.Weight !== undefined ? { weight: s.Weight } : {}),
          ...(s.Failover ? { failover: s.Failover } : {}),
          ...(s.HealthCheckId ? { healthCheckId: s.HealthCheckId } : {}),
          ...(s.TTL !== undefined ? { ttl: s.TTL } : {}),
          ...(s.AliasTarget ? { alias: `${s.AliasTarget.DNSName} (evaluate health: ${s.AliasTarget.EvaluateTargetHealth})` } : {}),
          ...(s.ResourceRecords ? { values: s.ResourceRecords.map((r) => r.Value ?? '').sort() } : {}),
        });
      }
      if (!page.IsTruncated) break;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, ...(page.NextRecordIdentifier ? { StartRecordIdentifier: page.NextRecordIdentifier } : {}) };
    }
    return out.sort((a, b) => `${a.name} ${a.type} ${a.setIdentifier ?? ''}`.localeCompare(`${b.name} ${b.type} ${b.setIdentifier ?? ''}`));
  }

  return {
    /** Read everything in `scope` now. */
    async takeFingerprint(scope: FingerprintScope): Promise<Fingerprint> {
      const unread: string[] = [];
      const fp: Fingerprint = { takenAt: new Date().toISOString(), records: [], databases: [], nodeGroups: [], alarms: [], unread };
      try {
        fp.records.push(...(await recordSets(await zoneId(scope.hostedZone, scope.hostedZoneId), new Set(scope.records))));
        for (const o of scope.otherZones) fp.records.push(...(await recordSets(await zoneId(o.zone, o.zoneId), new Set([o.name]))));
      } catch (err) {
        unread.push(`record sets of ${scope.hostedZone}: ${why(err)}`);
      }
      for (const d of scope.databases) {
        try {
          const c = await configs.describeDbConfig(d);
          fp.databases.push(c.exists ? { ...d, role: c.source ? 'replica' : 'writer', ...(c.source ? { source: c.source } : {}), config: c.config } : { ...d, role: 'gone' });
        } catch (err) {
          unread.push(`database ${d.identifier} (${d.region}): ${why(err)}`);
        }
      }
      for (const c of scope.clusters) {
        for (const name of c.nodeGroups) {
          try {
            const s = (await deps.eks(c.region).describeNodegroup({ clusterName: c.cluster, nodegroupName: name })).nodegroup?.scalingConfig;
            fp.nodeGroups.push({ region: c.region, cluster: c.cluster, name, min: s?.minSize, desired: s?.desiredSize, max: s?.maxSize });
          } catch (err) {
            unread.push(`node group ${c.region}/${c.cluster}/${name}: ${why(err)}`);
          }
        }
      }
      for (const a of scope.alarms) {
        if (a.names.length === 0) continue;
        try {
          const found = (await deps.cloudwatch(a.region).describeAlarms({ AlarmNames: a.names })).MetricAlarms ?? [];
          for (const name of a.names) {
            const m = found.find((x) => x.AlarmName === name);
            const definition = m
              ? [
                  `${m.Namespace}/${m.MetricName}`,
                  (m.Dimensions ?? []).map((x) => `${x.Name}=${x.Value}`).sort().join(','),
                  `${m.ExtendedStatistic ?? m.Statistic} over ${m.Period}s`,
                  `${m.ComparisonOperator} ${m.Threshold}`,
                  `${m.DatapointsToAlarm ?? m.EvaluationPeriods}/${m.EvaluationPeriods}`,
                  `missing ${m.TreatMissingData ?? 'missing'}`,
                  `actions ${m.ActionsEnabled ? 'on' : 'off'}`,
                ].join('; ')
              : undefined;
            fp.alarms.push({ region: a.region, name, exists: m !== undefined, ...(definition ? { definition } : {}) });
          }
        } catch (err) {
          unread.push(`alarms in ${a.region}: ${why(err)}`);
        }
      }
      return fp;
    },

    /**
     * The fingerprint the newest failover of `runbook` took before its first change (its result's `fingerprint`), with
     * that failover's workflow id. Undefined when the newest one did not complete (a failback after it has no baseline
     * it can trust: an older failover's would compare with another round trip) or recorded none.
     */
    async lastFailoverFingerprint(input: { runbook: string }): Promise<{ workflowId: string; fingerprint: Fingerprint } | undefined> {
      // Failovers started by the CLI, a drill or a test all carry the runbook's name in their workflow id (failover-<name>,
      // drill-<name>-...-failover), not always a search attribute: candidates by id, newest first, each confirmed by its
      // record (a result, or a failure's details), which names its runbook.
      const candidates: Array<{ workflowId: string; runId: string; start: number }> = [];
      for await (const w of deps.temporal().workflow.list({ query: `WorkflowType = '${FAILOVER_TYPE}' AND ExecutionStatus != 'Running'` })) {
        if (w.workflowId.includes(input.runbook)) candidates.push({ workflowId: w.workflowId, runId: w.runId, start: w.startTime.getTime() });
      }
      for (const c of candidates.sort((a, b) => b.start - a.start).slice(0, 20)) {
        try {
          const result = (await deps.temporal().workflow.getHandle(c.workflowId, c.runId).result()) as { runbook?: string; fingerprint?: Fingerprint } | undefined;
          if (result?.runbook !== input.runbook) continue;
          return result.fingerprint ? { workflowId: c.workflowId, fingerprint: result.fingerprint } : undefined;
        } catch (err) {
          const record = err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure ? (err.cause.details?.[0] as { runbook?: string } | undefined) : undefined;
          if (record?.runbook === input.runbook) return undefined;
        }
      }
      return undefined;
    },
  };
}
