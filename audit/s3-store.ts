import type { BucketLocationConstraint, ObjectLockConfiguration } from '@aws-sdk/client-s3';
import type { S3Api } from '../aws/clients';
import { awsErrorCode, toFailure } from '../aws/errors';
import type { AuditEvent, AuditRunRef } from './chain';
import { AuditStoreError, byStart, decodeSegment, parseStoredEvent, planAppend, sameRun, segment, type AuditRunInfo, type AuditStore } from './store';

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
      planAppend([event], (seq) => (seq === event.seq - 1 ? before : undefined), this.location);
      if (await this.put(run, event)) written += 1;
      else {
        const existing = await this.get(run, event.seq);
        planAppend([event], (seq) => (seq === event.seq ? existing : undefined), this.location);
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
      // A checksum on every put, whatever the SDK's default: "The Content-MD5 or x-amz-sdk-checksum-algorithm header
      // is required for any request to upload an object with a retention period configured using Amazon S3 Object
      // Lock" (S3 API Reference, PutObject), and the bucket's default retention locks even a put without lock headers.
      await this.s3.putObject({ Bucket: this.bucket, Key, Body: `${JSON.stringify(event)}\n`, ContentType: 'application/json', IfNoneMatch: '*', ChecksumAlgorithm: 'SHA256', ...lock });
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
    if (awsErrorCode(e) === 'NoSuchBucket') {
      return new AuditStoreError('not-found', `S3 bucket ${this.bucket} does not exist: the runs that write to it create it (with Object Lock) before their first event; check the bucket name and its region`);
    }
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
      const runbook = decodeSegment(rbPrefix.slice(this.prefix.length, -1));
      if (runbook === undefined) continue;
      for (const runPrefix of (await this.keys(`${rbPrefix}${wf}/`, '/')).prefixes) {
        const runId = decodeSegment(runPrefix.slice(`${rbPrefix}${wf}/`.length, -1));
        if (runId === undefined) continue;
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
 * `call` on a bucket, asked again briefly (up to 3 more times, 0.5 s, 1 s, 1.5 s) while a bucket created a moment
 * ago (`fresh`) is not seen yet (NoSuchBucket); any other failure, or a bucket that was not just created, is thrown.
 */
async function onceSeen<T>(fresh: boolean, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (!(fresh && awsErrorCode(err) === 'NoSuchBucket' && attempt < 4)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** A bucket's Object Lock configuration (undefined: none); `fresh`: just created. */
async function lockConfiguration(s3: S3Api, bucket: string, fresh: boolean): Promise<ObjectLockConfiguration | undefined> {
  try {
    return (await onceSeen(fresh, () => s3.getObjectLockConfiguration({ Bucket: bucket }))).ObjectLockConfiguration;
  } catch (err) {
    if (awsErrorCode(err) === 'ObjectLockConfigurationNotFoundError') return undefined;
    throw toFailure(err, `S3 GetObjectLockConfiguration ${bucket}`);
  }
}

/**
 * Create the audit bucket with Object Lock in `region` (idempotent) and set its default retention, so even
 * a write without per-object lock headers is locked. Refuses an existing bucket without Object Lock.
 */
export async function ensureAuditBucket(s3: S3Api, opts: { bucket: string; region: string } & AuditRetention): Promise<void> {
  const { bucket, region } = opts;
  let created = false;
  try {
    // us-east-1 is the one region that takes no LocationConstraint.
    await s3.createBucket({ Bucket: bucket, ObjectLockEnabledForBucket: true, CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint } });
    created = true;
  } catch (e) {
    const code = awsErrorCode(e);
    if (code === 'BucketAlreadyExists') throw new AuditStoreError('invalid', `S3 bucket ${bucket} belongs to another account`);
    if (code !== 'BucketAlreadyOwnedByYou') throw toFailure(e, `S3 CreateBucket ${bucket}`);
  }
  // A bucket created just now, with Object Lock, needs no reading (and a read right after the create may not see
  // it yet). But in us-east-1 a CreateBucket succeeds for a bucket one already owns too: "if you re-create an
  // existing bucket that you already own in the North Virginia Region, Amazon S3 returns 200 OK" (S3 API
  // Reference, BucketAlreadyOwnedByYou), so there success proves neither that the bucket is new nor that it is locked.
  if (!created || region === 'us-east-1') {
    const current = await lockConfiguration(s3, bucket, created);
    if (current?.ObjectLockEnabled !== 'Enabled') throw new AuditStoreError('invalid', `S3 bucket ${bucket} exists without Object Lock; the audit trail needs a bucket created with Object Lock enabled`);
    // Only change a default retention that differs (moto, unlike S3, refuses the call once the bucket holds objects).
    const rule = current.Rule?.DefaultRetention;
    if (rule?.Mode === opts.mode && rule.Days === opts.retentionDays) return;
  }
  try {
    await onceSeen(created, () =>
      s3.putObjectLockConfiguration({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: opts.mode, Days: opts.retentionDays } } },
      }),
    );
  } catch (e) {
    throw toFailure(e, `S3 PutObjectLockConfiguration ${bucket}`);
  }
}
