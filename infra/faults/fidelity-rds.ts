/**
 * Fidelity rules for rds replicas across regions: see fidelity.ts for the mechanism, and docs/emulator-support.md for
 * the table.
 *
 * moto (5.2) makes a read replica as a copy of its source (`copy.copy(primary)`), whatever the region:
 * - a cross-region replica of an encrypted source is created without a key of its own region, encrypted with the
 *   source's key (another region's), and a key of a third region is taken as given. RDS refuses both
 *   (`rds-cross-region-encrypted-replica`);
 * - every replica keeps the source's backup retention, and a cross-region one the source's DB subnet group, VPC
 *   security groups, DB parameter group and option group, all of another region; RDS creates replicas with backups
 *   disabled and gives a cross-region one its region's defaults (`rds-cross-region-replica-defaults`);
 * - any security group id, DB subnet group, DB parameter group or option group is taken whatever its region; RDS
 *   knows only its own region's (`rds-replica-regional-references`, with its EC2 half learning security groups).
 */
import { kept, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity-rule';

const RULE = 'rds-cross-region-encrypted-replica';

/** Region and identifier of an instance: the key of the rule's map. */
const key = (region: string, id: string) => `${region}\u0000${id.toLowerCase()}`;

/** The instances the rule saw created (through the proxy): their KMS key, or '' when unencrypted. Others are unknown to it. */
const encryptedOf = (state: FidelityState) => kept(state, RULE, () => new Map<string, string>());

/** Region and identifier a source reference names: an ARN names its region, a bare identifier the request's. */
function sourceOf(call: FidelityCall, ref: string): { region: string; id: string } {
  const arn = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(ref);
  return arn ? { region: arn[1], id: arn[2] } : { region: call.info.region, id: ref };
}

/** The region a KMS key ARN or alias ARN names; undefined for a key id or alias name (resolved in the request's region). */
const kmsRegion = (keyId: string) => /^arn:[^:]+:kms:([^:]+):/.exec(keyId)?.[1];

/**
 * A list parameter of a query-protocol request, in order: the SDK sends `VpcSecurityGroupIds.VpcSecurityGroupId.1`
 * (the member's XML name), other clients `VpcSecurityGroupIds.member.1`; both are read. [] when absent or empty.
 */
export function listParam(call: FidelityCall, name: string): string[] {
  if (!String(call.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return [];
  const items: Array<[number, string]> = [];
  for (const [field, value] of new URLSearchParams(call.body.toString('utf8'))) {
    if (!field.startsWith(`${name}.`) || !value) continue;
    const index = /^(?:[A-Za-z]+\.)?(\d+)$/.exec(field.slice(name.length + 1))?.[1];
    if (index !== undefined) items.push([Number(index), value]);
  }
  return items.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

/** An XML element's text in `block` (the first one). */
const xmlText = (block: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block)?.[1];

/** Each `<DBInstance>` block of an RDS answer, rewritten by `edit` (its identifier given). */
const eachInstance = (body: string, edit: (id: string, block: string) => string) =>
  body.replace(/<DBInstance>[\s\S]*?<\/DBInstance>/g, (block) => {
    const id = xmlText(block, 'DBInstanceIdentifier');
    return id === undefined ? block : edit(id, block);
  });

const REFS = 'rds-replica-regional-references';

/** The regional resources a reference can name, and the request parameter that names each. */
type RefKind = 'securityGroup' | 'subnetGroup' | 'parameterGroup' | 'optionGroup';

/**
 * The regional resources the rules saw created through the proxy: name (lower-cased; security groups by id) to the
 * regions it exists in. Shared by `rds-replica-regional-references` and its EC2 half. Others are unknown to them.
 */
const seenOf = (state: FidelityState) =>
  kept(state, `${REFS}:seen`, () => ({ securityGroup: new Map<string, Set<string>>(), subnetGroup: new Map<string, Set<string>>(), parameterGroup: new Map<string, Set<string>>(), optionGroup: new Map<string, Set<string>>() }) as Record<RefKind, Map<string, Set<string>>>);

const refName = (kind: RefKind, name: string) => (kind === 'securityGroup' ? name : name.toLowerCase());

function learn(state: FidelityState, kind: RefKind, name: string | undefined, region: string, exists: boolean): void {
  if (!name) return;
  const byName = seenOf(state)[kind];
  const regions = byName.get(refName(kind, name)) ?? new Set<string>();
  if (exists) regions.add(region);
  else regions.delete(region);
  if (regions.size) byName.set(refName(kind, name), regions);
  else byName.delete(refName(kind, name));
}

/** The regions a reference is known in, when the rules saw it created only outside `region`; undefined otherwise. */
function elsewhere(state: FidelityState, kind: RefKind, name: string, region: string): string[] | undefined {
  const regions = seenOf(state)[kind].get(refName(kind, name));
  return regions && !regions.has(region) ? [...regions] : undefined;
}

/** Each DB subnet group as its CreateDBSubnetGroup answered (its `<DBSubnetGroup>` element), by region and name. */
const subnetGroupXmlOf = (state: FidelityState) => kept(state, `${REFS}:subnet-group-xml`, () => new Map<string, string>());

/** The engine of each instance the rules saw in an answer (created, renamed, described), by region and identifier. */
const enginesOf = (state: FidelityState) => kept(state, `${REFS}:engines`, () => new Map<string, string>());

/**
 * Whether RDS takes DBParameterGroupName on CreateDBInstanceReadReplica for a source of `engine`: "only supported for
 * MySQL DB instances for cross-Region read replicas, for Multi-AZ DB cluster read replica instances, for Db2 DB
 * instances, and for Oracle DB instances. It isn't supported for MySQL DB instances for same Region read replicas".
 */
function replicaTakesParameterGroup(engine: string, crossRegion: boolean): boolean {
  if (engine === 'mysql') return crossRegion;
  return engine.startsWith('oracle') || engine.startsWith('db2');
}

/** The errors RDS answers for a reference to a resource it does not have in the request's region. */
function notHere(kind: RefKind, name: string, region: string, regions: string[]): { status: number; code: string; message: string } {
  const where = `(made in ${regions.join(', ')}, not in ${region})`;
  switch (kind) {
    case 'subnetGroup':
      return { status: 404, code: 'DBSubnetGroupNotFoundFault', message: `DBSubnetGroupName ${name} doesn't refer to an existing DB subnet group ${where}.` };
    case 'parameterGroup':
      return { status: 404, code: 'DBParameterGroupNotFound', message: `DBParameterGroupName ${name} doesn't refer to an existing DB parameter group ${where}.` };
    case 'optionGroup':
      return { status: 404, code: 'OptionGroupNotFoundFault', message: `The specified option group could not be found: ${name} ${where}.` };
    case 'securityGroup':
      // Not in the operations' error lists: RDS answers an unknown VPC security group id with the common
      // InvalidParameterValue, "Invalid security group , groupId= <id>, groupName=." (as observed, aws/aws-cli#574).
      return { status: 400, code: 'InvalidParameterValue', message: `Invalid security group , groupId= ${name}, groupName=. ${where}` };
  }
}

/**
 * The RDS query (its `Action=` and parameter) that answers 200 for a resource of that name in the request's region and
 * 404 otherwise, as the emulator answers it (moto answers DescribeDBParameterGroups 200 with none for any name, so its
 * parameters are asked for). Security groups are EC2's: an RDS-signed probe cannot ask, and their ids are unique anyway.
 */
const PROBES: Partial<Record<RefKind, (name: string) => string>> = {
  subnetGroup: (name) => `DescribeDBSubnetGroups&DBSubnetGroupName=${encodeURIComponent(name)}`,
  parameterGroup: (name) => `DescribeDBParameters&DBParameterGroupName=${encodeURIComponent(name)}&MaxRecords=20`,
  optionGroup: (name) => `DescribeOptionGroups&OptionGroupName=${encodeURIComponent(name)}`,
};

const DEFAULTS = 'rds-cross-region-replica-defaults';

/**
 * What RDS shows for a replica where moto shows its source's values: set by CreateDBInstanceReadReplica, each part
 * dropped once a ModifyDBInstance (or PromoteReadReplica) sets it, which moto then shows as RDS does.
 */
interface ReplicaView {
  /** BackupRetentionPeriod: 0 after creation ("created with backups disabled"), 1 after a promotion without one. */
  retention?: number;
  /** Cross-region, not given: the region's defaults instead of the source's groups. */
  defaultSubnetGroup?: boolean;
  defaultSecurityGroups?: boolean;
  defaultParameterGroup?: boolean;
  defaultOptionGroup?: boolean;
  /** Cross-region, given: the DB subnet group of the replica's region (moto shows the source region's of that name). */
  subnetGroup?: string;
}

const viewsOf = (state: FidelityState) => kept(state, DEFAULTS, () => new Map<string, ReplicaView>());

/**
 * The default DB parameter group family and option group of an engine version, where RDS's naming is known to the
 * rule: `mysql8.0`/`default:mysql-8-0`, `mariadb10.11`/`default:mariadb-10-11`, `postgres16`/`default:postgres-16`
 * (`postgres9.6`/`default:postgres-9-6` before 10). Other engines: undefined (the rule leaves moto's groups).
 */
export function engineDefaults(engine: string, version: string): { parameterGroup: string; optionGroup: string } | undefined {
  const e = engine.toLowerCase();
  const [major, minor] = version.split('.');
  if (!/^\d+$/.test(major ?? '')) return undefined;
  if (e === 'postgres') {
    if (Number(major) >= 10) return { parameterGroup: `default.postgres${major}`, optionGroup: `default:postgres-${major}` };
    return minor === undefined ? undefined : { parameterGroup: `default.postgres${major}.${minor}`, optionGroup: `default:postgres-${major}-${minor}` };
  }
  if ((e === 'mysql' || e === 'mariadb') && minor !== undefined) return { parameterGroup: `default.${e}${major}.${minor}`, optionGroup: `default:${e}-${major}-${minor}` };
  return undefined;
}

/** One `<DBInstance>` block as RDS shows the replica `view` describes (in `region`). */
function showAsRds(block: string, view: ReplicaView, region: string, state: FidelityState): string {
  let out = block;
  const element = (tag: string, inner: string) => {
    out = out.replace(new RegExp(`<${tag}\\s*/>|<${tag}>[\\s\\S]*?</${tag}>`), inner);
  };
  if (view.retention !== undefined) out = out.replace(/<BackupRetentionPeriod>[^<]*<\/BackupRetentionPeriod>/, `<BackupRetentionPeriod>${view.retention}</BackupRetentionPeriod>`);
  if (view.defaultSubnetGroup) {
    // The default VPC's `default` group; its VPC and subnets are not known to the rule, so they are left out.
    const arn = /^arn:([^:]+):rds:[^:]*:([^:]*):/.exec(xmlText(block, 'DBInstanceArn') ?? '');
    const groupArn = arn ? `<DBSubnetGroupArn>arn:${arn[1]}:rds:${region}:${arn[2]}:subgrp:default</DBSubnetGroupArn>` : '';
    element('DBSubnetGroup', `<DBSubnetGroup><DBSubnetGroupName>default</DBSubnetGroupName><DBSubnetGroupDescription>default</DBSubnetGroupDescription><SubnetGroupStatus>Complete</SubnetGroupStatus><Subnets/>${groupArn}</DBSubnetGroup>`);
  } else if (view.subnetGroup) {
    const own = subnetGroupXmlOf(state).get(key(region, view.subnetGroup));
    if (own) element('DBSubnetGroup', own);
  }
  // "The default EC2 VPC security group for the DB subnet group's VPC": its id is not known to the rule, which names it sg-default-<region>.
  if (view.defaultSecurityGroups) element('VpcSecurityGroups', `<VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-default-${region}</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroupMembership></VpcSecurityGroups>`);
  const defaults = engineDefaults(xmlText(block, 'Engine') ?? '', xmlText(block, 'EngineVersion') ?? '');
  if (view.defaultParameterGroup && defaults) element('DBParameterGroups', `<DBParameterGroups><DBParameterGroup><DBParameterGroupName>${defaults.parameterGroup}</DBParameterGroupName><ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups>`);
  if (view.defaultOptionGroup && defaults) element('OptionGroupMemberships', `<OptionGroupMemberships><OptionGroupMembership><OptionGroupName>${defaults.optionGroup}</OptionGroupName><Status>in-sync</Status></OptionGroupMembership></OptionGroupMemberships>`);
  return out;
}

const REPLICA_API = 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html';

export const RDS_REPLICA_FIDELITY_RULES: readonly FidelityRule[] = [
  {
    id: RULE,
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html',
      says: "KmsKeyId: If you create an encrypted read replica in a different AWS Region, then you must specify a KMS key identifier for the destination AWS Region. KMS keys are specific to the AWS Region that they are created in, and you can't use KMS keys from one AWS Region in another AWS Region. You can't create an encrypted read replica from an unencrypted DB instance. (RDS answers InvalidParameterCombination, \"Cannot create a cross region unencrypted read replica from encrypted source.\"; KMSKeyNotAccessibleFault: \"An error occurred accessing an AWS KMS key.\")",
    },
    service: 'rds',
    operations: ['CreateDBInstance', 'CreateDBInstanceReadReplica', 'ModifyDBInstance', 'DeleteDBInstance'],
    refuse(call, state) {
      if (call.info.operation !== 'CreateDBInstanceReadReplica') return undefined;
      const ref = call.param('SourceDBInstanceIdentifier');
      if (!ref) return undefined;
      const source = sourceOf(call, ref);
      if (source.region === call.info.region) return undefined;
      const sourceKey = encryptedOf(state).get(key(source.region, source.id));
      const keyId = call.param('KmsKeyId');
      if (sourceKey === undefined) return undefined;
      if (sourceKey && !keyId) return { status: 400, code: 'InvalidParameterCombination', message: 'Cannot create a cross region unencrypted read replica from encrypted source.' };
      if (!sourceKey && keyId) return { status: 400, code: 'InvalidParameterCombination', message: "You can't create an encrypted read replica from an unencrypted DB instance." };
      const region = keyId ? kmsRegion(keyId) : undefined;
      if (region && region !== call.info.region) return { status: 400, code: 'KMSKeyNotAccessibleFault', message: `An error occurred accessing an AWS KMS key: ${keyId} is a key of ${region}, not of ${call.info.region}.` };
      return undefined;
    },
    observe(call, state) {
      const encrypted = encryptedOf(state);
      const id = call.param('DBInstanceIdentifier');
      if (!id) return;
      const here = key(call.info.region, id);
      switch (call.info.operation) {
        case 'CreateDBInstance':
          encrypted.set(here, call.param('StorageEncrypted') === 'true' ? (call.param('KmsKeyId') ?? 'alias/aws/rds') : '');
          break;
        case 'CreateDBInstanceReadReplica': {
          const ref = call.param('SourceDBInstanceIdentifier');
          const source = ref ? sourceOf(call, ref) : undefined;
          // Same region: the source's key ("always encrypted with the same KMS key as the source"); across regions: the one given.
          const sourceKey = source ? encrypted.get(key(source.region, source.id)) : undefined;
          if (sourceKey === undefined) encrypted.delete(here);
          else encrypted.set(here, source && source.region !== call.info.region ? (call.param('KmsKeyId') ?? '') : sourceKey);
          break;
        }
        case 'ModifyDBInstance': {
          const renamed = call.param('NewDBInstanceIdentifier');
          const keyId = encrypted.get(here);
          if (renamed && keyId !== undefined) {
            encrypted.delete(here);
            encrypted.set(key(call.info.region, renamed), keyId);
          }
          break;
        }
        case 'DeleteDBInstance':
          encrypted.delete(here);
          break;
      }
    },
  },
  {
    id: REFS,
    source: {
      url: REPLICA_API,
      says: 'DBSubnetGroupName: "The specified DB subnet group must be in the same Amazon Web Services Region in which the operation is running." DBSubnetGroupNotAllowedFault: "The DBSubnetGroup shouldn\'t be specified while creating read replicas that lie in the same region as the source instance." DBParameterGroupName: "Specifying a parameter group for this operation is only supported for MySQL DB instances for cross-Region read replicas, for Multi-AZ DB cluster read replica instances, for Db2 DB instances, and for Oracle DB instances. It isn\'t supported for MySQL DB instances for same Region read replicas" (RDS answers InvalidParameterCombination, "A parameter group can\'t be specified during Read Replica creation for the following DB engine: postgres", hashicorp/terraform-provider-aws#38056). Errors: DBSubnetGroupNotFoundFault, DBParameterGroupNotFound, OptionGroupNotFoundFault (404); an unknown VPC security group id: InvalidParameterValue, "Invalid security group , groupId= …, groupName=." (ModifyDBInstance VpcSecurityGroupIds: "If supplied, must match existing VPC security group IDs.")',
    },
    // moto takes any security group id, DB subnet group, DB parameter group or option group name of any region (it
    // looks a replica's DB subnet group up in the source's region), and a DB subnet group on any same-region replica.
    service: 'rds',
    operations: ['CreateDBInstance', 'CreateDBInstanceReadReplica', 'ModifyDBInstance', 'PromoteReadReplica', 'DeleteDBInstance', 'DescribeDBInstances', 'CreateDBSubnetGroup', 'DeleteDBSubnetGroup', 'CreateDBParameterGroup', 'CopyDBParameterGroup', 'DeleteDBParameterGroup', 'CreateOptionGroup', 'CopyOptionGroup', 'DeleteOptionGroup'],
    async refuse(call, state) {
      const op = call.info.operation;
      if (op !== 'CreateDBInstance' && op !== 'CreateDBInstanceReadReplica' && op !== 'ModifyDBInstance') return undefined;
      const region = call.info.region;
      if (op === 'CreateDBInstanceReadReplica') {
        const ref = call.param('SourceDBInstanceIdentifier');
        const source = ref ? sourceOf(call, ref) : undefined;
        // A source named by its identifier is in this region; one named by ARN may be too, and then RDS takes a DB
        // subnet group (the way to put a same-region replica in another subnet group: hashicorp/terraform-provider-aws#40426).
        if (ref && !ref.startsWith('arn:') && call.param('DBSubnetGroupName')) {
          return { status: 400, code: 'DBSubnetGroupNotAllowedFault', message: 'DbSubnetGroupName should not be specified for read replicas that are created in the same region as the master' };
        }
        const engine = source ? enginesOf(state).get(key(source.region, source.id)) : undefined;
        if (engine && call.param('DBParameterGroupName') && !replicaTakesParameterGroup(engine, source?.region !== region)) {
          // The same-region MySQL refusal's wording is not documented: RDS's words for the other engines are used.
          return { status: 400, code: 'InvalidParameterCombination', message: `A parameter group can't be specified during Read Replica creation for the following DB engine: ${engine}` };
        }
      }
      const named: Array<[RefKind, string | undefined]> = [
        ['subnetGroup', call.param('DBSubnetGroupName')],
        ['parameterGroup', call.param('DBParameterGroupName')],
        ['optionGroup', call.param('OptionGroupName')],
        ...listParam(call, 'VpcSecurityGroupIds').map((id): [RefKind, string] => ['securityGroup', id]),
      ];
      for (const [kind, name] of named) {
        const regions = name ? elsewhere(state, kind, name, region) : undefined;
        if (!name || !regions) continue;
        // One of that name made here past the rules (on the emulator directly) is the emulator's to judge: asked for first.
        const lookup = PROBES[kind]?.(name);
        if (lookup && (await call.probe('GET', `/?Action=${lookup}&Version=2014-10-31`)) === 200) {
          learn(state, kind, name, region, true);
          continue;
        }
        return notHere(kind, name, region, regions);
      }
      return undefined;
    },
    observe(call, state) {
      const region = call.info.region;
      switch (call.info.operation) {
        case 'CreateDBSubnetGroup':
        case 'DeleteDBSubnetGroup':
          learn(state, 'subnetGroup', call.param('DBSubnetGroupName'), region, call.info.operation.startsWith('Create'));
          if (call.info.operation.startsWith('Delete')) subnetGroupXmlOf(state).delete(key(region, call.param('DBSubnetGroupName') ?? ''));
          break;
        case 'CreateDBParameterGroup':
        case 'DeleteDBParameterGroup':
          learn(state, 'parameterGroup', call.param('DBParameterGroupName'), region, call.info.operation.startsWith('Create'));
          break;
        case 'CopyDBParameterGroup':
          learn(state, 'parameterGroup', call.param('TargetDBParameterGroupIdentifier'), region, true);
          break;
        case 'CreateOptionGroup':
        case 'DeleteOptionGroup':
          learn(state, 'optionGroup', call.param('OptionGroupName'), region, call.info.operation.startsWith('Create'));
          break;
        case 'CopyOptionGroup':
          learn(state, 'optionGroup', call.param('TargetOptionGroupIdentifier'), region, true);
          break;
        case 'DeleteDBInstance':
        case 'ModifyDBInstance': {
          // Gone, or renamed away (the answer names the new identifier).
          const id = call.param('DBInstanceIdentifier');
          if (id && (call.info.operation === 'DeleteDBInstance' || call.param('NewDBInstanceIdentifier'))) enginesOf(state).delete(key(region, id));
          break;
        }
      }
    },
    rewrite(call, body, state) {
      const region = call.info.region;
      if (call.info.operation === 'CreateDBSubnetGroup') {
        const name = call.param('DBSubnetGroupName');
        const element = /<DBSubnetGroup>[\s\S]*?<\/DBSubnetGroup>/.exec(body)?.[0];
        if (name && element) subnetGroupXmlOf(state).set(key(region, name), element);
        return body;
      }
      if (call.info.operation === 'DeleteDBInstance') return body;
      // Every instance an answer shows teaches its engine (what DBParameterGroupName on its replicas depends on).
      const engines = enginesOf(state);
      eachInstance(body, (id, block) => {
        const engine = xmlText(block, 'Engine');
        if (engine) engines.set(key(region, id), engine.toLowerCase());
        return block;
      });
      return body;
    },
  },
  {
    id: `${REFS}-ec2`,
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html',
      says: 'VpcSecurityGroupIds: "A list of Amazon EC2 VPC security groups to associate with this DB instance. … Constraints: If supplied, must match existing VPC security group IDs." A security group is of one VPC, and a VPC of one region: the EC2 half of rds-replica-regional-references learns which region each security group it saw created is in.',
    },
    // The security groups rds-replica-regional-references checks RDS requests against: learnt here (EC2 is another service).
    service: 'ec2',
    operations: ['CreateSecurityGroup', 'DeleteSecurityGroup'],
    observe(call, state) {
      if (call.info.operation === 'DeleteSecurityGroup') learn(state, 'securityGroup', call.param('GroupId'), call.info.region, false);
    },
    rewrite(call, body, state) {
      // The new group's id is only in the answer.
      if (call.info.operation === 'CreateSecurityGroup') learn(state, 'securityGroup', /<groupId>([^<]+)<\/groupId>/.exec(body)?.[1], call.info.region, true);
      return body;
    },
  },
  {
    id: DEFAULTS,
    source: {
      url: REPLICA_API,
      says: '"RDS creates read replicas with backups disabled. All other attributes (including DB security groups and DB parameter groups) are inherited from the source DB instance or cluster, except as specified." DBParameterGroupName: "if you don\'t specify a value for DBParameterGroupName, then Amazon RDS uses the DBParameterGroup of the source DB instance for a same Region read replica, or the default DBParameterGroup for the specified DB engine for a cross-Region read replica." VpcSecurityGroupIds: "Default: The default EC2 VPC security group for the DB subnet group\'s VPC." PromoteReadReplica BackupRetentionPeriod (API_PromoteReadReplica.html): "The number of days for which automated backups are retained. Setting this parameter to a positive number enables backups. Setting this parameter to 0 disables automated backups. Default: 1"',
    },
    // moto copies the source into the replica: its backup retention, and across regions its (other region's) DB subnet
    // group, VPC security groups, DB parameter group and option group; a promotion without BackupRetentionPeriod keeps it.
    service: 'rds',
    operations: ['CreateDBInstanceReadReplica', 'CreateDBInstance', 'ModifyDBInstance', 'PromoteReadReplica', 'DeleteDBInstance', 'DescribeDBInstances'],
    observe(call, state) {
      const views = viewsOf(state);
      const region = call.info.region;
      const id = call.param('DBInstanceIdentifier');
      if (!id) return;
      let here = key(region, id);
      switch (call.info.operation) {
        case 'CreateDBInstanceReadReplica': {
          const ref = call.param('SourceDBInstanceIdentifier');
          const crossRegion = ref !== undefined && sourceOf(call, ref).region !== region;
          const subnetGroup = call.param('DBSubnetGroupName');
          views.set(
            here,
            crossRegion
              ? {
                  retention: 0,
                  defaultSubnetGroup: !subnetGroup,
                  ...(subnetGroup ? { subnetGroup } : {}),
                  defaultSecurityGroups: listParam(call, 'VpcSecurityGroupIds').length === 0,
                  defaultParameterGroup: !call.param('DBParameterGroupName'),
                  defaultOptionGroup: !call.param('OptionGroupName'),
                }
              : { retention: 0 },
          );
          return;
        }
        case 'CreateDBInstance':
        case 'DeleteDBInstance':
          // A new instance under the name, or none: nothing of a replica's carries over.
          views.delete(here);
          return;
        case 'PromoteReadReplica': {
          const view = views.get(here);
          if (view) view.retention = call.param('BackupRetentionPeriod') === undefined ? 1 : undefined;
          break;
        }
        case 'ModifyDBInstance': {
          const renamed = call.param('NewDBInstanceIdentifier');
          if (renamed && views.has(here)) {
            const view = views.get(here) as ReplicaView;
            views.delete(here);
            here = key(region, renamed);
            views.set(here, view);
          }
          const view = views.get(here);
          if (!view) return;
          // What the modification sets, moto shows as RDS does.
          if (call.param('BackupRetentionPeriod') !== undefined) view.retention = undefined;
          if (call.param('DBSubnetGroupName')) {
            view.defaultSubnetGroup = false;
            view.subnetGroup = undefined;
          }
          if (listParam(call, 'VpcSecurityGroupIds').length) view.defaultSecurityGroups = false;
          if (call.param('DBParameterGroupName')) view.defaultParameterGroup = false;
          if (call.param('OptionGroupName')) view.defaultOptionGroup = false;
          break;
        }
      }
      const view = views.get(here);
      if (view && view.retention === undefined && !view.defaultSubnetGroup && !view.subnetGroup && !view.defaultSecurityGroups && !view.defaultParameterGroup && !view.defaultOptionGroup) views.delete(here);
    },
    rewrite(call, body, state) {
      const views = viewsOf(state);
      if (call.info.operation === 'CreateDBInstance' || call.info.operation === 'DeleteDBInstance' || views.size === 0) return body;
      return eachInstance(body, (id, block) => {
        const view = views.get(key(call.info.region, id));
        return view ? showAsRds(block, view, call.info.region, state) : block;
      });
    },
  },
];
