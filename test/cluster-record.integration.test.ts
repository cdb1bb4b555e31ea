/**
 * Cluster records (activities/cluster-record.ts) on moto behind the fidelity rules and the real Temporal dev server:
 * a seeded cluster's record read directly (node groups with their scaling, labels and taints; the parts this moto does
 * not implement named unreadable, never pretended empty), a readiness evaluation (`drover check`) carrying the
 * records of the runbook's clusters, and lastClusterRecord finding the newest of them in visibility.
 */
import { EKS } from '@aws-sdk/client-eks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { readClusterRecord } from '../activities/cluster-record';
import { createActivities } from '../activities';
import { createAwsClients } from '../aws/clients';
import { exec } from '../cli/main';
import { compareClusterRecords, unreadablePart, type ClusterRecord } from '../contracts/cluster-record';
import type { ReadinessRun } from '../contracts/readiness';
import { captureIO, eventually, testRunbooks } from './harness/fixtures';
import { useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

beforeAll(async () => {
  await env.start();
}, 120_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

test('a seeded cluster is recorded as EKS describes it; a node group added by hand carries its labels and taints; a cluster that does not exist is absent', async () => {
  const { runbook: rb } = await env.seeded('record-read');
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  const eks = new EKS({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS });
  await eks.createNodegroup({
    clusterName: cluster.name,
    nodegroupName: 'gpu',
    nodeRole: 'arn:aws:iam::123456789012:role/nodes',
    subnets: [`subnet-${STANDBY}-a`],
    scalingConfig: { minSize: 0, maxSize: 2, desiredSize: 0 },
    instanceTypes: ['g5.xlarge'],
    labels: { accelerator: 'nvidia' },
    taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }],
    capacityType: 'SPOT',
  });
  const clients = createAwsClients(env.config());

  const record = await readClusterRecord(clients.eks, STANDBY, cluster.name, cluster.nodeGroups.map((g) => g.name));
  expect(record).toMatchObject({ region: STANDBY, name: cluster.name, present: true });
  expect(record.version).toEqual(expect.any(String));
  for (const g of cluster.nodeGroups) expect(record.nodeGroups?.[g.name]?.scaling).toEqual({ min: expect.any(Number), max: expect.any(Number), desired: expect.any(Number) });
  // Listed by ListNodegroups, though the runbook does not name it.
  expect(record.nodeGroups?.gpu).toMatchObject({ scaling: { min: 0, max: 2, desired: 0 }, instanceTypes: ['g5.xlarge'], labels: { accelerator: 'nvidia' }, taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE' }], capacityType: 'SPOT' });
  // moto (5.2) implements neither add-ons nor access entries: those parts are unreadable, with what it answered, not empty.
  expect(record.addons).toBeUndefined();
  expect(record.accessEntries).toBeUndefined();
  expect((record.unreadable ?? []).map((u) => unreadablePart(u).part)).toEqual(['accessEntries', 'addons']);
  // It answers a bare 404 the SDK cannot parse.
  for (const u of record.unreadable ?? []) expect(unreadablePart(u).code).toMatch(/\(HTTP 404\)$/);
  // No secret in the record: no certificate authority data, no endpoint.
  expect(JSON.stringify(record)).not.toMatch(/certificateAuthority|"data"|eks\.amazonaws\.com"/);

  // Read again, nothing differs; a node group's max changed is one difference at its path.
  expect(compareClusterRecords(record, await readClusterRecord(clients.eks, STANDBY, cluster.name), []).differences).toEqual([]);
  await eks.updateNodegroupConfig({ clusterName: cluster.name, nodegroupName: 'gpu', scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 0 } });
  const after = await eventually(async () => {
    const r = await readClusterRecord(clients.eks, STANDBY, cluster.name);
    return r.nodeGroups?.gpu?.scaling?.max === 3 && r;
  }, 'the new max read back');
  expect(compareClusterRecords(record, after, []).differences).toEqual([{ field: 'nodeGroups.gpu.scaling.max', recorded: 2, actual: 3 }]);

  // moto drops the access configuration; the eks-access-config rule answers it as EKS does (CONFIG_MAP by default through the API).
  expect(record.accessConfig).toEqual({ authenticationMode: 'CONFIG_MAP' });
  await eks.createCluster({ name: `${cluster.name}-api`, roleArn: 'arn:aws:iam::123456789012:role/cluster', resourcesVpcConfig: { subnetIds: [`subnet-${STANDBY}-a`] }, accessConfig: { authenticationMode: 'API' } });
  const api = await readClusterRecord(clients.eks, STANDBY, `${cluster.name}-api`);
  expect(api.accessConfig).toEqual({ authenticationMode: 'API' });
  expect(compareClusterRecords(record, { ...api, name: record.name }, ['nodeGroups.*', 'version', 'endpoint.*', 'logging', 'encryption.*']).differences).toEqual([{ field: 'accessConfig.authenticationMode', recorded: 'CONFIG_MAP', actual: 'API' }]);

  expect(await readClusterRecord(clients.eks, STANDBY, 'no-such-cluster')).toEqual({ recordedAt: expect.any(String), region: STANDBY, name: 'no-such-cluster', present: false });
});

test('a readiness evaluation records each of the runbook\'s clusters, both regions; lastClusterRecord finds the newest record with its evaluation', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('record-check');
  useCli(env.moto.endpoint, taskQueue);
  const activities = createActivities({ aws: createAwsClients(env.config()), temporal: () => env.client, runbooks: testRunbooks });
  const last = (region: string, cluster: string): ReturnType<typeof activities.lastClusterRecord> => new MockActivityEnvironment({ taskQueue }).run(activities.lastClusterRecord, { runbook: rb.name, region, cluster });

  // Before any evaluation there is none.
  const [primaryCluster] = rb.compute.clusters.filter((c) => c.region === PRIMARY);
  expect(await last(PRIMARY, primaryCluster.name)).toBeUndefined();

  const run = await env.withWorker(taskQueue, async () => {
    const io = captureIO();
    await exec(['check', file, '--json'], io);
    return JSON.parse(io.stdout.join('\n')) as ReadinessRun;
  });
  const records = run.clusters ?? [];
  expect(records.map((c) => `${c.region}/${c.name}/${c.present}`).sort()).toEqual(rb.compute.clusters.map((c) => `${c.region}/${c.name}/true`).sort());
  for (const c of rb.compute.clusters) {
    const r = records.find((x) => x.name === c.name) as ClusterRecord;
    expect(Object.keys(r.nodeGroups ?? {}).sort()).toEqual(c.nodeGroups.map((g) => g.name).sort());
  }

  // Visibility lists a closed workflow a moment after it closes.
  const found = await eventually(() => last(PRIMARY, primaryCluster.name), 'the evaluation listed in visibility');
  expect(found.record).toEqual(records.find((c) => c.region === PRIMARY && c.name === primaryCluster.name));
  expect(found.workflowId).toMatch(new RegExp(`^readiness-${rb.name}-check-`));
  expect(found.evaluatedAt).toBe(run.evaluatedAt);
  // A cluster no evaluation recorded present: none.
  expect(await last(PRIMARY, 'no-such-cluster')).toBeUndefined();
});
