import { createHash } from 'node:crypto';
import { eventName, GENESIS_HASH, hashInput, type AuditDraft, type AuditEvent, type AuditHead } from './chain';

/** sha256 hex of the event's canonical form (without its `hash`). */
export function hashEvent(event: Omit<AuditEvent, 'hash'> & { hash?: string }): string {
  return createHash('sha256').update(hashInput(event), 'utf8').digest('hex');
}

/**
 * Seal drafts into the chain after `prev` (undefined: the run's first events). Deterministic: the same
 * prev and drafts always give the same events, which is what makes a retried append a no-op.
 */
export function sealEvents(prev: AuditHead | undefined, drafts: AuditDraft[]): AuditEvent[] {
  let seq = prev?.seq ?? 0;
  let prevHash = prev?.hash ?? GENESIS_HASH;
  return drafts.map((draft) => {
    // A JSON round trip first, so what is hashed is exactly what storage gives back (no undefined, no Dates).
    const plain = JSON.parse(JSON.stringify(draft)) as AuditDraft;
    seq += 1;
    const unsealed = { ...plain, seq, prevHash };
    const event: AuditEvent = { ...unsealed, hash: hashEvent(unsealed) };
    prevHash = event.hash;
    return event;
  });
}

export type ChainVerdict =
  | { ok: true; head: string; count: number }
  | {
      ok: false;
      /** The first bad event: `seq` is the event named in `reason` (for a deletion, the missing one), `index` its position in storage. */
      firstBad: { seq?: number; index: number; reason: string };
    };

export interface VerifyExpectations {
  /** Every event must belong to this run. */
  runId?: string;
  /** ... of this workflow id and runbook (a trail copied under another run's name is not that run's). */
  workflowId?: string;
  runbook?: string;
  /** The head hash the workflow returned: catches a deleted tail, or a chain recomputed after tampering. */
  head?: string;
}

/**
 * Recompute a run's chain in storage order. Detects modification (hash mismatch), deletion (a seq gap),
 * insertion (a duplicate seq or a prevHash that does not link) and reordering (a seq out of place),
 * and names the first bad event.
 */
export function verifyChain(events: AuditEvent[], expect: VerifyExpectations = {}): ChainVerdict {
  const bad = (index: number, seq: number | undefined, reason: string): ChainVerdict => ({ ok: false, firstBad: { seq, index, reason } });
  if (events.length === 0) return bad(0, undefined, 'no audit events');
  const seen = new Set<number>();
  let prev: AuditEvent | undefined;
  for (const [index, event] of events.entries()) {
    const name = `event ${eventName(event)}`;
    const expectedSeq = (prev?.seq ?? 0) + 1;
    if (expect.runId !== undefined && event.runId !== expect.runId) return bad(index, event.seq, `${name} belongs to run ${event.runId}, not ${expect.runId}`);
    if (expect.workflowId !== undefined && event.workflowId !== expect.workflowId) return bad(index, event.seq, `${name} belongs to workflow ${event.workflowId}, not ${expect.workflowId}`);
    if (expect.runbook !== undefined && event.runbook !== expect.runbook) return bad(index, event.seq, `${name} belongs to runbook ${event.runbook}, not ${expect.runbook}`);
    if (hashEvent(event) !== event.hash) return bad(index, event.seq, `${name} was modified: its content does not match its hash`);
    if (event.seq !== expectedSeq) {
      if (seen.has(event.seq)) return bad(index, event.seq, `${name} was inserted: seq ${event.seq} appears twice`);
      if (event.seq < expectedSeq) return bad(index, event.seq, `${name} is out of order: it comes after #${prev?.seq}`);
      const missing = events.slice(index + 1).find((e) => e.seq === expectedSeq);
      if (missing) return bad(index, event.seq, `${name} is out of order: it stands where ${eventName(missing)} belongs`);
      return bad(index, expectedSeq, `event #${expectedSeq} was deleted: ${eventName(event)} follows ${prev ? eventName(prev) : 'the start of the run'}`);
    }
    const prevHash = prev?.hash ?? GENESIS_HASH;
    if (event.prevHash !== prevHash) {
      const after = prev ? `the hash of ${eventName(prev)}` : 'the genesis hash';
      return bad(index, event.seq, `${name} does not chain: its prevHash is not ${after} (an event was replaced or inserted)`);
    }
    seen.add(event.seq);
    prev = event;
  }
  const head = prev as AuditEvent;
  if (expect.head !== undefined && head.hash !== expect.head) {
    return bad(events.length, head.seq + 1, `the chain ends at ${eventName(head)} with head ${head.hash}, not the expected head ${expect.head}: events after #${head.seq} were deleted, or the chain was rewritten`);
  }
  return { ok: true, head: head.hash, count: events.length };
}
