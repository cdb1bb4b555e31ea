/**
 * Benchmark: what the fault proxy's latency rule costs in wall time. One CloudWatch DescribeAlarms call
 * (a small answer from moto) is timed straight to moto, through the proxy with no rule (the no-fault
 * baseline, measured in the same run), and through the proxy with a latency rule of each size; the
 * variants are interleaved run by run so a machine that slows down mid-run slows them all alike.
 * Reports medians: the time each adds over the baseline, against the configured delay.
 * (The test suite only checks that the delay is applied before forwarding, with fake timers; the time
 * it takes belongs here.)
 *
 *   npm run bench:faults [-- --runs 15 --delays 100,300,1000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { startFaultProxy } from '../infra/faults/proxy';
import { startMoto } from '../infra/local/stack';
import { arg, isMain, machine, median } from './common';

const RUNS = arg('runs', 15);

function delaysArg(): number[] {
  const i = process.argv.indexOf('--delays');
  const text = i > 0 ? (process.argv[i + 1] ?? '') : '100,300,1000';
  const delays = text.split(',').map(Number);
  if (delays.length === 0 || delays.some((d) => !Number.isInteger(d) || d <= 0)) throw new Error(`--delays: expected positive whole milliseconds separated by commas, got "${text}"`);
  return delays;
}

interface Variant {
  label: string;
  endpoint: string;
  /** The proxy's configured delay (0: none). */
  delayMs: number;
}

export async function main(): Promise<string> {
  const delays = delaysArg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-faults-'));
  const moto = await startMoto({ logFile: path.join(dir, 'moto.log') });
  const plain = await startFaultProxy({ target: moto.endpoint });
  const delayed = await Promise.all(
    delays.map(async (ms) => {
      const proxy = await startFaultProxy({ target: moto.endpoint });
      proxy.setRules([{ id: `latency-${ms}`, fault: { kind: 'latency', ms } }]);
      return { ms, proxy };
    }),
  );
  const variants: Variant[] = [
    { label: 'straight to moto', endpoint: moto.endpoint, delayMs: 0 },
    { label: 'through the proxy, no rule (baseline)', endpoint: plain.endpoint, delayMs: 0 },
    ...delayed.map(({ ms, proxy }) => ({ label: `through the proxy, latency ${ms} ms`, endpoint: proxy.endpoint, delayMs: ms })),
  ];
  const clients = variants.map((v) => new CloudWatch({ region: 'ap-south-1', endpoint: v.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: 1 }));
  const samples: number[][] = variants.map(() => []);
  try {
    // One warm-up call per client: connection set-up and the SDK's first-call costs are not the delay.
    for (const c of clients) await c.describeAlarms({});
    for (let run = 0; run < RUNS; run++) {
      for (const [i, c] of clients.entries()) {
        const started = performance.now();
        await c.describeAlarms({});
        samples[i].push(performance.now() - started);
      }
      process.stderr.write(`run ${run + 1}/${RUNS}\n`);
    }
    // Every delayed call went through its rule: the proxies' logs say so (warm-up included).
    for (const { ms, proxy } of delayed) {
      const injected = proxy.log().filter((e) => e.injected === `latency:${ms}`).length;
      if (injected !== RUNS + 1) throw new Error(`the ${ms} ms proxy injected ${injected} delays, expected ${RUNS + 1}`);
    }
  } finally {
    for (const c of clients) c.destroy();
    await Promise.all([plain.stop(), ...delayed.map((d) => d.proxy.stop())]);
    await moto.stop();
  }
  const med = samples.map((s) => median(s));
  const baseline = med[1];
  const fmt = (ms: number) => ms.toFixed(1);
  const lines = [
    `machine: ${machine()}`,
    '',
    `### Fault proxy latency rule: one CloudWatch DescribeAlarms against moto, ${RUNS} interleaved runs (medians)`,
    '',
    '| path | median wall (ms) | min – max (ms) | added over the baseline (ms) | added / configured | wall / baseline |',
    '|---|---:|---:|---:|---:|---:|',
    ...variants.map((v, i) => {
      const added = med[i] - baseline;
      const range = `${fmt(Math.min(...samples[i]))} – ${fmt(Math.max(...samples[i]))}`;
      return `| ${v.label} | ${fmt(med[i])} | ${range} | ${i === 1 ? '—' : fmt(added)} | ${v.delayMs > 0 ? (added / v.delayMs).toFixed(3) : '—'} | ${(med[i] / baseline).toFixed(2)} |`;
    }),
  ];
  return lines.join('\n');
}

if (isMain(module)) {
  main()
    .then((md) => process.stdout.write(`${md}\n`))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
