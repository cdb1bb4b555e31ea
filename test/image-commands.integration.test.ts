import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadOrCreateIdentityKey } from '../activities/sealing';
import { plantedDir, testAwsEndpoint, testTempDir, testTemporalAddress } from './harness/servers';

// The image's build and start commands, proven outside a container (no container engine runs here or in CI):
// deploy/Dockerfile RUNs deploy/build-image-root.sh PREFIX and starts `node /app/dist/cli/main.js worker --production`.
// This runs that script on a copy of the checkout into a temporary PREFIX, starts the worker from PREFIX alone (its
// own production node_modules; nothing resolves into the repository's), and waits for the health endpoint to say the
// worker polls. Then SIGTERM: the worker drains and exits 0, as a pod's does.

const ROOT = path.join(__dirname, '..');

jest.setTimeout(5 * 60_000);

let prefix: string;
let src: string | undefined;
/** The worker's identity key, planted for the test and removed after it (the suite's final scan looks for keys). */
let key: string | undefined;
let build: { code: number; output: string };
const children: ChildProcess[] = [];

/** A command's exit code and its whole output, stdout and stderr interleaved as written. */
function run(bin: string, args: string[], opts: { cwd: string; timeoutMs: number }): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => chunks.push(`\n${e.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output: chunks.join('') });
    });
  });
}

/**
 * A copy of the checkout's files (tracked, and new ones not ignored) with the installed node_modules linked in: the
 * build writes dist/ there, not into the checkout, where bin/drover would then run a stale build.
 */
async function copyOfCheckout(): Promise<string> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, timeoutMs: 60_000 });
  if (listed.code !== 0) throw new Error(`git ls-files failed: ${listed.output}`);
  const src = path.join(testTempDir('image-src-'), 'drover');
  for (const file of listed.output.split('\0').filter(Boolean)) {
    const from = path.join(ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
    fs.copyFileSync(from, path.join(src, file));
    fs.chmodSync(path.join(src, file), fs.statSync(from).mode);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  return src;
}

/** A runbook a production worker accepts: apnakart.yaml with its audit trail and OpenTofu state in S3. */
function productionRunbooks(): string {
  const dir = testTempDir('image-runbooks-');
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, 'runbooks', 'apnakart.yaml'), 'utf8'));
  doc.setIn(['audit', 's3'], { bucket: 'drover-image-test-audit' });
  doc.setIn(['rebuild', 'backend'], { type: 's3', bucket: 'drover-image-test-state' });
  fs.writeFileSync(path.join(dir, 'apnakart.yaml'), doc.toString());
  return dir;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function status(url: string): Promise<number | string> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch (e) {
    return `unreachable: ${(e as Error).message}`;
  }
}

describe('the image\'s commands, outside a container', () => {
  beforeAll(async () => {
    src = await copyOfCheckout();
    prefix = path.join(testTempDir('image-root-'), 'app');
    build = await run('bash', [path.join(src, 'deploy', 'build-image-root.sh'), prefix], { cwd: src, timeoutMs: 20 * 60_000 });
  }, 25 * 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // The copy and PREFIX hold no secret, but about a gigabyte of node_modules: left for the suite's secrets scan, its
    // walk of the temporary root would take most of an hour.
    for (const dir of [src && path.dirname(src), prefix && path.dirname(prefix), key && path.dirname(key)]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('deploy/build-image-root.sh builds PREFIX: the compiled CLI, the prebuilt bundle, production dependencies only', () => {
    expect({ code: build.code, tail: build.output.split('\n').slice(-15).join('\n') }).toEqual({ code: 0, tail: expect.stringMatching(/drover \d+\.\d+\.\d+/) });
    for (const f of ['dist/cli/main.js', 'dist/workflow-bundle.js', 'package.json', 'package-lock.json', 'node_modules/@temporalio/worker/package.json']) {
      expect({ f, exists: fs.existsSync(path.join(prefix, f)) }).toEqual({ f, exists: true });
    }
    for (const dev of ['jest', 'typescript', 'eslint', '@temporalio/testing', '@swc/jest']) {
      expect({ dev, installed: fs.existsSync(path.join(prefix, 'node_modules', dev)) }).toEqual({ dev, installed: false });
    }
  });

  test('`node dist/cli/main.js worker --production` from PREFIX alone becomes ready (/readyz 200 once polling), and drains on SIGTERM', async () => {
    expect(build.code).toBe(0);
    const port = await freePort();
    const home = testTempDir('image-home-');
    // The identity key every worker of a deployment shares, mounted as the chart mounts it.
    key = path.join(plantedDir('image-key-'), 'identity.jwk');
    loadOrCreateIdentityKey(key);
    // The image has no OpenTofu: it serves the runs' queue, as the chart's core Deployment does with the IaC lane apart.
    const child = spawn(process.execPath, ['dist/cli/main.js', 'worker', '--production', '--queues', 'core'], {
      cwd: prefix,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        TEMPORAL_ADDRESS: testTemporalAddress(),
        AWS_ENDPOINT_URL: testAwsEndpoint(),
        DROVER_TASK_QUEUE: `image-commands-${process.pid}`,
        DROVER_WORKFLOW_BUNDLE: path.join(prefix, 'dist', 'workflow-bundle.js'),
        DROVER_RUNBOOKS: productionRunbooks(),
        DROVER_HOME: home,
        DROVER_HEALTH_ADDRESS: `127.0.0.1:${port}`,
        DROVER_IDENTITY_KEY_FILE: key,
        DROVER_SHUTDOWN_GRACE: '5s',
        // Nothing may resolve into the checkout: the process sees PREFIX's node_modules only.
        NODE_PATH: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + 120_000;
    let ready: number | string = 'not asked';
    while (Date.now() < deadline && child.exitCode === null) {
      ready = await status(`http://127.0.0.1:${port}/readyz`);
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect({ ready, exitCode: child.exitCode, output: ready === 200 ? '' : output }).toEqual({ ready: 200, exitCode: null, output: '' });
    expect(await status(`http://127.0.0.1:${port}/livez`)).toBe(200);
    expect(output).toContain(`task queue image-commands-${process.pid}`);

    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await status(`http://127.0.0.1:${port}/readyz`)).toMatch(/^unreachable/);
  });
});

