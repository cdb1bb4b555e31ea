// Checking a trail against what its writer cannot rewrite. A hash chain read from storage only proves the
// events agree with each other: whoever can write the storage can recompute every hash after an edit, or cut
// the tail off. The anchor (the head and count the run's Temporal record holds, or a head from its report)
// and the S3 Object Lock copy live elsewhere. Pure: no Node or AWS imports.
import { eventName, type AuditEvent } from './chain';

/** The head and event count a trail must match, and where they come from. */
export interface AuditAnchor {
  /** A noun phrase for messages: "Temporal's record of run 0b5e…", "the head given with --head". */
  source: string;
  head: string;
  /** Events up to and including the head; unknown for a bare `--head` (the chain then says which event it is). */
  events?: number;
  /** The run is still going: events after the anchored one are allowed, and counted as not yet anchored. */
  open?: boolean;
}

export type AnchorVerdict = { ok: true; anchored: number; unanchored: number } | { ok: false; seq?: number; reason: string };

function span(from: number, to: number): string {
  return from === to ? `event #${from} was` : `events #${from}–#${to} were`;
}

/**
 * Check a trail whose chain already verified (seq 1..n, each linked to the one before) against an anchor:
 * a closed run must end exactly at the anchored head; an open one must hold it at the anchored seq.
 */
export function checkAnchor(events: AuditEvent[], anchor: AuditAnchor): AnchorVerdict {
  const n = events.length;
  let count = anchor.events;
  if (count === undefined) {
    const at = events.findIndex((e) => e.hash === anchor.head);
    if (at < 0) {
      return { ok: false, reason: `no event of the trail has the anchored head ${anchor.head} (${anchor.source}): the chain was rewritten (its hashes recomputed), or cut off before that event` };
    }
    count = at + 1;
  }
  if (count === 0) {
    if (n === 0 || anchor.open) return { ok: true, anchored: 0, unanchored: n };
    return { ok: false, seq: 1, reason: `${span(1, n)} added: no event is anchored by ${anchor.source}` };
  }
  if (n < count) {
    const last = n > 0 ? `ends at event ${eventName(events[n - 1])}` : 'is empty';
    return { ok: false, seq: n + 1, reason: `the trail ${last}, but ${count} events are anchored by ${anchor.source}: ${span(n + 1, count)} cut off` };
  }
  const at = events[count - 1];
  if (at.hash !== anchor.head) {
    return { ok: false, seq: count, reason: `event ${eventName(at)} hashes to ${at.hash}, not to the anchored head ${anchor.head} (${anchor.source}): the chain was rewritten and its hashes recomputed` };
  }
  if (n > count && !anchor.open) {
    return { ok: false, seq: count + 1, reason: `${span(count + 1, n)} added after event #${count}, the last one anchored by ${anchor.source}` };
  }
  return { ok: true, anchored: count, unanchored: n - count };
}

/**
 * Compare a trail with another copy of it, event by event (same seq, same hash). Events 1..`anchored` must
 * be in both; past them, a closed run's copy must have nothing more, an open run's copies are compared
 * where both have the event (the copies are written one after the other, so one may be an append ahead).
 * Returns the first difference, naming the event, or undefined.
 */
export function compareCopies(trail: AuditEvent[], copy: AuditEvent[], opts: { trail: string; copy: string; anchored: number; open: boolean }): string | undefined {
  const ours = new Map(trail.map((e) => [e.seq, e]));
  const theirs = new Map(copy.map((e) => [e.seq, e]));
  const last = Math.max(opts.anchored, ...trail.map((e) => e.seq), ...copy.map((e) => e.seq));
  const differences: string[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const a = ours.get(seq);
    const b = theirs.get(seq);
    if (a && b) {
      if (a.hash !== b.hash) differences.push(`event #${seq} differs: the ${opts.trail} has ${eventName(a)} (hash ${a.hash}), the ${opts.copy} has ${eventName(b)} (hash ${b.hash})`);
    } else if (seq <= opts.anchored || !opts.open) {
      if (a) differences.push(`event ${eventName(a)} is in the ${opts.trail} but not in the ${opts.copy}`);
      else if (b) differences.push(`event ${eventName(b)} is in the ${opts.copy} but not in the ${opts.trail}`);
    }
  }
  if (differences.length === 0) return undefined;
  return differences.length === 1 ? differences[0] : `${differences[0]} (${differences.length} events differ in all)`;
}
