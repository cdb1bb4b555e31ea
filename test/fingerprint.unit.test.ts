/**
 * The topology fingerprint's comparison, a DB configuration's field-by-field difference, what a re-created replica's
 * request carries, and the report's round-trip check.
 */
import type { DBInstance } from '@aws-sdk/client-rds';
import { afterCreation, creation } from '../activities/dblifecycle';
import { configDifferences, type DbConfig } from '../contracts/dbconfig';
import { compareFingerprints, fingerprintComparison, type Fingerprint } from '../contracts/fingerprint';

const CONFIG: DbConfig = {
  instanceClass: 'db.r6g.large',
  subnetGroup: 'app-db',
  vpcId: 'vpc-1',
  securityGroupIds: ['sg-2', 'sg-1'],
  securityGroupNames: ['app', 'ops'],
  parameterGroup: 'app-mysql8',
  storageEncrypted: true,
  kmsKeyId: 'arn:aws:kms:ap-south-1:123456789012:key/k1',
  storageType: 'gp3',
  allocatedStorage: 200,
  storageThroughput: 500,
  multiAz: true,
  backupRetention: 7,
  backupWindow: '03:00-03:30',
  deletionProtection: true,
  tags: { team: 'payments' },
};

const fingerprint = (change: Partial<Fingerprint> = {}): Fingerprint => ({
  takenAt: '2026-12-05T00:00:00.000Z',
  records: [{ name: 'api.example.com', type: 'A', setIdentifier: 'mumbai', weight: 100, ttl: 60, values: ['1.2.3.4'] }],
  databases: [{ region: 'ap-south-1', identifier: 'db', role: 'writer', config: CONFIG }],
  nodeGroups: [{ region: 'ap-south-1', cluster: 'c', name: 'general', min: 3, desired: 4, max: 8 }],
  alarms: [{ region: 'ap-south-1', name: 'api-5xx', exists: true, definition: 'AWS/ApplicationELB/5xx' }],
  unread: [],
  ...change,
});

describe('configDifferences', () => {
  test('equal configurations differ in nothing, whatever the order of their groups', () => {
    expect(configDifferences(CONFIG, { ...CONFIG, securityGroupIds: ['sg-1', 'sg-2'] })).toEqual([]);
  });

  test('each field and tag that differs is named with both values', () => {
    expect(configDifferences(CONFIG, { ...CONFIG, backupRetention: 1, subnetGroup: undefined, securityGroupIds: ['sg-9'], tags: { team: 'payments', extra: 'x' } })).toEqual([
      'backupRetention: 7 -> 1',
      'securityGroupIds: sg-1, sg-2 -> sg-9',
      'subnetGroup: app-db -> unset',
      'tags.extra: unset -> x',
    ]);
  });
});

describe('compareFingerprints', () => {
  test('the same topology compares equal, and is restored exactly', () => {
    expect(compareFingerprints(fingerprint(), fingerprint({ takenAt: 'later' }))).toEqual([]);
    expect(fingerprintComparison({ workflowId: 'failover-x', fingerprint: fingerprint() }, fingerprint())).toEqual({ baseline: 'failover-x', baselineTakenAt: '2026-12-05T00:00:00.000Z', differences: [], restoredExactly: true });
  });

  test('a weight, a floor, a role, a configuration field and a missing alarm are each named', () => {
    const after = fingerprint({
      records: [{ name: 'api.example.com', type: 'A', setIdentifier: 'mumbai', weight: 0, ttl: 60, values: ['1.2.3.4'] }],
      databases: [{ region: 'ap-south-1', identifier: 'db', role: 'replica', source: 'arn:db', config: { ...CONFIG, multiAz: false } }],
      nodeGroups: [{ region: 'ap-south-1', cluster: 'c', name: 'general', min: 4, desired: 4, max: 8 }],
      alarms: [],
    });
    expect(compareFingerprints(fingerprint(), after)).toEqual([
      'record api.example.com A mumbai: weight 100 -> 0',
      'database db (ap-south-1): role writer -> replica',
      'database db (ap-south-1): source unset -> arn:db',
      'database db (ap-south-1): multiAz: true -> false',
      'node group ap-south-1/c/general: min 3 -> 4',
      'alarm api-5xx (ap-south-1): gone',
    ]);
  });

  test('a part not read is a difference, never taken for equal', () => {
    expect(compareFingerprints(fingerprint(), fingerprint({ unread: ['node group ap-south-1/c/general: timeout'] }))).toEqual(['not read now: node group ap-south-1/c/general: timeout']);
  });

  test('without a baseline there is no comparison, and it says why', () => {
    const none = fingerprintComparison(undefined, fingerprint());
    expect(none.restoredExactly).toBe(false);
    expect(none.missing).toMatch(/the newest failover of this runbook did not complete or took no fingerprint/);
  });
});

describe("a re-created replica's request", () => {
  test('across regions it carries the placement, key, storage and protection; a parameter group only for MySQL', () => {
    expect(creation(CONFIG, { crossRegion: true, engine: 'mysql' })).toEqual({
      DBInstanceClass: 'db.r6g.large',
      DBSubnetGroupName: 'app-db',
      VpcSecurityGroupIds: ['sg-2', 'sg-1'],
      DBParameterGroupName: 'app-mysql8',
      KmsKeyId: CONFIG.kmsKeyId,
      StorageType: 'gp3',
      AllocatedStorage: 200,
      MultiAZ: true,
      DeletionProtection: true,
    });
    expect(creation(CONFIG, { crossRegion: true, engine: 'postgres' }).DBParameterGroupName).toBeUndefined();
    // gp3's IOPS and throughput are the team's to give from 400 GiB; below, RDS refuses them (its baseline is reported).
    expect(creation({ ...CONFIG, iops: 3000 }, { crossRegion: true }).Iops).toBeUndefined();
    expect(creation({ ...CONFIG, allocatedStorage: 500, iops: 12000 }, { crossRegion: true })).toMatchObject({ Iops: 12000, StorageThroughput: 500 });
    // In the source's region RDS refuses a subnet group (DBSubnetGroupNotAllowedFault).
    expect(creation(CONFIG, { crossRegion: false, engine: 'mysql' }).DBSubnetGroupName).toBeUndefined();
  });

  test('after its creation, only what differs is modified: backups (disabled on a new replica), the parameter group', () => {
    const made: DBInstance = { BackupRetentionPeriod: 0, PreferredBackupWindow: '03:00-03:30', VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-1' }, { VpcSecurityGroupId: 'sg-2' }], DBParameterGroups: [{ DBParameterGroupName: 'default.postgres16' }], DeletionProtection: true };
    expect(afterCreation(made, CONFIG)).toEqual({ BackupRetentionPeriod: 7, DBParameterGroupName: 'app-mysql8' });
    expect(afterCreation({ ...made, BackupRetentionPeriod: 7, DBParameterGroups: [{ DBParameterGroupName: 'app-mysql8' }] }, CONFIG)).toEqual({});
  });
});
