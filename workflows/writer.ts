import { writerZone, type NamedDatabase } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import { short } from './proxies';

/**
 * Point a database's writer record at its new writer (UPSERT, idempotent): what a failover does for each of
 * its databases, and what a promotion started on its own does for its one. Returns the journal note.
 */
export async function repointWriter(rb: Runbook, db: NamedDatabase, endpoint: string): Promise<string> {
  const out = await short.upsertCname({ zone: writerZone(rb, db), name: db.writerRecord.name, value: endpoint, ttl: db.writerRecord.ttl });
  return out.changeId ? `${out.before ?? '(none)'} -> ${out.after}` : `already ${out.after}`;
}
