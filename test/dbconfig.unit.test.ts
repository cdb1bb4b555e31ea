/**
 * resolveReplicaConfig's refusals, path-qualified, over clients that answer as AWS does when a name is not found in the
 * replica's region (the resolution itself runs against moto in test/failback-config.integration.test.ts).
 */
import type { Ec2Api, KmsApi, RdsLifecycleApi } from '../aws/clients';
import { createDbConfigActivities } from '../activities/dbconfig';
import type { CapturedDb } from '../contracts/dbconfig';

const notFound = (name: string) => Object.assign(new Error(`${name} not found`), { name });
const ec2 = (() => ({ describeSecurityGroups: async () => ({ SecurityGroups: [] }) })) as unknown as (region: string) => Ec2Api;
const rds = (() => ({ describeDBSubnetGroups: async () => Promise.reject(notFound('DBSubnetGroupNotFoundFault')) })) as unknown as (region: string) => RdsLifecycleApi;
const kms = (() => ({ describeKey: async () => Promise.reject(notFound('NotFoundException')), listAliases: async () => ({ Aliases: [] }) })) as unknown as (region: string) => KmsApi;
const { resolveReplicaConfig } = createDbConfigActivities(rds, ec2, kms);

const writer: CapturedDb = { region: 'ap-southeast-1', identifier: 'pg-singapore', fenced: false, config: { securityGroupIds: ['sg-1'], securityGroupNames: ['app-db'], storageEncrypted: true, kmsKeyId: 'arn:aws:kms:ap-southeast-1:123456789012:key/k', subnetGroup: 'app-subnets', tags: {} } };

test('with the instance it replaces gone, each name of the writer not found in the replica region is refused at its runbook path', async () => {
  const out = await resolveReplicaConfig({ region: 'ap-south-1', identifier: 'pg-mumbai', writer, side: {}, at: 'databases[1].primary' });
  expect(out.problems).toEqual([
    'databases[1].primary.subnetGroup: DB subnet group "app-subnets" (the writer\'s) is not found in ap-south-1; a replica outside it would not be reachable by the application (set databases[1].primary.subnetGroup to the group of ap-south-1)',
    'databases[1].primary.securityGroups: security group "app-db" (not found) in ap-south-1; the replica would get the VPC\'s default group and the application could not reach it (set databases[1].primary.securityGroups to group names of ap-south-1)',
    "databases[1].primary.kmsKeyId: pg-singapore in ap-southeast-1 is encrypted, so a replica in ap-south-1 needs a KMS key of ap-south-1: pg-singapore's key arn:aws:kms:ap-southeast-1:123456789012:key/k has no alias that names a key of ap-south-1 (set databases[1].primary.kmsKeyId to a key of ap-south-1)",
  ]);
});

test("the runbook's securityGroupName not found is named at the database's path, not the side's", async () => {
  const out = await resolveReplicaConfig({ region: 'ap-south-1', identifier: 'pg-mumbai', writer: { ...writer, config: { ...writer.config, storageEncrypted: false, subnetGroup: undefined } }, side: {}, securityGroupName: 'apnakart-db', at: 'databases[1].primary' });
  expect(out.problems).toEqual([expect.stringMatching(/^databases\[1\]\.securityGroupName: security group "apnakart-db" \(not found\) in ap-south-1;/)]);
});
