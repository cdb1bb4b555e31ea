import type { Client } from '@temporalio/client';
import { createEksActivities } from '../activities/eks';
import { createRdsActivities } from '../activities/rds';
import { createRoute53Activities, desiredState, shareOf, type RecordState } from '../activities/route53';
import type { AwsClients } from '../aws/clients';
import { formatDuration } from '../contracts/duration';
import type { RunStatus } from '../contracts/run';
import { databasesOf, dbIn, writerZone } from '../runbooks/databases';
import { gatePolicy } from '../runbooks/gate-policy';
import type { Runbook } from '../runbooks/schema';
import { fetchStatus } from './runs';

/**
 * `drover failover RUNBOOK --plan`: what a failover would do, step by step, read against the live state and
 * without changing anything. Only reads are made: Route 53 ListHostedZonesByName/ListResourceRecordSets,
 * EKS DescribeCluster/DescribeNodegroup, RDS DescribeDBInstances/ListTagsForResource, CloudWatch
 * GetMetricStatistics, and Temporal's record of the runbook's last completed failover (for step times).
 */

export interface PlanStep {
  id: string;
  title: string;
  /** What the step would do, concretely (weights per record, sizes, identifiers). */
  actions: string[];
  /** Steps that run side by side share a group. */
  group?: string;
  /** How long the step is expected to take, when it can be told: a soak, or the last run's measurement. */
  estimateMs?: number;
  estimateSource?: 'soak' | 'measured';
}

export interface FailoverPlan {
  kind: 'failover';
  runbook: string;
  mode: 'planned' | 'unplanned';
  fromRegion: string;
  toRegion: string;
  /** What is in place now, as read (a read that failed says why). */
  now: string[];
  steps: PlanStep[];
  estimate: { rtoMs: number; excludes: string; measuredOn?: string; unknown: string[] };
}

type Reader = { route53: ReturnType<typeof createRoute53Activities>; rds: ReturnType<typeof createRdsActivities>; eks: ReturnType<typeof createEksActivities> };

function readers(aws: AwsClients): Reader {
  return { route53: createRoute53Activities(() => aws.route53()), rds: createRdsActivities(aws.rds, aws.cloudwatch), eks: createEksActivities(aws.eks) };
}

const why = (e: unknown) => ((e as Error)?.message ?? String(e)).split('\n')[0];

/** Weights (or roles) per region of each record, as a plan line: `api.example.com (weighted) ap-south-1 90 / ap-southeast-1 10`. */
function trafficLine(r: { name: string; routing: string }, share: Record<string, number>, from: string, to: string): string {
  return `${r.name} (${r.routing}) ${from} ${share[from] ?? '?'} / ${to} ${share[to] ?? '?'}`;
}

/** The last completed failover of the runbook (Temporal's record), for its step times; undefined if none or unreadable. */
async function lastCompleted(client: Client | undefined, runbook: string): Promise<RunStatus | undefined> {
  if (!client) return undefined;
  try {
    const { status, closed } = await fetchStatus(client, `failover-${runbook}`);
    return closed && status.phase === 'completed' && !status.drill && status.timeScale === undefined ? status : undefined;
  } catch {
    return undefined;
  }
}

export async function failoverPlan(rb: Runbook, mode: 'planned' | 'unplanned', aws: AwsClients, client?: Client): Promise<FailoverPlan> {
  const read = readers(aws);
  const from = rb.regions.primary;
  const to = rb.regions.standby;
  const dbs = databasesOf(rb);
  const now: string[] = [];

  let traffic: RecordState[] | undefined;
  try {
    traffic = await read.route53.readTraffic({ hostedZone: rb.dns.hostedZone, records: rb.dns.records, regions: [from, to] });
    for (const t of traffic) now.push(`traffic: ${trafficLine(t, t.share, from, to)}`);
  } catch (e) {
    now.push(`traffic: unknown (${why(e)})`);
  }

  const clusters = rb.compute.clusters.filter((c) => c.region === to);
  const sizes = new Map<string, number | undefined>();
  for (const c of clusters) {
    const d = await read.eks.describeCompute({ region: to, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) }).catch((e: unknown) => ({ clusterStatus: 'unknown', nodeGroups: [], problems: [why(e)] }));
    for (const g of d.nodeGroups) sizes.set(`${c.name}/${g.name}`, g.desiredSize);
    const groups = d.nodeGroups.map((g) => `${g.name} ${g.desiredSize ?? '?'} nodes (${g.status})`).join(', ');
    now.push(`compute: ${c.name} in ${to} is ${d.clusterStatus}${groups ? `; ${groups}` : ''}${d.problems.length ? `; ${d.problems.join('; ')}` : ''}`);
  }

  for (const d of dbs) {
    const replica = dbIn(rb, d, to);
    if (d.engine === 'aurora-global') {
      now.push(`database ${d.name}: Aurora global cluster ${d.globalClusterIdentifier}, secondary ${replica} in ${to}`);
    } else {
      const state = await read.rds.describeDb({ region: to, identifier: replica }).then(
        (s) => `${s.status}${s.replicationSource ? `, replica of ${s.replicationSource.split(':').pop()}` : ', standalone (not a replica)'}`,
        (e: unknown) => `unknown (${why(e)})`,
      );
      const lag = await read.rds.replicaLag({ region: to, identifier: replica }).then(
        (l) => (l ? `ReplicaLag ${l.lagSeconds}s at ${l.observedAt}` : 'no ReplicaLag datapoint in the last 10 minutes'),
        (e: unknown) => `ReplicaLag unknown (${why(e)})`,
      );
      now.push(`database ${d.name}: ${replica} in ${to} is ${state}; ${lag}`);
    }
    const writer = await read.route53.readCname({ zone: writerZone(rb, d), name: d.writerRecord.name }).then(
      (v) => v ?? 'missing',
      (e: unknown) => `unknown (${why(e)})`,
    );
    now.push(`writer record ${d.writerRecord.name} -> ${writer}`);
  }

  const gate = (name: 'failover'): string[] => {
    if (!rb.approvals.gates.includes(name)) return [`skipped: gate ${name} is not in approvals.gates`];
    const p = gatePolicy(rb, name, 60 * 60_000);
    return [
      `${p.required} approval${p.required === 1 ? '' : 's'} from: ${p.principals.join(', ')}${p.selfApproval ? '' : '; not the requester'}`,
      `timeout ${formatDuration(p.timeoutMs)}, then ${p.onTimeout}${p.escalateAfterMs !== undefined ? `; escalation after ${formatDuration(p.escalateAfterMs)}` : ''}`,
    ];
  };

  const single = dbs.length === 1;
  const steps: PlanStep[] = [
    { id: 'preempt-drills', title: 'Stop running drills (a real failover takes precedence)', actions: ['cancel any running drill of the runbook and wait for it to fail back'] },
    {
      id: 'preflight',
      title: 'Preflight checks',
      actions: [`replica${single ? '' : 's'}${mode === 'planned' ? ' within maxReplicaLag, ReplicaLag published' : ''}; compute in ${to}; records in Route 53; alarms in ${to} (MISSING fails); probes in ${to} answer; writer records exist`],
    },
    { id: 'gate:failover', title: 'Approval: failover', actions: gate('failover') },
    {
      id: 'scale-compute',
      title: `Scale ${to} compute to active capacity`,
      group: 'act',
      actions: clusters.flatMap((c) => c.nodeGroups.map((g) => `${c.name}/${g.name}: ${sizes.get(`${c.name}/${g.name}`) ?? '?'} -> ${g.active} nodes${g.max !== undefined ? ` (max ${g.max})` : ''}`)),
    },
    {
      id: 'promote-database',
      title: single ? `Promote replica ${dbIn(rb, dbs[0], to)}` : `Promote ${dbs.length} replicas in parallel (${dbs.map((d) => d.name).join(', ')})`,
      group: 'act',
      actions: dbs.map((d) => {
        const replica = dbIn(rb, d, to);
        if (d.engine === 'aurora-global') return `${d.name}: ${mode === 'planned' ? 'switchover' : 'failover'} of global cluster ${d.globalClusterIdentifier} to ${replica}`;
        if (mode === 'unplanned') return `${d.name}: promote ${replica} with the lag last observed (the primary region is not contacted)`;
        const fence = d.fence.method === 'security-group' ? `fence writes on ${d.primary.identifier} (security group ${d.fence.groupName})` : 'no fence (fence: none)';
        return `${d.name}: ${fence}, wait for ReplicaLag 0 (at most ${formatDuration(d.lagZeroTimeout)}), promote ${replica}`;
      }),
    },
    { id: 'repoint-writer', title: single ? `Point ${dbs[0].writerRecord.name} at the new writer` : `Point ${dbs.length} writer records at the new writers`, actions: dbs.map((d) => `${d.writerRecord.name} -> the endpoint of ${dbIn(rb, d, to)}`) },
    ...rb.dns.shift.steps.map(
      (p): PlanStep => ({
        id: `traffic-${p}`,
        title: `Shift traffic to ${p}% ${to}, then soak`,
        actions: [...rb.dns.records.map((r) => trafficLine(r, Object.fromEntries([from, to].map((region) => [region, shareOf(r.routing, desiredState(r, region, { toRegion: to, percent: p }))])), from, to)), `soak ${formatDuration(rb.dns.shift.soak)}: alarms OK and probes answering in ${to}`],
        estimateMs: rb.dns.shift.soak,
        estimateSource: 'soak',
      }),
    ),
    { id: 'verify', title: 'Final verification', actions: [`every record at 100% ${to}, alarms OK and probes answering in ${to}`] },
  ];

  // Steps other than soaks take what they took last time, when the runbook has a completed full-time failover.
  const last = await lastCompleted(client, rb.name);
  const unknown: string[] = [];
  for (const s of steps) {
    if (s.estimateMs !== undefined || s.id === 'gate:failover') continue;
    const measured = last?.steps.find((x) => x.id === s.id);
    if (measured?.startedAt !== undefined && measured.endedAt !== undefined) {
      s.estimateMs = measured.endedAt - measured.startedAt;
      s.estimateSource = 'measured';
    } else unknown.push(s.id);
  }
  // A soak step's measured time includes the shift itself: the larger of the two estimates counts.
  for (const s of steps.filter((x) => x.id.startsWith('traffic-'))) {
    const measured = last?.steps.find((x) => x.id === s.id);
    if (measured?.startedAt !== undefined && measured.endedAt !== undefined && measured.endedAt - measured.startedAt > (s.estimateMs ?? 0)) {
      s.estimateMs = measured.endedAt - measured.startedAt;
      s.estimateSource = 'measured';
    }
  }
  // Parallel steps count once, as the longest of their group.
  let rtoMs = 0;
  const groups = new Map<string, number>();
  for (const s of steps) {
    if (s.estimateMs === undefined) continue;
    if (s.group) groups.set(s.group, Math.max(groups.get(s.group) ?? 0, s.estimateMs));
    else rtoMs += s.estimateMs;
  }
  for (const ms of groups.values()) rtoMs += ms;

  return {
    kind: 'failover',
    runbook: rb.name,
    mode,
    fromRegion: from,
    toRegion: to,
    now,
    steps,
    estimate: { rtoMs, excludes: 'approval waits', measuredOn: last ? `${last.workflowId} run ${last.runId}` : undefined, unknown },
  };
}

/** The plan as the CLI prints it. */
export function renderPlan(plan: FailoverPlan): string[] {
  const lines = [`plan: ${plan.mode} failover of ${plan.runbook} ${plan.fromRegion} -> ${plan.toRegion} (a plan only: nothing was changed)`, 'now:'];
  lines.push(...plan.now.map((l) => `  ${l}`));
  lines.push('steps:');
  plan.steps.forEach((s, i) => {
    const est = s.estimateMs === undefined ? '' : `  [${formatDuration(s.estimateMs)}${s.estimateSource === 'measured' ? ', measured' : ''}]`;
    lines.push(`  ${i + 1}. ${s.title}${s.group ? ` (parallel: ${s.group})` : ''}${est}`);
    lines.push(...s.actions.map((a) => `       ${a}`));
  });
  const e = plan.estimate;
  const basis = e.measuredOn ? `soaks, and the other steps as measured on ${e.measuredOn}` : 'soaks only: no completed full-time failover of this runbook to measure the other steps on';
  lines.push(`estimated RTO: ${formatDuration(e.rtoMs)} excluding ${e.excludes} (${basis})${e.unknown.length ? `; not estimated: ${e.unknown.join(', ')}` : ''}`);
  return lines;
}
