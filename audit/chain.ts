// The audit trail's data model and canonical form. Pure: no Node imports, so workflow code may use it;
// hashing (node:crypto) lives in hash.ts and runs in activities and the CLI.
import { canonicalize } from 'json-canonicalize';

/** prevHash of the first event of every run. */
export const GENESIS_HASH = '0'.repeat(64);

/** Who did it: a verified identity (an ARN) or an id as given, labelled unverified. */
export interface AuditActor {
  id: string;
  verified: boolean;
}

/**
 * What happened. Known actions are listed for completion; AWS calls are `aws.<Operation>`
 * (e.g. `aws.ChangeResourceRecordSets`); any other dotted name is accepted.
 */
export type AuditAction =
  | 'run.start'
  | 'run.end'
  | 'step.start'
  | 'step.done'
  | 'step.failed'
  | 'gate.requested'
  | 'gate.approved'
  | 'gate.refused'
  | 'gate.timeout'
  | `aws.${string}`
  | (string & {});

/** Which run an event belongs to. */
export interface AuditRunRef {
  runId: string;
  workflowId: string;
  runbook: string;
}

/** One sealed audit event: a link of a SHA-256 chain per run. */
export interface AuditEvent extends AuditRunRef {
  /** 1-based, gap-free within a run. */
  seq: number;
  /** ISO-8601 time, set by the workflow (never by the activity, so a retry seals identical events). */
  at: string;
  actor: AuditActor;
  action: AuditAction;
  /** The ARN acted on. */
  target?: string;
  before?: unknown;
  after?: unknown;
  /** The AWS request id of the call that made the change. */
  requestId?: string;
  detail?: string;
  /** hash of the previous event; GENESIS_HASH for seq 1. */
  prevHash: string;
  /** sha256 hex of canonicalJson(the event without `hash`). */
  hash: string;
}

/** An event as the workflow records it, before the activity seals it into the chain. */
export type AuditDraft = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

/** A draft without its run identity, which the appendAudit activity fills in. */
export type AuditDraftInput = Omit<AuditDraft, keyof AuditRunRef> & Partial<AuditRunRef>;

/** The last sealed event of a run: what the next append chains onto, and what the workflow result carries. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, no whitespace, ECMAScript number form.
 * `undefined` properties are dropped, as JSON.stringify drops them, so an event hashes the same before and after storage.
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value);
}

/** The exact text an event's hash covers: every field but `hash`, canonicalised. */
export function hashInput(event: Omit<AuditEvent, 'hash'> & { hash?: string }): string {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- everything but the hash is covered
  const { hash: _hash, ...rest } = event;
  return canonicalJson(rest);
}

/** How an actor reads in a timeline: unverified ids are labelled as such. */
export function actorLabel(actor: AuditActor): string {
  return actor.verified ? actor.id : `${actor.id} (unverified)`;
}

/** How an event is named in messages: `#3 gate.approved`. */
export function eventName(event: Pick<AuditEvent, 'seq' | 'action'>): string {
  return `#${event.seq} ${event.action}`;
}
