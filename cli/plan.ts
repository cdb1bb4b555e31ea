import type { Client } from '@temporalio/client';
import { createEksActivities } from '../activities/eks';
import { createRdsActivities } from '../activities/rds';
import { createRoute53Activities, desiredState, shareOf } from '../activities/route53';
import type { AwsClients } from '../aws/clients';
import { formatDuration } from '../contracts/duration';
import type { RunStatus } from '../contracts/run';
import { databasesOf, dbIn, writerZone, writerZoneId } from '../runbooks/databases';
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
  kind: 'failover' | 'failback';
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

/**
 * What is in place now, as a plan shows it: each record's weights (or roles) between `from` and `to`, and the
 * clusters of `computeRegion` with their node group sizes (also returned, keyed `cluster/group`). A read that
 * fails says why in its line instead of failing the plan.
 */
async function readNow(rb: Runbook, read: Reader, from: string, to: string, computeRegion: string): Promise<{ now: string[]; sizes: Map<string, number | undefined> }> {
  const now: string[] = [];
  try {
    for (const t of await read.route53.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [from, to] })) now.push(`traffic: ${trafficLine(t, t.share, from, to)}`);
  } catch (e) {
    now.push(`traffic: unknown (${why(e)})`);
  }
  const sizes = new Map<string, number | undefined>();
  for (const c of rb.compute.clusters.filter((x) => x.region === computeRegion)) {
    const d = await read.eks.describeCompute({ region: computeRegion, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) }).catch((e: unknown) => ({ clusterStatus: 'unknown', nodeGroups: [], problems: [why(e)] }));
    for (const g of d.nodeGroups) sizes.set(`${c.name}/${g.name}`, g.desiredSize);
    const groups = d.nodeGroups.map((g) => `${g.name} ${g.desiredSize ?? '?'} nodes (${g.status})`).join(', ');
    now.push(`compute: ${c.name} in ${computeRegion} is ${d.clusterStatus}${groups ? `; ${groups}` : ''}${d.problems.length ? `; ${d.problems.join('; ')}` : ''}`);
  }
  return { now, sizes };
}

/** The last completed full-time run of that kind (Temporal's record), for its step times; undefined if none or unreadable. */
async function lastCompleted(client: Client | undefined, kind: 'failover' | 'failback', runbook: string): Promise<RunStatus | undefined> {
  if (!client) return undefined;
  try {
    const { status, closed } = await fetchStatus(client, `${kind}-${runbook}`);
    return closed && status.phase === 'completed' && !status.drill && status.timeScale === undefined ? status : undefined;
  } catch {
    return undefined;
  }
}

/** A gate as a plan shows it: who may approve and how many, its timeout; or that the runbook skips it. */
function gateLines(rb: Runbook, name: 'failover' | 'failback', drill = false): string[] {
  if (!rb.approvals.gates.includes(name)) return [`skipped: gate ${name} is not in approvals.gates`];
  if (drill && rb.drills.autoApprove) return ['approved automatically in a drill, as drover-drill (drills.autoApprove)'];
  // A run's gate without a policy timeout waits an hour (the workflows' default).
  const p = gatePolicy(rb, name, 60 * 60_000);
  return [
    `${p.required} approval${p.required === 1 ? '' : 's'} from: ${p.principals.join(', ')}${p.selfApproval ? '' : '; not the requester'}`,
    `timeout ${formatDuration(p.timeoutMs)}, then ${p.onTimeout}${p.escalateAfterMs !== undefined ? `; escalation after ${formatDuration(p.escalateAfterMs)}` : ''}`,
  ];
}

/** The shift steps toward `to`: each record's weights (or roles) after the step, then the soak. */
function trafficSteps(rb: Runbook, from: string, to: string, prefix: string, verb: string): PlanStep[] {
  return rb.dns.shift.steps.map(
    (p): PlanStep => ({
      id: `${prefix}-${p}`,
      title: `${verb} ${p}% ${to}, then soak`,
      actions: [...rb.dns.records.map((r) => trafficLine(r, Object.fromEntries([from, to].map((region) => [region, shareOf(r.routing, desiredState(r, region, { toRegion: to, percent: p }))])), from, to)), `soak ${formatDuration(rb.dns.shift.soak)}: no alarm breaching and probes answering in ${to}`],
      estimateMs: rb.dns.shift.soak,
      estimateSource: 'soak',
    }),
  );
}

/**
 * The RTO estimate: soaks, plus every other step as long as it took in `last` (a completed full-time run of
 * the same kind), a shift step counting the larger of its soak and its measured time, parallel steps once.
 */
function estimateOf(steps: PlanStep[], last: RunStatus | undefined): FailoverPlan['estimate'] {
  const unknown: string[] = [];
  const took = (id: string) => {
    const m = last?.steps.find((x) => x.id === id);
    return m?.startedAt !== undefined && m.endedAt !== undefined ? m.endedAt - m.startedAt : undefined;
  };
  for (const s of steps) {
    if (s.id.startsWith('gate:')) continue;
    const measured = took(s.id);
    if (s.estimateMs === undefined) {
      if (measured === undefined) unknown.push(s.id);
      else Object.assign(s, { estimateMs: measured, estimateSource: 'measured' });
    } else if (measured !== undefined && measured > s.estimateMs) Object.assign(s, { estimateMs: measured, estimateSource: 'measured' });
  }
  let rtoMs = 0;
  const groups = new Map<string, number>();
  for (const s of steps) {
    if (s.estimateMs === undefined) continue;
    if (s.group) groups.set(s.group, Math.max(groups.get(s.group) ?? 0, s.estimateMs));
    else rtoMs += s.estimateMs;
  }
  for (const ms of groups.values()) rtoMs += ms;
  return { rtoMs, excludes: 'approval waits', measuredOn: last ? `${last.workflowId} run ${last.runId}` : undefined, unknown };
}

/** A plan of the run as a drill runs it: gates approved by the drill when it says so, and the drill's retention. */
export interface PlanContext {
  drill?: boolean;
}

export async function failoverPlan(rb: Runbook, mode: 'planned' | 'unplanned', aws: AwsClients, client?: Client, context: PlanContext = {}): Promise<FailoverPlan> {
  const read = readers(aws);
  const from = rb.regions.primary;
  const to = rb.regions.standby;
  const dbs = databasesOf(rb);
  const clusters = rb.compute.clusters.filter((c) => c.region === to);
  const { now, sizes } = await readNow(rb, read, from, to, to);

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
    const writer = await read.route53.readCname({ zone: writerZone(rb, d), zoneId: writerZoneId(rb, d), name: d.writerRecord.name }).then(
      (v) => v ?? 'missing',
      (e: unknown) => `unknown (${why(e)})`,
    );
    now.push(`writer record ${d.writerRecord.name} -> ${writer}`);
  }

  const gate = (name: 'failover') => gateLines(rb, name, context.drill);

  const single = dbs.length === 1;
  const steps: PlanStep[] = [
    { id: 'preempt-drills', title: 'Stop running drills (a real failover takes precedence)', actions: ["take the runbook's lock (refused while another real run holds it)", 'cancel any running drill of the runbook and wait for it to fail back'] },
    {
      id: 'preflight',
      title: 'Preflight checks',
      actions: [`replica${single ? '' : 's'}${mode === 'planned' ? ' within maxReplicaLag, ReplicaLag published' : ''}; compute in ${to}; records in Route 53; alarms in ${to} (ALARM and MISSING fail); probes in ${to} answer; writer records exist`],
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
    ...trafficSteps(rb, from, to, 'traffic', 'Shift traffic to'),
    { id: 'verify', title: 'Final verification', actions: [`every record at 100% ${to}, no alarm breaching and probes answering in ${to}`] },
  ];

  const last = await lastCompleted(client, 'failover', rb.name);
  const estimate = estimateOf(steps, last);

  return {
    kind: 'failover',
    runbook: rb.name,
    mode,
    fromRegion: from,
    toRegion: to,
    now,
    steps,
    estimate,
  };
}

/** The plan as the CLI prints it. */
export function renderPlan(plan: FailoverPlan): string[] {
  const lines = [`plan: ${plan.mode} ${plan.kind} of ${plan.runbook} ${plan.fromRegion} -> ${plan.toRegion} (a plan only: nothing was changed)`, 'now:'];
  lines.push(...plan.now.map((l) => `  ${l}`));
  lines.push('steps:');
  plan.steps.forEach((s, i) => {
    const est = s.estimateMs === undefined ? '' : `  [${formatDuration(s.estimateMs)}${s.estimateSource === 'measured' ? ', measured' : ''}]`;
    lines.push(`  ${i + 1}. ${s.title}${s.group ? ` (parallel: ${s.group})` : ''}${est}`);
    lines.push(...s.actions.map((a) => `       ${a}`));
  });
  const e = plan.estimate;
  const basis = e.measuredOn ? `soaks, and the other steps as measured on ${e.measuredOn}` : `soaks only: no completed full-time ${plan.kind} of this runbook to measure the other steps on`;
  lines.push(`estimated RTO: ${formatDuration(e.rtoMs)} excluding ${e.excludes} (${basis})${e.unknown.length ? `; not estimated: ${e.unknown.join(', ')}` : ''}`);
  return lines;
}

/**
 * `drover failback RUNBOOK --plan`: the failback's steps (old primaries protected and retired per their
 * retention, replication re-established, the gate, compute, the switchover, traffic back, the standby region
 * back to standby), read against the live state. Reads only, as the failover's plan.
 */
export async function failbackPlan(rb: Runbook, aws: AwsClients, client?: Client, context: PlanContext = {}): Promise<FailoverPlan> {
  const read = readers(aws);
  // A drill's failback retires per drills.retention (workflows/failback.ts), a real one per each database's.
  const retention = (d: (typeof dbs)[number]) => (context.drill ? rb.drills.retention : d.retention);
  const original = rb.regions.primary;
  const standby = rb.regions.standby;
  const dbs = databasesOf(rb);
  const { now, sizes } = await readNow(rb, read, original, standby, original);
  const state = (region: string, id: string) =>
    read.rds.describeDb({ region, identifier: id }).then(
      (s) => `${s.status}, ${s.standalone ? 'a writer (standalone)' : `replica of ${s.replicationSource?.split(':').pop() ?? '?'}`}`,
      (e: unknown) => (/not ?found/i.test(why(e)) ? 'gone' : `unknown (${why(e)})`),
    );
  for (const d of dbs) {
    now.push(`database ${d.name}: writer ${dbIn(rb, d, standby)} in ${standby} is ${await state(standby, dbIn(rb, d, standby))}; old primary ${dbIn(rb, d, original)} in ${original} is ${await state(original, dbIn(rb, d, original))}`);
  }
  const steps: PlanStep[] = [
    // A drill's failback runs under its drill, which holds the runbook.
    ...(context.drill ? [] : [{ id: 'take-runbook', title: 'Take the runbook (one run at a time; a running drill fails back first)', actions: ["take the runbook's lock (refused while another real run holds it)", 'cancel a drill that holds it and wait for it to fail back'] }]),
    { id: 'assess', title: `Assess ${original} and the old primar${dbs.length === 1 ? 'y' : 'ies'}`, actions: dbs.map((d) => `${d.name}: is ${dbIn(rb, d, original)} there, fenced, still writable (split brain)?`) },
    {
      id: 'protect-old-primary',
      title: 'Fence, snapshot and retire the old primary',
      actions: dbs.map((d) => `${d.name}: ${d.fence.method === 'security-group' ? `fence with ${d.fence.groupName}, ` : ''}final snapshot, then ${retention(d) === 'keep' ? `keep it renamed ${dbIn(rb, d, original)}-old-<time> (tagged; it keeps costing until deleted)` : 'delete it (kept renamed instead if deletion protection is on)'}`),
    },
    { id: 'reestablish-replication', title: `Create replica${dbs.length === 1 ? '' : 's'} in ${original} from the current writer${dbs.length === 1 ? '' : 's'}`, actions: dbs.map((d) => `${d.name}: ${dbIn(rb, d, original)} replicating from ${dbIn(rb, d, standby)}, then lag within ${formatDuration(d.maxReplicaLag)}`) },
    { id: 'gate:failback', title: 'Approval: failback', actions: gateLines(rb, 'failback', context.drill) },
    { id: 'scale-original', title: `Scale ${original} compute to active capacity`, actions: rb.compute.clusters.filter((c) => c.region === original).flatMap((c) => c.nodeGroups.map((g) => `${c.name}/${g.name}: ${sizes.get(`${c.name}/${g.name}`) ?? '?'} -> ${g.active} nodes${g.max !== undefined ? ` (max ${g.max})` : ''}`)) },
    { id: 'switchover-db', title: `Planned switchover of the writer back to ${original}`, actions: dbs.map((d) => `${d.name}: fence ${dbIn(rb, d, standby)}, wait for ReplicaLag 0 (at most ${formatDuration(d.lagZeroTimeout)}), promote ${dbIn(rb, d, original)}, point ${d.writerRecord.name} at it`) },
    ...trafficSteps(rb, standby, original, 'traffic-back', 'Shift traffic back to'),
    {
      id: 'return-standby',
      title: `Return ${standby} to its standby role`,
      actions: [
        ...rb.compute.clusters.filter((c) => c.region === standby).flatMap((c) => c.nodeGroups.map((g) => `${c.name}/${g.name}: -> ${g.standby} nodes`)),
        ...dbs.map((d) => `${d.name}: final snapshot of ${dbIn(rb, d, standby)}, ${retention(d) === 'keep' ? 'kept renamed' : 'deleted'}, and a new ${dbIn(rb, d, standby)} replicating from ${dbIn(rb, d, original)}`),
      ],
    },
    { id: 'topology', title: 'Topology report', actions: ['writers, replicas, weights and retired instances as read at the end'] },
  ];
  return { kind: 'failback', runbook: rb.name, mode: 'planned', fromRegion: standby, toRegion: original, now, steps, estimate: estimateOf(steps, await lastCompleted(client, 'failback', rb.name)) };
}

export interface DrillPlan {
  kind: 'drill';
  runbook: string;
  /** Why a drill would be refused if started now (empty: it would start); undefined when Temporal could not be asked. */
  refusals?: string[];
  /** Why the refusals could not be checked. */
  unchecked?: string;
  failover: FailoverPlan;
  /** The automatic failback, as it would run after the failover (its `now` is today's state, before the failover). */
  failback: FailoverPlan;
  /** Both runs' estimates added: how long the drill holds the region pair, excluding approval waits. */
  estimate: { ms: number; unknown: string[] };
}

/**
 * `drover drill run RUNBOOK --plan`: whether a drill would start now (every refusal: not enabled, outside its
 * windows, a cooldown, an active run or drill), then its failover and automatic failback as a drill runs
 * them (gates approved by the drill when `drills.autoApprove`, `drills.retention` for what the failback
 * replaces). Reads only, as the failover's plan.
 */
export async function drillPlan(rb: Runbook, aws: AwsClients, refusals: () => Promise<string[]>, client?: Client): Promise<DrillPlan> {
  let checked: Pick<DrillPlan, 'refusals' | 'unchecked'>;
  try {
    checked = { refusals: await refusals() };
  } catch (e) {
    checked = { unchecked: why(e) };
  }
  const failover = await failoverPlan(rb, 'planned', aws, client, { drill: true });
  const failback = await failbackPlan(rb, aws, client, { drill: true });
  return {
    kind: 'drill',
    runbook: rb.name,
    ...checked,
    failover,
    failback,
    estimate: { ms: failover.estimate.rtoMs + failback.estimate.rtoMs, unknown: [...failover.estimate.unknown.map((u) => `failover ${u}`), ...failback.estimate.unknown.map((u) => `failback ${u}`)] },
  };
}

/** The drill plan as the CLI prints it: whether it would start, the failover plan, then the failback's steps. */
export function renderDrillPlan(plan: DrillPlan): string[] {
  const f = plan.failover;
  const lines = [`plan: drill of ${plan.runbook}: a planned failover ${f.fromRegion} -> ${f.toRegion}, then the automatic failback (a plan only: nothing was changed)`];
  if (plan.refusals === undefined) lines.push(`would start now: not checked (${plan.unchecked})`);
  else if (plan.refusals.length === 0) lines.push('would start now: yes');
  else lines.push('would start now: no, it would be refused:', ...plan.refusals.map((r) => `  - ${r}`));
  lines.push('== failover (drill mode)', ...renderPlan(f).slice(1));
  const back = renderPlan(plan.failback);
  lines.push('== automatic failback (after the failover; a drill that never promoted rolls back instead)', ...back.slice(back.indexOf('steps:')));
  lines.push(`estimated drill: ${formatDuration(plan.estimate.ms)} excluding approval waits (failover and failback estimates added)${plan.estimate.unknown.length ? `; not estimated: ${plan.estimate.unknown.join(', ')}` : ''}`);
  return lines;
}
