/**
 * Run every issue-7 benchmark, each in its own process (each starts its own Temporal and moto), with
 * medians of at least 5 runs, and write BENCHMARKS.md: the machine, the command, the date, the tables.
 *
 *   npm run bench [-- --runs 5 --time-scale 0.01 --drills 50 --out BENCHMARKS.md]
 *
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { arg, machine } from './common';

const ROOT = path.join(__dirname, '..');
const FINDINGS = path.join(__dirname, 'findings.md');
/** (d), from its own run (`npm run bench:region-loss`, 13 min more): kept in bench/ so a regeneration of (a)-(c) keeps it. */
const REGION_LOSS = path.join(__dirname, 'region-loss.md');
/** (e), from its own run (`npm run bench:failover -- --fence`, about 6 min): kept in bench/ likewise. */
const FENCE = path.join(__dirname, 'fence.md');
/** (f), from its own run (`npm run bench:cli -- --out bench/cli.md`, about 2 min): kept in bench/ likewise. */
const CLI = path.join(__dirname, 'cli.md');

function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
}

/** Run one bench script; its stdout (Markdown) is returned, its stderr (progress) passed through. */
function runBench(script: string, args: string[]): Promise<{ markdown: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'bench', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench/${script} exited with ${code}`));
      // Each bench prints "machine: ..." first when run alone; the document states it once.
      else resolve({ markdown: out.replace(/^machine: .*\n\n?/, '').trim(), ms: Date.now() - started });
    });
  });
}

async function main(): Promise<void> {
  const runs = Math.max(5, arg('runs', 5));
  const scale = arg('time-scale', 0.01);
  const drills = arg('drills', 50);
  const out = path.resolve(ROOT, strArg('out', 'BENCHMARKS.md'));
  const started = Date.now();
  const when = new Date().toISOString();
  const common = ['--runs', String(runs), '--time-scale', String(scale)];

  process.stderr.write(`bench (a) critical path: ${runs} runs\n`);
  const a = await runBench('critical-path.ts', common);
  process.stderr.write(`bench (c) concurrency: ${drills} drills, ${runs} runs\n`);
  const c = await runBench('concurrency.ts', [...common, '--drills', String(drills)]);
  process.stderr.write(`bench (b) scale: ${runs} runs\n`);
  const b = await runBench('scale.ts', common);
  const total = Date.now() - started;
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

  const doc = [
    '# drover benchmarks',
    '',
    'Issue 7 part 4. Every figure is measured end to end on a real Temporal dev server and a real moto server started for the benchmark; nothing here is a timed assertion in the test suite. Regenerate with `npm run bench` (this file is overwritten).',
    '',
    `- machine: ${machine()}`,
    `- command: \`npm run bench -- --runs ${runs} --time-scale ${scale} --drills ${drills}\``,
    `- date: ${when}`,
    `- duration: ${min(total)} in total ((a) ${min(a.ms)}, (c) ${min(c.ms)}, (b) ${min(b.ms)})`,
    '- each bench alone: `npm run bench:critical-path`, `npm run bench:scale`, `npm run bench:concurrency` (Markdown to stdout; `-- --runs N --time-scale S`, and `--drills N` for (c)); (d) `npm run bench:region-loss -- --runs 3` (its own run, below)',
    '',
    '## (a) Critical path',
    '',
    a.markdown,
    '',
    '## (b) Scale',
    '',
    b.markdown,
    '',
    '## (c) Concurrency',
    '',
    c.markdown,
    '',
    ...(fs.existsSync(REGION_LOSS) ? ['## (d) Region loss', '', '(From its own run: `npm run bench:region-loss -- --runs 3`, copied from bench/region-loss.md.)', '', fs.readFileSync(REGION_LOSS, 'utf8').replace(/^<!--.*-->\n+/, '').trim(), ''] : []),
    ...(fs.existsSync(FENCE) ? ['## (e) Planned promotion: the fence and its proof', '', '(From its own run: `npm run bench:failover -- --fence --runs 5`, copied from bench/fence.md.)', '', fs.readFileSync(FENCE, 'utf8').replace(/^<!--.*-->\n+/, '').trim(), ''] : []),
    ...(fs.existsSync(CLI) ? ['## (f) CLI cold start', '', '(From its own run: `npm run bench:cli -- --runs 10 --before 0a772cc --out bench/cli.md`, copied from bench/cli.md.)', '', fs.readFileSync(CLI, 'utf8').replace(/^<!--.*-->\n+/, '').trim(), ''] : []),
    // Hand-written reading of the figures (where the gap is, what to do about it): kept in bench/ so a regeneration keeps it.
    ...(fs.existsSync(FINDINGS) ? [fs.readFileSync(FINDINGS, 'utf8').trim(), ''] : []),
  ].join('\n');
  fs.writeFileSync(out, doc);
  process.stderr.write(`wrote ${path.relative(ROOT, out)} in ${min(total)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
