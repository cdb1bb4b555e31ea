/**
 * The compiled distribution (npm run build, tools/build.ts) and the launcher (bin/drover): a real build into a
 * scratch directory of the repository (DROVER_DIST), then bin/drover run from it and from the sources
 * (DROVER_FROM_SOURCE=1) gives the same output; a build older than a source is passed over, and said; the build's
 * workflow bundle is the workers' default. The build takes tsc over the whole program (about 10-25 s on 2 cores);
 * the bundle is built but not replay-checked here (test/replay.test.ts replays the same histories).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build, BUNDLE_FILE, RUNTIME_ASSETS, STAMP_FILE } from '../tools/build';
import { moduleLog } from './harness/module-log';
import { testTempDir } from './harness/servers';

const ROOT = path.join(__dirname, '..');
const LAUNCHER = path.join(ROOT, 'bin', 'drover');
const RUNBOOK = 'runbooks/apnakart.yaml';
const outDir = path.join(ROOT, '.scratch', `dist-test-${process.pid}`);

/** The environment of a launcher run: this build, no bundle or source choice inherited from the caller. */
function launcherEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DROVER_DIST: outDir, ...extra };
  for (const k of ['DROVER_WORKFLOW_BUNDLE', 'DROVER_FROM_SOURCE', 'NODE_OPTIONS']) if (!(k in extra)) delete env[k];
  return env;
}

function launch(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(LAUNCHER, args, { cwd: ROOT, env: launcherEnv(extra), encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A launcher run with the module log (test/harness/module-log.ts) preloaded into the node it starts. */
function launchLogged(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const { hook, log, read } = moduleLog(testTempDir('dist-log-'));
  const r = spawnSync(LAUNCHER, args, { cwd: ROOT, env: { ...launcherEnv(extra), NODE_OPTIONS: `--require ${hook}`, DROVER_MODULE_LOG: log }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ...read() };
}

let buildMs = 0;

beforeAll(() => {
  const started = Date.now();
  build(outDir, { checkBundle: false });
  buildMs = Date.now() - started;
}, 300_000);

afterAll(() => {
  fs.rmSync(outDir, { recursive: true, force: true });
});

describe('npm run build', () => {
  test('writes the compiled CLI, the files it reads through __dirname, the workflow bundle and the stamp', () => {
    process.stderr.write(`dist test: the build took ${(buildMs / 1000).toFixed(1)} s\n`);
    for (const file of ['cli/main.js', 'cli/commands/validate.js', 'workflows/index.js', 'package.json', BUNDLE_FILE, STAMP_FILE, ...RUNTIME_ASSETS]) {
      expect({ file, exists: fs.existsSync(path.join(outDir, file)) }).toEqual({ file, exists: true });
    }
    expect(fs.readFileSync(path.join(outDir, BUNDLE_FILE), 'utf8')).toContain('regionFailover');
    // No tests or benches in the distribution (test/histories is an asset: `drover bundle` replays it).
    expect(fs.readdirSync(path.join(outDir, 'test'))).toEqual(['histories']);
    expect(fs.existsSync(path.join(outDir, 'bench'))).toBe(false);
  });

  test('every source that reads a file through __dirname is one whose file the build copies (tools/build.ts RUNTIME_ASSETS)', () => {
    const dirs = ['activities', 'audit', 'aws', 'cli', 'config', 'contracts', 'infra', 'processes', 'reports', 'runbooks', 'tools', 'workflows'];
    const users = dirs
      .flatMap((d) => (fs.readdirSync(path.join(ROOT, d), { recursive: true }) as string[]).map((f) => `${d}/${f}`))
      .filter((f) => f.endsWith('.ts') && /__dirname/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')))
      .sort();
    // cli/bundle.ts test/histories, cli/commands/demo.ts runbooks/apnakart.yaml, reports/assets.ts reports/static;
    // the tools run from the sources only (aws-regions writes runbooks/aws-regions.ts, build is this build).
    expect(users).toEqual(['cli/bundle.ts', 'cli/commands/demo.ts', 'reports/assets.ts', 'tools/aws-regions.ts', 'tools/build.ts']);
    const probe = spawnSync(process.execPath, ['-e', `
      const assets = require(${JSON.stringify(path.join(outDir, 'reports/assets.js'))});
      const bundle = require(${JSON.stringify(path.join(outDir, 'cli/bundle.js'))});
      process.stdout.write(JSON.stringify({ css: assets.reportAsset('report.css'), histories: bundle.recordedHistories().length }));`], { cwd: ROOT, encoding: 'utf8' });
    expect(probe.stderr).toBe('');
    const read = JSON.parse(probe.stdout) as { css: string; histories: number };
    expect(read.css).toBe(fs.readFileSync(path.join(ROOT, 'reports/static/report.css'), 'utf8'));
    expect(read.histories).toBe((JSON.parse(fs.readFileSync(path.join(ROOT, 'test/histories/index.json'), 'utf8')) as unknown[]).length);
  });
});

describe('bin/drover', () => {
  test('given a fresh build, --version and validate run the compiled CLI, loading nothing of the AWS SDK, CDKTF, Chart.js or the Temporal client or worker, and --version prints what the sources print', () => {
    const dist = launchLogged(['--version']);
    expect(dist.files).toContain(path.join(outDir, 'cli/main.js'));
    expect(dist.files.some((f) => f.endsWith('/cli/main.ts'))).toBe(false);
    expect(dist.heavy).toEqual([]);
    const validate = launchLogged(['validate', RUNBOOK]);
    expect(validate.files).toContain(path.join(outDir, 'cli/commands/validate.js'));
    expect(validate.heavy).toEqual([]);
    const source = launchLogged(['--version'], { DROVER_FROM_SOURCE: '1' });
    expect(source.files.some((f) => f.endsWith('/cli/main.ts'))).toBe(true);
    expect(source.files).not.toContain(path.join(outDir, 'cli/main.js'));
    expect({ status: dist.status, stdout: dist.stdout, stderr: dist.stderr }).toEqual({ status: source.status, stdout: source.stdout, stderr: source.stderr });
    expect(dist.status).toBe(0);
  });

  test('given a valid and an invalid runbook, validate prints, exits and fails the same from the build as from the sources', () => {
    const bad = path.join(testTempDir('dist-rb-'), 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(path.join(ROOT, RUNBOOK), 'utf8').replace(/^name: .*$/m, 'name: 7').replace(/primary: ap-south-1/, 'primary: mars-1'));
    for (const args of [['validate', RUNBOOK], ['validate', '--json', RUNBOOK], ['validate', bad], ['--help'], ['validate', '--help'], ['valdate']]) {
      const dist = launch(args);
      const source = launch(args, { DROVER_FROM_SOURCE: '1' });
      expect({ args, ...dist }).toEqual({ args, ...source });
    }
    expect(launch(['validate', RUNBOOK]).status).toBe(0);
    expect(launch(['validate', bad]).status).toBe(2);
  });

  test('given a source newer than the build, it runs the sources and says so on stderr; the output is otherwise the same', () => {
    const stamp = path.join(outDir, STAMP_FILE);
    const built = fs.statSync(stamp).mtime;
    try {
      fs.utimesSync(stamp, new Date(0), new Date(0));
      const stale = launchLogged(['--version']);
      expect(stale.files.some((f) => f.endsWith('/cli/main.ts'))).toBe(true);
      expect(stale.files).not.toContain(path.join(outDir, 'cli/main.js'));
      expect(stale.stderr).toMatch(/^drover: \S+ changed after the build in .*dist-test-\d+\/ \(npm run build refreshes it\); running from source\n$/);
      expect(stale.stdout).toBe(launch(['--version'], { DROVER_FROM_SOURCE: '1' }).stdout);
    } finally {
      fs.utimesSync(stamp, built, built);
    }
  });

  test('given no stamp (a build that did not finish), it runs the sources', () => {
    const stamp = path.join(outDir, STAMP_FILE);
    const saved = fs.readFileSync(stamp, 'utf8');
    const built = fs.statSync(stamp).mtime;
    try {
      fs.rmSync(stamp);
      const run = launchLogged(['--version']);
      expect(run.files.some((f) => f.endsWith('/cli/main.ts'))).toBe(true);
      expect(run.stderr).toBe('');
    } finally {
      fs.writeFileSync(stamp, saved);
      fs.utimesSync(stamp, built, built);
    }
  });

  test("given DROVER_WORKFLOW_BUNDLE unset, the build's bundle is the workers' default; one that is set wins", () => {
    // A production worker refuses to start without a prebuilt bundle: its list of problems shows which one it sees.
    const runbooks = testTempDir('dist-runbooks-');
    const worker = ['worker', '--production', '--runbooks', runbooks];
    const aws = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'ap-south-1' };
    const fromDist = launch(worker, aws);
    const fromSource = launch(worker, { ...aws, DROVER_FROM_SOURCE: '1' });
    const missing = path.join(runbooks, 'nowhere.js');
    const chosen = launch(worker, { ...aws, DROVER_WORKFLOW_BUNDLE: missing });
    expect([fromDist.status, fromSource.status, chosen.status]).toEqual([2, 2, 2]);
    expect(fromSource.stderr).toContain('DROVER_WORKFLOW_BUNDLE is not set');
    expect(fromDist.stderr).not.toContain('DROVER_WORKFLOW_BUNDLE');
    expect(fromDist.stderr).toContain('the runbook directory holds no <name>.yaml');
    expect(chosen.stderr).toContain(`DROVER_WORKFLOW_BUNDLE: ${missing} does not exist`);
  });
});
