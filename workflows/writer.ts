import { writerZone, writerZoneId, type NamedDatabase } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import { patched } from '@temporalio/workflow';
import { long, short } from './proxies';

/**
 * Patch: the writer record's change runs on `long` (heartbeating, no one-minute limit) and a retried attempt waits
 * for the change its earlier attempt sent (activities/route53.ts), instead of a `short` attempt timing out while
 * the change is PENDING and its retry taking the new value for done.
 */
export const UPSERT_ON_LONG = 'upsert-on-long-v1';

/**
 * Point a database's writer record at its new writer (UPSERT, idempotent): what a failover does for each of
 * its databases, and what a promotion started on its own does for its one. Returns the journal note. `via`: the
 * proxy to call it through (a compensation's bounds), else `long` (since upsert-on-long-v1) or `short`.
 */
export async function repointWriter(rb: Runbook, db: NamedDatabase, endpoint: string, via?: Pick<typeof long, 'upsertCname'>): Promise<string> {
  const out = await (via ?? (patched(UPSERT_ON_LONG) ? long : short)).upsertCname({ zone: writerZone(rb, db), zoneId: writerZoneId(rb, db), name: db.writerRecord.name, value: endpoint, ttl: db.writerRecord.ttl });
  return out.changeId ? `${out.before ?? '(none)'} -> ${out.after}` : `already ${out.after}`;
}
