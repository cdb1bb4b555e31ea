import fs from 'node:fs';
import path from 'node:path';
import type { BucketLocationConstraint, ObjectLockConfiguration } from '@aws-sdk/client-s3';
import type { S3Api } from '../activities/aws/clients';
import { awsErrorCode, toFailure } from '../activities/aws/errors';
import { droverHome } from '../infra/local/tools';
import { z } from 'zod';
import { eventName, type AuditEvent, type AuditRunRef } from './chain';

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

/** The embedded default: `$DROVER_AUDIT_DIR`, else `$DROVER_HOME/audit` (`~/.cache/drover/audit`), outside any repository. */
export function defaultAuditDir(): string {
  return process.env.DROVER_AUDIT_DIR ?? path.join(droverHome(), 'audit');
}

/** A file's text, or '' when it does not exist (a run with no events yet). */
async function readIfExists(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** A path segment from an id: percent-encoded, never `.` or `..`. */
function segment(id: string, what: string): string {
  if (id === '' || id === '.' || id === '..') throw new AuditStoreError('invalid', `${what} "${id}" cannot name an audit location`);
  return encodeURIComponent(id);
}

function sameRun(events: AuditEvent[]): AuditRunRef {
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
function plan(events: AuditEvent[], stored: (seq: number) => AuditEvent | undefined, where: string): AuditEvent[] {
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

/** The embedded store: one JSON line per event, one file per run, `<dir>/<runbook>/<workflowId>/<runId>.jsonl`. */
export class JsonlStore implements AuditStore {
  readonly location: string;
  // One append at a time per file within this process (a run's workflow appends serially anyway).
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string = defaultAuditDir()) {
    this.location = `jsonl:${dir}`;
  }

  /** The file that holds a run's trail. */
  file(run: AuditRunRef): string {
    return path.join(this.dir, segment(run.runbook, 'runbook'), segment(run.workflowId, 'workflow id'), `${segment(run.runId, 'run id')}.jsonl`);
  }

  async append(events: AuditEvent[]): Promise<{ written: number; skipped: number }> {
    if (events.length === 0) return { written: 0, skipped: 0 };
    const file = this.file(sameRun(events));
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(file, events));
    this.queues.set(file, next);
    try {
      return await next;
    } finally {
      if (this.queues.get(file) === next) this.queues.delete(file);
    }
  }

  private async appendNow(file: string, events: AuditEvent[]): Promise<{ written: number; skipped: number }> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const existing = await this.readRepairing(file);
    const bySeq = new Map(existing.map((e) => [e.seq, e]));
    const fresh = plan(events, (seq) => bySeq.get(seq), file);
    if (fresh.length > 0) {
      const handle = await fs.promises.open(file, 'a');
      try {
        // One write per batch: a kill mid-write leaves at most one torn last line, repaired by the next append.
        await handle.write(fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return { written: fresh.length, skipped: events.length - fresh.length };
  }

  /** Read the file for appending; a torn last line (a write cut short by a kill) is cut off, since it was never acknowledged. */
  private async readRepairing(file: string): Promise<AuditEvent[]> {
    let text = await readIfExists(file);
    if (text !== '' && !text.endsWith('\n')) {
      const cut = text.lastIndexOf('\n') + 1;
      const tail = text.slice(cut);
      let torn = false;
      try {
        JSON.parse(tail);
      } catch {
        torn = true;
      }
      if (torn) await fs.promises.truncate(file, Buffer.byteLength(text.slice(0, cut), 'utf8'));
      else await fs.promises.appendFile(file, '\n');
      text = torn ? text.slice(0, cut) : `${text}\n`;
    }
    return parseLines(text, file);
  }

  async list(run: AuditRunRef): Promise<AuditEvent[]> {
    const file = this.file(run);
    return parseLines(await readIfExists(file), file);
  }

  async runs(workflowId: string): Promise<AuditRunInfo[]> {
    const wf = segment(workflowId, 'workflow id');
    const runbooks = await readDirNames(this.dir);
    const found: AuditRunInfo[] = [];
    for (const rb of runbooks) {
      for (const name of await readDirNames(path.join(this.dir, rb, wf))) {
        if (!name.endsWith('.jsonl')) continue;
        const ref: AuditRunRef = { runbook: decodeURIComponent(rb), workflowId, runId: decodeURIComponent(name.slice(0, -'.jsonl'.length)) };
        found.push({ ...ref, startedAt: await firstAt(path.join(this.dir, rb, wf, name)) });
      }
    }
    return byStart(found);
  }
}

function parseLines(text: string, file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') events.push(parseStoredEvent(line, `${file}:${i + 1}`));
  });
  return events;
}

async function readDirNames(dir: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

async function firstAt(file: string): Promise<string | undefined> {
  const text = await fs.promises.readFile(file, 'utf8');
  try {
    const at = (JSON.parse(text.split('\n', 1)[0]) as { at?: unknown }).at;
    return typeof at === 'string' ? at : undefined;
  } catch {
    return undefined;
  }
}

function byStart(runs: AuditRunInfo[]): AuditRunInfo[] {
  return runs.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.runId.localeCompare(b.runId));
}

/** Object Lock retention: COMPLIANCE cannot be shortened or bypassed by anyone; GOVERNANCE by a privileged bypass. */
export interface AuditRetention {
  mode: 'COMPLIANCE' | 'GOVERNANCE';
  retentionDays: number;
}

export interface S3StoreOptions {
  /** An S3 client for the bucket's region. */
  s3: S3Api;
  bucket: string;
  /** Key prefix, e.g. `drover-audit/` (default). */
  prefix?: string;
  /** MaxKeys of each ListObjectVersions page (default: the service's, 1000 on S3). */
  versionPageSize?: number;
  /** Per-object lock set on every write; without it the bucket's default retention applies. */
  retention?: AuditRetention;
  now?: () => Date;
}

const DAY_MS = 86_400_000;
const SEQ_WIDTH = 8;

/**
 * The durable store: one Object Lock'ed object per event, `<prefix><runbook>/<workflowId>/<runId>/<seq:8>.json`,
 * written with `If-None-Match: *` so an existing event is never replaced.
 */
export class S3Store implements AuditStore {
  readonly location: string;
  readonly prefix: string;
  private readonly s3: S3Api;
  private readonly bucket: string;
  private readonly retention?: AuditRetention;
  private readonly now: () => Date;
  private readonly versionPageSize?: number;

  constructor(opts: S3StoreOptions) {
    this.s3 = opts.s3;
    this.bucket = opts.bucket;
    this.versionPageSize = opts.versionPageSize;
    this.prefix = opts.prefix ?? 'drover-audit/';
    if (this.prefix !== '' && !this.prefix.endsWith('/')) this.prefix += '/';
    this.retention = opts.retention;
    this.now = opts.now ?? (() => new Date());
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  /** The key of a run's event `seq`. */
  key(run: AuditRunRef, seq: number): string {
    return `${this.runPrefix(run)}${String(seq).padStart(SEQ_WIDTH, '0')}.json`;
  }

  private runPrefix(run: AuditRunRef): string {
    return `${this.prefix}${segment(run.runbook, 'runbook')}/${segment(run.workflowId, 'workflow id')}/${segment(run.runId, 'run id')}/`;
  }

  async append(events: AuditEvent[]): Promise<{ written: number; skipped: number }> {
    if (events.length === 0) return { written: 0, skipped: 0 };
    const run = sameRun(events);
    let written = 0;
    let previous: AuditEvent | undefined;
    for (const event of events) {
      const before = previous ?? (event.seq > 1 ? await this.get(run, event.seq - 1) : undefined);
      // Chain checks (and the gap check) against what is stored, exactly as the JSONL store does.
      plan([event], (seq) => (seq === event.seq - 1 ? before : undefined), this.location);
      if (await this.put(run, event)) written += 1;
      else {
        const existing = await this.get(run, event.seq);
        plan([event], (seq) => (seq === event.seq ? existing : undefined), this.location);
      }
      previous = event;
    }
    return { written, skipped: events.length - written };
  }

  /** PutObject if absent; false when the key already exists (the caller compares hashes). */
  private async put(run: AuditRunRef, event: AuditEvent): Promise<boolean> {
    const Key = this.key(run, event.seq);
    const lock = this.retention ? { ObjectLockMode: this.retention.mode, ObjectLockRetainUntilDate: new Date(this.now().getTime() + this.retention.retentionDays * DAY_MS) } : {};
    try {
      await this.s3.putObject({ Bucket: this.bucket, Key, Body: `${JSON.stringify(event)}\n`, ContentType: 'application/json', IfNoneMatch: '*', ...lock });
      return true;
    } catch (e) {
      if (awsErrorCode(e) === 'PreconditionFailed') return false;
      throw this.failure(e, 'PutObject', Key);
    }
  }

  private async get(run: AuditRunRef, seq: number): Promise<AuditEvent | undefined> {
    const Key = this.key(run, seq);
    return this.getKey(Key);
  }

  private async getKey(Key: string): Promise<AuditEvent | undefined> {
    try {
      const out = await this.s3.getObject({ Bucket: this.bucket, Key });
      return parseStoredEvent((await out.Body?.transformToString('utf-8')) ?? '', `s3://${this.bucket}/${Key}`);
    } catch (e) {
      if (awsErrorCode(e) === 'NoSuchKey') return undefined;
      throw this.failure(e, 'GetObject', Key);
    }
  }

  private failure(e: unknown, call: string, key?: string): Error {
    if (e instanceof AuditStoreError) return e;
    if (awsErrorCode(e) === 'NoSuchBucket') return new AuditStoreError('not-found', `S3 bucket ${this.bucket} does not exist (create it with ensureAuditBucket)`);
    return toFailure(e, `S3 ${call}${key ? ` ${key}` : ''}`);
  }

  private async keys(prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.s3.listObjectsV2({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token });
      } catch (e) {
        throw this.failure(e, 'ListObjectsV2', prefix);
      }
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return { keys: keys.sort(), prefixes: prefixes.sort() };
  }

  async list(run: AuditRunRef): Promise<AuditEvent[]> {
    const { keys } = await this.keys(this.runPrefix(run));
    const events: AuditEvent[] = [];
    // A few reads at a time, kept in key order.
    for (let i = 0; i < keys.length; i += 8) {
      const batch = await Promise.all(keys.slice(i, i + 8).map((k) => this.getKey(k)));
      batch.forEach((e, j) => {
        if (!e) throw new AuditStoreError('corrupt', `s3://${this.bucket}/${keys[i + j]} disappeared while reading`);
        events.push(e);
      });
    }
    return events;
  }

  /**
   * Every version and delete marker under a run's prefix, per key: what current-object listings cannot show.
   * S3 lists keys in ascending order and the versions of a key newest first, the current one flagged IsLatest
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html, "Examples": versions are
   * returned in the order they were stored, most recent first); a truncated page continues from
   * NextKeyMarker + NextVersionIdMarker passed back as KeyMarker + VersionIdMarker (same page).
   */
  async versions(run: AuditRunRef): Promise<S3KeyHistory[]> {
    const prefix = this.runPrefix(run);
    const byKey = new Map<string, S3KeyHistory>();
    const entry = (key: string) => {
      let h = byKey.get(key);
      if (!h) {
        const m = /^(\d+)\.json$/.exec(key.slice(prefix.length));
        h = { key, seq: m ? Number(m[1]) : undefined, versions: [], deleteMarkers: [] };
        byKey.set(key, h);
      }
      return h;
    };
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.s3.listObjectVersions({ Bucket: this.bucket, Prefix: prefix, KeyMarker, VersionIdMarker, MaxKeys: this.versionPageSize });
      } catch (e) {
        throw this.failure(e, 'ListObjectVersions', prefix);
      }
      for (const v of out.Versions ?? []) if (v.Key) entry(v.Key).versions.push({ versionId: v.VersionId ?? 'null', isLatest: v.IsLatest === true, lastModified: v.LastModified });
      for (const d of out.DeleteMarkers ?? []) if (d.Key) entry(d.Key).deleteMarkers.push({ versionId: d.VersionId ?? 'null', isLatest: d.IsLatest === true, lastModified: d.LastModified });
      if (!out.IsTruncated) break;
      if (!out.NextKeyMarker) throw new AuditStoreError('corrupt', `S3 ListObjectVersions of s3://${this.bucket}/${prefix} was cut short without saying where to continue`);
      KeyMarker = out.NextKeyMarker;
      VersionIdMarker = out.NextVersionIdMarker;
    }
    return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** What the run's version history shows was done to its locked events (nothing: an empty list). */
  async tampering(run: AuditRunRef): Promise<S3Tamper[]> {
    return tamperEvidence(await this.versions(run), `s3://${this.bucket}/`);
  }

  async runs(workflowId: string): Promise<AuditRunInfo[]> {
    const wf = segment(workflowId, 'workflow id');
    const found: AuditRunInfo[] = [];
    for (const rbPrefix of (await this.keys(this.prefix, '/')).prefixes) {
      const runbook = decodeURIComponent(rbPrefix.slice(this.prefix.length, -1));
      for (const runPrefix of (await this.keys(`${rbPrefix}${wf}/`, '/')).prefixes) {
        const runId = decodeURIComponent(runPrefix.slice(`${rbPrefix}${wf}/`.length, -1));
        const ref = { runbook, workflowId, runId };
        const first = await this.get(ref, 1).catch(() => undefined);
        found.push({ ...ref, startedAt: first?.at });
      }
    }
    return byStart(found);
  }
}

/** One version (or delete marker) of an event object, as ListObjectVersions reports it. */
export interface S3ObjectVersion {
  versionId: string;
  isLatest: boolean;
  lastModified?: Date;
}

/** The version history of one key under a run's prefix. */
export interface S3KeyHistory {
  key: string;
  /** The event the key names (`<seq:8>.json`); undefined for a key that names none. */
  seq?: number;
  /** Versions with content, newest first (the listing order): the last one is the locked original. */
  versions: S3ObjectVersion[];
  deleteMarkers: S3ObjectVersion[];
}

/** Evidence, in a run's version history, of something done to its events after they were written. */
export interface S3Tamper {
  seq?: number;
  key: string;
  kind: 'overwritten' | 'hidden' | 'overwritten-and-hidden' | 'deleted-and-rewritten' | 'marker-only' | 'stray';
  message: string;
}

/**
 * Read tampering off a run's version history. drover writes each event once (If-None-Match: *), so every
 * key holds exactly one version and no delete marker; anything else was done by someone else. Object Lock
 * stops nobody from adding a version or a delete marker, it only keeps the locked versions: a simple DELETE
 * in a versioned bucket adds a delete marker that hides the object from GET and ListObjectsV2 while the
 * locked version stays (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-delete-markers).
 */
export function tamperEvidence(history: S3KeyHistory[], where = ''): S3Tamper[] {
  const found: S3Tamper[] = [];
  for (const h of history) {
    const original = h.versions[h.versions.length - 1];
    const hidden = h.deleteMarkers.some((d) => d.isLatest);
    if (h.seq === undefined) {
      if (h.versions.length > 0) found.push({ key: h.key, kind: 'stray', message: `${where}${h.key} is not an event key: an object was added under the run's prefix` });
      continue;
    }
    const name = `event #${h.seq}`;
    const add = (kind: S3Tamper['kind'], message: string) => found.push({ seq: h.seq, key: h.key, kind, message });
    if (!original) add('marker-only', `${name} has only a delete marker under its key and no stored version: the event is gone (its Object Lock did not hold)`);
    else if (h.versions.length > 1 && hidden) add('overwritten-and-hidden', `${name} was overwritten by a later version and is hidden by a delete marker (the locked original is still there: version ${original.versionId})`);
    else if (h.versions.length > 1) add('overwritten', `${name} was overwritten by a later version (${h.versions.length} versions; the locked original is the oldest: version ${original.versionId})`);
    else if (hidden) add('hidden', `${name} is hidden by a delete marker (the locked original is still there: version ${original.versionId})`);
    else if (h.deleteMarkers.length > 0) add('deleted-and-rewritten', `${name}'s key also holds a delete marker (someone issued a DELETE on it), though the marker does not hide the event now`);
  }
  return found.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER) || a.key.localeCompare(b.key));
}

/**
 * Create the audit bucket with Object Lock in `region` (idempotent) and set its default retention, so even
 * a write without per-object lock headers is locked. Refuses an existing bucket without Object Lock.
 */
export async function ensureAuditBucket(s3: S3Api, opts: { bucket: string; region: string } & AuditRetention): Promise<void> {
  const { bucket, region } = opts;
  try {
    // us-east-1 is the one region that takes no LocationConstraint.
    await s3.createBucket({ Bucket: bucket, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint } });
  } catch (e) {
    const code = awsErrorCode(e);
    if (code === 'BucketAlreadyExists') throw new AuditStoreError('invalid', `S3 bucket ${bucket} belongs to another account`);
    if (code !== 'BucketAlreadyOwnedByYou') throw toFailure(e, `S3 CreateBucket ${bucket}`);
    let current: ObjectLockConfiguration | undefined;
    try {
      current = (await s3.getObjectLockConfiguration({ Bucket: bucket })).ObjectLockConfiguration;
    } catch (err) {
      if (awsErrorCode(err) !== 'ObjectLockConfigurationNotFoundError') throw toFailure(err, `S3 GetObjectLockConfiguration ${bucket}`);
    }
    if (current?.ObjectLockEnabled !== 'Enabled') throw new AuditStoreError('invalid', `S3 bucket ${bucket} exists without Object Lock; the audit trail needs a bucket created with Object Lock enabled`);
    // Only change a default retention that differs (moto, unlike S3, refuses the call once the bucket holds objects).
    const rule = current.Rule?.DefaultRetention;
    if (rule?.Mode === opts.mode && rule.Days === opts.retentionDays) return;
  }
  try {
    await s3.putObjectLockConfiguration({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: opts.mode, Days: opts.retentionDays } } },
    });
  } catch (e) {
    throw toFailure(e, `S3 PutObjectLockConfiguration ${bucket}`);
  }
}
