/**
 * Benchmark: the demo failover (ApnaKart, planned, soak x0.05) end to end on a real Temporal dev
 * server and moto, N runs (default 5). Reports the median wall time per step and the orchestration
 * overhead: wall time minus the approval wait and minus the time covered by AWS calls or soak waits
 * (their union, so parallel calls and the soak's own alarm reads count once).
 *
 *   npm run bench:failover [-- --runs 5 --time-scale 0.05]
 *
 * With `--fence`: the planned promotion's fence and proof, ReplicaLag against the engines (bench/fence.ts).
 * With `--telemetry`: the worker records drover's metrics and traces every run, exporting over OTLP/HTTP to a local
 * receiver that answers 200 (bench/telemetry.ts compares runs with and without it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCallRecord } from '../aws/clients';
import { enableMetrics } from '../telemetry/metrics';
import { startTracing } from '../telemetry/tracing';
import { approveAndWait, arg, benchRef, machine, median, startBenchStack } from './common';
import { fenceMain } from './fence';

const RUNS = arg('runs', 5);
const SCALE = arg('time-scale', 0.05);

/** Total time covered by a set of intervals, counting overlaps (parallel calls) once. */
function unionMs(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [cs, ce] = sorted[0] ?? [0, 0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > ce) {
      total += ce - cs;
      [cs, ce] = [s, e];
    } else ce = Math.max(ce, e);
  }
  return total + (ce - cs);
}

/** Metrics on, and traces exported to a local OTLP/HTTP receiver that counts what it is sent. */
async function startTelemetry(): Promise<{ requests: () => number; bytes: () => number; stop(): Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const receiver = http.createServer((req, res) => {
    requests++;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  enableMetrics();
  const tracing = startTracing('drover-bench');
  return {
    requests: () => requests,
    bytes: () => bytes,
    stop: async () => {
      await tracing.shutdown();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const telemetry = process.argv.includes('--telemetry') ? await startTelemetry() : undefined;
  let calls: AwsCallRecord[] = [];
  const stack = await startBenchStack((c) => calls.push(c));
  const { rb, client, worker, taskQueue } = stack;

  const runs: Array<{ wall: number; aws: number; soak: number; gate: number; overhead: number; steps: Record<string, number>; calls: number }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        await stack.reseed();
        calls = [];
        const handle = await client.workflow.start('regionFailover', {
          taskQueue,
          workflowId: `bench-failover-${i}`,
          args: [{ runbookRef: benchRef(rb), targetRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark', requestedBy: 'bench', options: { timeScale: SCALE } }],
        });
        const result = await approveAndWait(handle, 'failover', rb.approvals.approvers[0]);
        const wall = result.rto?.ms ?? 0;
        const start = result.startedAt;
        const end = start + wall;
        const awsIntervals = calls.filter((c) => c.startedAt >= start && c.startedAt <= end).map((c): [number, number] => [c.startedAt, c.startedAt + c.ms]);
        const aws = unionMs(awsIntervals);
        // Each traffic step ends with its soak; the soak's own alarm reads overlap it and count once.
        const soakMs = Math.round(rb.dns.shift.soak * SCALE);
        const soakIntervals = result.steps.filter((s) => s.id.startsWith('traffic-') && s.endedAt).map((s): [number, number] => [(s.endedAt ?? 0) - soakMs, s.endedAt ?? 0]);
        const soak = soakIntervals.length * soakMs;
        const gate = result.rto?.gateWaitMs ?? 0;
        const busy = unionMs([...awsIntervals, ...soakIntervals]);
        const steps = Object.fromEntries(result.steps.map((s) => [s.id, (s.endedAt ?? 0) - (s.startedAt ?? 0)]));
        runs.push({ wall, aws, soak, gate, overhead: wall - busy - gate, steps, calls: calls.length });
        process.stderr.write(`run ${i + 1}/${RUNS}: wall ${wall} ms, AWS ${Math.round(aws)} ms, overhead ${Math.round(wall - busy - gate)} ms\n`);
      }
    });
  } finally {
    await stack.stop();
    await telemetry?.stop();
  }

  const med = (f: (r: (typeof runs)[number]) => number) => Math.round(median(runs.map(f)));
  const lines = [
    `## bench:failover — ${RUNS} runs, soak x${SCALE} (median)${telemetry ? ', metrics and traces on' : ''}`,
    '',
    `machine: ${machine()}`,
    '',
    '| step | median wall (ms) |',
    '|---|---:|',
    ...Object.keys(runs[0]?.steps ?? {}).map((id) => `| ${id} | ${med((r) => r.steps[id])} |`),
    '',
    '| measure | median (ms) |',
    '|---|---:|',
    `| end-to-end wall time (trigger to verified) | ${med((r) => r.wall)} |`,
    `| inside AWS calls (overlaps counted once) | ${med((r) => r.aws)} |`,
    `| configured soak waits | ${med((r) => r.soak)} |`,
    `| approval wait (automatic approver) | ${med((r) => r.gate)} |`,
    `| **orchestration overhead** (wall − approval − time inside AWS calls or soaks, overlaps once) | **${med((r) => r.overhead)}** |`,
    `| AWS calls per run | ${med((r) => r.calls)} |`,
    ...(telemetry ? [`| OTLP export requests, bytes (all runs) | ${telemetry.requests()}, ${telemetry.bytes()} |`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

(process.argv.includes('--fence') ? fenceMain() : main()).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
