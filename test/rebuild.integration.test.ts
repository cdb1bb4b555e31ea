/**
 * `drover rebuild` end to end on the real Temporal dev server, moto and a real OpenTofu: the
 * terraform_data variant of the cluster stack (no AWS provider plugin needed), the plan gate, the
 * redeploy hook with a kubeconfig for the cluster, verification, and the refusals.
 *
 * The standby cluster is deleted from moto first, so the wait and the verification can only pass on a
 * cluster the rebuild brought back. With terraform_data stand-ins OpenTofu creates nothing in moto, so
 * the test plays the AWS provider's part (the opt-in provider suite, test/provider/, runs the real one):
 * once the apply has written its state, and before the run's first look for the cluster, it creates in
 * moto exactly what the applied state describes (each stand-in's `input` is the real resource's
 * configuration), and nothing else.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EC2 } from '@aws-sdk/client-ec2';
import { EKS } from '@aws-sdk/client-eks';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { exec } from '../cli/main';
import { ensureTofu, resolveTofu } from '../tools/tofu';
import type { RunStatus } from '../contracts/run';
import { captureIO, emulatorConfig, eventually, MOTO_ACCOUNT, writeRunbook } from './harness/fixtures';
import { runOutcome, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { startInterposer, type Interposer } from './harness/interpose';
import { createWorker } from '../cli/worker';
import { createAwsClients } from '../aws/clients';
import { createActivities } from '../activities';
import { testRunbooks, workflowBundle } from './harness/fixtures';
import { testTemporalAddress, testTempDir } from './harness/servers';
import { waitFor } from './harness/wait';
import { recordHistory } from './harness/timeskipping';

jest.setTimeout(600_000);

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
let home: string;
/** Between the worker and moto: holds the wait's first DescribeCluster while the test creates what the apply declared. */
let interposer: Interposer;
const iac = () => ({ iac: { variant: 'terraform-data' as const, home: () => home } });

beforeAll(async () => {
  await ensureTofu(); // built once from Go modules, then cached
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-rebuild-'));
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
}, 40 * 60_000);
afterEach(() => interposer.disarm());
afterAll(async () => {
  process.env = saved;
  await interposer?.stop();
  await env.stop();
});

const eksIn = (region: string) => new EKS({ region, endpoint: env.moto.endpoint, credentials: CREDS });

/** The error a call fails with (it must fail). */
async function failure(p: Promise<unknown>): Promise<{ name: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { name: string },
  );
  if (!err) throw new Error('expected the call to fail, but it succeeded');
  return err;
}

/** Delete a cluster from moto as it would be lost: its node groups first (EKS refuses otherwise), then the cluster. */
async function deleteCluster(region: string, name: string): Promise<void> {
  const eks = eksIn(region);
  for (const nodegroupName of (await eks.listNodegroups({ clusterName: name })).nodegroups ?? []) await eks.deleteNodegroup({ clusterName: name, nodegroupName });
  await eks.deleteCluster({ name });
}

/** Lose the cluster as a rebuild finds it: deleteCluster, and the launch templates of its node groups with it. */
async function loseCluster(region: string, name: string): Promise<void> {
  await deleteCluster(region, name);
  const ec2 = new EC2({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  for (const t of (await ec2.describeLaunchTemplates({})).LaunchTemplates ?? []) {
    if (t.LaunchTemplateName?.startsWith(`${name}-`)) await ec2.deleteLaunchTemplate({ LaunchTemplateId: t.LaunchTemplateId });
  }
}

/** The `input` of each terraform_data in an applied local state, by resource name. */
function appliedInputs(stateFile: string): Map<string, Record<string, unknown>> {
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { resources: Array<{ type: string; name: string; instances: Array<{ attributes: { input?: { value?: Record<string, unknown> } } }> }> };
  return new Map(state.resources.filter((r) => r.type === 'terraform_data').map((r) => [r.name, r.instances[0]?.attributes.input?.value ?? {}]));
}

/**
 * What the AWS provider would have done for the applied stack: the cluster and its node groups, created
 * in moto from the configuration the state holds (role ARNs from the roles' names, as IAM would give them).
 */
async function createAsApplied(stateFile: string, region: string): Promise<void> {
  const inputs = appliedInputs(stateFile);
  const role = (resource: string) => `arn:aws:iam::${MOTO_ACCOUNT}:role/${String(inputs.get(resource)?.name)}`;
  const c = inputs.get('cluster') as { name: string; version: string; tags: Record<string, string>; vpc_config: { subnet_ids: string[]; security_group_ids: string[]; endpoint_public_access: boolean; endpoint_private_access: boolean } };
  const eks = eksIn(region);
  const access = (inputs.get('cluster') as { access_config?: { authentication_mode?: string; bootstrap_cluster_creator_admin_permissions?: boolean } }).access_config;
  await eks.createCluster({
    name: c.name,
    version: c.version,
    roleArn: role('cluster_role'),
    ...(access ? { accessConfig: { authenticationMode: access.authentication_mode as 'API', bootstrapClusterCreatorAdminPermissions: access.bootstrap_cluster_creator_admin_permissions } } : {}),
    resourcesVpcConfig: { subnetIds: c.vpc_config.subnet_ids, securityGroupIds: c.vpc_config.security_group_ids, endpointPublicAccess: c.vpc_config.endpoint_public_access, endpointPrivateAccess: c.vpc_config.endpoint_private_access },
    tags: c.tags,
  });
  // Each node group's launch template first (its disk, IMDSv2), then the node group on it.
  const ec2 = new EC2({ region, endpoint: env.moto.endpoint, credentials: CREDS });
  for (const [name, input] of inputs) {
    if (!name.startsWith('node_group_')) continue;
    const g = input as { node_group_name: string; subnet_ids: string[]; instance_types: string[]; labels?: Record<string, string>; scaling_config: { desired_size: number; min_size: number; max_size: number }; tags: Record<string, string> };
    const t = inputs.get(`launch_template_${g.node_group_name}`) as { name: string; block_device_mappings: Array<{ device_name: string; ebs: { volume_size: number; volume_type: string } }>; metadata_options: { http_tokens: string; http_put_response_hop_limit: number } };
    await ec2.createLaunchTemplate({
      LaunchTemplateName: t.name,
      LaunchTemplateData: {
        BlockDeviceMappings: t.block_device_mappings.map((b) => ({ DeviceName: b.device_name, Ebs: { VolumeSize: b.ebs.volume_size, VolumeType: b.ebs.volume_type as 'gp3' } })),
        MetadataOptions: { HttpTokens: t.metadata_options.http_tokens as 'required', HttpPutResponseHopLimit: t.metadata_options.http_put_response_hop_limit },
      },
    });
    await eks.createNodegroup({
      clusterName: c.name,
      nodegroupName: g.node_group_name,
      nodeRole: role('node_role'),
      subnets: g.subnet_ids,
      instanceTypes: g.instance_types,
      launchTemplate: { name: t.name, version: '1' },
      labels: g.labels,
      scalingConfig: { desiredSize: g.scaling_config.desired_size, minSize: g.scaling_config.min_size, maxSize: g.scaling_config.max_size },
      tags: g.tags,
    });
  }
}

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
  expect(cluster.name).toBe(`apnakart-singapore-${rb.name}`);
  const eks = eksIn(STANDBY);

  // The standby cluster is lost: gone from moto, node groups and all.
  await deleteCluster(STANDBY, cluster.name);
  expect((await failure(eks.describeCluster({ name: cluster.name }))).name).toBe('ResourceNotFoundException');
  expect((await eks.listClusters({})).clusters).not.toContain(cluster.name);

  // When the run first looks for the cluster (wait-active), the apply is done: create what its state declares.
  const stateFile = path.join(home, 'iac-state', rb.name, STANDBY, 'terraform.tfstate');
  const provided = interposer.intercept({
    what: "the wait's first DescribeCluster",
    match: async (req) => req.operation === 'DescribeCluster' && req.region === STANDBY && (await env.client.workflow.getHandle(`rebuild-${rb.name}`).query<RunStatus>('status')).currentStep === 'wait-active',
    before: () => createAsApplied(stateFile, STANDBY),
  });
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
        'take-runbook:done', 'preflight:done', 'synthesize:done', 'plan:done', 'gate:rebuild-plan:done', 'apply:done', 'wait-active:done', 'redeploy:done', 'verify:done',
      ]);
      expect(done.rebuild?.apply?.applied.length).toBe(plan?.add);
      // `DROVER_RECORD_HISTORIES=<dir> npx jest test/rebuild.integration.test.ts -t 'second rebuild'` records this run
      // for the replay tests (test/histories/index.json names it with its workflow id).
      if (process.env.DROVER_RECORD_HISTORIES) fs.writeFileSync(path.join(process.env.DROVER_RECORD_HISTORIES, 'rebuild-lock-iac-lane.json'), historyToJSON(await env.client.workflow.getHandle(id, done.runId).fetchHistory()));
      // The cluster came back, as the stack defines it, and the run waited for and verified that one.
      await provided.released;
      const back = (await eks.describeCluster({ name: cluster.name })).cluster;
      expect([back?.name, back?.status, back?.version, back?.resourcesVpcConfig?.subnetIds, back?.resourcesVpcConfig?.securityGroupIds]).toEqual([
        cluster.name, 'ACTIVE', '1.31', ['subnet-0a2000001', 'subnet-0b2000002'], ['sg-0c2000003'],
      ]);
      expect(back?.tags).toEqual({ 'drover:cluster': cluster.name, 'drover:managed-by': 'drover', 'drover:region': STANDBY, 'drover:runbook': rb.name });
      expect(done.rebuild?.clusterArn).toBe(back?.arn);
      expect(done.rebuild?.clusterArn).toBe(`arn:aws:eks:${STANDBY}:${MOTO_ACCOUNT}:cluster/${cluster.name}`);
      const groups = await Promise.all(['general', 'checkout'].map(async (nodegroupName) => (await eks.describeNodegroup({ clusterName: cluster.name, nodegroupName })).nodegroup));
      expect(groups.map((g) => [g?.nodegroupName, g?.status, g?.scalingConfig, g?.instanceTypes, g?.launchTemplate?.name])).toEqual([
        ['general', 'ACTIVE', { minSize: 2, desiredSize: 12, maxSize: 24 }, ['m6i.large'], `${cluster.name}-general`],
        ['checkout', 'ACTIVE', { minSize: 1, desiredSize: 6, maxSize: 12 }, ['m6i.large'], `${cluster.name}-checkout`],
      ]);
      // The disk the runbook asks for is in each group's launch template (EKS refuses diskSize beside one).
      const ec2 = new EC2({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS });
      const versions = await ec2.describeLaunchTemplateVersions({ LaunchTemplateName: `${cluster.name}-general` });
      expect(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize).toBe(50);
      expect(((await eks.listNodegroups({ clusterName: cluster.name })).nodegroups ?? []).sort()).toEqual(['checkout', 'general']);
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
      expect(noop.rebuild?.clusterArn).toBe(back?.arn);
    },
    emulatorConfig(interposer.endpoint),
    iac(),
  );
});

test('given the primary withdrawn through its data-plane control (an unplanned failover: the weights still name the primary), a rebuild of the standby is refused (exit 3): the standby answers every record', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-withdrawn', rebuildable(['true']));
  useCli(env.moto.endpoint, taskQueue);
  expect(await exec(['prepare', file, '--apply'], captureIO())).toBe(0);
  const activities = createActivities({ aws: createAwsClients(env.config()), temporal: () => env.client, runbooks: testRunbooks });
  expect((await activities.setControl({ runbook: rb.name, primary: PRIMARY, standby: STANDBY, region: PRIMARY, withdrawn: true })).state).toBe('ALARM');
  await env.withWorker(taskQueue, async () => {
    const refused = captureIO();
    expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'weights say nothing reaches it'], refused)).toBe(3);
    expect(refused.all()).toMatch(/traffic still reaches ap-southeast-1: .*sends 100% to ap-southeast-1/);
    const first = await outcome(`rebuild-${rb.name}`);
    expect(first.steps.find((s) => s.id === 'preflight')?.notes).toContain(`the control of ${PRIMARY} (drover-control-${rb.name}-${PRIMARY} in ${STANDBY}) is ALARM: ${PRIMARY} is out of DNS answers, ${STANDBY} answers every record`);
    expect(fs.existsSync(path.join(home, 'iac', rb.name))).toBe(false);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/rebuild.integration.test.ts -t 'data-plane control'` records it for the replay tests.
    await recordHistory(env.client.workflow.getHandle(`rebuild-${rb.name}`), 'rebuild-reads-control.json');
  });
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
      expect(first.steps.filter((s) => s.status !== 'pending').map((s) => s.id)).toEqual(['take-runbook', 'preflight']);
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

test('given a rebuild planned on one worker whose pod is then replaced, another worker (its own home, no stack directory) synthesizes the stack again and applies the approved plan against the shared state', async () => {
  // The state is shared (what the S3 backend gives several workers; here one directory both use), the homes are not.
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-shared-state-'));
  const homes = [fs.mkdtempSync(path.join(os.tmpdir(), 'drover-worker-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'drover-worker-b-'))];
  const set = rebuildable(['true']).map(([at, value]): [Array<string | number>, unknown] => (at[0] === 'rebuild' ? [at, { ...(value as object), backend: { type: 'local', dir: shared } }] : [at, value]));
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-moved', set);
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  await deleteCluster(STANDBY, cluster.name);
  const stateFile = path.join(shared, 'terraform.tfstate');
  const provided = interposer.intercept({
    what: "the wait's first DescribeCluster",
    match: async (req) => req.operation === 'DescribeCluster' && req.region === STANDBY && (await env.client.workflow.getHandle(`rebuild-${rb.name}`).query<RunStatus>('status')).currentStep === 'wait-active',
    before: () => createAsApplied(stateFile, STANDBY),
  });
  useCli(env.moto.endpoint, taskQueue);
  const onWorker = (home: string, fn: () => Promise<void>) => env.withWorker(taskQueue, fn, emulatorConfig(interposer.endpoint), { iac: { variant: 'terraform-data', home: () => home } });
  const id = `rebuild-${rb.name}`;

  // Worker A synthesizes and plans; the run waits at the plan gate when A goes away.
  let planned: RunStatus | undefined;
  await onWorker(homes[0], async () => {
    expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'lost control plane', '--detach'], captureIO())).toBe(0);
    planned = await eventually(async () => {
      const st = await env.client.workflow.getHandle(id).query<RunStatus>('status');
      return st.pendingGate ? st : undefined;
    }, 'the plan gate', 300_000);
  });
  expect(planned?.rebuild?.stack?.dir.startsWith(homes[0])).toBe(true);
  // The replaced pod's disk goes with it.
  fs.rmSync(homes[0], { recursive: true, force: true });

  // Worker B never had the directory: it synthesizes the stack again under its own home, re-plans and applies.
  await onWorker(homes[1], async () => {
    expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-priya'], captureIO())).toBe(0);
    const done = await outcome(id);
    expect(done.phase).toBe('completed');
    const apply = done.steps.find((s) => s.id === 'apply');
    expect(apply?.notes).toEqual([
      expect.stringMatching(new RegExp(`^synthesized again on this worker \\(the stack's directory was on another\\): ${homes[1]}/`)),
      `${planned?.rebuild?.plan?.add} resources applied (re-planned after a retry, within the approved changes)`,
    ]);
    await provided.released;
    expect((await eksIn(STANDBY).describeCluster({ name: cluster.name })).cluster?.status).toBe('ACTIVE');
  });
  expect(appliedInputs(stateFile).has('cluster')).toBe(true);
});

/**
 * Start drover's own worker (a 2-minute IaC grace), start a rebuild of the standby, and stop the worker as SIGTERM
 * does in `drover worker` once `marker` exists (`what` has started); returns when the worker has closed.
 */
async function stoppedOnceStarted(taskQueue: string, file: string, deps: Parameters<typeof createWorker>[0]['deps'], marker: string, what: string): Promise<void> {
  const drover = await createWorker({ address: testTemporalAddress(), taskQueue, deps, workflowBundle: await workflowBundle(), iacShutdownGrace: '2m' });
  const running = drover.run();
  try {
    expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'lost control plane', '--detach'], captureIO())).toBe(0);
    await waitFor(async () => fs.existsSync(marker), { what: `${what} to start`, timeoutMs: 300_000 });
  } finally {
    drover.shutdown();
    await running;
    await drover.close();
  }
}

test("given drover's own worker stopped (SIGTERM) while the redeploy hook runs on its IaC lane, the hook runs to its end within the grace, its result is recorded, and the next worker completes the run", async () => {
  const marker = path.join(testTempDir('graceful-'), 'hook.log');
  // A hook that takes a while, and says when it started and ended: cancelled, it would never write its end.
  const hook = ['sh', '-c', `echo start >> ${marker}; sleep 3; echo end >> ${marker}; echo redeployed`];
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-graceful', rebuildable(hook).map(([at, v]): [Array<string | number>, unknown] => [at, at[0] === 'approvals' ? ['failover', 'failback'] : v]));
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  await deleteCluster(STANDBY, cluster.name);
  const provided = interposer.intercept({
    what: "the wait's first DescribeCluster",
    match: async (req) => req.operation === 'DescribeCluster' && req.region === STANDBY && (await env.client.workflow.getHandle(`rebuild-${rb.name}`).query<RunStatus>('status')).currentStep === 'wait-active',
    before: () => createAsApplied(path.join(home, 'iac-state', rb.name, STANDBY, 'terraform.tfstate'), STANDBY),
  });
  useCli(env.moto.endpoint, taskQueue);
  const id = `rebuild-${rb.name}`;
  await stoppedOnceStarted(taskQueue, file, { aws: createAwsClients(emulatorConfig(interposer.endpoint)), runbooks: testRunbooks, iac: { variant: 'terraform-data', home: () => home } }, marker, 'the redeploy hook');
  // The worker stopped only after the hook had finished (never interrupted), and reported its result.
  expect(fs.readFileSync(marker, 'utf8')).toBe('start\nend\n');
  await env.withWorker(taskQueue, async () => {
    const done = await outcome(id);
    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'redeploy')?.status).toBe('done');
    expect(done.rebuild?.redeploy?.outputTail).toEqual(['redeployed']);
  }, emulatorConfig(interposer.endpoint), iac());
  await provided.released;
  // Run once: the next worker did not run it again.
  expect(fs.readFileSync(marker, 'utf8')).toBe('start\nend\n');
});

test("given drover's own worker stopped (SIGTERM) while OpenTofu applies the approved plan on its IaC lane, the apply runs to its end within the grace (never interrupted), its result is recorded, and the next worker completes the run without applying again", async () => {
  const dir = testTempDir('graceful-apply-');
  const marker = path.join(dir, 'apply.log');
  // The real OpenTofu, behind a wrapper that says when an apply of a plan starts and ends and takes 3 s longer: an
  // interrupted apply (SIGINT from a cancelled activity) would never write its end.
  const real = await resolveTofu();
  const wrapper = path.join(dir, 'tofu');
  fs.writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = apply ]; then echo start >> '${marker}'; sleep 3; '${real}' "$@" || exit $?; echo end >> '${marker}'; exit 0; fi\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-graceful-apply', rebuildable(['true']).map(([at, v]): [Array<string | number>, unknown] => [at, at[0] === 'approvals' ? ['failover', 'failback'] : v]));
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  await deleteCluster(STANDBY, cluster.name);
  const stateFile = path.join(home, 'iac-state', rb.name, STANDBY, 'terraform.tfstate');
  const provided = interposer.intercept({
    what: "the wait's first DescribeCluster",
    match: async (req) => req.operation === 'DescribeCluster' && req.region === STANDBY && (await env.client.workflow.getHandle(`rebuild-${rb.name}`).query<RunStatus>('status')).currentStep === 'wait-active',
    before: () => createAsApplied(stateFile, STANDBY),
  });
  useCli(env.moto.endpoint, taskQueue);
  const id = `rebuild-${rb.name}`;
  const deps = { aws: createAwsClients(emulatorConfig(interposer.endpoint)), runbooks: testRunbooks, iac: { variant: 'terraform-data' as const, home: () => home, binary: async () => wrapper } };
  await stoppedOnceStarted(taskQueue, file, deps, marker, 'the apply');
  // The worker stopped only after the apply had finished, and its state holds what the plan declared.
  expect(fs.readFileSync(marker, 'utf8')).toBe('start\nend\n');
  expect(appliedInputs(stateFile).has('cluster')).toBe(true);
  const next = createActivities({ ...deps, temporal: () => env.client });
  await env.withWorker(taskQueue, async () => {
    const done = await outcome(id);
    expect(done.phase).toBe('completed');
    const apply = done.steps.find((s) => s.id === 'apply');
    expect(apply?.status).toBe('done');
    // Recorded as the first worker's apply reported it: not "already applied", not re-planned.
    expect(apply?.notes).toEqual([`${done.rebuild?.plan?.add} resources applied`]);
  }, emulatorConfig(interposer.endpoint), { ...iac(), wrap: () => next });
  await provided.released;
  // Applied once: the next worker did not apply again.
  expect(fs.readFileSync(marker, 'utf8')).toBe('start\nend\n');
});

test('given workers that serve only the runs\' queue (--queues core), a rebuild says at its synthesis that no worker polls the IaC lane and waits there (nothing synthesized); cancelled, it ends having changed nothing', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-nolane', rebuildable(['true']));
  useCli(env.moto.endpoint, taskQueue);
  const drover = await createWorker({ address: testTemporalAddress(), taskQueue, deps: { aws: createAwsClients(env.config()), runbooks: testRunbooks, iac: { variant: 'terraform-data', home: () => home } }, workflowBundle: await workflowBundle(), queues: 'core' });
  try {
    await drover.runUntil(async () => {
      expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'lane check', '--detach'], captureIO())).toBe(0);
      const handle = env.client.workflow.getHandle(`rebuild-${rb.name}`);
      const waiting = await eventually(async () => {
        const st = await handle.query<RunStatus>('status');
        return st.currentStep === 'synthesize' && st.steps.find((x) => x.id === 'synthesize')?.notes.length ? st : undefined;
      }, 'the synthesize step waiting for the lane', 120_000);
      expect(waiting.steps.find((x) => x.id === 'synthesize')?.notes).toEqual([`no drover worker polls the IaC lane ${taskQueue}-iac now (none runs, or each is busy with another apply): waiting for one; start one with drover worker --queues iac (or all)`]);
      await handle.cancel();
      const done = await outcome(`rebuild-${rb.name}`);
      expect(done.error?.type).toBe('RunCancelled');
      expect(fs.existsSync(path.join(home, 'iac', rb.name))).toBe(false);
    });
  } finally {
    await drover.close();
  }
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

test('given a cluster the rebuild made, recorded by readiness, then lost: the plan gate compares the code with the record, the rebuilt cluster is verified against it field by field; when the code changed since (another version), the gate names the field and the verification fails naming it, until rebuild.acceptDifferences accepts it', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-rebuild-record', rebuildable(['true']));
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  const stateFile = path.join(home, 'iac-state', rb.name, STANDBY, 'terraform.tfstate');
  const id = `rebuild-${rb.name}`;
  /** Lose the standby cluster, rebuild it (the test plays the provider once the apply is done), and return the run at its plan gate. */
  const rebuildToGate = async (reason: string, previousRunId?: string) => {
    await loseCluster(STANDBY, cluster.name);
    interposer.intercept({
      what: "the wait's first DescribeCluster",
      match: async (req) => req.operation === 'DescribeCluster' && req.region === STANDBY && (await env.client.workflow.getHandle(id).query<RunStatus>('status').catch(() => undefined))?.currentStep === 'wait-active',
      before: () => createAsApplied(stateFile, STANDBY),
    });
    expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', reason, '--detach'], captureIO())).toBe(0);
    return eventually(async () => {
      const s = await env.client.workflow.getHandle(id).query<RunStatus>('status').catch(() => undefined);
      return s?.pendingGate && s.runId !== previousRunId ? s : undefined;
    }, 'the plan gate', 300_000);
  };
  const approve = async () => {
    expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-priya'], captureIO())).toBe(0);
    return outcome(id);
  };
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(
    taskQueue,
    async () => {
      // The team's cluster, made by this code: with no record yet, the gate says so and verification checks health only.
      const first = await rebuildToGate('first build');
      expect(first.pendingGate?.summary).toContain('no record of the cluster to compare with');
      const built = await approve();
      expect(built.phase).toBe('completed');
      expect(built.rebuild?.recorded).toEqual({});

      // Readiness records it (drover check), with what EKS says of it.
      expect([0, 1, 7]).toContain(await exec(['check', file, '--json'], captureIO()));
      // Lost, and rebuilt from the same code: the plan matches the record, and so does the rebuilt cluster.
      const same = await rebuildToGate('control plane lost', built.runId);
      expect(same.pendingGate?.summary).toMatch(/; the code matches the cluster recorded at \S+/);
      const rebuilt = await approve();
      expect(rebuilt.phase).toBe('completed');
      const evaluatedAt = rebuilt.rebuild?.recorded?.evaluatedAt;
      expect(rebuilt.rebuild?.recorded?.workflowId).toMatch(new RegExp(`^readiness-${rb.name}-check-`));
      expect(rebuilt.rebuild?.recorded?.verified?.differences).toEqual([]);
      // The OIDC issuer of a new cluster is new by nature: said, never a difference. Add-ons and access entries moto cannot read.
      expect(rebuilt.steps.find((s) => s.id === 'verify')?.notes).toContain(`matches the cluster recorded at ${evaluatedAt} (${rebuilt.rebuild?.recorded?.workflowId})`);

      // The code changed since the record: the runbook now asks for Kubernetes 1.30.
      writeRunbook({ name: rb.name, unique: true, probeBases: { [PRIMARY]: env.apps.apps[PRIMARY].baseUrl, [STANDBY]: env.apps.apps[STANDBY].baseUrl }, set: [...rebuildable(['true']), [['compute', 'clusters', 1, 'version'], '1.30']] });
      const changed = await rebuildToGate('rebuild on 1.30', rebuilt.runId);
      expect(changed.pendingGate?.summary).toContain(`the code differs from the cluster recorded at ${evaluatedAt}: version: recorded 1.31, now 1.30 (verification will fail on these unless rebuild.acceptDifferences names them)`);
      const refused = await approve();
      expect(refused.phase).toBe('failed');
      expect(refused.error?.type).toBe('VerificationFailed');
      expect(refused.error?.message).toContain(`differs from the cluster recorded at ${evaluatedAt}: version: recorded 1.31, now 1.30 (not in rebuild.acceptDifferences)`);
      expect(refused.rebuild?.recorded?.verified?.differences).toEqual(['version: recorded 1.31, now 1.30']);

      // The team accepts it: the same rebuild verifies, saying what it accepted.
      writeRunbook({ name: rb.name, unique: true, probeBases: { [PRIMARY]: env.apps.apps[PRIMARY].baseUrl, [STANDBY]: env.apps.apps[STANDBY].baseUrl }, set: [...rebuildable(['true']).map(([p, v]): [Array<string | number>, unknown] => (p.join('.') === 'rebuild' ? [p, { ...(v as object), acceptDifferences: ['version'] }] : [p, v])), [['compute', 'clusters', 1, 'version'], '1.30']] });
      const accepted = await rebuildToGate('rebuild on 1.30, accepted', refused.runId);
      // The cluster the refused rebuild made is no baseline: the record before it still is.
      expect(accepted.pendingGate?.summary).toContain(`the code matches the cluster recorded at ${evaluatedAt} (a cluster created since `);
      expect(accepted.pendingGate?.summary).toContain('when a rebuild that did not verify began, is no record of what was there); accepted: version: recorded 1.31, now 1.30');
      const done = await approve();
      expect(done.phase).toBe('completed');
      expect(done.steps.find((s) => s.id === 'verify')?.notes).toContain(`matches the cluster recorded at ${evaluatedAt} (${done.rebuild?.recorded?.workflowId}), but for the accepted version: recorded 1.31, now 1.30`);
      if (process.env.DROVER_RECORD_HISTORIES) await recordHistory(env.client.workflow.getHandle(id, done.runId), 'rebuild-cluster-record.json');
    },
    emulatorConfig(interposer.endpoint),
    iac(),
  );
});
