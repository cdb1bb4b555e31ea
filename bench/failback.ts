/**
 * Benchmark: failback of the ApnaKart runbook after a planned failover, end to end on a real Temporal
 * dev server and moto, N runs (default 5); reports the median wall time of each failback step.
 *
 *   npm run bench:failback [-- --runs 5 --time-scale 0.05]
 */
import { approveAndWait, arg, benchRef, machine, median, startBenchStack } from './common';

const RUNS = arg('runs', 5);
const SCALE = arg('time-scale', 0.05);

async function main(): Promise<void> {
  const stack = await startBenchStack();
  const { rb, client, worker, taskQueue } = stack;
  const approver = rb.approvals.approvers[0];
  const runs: Array<{ wall: number; steps: Record<string, number> }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await stack.reseed();
        const options = { timeScale: SCALE };
        const fo = await client.workflow.start('regionFailover', { taskQueue, workflowId: `bench-failover-${i}`, args: [{ runbookRef: benchRef(rb), targetRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark', requestedBy: 'bench', options }] });
        await approveAndWait(fo, 'failover', approver);
        const fb = await client.workflow.start('failback', { taskQueue, workflowId: `bench-failback-${i}`, args: [{ runbookRef: benchRef(rb), reason: 'benchmark', requestedBy: 'bench', options }] });
        const result = await approveAndWait(fb, 'failback', approver);
        const steps = Object.fromEntries(result.steps.map((s) => [s.id, (s.endedAt ?? 0) - (s.startedAt ?? 0)]));
        const wall = Math.max(...result.steps.map((s) => s.endedAt ?? 0)) - result.startedAt;
        runs.push({ wall, steps });
        process.stderr.write(`run ${i + 1}/${RUNS}: failback wall ${wall} ms\n`);
      }
    });
  } finally {
    await stack.stop();
  }
  const med = (f: (r: (typeof runs)[number]) => number) => Math.round(median(runs.map(f)));
  const lines = [
    `machine: ${machine()}`,
    '',
    '| failback step | median wall (ms) |',
    '|---|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${med((r) => r.steps[id])} |`),
    `| **whole failback** | **${med((r) => r.wall)}** |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
