import type { DBInstance } from '@aws-sdk/client-rds';
import type { RdsLifecycleApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { inActivity } from './wait';

// The fence's read_only on a MariaDB writer (docs/fence.md, "Writes the engine refuses"): `read_only` = 1 in the
// writer's own DB parameter group, and its restore. Shared by the fence (activities/engines.ts) and every unfence
// (activities/dblifecycle.ts), so no path that lets the writer take writes again leaves it refusing them.

/** The parameter. */
const READ_ONLY = 'read_only';
/**
 * The tag on the group that keeps what read_only was before drover set it: `default` (the engine's or RDS's,
 * `{TrueIfReplica}` on RDS) or `user:0`, an off value the team set. Written before the change, removed after the
 * restore, so a retried attempt, a cancelled run's compensation, a later unfence or a person restores the team's value.
 */
export const READ_ONLY_TAG = 'drover:read-only-from';

/** read_only's off values as a group may hold them: a writer's group can have only these; drover restores them as `0`. */
const OFF = /^(0|off|false)$/i;
/** On values: a writer whose group holds one refuses every write. */
const ON = /^(1|on|true)$/i;
/** The default's own formula, set by hand: restored as the default (braces are not allowed in a tag value). */
const DEFAULT_FORMULA = /^\{TrueIfReplica\}$/i;

/** A tag drover writes: `default` or `user:0`. Anything else (a planted `user:1`) is not trusted. */
const wellFormed = (tag: string) => tag === 'default' || tag === 'user:0';

/** What a tag says to restore; one drover does not write is reset to the default. */
function restoreOf(tag: string): { reset: true; odd?: string } | { reset: false; value: string } {
  if (!wellFormed(tag)) return { reset: true, odd: tag };
  return tag === 'default' ? { reset: true } : { reset: false, value: tag.slice(5) };
}

export type HoldResult = { held: true; group: string; from: string } | { held: false; reason: string };
/**
 * `on`: the group holds read_only on with no tag of drover's (the team's own setting): said, never changed (a writer
 * with it refuses every write). `failed`: the restore was refused (an unfence still restores the groups).
 */
export type ReleaseResult = { released: boolean; group?: string; restored?: string; note?: string; on?: string; failed?: string };

export function readOnlyGroups(rds: (region: string) => RdsLifecycleApi) {
  const beat = (progress: string) => inActivity()?.heartbeat({ progress });
  /** Before each change: a beat (an attempt the workflow gave up on stops here, at its next heartbeat) and the cancel. */
  const beforeChange = (what: string) => {
    beat(what);
    const ctx = inActivity();
    if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
  };

  /** The instance's DB parameter group and its ARN (what the tag is kept on). */
  async function groupOf(region: string, db: DBInstance): Promise<{ name: string; arn: string } | undefined> {
    const name = db.DBParameterGroups?.[0]?.DBParameterGroupName;
    if (!name) return undefined;
    const g = (await aws(`rds:DescribeDBParameterGroups(${name})`, () => rds(region).describeDBParameterGroups({ DBParameterGroupName: name }))).DBParameterGroups?.[0];
    return g?.DBParameterGroupArn ? { name, arn: g.DBParameterGroupArn } : undefined;
  }

  /** The writers (not replicas) of the engine in the region, other than `identifier`, that use the group. */
  async function otherWritersUsing(region: string, db: DBInstance, group: string): Promise<string[]> {
    const found: string[] = [];
    let marker: string | undefined;
    do {
      const page = await aws('rds:DescribeDBInstances', () => rds(region).describeDBInstances({ ...(db.Engine ? { Filters: [{ Name: 'engine', Values: [db.Engine] }] } : {}), ...(marker ? { Marker: marker } : {}) }));
      for (const other of page.DBInstances ?? []) {
        if (other.DBInstanceIdentifier === db.DBInstanceIdentifier || other.ReadReplicaSourceDBInstanceIdentifier) continue;
        if ((other.DBParameterGroups ?? []).some((g) => g.DBParameterGroupName === group)) found.push(other.DBInstanceIdentifier ?? '?');
      }
      marker = page.Marker;
      beat(`instances sharing ${group}: ${found.length} so far`);
    } while (marker);
    return found;
  }

  /** read_only as the team set it in the group (`Source: user`), or undefined when it is the default. */
  async function userValue(region: string, group: string): Promise<string | undefined> {
    let marker: string | undefined;
    do {
      const page = await aws(`rds:DescribeDBParameters(${group})`, () => rds(region).describeDBParameters({ DBParameterGroupName: group, Source: 'user', ...(marker ? { Marker: marker } : {}) }));
      const p = page.Parameters?.find((x) => x.ParameterName === READ_ONLY);
      // AWS answers only the team's own with Source user; moto lists only what a request set, without a Source.
      if (p) return p.Source === undefined || p.Source === 'user' ? (p.ParameterValue ?? '') : undefined;
      marker = page.Marker;
      beat(`reading ${group}`);
    } while (marker);
    return undefined;
  }

  async function tagOf(region: string, arn: string): Promise<string | undefined> {
    const tags = await aws('rds:ListTagsForResource', () => rds(region).listTagsForResource({ ResourceName: arn }));
    return tags.TagList?.find((t) => t.Key === READ_ONLY_TAG)?.Value;
  }

  async function reset(region: string, group: string): Promise<void> {
    await aws(`rds:ResetDBParameterGroup(${group})`, () => rds(region).resetDBParameterGroup({ DBParameterGroupName: group, Parameters: [{ ParameterName: READ_ONLY, ApplyMethod: 'immediate' }] }));
  }

  async function set(region: string, group: string, value: string): Promise<void> {
    await aws(`rds:ModifyDBParameterGroup(${group})`, () => rds(region).modifyDBParameterGroup({ DBParameterGroupName: group, Parameters: [{ ParameterName: READ_ONLY, ParameterValue: value, ApplyMethod: 'immediate' }] }));
  }

  return {
    /**
     * read_only = 1 in the writer's own group, applied immediately (a dynamic parameter: "changes to dynamic parameters
     * are applied immediately to the DB instances associated with the parameter group", ModifyDBParameterGroup). Not
     * held, said why, where it would reach beyond the writer (a default group, which RDS lets no one modify; a group
     * another writer of the region uses) or where the group already says read_only. What the group had goes into the
     * tag first; the default is reset once before (it is already the default: nothing changes) to prove the restore
     * will be allowed. Idempotent: a retried attempt finds its tag and sets read_only again.
     */
    async hold(region: string, db: DBInstance): Promise<HoldResult> {
      const id = db.DBInstanceIdentifier ?? '?';
      const group = await groupOf(region, db);
      if (!group) return { held: false, reason: `${id} has no DB parameter group drover can read` };
      if (group.name.startsWith('default.')) return { held: false, reason: `${id} uses the default parameter group ${group.name}, which RDS does not let anyone modify (give it a group of its own)` };
      const others = await otherWritersUsing(region, db, group.name);
      if (others.length > 0) return { held: false, reason: `its parameter group ${group.name} is also that of ${others.join(', ')}: read_only would stop their writes too` };
      // A well-formed tag is an earlier attempt's (or an earlier run's, never restored): what the team had is in it.
      let from = await tagOf(region, group.arn);
      if (from === undefined || !wellFormed(from)) {
        const user = await userValue(region, group.name);
        if (user !== undefined && !OFF.test(user) && !DEFAULT_FORMULA.test(user)) return { held: false, reason: `its parameter group ${group.name} already sets read_only = ${user}` };
        from = user === undefined || DEFAULT_FORMULA.test(user) ? 'default' : 'user:0';
        if (from === 'default') {
          beforeChange('proving the restore');
          await reset(region, group.name);
        }
        beforeChange('tagging');
        await aws('rds:AddTagsToResource', () => rds(region).addTagsToResource({ ResourceName: group.arn, Tags: [{ Key: READ_ONLY_TAG, Value: from }] }));
      }
      beforeChange('setting read_only');
      await set(region, group.name, '1');
      return { held: true, group: group.name, from };
    },

    /**
     * Undo hold: read_only back to what the tag says (ResetDBParameterGroup for the default, the team's off value
     * otherwise), then the tag removed. `from` (what the hold answered) restores a group whose tag is gone but whose
     * read_only is still 1. Nothing to do otherwise. Idempotent: restored before the tag goes.
     */
    async release(region: string, db: DBInstance, from?: string): Promise<ReleaseResult> {
      const group = await groupOf(region, db);
      if (!group) return { released: false };
      const tag = await tagOf(region, group.arn);
      if (tag === undefined) {
        // No tag: drover holds nothing here, unless the hold's own answer says it did (the tag gone since).
        const user = group.name.startsWith('default.') ? undefined : await userValue(region, group.name);
        const on = user !== undefined && ON.test(user);
        if (!on) return { released: false, group: group.name };
        if (from === undefined || !wellFormed(from)) return { released: false, group: group.name, on: user };
      }
      const to = restoreOf(tag ?? from ?? 'default');
      if (to.reset) await reset(region, group.name);
      else await set(region, group.name, to.value);
      if (tag !== undefined) await aws('rds:RemoveTagsFromResource', () => rds(region).removeTagsFromResource({ ResourceName: group.arn, TagKeys: [READ_ONLY_TAG] }));
      const note = tag === undefined ? `its ${READ_ONLY_TAG} tag was gone: restored from what the fence recorded` : 'odd' in to && to.odd ? `its ${READ_ONLY_TAG} tag said ${to.odd}, not a value drover writes: reset to the default` : undefined;
      return { released: true, group: group.name, restored: to.reset ? 'the default' : to.value, ...(note ? { note } : {}) };
    },
  };
}
