import type { DBInstance } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import type { CloudWatchApi, RdsApi } from '../aws/clients';
import { aws, awsErrorCode } from '../aws/errors';
import { WRITER_STATUSES } from '../contracts/rds-status';
import { whenSettled } from './settle';
import { pollUntil } from './wait';

export interface DbState {
  identifier: string;
  arn: string;
  region: string;
  status: string;
  endpoint?: string;
  /** The instance it replicates from, if it is (still) a read replica. */
  replicationSource?: string;
  /** True once drover's promotion of this instance has been acknowledged by RDS. */
  promotedByDrover: boolean;
  /** drover's fence tag is on it (a planned switchover fenced it; it is not the writer, whatever RDS says of replication). */
  fencedByDrover?: boolean;
  /** The KMS key its storage is encrypted with; absent when unencrypted. */
  kmsKeyId?: string;
  /** When RDS created it (InstanceCreateTime, epoch ms). */
  createdAt?: number;
  standalone: boolean;
}

export interface LagReading {
  lagSeconds: number;
  observedAt: string;
}

/** drover's acknowledgement of a promotion, tagged on the promoted instance. */
export const PROMOTED_TAG = 'drover:promoted-at';
/** drover's fence: the instance's security groups before the fence, as a tag (activities/dblifecycle.ts fences). */
export const FENCED_TAG = 'drover:fenced-from';

/** The run that asked RDS to promote an instance, tagged before it asks. */
export const PROMOTED_BY_TAG = 'drover:promoted-by';

/**
 * Whether an instance writes on its own: RDS clears its replication source once a promotion has made it
 * standalone. drover's own promotion tag is no proof (an instance tagged while a promotion was asked for may
 * still be a replica); moto, which keeps the source, answers through the `rds-promotion-clears-source`
 * fidelity rule in the tests.
 */
export function isStandalone(db: DBInstance): boolean {
  return !db.ReadReplicaSourceDBInstanceIdentifier;
}

/** An instance's KMS key when its storage is encrypted. */
export function encryption(db: DBInstance): { kmsKeyId?: string } {
  return db.StorageEncrypted && db.KmsKeyId ? { kmsKeyId: db.KmsKeyId } : {};
}

/** When RDS created an instance (InstanceCreateTime), when it says. */
export function createdAt(db: DBInstance): { createdAt?: number } {
  return db.InstanceCreateTime ? { createdAt: new Date(db.InstanceCreateTime).getTime() } : {};
}

/** RDS activities: instance state, replica lag from CloudWatch, idempotent promotion and its wait. */
export function createRdsActivities(rds: (region: string) => RdsApi, cloudwatch: (region: string) => CloudWatchApi) {
  async function tags(region: string, arn: string): Promise<Record<string, string>> {
    const out = await aws('rds:ListTagsForResource', () => rds(region).listTagsForResource({ ResourceName: arn }));
    return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function describe(region: string, identifier: string): Promise<DbState> {
    return (await described(region, identifier)).state;
  }

  /** An instance's state, and its tags (read for it anyway). */
  async function described(region: string, identifier: string): Promise<{ state: DbState; tags: Record<string, string>; db: DBInstance }> {
    const out = await aws(`rds:DescribeDBInstances(${identifier})`, () => rds(region).describeDBInstances({ DBInstanceIdentifier: identifier }));
    const db: DBInstance | undefined = out.DBInstances?.[0];
    if (!db) throw ApplicationFailure.create({ type: FailureType.NotFound, message: `DB instance ${identifier} not found in ${region}`, nonRetryable: true });
    const arn = db.DBInstanceArn ?? '';
    const tagSet = await tags(region, arn);
    const replicationSource = db.ReadReplicaSourceDBInstanceIdentifier || undefined;
    const state = {
      identifier,
      arn,
      region,
      status: db.DBInstanceStatus ?? 'unknown',
      endpoint: db.Endpoint?.Address,
      replicationSource,
      promotedByDrover: PROMOTED_TAG in tagSet,
      fencedByDrover: FENCED_TAG in tagSet,
      standalone: isStandalone(db),
      ...encryption(db),
      ...createdAt(db),
    };
    return { state, tags: tagSet, db };
  }

  /**
   * The newest ReplicaLag datapoint (Maximum over `periodMs`) taken at or after `since`, or null.
   * CloudWatch timestamps a datapoint with the start of its period.
   */
  async function latestLag(region: string, identifier: string, since: number, periodMs = 60_000): Promise<LagReading | null> {
    const out = await aws('cloudwatch:GetMetricStatistics(ReplicaLag)', () =>
      cloudwatch(region).getMetricStatistics({
        Namespace: 'AWS/RDS',
        MetricName: 'ReplicaLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: identifier }],
        StartTime: new Date(since),
        EndTime: new Date(Date.now() + 60_000),
        Period: Math.max(1, Math.round(periodMs / 1000)),
        Statistics: ['Maximum'],
      }),
    );
    const latest = (out.Datapoints ?? [])
      .filter((d) => d.Timestamp && d.Maximum !== undefined && (d.Timestamp as Date).getTime() >= since - 1000)
      .sort((a, b) => (b.Timestamp as Date).getTime() - (a.Timestamp as Date).getTime())[0];
    return latest ? { lagSeconds: latest.Maximum as number, observedAt: (latest.Timestamp as Date).toISOString() } : null;
  }

  return {
    describeDb: (input: { region: string; identifier: string }) => describe(input.region, input.identifier),

    /** Latest ReplicaLag datapoint of an instance in the last 10 minutes, or null when there is none. */
    async replicaLag(input: { region: string; identifier: string }): Promise<LagReading | null> {
      return latestLag(input.region, input.identifier, Date.now() - 10 * 60_000);
    },

    /**
     * Promote a read replica, idempotently: an instance already standalone is left alone, so a retried or re-run
     * activity never promotes twice. drover tags the run that asks (`drover:promoted-by`) before the call and that
     * RDS accepted (`drover:promoted-at`) after it; a retry that finds the instance standalone after this run asked
     * (its earlier call landed, its answer lost) completes the record. The promotion itself counts once RDS clears
     * the source (waitStandalone).
     */
    async promoteReplica(input: { region: string; identifier: string; runRef: string }): Promise<{ alreadyPromoted: boolean; requestId?: string; before: DbState }> {
      const { state: before, tags: tagSet, db } = await described(input.region, input.identifier);
      // The replica's backups as they are (drover enables them on the replicas it re-creates, as the team had them):
      // without BackupRetentionPeriod a promotion sets 1 day ("Default: 1", API_PromoteReadReplica).
      const backups = db.BackupRetentionPeriod ? { BackupRetentionPeriod: db.BackupRetentionPeriod, ...(db.PreferredBackupWindow ? { PreferredBackupWindow: db.PreferredBackupWindow } : {}) } : {};
      const runRef = input.runRef.slice(0, 255);
      const accepted = () => aws('rds:AddTagsToResource', () => rds(input.region).addTagsToResource({ ResourceName: before.arn, Tags: [{ Key: PROMOTED_TAG, Value: new Date().toISOString() }] }));
      if (before.standalone) {
        if (tagSet[PROMOTED_BY_TAG] === runRef && !(PROMOTED_TAG in tagSet)) await accepted();
        return { alreadyPromoted: true, before };
      }
      if (tagSet[PROMOTED_BY_TAG] !== runRef) await aws('rds:AddTagsToResource', () => rds(input.region).addTagsToResource({ ResourceName: before.arn, Tags: [{ Key: PROMOTED_BY_TAG, Value: runRef }] }));
      const out = await aws('rds:PromoteReadReplica', () =>
        whenSettled(rds(input.region), input.region, input.identifier, 'rds:PromoteReadReplica', async () => {
          try {
            return await rds(input.region).promoteReadReplica({ DBInstanceIdentifier: input.identifier, ...backups });
          } catch (err) {
            // Refused (InvalidDBInstanceState): a replica RDS has made standalone meanwhile is promoted (an earlier
            // call landed). Any other is busy or stuck, whatever the reason (a promotion under way included: it
            // becomes standalone, and a later attempt finds it so), and whenSettled waits for it or refuses; a
            // replica modifying for another reason is never taken for promoted.
            if (/^InvalidDBInstanceState/.test(awsErrorCode(err) ?? '') && (await describe(input.region, input.identifier)).standalone) return undefined;
            throw err;
          }
        }),
      );
      await accepted();
      return { alreadyPromoted: false, requestId: out?.$metadata.requestId, before };
    },

    /**
     * Wait, heartbeating the lag seen, until the newest ReplicaLag datapoint taken after `since` is 0:
     * with writes fenced, that is the moment no committed write is missing from the replica.
     */
    async waitLagZero(input: { region: string; identifier: string; since: number; periodMs: number; timeoutMs: number }): Promise<LagReading> {
      return pollUntil({ what: `ReplicaLag of ${input.identifier} to reach 0`, timeoutMs: input.timeoutMs, initialIntervalMs: 500, maxIntervalMs: 5000 }, async () => {
        // Only periods that start after the fence count: earlier samples say nothing about fenced writes.
        const reading = await latestLag(input.region, input.identifier, input.since, input.periodMs);
        return { done: reading?.lagSeconds === 0, value: reading as LagReading, progress: reading ? `lag ${reading.lagSeconds}s at ${reading.observedAt}` : 'no datapoint yet' };
      });
    },

    /** Wait, heartbeating the lag, until a replica's newest ReplicaLag datapoint is within `maxLagMs`. */
    async waitLagWithin(input: { region: string; identifier: string; maxLagMs: number; timeoutMs: number }): Promise<LagReading> {
      return pollUntil({ what: `ReplicaLag of ${input.identifier} within ${input.maxLagMs / 1000}s`, timeoutMs: input.timeoutMs, initialIntervalMs: 500, maxIntervalMs: 10_000 }, async () => {
        const reading = await latestLag(input.region, input.identifier, Date.now() - 5 * 60_000);
        // -1 is RDS's "replication isn't active" (RDS User Guide, USER_ReadRepl), never a lag within bounds.
        const progress = !reading ? 'no ReplicaLag datapoint yet' : reading.lagSeconds < 0 ? `ReplicaLag ${reading.lagSeconds}: replication not running` : `lag ${reading.lagSeconds}s`;
        return { done: reading !== null && reading.lagSeconds >= 0 && reading.lagSeconds * 1000 <= input.maxLagMs, value: reading as LagReading, progress };
      });
    },

    /**
     * Wait until the instance is standalone and takes writes, heartbeating its status: `available`, or `backing-up`
     * (the first backup of a promoted instance, which already serves as a writer: WRITER_STATUSES), not only
     * `available`, so the failover does not wait for that backup.
     */
    async waitStandalone(input: { region: string; identifier: string; timeoutMs?: number }): Promise<DbState> {
      return pollUntil({ what: `${input.identifier} to be standalone and available`, timeoutMs: input.timeoutMs ?? 60 * 60_000, initialIntervalMs: 500, maxIntervalMs: 10_000 }, async () => {
        const s = await describe(input.region, input.identifier);
        return { done: s.standalone && WRITER_STATUSES.has(s.status), value: s, progress: `${s.status}${s.replicationSource ? `, replicating from ${s.replicationSource}` : ''}` };
      });
    },
  };
}
