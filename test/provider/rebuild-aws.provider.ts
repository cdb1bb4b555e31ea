/**
 * Opt-in (`npm run test:aws-provider`): `drover rebuild` applies the real EKS stack to moto with the
 * Terraform AWS provider built from Go modules and OpenTofu. The standby cluster is deleted from the
 * emulator first (the "corrupted cluster" scenario); the rebuild really creates the IAM roles, the
 * cluster's OIDC provider, the cluster, its launch templates and node groups, with the runbook's values and drover's tags.
 * Not run since the stack gained its access configuration: moto 5.2 neither stores nor returns a cluster's
 * accessConfig, so the second plan may show authentication_mode as a change (docs/rebuild-cluster.md, "The stack").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EKS } from '@aws-sdk/client-eks';
import { IAM } from '@aws-sdk/client-iam';
import { exec } from '../../cli/main';
import { AWS_PROVIDER_PIN, ensureAwsProvider, writeTofuCliConfig } from '../../infra/local/provider';
import { ensureTofu } from '../../tools/tofu';
import type { RunStatus } from '../../contracts/run';
import { runOutcome, useCli } from '../harness/drills';
import { IntegrationEnv, STANDBY } from '../harness/env';
import { captureIO, eventually } from '../harness/fixtures';

const env = new IntegrationEnv({ MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' });
const saved = { ...process.env };
let home: string;
let cliConfig: string;

beforeAll(async () => {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  await ensureTofu({ log });
  const mirror = await ensureAwsProvider({ log }); // the first run builds it: 25-45 min
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-rebuild-aws-'));
  cliConfig = path.join(home, 'tofu.rc');
  writeTofuCliConfig(cliConfig, mirror);
  await env.start();
}, 100 * 60_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

const outcome = (workflowId: string) => runOutcome<RunStatus>(env.client, workflowId);

async function approvePlan(id: string, notRun?: string): Promise<RunStatus> {
  const pending = await eventually(async () => {
    const handle = env.client.workflow.getHandle(id);
    const d = await handle.describe();
    if (d.runId !== notRun && d.status.name !== 'RUNNING') throw new Error(`the rebuild ended (${d.status.name}) before its plan gate: ${(await outcome(id)).error?.message}`);
    const s = await handle.query<RunStatus>('status').catch(() => undefined);
    return s?.pendingGate && s.runId !== notRun ? s : undefined;
  }, 'the plan gate', 600_000);
  expect(await exec(['approve', id, '--gate', 'rebuild-plan', '--as', 'ic-priya', '--comment', 'plan reviewed'], captureIO())).toBe(0);
  return pending;
}

test('given a lost standby cluster, the rebuild creates the IAM roles, the cluster and its node groups in the emulator with the runbook values and drover tags; a second rebuild plans no change', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-aws', [
    [['compute', 'clusters', 1, 'addons'], []], // moto does not emulate EKS add-ons
    [['approvals', 'gates'], ['failover', 'failback', 'rebuild-plan']],
    [['rebuild'], { backend: { type: 'local' }, allowDestroy: [], timeout: '20m', redeploy: { command: ['sh', '-c', 'grep -q "server: https" "$KUBECONFIG" && echo redeployed'], timeout: '1m' } }],
  ]);
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  const eks = new EKS({ region: STANDBY, endpoint: env.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  // The corrupted cluster is gone.
  for (const g of cluster.nodeGroups) await eks.deleteNodegroup({ clusterName: cluster.name, nodegroupName: g.name });
  await eks.deleteCluster({ name: cluster.name });

  useCli(env.moto.endpoint, taskQueue);
  const iac = {
    variant: 'aws' as const,
    home: () => home,
    awsProviderVersion: AWS_PROVIDER_PIN.version,
    env: { TF_CLI_CONFIG_FILE: cliConfig, AWS_ENDPOINT_URL: env.moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' },
  };
  await env.withWorker(
    taskQueue,
    async () => {
      const id = `rebuild-${rb.name}`;
      expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 'control plane corrupted', '--detach'], captureIO())).toBe(0);
      const pending = await approvePlan(id);
      const plan = pending.rebuild?.plan;
      expect(plan?.changes.map((c) => c.address).sort()).toEqual(
        [
          'aws_eks_cluster.cluster',
          ...cluster.nodeGroups.map((g) => `aws_eks_node_group.node_group_${g.name}`),
          // Always part of the stack: the cluster's OIDC provider and a launch template per node group. The runbook
          // names no access entries (moto has no EKS access-entry API) and is not production (no add-on roles).
          'aws_iam_openid_connect_provider.oidc_provider',
          ...cluster.nodeGroups.map((g) => `aws_launch_template.launch_template_${g.name}`),
          'aws_iam_role.cluster_role',
          'aws_iam_role.node_role',
          'aws_iam_role_policy_attachment.cluster_role_AmazonEKSClusterPolicy',
          'aws_iam_role_policy_attachment.node_role_AmazonEC2ContainerRegistryReadOnly',
          'aws_iam_role_policy_attachment.node_role_AmazonEKSWorkerNodePolicy',
          'aws_iam_role_policy_attachment.node_role_AmazonEKS_CNI_Policy',
        ].sort(),
      );
      expect(plan?.destroy).toBe(0);
      const done = await outcome(id);
      expect(done.error).toBeUndefined();
      expect(done.phase).toBe('completed');
      expect(done.rebuild?.redeploy?.outputTail).toEqual(['redeployed']);

      // Really there, as the runbook says.
      const c = (await eks.describeCluster({ name: cluster.name })).cluster;
      expect(c?.status).toBe('ACTIVE');
      expect(c?.version).toBe(cluster.version);
      expect([...(c?.resourcesVpcConfig?.subnetIds ?? [])].sort()).toEqual([...(cluster.network?.subnetIds ?? [])].sort()); // a set in the provider
      expect(c?.tags).toEqual(expect.objectContaining({ 'drover:managed-by': 'drover', 'drover:runbook': rb.name, 'drover:region': STANDBY, 'drover:cluster': cluster.name }));
      for (const g of cluster.nodeGroups) {
        const ng = (await eks.describeNodegroup({ clusterName: cluster.name, nodegroupName: g.name })).nodegroup;
        expect(ng?.scalingConfig).toEqual({ desiredSize: g.active, minSize: g.standby, maxSize: g.max ?? g.active });
        expect(ng?.instanceTypes).toEqual(g.instanceTypes);
      }
      const iam = new IAM({ region: 'us-east-1', endpoint: env.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      const roleName = c?.roleArn?.split('/').pop() ?? '';
      const attached = (await iam.listAttachedRolePolicies({ RoleName: roleName })).AttachedPolicies?.map((p) => p.PolicyName);
      expect(attached).toEqual(['AmazonEKSClusterPolicy']);

      // Idempotent: planned again, nothing to change.
      expect(await exec(['rebuild', file, '--region', STANDBY, '--reason', 're-plan', '--detach'], captureIO())).toBe(0);
      const again = await approvePlan(id, done.runId);
      expect(again.rebuild?.plan?.noChanges).toBe(true);
      expect((await outcome(id)).phase).toBe('completed');
    },
    env.config(),
    { iac },
  );
});
