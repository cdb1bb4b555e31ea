/**
 * A DB instance's configuration: captured before drover replaces the instance, and resolved in the region of the
 * replica that takes its place (issue "failback that leaves the pair exactly as the team had it").
 *
 * RDS does not carry a source's regional settings to a replica in another region: "If you create an encrypted read
 * replica in a different AWS Region, then you must specify a KMS key identifier for the destination AWS Region", "The
 * specified DB subnet group must be in the same Amazon Web Services Region in which the operation is running", the
 * security groups default to "the default EC2 VPC security group for the DB subnet group's VPC", and the parameter
 * group to "the default DBParameterGroup for the specified DB engine for a cross-Region read replica"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html). So every value
 * is given, resolved in the replica's own region.
 */
import type { DBInstance } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import type { Ec2Api, KmsApi, RdsLifecycleApi } from '../aws/clients';
import { aws, awsErrorCode, toFailure } from '../aws/errors';
import { type CapturedDb, type ConfigSource, type DbConfig, isTeamTag, type ReplicaConfig, type SideSettings } from '../contracts/dbconfig';
import { FailureType } from '../contracts/failures';
import { FENCED_TAG } from './rds';

/** The configuration RDS reports for an instance; `groupNames` names its security groups, `fencedFrom` the groups before drover's fence. */
export function configOf(db: DBInstance, tags: Record<string, string>, groupNames: Map<string, string>, fencedFrom?: string[]): DbConfig {
  const ids = fencedFrom ?? (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean);
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
  return defined({
    instanceClass: db.DBInstanceClass,
    subnetGroup: db.DBSubnetGroup?.DBSubnetGroupName,
    vpcId: db.DBSubnetGroup?.VpcId,
    securityGroupIds: [...ids].sort(),
    securityGroupNames: ids.map((id) => groupNames.get(id) ?? id).sort(),
    port: db.Endpoint?.Port ?? db.DbInstancePort,
    networkType: db.NetworkType,
    parameterGroup: db.DBParameterGroups?.[0]?.DBParameterGroupName,
    optionGroup: db.OptionGroupMemberships?.[0]?.OptionGroupName,
    storageEncrypted: db.StorageEncrypted === true,
    kmsKeyId: db.StorageEncrypted ? db.KmsKeyId : undefined,
    storageType: db.StorageType,
    allocatedStorage: db.AllocatedStorage,
    iops: db.Iops,
    storageThroughput: db.StorageThroughput,
    maxAllocatedStorage: db.MaxAllocatedStorage,
    multiAz: db.MultiAZ,
    backupRetention: db.BackupRetentionPeriod,
    backupWindow: db.PreferredBackupWindow,
    maintenanceWindow: db.PreferredMaintenanceWindow,
    monitoringInterval: db.MonitoringInterval,
    monitoringRoleArn: db.MonitoringRoleArn,
    performanceInsights: db.PerformanceInsightsEnabled,
    performanceInsightsKmsKeyId: db.PerformanceInsightsEnabled ? db.PerformanceInsightsKMSKeyId : undefined,
    performanceInsightsRetention: db.PerformanceInsightsEnabled ? db.PerformanceInsightsRetentionPeriod : undefined,
    iamAuth: db.IAMDatabaseAuthenticationEnabled,
    deletionProtection: db.DeletionProtection,
    caCertificate: db.CACertificateIdentifier,
    copyTagsToSnapshot: db.CopyTagsToSnapshot,
    tags: Object.fromEntries(Object.entries(tags).filter(([k]) => isTeamTag(k)).sort(([a], [b]) => a.localeCompare(b))),
  });
}

/** RDS's own defaults, which a replica gets without being told: not carried as if the team had chosen them. */
const isDefaultParameterGroup = (name: string | undefined) => name === undefined || name.startsWith('default.');
const isDefaultOptionGroup = (name: string | undefined) => name === undefined || name.startsWith('default:');
const isDefaultSubnetGroup = (name: string | undefined) => name === undefined || name === 'default';

export interface ResolveInput {
  /** Where the replica is created, and its name. */
  region: string;
  identifier: string;
  /** The instance it replaces, in the same region, as captured before it was changed; absent when it is gone. */
  replaced?: CapturedDb;
  /** Its source, the writer, in the other region: its regional settings are looked up by name in `region`. */
  writer: CapturedDb;
  /** What the runbook sets for this side. */
  side: SideSettings;
  /** The runbook's `securityGroupName`: the application's database group, by name. */
  securityGroupName?: string;
  /** The runbook path of this side (`database.primary`), for messages. */
  at: string;
}

export interface ResolveResult extends ReplicaConfig {
  /** Each setting that could not be resolved, path-qualified: the run is refused before it changes anything. */
  problems: string[];
}

/** Reads and resolves DB instance configurations (captured before a replacement, resolved for a new replica). */
export function createDbConfigActivities(rds: (region: string) => RdsLifecycleApi, ec2: (region: string) => Ec2Api, kms: (region: string) => KmsApi) {
  async function instance(region: string, identifier: string): Promise<DBInstance | undefined> {
    try {
      return (await rds(region).describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0];
    } catch (err) {
      if (/DBInstanceNotFound/.test(awsErrorCode(err) ?? '')) return undefined;
      throw toFailure(err, `rds:DescribeDBInstances(${identifier})`);
    }
  }

  async function groupNames(region: string, ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const out = await aws('ec2:DescribeSecurityGroups', () => ec2(region).describeSecurityGroups({ GroupIds: ids })).catch(() => undefined);
    return new Map((out?.SecurityGroups ?? []).map((g) => [g.GroupId ?? '', g.GroupName ?? '']));
  }

  /** Ids of the groups named `names` in `region` (in `vpcId` when known), and the names found in none or in several. */
  async function groupsByName(region: string, names: string[], vpcId: string | undefined): Promise<{ ids: string[]; missing: string[] }> {
    const ids: string[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const filters = [{ Name: 'group-name', Values: [name] }, ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [])];
      const found = (await aws(`ec2:DescribeSecurityGroups(${name})`, () => ec2(region).describeSecurityGroups({ Filters: filters }))).SecurityGroups ?? [];
      if (found.length === 1 && found[0].GroupId) ids.push(found[0].GroupId);
      else missing.push(found.length === 0 ? `"${name}" (not found)` : `"${name}" (${found.length} groups)`);
    }
    return { ids, missing };
  }

  async function subnetGroupVpc(region: string, name: string): Promise<string | undefined | null> {
    try {
      const out = await rds(region).describeDBSubnetGroups({ DBSubnetGroupName: name });
      return out.DBSubnetGroups?.[0]?.VpcId ?? null;
    } catch (err) {
      if (/DBSubnetGroupNotFound/.test(awsErrorCode(err) ?? '')) return undefined;
      throw toFailure(err, `rds:DescribeDBSubnetGroups(${name})`);
    }
  }

  async function exists(what: string, call: () => Promise<unknown>, notFound: RegExp): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      if (notFound.test(awsErrorCode(err) ?? '')) return false;
      throw toFailure(err, what);
    }
  }

  /** A KMS key of `region` RDS can encrypt with: its ARN, or why not (not found, disabled, pending deletion). */
  async function usableKey(region: string, keyId: string): Promise<{ arn?: string; problem?: string }> {
    try {
      const meta = (await kms(region).describeKey({ KeyId: keyId })).KeyMetadata;
      if (meta?.KeyState && meta.KeyState !== 'Enabled') return { problem: `KMS key ${keyId} in ${region} is ${meta.KeyState}` };
      return { arn: meta?.Arn ?? keyId };
    } catch (err) {
      const code = awsErrorCode(err) ?? '';
      if (/NotFound/.test(code)) return { problem: `KMS key ${keyId} is not found in ${region}` };
      throw toFailure(err, `kms:DescribeKey(${keyId})`);
    }
  }

  /** The team's alias names of a key (AWS-managed `alias/aws/...` ones included: the same alias names RDS's key in every region). */
  async function aliasesOf(region: string, keyArn: string): Promise<string[]> {
    const out = await aws('kms:ListAliases', () => kms(region).listAliases({ KeyId: keyArn })).catch(() => undefined);
    return (out?.Aliases ?? []).map((a) => a.AliasName ?? '').filter(Boolean);
  }

  return {
    /** What an instance is configured with now (the groups before drover's fence when it is fenced); `exists: false` when it is gone. */
    async describeDbConfig(input: { region: string; identifier: string }): Promise<{ exists: false } | ({ exists: true } & CapturedDb)> {
      const db = await instance(input.region, input.identifier);
      if (!db) return { exists: false };
      const out = await aws('rds:ListTagsForResource', () => rds(input.region).listTagsForResource({ ResourceName: db.DBInstanceArn ?? '' }));
      const tags = Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const fencedFrom = FENCED_TAG in tags ? tags[FENCED_TAG].split(/\s+/).filter(Boolean) : undefined;
      const ids = fencedFrom ?? (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean);
      const config = configOf(db, tags, await groupNames(input.region, ids), fencedFrom);
      const source = db.ReadReplicaSourceDBInstanceIdentifier || undefined;
      return { exists: true, region: input.region, identifier: input.identifier, engine: db.Engine, engineVersion: db.EngineVersion, fenced: fencedFrom !== undefined, ...(source ? { source } : {}), config };
    },

    /**
     * The configuration of a replica re-created in `region`: the runbook's settings for that side first, then those
     * of the instance it replaces (same region, as they were before drover changed it), then the writer's, looked up
     * by name in `region` (a subnet group, security groups, parameter and option groups of the same names; a KMS key
     * under the same alias). Region-neutral settings (storage, Multi-AZ, backups, monitoring, protection, tags) come
     * from the replaced instance, else from the writer. What cannot be resolved is a problem, and the caller refuses
     * before any change: an encrypted writer's replica needs a key of its region, and a replica outside the team's
     * subnet group and security groups would be unreachable by the application.
     */
    async resolveReplicaConfig(input: ResolveInput): Promise<ResolveResult> {
      const { region, replaced, writer, side, at } = input;
      const problems: string[] = [];
      const from: ReplicaConfig['from'] = {};
      const base = replaced?.config ?? writer.config;
      const neutral: ConfigSource = replaced ? 'replaced' : 'writer';
      const config: DbConfig = { ...base, securityGroupIds: [], securityGroupNames: [], tags: { ...base.tags } };
      for (const k of ['subnetGroup', 'vpcId', 'parameterGroup', 'optionGroup', 'kmsKeyId', 'performanceInsightsKmsKeyId'] as const) delete config[k];
      for (const k of Object.keys(config) as Array<keyof DbConfig>) if (config[k] !== undefined) from[k] = neutral;

      // Placement: the subnet group (and with it the VPC), then the security groups in that VPC.
      const wantedSubnet = side.subnetGroup ?? replaced?.config.subnetGroup ?? writer.config.subnetGroup;
      const subnetFrom: ConfigSource = side.subnetGroup ? 'runbook' : replaced ? 'replaced' : 'writer';
      if (!isDefaultSubnetGroup(wantedSubnet)) {
        const vpc = await subnetGroupVpc(region, wantedSubnet as string);
        if (vpc === undefined) {
          problems.push(`${at}.subnetGroup: DB subnet group "${wantedSubnet}" (${subnetFrom === 'runbook' ? "the runbook's" : `the ${subnetFrom === 'replaced' ? 'replaced instance' : "writer's"}`}) is not found in ${region}; a replica outside it would not be reachable by the application (set ${at}.subnetGroup to the group of ${region})`);
        } else {
          config.subnetGroup = wantedSubnet;
          if (vpc) config.vpcId = vpc;
          from.subnetGroup = subnetFrom;
        }
      }
      const groupSource: Array<[ConfigSource, string[] | undefined, 'names' | 'ids']> = [
        ['runbook', side.securityGroups, 'names'],
        ['replaced', replaced?.config.securityGroupIds.length ? replaced.config.securityGroupIds : undefined, 'ids'],
        ['runbook', input.securityGroupName ? [input.securityGroupName] : undefined, 'names'],
        ['writer', writer.config.securityGroupNames.length ? writer.config.securityGroupNames : undefined, 'names'],
      ];
      const [groupsFrom, groups, kind] = groupSource.find(([, v]) => v !== undefined) ?? ['default', undefined, 'ids'];
      if (groups && kind === 'ids') {
        config.securityGroupIds = [...groups].sort();
        config.securityGroupNames = [...(replaced?.config.securityGroupNames ?? groups)].sort();
        from.securityGroupIds = groupsFrom;
      } else if (groups) {
        const found = await groupsByName(region, groups, config.vpcId);
        if (found.missing.length > 0) {
          // The runbook's securityGroupName is the database's (`database.securityGroupName`), not the side's.
          const path = groupsFrom === 'runbook' && groups !== side.securityGroups ? `${at.replace(/\.(primary|replica)$/, '')}.securityGroupName` : `${at}.securityGroups`;
          problems.push(`${path}: security group ${found.missing.join(', ')} in ${region}${config.vpcId ? ` (VPC ${config.vpcId})` : ''}; the replica would get the VPC's default group and the application could not reach it (set ${at}.securityGroups to group names of ${region})`);
        } else {
          config.securityGroupIds = [...found.ids].sort();
          config.securityGroupNames = [...groups].sort();
          from.securityGroupIds = groupsFrom;
        }
      }

      // Parameter and option groups: the same names in this region (RDS's defaults are not carried).
      for (const [field, wanted, source, isDefault, check] of [
        ['parameterGroup', side.parameterGroup ?? replaced?.config.parameterGroup ?? writer.config.parameterGroup, side.parameterGroup ? 'runbook' : replaced ? 'replaced' : 'writer', isDefaultParameterGroup, (name: string) => exists(`rds:DescribeDBParameterGroups(${name})`, () => rds(region).describeDBParameterGroups({ DBParameterGroupName: name }), /DBParameterGroupNotFound/)],
        ['optionGroup', side.optionGroup ?? replaced?.config.optionGroup ?? writer.config.optionGroup, side.optionGroup ? 'runbook' : replaced ? 'replaced' : 'writer', isDefaultOptionGroup, (name: string) => exists(`rds:DescribeOptionGroups(${name})`, () => rds(region).describeOptionGroups({ OptionGroupName: name }), /OptionGroupNotFound/)],
      ] as const) {
        if (isDefault(wanted)) continue;
        if (await check(wanted as string)) {
          config[field] = wanted;
          from[field] = source as ConfigSource;
        } else problems.push(`${at}.${field}: ${field === 'parameterGroup' ? 'DB parameter group' : 'option group'} "${wanted}" is not found in ${region} (create it there, or set ${at}.${field})`);
      }

      // Storage encryption: a key of this region (the runbook's, the replaced instance's, else the writer's alias here).
      if (writer.config.storageEncrypted) {
        config.storageEncrypted = true;
        from.storageEncrypted = 'writer';
        const candidates: Array<[ConfigSource, string]> = [];
        if (side.kmsKeyId) candidates.push(['runbook', side.kmsKeyId]);
        else if (replaced?.config.kmsKeyId) candidates.push(['replaced', replaced.config.kmsKeyId]);
        else if (writer.config.kmsKeyId) {
          const keyId = writer.config.kmsKeyId;
          // A multi-Region key has the same id in every region it is replicated to.
          const mrk = /(mrk-[0-9a-f]{32})$/.exec(keyId)?.[1];
          if (mrk) candidates.push(['writer', mrk]);
          for (const alias of await aliasesOf(writer.region, keyId)) candidates.push(['writer', alias]);
        }
        let chosen: { arn: string; source: ConfigSource } | undefined;
        const refused: string[] = [];
        for (const [source, keyId] of candidates) {
          const key = await usableKey(region, keyId);
          if (key.arn) {
            chosen = { arn: key.arn, source };
            break;
          }
          if (key.problem) refused.push(key.problem);
        }
        if (chosen) {
          config.kmsKeyId = chosen.arn;
          from.kmsKeyId = chosen.source;
        } else {
          const tried = refused.length > 0 ? refused.join('; ') : `${writer.identifier}'s key ${writer.config.kmsKeyId ?? '(unknown)'} has no alias that names a key of ${region}`;
          problems.push(`${at}.kmsKeyId: ${writer.identifier} in ${writer.region} is encrypted, so a replica in ${region} needs a KMS key of ${region}: ${tried} (set ${at}.kmsKeyId to a key of ${region})`);
        }
      } else {
        config.storageEncrypted = false;
        delete from.storageEncrypted;
      }
      // Storage at least the source's ("Be sure to allocate enough storage for your read replica", API_CreateDBInstanceReadReplica):
      // a writer that grew while failed over is not followed by a smaller replica; its autoscaling ceiling above it.
      const sourceSize = writer.config.allocatedStorage ?? 0;
      if (sourceSize > (config.allocatedStorage ?? 0)) {
        config.allocatedStorage = sourceSize;
        from.allocatedStorage = 'writer';
        // Its IOPS and throughput with it: a gp3 size's baseline differs above 400 GiB (the writer's are of its size).
        for (const k of ['iops', 'storageThroughput'] as const) {
          if (writer.config[k] !== undefined) {
            config[k] = writer.config[k];
            from[k] = 'writer';
          } else delete config[k];
        }
      }
      // RDS takes an autoscaling ceiling at least 10% above the allocated storage, else "Invalid max storage size"
      // (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html): a lower one is left out.
      if (config.maxAllocatedStorage !== undefined && config.allocatedStorage !== undefined && config.maxAllocatedStorage < Math.ceil(config.allocatedStorage * 1.1)) delete config.maxAllocatedStorage;
      // Performance Insights' key: the replaced instance's (same region), else RDS's default key.
      if (config.performanceInsights && replaced?.config.performanceInsightsKmsKeyId) {
        config.performanceInsightsKmsKeyId = replaced.config.performanceInsightsKmsKeyId;
        from.performanceInsightsKmsKeyId = 'replaced';
      }
      return { config, from, problems };
    },
  };
}

/** A failure for a replica that cannot be configured as the team had it: nothing was changed. */
export function unresolved(problems: string[]): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.Validation, message: `nothing was changed: ${problems.join('; ')}`, nonRetryable: true });
}
