/**
 * RDS instance statuses drover reads (RDS User Guide, "DB instance status",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Status.html), shared by the
 * activities and the workflows' checks.
 */

/**
 * Statuses an instance passes through and leaves by itself: "backing-up: The DB instance is currently being
 * backed up", "modifying: The DB instance is being modified because of a customer request to modify the DB
 * instance", "rebooting", "renaming", and the configuring-…, storage-… and upgrading ones. RDS refuses most changes
 * during them with InvalidDBInstanceState ("The DB instance isn't in a valid state"); PromoteReadReplica says so
 * outright: "a read replica cannot be promoted to a standalone instance when it is in the backing-up status". Every
 * other status (stopped, storage-full, incompatible-…, failed, inaccessible-encryption-credentials, …) does not pass
 * without someone acting.
 */
export const PASSING_STATUSES: ReadonlySet<string> = new Set([
  'backing-up',
  'modifying',
  'rebooting',
  'renaming',
  'starting',
  'upgrading',
  'maintenance',
  'configuring-enhanced-monitoring',
  'configuring-iam-database-auth',
  'configuring-log-exports',
  'converting-to-vpc',
  'moving-to-vpc',
  'resetting-master-credentials',
  'storage-optimization',
  'storage-config-upgrade',
  'storage-initializing',
]);

/**
 * Statuses of a promoted instance that takes writes: a promotion passes through modifying and rebooting, then the
 * new standalone instance is backed up (its first backup: `backing-up`) while it already serves as a writer.
 */
export const WRITER_STATUSES: ReadonlySet<string> = new Set(['available', 'backing-up']);
