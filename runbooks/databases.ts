/**
 * The runbook's databases as one list, whichever way the runbook wrote them (`database`, one, or
 * `databases`, several). Workflow-safe: types only, no I/O. Workflow histories recorded before
 * `databases` existed carry `database` alone, and replay through here unchanged.
 */
import type { Database, Runbook } from './schema';

/** A database with its name settled (a lone `database` without one is called "main"). */
export type NamedDatabase = Database & { name: string };

export const DEFAULT_DATABASE_NAME = 'main';

export function databasesOf(rb: Pick<Runbook, 'database' | 'databases'>): NamedDatabase[] {
  if (rb.databases) return rb.databases.map((d, i) => ({ ...d, name: d.name ?? `db${i + 1}` }));
  return rb.database ? [{ ...rb.database, name: rb.database.name ?? DEFAULT_DATABASE_NAME }] : [];
}

/** The database named `name`; without a name, the runbook's only one. Undefined when there is no such database (or the choice is ambiguous). */
export function findDatabase(rb: Pick<Runbook, 'database' | 'databases'>, name?: string): NamedDatabase | undefined {
  const all = databasesOf(rb);
  if (name === undefined) return all.length === 1 ? all[0] : undefined;
  return all.find((d) => d.name === name);
}

/** The identifier of the database's instance whose home is `region` (its names follow the regions). */
export function dbIn(rb: Pick<Runbook, 'regions'>, db: Database, region: string): string {
  return region === rb.regions.primary ? db.primary.identifier : db.replica.identifier;
}

/** What the runbook sets for replicas drover re-creates on one side (a key, groups, subnet group, by name in that region). */
export function sideSettings(side: NamedDatabase['primary']): { kmsKeyId?: string; subnetGroup?: string; securityGroups?: string[]; parameterGroup?: string; optionGroup?: string } {
  const { kmsKeyId, subnetGroup, securityGroups, parameterGroup, optionGroup } = side;
  return Object.fromEntries(Object.entries({ kmsKeyId, subnetGroup, securityGroups, parameterGroup, optionGroup }).filter(([, v]) => v !== undefined));
}

/** The zone of the database's writer record (the runbook's hosted zone unless it names another). */
export function writerZone(rb: Pick<Runbook, 'dns'>, db: Database): string {
  return db.writerRecord.zone ?? rb.dns.hostedZone;
}

/** The id of the writer record's zone, when the runbook names it by id (its own zone's, or the hosted zone's). */
export function writerZoneId(rb: Pick<Runbook, 'dns'>, db: Database): string | undefined {
  return db.writerRecord.zoneId ?? (db.writerRecord.zone === undefined ? rb.dns.hostedZoneId : undefined);
}

/** A child workflow id per database: the bare suffix for a single-database runbook (as before `databases`), else suffix-name. */
export function childIdFor(parentId: string, suffix: string, db: NamedDatabase, count: number): string {
  return count === 1 ? `${parentId}-${suffix}` : `${parentId}-${suffix}-${db.name}`;
}

/** Worst first: an unknown data-loss window (lag -1), then the largest lag. */
export function worstRpo<T extends { lagSeconds: number }>(rpos: Array<T | undefined>): T | undefined {
  const known = rpos.filter((r): r is T => r !== undefined);
  return known.find((r) => r.lagSeconds < 0) ?? known.reduce<T | undefined>((w, r) => (w === undefined || r.lagSeconds > w.lagSeconds ? r : w), undefined);
}
