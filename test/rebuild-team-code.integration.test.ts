/**
 * "Bring your own IaC" end to end on the real Temporal dev server, moto and a real OpenTofu: `drover rebuild` runs
 * the team's own code through the same pipeline as the built-in stack (prepare, init, plan, the plan gate, apply of
 * exactly that plan, wait, verify):
 * - a root module of the team's (test/fixtures/iac/team-root, calling ../team-eks-module by relative path) with its
 *   own partial local backend completed by the runbook, run in place and never written into;
 * - a pinned module source (a Git repository made from team-eks-module, pinned by its commit), called from a root
 *   drover writes with the team's backend (its own state per region);
 * - a CDK for Terraform app of the team's (test/fixtures/iac/team-cdktf), synthesized by its own command.
 * The fixtures are terraform_data-based: no provider plugin is built. The clusters they stand for already exist in
 * moto (this test is about the pipeline; test/rebuild.integration.test.ts brings a deleted cluster back).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../cli/main';
import { ensureTofu } from '../tools/tofu';
import type { RunStatus } from '../contracts/run';
import { codeDigest } from '../activities/team-code';
import { captureIO, eventually } from './harness/fixtures';
import { runOutcome, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { testTempDir } from './harness/servers';

jest.setTimeout(600_000);

const env = new IntegrationEnv();
let home: string;
let scratch: string;
const saved = { ...process.env };
const FIXTURES = path.join(__dirname, 'fixtures', 'iac');
const iac = () => ({ iac: { variant: 'terraform-data' as const, home: () => home } });

beforeAll(async () => {
  await ensureTofu(); // built once from Go modules, then cached
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-team-code-'));
  scratch = testTempDir('team-code');
  await env.start();
}, 40 * 60_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

const outcome = (workflowId: string) => runOutcome<RunStatus>(env.client, workflowId);

/** Every path under `dir` (files and directories), sorted: what the team's directory holds. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** A runbook whose rebuild runs `code`, with the plan gate. */
function withCode(code: unknown, allowDestroy: string[] = []): Array<[Array<string | number>, unknown]> {
  return [
    [['approvals', 'gates'], ['failover', 'failback', 'rebuild-plan']],
    [['rebuild'], { code, allowDestroy, timeout: '5m' }],
  ];
}

/** Start a rebuild of the standby region and wait for its plan gate. */
async function planGate(file: string, reason: string, previousRunId?: string): Promise<RunStatus> {
  const start = captureIO();
  expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', reason, '--detach'], start)).toBe(0);
  const id = start.stdout[0];
  return eventually(async () => {
    const s = await env.client.workflow.getHandle(id).query<RunStatus>('status').catch(() => undefined);
    if (s?.phase === 'failed') return s;
    return s?.pendingGate && s.runId !== previousRunId ? s : undefined;
  }, 'the plan gate (or the run failing first)', 300_000);
}

async function approveAndWait(id: string): Promise<RunStatus> {
  expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-priya', '--comment', 'plan reviewed'], captureIO())).toBe(0);
  return outcome(id);
}

const STEPS = ['take-runbook:done', 'preflight:done', 'synthesize:done', 'plan:done', 'gate:rebuild-plan:done', 'apply:done', 'wait-active:done', 'redeploy:skipped', 'verify:done'];

test("given the team's own root module, a rebuild plans it in place with the team's backend, applies exactly the approved plan, re-plans to no changes, never writes into the team's code, and a destroy outside allowDestroy is refused", async () => {
  const root = path.join(FIXTURES, 'team-root');
  const before = { tree: [...tree(root), ...tree(path.join(FIXTURES, 'team-eks-module'))], digest: codeDigest(root), module: codeDigest(path.join(FIXTURES, 'team-eks-module')) };
  const state = path.join(scratch, 'team-root-state', 'terraform.tfstate');
  fs.mkdirSync(path.dirname(state), { recursive: true });
  // Each region its own state (the runbook refuses two regions on one state).
  const regionBackendConfig = { [STANDBY]: { path: state }, [PRIMARY]: { path: path.join(scratch, 'team-root-state', 'primary.tfstate') } };
  const code = (nodeGroups: string[]) => ({ module: { dir: root, vars: { cluster_version: '1.31', node_groups: nodeGroups }, regionVars: { [STANDBY]: { cluster_name: 'team-singapore' } }, regionBackendConfig } });
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-team-root', withCode(code(['general', 'checkout'])));
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(
    taskQueue,
    async () => {
      const gate = await planGate(file, 'team module');
      expect(gate.pendingGate?.name).toBe('rebuild-plan');
      const plan = gate.rebuild?.plan;
      expect(plan?.changes.map((c) => `${c.address}:${c.actions.join('+')}`).sort()).toEqual([
        'module.eks.terraform_data.cluster:create',
        'module.eks.terraform_data.node_group["checkout"]:create',
        'module.eks.terraform_data.node_group["general"]:create',
      ]);
      expect(gate.pendingGate?.summary).toContain('3 to add, 0 to change, 0 to destroy');
      expect(gate.steps.find((s) => s.id === 'synthesize')?.title).toBe(`Prepare the team's module (${root})`);
      // The saved plan is in the run's own directory, not in the team's code.
      expect(plan?.planFile.startsWith(path.join(home, 'iac', rb.name, STANDBY))).toBe(true);

      const done = await approveAndWait(gate.workflowId);
      expect(done.phase).toBe('completed');
      expect(done.steps.map((s) => `${s.id}:${s.status}`)).toEqual(STEPS);
      expect(done.rebuild?.apply?.applied.sort()).toEqual(plan?.changes.map((c) => c.address).sort());
      expect(done.rebuild?.apply?.outputs).toEqual({ cluster_name: 'team-singapore' });
      // The team's backend holds the state, with the region's variables applied.
      const applied = JSON.parse(fs.readFileSync(state, 'utf8')) as { resources: Array<{ module?: string; type: string; name: string; instances: Array<{ attributes: { input?: { value?: Record<string, unknown> } } }> }> };
      const cluster = applied.resources.find((r) => r.module === 'module.eks' && r.name === 'cluster');
      expect(cluster?.instances[0].attributes.input?.value).toEqual({ name: 'team-singapore', version: '1.31' });
      expect(fs.existsSync(path.join(home, 'iac-state', rb.name))).toBe(false);

      // Again: the plan is empty and nothing is applied.
      const again = await planGate(file, 'idempotence', done.runId);
      expect(again.rebuild?.plan?.noChanges).toBe(true);
      expect(again.pendingGate?.summary).toContain('no changes');
      const noop = await approveAndWait(again.workflowId);
      expect(noop.phase).toBe('completed');
      expect(noop.rebuild?.apply?.alreadyApplied === true || noop.rebuild?.apply?.applied.length === 0).toBe(true);
      expect(noop.rebuild?.apply?.applied).toEqual([]);
    },
    env.config(),
    iac(),
  );

  // The same code and backend with a node group fewer: the plan destroys it, which allowDestroy does not name.
  const fewer = await env.seeded('ak-team-root-fewer', withCode(code(['general']), ['module.eks.terraform_data.cluster']));
  useCli(env.moto.endpoint, fewer.taskQueue);
  await env.withWorker(
    fewer.taskQueue,
    async () => {
      const refused = await planGate(fewer.file, 'drop a node group');
      expect(refused.phase).toBe('failed');
      expect(refused.error?.type).toBe('IacPlanRefused');
      expect(refused.error?.message).toContain('module.eks.terraform_data.node_group["checkout"], which allowDestroy does not name');
      expect(refused.steps.find((s) => s.id === 'apply')?.status).toBe('pending');
    },
    env.config(),
    iac(),
  );
  // Nothing was destroyed: the state still has both node groups.
  const kept = JSON.parse(fs.readFileSync(state, 'utf8')) as { resources: Array<{ name: string; instances: unknown[] }> };
  expect(kept.resources.find((r) => r.name === 'node_group')?.instances).toHaveLength(2);
  // The team's directories are as they were: no .terraform, no lock file, no plan, the same content.
  expect([...tree(root), ...tree(path.join(FIXTURES, 'team-eks-module'))]).toEqual(before.tree);
  expect([codeDigest(root), codeDigest(path.join(FIXTURES, 'team-eks-module'))]).toEqual([before.digest, before.module]);
});

test('given a pinned module source (a Git repository pinned by its commit), a rebuild calls it from a root drover writes, with the backend the runbook names for the region', async () => {
  const repo = path.join(scratch, 'team-eks-module.git');
  fs.cpSync(path.join(FIXTURES, 'team-eks-module'), repo, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=drover-test', '-c', 'user.email=test@example.invalid', ...args], { cwd: repo, stdio: 'pipe' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'team eks module');
  // A commit, not a tag: a tag can be moved after the plan was approved.
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  const state = path.join(scratch, 'module-source-state', 'terraform.tfstate');
  const source = `git::file://${repo}?ref=${commit}`;
  const regionConfig = { [STANDBY]: { path: state }, [PRIMARY]: { path: path.join(scratch, 'module-source-state', 'primary.tfstate') } };
  const code = { module: { source, vars: { cluster_name: 'team-from-git', cluster_version: '1.31', node_groups: ['general'] }, backend: { type: 'local', regionConfig } } };
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-team-source', withCode(code));
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(
    taskQueue,
    async () => {
      const gate = await planGate(file, 'team module source');
      expect(gate.rebuild?.plan?.changes.map((c) => c.address).sort()).toEqual(['module.cluster.terraform_data.cluster', 'module.cluster.terraform_data.node_group["general"]']);
      const done = await approveAndWait(gate.workflowId);
      expect(done.phase).toBe('completed');
      expect(done.steps.map((s) => `${s.id}:${s.status}`)).toEqual(STEPS);
      const root = JSON.parse(fs.readFileSync(path.join(home, 'iac', rb.name, STANDBY, fs.readdirSync(path.join(home, 'iac', rb.name, STANDBY))[0], 'root', 'main.tf.json'), 'utf8'));
      expect(root).toEqual({ terraform: { backend: { local: { path: state } } }, module: { cluster: { cluster_name: 'team-from-git', cluster_version: '1.31', node_groups: ['general'], source } } });
      expect(gate.rebuild?.plan?.codeSha256).toMatch(/^[0-9a-f]{64}$/);
      const applied = JSON.parse(fs.readFileSync(state, 'utf8')) as { resources: Array<{ module?: string; name: string }> };
      expect(applied.resources.map((r) => `${r.module}.${r.name}`).sort()).toEqual(['module.cluster.cluster', 'module.cluster.node_group']);
    },
    env.config(),
    iac(),
  );
});

test("given the team's own CDK for Terraform app, a rebuild runs its synth command (minimal environment, $CDKTF_OUTDIR in the run's directory), plans the region's stack with the app's own backend, applies it, and re-plans to no changes", async () => {
  const app = path.join(FIXTURES, 'team-cdktf');
  const before = tree(app);
  const stateDir = path.join(scratch, 'cdktf-state');
  process.env.TEAM_STATE_DIR = stateDir;
  const synthLog = path.join(scratch, 'cdktf-synths.log');
  process.env.TEAM_SYNTH_LOG = synthLog;
  const code = { cdktf: { dir: app, synth: [process.execPath, 'main.js'], stack: 'team-eks-{region}', vars: { cluster_version: '1.31' }, regionVars: { [STANDBY]: { cluster_name: 'team-cdktf-singapore' } }, passEnv: ['TEAM_STATE_DIR', 'TEAM_SYNTH_LOG'], timeout: '2m' } };
  const { file, taskQueue } = await env.seeded('ak-team-cdktf', withCode(code));
  useCli(env.moto.endpoint, taskQueue);
  try {
    await env.withWorker(
      taskQueue,
      async () => {
        const gate = await planGate(file, 'team cdktf app');
        expect(gate.steps.find((s) => s.id === 'synthesize')?.title).toBe(`Synthesize the team's CDK for Terraform app (${app}, stack team-eks-${STANDBY})`);
        expect(gate.rebuild?.stack?.variant).toBe('cdktf');
        expect(gate.rebuild?.plan?.changes.map((c) => c.address).sort()).toEqual(['terraform_data.cluster', 'terraform_data.node_group_checkout', 'terraform_data.node_group_general']);
        const done = await approveAndWait(gate.workflowId);
        expect(done.phase).toBe('completed');
        expect(done.steps.map((s) => `${s.id}:${s.status}`)).toEqual(STEPS);
        // The app's own backend: the state file it names under $TEAM_STATE_DIR, for the rebuilt region's stack.
        const applied = JSON.parse(fs.readFileSync(path.join(stateDir, `${STANDBY}.tfstate`), 'utf8')) as { resources: Array<{ name: string; instances: Array<{ attributes: { input?: { value?: Record<string, unknown> } } }> }> };
        expect(applied.resources.find((r) => r.name === 'cluster')?.instances[0].attributes.input?.value).toEqual({ name: 'team-cdktf-singapore', version: '1.31', region: STANDBY });
        expect(done.rebuild?.apply?.outputs).toEqual({ cluster_output: 'team-cdktf-singapore' });
        // Synthesized once: at apply the stack planned is there (its cdk.tf.json is the planned digest), used as it is.
        expect(fs.readFileSync(synthLog, 'utf8')).toBe('synth\n');
        expect(done.rebuild?.plan?.codeSha256).toMatch(/^[0-9a-f]{64}$/);

        const again = await planGate(file, 'idempotence', done.runId);
        expect(again.rebuild?.plan?.noChanges).toBe(true);
        const noop = await approveAndWait(again.workflowId);
        expect(noop.rebuild?.apply?.applied).toEqual([]);
      },
      env.config(),
      iac(),
    );
  } finally {
    delete process.env.TEAM_STATE_DIR;
    delete process.env.TEAM_SYNTH_LOG;
  }
  expect(tree(app)).toEqual(before);
});

test("given the team's code missing on the worker, or a synth that fails, the rebuild ends at its synthesis with a path-qualified message, nothing planned", async () => {
  const missing = await env.seeded('ak-team-missing', withCode({ module: { dir: path.join(scratch, 'no-such-module'), workspace: '{region}' } }));
  useCli(env.moto.endpoint, missing.taskQueue);
  await env.withWorker(
    missing.taskQueue,
    async () => {
      const failed = await planGate(missing.file, 'missing code');
      expect(failed.phase).toBe('failed');
      expect(failed.error?.message).toContain(`rebuild.code.module.dir: ${path.join(scratch, 'no-such-module')} is not a directory on this worker; nothing was planned`);
      expect(failed.steps.find((s) => s.id === 'plan')?.status).toBe('pending');
    },
    env.config(),
    iac(),
  );
  const broken = await env.seeded('ak-team-broken', withCode({ cdktf: { dir: path.join(FIXTURES, 'team-cdktf'), synth: [process.execPath, 'main.js'], stack: 'team-eks-{region}' } }));
  useCli(env.moto.endpoint, broken.taskQueue);
  await env.withWorker(
    broken.taskQueue,
    async () => {
      // No passEnv: the app's TEAM_STATE_DIR never reaches it, whatever the worker has.
      process.env.TEAM_STATE_DIR = path.join(scratch, 'unused');
      const failed = await planGate(broken.file, 'broken synth');
      delete process.env.TEAM_STATE_DIR;
      expect(failed.phase).toBe('failed');
      expect(failed.error?.message).toMatch(/^rebuild\.code\.cdktf\.synth: .* exited 1: .*TEAM_STATE_DIR is not set/);
    },
    env.config(),
    iac(),
  );
});
