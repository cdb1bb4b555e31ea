/**
 * The topology fingerprint (contracts/fingerprint.ts): read what a failover and its failback touch, and find the
 * fingerprint the newest failover of a runbook took before its first change. Reads only; a part that cannot be
 * read (a region unreachable) is named in `unread`, never guessed.
 */
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CloudWatchApi, Ec2Api, EksApi, KmsApi, RdsLifecycleApi, Route53Api } from '../aws/clients';
import type { RpoEvidence } from '../contracts/engines';
import type { Fingerprint, FingerprintScope, RecordFingerprint } from '../contracts/fingerprint';
import type { RunStatus } from '../contracts/run';
import { createDbConfigActivities } from './dbconfig';
import { listZoneSets, norm, recordZone, resolveZoneId, type ZoneRef } from './route53';

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

/** What a failover's result holds that a failback reads. */
type FailoverRecord = Pick<RunStatus, 'runbook' | 'mode' | 'databases'> & { fingerprint?: Fingerprint };

const why = (err: unknown) => (err as Error)?.message ?? String(err);

export function createFingerprintActivities(deps: FingerprintDeps) {
  const configs = createDbConfigActivities(deps.rds, deps.ec2, deps.kms);

  /**
   * The newest failover of a runbook on this worker's task queue (another queue's workers are not drover's), by its id:
   * failover-<name> (the CLI's) or drill-<name>-...-failover (a drill's child); its result when it completed and is of
   * this runbook. The newest whatever its outcome: one that did not complete leaves nothing to compare with.
   */
  async function newestFailover(runbook: string): Promise<{ workflowId: string; result: FailoverRecord } | undefined> {
    const taskQueue = Context.current().info.taskQueue;
    // A drill's id is drill-<name>-<yyyymmddThhmmssZ> (by hand) or drill-<name>-scheduled[-<RFC 3339 time>] (its schedule's):
    // matched whole, so another runbook whose name starts with this one's (shop-eu for shop) never passes.
    const drill = new RegExp(`^drill-${runbook.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{8}T\\d{6}Z|scheduled(-\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z)?)-failover$`);
    const ours = (id: string) => id === `failover-${runbook}` || drill.test(id);
    let newest: { workflowId: string; runId: string; start: number; completed: boolean } | undefined;
    // Running ones too: the newest still running (or just closed, visibility lagging) leaves nothing to compare with.
    for await (const w of deps.temporal().workflow.list({ query: `WorkflowType = '${FAILOVER_TYPE}' AND TaskQueue = '${taskQueue}'` })) {
      if (!ours(w.workflowId) || (newest && newest.start >= w.startTime.getTime())) continue;
      newest = { workflowId: w.workflowId, runId: w.runId, start: w.startTime.getTime(), completed: w.status.name === 'COMPLETED' };
    }
    if (!newest?.completed) return undefined;
    const result = (await deps.temporal().workflow.getHandle(newest.workflowId, newest.runId).result()) as FailoverRecord | undefined;
    return result?.runbook === runbook ? { workflowId: newest.workflowId, result } : undefined;
  }

  /** What the fingerprint keeps of a record set. */
  const recordOf = (s: ResourceRecordSet): RecordFingerprint => ({
    name: norm(s.Name ?? ''),
    type: s.Type ?? '',
    ...(s.SetIdentifier ? { setIdentifier: s.SetIdentifier } : {}),
    ...(s.Weight !== undefined ? { weight: s.Weight } : {}),
    ...(s.Failover ? { failover: s.Failover } : {}),
    ...(s.HealthCheckId ? { healthCheckId: s.HealthCheckId } : {}),
    ...(s.TTL !== undefined ? { ttl: s.TTL } : {}),
    ...(s.AliasTarget ? { alias: `${s.AliasTarget.DNSName} (evaluate health: ${s.AliasTarget.EvaluateTargetHealth})` } : {}),
    ...(s.ResourceRecords ? { values: s.ResourceRecords.map((r) => r.Value ?? '').sort() } : {}),
  });

  return {
    /** Read everything in `scope` now. */
    async takeFingerprint(scope: FingerprintScope): Promise<Fingerprint> {
      const unread: string[] = [];
      const fp: Fingerprint = { takenAt: new Date().toISOString(), records: [], databases: [], nodeGroups: [], alarms: [], unread };
      // Each record in its zone as every Route 53 step finds it (recordZone; a name several zones share is refused).
      const zones = new Map<string, { zone: ZoneRef; names: Set<string> }>();
      for (const r of scope.records) {
        const zone = recordZone(r, scope.hostedZone, scope.hostedZoneId);
        const k = `${norm(zone.name)}|${zone.id ?? ''}`;
        const at = zones.get(k) ?? { zone, names: new Set<string>() };
        at.names.add(norm(r.name));
        zones.set(k, at);
      }
      for (const { zone, names } of zones.values()) {
        try {
          const sets = await listZoneSets(deps.route53, await resolveZoneId(deps.route53, zone));
          for (const set of sets.values()) if (names.has(norm(set.Name ?? ''))) fp.records.push(recordOf(set));
        } catch (err) {
          unread.push(`record sets of ${zone.name}: ${why(err)}`);
        }
      }
      fp.records.sort((a, b) => `${a.name} ${a.type} ${a.setIdentifier ?? ''}`.localeCompare(`${b.name} ${b.type} ${b.setIdentifier ?? ''}`));
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
      const result = await newestFailover(input.runbook);
      return result?.result.fingerprint ? { workflowId: result.workflowId, fingerprint: result.result.fingerprint } : undefined;
    },

    /**
     * The RPO evidence the newest failover of a runbook recorded per database (engine-fence-v1): what each promoted
     * replica had replayed, which a failback compares with the old primary's final position.
     */
    async lastFailoverEvidence(input: { runbook: string }): Promise<{ workflowId: string; mode?: string; databases: Array<{ name: string; identifier: string; evidence: RpoEvidence }> } | undefined> {
      const found = await newestFailover(input.runbook);
      if (!found) return undefined;
      const databases = (found.result.databases ?? []).flatMap((d) => (d.rpo?.evidence ? [{ name: d.name, identifier: d.identifier, evidence: d.rpo.evidence }] : []));
      return { workflowId: found.workflowId, ...(found.result.mode ? { mode: found.result.mode } : {}), databases };
    },
  };
}
