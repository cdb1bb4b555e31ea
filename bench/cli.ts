/**
 * Benchmark (f), CLI cold start: `drover --version` and `drover validate <runbook>` through bin/drover, from the
 * compiled distribution (npm run build) and from the sources through tsx (DROVER_FROM_SOURCE=1, what every start
 * cost before the build), against `node -e 0`. Each command: one warm-up run, then N timed runs, one at a time;
 * wall time from spawn to exit, peak RSS from GNU time (the largest process of the run: tsx starts a second node).
 * Builds dist/ first when bin/drover would not run it (missing or older than a source).
 *
 *   npm run bench:cli [-- --runs 10 --before COMMIT --out bench/cli.md]
 */
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from '../tools/build';
import { arg, machine, median } from './common';

const ROOT = path.join(__dirname, '..');
const LAUNCHER = path.join(ROOT, 'bin', 'drover');
const RUNBOOK = 'runbooks/apnakart.yaml';
const TIME = '/usr/bin/time';

interface Case {
  label: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

interface Measured {
  label: string;
  ms: number[];
  rssKb: number[];
}

/** One run: wall milliseconds and peak RSS (KiB, GNU time's %M); throws on a failed command, so no failure is timed. */
function once(c: Case, env: NodeJS.ProcessEnv): { ms: number; rssKb: number } {
  const rssFile = path.join(os.tmpdir(), `drover-bench-cli-${process.pid}.rss`);
  const started = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', '-o', rssFile, ...c.argv], { cwd: ROOT, env: { ...env, ...c.env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${c.label} exited with ${r.status}: ${r.stderr}`);
  // Anything on stderr would be the launcher passing over a stale build: then it did not measure what it says.
  if (r.stderr.trim() !== '') throw new Error(`${c.label} wrote to stderr: ${r.stderr}`);
  const rssKb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  fs.rmSync(rssFile, { force: true });
  return { ms, rssKb };
}

/** The nearest-rank percentile of `xs`. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

/** Build dist/ unless bin/drover would run it as it is (complete, and no source newer). */
function ensureFreshBuild(env: NodeJS.ProcessEnv): string {
  const probe = spawnSync(LAUNCHER, ['--version'], { cwd: ROOT, env, encoding: 'utf8' });
  const fresh = fs.existsSync(path.join(ROOT, 'dist', 'BUILD_STAMP')) && probe.status === 0 && probe.stderr === '';
  if (fresh) return 'dist/ as it was (fresh)';
  process.stderr.write('bench cli: building dist/ first (npm run build)\n');
  const started = Date.now();
  build(path.join(ROOT, 'dist'));
  return `dist/ built by this run (${((Date.now() - started) / 1000).toFixed(1)} s)`;
}

function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/**
 * `--before COMMIT`: the same two commands from that commit's sources, as its bin/drover ran them (tsx on cli/main.ts),
 * extracted with git archive under .scratch/ (node_modules resolves from the repository's).
 */
function beforeCases(commit: string): Case[] {
  const dir = path.join(ROOT, '.scratch', `bench-cli-${commit}`);
  if (!fs.existsSync(path.join(dir, 'cli', 'main.ts'))) {
    fs.mkdirSync(dir, { recursive: true });
    execSync(`git archive ${commit} | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const tsx = [process.execPath, path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(dir, 'cli/main.ts')];
  return [
    { label: `\`drover --version\`, source at ${commit} (before: tsx, every command loaded)`, argv: [...tsx, '--version'] },
    { label: `\`drover validate ${RUNBOOK}\`, source at ${commit} (before)`, argv: [...tsx, 'validate', RUNBOOK] },
  ];
}

function main(): void {
  const runs = Math.max(1, arg('runs', 10));
  const outIdx = process.argv.indexOf('--out');
  const out = outIdx > 0 ? path.resolve(ROOT, process.argv[outIdx + 1]) : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DROVER_FROM_SOURCE', 'DROVER_DIST', 'DROVER_WORKFLOW_BUNDLE', 'NODE_OPTIONS']) delete env[k];
  const built = ensureFreshBuild(env);
  const source = { DROVER_FROM_SOURCE: '1' };
  const before = strArg('before');
  const cases: Case[] = [
    { label: '`node -e 0` (baseline)', argv: [process.execPath, '-e', '0'] },
    { label: '`bin/drover --version`, dist', argv: [LAUNCHER, '--version'] },
    { label: `\`bin/drover validate ${RUNBOOK}\`, dist`, argv: [LAUNCHER, 'validate', RUNBOOK] },
    { label: '`bin/drover --version`, source (tsx)', argv: [LAUNCHER, '--version'], env: source },
    { label: `\`bin/drover validate ${RUNBOOK}\`, source (tsx)`, argv: [LAUNCHER, 'validate', RUNBOOK], env: source },
    ...(before ? beforeCases(before) : []),
  ];
  const measured: Measured[] = [];
  for (const c of cases) {
    process.stderr.write(`bench cli: ${c.label}, 1 warm-up + ${runs} runs\n`);
    once(c, env);
    const m: Measured = { label: c.label, ms: [], rssKb: [] };
    for (let i = 0; i < runs; i++) {
      const r = once(c, env);
      m.ms.push(r.ms);
      m.rssKb.push(r.rssKb);
    }
    measured.push(m);
  }
  const base = median(measured[0].ms);
  const fmt = (ms: number) => ms.toFixed(0);
  const command = `npm run bench:cli -- --runs ${runs}${before ? ` --before ${before}` : ''}${out ? ` --out ${path.relative(ROOT, out)}` : ''}`;
  const md = [
    `### (f) CLI cold start — bin/drover, ${runs} runs each after one warm-up (median, p90)`,
    '',
    `machine: ${machine()}`,
    '',
    '| command | median (ms) | p90 (ms) | median / baseline | peak RSS (MiB, max of runs) |',
    '|---|---:|---:|---:|---:|',
    ...measured.map((m) => `| ${m.label} | ${fmt(median(m.ms))} | ${fmt(percentile(m.ms, 90))} | ${(median(m.ms) / base).toFixed(1)} | ${(Math.max(...m.rssKb) / 1024).toFixed(0)} |`),
    '',
    `- command: \`${command}\` (${new Date().toISOString().slice(0, 10)}); ${built}`,
    `- wall time from spawn to exit, through GNU time (\`${TIME} -f %M\`, the same for every row, the baseline included); the runs are one at a time, on a machine other jobs may share: compare rows of one table.`,
    '- dist: `npm run build`, then bin/drover runs `node dist/cli/main.js`; it checks the build is newer than every source (one `find`), and loads only the command invoked (cli/commands/index.ts). source: `DROVER_FROM_SOURCE=1`, tsx compiling cli/main.ts and everything it imports at each start (its cache warm after the warm-up).',
    '',
  ].join('\n');
  if (out) fs.writeFileSync(out, `<!-- Written by ${command} (its Markdown, from the run below) and, after the table, by hand. -->\n\n${md}`);
  process.stdout.write(md);
}

main();
