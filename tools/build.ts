/**
 * `npm run build`: the compiled distribution bin/drover runs with plain node (docs/operations.md, "The compiled
 * distribution"). dist/ mirrors the repository: the JavaScript tsc emits (tsconfig.build.json: no tests, no
 * benches), the files the code reads through __dirname copied to the same relative places, the workflow bundle
 * workers load by default (built by the compiled `drover bundle`, so it replays every recorded history first), and
 * BUILD_STAMP last, dated when the build started: bin/drover runs dist only when no source is newer than it.
 *
 *   npm run build [-- --out-dir DIR] [--unchecked-bundle]
 *
 * DIR must be inside the repository, so that node_modules resolves (default dist). --unchecked-bundle: for tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Files the CLI reads at run time through __dirname, as paths from the repository root (files or directories). */
export const RUNTIME_ASSETS = [
  'runbooks/apnakart.yaml', // cli/commands/demo.ts DEFAULT_RUNBOOK
  'reports/static', // reports/assets.ts: the HTML report's script and style
  'test/histories', // cli/bundle.ts HISTORIES_DIR: `drover bundle` replays them
];

/** The prebuilt workflow bundle in a build, and the stamp that says the build is complete. */
export const BUNDLE_FILE = 'workflow-bundle.js';
export const STAMP_FILE = 'BUILD_STAMP';

function run(what: string, args: string[]): void {
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
  process.stderr.write(`build: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

/**
 * The same bundle `drover bundle` builds (cli/bundle.ts: the workflows and the worker's interceptor modules, from the
 * compiled code), without replaying the recorded histories against it; for tests, which replay them on their own.
 */
const UNCHECKED_BUNDLE = `
const { bundleWorkflowCode } = require('@temporalio/worker');
const { WORKFLOW_INTERCEPTOR_MODULES } = require('./cli/worker');
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: silent })
  .then((b) => require('node:fs').writeFileSync(process.argv[1], b.code));
`;

/**
 * Build into `outDir` (absolute, inside the repository); returns the stamp's path. `checkBundle: false` skips the
 * replay of the recorded histories against the workflow bundle (test/replay.test.ts replays them); the stamp says so.
 */
export function build(outDir: string, { checkBundle = true } = {}): string {
  const started = new Date();
  fs.rmSync(outDir, { recursive: true, force: true });
  run('tsc -p tsconfig.build.json', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir]);
  for (const asset of RUNTIME_ASSETS) fs.cpSync(path.join(ROOT, asset), path.join(outDir, asset), { recursive: true });
  const bundle = path.join(outDir, BUNDLE_FILE);
  if (checkBundle) run(`workflow bundle ${BUNDLE_FILE}`, [path.join(outDir, 'cli', 'main.js'), 'bundle', '--out', bundle]);
  else run(`workflow bundle ${BUNDLE_FILE}, not replay-checked`, ['-e', UNCHECKED_BUNDLE.replace(/'\.\//g, `'${outDir}/`), bundle]);
  // Written last and dated at the start: a source saved while this build ran is newer than the stamp.
  const stamp = path.join(outDir, STAMP_FILE);
  fs.writeFileSync(stamp, `drover build started ${started.toISOString()}, node ${process.version}; workflow bundle ${checkBundle ? 'replay-checked' : 'NOT replay-checked'}\n`);
  fs.utimesSync(stamp, started, started);
  return stamp;
}

if (require.main === module) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = path.resolve(ROOT, i > 0 ? process.argv[i + 1] ?? 'dist' : 'dist');
  const started = Date.now();
  try {
    build(outDir, { checkBundle: !process.argv.includes('--unchecked-bundle') });
    process.stderr.write(`build: ${path.relative(ROOT, outDir) || '.'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(`build: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
