import { z } from 'zod';
import { eventName, type AuditEvent, type AuditRunRef } from './chain';

// What every audit store is (the AuditStore interface, its errors) and the rules they share: how a stored
// event parses and what an append may write. The stores: jsonl-store.ts (embedded) and s3-store.ts (durable).

/** Why a store refused or could not read: `conflict` is never retryable, it means the trail would be rewritten. */
export type AuditStoreErrorCode = 'conflict' | 'corrupt' | 'not-found' | 'invalid';

/** A store problem with a stable code (the activity turns it into a non-retryable failure, the CLI into an exit code). */
export class AuditStoreError extends Error {
  constructor(
    readonly code: AuditStoreErrorCode,
    message: string,
    readonly seq?: number,
  ) {
    super(message);
    this.name = 'AuditStoreError';
  }
}

/** One run's trail as found in a store. */
export interface AuditRunInfo extends AuditRunRef {
  /** `at` of the run's first event, when it can be read. */
  startedAt?: string;
}

/** Where a run's audit events are kept. Appends are idempotent by seq and never overwrite. */
export interface AuditStore {
  /** e.g. `jsonl:/home/me/.cache/drover/audit` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Write sealed events of one run, in seq order. An event whose seq is stored with the same hash is skipped;
   * with another hash it is refused (`conflict`), as is an event that does not chain onto the stored one before it.
   */
  append(events: AuditEvent[]): Promise<{ written: number; skipped: number }>;
  /** A run's events in storage order (JSONL: line order; S3: key order), unverified. */
  list(run: AuditRunRef): Promise<AuditEvent[]>;
  /** Every run recorded for a workflow id, oldest first. */
  runs(workflowId: string): Promise<AuditRunInfo[]>;
}

// Loose: fields an editor adds are kept, so they change the hash instead of being silently dropped.
const storedEvent = z.looseObject({
  seq: z.number().int().positive(),
  runId: z.string().min(1),
  workflowId: z.string().min(1),
  runbook: z.string().min(1),
  at: z.string(),
  actor: z.looseObject({ id: z.string(), verified: z.boolean() }),
  action: z.string().min(1),
  target: z.string().optional(),
  requestId: z.string().optional(),
  detail: z.string().optional(),
  prevHash: z.string(),
  hash: z.string(),
});

/** Parse one stored event; anything else is `corrupt`, naming where it was found. */
export function parseStoredEvent(text: string, where: string): AuditEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AuditStoreError('corrupt', `${where} is not valid JSON`);
  }
  const parsed = storedEvent.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuditStoreError('corrupt', `${where} is not an audit event: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data as AuditEvent;
}

/** A path segment from an id: percent-encoded, never `.` or `..`. */
export function segment(id: string, what: string): string {
  if (id === '' || id === '.' || id === '..') throw new AuditStoreError('invalid', `${what} "${id}" cannot name an audit location`);
  return encodeURIComponent(id);
}

/**
 * The id a stored segment names; undefined for a name `segment` cannot have written (a stray file or key
 * someone else put there, e.g. `a%zz`), which is then no trail of drover's rather than an error for every listing.
 */
export function decodeSegment(name: string): string | undefined {
  let id: string;
  try {
    id = decodeURIComponent(name);
  } catch {
    return undefined;
  }
  return id !== '' && id !== '.' && id !== '..' && encodeURIComponent(id) === name ? id : undefined;
}

export function sameRun(events: AuditEvent[]): AuditRunRef {
  const { runId, workflowId, runbook } = events[0];
  const other = events.find((e) => e.runId !== runId || e.workflowId !== workflowId || e.runbook !== runbook);
  if (other) throw new AuditStoreError('invalid', `one append holds events of two runs (${runId} and ${other.runId})`);
  for (let i = 1; i < events.length; i++) {
    if (events[i].seq !== events[i - 1].seq + 1) throw new AuditStoreError('invalid', `events to append are not consecutive: #${events[i].seq} follows #${events[i - 1].seq}`);
  }
  return { runId, workflowId, runbook };
}

/**
 * Decide what to write: skip events stored with the same hash, refuse a different one, and refuse new events
 * that do not chain onto the stored predecessor (so an append can neither rewrite nor leave a gap).
 */
export function planAppend(events: AuditEvent[], stored: (seq: number) => AuditEvent | undefined, where: string): AuditEvent[] {
  const fresh: AuditEvent[] = [];
  for (const event of events) {
    const existing = stored(event.seq);
    if (existing) {
      if (existing.hash !== event.hash) {
        throw new AuditStoreError('conflict', `${where}: event ${eventName(existing)} is already stored with hash ${existing.hash}; refusing to overwrite it with ${eventName(event)} (hash ${event.hash})`, event.seq);
      }
      continue;
    }
    if (fresh.length === 0 && event.seq > 1) {
      const before = stored(event.seq - 1);
      if (!before) throw new AuditStoreError('conflict', `${where}: event #${event.seq - 1} is not stored, so ${eventName(event)} would leave a gap`, event.seq);
      if (before.hash !== event.prevHash) throw new AuditStoreError('conflict', `${where}: ${eventName(event)} does not chain onto the stored ${eventName(before)}`, event.seq);
    }
    fresh.push(event);
  }
  return fresh;
}

/** Runs oldest first (by their first event's `at`, then run id). */
export function byStart(runs: AuditRunInfo[]): AuditRunInfo[] {
  return runs.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.runId.localeCompare(b.runId));
}
