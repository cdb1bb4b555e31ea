/**
 * A DB instance's configuration as drover captures it before replacing the instance, and what a replica it re-creates
 * is made with (activities/dbconfig.ts reads and resolves; workflows only carry these plain values).
 */

/** Every setting drover keeps when it re-creates an instance, flat so that two can be compared field by field. */
export interface DbConfig {
  /** The instance class (the runbook's `instanceClass` is used only where no instance says). */
  instanceClass?: string;
  /** Placement: the DB subnet group (its VPC), VPC security groups (ids, and their names), port, network type. */
  subnetGroup?: string;
  vpcId?: string;
  securityGroupIds: string[];
  securityGroupNames: string[];
  port?: number;
  networkType?: string;
  parameterGroup?: string;
  optionGroup?: string;
  /** Storage: encryption and its KMS key (ARN as RDS reports it), type, size, IOPS, throughput, autoscaling ceiling. */
  storageEncrypted: boolean;
  kmsKeyId?: string;
  storageType?: string;
  allocatedStorage?: number;
  iops?: number;
  storageThroughput?: number;
  maxAllocatedStorage?: number;
  multiAz?: boolean;
  /** Backups and maintenance. */
  backupRetention?: number;
  backupWindow?: string;
  maintenanceWindow?: string;
  /** Monitoring: enhanced monitoring interval (s) and role, Performance Insights. */
  monitoringInterval?: number;
  monitoringRoleArn?: string;
  performanceInsights?: boolean;
  performanceInsightsKmsKeyId?: string;
  performanceInsightsRetention?: number;
  /** Access and protection. */
  iamAuth?: boolean;
  deletionProtection?: boolean;
  caCertificate?: string;
  copyTagsToSnapshot?: boolean;
  /** The team's tags (drover's own `drover:` tags and AWS's `aws:` tags left out). */
  tags: Record<string, string>;
}

/** An instance's configuration as read, with what it is now. */
export interface CapturedDb {
  region: string;
  identifier: string;
  engine?: string;
  engineVersion?: string;
  /** drover's fence was on it: its security groups are the ones before the fence (the fence tag's). */
  fenced: boolean;
  /** The instance it replicates from (a replica), as RDS names it. */
  source?: string;
  config: DbConfig;
}

/** What the runbook says of one side's instances, for replicas drover re-creates there (runbooks/schema.ts). */
export interface SideSettings {
  kmsKeyId?: string;
  subnetGroup?: string;
  /** Security groups by name (in that region). */
  securityGroups?: string[];
  parameterGroup?: string;
  optionGroup?: string;
}

/** Where a resolved value came from: the instance the replica replaces, the runbook, the writer (by name, in the replica's region) or RDS's default. */
export type ConfigSource = 'replaced' | 'runbook' | 'writer' | 'default';

/** The configuration a replica is created with, resolved in its own region (ids, not names). */
export interface ReplicaConfig {
  config: DbConfig;
  /** Per field that differs from RDS's default: where its value came from. */
  from: Partial<Record<keyof DbConfig, ConfigSource>>;
}

/** The fields that name a resource of one region (a key, a group, a subnet group): never carried across regions as they are. */
export const REGIONAL_FIELDS = ['subnetGroup', 'vpcId', 'securityGroupIds', 'securityGroupNames', 'parameterGroup', 'optionGroup', 'kmsKeyId', 'performanceInsightsKmsKeyId'] as const;

/** Tags drover and AWS own, not the team's. */
export const isTeamTag = (key: string) => !key.startsWith('drover:') && !key.startsWith('aws:');

/** A field-by-field difference of two configurations: `field: before -> after`, in a stable order. Empty when equal. */
export function configDifferences(before: DbConfig, after: DbConfig): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort() as Array<keyof DbConfig>;
  for (const k of keys) {
    if (k === 'tags') {
      const tagKeys = [...new Set([...Object.keys(before.tags ?? {}), ...Object.keys(after.tags ?? {})])].sort();
      for (const t of tagKeys) {
        const [a, b] = [before.tags?.[t], after.tags?.[t]];
        if (a !== b) out.push(`tags.${t}: ${show(a)} -> ${show(b)}`);
      }
      continue;
    }
    const [a, b] = [norm(before[k]), norm(after[k])];
    if (a !== b) out.push(`${k}: ${show(before[k])} -> ${show(after[k])}`);
  }
  return out;
}

function norm(v: unknown): string {
  if (Array.isArray(v)) return JSON.stringify([...v].map(String).sort());
  return v === undefined ? '' : JSON.stringify(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'unset';
  if (Array.isArray(v)) return v.length === 0 ? 'none' : [...v].map(String).sort().join(', ');
  return String(v);
}

const SOURCE_LABEL: Record<ConfigSource, string> = { replaced: '', runbook: " (the runbook's)", writer: " (the writer's, by name)", default: '' };

/** A resolved replica configuration in a line: what it is placed in, encrypted with and kept as, with where a value came from when not from the instance it replaces. */
export function configSummary(r: ReplicaConfig): string {
  const c = r.config;
  const from = (k: keyof DbConfig) => SOURCE_LABEL[r.from[k] ?? 'default'];
  const parts = [
    c.subnetGroup ? `subnet group ${c.subnetGroup}${from('subnetGroup')}` : 'the default subnet group',
    c.securityGroupIds.length ? `security groups ${c.securityGroupNames.join(', ')}${from('securityGroupIds')}` : "the VPC's default security group",
    ...(c.parameterGroup ? [`parameter group ${c.parameterGroup}${from('parameterGroup')}`] : []),
    ...(c.optionGroup ? [`option group ${c.optionGroup}${from('optionGroup')}`] : []),
    c.storageEncrypted ? `encrypted with ${c.kmsKeyId}${from('kmsKeyId')}` : 'unencrypted',
    ...(c.multiAz ? ['Multi-AZ'] : []),
    ...(c.backupRetention ? [`backups ${c.backupRetention} d`] : []),
    ...(c.deletionProtection ? ['deletion protection'] : []),
    ...(Object.keys(c.tags).length ? [`${Object.keys(c.tags).length} team tag${Object.keys(c.tags).length === 1 ? '' : 's'}`] : []),
  ];
  return parts.join(', ');
}
