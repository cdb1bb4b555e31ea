/**
 * RDS instance statuses drover reads (RDS User Guide, "DB instance status",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Status.html), shared by the
 * activities and the workflows' checks.
 */

/**
 * Statuses an instance passes through and leaves by itself, in minutes: "backing-up: The DB instance is currently
 * being backed up", "modifying: The DB instance is being modified because of a customer request to modify the DB
 * instance", "rebooting", "renaming", "starting", and the configuring-… and resetting-master-credentials ones. RDS
 * refuses most changes during them with InvalidDBInstanceState ("The DB instance isn't in a valid state");
 * PromoteReadReplica says so outright: "a read replica cannot be promoted to a standalone instance when it is in the
 * backing-up status". Left out on purpose, though they pass too: the ones that may last hours or a day
 * (storage-optimization, upgrading, maintenance, storage-initializing, converting-to-vpc, moving-to-vpc), which a
 * failover does not wait for; and every status that does not pass without someone acting (stopped, storage-full,
 * incompatible-…, failed, inaccessible-encryption-credentials, …).
 *
 * Read by the workflows (preflight notes, behind patch rds-passing-states-v1): change it only under a new patch.
 */
export const PASSING_STATUSES: ReadonlySet<string> = new Set([
  'backing-up',
  'modifying',
  'rebooting',
  'renaming',
  'starting',
  'configuring-enhanced-monitoring',
  'configuring-iam-database-auth',
  'configuring-log-exports',
  'resetting-master-credentials',
]);

/**
 * Statuses of a promoted instance that takes writes: a promotion passes through modifying and rebooting, then the
 * new standalone instance is backed up (its first backup: `backing-up`) while it already serves as a writer.
 * Read by the workflows (verification, behind patch rds-passing-states-v1): change it only under a new patch.
 */
export const WRITER_STATUSES: ReadonlySet<string> = new Set(['available', 'backing-up']);
