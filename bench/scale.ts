/**
 * Benchmark (b), scale: a generated runbook with 500 records across 5 hosted zones and 20 EKS
 * clusters (10 per region) of 3 node groups each, and 5 databases (one writer record per zone), failed over (planned, no gate, soak x0.01) on a
 * real Temporal dev server and moto, N runs (default 5). Reports the median wall time, the AWS calls
 * by operation, the Route 53 change calls against the bound (zones x shift steps), and the Temporal
 * history events of every workflow of the run (the failover and its 5 promotion children).
 *
 *   npm run bench:scale [-- --runs 5 --time-scale 0.01]
 */
import type { AwsCallRecord } from '../aws/clients';
import { databasesOf } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import type { RunStatus } from '../contracts/run';
import { arg, benchRef, machine, median, startBenchStack } from './common';

const RUNS = arg('runs', 5);
const SCALE = arg('time-scale', 0.01);
const ZONES = 5;
const RECORDS = 500;
const CLUSTERS_PER_REGION = 10;
const NODE_GROUPS = 3;
const DATABASES = 5;

/** The ApnaKart runbook grown to the benchmark's size: same regions, health and objectives; its database five times over. */
export function scaleRunbook(base: Runbook): Runbook {
  const { primary, standby } = base.regions;
  const records: Runbook['dns']['records'] = [];
  for (let i = 0; i < RECORDS; i++) {
    const zone = `z${(i % ZONES) + 1}.scale.apnakart.test`;
    const name = `svc${i}.${zone}`;
    records.push({
      name,
      type: 'CNAME',
      ttl: 60,
      routing: 'weighted',
      zone,
      targets: {
        [primary]: { setIdentifier: `svc${i}-${primary}`, value: `svc${i}.elb.${primary}.amazonaws.com` },
        [standby]: { setIdentifier: `svc${i}-${standby}`, value: `svc${i}.elb.${standby}.amazonaws.com` },
      },
    });
  }
  const clusters: Runbook['compute']['clusters'] = [];
  for (const region of [primary, standby]) {
    for (let c = 0; c < CLUSTERS_PER_REGION; c++) {
      clusters.push({
        region,
        name: `scale-${region}-${c}`,
        version: '1.31',
        addons: [],
        nodeGroups: Array.from({ length: NODE_GROUPS }, (_, g) => ({ name: `ng${g}`, standby: 1, active: 3, max: 6, instanceTypes: ['m6i.large'], diskSize: 50 })),
      });
    }
  }
  const [db] = databasesOf(base);
  const databases = Array.from({ length: DATABASES }, (_, k) => ({
    ...db,
    name: `db${k + 1}`,
    primary: { identifier: `scale-db${k + 1}-${primary}` },
    replica: { identifier: `scale-db${k + 1}-${standby}` },
    writerRecord: { ...db.writerRecord, name: `db${k + 1}.z${k + 1}.scale.apnakart.test`, zone: `z${k + 1}.scale.apnakart.test` },
  }));
  return { ...base, name: 'apnakart-scale', dns: { ...base.dns, records }, compute: { clusters }, database: undefined, databases, approvals: { ...base.approvals, gates: [] } };
}

async function main(): Promise<void> {
  let calls: AwsCallRecord[] = [];
  const stack = await startBenchStack({ record: (c) => calls.push(c), runbook: scaleRunbook });
  const { rb, client, worker, taskQueue } = stack;
  const runs: Array<{ wall: number; calls: Record<string, number>; changeCalls: number; shiftChangeCalls: number; history: Record<string, number> }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await stack.reseed();
        calls = [];
        const workflowId = `bench-scale-${i}`;
        const t0 = Date.now();
        const handle = await client.workflow.start('regionFailover', {
          taskQueue,
          workflowId,
          args: [{ runbookRef: benchRef(rb), targetRegion: rb.regions.standby, mode: 'planned', reason: 'scale benchmark', requestedBy: 'bench', options: { timeScale: SCALE } }],
        });
        const result = (await handle.result()) as RunStatus;
        const wall = Date.now() - t0;
        const byOp: Record<string, number> = {};
        for (const c of calls) byOp[`${c.service}:${c.operation}`] = (byOp[`${c.service}:${c.operation}`] ?? 0) + 1;
        // Change calls made while a traffic step ran (the writer repoints, one per database, come in their own step).
        const shiftWindows = result.steps.filter((s) => s.id.startsWith('traffic-')).map((s) => [s.startedAt ?? 0, s.endedAt ?? 0]);
        const changes = calls.filter((c) => c.operation === 'ChangeResourceRecordSets');
        const shiftChangeCalls = changes.filter((c) => shiftWindows.some(([a, b]) => c.startedAt >= a && c.startedAt <= b)).length;
        const history: Record<string, number> = {};
        for (const id of [workflowId, ...databasesOf(rb).map((d) => `${workflowId}-promote-${d.name}`)]) history[id.replace(workflowId, 'failover')] = (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
        runs.push({ wall, calls: byOp, changeCalls: changes.length, shiftChangeCalls, history });
        process.stderr.write(`run ${i + 1}/${RUNS}: ${result.phase}, wall ${wall} ms, ${calls.length} AWS calls, ${shiftChangeCalls} shift change calls, history ${JSON.stringify(history)}\n`);
      }
    });
  } finally {
    await stack.stop();
  }
  const med = (f: (r: (typeof runs)[number]) => number) => Math.round(median(runs.map(f)));
  const ops = [...new Set(runs.flatMap((r) => Object.keys(r.calls)))].sort();
  const bound = ZONES * rb.dns.shift.steps.length;
  const lines = [
    `machine: ${machine()}`,
    '',
    `### (b) Scale — ${RECORDS} records in ${ZONES} zones, ${CLUSTERS_PER_REGION * 2} clusters x ${NODE_GROUPS} node groups, ${DATABASES} databases; planned failover, soak x${SCALE}; median of ${RUNS} runs`,
    '',
    '| measure | median |',
    '|---|---:|',
    `| wall time, start to verified (ms) | ${med((r) => r.wall)} |`,
    `| AWS calls per run | ${med((r) => Object.values(r.calls).reduce((a, b) => a + b, 0))} |`,
    `| Route 53 change calls during the traffic shift (bound: ${ZONES} zones x ${rb.dns.shift.steps.length} steps = ${bound}) | ${med((r) => r.shiftChangeCalls)} |`,
    `| Route 53 change calls in all (shift + ${DATABASES} writer repoints) | ${med((r) => r.changeCalls)} |`,
    ...Object.keys(runs[0]?.history ?? {}).map((w) => `| Temporal history events: ${w} workflow (limit 50,000) | ${med((r) => r.history[w])} |`),
    '',
    '| AWS operation | calls per run (median) |',
    '|---|---:|',
    ...ops.map((op) => `| ${op} | ${med((r) => r.calls[op] ?? 0)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (runs.some((r) => r.shiftChangeCalls > bound)) {
    process.stderr.write(`Route 53 change calls exceeded the bound of ${bound}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
