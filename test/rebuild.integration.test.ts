/**
 * `drover rebuild` end to end on the real Temporal dev server, moto and a real OpenTofu: the
 * terraform_data variant of the cluster stack (no AWS provider plugin needed), the plan gate, the
 * redeploy hook with a kubeconfig for the cluster, verification, and the refusals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../cli/main';
import { ensureTofu } from '../tools/tofu';
import type { RunStatus } from '../contracts/run';
import { captureIO, eventually } from './harness/fixtures';
import { runOutcome, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';

jest.setTimeout(600_000);

const env = new IntegrationEnv();
const saved = { ...process.env };
let home: string;
const iac = () => ({ iac: { variant: 'terraform-data' as const, home: () => home } });

beforeAll(async () => {
  await ensureTofu(); // built once from Go modules, then cached
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-rebuild-'));
  await env.start();
}, 40 * 60_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

/** A runbook that can rebuild its clusters: network refs, a local state backend, a redeploy hook, the plan gate. */
function rebuildable(hook: string[]): Array<[Array<string | number>, unknown]> {
  const network = (n: number) => ({ subnetIds: [`subnet-0a${n}000001`, `subnet-0b${n}000002`], securityGroupIds: [`sg-0c${n}000003`] });
  return [
    [['compute', 'clusters', 0, 'network'], network(1)],
    [['compute', 'clusters', 1, 'network'], network(2)],
    [['compute', 'clusters', 1, 'addons'], [{ name: 'vpc-cni' }]],
    [['approvals', 'gates'], ['failover', 'failback', 'rebuild-plan']],
    [['rebuild'], { backend: { type: 'local' }, allowDestroy: ['terraform_data.addon_*'], timeout: '5m', redeploy: { command: hook, timeout: '1m' } }],
  ];
}

const outcome = (workflowId: string) => runOutcome<RunStatus>(env.client, workflowId);

test('given traffic away from the standby region, a rebuild plans, waits for the plan approval, applies, redeploys with a kubeconfig for the cluster and verifies; a second rebuild finds nothing to change', async () => {
  const marker = path.join(os.tmpdir(), `drover-redeploy-${process.pid}.txt`);
  const hook = ['sh', '-c', `grep -q "server:" "$KUBECONFIG" && echo "redeployed $DROVER_CLUSTER in $DROVER_REGION" | tee ${marker}`];
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild', rebuildable(hook));
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(
    taskQueue,
    async () => {
      const start = captureIO();
      expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'corrupted control plane', '--detach'], start)).toBe(0);
      const id = start.stdout[0];
      expect(id).toBe(`rebuild-${rb.name}`);

      // The gate shows the plan: every resource of the stack is to be added.
      const pending = await eventually(async () => {
        const s = await env.client.workflow.getHandle(id).query<RunStatus>('status');
        return s.pendingGate ? s : undefined;
      }, 'the plan gate', 300_000);
      expect(pending.pendingGate?.name).toBe('rebuild-plan');
      const plan = pending.rebuild?.plan;
      expect(plan?.add).toBeGreaterThanOrEqual(6);
      expect(plan?.destroy).toBe(0);
      expect(pending.pendingGate?.summary).toContain(`${plan?.add} to add, 0 to change, 0 to destroy`);
      expect(plan?.changes.map((c) => c.address)).toEqual(expect.arrayContaining(['terraform_data.cluster', 'terraform_data.node_group_general', 'terraform_data.addon_vpc-cni']));

      const status = captureIO();
      expect(await exec(['status', id], status)).toBe(0);
      expect(status.stdout.join('\n')).toContain(`waiting for approval at gate "rebuild-plan"`);

      expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-priya', '--comment', 'plan reviewed'], captureIO())).toBe(0);
      const done = await outcome(id);
      expect(done.phase).toBe('completed');
      expect(done.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
        'preflight:done', 'synthesize:done', 'plan:done', 'gate:rebuild-plan:done', 'apply:done', 'wait-active:done', 'redeploy:done', 'verify:done',
      ]);
      expect(done.rebuild?.apply?.applied.length).toBe(plan?.add);
      expect(done.rebuild?.clusterArn).toContain(cluster.name);
      expect(fs.readFileSync(marker, 'utf8').trim()).toBe(`redeployed ${cluster.name} in ${STANDBY}`);
      expect(done.rebuild?.redeploy?.outputTail).toEqual([`redeployed ${cluster.name} in ${STANDBY}`]);
      // The state lives in the local backend outside the repo, per runbook and region.
      const state = JSON.parse(fs.readFileSync(path.join(home, 'iac-state', rb.name, STANDBY, 'terraform.tfstate'), 'utf8'));
      expect(state.resources.map((r: { type: string; name: string }) => `${r.type}.${r.name}`)).toEqual(expect.arrayContaining(plan!.changes.map((c) => c.address)));

      // Run again: the plan is empty, approved, and nothing is applied.
      const again = captureIO();
      expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'idempotence check', '--detach'], again)).toBe(0);
      const second = await eventually(async () => {
        const s = await env.client.workflow.getHandle(id).query<RunStatus>('status').catch(() => undefined);
        return s?.pendingGate && s.runId !== done.runId ? s : undefined;
      }, 'the second plan gate', 300_000);
      expect(second.rebuild?.plan?.noChanges).toBe(true);
      expect(second.pendingGate?.summary).toContain('no changes');
      expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-arjun'], captureIO())).toBe(0);
      const noop = await outcome(id);
      expect(noop.phase).toBe('completed');
      expect(noop.rebuild?.apply?.applied).toEqual([]);
    },
    env.config(),
    iac(),
  );
});

test('given traffic on the primary region, a rebuild is refused (exit 3) before anything is synthesized; with --force it waits for the extra gate, and a rejection there changes nothing', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-live', rebuildable(['true']));
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(
    taskQueue,
    async () => {
      const refused = captureIO();
      expect(await exec(['rebuild', file, '--region', PRIMARY, '--reason', 'try it live'], refused)).toBe(3);
      expect(refused.all()).toMatch(/traffic still reaches ap-south-1: .*sends 100% to ap-south-1/);
      const first = await outcome(`rebuild-${rb.name}`);
      expect(first.steps.filter((s) => s.status !== 'pending').map((s) => s.id)).toEqual(['preflight']);
      expect(fs.existsSync(path.join(home, 'iac', rb.name))).toBe(false);

      const forced = captureIO();
      expect(await exec(['rebuild', file, '--region', PRIMARY, '--reason', 'control plane is gone', '--force', '--detach'], forced)).toBe(0);
      const id = forced.stdout[0];
      const pending = await eventually(async () => (await env.client.workflow.getHandle(id).query<RunStatus>('status').catch(() => undefined))?.pendingGate, 'the force gate');
      expect(pending.name).toBe('rebuild-force');
      expect(pending.summary).toContain('while traffic still reaches it');
      expect(await exec(['reject', id, '--gate', 'rebuild-force', '--as', 'ic-arjun', '--reason', 'fail over first'], captureIO())).toBe(0);
      const rejected = await outcome(id);
      expect(rejected.phase).toBe('rejected');
      expect(rejected.steps.find((s) => s.id === 'synthesize')?.status).toBe('pending');
      expect(rejected.compensations).toEqual(['kept: nothing was applied; the state is as it was']);
      expect(fs.existsSync(path.join(home, 'iac', rb.name))).toBe(false);
    },
    env.config(),
    iac(),
  );
});

test('given bad input, drover rebuild exits 2 with a path-qualified message and starts nothing', async () => {
  const { file, taskQueue } = await env.seeded('ak-rebuild-bad', [[['rebuild'], undefined]]);
  useCli(env.moto.endpoint, taskQueue);
  const noSection = captureIO();
  expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'no rebuild section'], noSection)).toBe(2);
  expect(noSection.stderr.join('\n')).toContain(`${file}: rebuild: missing`);
  const badRegion = captureIO();
  expect(await exec(['rebuild', file, '--region', 'eu-west-9', '--reason', 'wrong region'], badRegion)).toBe(2);
  expect(badRegion.stderr.join('\n')).toContain('--region: eu-west-9 is not a region of');
});
