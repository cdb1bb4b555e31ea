/**
 * Benchmark (a), the critical path: does a failover take as long as its runbook's dependency graph
 * says it must, and no longer? The fault proxy gives every AWS operation a realistic latency
 * (promotion 300 s, node group scaling 180 s, Route 53 INSYNC 60 s, everything else 50-200 ms),
 * compressed by a time scale (default 1/100) that also scales the soak and the health interval.
 * ApnaKart's planned failover runs N times (default 5) with no approval gate (`approvals.gates: []`),
 * and the measured wall time (workflow start -> verify end) is divided by the ideal critical path
 * computed by `idealCriticalPath` below. Target: <= 1.05.
 *
 *   npm run bench:critical-path [-- --runs 5 --time-scale 0.01]
 */
import type { ProxyLogEntry } from '../infra/faults/proxy';
import type { Runbook } from '../runbooks/schema';
import type { PromoteResult } from '../workflows/promoteReplica';
import type { RunStatus } from '../contracts/run';
import { arg, benchRef, isMain, latencyRules, machine, median, REAL_LATENCY, startBenchStack } from './common';

/** Latencies of one run, in ms (already multiplied by the time scale). */
export interface PathLatencies {
  promote: number;
  scale: number;
  route53: number;
  /** The median of the "other" calls. */
  other: number;
  /** The runbook's soak per traffic step. */
  soak: number;
}

export function scaledLatencies(rb: Runbook, scale: number): PathLatencies {
  return { promote: REAL_LATENCY.promote * scale, scale: REAL_LATENCY.scale * scale, route53: REAL_LATENCY.route53 * scale, other: median(REAL_LATENCY.other) * scale, soak: rb.dns.shift.soak * scale };
}

export interface IdealStep {
  id: string;
  ms: number;
  /** How the figure is made up, for the report. */
  how: string;
}

/**
 * The ideal critical path of a planned failover, from the runbook's dependency graph. Every read or
 * write that is not one of the three slow operations costs one "other" latency (its median); calls
 * that may run in parallel cost one latency together. The approval gate is left out (the benchmark
 * runs without one, and RTO figures exclude gate waits anyway).
 *
 *   preflight ──► gate ──► ┬─ compute: every target cluster in parallel, each cluster's node groups in parallel
 *                          │     read sizes ─► UpdateNodegroupConfig (all groups at once) ─► read ACTIVE
 *                          └─ database (planned):
 *                                fence: read instance + fence group (parallel) ─► ModifyDBInstance ─► read groups
 *                                ─► lag-zero: one GetMetricStatistics (the replica is caught up)
 *                                ─► PromoteReadReplica ─► read: standalone and available
 *                 ──► (join) ─► repoint writer: read record ─► ChangeResourceRecordSets (to INSYNC)
 *                 ──► for each shift step: read weights ─► ChangeResourceRecordSets (zones in parallel: one latency) ─► soak
 *                 ──► verify: every read in parallel
 */
export function idealCriticalPath(rb: Runbook, L: PathLatencies): { steps: IdealStep[]; total: number } {
  const o = L.other;
  // Preflight: replica, clusters, records, alarms and the primary are independent reads.
  const preflight = o;
  const compute = o + L.scale + o;
  const fence = o + o + o;
  const lagZero = o;
  const promote = L.promote + o;
  const database = fence + lagZero + promote;
  const repoint = o + L.route53;
  const shift = (percent: number): IdealStep => ({ id: `traffic-${percent}`, ms: o + L.route53 + L.soak, how: `read + ChangeResourceRecordSets ${Math.round(L.route53)} + soak ${Math.round(L.soak)}` });
  const verify = o;
  const steps: IdealStep[] = [
    { id: 'preempt-drills', ms: 0, how: 'not in the runbook graph (a Temporal visibility query)' },
    { id: 'preflight', ms: preflight, how: 'parallel reads: 1 other' },
    { id: 'scale-compute', ms: compute, how: `read + UpdateNodegroupConfig ${Math.round(L.scale)} + read` },
    { id: 'promote-database', ms: database, how: `fence 3 other + lag read + PromoteReadReplica ${Math.round(L.promote)} + read` },
    { id: 'act (compute ∥ database)', ms: Math.max(compute, database), how: 'max of the two branches' },
    { id: 'repoint-writer', ms: repoint, how: `read + ChangeResourceRecordSets ${Math.round(L.route53)}` },
    ...rb.dns.shift.steps.map(shift),
    { id: 'verify', ms: verify, how: 'parallel reads: 1 other' },
  ];
  const onPath = new Set(['preflight', 'act (compute ∥ database)', 'repoint-writer', 'verify', ...rb.dns.shift.steps.map((p) => `traffic-${p}`)]);
  return { steps, total: steps.filter((s) => onPath.has(s.id)).reduce((sum, s) => sum + s.ms, 0) };
}

/** The database child's steps, ideal: fence, lag zero, promote (with its wait). */
function idealDbSteps(L: PathLatencies): Record<string, number> {
  return { fence: 3 * L.other, 'wait-lag-zero': L.other, promote: L.promote + L.other, 'verify-writer': 0, 'old-primary': 0 };
}

interface Span {
  start: number;
  end: number;
}

/** Total time covered by intervals, overlaps once. */
function unionMs(intervals: Span[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let cur: Span | undefined;
  for (const s of sorted) {
    if (!cur || s.start > cur.end) {
      if (cur) total += cur.end - cur.start;
      cur = { ...s };
    } else cur.end = Math.max(cur.end, s.end);
  }
  return total + (cur ? cur.end - cur.start : 0);
}

interface StepMeasure {
  ms: number;
  calls: number;
  /** Time covered by AWS requests (injected latency + moto), overlaps once. */
  aws: number;
  /** Requests by operation, to spot polling. */
  ops: Record<string, number>;
}

/** The services a step calls: requests of a parallel branch (by time window) are not counted against it. */
const STEP_SERVICES: Record<string, string[]> = {
  'scale-compute': ['eks'],
  'promote-database': ['rds', 'ec2', 'cloudwatch'],
};

function measure(span: Span, log: ProxyLogEntry[], services?: string[]): StepMeasure {
  const inside = log.filter((e) => e.at >= span.start && e.at < span.end && (!services || services.includes(e.service)));
  const ops: Record<string, number> = {};
  for (const e of inside) ops[e.operation] = (ops[e.operation] ?? 0) + 1;
  return { ms: span.end - span.start, calls: inside.length, aws: unionMs(inside.map((e) => ({ start: e.at, end: Math.min(e.at + e.ms, span.end) }))), ops };
}

interface RunMeasure {
  wall: number;
  steps: Record<string, StepMeasure>;
  db: Record<string, StepMeasure>;
}

export async function criticalPathBench(opts: { runs: number; scale: number; log?: (line: string) => void }): Promise<string> {
  const { runs: RUNS, scale: SCALE } = opts;
  const say = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const stack = await startBenchStack({
    proxy: true,
    // Publish ReplicaLag often, so the wait for a datapoint after the fence is not the feeder's period.
    lagEveryMs: 100,
    runbook: (rb) => ({ ...rb, approvals: { ...rb.approvals, gates: [] } }),
  });
  const { rb, client, worker, taskQueue } = stack;
  const proxy = stack.proxy;
  if (!proxy) throw new Error('the critical-path bench needs the fault proxy');
  proxy.setRules(latencyRules(SCALE));
  const L = scaledLatencies(rb, SCALE);
  const ideal = idealCriticalPath(rb, L);
  const runs: RunMeasure[] = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await stack.reseed();
        proxy.clearLog();
        const workflowId = `bench-critical-path-${Date.now()}-${i}`;
        const handle = await client.workflow.start('regionFailover', {
          taskQueue,
          workflowId,
          args: [{ runbookRef: benchRef(rb), targetRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark: critical path', requestedBy: 'bench', options: { timeScale: SCALE } }],
        });
        const result = (await handle.result()) as RunStatus;
        const child = (await client.workflow.getHandle(`${workflowId}-promote`).result()) as PromoteResult;
        const log = proxy.log();
        const wall = result.rto?.excludingGatesMs ?? 0;
        const steps: Record<string, StepMeasure> = {};
        for (const s of result.steps) if (s.startedAt && s.endedAt) steps[s.id] = measure({ start: s.startedAt, end: s.endedAt }, log, STEP_SERVICES[s.id]);
        const act = result.steps.filter((s) => (s.id === 'scale-compute' || s.id === 'promote-database') && s.startedAt && s.endedAt);
        steps['act (compute ∥ database)'] = measure({ start: Math.min(...act.map((s) => s.startedAt ?? 0)), end: Math.max(...act.map((s) => s.endedAt ?? 0)) }, log);
        const db: Record<string, StepMeasure> = {};
        for (const s of child.steps) if (s.startedAt && s.endedAt) db[s.id] = measure({ start: s.startedAt, end: s.endedAt }, log, STEP_SERVICES['promote-database']);
        runs.push({ wall, steps, db });
        say(`critical path run ${i + 1}/${RUNS}: wall ${wall} ms, ideal ${Math.round(ideal.total)} ms, ratio ${(wall / ideal.total).toFixed(3)}`);
      }
    });
  } finally {
    await stack.stop();
  }

  const r0 = (x: number) => Math.round(x);
  const med = (f: (r: RunMeasure) => number | undefined) => median(runs.map(f).filter((x): x is number => x !== undefined));
  const wall = med((r) => r.wall);
  const ratios = runs.map((r) => r.wall / ideal.total);
  const onPath = ['preflight', 'act (compute ∥ database)', 'repoint-writer', ...rb.dns.shift.steps.map((p) => `traffic-${p}`), 'verify'];
  const stepSum = (r: RunMeasure) => ['preempt-drills', ...onPath].reduce((sum, id) => sum + (r.steps[id]?.ms ?? 0), 0);
  const topOps = (pick: (r: RunMeasure) => StepMeasure | undefined) => {
    const ops = new Map<string, number[]>();
    for (const r of runs) for (const [op, n] of Object.entries(pick(r)?.ops ?? {})) ops.set(op, [...(ops.get(op) ?? []), n]);
    return [...ops.entries()]
      .map(([op, ns]) => [op, median(ns)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
  };
  const row = (id: string, idealMs: number | undefined, pick: (r: RunMeasure) => StepMeasure | undefined, bold = false) => {
    const m = med((r) => pick(r)?.ms);
    const b = (s: string) => (bold ? `**${s}**` : s);
    return `| ${b(id)} | ${idealMs === undefined ? '' : r0(idealMs)} | ${r0(m)} | ${idealMs === undefined ? '' : r0(m - idealMs)} | ${r0(med((r) => pick(r)?.calls))} | ${r0(med((r) => pick(r)?.aws))} | ${r0(m - med((r) => pick(r)?.aws))} | ${topOps(pick)} |`;
  };
  const idealOf = (id: string) => ideal.steps.find((s) => s.id === id)?.ms;
  const dbIdeal = idealDbSteps(L);
  const lines = [
    `### (a) Critical path — ApnaKart planned failover, ${RUNS} runs, time scale ${SCALE} (medians)`,
    '',
    `Injected with the fault proxy (worker → proxy → moto), by operation: PromoteReadReplica ${REAL_LATENCY.promote / 1000} s, UpdateNodegroupConfig ${REAL_LATENCY.scale / 1000} s, ChangeResourceRecordSets ${REAL_LATENCY.route53 / 1000} s (models the wait for INSYNC; moto is INSYNC at once), every other operation one of ${REAL_LATENCY.other.join(' / ')} ms with equal probability (five fixed-latency rules with probabilities 1/5, 1/4, 1/3, 1/2, 1; median 125 ms); all × ${SCALE}. Soak ${rb.dns.shift.soak / 1000} s and health interval ${rb.health.interval / 1000} s × ${SCALE} through the workflow's \`options.timeScale\`. No approval gate (\`approvals.gates: []\`). ReplicaLag 0 published every 100 ms. moto's own response time comes on top of the injected latency.`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| measured wall, workflow start → verify end, gate excluded (median) | ${r0(wall)} ms |`,
    `| ideal critical path (\`idealCriticalPath\`) | ${r0(ideal.total)} ms |`,
    `| **ratio measured / ideal** (median of runs; min – max) | **${median(ratios).toFixed(3)}** (${Math.min(...ratios).toFixed(3)} – ${Math.max(...ratios).toFixed(3)}) |`,
    `| target | ≤ 1.05 (${median(ratios) <= 1.05 ? 'met' : 'not met'}) |`,
    `| between steps (wall − the steps on the path) | ${r0(med((r) => r.wall - stepSum(r)))} ms |`,
    '',
    'Per step: ideal vs measured (ms, medians). "inside AWS" is the time covered by requests through the proxy (injected latency + moto, overlaps once); "outside AWS" is the rest of the step: activity scheduling, workflow tasks, poll sleeps.',
    '',
    '| step | ideal | measured | gap | AWS requests | inside AWS | outside AWS | most frequent requests |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    row('preempt-drills', idealOf('preempt-drills'), (r) => r.steps['preempt-drills']),
    row('preflight', idealOf('preflight'), (r) => r.steps.preflight),
    row('scale-compute', idealOf('scale-compute'), (r) => r.steps['scale-compute']),
    row('promote-database', idealOf('promote-database'), (r) => r.steps['promote-database']),
    ...Object.keys(dbIdeal).map((id) => row(`  ↳ child: ${id}`, dbIdeal[id], (r) => r.db[id])),
    row('act (compute ∥ database)', idealOf('act (compute ∥ database)'), (r) => r.steps['act (compute ∥ database)']),
    row('repoint-writer', idealOf('repoint-writer'), (r) => r.steps['repoint-writer']),
    ...rb.dns.shift.steps.map((p) => row(`traffic-${p}`, idealOf(`traffic-${p}`), (r) => r.steps[`traffic-${p}`])),
    row('verify', idealOf('verify'), (r) => r.steps.verify),
    `| **end to end** | **${r0(ideal.total)}** | **${r0(wall)}** | **${r0(wall - ideal.total)}** | | | | |`,
    '',
    'The ideal, step by step (`bench/critical-path.ts` `idealCriticalPath`, "other" = 125 ms × scale):',
    '',
    '| step | ideal (ms) | made of |',
    '|---|---:|---|',
    ...ideal.steps.map((s) => `| ${s.id} | ${r0(s.ms * 100) / 100} | ${s.how} |`),
  ];
  return lines.join('\n');
}

if (isMain(module)) {
  criticalPathBench({ runs: arg('runs', 5), scale: arg('time-scale', 0.01) })
    .then((md) => process.stdout.write(`machine: ${machine()}\n\n${md}\n`))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
