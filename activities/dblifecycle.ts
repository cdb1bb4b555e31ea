import type { DBInstance, DBSnapshot } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import type { RetainedInstance } from '../contracts/cleanup';
import { FailureType } from '../contracts/failures';
import type { CreateDBInstanceReadReplicaMessage, ModifyDBInstanceMessage } from '@aws-sdk/client-rds';
import type { Ec2Api, RdsLifecycleApi } from '../aws/clients';
import type { DbConfig } from '../contracts/dbconfig';
import { aws, awsErrorCode, toFailure } from '../aws/errors';
import { createdAt, encryption, FENCED_TAG, isStandalone } from './rds';
import { WRITER_STATUSES } from '../contracts/rds-status';
import { readOnlyGroups, type ReleaseResult } from './readonly';
import { whenSettled } from './settle';
import { pollUntil } from './wait';

/** Holds the instance's own security group ids (space-separated) while it is fenced. */
export { FENCED_TAG };
/** Marks an instance retired under another name instead of deleted; the value is the reason. */
export const RETAINED_TAG = 'drover:retained';
/** When drover retired it (ISO 8601): what `drover cleanup` ages a retained instance by. */
export const RETAINED_AT_TAG = 'drover:retained-at';

/** A retired name, `<id>-old-<yyyymmddhhmm>` with the run's tag after it (names before the tag existed have none). */
const RETIRED_NAME = /^(.+)-old-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:-[0-9a-z]{1,8})?$/;

/** The time in a retired name (UTC, to the minute) as epoch ms; none for a name without a valid one. */
export function retiredNameTime(identifier: string): number | undefined {
  const m = RETIRED_NAME.exec(identifier);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(2).map(Number);
  const t = Date.UTC(year, month - 1, day, hour, minute);
  const back = new Date(t);
  // Date.UTC rolls month 13 into the next year: only a time that reads back the same is one.
  const exact = back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day && back.getUTCHours() === hour && back.getUTCMinutes() === minute;
  return exact ? t : undefined;
}

/** Whether `identifier` is a retired name of `original` (and of no other identifier that merely starts the same). */
export function isRetiredName(identifier: string, original: string): boolean {
  return RETIRED_NAME.exec(identifier)?.[1] === original && retiredNameTime(identifier) !== undefined;
}

/**
 * A text as an RDS tag value may hold it: "Unicode letters, digits, white-space, '_', '.', ':', '/', '=',
 * '+', '-', '@'", at most 256 characters (RDS API Reference, Tag). Anything else becomes a space: moto
 * stores any value, AWS refuses the call with InvalidParameterValue.
 */
export function rdsTagValue(text: string): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 256);
}

// The tag activities/rds.ts writes when drover promotes a replica.

// Statuses an instance or snapshot never leaves by itself: waiting on them would only time out.
const STUCK = new Set(['failed', 'incompatible-parameters', 'incompatible-network', 'incompatible-restore', 'inaccessible-encryption-credentials', 'error']);

export interface FenceState {
  exists: boolean;
  status?: string;
  arn?: string;
  standalone?: boolean;
  /** drover's fence tag is on the instance. */
  fenced: boolean;
  /** Exists, available, standalone and not fenced: the instance may take writes. */
  writable: boolean;
  securityGroups: string[];
  /** The KMS key its storage is encrypted with (its ARN, as RDS reports it); absent when unencrypted. */
  kmsKeyId?: string;
  /** When RDS created it (InstanceCreateTime, epoch ms). */
  createdAt?: number;
}

function fail(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

const groupIds = (db: DBInstance): string[] => (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean);
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
// During a real modification the outgoing groups show 'removing' and the incoming ones 'adding'.
const groupsSettled = (db: DBInstance) => (db.VpcSecurityGroups ?? []).every((g) => !g.Status || g.Status === 'active');
const splitGroups = (value: string) => value.split(/\s+/).filter(Boolean);

/**
 * RDS instance lifecycle for planned failover and failback: write fencing through security groups,
 * snapshots, retiring the old primary and re-creating a replica. Every activity checks, then acts.
 */
export function createDbLifecycleActivities(rds: (region: string) => RdsLifecycleApi, ec2: (region: string) => Ec2Api) {
  async function find(region: string, identifier: string): Promise<DBInstance | undefined> {
    try {
      const out = await rds(region).describeDBInstances({ DBInstanceIdentifier: identifier });
      return out.DBInstances?.[0];
    } catch (err) {
      if (/DBInstanceNotFound/.test(awsErrorCode(err) ?? '')) return undefined;
      throw toFailure(err, `rds:DescribeDBInstances(${identifier})`);
    }
  }

  async function mustFind(region: string, identifier: string): Promise<DBInstance> {
    const db = await find(region, identifier);
    if (!db) throw fail(FailureType.NotFound, `DB instance ${identifier} not found in ${region}`);
    return db;
  }

  async function tags(region: string, arn: string): Promise<Record<string, string>> {
    const out = await aws('rds:ListTagsForResource', () => rds(region).listTagsForResource({ ResourceName: arn }));
    return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function findSnapshot(region: string, snapshotId: string): Promise<DBSnapshot | undefined> {
    try {
      const out = await rds(region).describeDBSnapshots({ DBSnapshotIdentifier: snapshotId });
      return out.DBSnapshots?.[0];
    } catch (err) {
      if (/DBSnapshotNotFound/.test(awsErrorCode(err) ?? '')) return undefined;
      throw toFailure(err, `rds:DescribeDBSnapshots(${snapshotId})`);
    }
  }

  async function fenceGroupId(region: string, name: string, vpcId: string | undefined): Promise<string> {
    const filters = [{ Name: 'group-name', Values: [name] }, ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [])];
    const out = await aws(`ec2:DescribeSecurityGroups(${name})`, () => ec2(region).describeSecurityGroups({ Filters: filters }));
    const groups = out.SecurityGroups ?? [];
    const where = `${region}${vpcId ? ` (VPC ${vpcId})` : ''}`;
    if (groups.length === 0) throw fail(FailureType.NotFound, `fence security group "${name}" not found in ${where}`);
    if (groups.length > 1) throw fail(FailureType.Validation, `fence security group name "${name}" matches ${groups.length} groups in ${where}: ${groups.map((g) => g.GroupId).join(', ')}`);
    return groups[0].GroupId as string;
  }

  /** Wait until the instance is available with exactly `wanted` as its settled security groups. */
  function waitGroups(region: string, identifier: string, wanted: string[], timeoutMs: number): Promise<DBInstance> {
    return pollUntil({ what: `${identifier} to be available with security groups ${wanted.join(', ')}`, timeoutMs, initialIntervalMs: 500, maxIntervalMs: 10_000 }, async () => {
      const db = await mustFind(region, identifier);
      const status = db.DBInstanceStatus ?? 'unknown';
      if (STUCK.has(status)) throw fail(FailureType.InvalidState, `DB instance ${identifier} is ${status}`);
      const done = status === 'available' && sameSet(groupIds(db), wanted) && groupsSettled(db);
      return { done, value: db, progress: `${status}, groups ${groupIds(db).join(', ') || 'none'}` };
    });
  }

  function waitAvailable(region: string, identifier: string, timeoutMs: number): Promise<DBInstance> {
    return pollUntil({ what: `${identifier} to be available`, timeoutMs, initialIntervalMs: 500, maxIntervalMs: 15_000 }, async () => {
      const db = await find(region, identifier);
      const status = db?.DBInstanceStatus ?? 'not visible yet';
      if (STUCK.has(status)) throw fail(FailureType.InvalidState, `DB instance ${identifier} is ${status}`);
      return { done: status === 'available', value: db as DBInstance, progress: status };
    });
  }

  function waitGone(region: string, identifier: string, timeoutMs: number): Promise<void> {
    return pollUntil({ what: `${identifier} to no longer exist in ${region}`, timeoutMs, initialIntervalMs: 500, maxIntervalMs: 15_000 }, async () => {
      const db = await find(region, identifier);
      return { done: !db, value: undefined, progress: db?.DBInstanceStatus ?? 'gone' };
    });
  }

  /**
   * The read replicas `db`'s list names (an identifier in the same region, an ARN across regions) that may
   * still replicate from it, so that deleting it could promote them. One is left out only when shown not to:
   * gone, promoted (no source), or replicating from another instance that exists. RDS drops a promoted replica
   * from its former source's list (moto keeps it; the tests' fidelity rule drops it). A replica that cannot be
   * read counts, with why.
   */
  async function replicasOf(region: string, db: DBInstance): Promise<string[]> {
    const live: string[] = [];
    for (const ref of db.ReadReplicaDBInstanceIdentifiers ?? []) {
      const m = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(ref);
      const where = m ? m[1] : region;
      try {
        const replica = await rds(where).describeDBInstances({ DBInstanceIdentifier: m ? m[2] : ref }).then(
          (out) => out.DBInstances?.[0],
          (err: unknown) => {
            if (/DBInstanceNotFound/.test(awsErrorCode(err) ?? '')) return undefined;
            throw err;
          },
        );
        if (!replica) continue;
        const source = replica.ReadReplicaSourceDBInstanceIdentifier;
        if (!source) continue;
        if (source !== db.DBInstanceIdentifier && source !== db.DBInstanceArn) {
          const s = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(source);
          if (await find(s ? s[1] : where, s ? s[2] : source)) continue;
        }
        live.push(ref);
      } catch (err) {
        live.push(`${ref} (not checked: ${awsErrorCode(err) ?? (err as Error).message})`);
      }
    }
    return live;
  }

  /** Whether an existing instance is (still) a replica of `sourceArn`. */
  function replicates(db: DBInstance, region: string, sourceArn: string): boolean {
    const source = db.ReadReplicaSourceDBInstanceIdentifier;
    if (!source || isStandalone(db)) return false;
    // Same-region replicas report the source's bare identifier, cross-region ones its ARN.
    const m = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(sourceArn);
    return source === sourceArn || (m !== null && m[1] === region && source === m[2]);
  }

  return {
    /** Whether an instance exists, is fenced by drover, and may take writes. A missing instance is not an error. */
    async fenceState(input: { region: string; identifier: string }): Promise<FenceState> {
      const db = await find(input.region, input.identifier);
      if (!db) return { exists: false, fenced: false, writable: false, securityGroups: [] };
      const arn = db.DBInstanceArn ?? '';
      const tagSet = await tags(input.region, arn);
      const status = db.DBInstanceStatus ?? 'unknown';
      const standalone = isStandalone(db);
      const fenced = FENCED_TAG in tagSet;
      return { exists: true, status, arn, standalone, fenced, writable: WRITER_STATUSES.has(status) && standalone && !fenced, securityGroups: groupIds(db), ...encryption(db), ...createdAt(db) };
    },

    /**
     * Stop writes by swapping the instance's VPC security groups for the fence group. The original
     * groups are tagged on the instance before the swap, so a worker killed mid-way never loses them.
     */
    async fenceInstance(input: {
      region: string;
      identifier: string;
      fenceGroupName: string;
      timeoutMs?: number;
    }): Promise<{ alreadyFenced: boolean; previousGroups: string[]; fenceGroupId: string; arn: string; requestId?: string }> {
      const { region, identifier } = input;
      if (!input.fenceGroupName) throw fail(FailureType.Validation, `fencing ${identifier} needs the fence security group's name`);
      const db = await mustFind(region, identifier);
      const arn = db.DBInstanceArn ?? '';
      // Resolved before anything changes: a missing fence group leaves the instance untouched.
      const fenceId = await fenceGroupId(region, input.fenceGroupName, db.DBSubnetGroup?.VpcId);
      const current = groupIds(db);
      const recorded = (await tags(region, arn))[FENCED_TAG];
      const timeoutMs = input.timeoutMs ?? 30 * 60_000;

      if (recorded !== undefined && sameSet(current, [fenceId])) {
        await waitGroups(region, identifier, [fenceId], timeoutMs);
        return { alreadyFenced: true, previousGroups: splitGroups(recorded), fenceGroupId: fenceId, arn };
      }
      if (recorded === undefined && sameSet(current, [fenceId])) {
        throw fail(FailureType.InvalidState, `DB instance ${identifier} is already in only the fence group ${fenceId} but has no ${FENCED_TAG} tag: its own security groups are unknown`);
      }
      // A tag without the swap means an earlier attempt stopped between the two: its record is the original.
      const previousGroups = recorded !== undefined ? splitGroups(recorded) : current;
      if (recorded === undefined) {
        await aws('rds:AddTagsToResource', () => rds(region).addTagsToResource({ ResourceName: arn, Tags: [{ Key: FENCED_TAG, Value: current.join(' ') }] }));
      }
      // A fence that lands in the backup window (backing-up) or during a modification waits for it, then swaps.
      const out = await aws('rds:ModifyDBInstance(VpcSecurityGroupIds)', () =>
        whenSettled(rds(region), region, identifier, 'rds:ModifyDBInstance(VpcSecurityGroupIds)', () => rds(region).modifyDBInstance({ DBInstanceIdentifier: identifier, VpcSecurityGroupIds: [fenceId], ApplyImmediately: true }), timeoutMs),
      );
      await waitGroups(region, identifier, [fenceId], timeoutMs);
      return { alreadyFenced: false, previousGroups, fenceGroupId: fenceId, arn, requestId: out.$metadata.requestId };
    },

    /** Give a fenced instance its own security groups back, then drop the fence tag. No tag: nothing to do. */
    async unfenceInstance(input: { region: string; identifier: string; timeoutMs?: number }): Promise<{ unfenced: boolean; restoredGroups?: string[]; arn: string; requestId?: string; readOnly?: ReleaseResult }> {
      const { region, identifier } = input;
      const db = await mustFind(region, identifier);
      const arn = db.DBInstanceArn ?? '';
      const recorded = (await tags(region, arn))[FENCED_TAG];
      if (recorded === undefined) return { unfenced: false, arn };
      const restoredGroups = splitGroups(recorded);
      if (restoredGroups.length === 0) throw fail(FailureType.InvalidState, `DB instance ${identifier} has an empty ${FENCED_TAG} tag: no security groups to restore`);
      // The fence's read_only goes with it, whoever unfences (a failed promotion's compensation, a drill's rollback):
      // a writer that takes writes again must not refuse them. Before the groups: still fenced while it is restored.
      // A refused restore (permissions, a throttled region past its retries) never keeps the writer fenced: the groups
      // are restored all the same, and the answer says read_only was not.
      const readOnly = /^(mariadb|mysql)$/.test(db.Engine ?? '')
        ? await readOnlyGroups(rds)
            .release(region, db)
            .catch((e: unknown): ReleaseResult => ({ released: false, failed: (e as Error).message }))
        : undefined;
      let requestId: string | undefined;
      if (!sameSet(groupIds(db), restoredGroups)) {
        const out = await aws('rds:ModifyDBInstance(VpcSecurityGroupIds)', () =>
          whenSettled(rds(region), region, identifier, 'rds:ModifyDBInstance(VpcSecurityGroupIds)', () => rds(region).modifyDBInstance({ DBInstanceIdentifier: identifier, VpcSecurityGroupIds: restoredGroups, ApplyImmediately: true }), input.timeoutMs),
        );
        requestId = out.$metadata.requestId;
      }
      await waitGroups(region, identifier, restoredGroups, input.timeoutMs ?? 30 * 60_000);
      // The tag goes last: until the groups are back, a retry must still know what to restore.
      await aws('rds:RemoveTagsFromResource', () => rds(region).removeTagsFromResource({ ResourceName: arn, TagKeys: [FENCED_TAG] }));
      return { unfenced: true, restoredGroups, arn, requestId, ...(readOnly?.released || readOnly?.failed || readOnly?.on ? { readOnly } : {}) };
    },

    /** Take a manual snapshot under a fixed id; an existing one is only waited for. */
    async snapshotInstance(input: {
      region: string;
      identifier: string;
      snapshotId: string;
      timeoutMs?: number;
    }): Promise<{ snapshotId: string; arn?: string; status: string; created: boolean }> {
      const { region, identifier, snapshotId } = input;
      const existing = await findSnapshot(region, snapshotId);
      if (existing && existing.DBInstanceIdentifier !== identifier) {
        throw fail(FailureType.InvalidState, `snapshot ${snapshotId} in ${region} already exists for instance ${existing.DBInstanceIdentifier}, not ${identifier}`);
      }
      let created = false;
      if (!existing) {
        try {
          await whenSettled(rds(region), region, identifier, 'rds:CreateDBSnapshot', () => rds(region).createDBSnapshot({ DBInstanceIdentifier: identifier, DBSnapshotIdentifier: snapshotId }), input.timeoutMs);
          created = true;
        } catch (err) {
          // An earlier attempt's call landed after all.
          if (!/DBSnapshotAlreadyExists/.test(awsErrorCode(err) ?? '')) throw toFailure(err, 'rds:CreateDBSnapshot');
        }
      }
      const snap = await pollUntil(
        { what: `snapshot ${snapshotId} to be available`, timeoutMs: input.timeoutMs ?? 4 * 60 * 60_000, initialIntervalMs: 500, maxIntervalMs: 30_000 },
        async () => {
          const s = await findSnapshot(region, snapshotId);
          const status = s?.Status ?? 'not visible yet';
          if (STUCK.has(status)) throw fail(FailureType.InvalidState, `snapshot ${snapshotId} is ${status}`);
          return { done: status === 'available', value: s as DBSnapshot, progress: `${status}${s?.PercentProgress !== undefined ? ` ${s.PercentProgress}%` : ''}` };
        },
      );
      return { snapshotId, arn: snap.DBSnapshotArn, status: snap.Status ?? 'available', created };
    },

    /**
     * Take an old primary out of service: `keep` renames it to `retiredIdentifier` and tags it with
     * the reason; `delete` deletes it without a final snapshot (the caller took one). Either way the
     * original identifier is free afterwards, ready for a new replica.
     */
    async retireInstance(input: {
      region: string;
      identifier: string;
      policy: 'keep' | 'delete';
      retiredIdentifier: string;
      reason: string;
      timeoutMs?: number;
    }): Promise<{ action: 'renamed' | 'deleted' | 'already-done'; retiredIdentifier?: string }> {
      const { region, identifier, retiredIdentifier } = input;
      const timeoutMs = input.timeoutMs ?? 60 * 60_000;
      const original = await find(region, identifier);

      // An instance under deletion protection cannot be deleted ("the database can't be deleted when deletion
      // protection is enabled": AWS SDK reference, DBInstance.DeletionProtection): it is kept, renamed, instead.
      const policy = input.policy === 'delete' && original?.DeletionProtection ? 'keep' : input.policy;
      const reason = policy === input.policy ? input.reason : `${input.reason}; kept: deletion protection is on`;
      if (policy === 'delete') {
        if (!original) {
          // A retry after an earlier attempt kept (renamed) a protected instance: that rename is the outcome.
          const kept = retiredIdentifier && retiredIdentifier !== identifier ? await find(region, retiredIdentifier) : undefined;
          if (kept && RETAINED_TAG in (await tags(region, kept.DBInstanceArn ?? ''))) return { action: 'renamed', retiredIdentifier };
          return { action: 'already-done' };
        }
        if (original.DBInstanceStatus !== 'deleting') {
          try {
            // Right after its final snapshot the instance is still backing-up: the deletion waits for it.
            await whenSettled(rds(region), region, identifier, 'rds:DeleteDBInstance', () => rds(region).deleteDBInstance({ DBInstanceIdentifier: identifier, SkipFinalSnapshot: true, DeleteAutomatedBackups: false }), timeoutMs);
          } catch (err) {
            if (!/DBInstanceNotFound/.test(awsErrorCode(err) ?? '')) throw toFailure(err, 'rds:DeleteDBInstance');
          }
        }
        await waitGone(region, identifier, timeoutMs);
        return { action: 'deleted' };
      }

      if (!retiredIdentifier || retiredIdentifier === identifier) {
        throw fail(FailureType.Validation, `retiring ${identifier} with policy keep needs a different retiredIdentifier (got "${retiredIdentifier}")`);
      }
      const reasonTag = [
        { Key: RETAINED_TAG, Value: rdsTagValue(reason) },
        { Key: RETAINED_AT_TAG, Value: new Date().toISOString() },
      ];
      const retired = await find(region, retiredIdentifier);
      if (!original) {
        if (!retired) throw fail(FailureType.NotFound, `neither ${identifier} nor its retired name ${retiredIdentifier} exists in ${region}`);
        const arn = retired.DBInstanceArn ?? '';
        if (!(RETAINED_TAG in (await tags(region, arn)))) {
          await aws('rds:AddTagsToResource', () => rds(region).addTagsToResource({ ResourceName: arn, Tags: reasonTag }));
        }
        return { action: 'already-done', retiredIdentifier };
      }
      // moto 5.2.5 renames onto an existing identifier without complaint (real RDS refuses), so check first.
      if (retired) throw fail(FailureType.InvalidState, `cannot retire ${identifier} as ${retiredIdentifier}: ${retiredIdentifier} already exists in ${region}`);
      if (original.DBInstanceStatus !== 'renaming') {
        // Tagged before the rename (tags follow the instance), so the reason is never missing afterwards.
        await aws('rds:AddTagsToResource', () => rds(region).addTagsToResource({ ResourceName: original.DBInstanceArn, Tags: reasonTag }));
        await aws('rds:ModifyDBInstance(NewDBInstanceIdentifier)', () =>
          whenSettled(rds(region), region, identifier, 'rds:ModifyDBInstance(NewDBInstanceIdentifier)', () => rds(region).modifyDBInstance({ DBInstanceIdentifier: identifier, NewDBInstanceIdentifier: retiredIdentifier, ApplyImmediately: true }), timeoutMs),
        );
      }
      await pollUntil({ what: `${identifier} to be renamed to ${retiredIdentifier}`, timeoutMs, initialIntervalMs: 500, maxIntervalMs: 15_000 }, async () => {
        const [before, after] = await Promise.all([find(region, identifier), find(region, retiredIdentifier)]);
        return { done: !before && after?.DBInstanceStatus === 'available', value: undefined, progress: `${identifier}: ${before?.DBInstanceStatus ?? 'gone'}, ${retiredIdentifier}: ${after?.DBInstanceStatus ?? 'not yet'}` };
      });
      return { action: 'renamed', retiredIdentifier };
    },

    /**
     * The instances drover retired for these identifiers in a region: named `<identifier>-old-<time>[-<tag>]`
     * exactly and tagged retained (an instance merely named so is not drover's, and is left out). Reads only.
     */
    async listRetained(input: { region: string; identifiers: string[] }): Promise<RetainedInstance[]> {
      const found: RetainedInstance[] = [];
      let marker: string | undefined;
      do {
        // DescribeDBInstances pages with Marker (MaxRecords 20-100) and filters by no name prefix, so every page
        // is read; each instance comes with its TagList (ListTagsForResource only where a response lacks it).
        const page = await aws('rds:DescribeDBInstances', () => rds(input.region).describeDBInstances({ MaxRecords: 100, Marker: marker }));
        for (const db of page.DBInstances ?? []) {
          const id = db.DBInstanceIdentifier ?? '';
          if (!input.identifiers.some((original) => isRetiredName(id, original))) continue;
          const tagSet = db.TagList ? Object.fromEntries(db.TagList.map((t) => [t.Key ?? '', t.Value ?? ''])) : await tags(input.region, db.DBInstanceArn ?? '');
          if (!(RETAINED_TAG in tagSet)) continue;
          const tagged = Date.parse(tagSet[RETAINED_AT_TAG] ?? '');
          found.push({
            region: input.region,
            identifier: id,
            status: db.DBInstanceStatus ?? 'unknown',
            instanceClass: db.DBInstanceClass,
            // Its retained-at tag, else the time in its name; never its creation time (the original's, long before).
            retainedAt: Number.isNaN(tagged) ? retiredNameTime(id) : tagged,
            reason: tagSet[RETAINED_TAG],
            deletionProtection: db.DeletionProtection === true,
            readReplicas: await replicasOf(input.region, db),
          });
        }
        marker = page.Marker;
      } while (marker);
      return found.sort((a, b) => a.identifier.localeCompare(b.identifier));
    },

    /**
     * Ask RDS to delete an instance drover retired, without another snapshot: only once `snapshotId` (the final
     * snapshot the caller took) is there, available and of this instance. Only an instance tagged retained,
     * without deletion protection and without read replicas (deleting it would promote them) is deleted.
     * Returns once RDS accepted the deletion; `waitDeleted` waits for it to finish. One already gone is done.
     */
    async requestDeleteRetained(input: { region: string; identifier: string; snapshotId: string }): Promise<{ action: 'requested' | 'already-done' }> {
      const { region, identifier, snapshotId } = input;
      const db = await find(region, identifier);
      if (!db) return { action: 'already-done' };
      if (db.DBInstanceStatus === 'deleting') return { action: 'requested' };
      const refuse = (why: string) => fail(FailureType.InvalidState, `DB instance ${identifier} in ${region} ${why}`);
      if (!(RETAINED_TAG in (await tags(region, db.DBInstanceArn ?? '')))) throw refuse(`has no ${RETAINED_TAG} tag: drover did not retire it, so it does not delete it`);
      if (db.DeletionProtection) throw refuse('has deletion protection: turn it off to let cleanup delete it');
      const replicas = await replicasOf(region, db);
      if (replicas.length > 0) throw refuse(`has read replicas (${replicas.join(', ')}): deleting it would promote them`);
      const snap = await findSnapshot(region, snapshotId);
      if (snap?.Status !== 'available' || snap.DBInstanceIdentifier !== identifier) {
        throw refuse(`is not deleted: its final snapshot ${snapshotId} is ${snap ? `${snap.Status} (of ${snap.DBInstanceIdentifier})` : 'missing'}`);
      }
      try {
        await whenSettled(rds(region), region, identifier, 'rds:DeleteDBInstance', () => rds(region).deleteDBInstance({ DBInstanceIdentifier: identifier, SkipFinalSnapshot: true, DeleteAutomatedBackups: false }));
      } catch (err) {
        if (!/DBInstanceNotFound/.test(awsErrorCode(err) ?? '')) throw toFailure(err, 'rds:DeleteDBInstance');
      }
      return { action: 'requested' };
    },

    /** Wait until an instance no longer exists (a deletion under way ends). */
    async waitDeleted(input: { region: string; identifier: string; timeoutMs?: number }): Promise<void> {
      await waitGone(input.region, input.identifier, input.timeoutMs ?? 60 * 60_000);
    },

    /**
     * Create a read replica of `sourceArn` (cross-region: the source's ARN) named `identifier`, and wait
     * until it is available. An existing replica of the same source is reused; anything else under that name is refused.
     */
    async createReplica(input: {
      region: string;
      identifier: string;
      sourceArn: string;
      instanceClass: string;
      securityGroupIds?: string[];
      /**
       * The KMS key of `region` the replica is encrypted with, for an encrypted source in another region: "If you
       * create an encrypted read replica in a different AWS Region, then you must specify a KMS key identifier for the
       * destination AWS Region" (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html,
       * KmsKeyId). (PreSignedUrl, which the SDK signs for a source in another region, is read only in GovCloud and China regions.)
       */
      kmsKeyId?: string;
      /**
       * The configuration the replica is made with, resolved in `region` (activities/dbconfig.ts): given at creation
       * where CreateDBInstanceReadReplica takes it, set after it with ModifyDBInstance where it does not (backups: "RDS
       * creates read replicas with backups disabled"; a parameter group, which the creation takes "only ... for MySQL DB
       * instances for cross-Region read replicas"), and checked again on a retry that finds the replica made.
       */
      config?: DbConfig;
      /** The engine, for what the creation takes (a parameter group: MySQL only). */
      engine?: string;
      tags?: Record<string, string>;
      timeoutMs?: number;
    }): Promise<{ created: boolean; arn: string; endpoint?: string; modified?: string[]; notes?: string[] }> {
      const { region, identifier, sourceArn } = input;
      const sourceRegion = /^arn:[^:]+:rds:([^:]+):/.exec(sourceArn)?.[1];
      if (!/^arn:[^:]+:rds:[^:]+:[^:]*:db:.+$/.test(sourceArn)) {
        throw fail(FailureType.Validation, `replica source must be a DB instance ARN, got "${sourceArn}"`);
      }
      const refuseUnlessReplica = async (db: DBInstance) => {
        if (!replicates(db, region, sourceArn)) {
          const source = db.ReadReplicaSourceDBInstanceIdentifier;
          throw fail(FailureType.InvalidState, `DB instance ${identifier} already exists in ${region} and is not a replica of ${sourceArn} (${source ? `source: ${source}` : 'standalone'})`);
        }
      };

      // moto 5.2.5 accepts a second CreateDBInstanceReadReplica for an existing identifier (real RDS
      // answers DBInstanceAlreadyExists), so this check is what keeps a retry from creating twice.
      const existing = await find(region, identifier);
      let created = false;
      if (existing) {
        await refuseUnlessReplica(existing);
      } else {
        try {
          await rds(region).createDBInstanceReadReplica({
            DBInstanceIdentifier: identifier,
            SourceDBInstanceIdentifier: sourceArn,
            DBInstanceClass: input.instanceClass,
            ...(input.securityGroupIds?.length ? { VpcSecurityGroupIds: input.securityGroupIds } : {}),
            ...(input.kmsKeyId ? { KmsKeyId: input.kmsKeyId } : {}),
            ...(input.config ? creation(input.config, { crossRegion: sourceRegion !== region, engine: input.engine }) : {}),
            ...(input.tags || input.config ? { Tags: Object.entries({ ...input.config?.tags, ...input.tags }).map(([Key, Value]) => ({ Key, Value })) } : {}),
          });
          created = true;
        } catch (err) {
          if (!/DBInstanceAlreadyExists/.test(awsErrorCode(err) ?? '')) throw toFailure(err, 'rds:CreateDBInstanceReadReplica');
          await refuseUnlessReplica(await mustFind(region, identifier));
        }
      }
      const timeoutMs = input.timeoutMs ?? 4 * 60 * 60_000;
      let db = await waitAvailable(region, identifier, timeoutMs);
      if (!input.config) return { created, arn: db.DBInstanceArn ?? '', endpoint: db.Endpoint?.Address };
      // What the creation did not set (or a replica made by an earlier attempt does not have): modified after it.
      // Backups apart: an engine may refuse them on a replica (its promotion then sets the retention it had), and that
      // refusal must not take the parameter group or the groups with it. Every other refusal is the activity's.
      const { BackupRetentionPeriod, PreferredBackupWindow, ...rest } = afterCreation(db, input.config);
      const backups = { ...(BackupRetentionPeriod !== undefined ? { BackupRetentionPeriod } : {}), ...(PreferredBackupWindow ? { PreferredBackupWindow } : {}) };
      const notes: string[] = [];
      const modified: string[] = [];
      const modify = (changes: Partial<ModifyDBInstanceMessage>) => whenSettled(rds(region), region, identifier, 'rds:ModifyDBInstance', () => rds(region).modifyDBInstance({ DBInstanceIdentifier: identifier, ApplyImmediately: true, ...changes }), timeoutMs);
      if (Object.keys(rest).length > 0) {
        await modify(rest).catch((err: unknown) => {
          throw err instanceof ApplicationFailure ? err : toFailure(err, 'rds:ModifyDBInstance');
        });
        modified.push(...Object.keys(rest));
        db = rest.VpcSecurityGroupIds ? await waitGroups(region, identifier, rest.VpcSecurityGroupIds, timeoutMs) : await waitAvailable(region, identifier, timeoutMs);
      }
      if (Object.keys(backups).length > 0) {
        try {
          await modify(backups);
          modified.push(...Object.keys(backups));
        } catch (err) {
          if (!/InvalidParameterCombination|InvalidParameterValue/.test(awsErrorCode(err) ?? '')) throw toFailure(err, 'rds:ModifyDBInstance');
          notes.push(`${identifier}: RDS refused backups on the replica (${awsErrorCode(err)}: ${(err as Error).message}); its promotion enables them`);
        }
        db = await waitAvailable(region, identifier, timeoutMs);
      }
      // A parameter group set after the creation applies at the next reboot ("isn't rebooted automatically").
      const group = db.DBParameterGroups?.[0];
      if (group?.ParameterApplyStatus === 'pending-reboot') notes.push(`${identifier}: parameter group ${group.DBParameterGroupName} applies at its next reboot (pending-reboot); its promotion reboots it`);
      return { created, arn: db.DBInstanceArn ?? '', endpoint: db.Endpoint?.Address, modified, ...(notes.length ? { notes } : {}) };
    },
  };
}

/** The gp3 size from which RDS for MySQL, MariaDB and PostgreSQL takes IOPS and throughput of the team's choosing. */
const GP3_PROVISIONED_FROM_GIB = 400;

/**
 * What CreateDBInstanceReadReplica takes of a configuration (API_CreateDBInstanceReadReplica): a subnet group only
 * across regions ("The DBSubnetGroup shouldn't be specified while creating read replicas that lie in the same region as
 * the source instance", DBSubnetGroupNotAllowedFault), a parameter group only for MySQL across regions.
 */
export function creation(c: DbConfig, opts: { crossRegion: boolean; engine?: string }): Partial<CreateDBInstanceReadReplicaMessage> {
  const given = <T>(v: T | undefined | null) => v !== undefined && v !== null;
  const out: Partial<CreateDBInstanceReadReplicaMessage> = {};
  if (c.instanceClass) out.DBInstanceClass = c.instanceClass;
  if (opts.crossRegion && c.subnetGroup) out.DBSubnetGroupName = c.subnetGroup;
  if (c.securityGroupIds.length > 0) out.VpcSecurityGroupIds = [...c.securityGroupIds];
  if (given(c.port)) out.Port = c.port;
  if (c.networkType) out.NetworkType = c.networkType;
  if (opts.crossRegion && opts.engine === 'mysql' && c.parameterGroup) out.DBParameterGroupName = c.parameterGroup;
  if (c.optionGroup) out.OptionGroupName = c.optionGroup;
  if (c.storageEncrypted && c.kmsKeyId) out.KmsKeyId = c.kmsKeyId;
  if (c.storageType) out.StorageType = c.storageType;
  if (given(c.allocatedStorage)) out.AllocatedStorage = c.allocatedStorage;
  // gp3 below 400 GiB has its baseline (3000 IOPS, 125 MiBps), which RDS reports but refuses to be given ("You can't
  // specify IOPS or storage throughput for engine mysql and a storage size less than 400"): given only above it.
  const provisioned = c.storageType !== 'gp3' || (c.allocatedStorage ?? 0) >= GP3_PROVISIONED_FROM_GIB;
  if (c.iops && provisioned) out.Iops = c.iops;
  if (c.storageThroughput && c.storageType === 'gp3' && provisioned) out.StorageThroughput = c.storageThroughput;
  if (given(c.maxAllocatedStorage)) out.MaxAllocatedStorage = c.maxAllocatedStorage;
  if (given(c.multiAz)) out.MultiAZ = c.multiAz;
  if (c.monitoringInterval) {
    out.MonitoringInterval = c.monitoringInterval;
    if (c.monitoringRoleArn) out.MonitoringRoleArn = c.monitoringRoleArn;
  }
  if (given(c.performanceInsights)) out.EnablePerformanceInsights = c.performanceInsights;
  if (c.performanceInsights && c.performanceInsightsKmsKeyId) out.PerformanceInsightsKMSKeyId = c.performanceInsightsKmsKeyId;
  if (c.performanceInsights && c.performanceInsightsRetention) out.PerformanceInsightsRetentionPeriod = c.performanceInsightsRetention;
  if (given(c.iamAuth)) out.EnableIAMDatabaseAuthentication = c.iamAuth;
  if (given(c.deletionProtection)) out.DeletionProtection = c.deletionProtection;
  if (c.caCertificate) out.CACertificateIdentifier = c.caCertificate;
  if (given(c.copyTagsToSnapshot)) out.CopyTagsToSnapshot = c.copyTagsToSnapshot;
  return out;
}

/** The settings a replica differs in from `c` that ModifyDBInstance sets: backups and maintenance, groups, the parameter group, protection. */
export function afterCreation(db: DBInstance, c: DbConfig): Partial<ModifyDBInstanceMessage> {
  const out: Partial<ModifyDBInstanceMessage> = {};
  if (c.backupRetention !== undefined && (db.BackupRetentionPeriod ?? 0) !== c.backupRetention) out.BackupRetentionPeriod = c.backupRetention;
  if (c.backupWindow && db.PreferredBackupWindow !== c.backupWindow) out.PreferredBackupWindow = c.backupWindow;
  if (c.maintenanceWindow && db.PreferredMaintenanceWindow !== c.maintenanceWindow) out.PreferredMaintenanceWindow = c.maintenanceWindow;
  const groups = groupIds(db);
  if (c.securityGroupIds.length > 0 && !sameSet(groups, c.securityGroupIds)) out.VpcSecurityGroupIds = [...c.securityGroupIds];
  if (c.parameterGroup && db.DBParameterGroups?.[0]?.DBParameterGroupName !== c.parameterGroup) out.DBParameterGroupName = c.parameterGroup;
  if (c.deletionProtection !== undefined && (db.DeletionProtection ?? false) !== c.deletionProtection) out.DeletionProtection = c.deletionProtection;
  if (c.caCertificate && db.CACertificateIdentifier !== c.caCertificate) out.CACertificateIdentifier = c.caCertificate;
  if (c.copyTagsToSnapshot !== undefined && (db.CopyTagsToSnapshot ?? false) !== c.copyTagsToSnapshot) out.CopyTagsToSnapshot = c.copyTagsToSnapshot;
  return out;
}
