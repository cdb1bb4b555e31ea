/**
 * Benchmark: what metrics and traces cost a failover. Runs `bench/failover.ts` without and with `--telemetry`
 * (metrics recorded, every run traced and exported over OTLP/HTTP to a local receiver), alternating, each in a fresh
 * process with its own stack, and reports the medians of both and their ratio.
 *
 *   npm run bench:telemetry [-- --rounds 3 --runs 3 --time-scale 0.05]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { arg, machine, median } from './common';

const ROUNDS = arg('rounds', 3);
const RUNS = arg('runs', 3);
const SCALE = arg('time-scale', 0.05);

interface Figures {
  wall: number;
  overhead: number;
  otlp?: string;
}

function once(telemetry: boolean): Figures {
  const args = ['--import', 'tsx', path.join(__dirname, 'failover.ts'), '--runs', String(RUNS), '--time-scale', String(SCALE), ...(telemetry ? ['--telemetry'] : [])];
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  if (out.status !== 0) throw new Error(`bench/failover.ts ${telemetry ? '--telemetry ' : ''}exited ${out.status}`);
  const row = (label: RegExp) => Number(/\|\s*\**(\d+)\**\s*\|\s*$/.exec(out.stdout.split('\n').find((l) => label.test(l)) ?? '')?.[1]);
  return { wall: row(/end-to-end wall time/), overhead: row(/orchestration overhead/), otlp: /OTLP export requests, bytes \(all runs\) \| ([^|]+) \|/.exec(out.stdout)?.[1]?.trim() };
}

function main(): void {
  const off: Figures[] = [];
  const on: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating, so a machine that slows down over the benchmark slows both alike.
    off.push(once(false));
    on.push(once(true));
    process.stderr.write(`round ${r + 1}/${ROUNDS}: off ${off[r].wall} ms (overhead ${off[r].overhead}), on ${on[r].wall} ms (overhead ${on[r].overhead})\n`);
  }
  const med = (xs: Figures[], f: (x: Figures) => number) => Math.round(median(xs.map(f)));
  const ratio = (f: (x: Figures) => number) => (median(on.map(f)) / median(off.map(f))).toFixed(3);
  const lines = [
    `## bench:telemetry — failover, ${ROUNDS} rounds × ${RUNS} runs each way, soak x${SCALE} (medians of each process's median)`,
    '',
    `machine: ${machine()}`,
    '',
    '| measure | without | with metrics and traces | with / without |',
    '|---|---:|---:|---:|',
    `| end-to-end wall time (ms) | ${med(off, (x) => x.wall)} | ${med(on, (x) => x.wall)} | ${ratio((x) => x.wall)} |`,
    `| orchestration overhead (ms) | ${med(off, (x) => x.overhead)} | ${med(on, (x) => x.overhead)} | ${ratio((x) => x.overhead)} |`,
    '',
    `OTLP exports per process (${RUNS} runs): ${on.map((x) => x.otlp ?? '?').join('; ')} (requests, bytes)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
