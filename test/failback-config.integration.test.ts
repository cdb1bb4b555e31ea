/**
 * Failback leaves the pair exactly as the team had it, on the real Temporal dev server and moto behind the fidelity
 * rules (which answer as RDS does: a cross-region replica gets no subnet group, groups or parameter group of its
 * source's region, and an encrypted one needs a key of its own): a production-like MySQL pair, encrypted with a key
 * per region, in its own subnet groups and security groups, with parameter and option groups, Multi-AZ, backups,
 * monitoring, protection and tags, goes through a failover and a failback and comes back field for field.
 */
import { EC2 } from '@aws-sdk/client-ec2';
import { EKS } from '@aws-sdk/client-eks';
import { KMS } from '@aws-sdk/client-kms';
import { RDS } from '@aws-sdk/client-rds';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { createAwsClients } from '../aws/clients';
import { createDbConfigActivities } from '../activities/dbconfig';
import { configDifferences, type CapturedDb } from '../contracts/dbconfig';
import type { RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import type { FailbackResult } from '../workflows/failback';
import type { FailoverResult } from '../workflows/regionFailover';
import { emulatorConfig, eventually, onlyDatabase, refOf } from './harness/fixtures';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { startInterposer, type Interposer } from './harness/interpose';
import { recordHistory } from './harness/timeskipping';

const env = new IntegrationEnv();
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
let interposer: Interposer;

beforeAll(async () => {
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
});
afterAll(async () => {
  await interposer?.stop();
  await env.stop();
});

const NO_GATES: [Array<string | number>, unknown] = [['approvals', 'gates'], []];
const MYSQL: [Array<string | number>, unknown] = [['database', 'engine'], 'mysql'];

const clients = (region: string) => ({ rds: new RDS({ region, endpoint: env.moto.endpoint, credentials: CREDS }), ec2: new EC2({ region, endpoint: env.moto.endpoint, credentials: CREDS }), kms: new KMS({ region, endpoint: env.moto.endpoint, credentials: CREDS }) });

/** What one region holds for the team's database: a key under the team's alias, a VPC with a subnet group, groups. */
interface RegionSetup {
  keyArn: string;
  subnetGroup: string;
  appGroupId: string;
  vpcId: string;
}

async function regionSetup(rb: Runbook, region: string, n: number): Promise<RegionSetup> {
  const { rds, ec2, kms } = clients(region);
  const db = onlyDatabase(rb);
  const key = (await kms.createKey({ Description: `${rb.name} database key` })).KeyMetadata;
  await kms.createAlias({ AliasName: `alias/${rb.name}-db`, TargetKeyId: key?.KeyId });
  const vpcId = (await ec2.createVpc({ CidrBlock: `10.${40 + n}.0.0/16` })).Vpc?.VpcId ?? '';
  const subnets = await Promise.all(['a', 'b'].map(async (az, i) => (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: `10.${40 + n}.${i}.0/24`, AvailabilityZone: `${region}${az}` })).Subnet?.SubnetId ?? ''));
  const subnetGroup = `${rb.name}-db-subnets`;
  await rds.createDBSubnetGroup({ DBSubnetGroupName: subnetGroup, DBSubnetGroupDescription: 'the team database subnets', SubnetIds: subnets });
  const appGroupId = (await ec2.createSecurityGroup({ GroupName: `${rb.name}-db-app`, Description: 'the application to its database', VpcId: vpcId })).GroupId ?? '';
  // drover's fence group, in the database's VPC (the fence looks it up there).
  await ec2.createSecurityGroup({ GroupName: db.fence.groupName ?? 'fence', Description: 'admits no clients', VpcId: vpcId });
  await rds.createDBParameterGroup({ DBParameterGroupName: `${rb.name}-mysql8`, DBParameterGroupFamily: 'mysql8.0', Description: 'the team parameters' });
  await rds.createOptionGroup({ OptionGroupName: `${rb.name}-mysql8-options`, EngineName: 'mysql', MajorEngineVersion: '8.0', OptionGroupDescription: 'the team options' });
  return { keyArn: key?.Arn ?? '', subnetGroup, appGroupId, vpcId };
}

const TEAM = {
  StorageType: 'gp3',
  AllocatedStorage: 200,
  MultiAZ: true,
  DeletionProtection: true,
  CopyTagsToSnapshot: true,
  EnableIAMDatabaseAuthentication: true,
  MonitoringInterval: 60,
  MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
  Tags: [
    { Key: 'team', Value: 'payments' },
    { Key: 'cost-center', Value: '42' },
  ],
};
const BACKUPS = { BackupRetentionPeriod: 7, PreferredBackupWindow: '03:00-03:30', PreferredMaintenanceWindow: 'sun:05:00-sun:05:30' };

/** An instance's settings in one region: its key, subnet group, group, parameter and option groups, and the team's. */
const placedIn = (rb: Runbook, r: RegionSetup) => ({
  KmsKeyId: r.keyArn,
  DBSubnetGroupName: r.subnetGroup,
  VpcSecurityGroupIds: [r.appGroupId],
  DBParameterGroupName: `${rb.name}-mysql8`,
  OptionGroupName: `${rb.name}-mysql8-options`,
  ...TEAM,
});

/** The runbook's pair made again as a production team has it (the seeded plain pair deleted first). */
async function productionPair(rb: Runbook): Promise<void> {
  const db = onlyDatabase(rb);
  const [p, s] = [await regionSetup(rb, PRIMARY, 1), await regionSetup(rb, STANDBY, 2)];
  const [primary, standby] = [clients(PRIMARY).rds, clients(STANDBY).rds];
  // (moto answers 500 to deleting a cross-region replica never promoted: promoted first.)
  await standby.promoteReadReplica({ DBInstanceIdentifier: db.replica.identifier });
  // Deleted once it is available again (the fidelity rules pass it through modifying and rebooting).
  const busy = (e: unknown) => (/InvalidDBInstanceState/.test((e as Error).name) ? false : Promise.reject(e));
  await eventually(() => standby.deleteDBInstance({ DBInstanceIdentifier: db.replica.identifier, SkipFinalSnapshot: true }).then(() => true, busy), 'the seeded replica deleted');
  await primary.deleteDBInstance({ DBInstanceIdentifier: db.primary.identifier, SkipFinalSnapshot: true });
  const made = await primary.createDBInstance({
    DBInstanceIdentifier: db.primary.identifier,
    Engine: 'mysql',
    EngineVersion: '8.0.39',
    DBInstanceClass: db.instanceClass,
    MasterUsername: 'drover',
    ManageMasterUserPassword: true,
    StorageEncrypted: true,
    ...placedIn(rb, p),
    ...BACKUPS,
  });
  await standby.createDBInstanceReadReplica({
    DBInstanceIdentifier: db.replica.identifier,
    SourceDBInstanceIdentifier: made.DBInstance?.DBInstanceArn,
    DBInstanceClass: db.instanceClass,
    ...placedIn(rb, s),
  });
  // Backups on the replica, as a team does for a DR replica (RDS creates replicas with backups disabled).
  await standby.modifyDBInstance({ DBInstanceIdentifier: db.replica.identifier, ApplyImmediately: true, ...BACKUPS });
}

/** Both instances' configurations, read as drover reads them. */
async function pairConfig(rb: Runbook): Promise<{ primary: CapturedDb; replica: CapturedDb }> {
  const aws = createAwsClients(emulatorConfig(env.moto.endpoint));
  const read = createDbConfigActivities(aws.rds, aws.ec2, aws.kms);
  const db = onlyDatabase(rb);
  const [primary, replica] = await Promise.all([read.describeDbConfig({ region: PRIMARY, identifier: db.primary.identifier }), read.describeDbConfig({ region: STANDBY, identifier: db.replica.identifier })]);
  if (!primary.exists || !replica.exists) throw new Error('test fixture: the pair is not there');
  return { primary, replica };
}

async function run(rb: Runbook, taskQueue: string, type: 'regionFailover' | 'failback'): Promise<FailbackResult> {
  const args = type === 'regionFailover' ? { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'config round trip', requestedBy: 'ic-test', options: { timeScale: 0.005 } } : { runbookRef: refOf(rb), reason: 'config round trip', requestedBy: 'ic-test', options: { timeScale: 0.005 } };
  // drover's own ids (failover-<runbook>, failback-<runbook>): a failback's baseline is the failover under its id.
  return (await env.client.workflow.execute(type, { taskQueue, workflowId: `${type === 'regionFailover' ? 'failover' : 'failback'}-${rb.name}`, args: [args] })) as FailbackResult;
}

/** The CreateDBInstanceReadReplica requests the worker sent, as the proxy saw them (form fields). */
function replicaRequests(since: number): Array<{ region: string; fields: URLSearchParams }> {
  return interposer
    .log()
    .slice(since)
    .filter((r) => r.service === 'rds' && r.operation === 'CreateDBInstanceReadReplica')
    .map((r) => ({ region: r.region, fields: new URLSearchParams(r.body) }));
}

test('given a production-like encrypted MySQL pair, a failover then a failback re-create each replica with its own region\'s key, subnet group, groups and every setting, and the pair comes back field for field', async () => {
  const { runbook: rb, taskQueue } = await env.seeded('ak-cfg', [NO_GATES, MYSQL]);
  await productionPair(rb);
  // Node groups as an autoscaler leaves them: floors below the sizes, ceilings above.
  for (const c of rb.compute.clusters) {
    const eks = new EKS({ region: c.region, endpoint: env.moto.endpoint, credentials: CREDS });
    for (const g of c.nodeGroups) {
      const desired = c.region === PRIMARY ? g.active : g.standby;
      await eks.updateNodegroupConfig({ clusterName: c.name, nodegroupName: g.name, scalingConfig: { minSize: Math.max(0, desired - 1), desiredSize: desired, maxSize: Math.max(g.max ?? 0, g.active) + 2 } });
    }
  }
  const before = await pairConfig(rb);
  expect(before.primary.config).toMatchObject({ storageEncrypted: true, multiAz: true, backupRetention: 7, deletionProtection: true, parameterGroup: `${rb.name}-mysql8`, subnetGroup: `${rb.name}-db-subnets` });
  expect(before.replica.config).toMatchObject({ storageEncrypted: true, backupRetention: 7, parameterGroup: `${rb.name}-mysql8`, subnetGroup: `${rb.name}-db-subnets` });
  const mark = interposer.log().length;

  await env.withWorker(
    taskQueue,
    async () => {
      const failover = (await run(rb, taskQueue, 'regionFailover')) as FailoverResult;
      expect(failover.phase).toBe('completed');
      // The baseline: what the failover found before its first change, the team's floors and settings included.
      expect(failover.fingerprint?.unread).toEqual([]);
      expect(failover.fingerprint?.nodeGroups.filter((g) => g.min !== undefined && g.min < (g.desired ?? 0)).length).toBe(rb.compute.clusters.flatMap((c) => c.nodeGroups).length);
      expect(failover.fingerprint?.databases.map((d) => [d.identifier, d.role, d.config?.kmsKeyId])).toEqual([
        [onlyDatabase(rb).primary.identifier, 'writer', before.primary.config.kmsKeyId],
        [onlyDatabase(rb).replica.identifier, 'replica', before.replica.config.kmsKeyId],
      ]);
      const back = await run(rb, taskQueue, 'failback');
      expect(back.phase).toBe('completed');
      // The round trip, compared field by field with that baseline: restored exactly, and the report's check says so.
      expect(back.topology.roundTrip).toEqual({ baseline: `failover-${rb.name}`, baselineTakenAt: failover.fingerprint?.takenAt, differences: [], restoredExactly: true });
      // `DROVER_RECORD_HISTORIES=<dir> npx jest test/failback-config.integration.test.ts -t production-like` records both for the replay tests.
      await recordHistory(env.client.workflow.getHandle(`failover-${rb.name}`), 'failover-fingerprint.json');
      await recordHistory(env.client.workflow.getHandle(`failback-${rb.name}`), 'failback-replica-config.json');
      expect(back.steps.find((s) => s.id === 'topology')?.notes).toContain(`restored exactly: equal, field by field, to the fingerprint failover-${rb.name} took at ${failover.fingerprint?.takenAt} before its first change`);
      const assess = back.steps.find((s) => s.id === 'assess')?.notes ?? [];
      expect(assess).toContain(`a replica in ${PRIMARY} is made as ${onlyDatabase(rb).primary.identifier} is: subnet group ${rb.name}-db-subnets, security groups ${rb.name}-db-app, parameter group ${rb.name}-mysql8, option group ${rb.name}-mysql8-options, encrypted with ${before.primary.config.kmsKeyId}, Multi-AZ, backups 7 d, deletion protection, 2 team tags`);
    },
    emulatorConfig(interposer.endpoint),
  );

  const after = await pairConfig(rb);
  expect(configDifferences(before.primary.config, after.primary.config)).toEqual([]);
  expect(configDifferences(before.replica.config, after.replica.config)).toEqual([]);

  // What drover asked RDS for: each replica with the values of its own region.
  const asked = replicaRequests(mark);
  expect(asked.map((r) => r.region)).toEqual([PRIMARY, STANDBY]);
  const inRegion = (region: string) => asked.find((r) => r.region === region)?.fields;
  for (const [region, config] of [[PRIMARY, before.primary.config], [STANDBY, before.replica.config]] as const) {
    const fields = inRegion(region);
    expect(fields?.get('KmsKeyId')).toBe(config.kmsKeyId);
    expect(fields?.get('DBSubnetGroupName')).toBe(config.subnetGroup);
    expect(fields?.get('VpcSecurityGroupIds.VpcSecurityGroupId.1')).toBe(config.securityGroupIds[0]);
    expect(fields?.get('DBParameterGroupName')).toBe(config.parameterGroup);
    expect(fields?.get('OptionGroupName')).toBe(config.optionGroup);
    expect(fields?.get('MultiAZ')).toBe('true');
  }
});

test('given a key that cannot be found where a replica would be re-created, a planned failover is refused at its preflight and a failback at its assessment, path-qualified, before any change', async () => {
  // The runbook names a key the original region does not have: the failover's preflight checks the way back.
  const named = await env.seeded('ak-cfg-key', [NO_GATES, MYSQL, [['database', 'primary', 'kmsKeyId'], 'alias/no-such-key']]);
  await productionPair(named.runbook);
  const mark = interposer.log().length;
  await env.withWorker(
    named.taskQueue,
    async () => {
      const failure = await refused(run(named.runbook, named.taskQueue, 'regionFailover'));
      expect(failure.message).toContain(`database.primary.kmsKeyId: ${onlyDatabase(named.runbook).replica.identifier} in ${STANDBY} is encrypted, so a replica in ${PRIMARY} needs a KMS key of ${PRIMARY}: KMS key alias/no-such-key is not found in ${PRIMARY}`);
      expect((failure.details?.[0] as RunStatus).steps.find((s) => s.id === 'preflight')?.status).toBe('failed');
    },
    emulatorConfig(interposer.endpoint),
  );
  expect(writesSince(mark)).toEqual([]);

  // The old primary's own key scheduled for deletion after a failover: the failback cannot re-create its replica there.
  const { runbook: rb, taskQueue } = await env.seeded('ak-cfg-gone', [NO_GATES, MYSQL]);
  await productionPair(rb);
  await env.withWorker(
    taskQueue,
    async () => {
      expect((await run(rb, taskQueue, 'regionFailover')).phase).toBe('completed');
      const { kms } = clients(PRIMARY);
      const key = (await pairConfig(rb)).primary.config.kmsKeyId ?? '';
      // (moto takes the key's id here, not its ARN.)
      await kms.scheduleKeyDeletion({ KeyId: key.split('/').pop(), PendingWindowInDays: 7 });
      const since = interposer.log().length;
      const failure = await refused(run(rb, taskQueue, 'failback'));
      expect(failure.message).toContain(`nothing was changed: database.primary.kmsKeyId: ${onlyDatabase(rb).replica.identifier} in ${STANDBY} is encrypted, so a replica in ${PRIMARY} needs a KMS key of ${PRIMARY}: KMS key ${key} in ${PRIMARY} is PendingDeletion`);
      expect((failure.details?.[0] as RunStatus).steps.find((s) => s.id === 'assess')?.status).toBe('failed');
      expect(writesSince(since)).toEqual([]);
    },
    emulatorConfig(interposer.endpoint),
  );
});

/** A run that fails, and its failure. */
async function refused(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

/** The changes (RDS, EC2, Route 53, EKS) the worker asked for since `mark`: reads only leave none. */
function writesSince(mark: number): string[] {
  return interposer
    .log()
    .slice(mark)
    .filter((r) => ['rds', 'ec2', 'route53', 'eks'].includes(r.service) && !/^(Describe|List|Get)/.test(r.operation))
    .map((w) => `${w.service}:${w.operation}`);
}
