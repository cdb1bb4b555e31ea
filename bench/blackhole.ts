/**
 * Benchmark: how long a planned failover takes to be refused when the primary region is blackholed (every
 * ap-south-1 API call accepted by the fault proxy and never answered), with drover's AWS timeouts
 * (AWS_TIMEOUTS: 3 s to connect, 5 s per read attempt, 30 s per write) against the baseline measured in the same run: the same
 * stack with no SDK timeouts (all 0), where a call is held until its activity's own
 * timeout. Each variant runs its own stack (Temporal, moto, the proxy, a worker); runs alternate between them.
 * Reports medians: time from start to the run's PreflightFailed end, and the ratio to the baseline.
 *
 *   npm run bench:blackhole [-- --runs 3]
 */
import { FailureType } from '../contracts/failures';
import type { RunStatus } from '../contracts/run';
import { AWS_TIMEOUTS, type AwsConfig } from '../aws/clients';
import { arg, benchRef, isMain, machine, median, startBenchStack, type BenchStack } from './common';

const RUNS = arg('runs', 3);
const PRIMARY = 'ap-south-1';

interface Variant {
  label: string;
  timeouts: NonNullable<AwsConfig['timeouts']>;
  stack?: BenchStack;
  samples: number[];
}

/** One planned failover against the blackholed primary: ms from start until it ends, refused at preflight. */
async function refusal(stack: BenchStack, n: number): Promise<number> {
  const rb = stack.rb;
  const workflowId = `failover-${rb.name}-${n}`;
  const started = performance.now();
  const handle = await stack.client.workflow.start('regionFailover', {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ runbookRef: benchRef(rb), targetRegion: rb.regions.standby, mode: 'planned', reason: 'bench: blackholed primary', requestedBy: 'bench', options: { timeScale: 0.01 } }],
  });
  const outcome = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - started;
  const status = await handle.query<RunStatus>('status');
  if (!outcome || status.error?.type !== FailureType.PreflightFailed) throw new Error(`${workflowId}: expected a PreflightFailed end, got ${status.phase} ${status.error?.type ?? ''}`);
  return ms;
}

export async function main(): Promise<string> {
  const variants: Variant[] = [
    { label: 'no SDK timeouts (baseline)', timeouts: { connectMs: 0, readMs: 0, writeMs: 0 }, samples: [] },
    { label: `drover's AWS_TIMEOUTS (connect ${AWS_TIMEOUTS.connectMs / 1000} s, read ${AWS_TIMEOUTS.readMs / 1000} s, write ${AWS_TIMEOUTS.writeMs / 1000} s)`, timeouts: AWS_TIMEOUTS, samples: [] },
  ];
  try {
    for (const [i, v] of variants.entries()) {
      // One name per variant: the workers' runbook source is shared, and each stack points the probes at its own apps.
      v.stack = await startBenchStack({ proxy: true, timeouts: v.timeouts, runbook: (rb) => ({ ...rb, name: `${rb.name}-${i}`, approvals: { ...rb.approvals, gates: [] } }) });
      await v.stack.reseed();
      v.stack.proxy?.setRules([{ id: 'outage', region: PRIMARY, fault: { kind: 'blackhole' } }]);
    }
    // The workers run in the background: a baseline activity still holding a blackholed call (no SDK timeout, and
    // the SDK ignores cancellation) would keep a worker's shutdown waiting forever, so the figures do not wait for it.
    for (const v of variants) void v.stack!.worker.run().catch(() => undefined);
    await Promise.all(
      variants.map(async (v) => {
        for (let run = 0; run < RUNS; run++) {
          v.samples.push(await refusal(v.stack!, run));
          process.stderr.write(`${v.label}: run ${run + 1}/${RUNS}: ${Math.round(v.samples.at(-1)! / 1000)} s\n`);
        }
      }),
    );
  } finally {
    // A stack that does not stop in 30 s is left to the process's exit (main exits once the figures are out).
    for (const v of variants) {
      v.stack?.worker.shutdown();
      await Promise.race([v.stack?.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 30_000).unref())]);
    }
  }
  const med = variants.map((v) => median(v.samples));
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return [
    `machine: ${machine()}`,
    '',
    `### A planned failover refused at preflight with ${PRIMARY} blackholed: ${RUNS} runs per variant, side by side (medians)`,
    '',
    '| worker AWS clients | start → refused (s, median) | min – max (s) | / baseline |',
    '|---|---:|---:|---:|',
    ...variants.map((v, i) => `| ${v.label} | ${s(med[i])} | ${s(Math.min(...v.samples))} – ${s(Math.max(...v.samples))} | ${(med[i] / med[0]).toFixed(2)} |`),
  ].join('\n');
}

if (isMain(module)) {
  main()
    .then((md) => {
      process.stdout.write(`${md}\n`);
      process.exit(0);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
