import fs from 'node:fs';
import { S3, type S3ServiceException } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { createAuditActivities, type AuditTarget } from '../activities/audit';
import { createAwsClients, type S3Api } from '../aws/clients';
import type { AuditDraftInput, AuditEvent, AuditRunRef } from '../audit/chain';
import { sealEvents, verifyChain } from '../audit/hash';
import { JsonlStore } from '../audit/jsonl-store';
import { ensureAuditBucket, S3Store, tamperEvidence } from '../audit/s3-store';
import { AuditStoreError } from '../audit/store';
import { exec } from '../cli/main';
import type { MotoServer } from '../infra/local/stack';
import { FailureType } from '../contracts/failures';
import { startOwnMoto, testTemporalAddress, testTempDir } from './harness/servers';

// A private moto: Object Lock'ed objects cannot be deleted, so they stay out of the shared server's state.

const SINGAPORE = 'ap-southeast-1';
const CREDENTIALS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
const LOCKED = 'drover-audit-compliance';
const GOVERNED = 'drover-audit-governance';

let moto: MotoServer;
let s3: (region: string) => S3Api;
/** A full client, for what drover never does: tampering and lock probing. */
let raw: S3;

beforeAll(async () => {
  moto = await startOwnMoto();
  s3 = createAwsClients({ endpoint: moto.endpoint, credentials: CREDENTIALS, maxAttempts: 1 }).s3;
  raw = new S3({ region: SINGAPORE, endpoint: moto.endpoint, credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
  await ensureAuditBucket(s3(SINGAPORE), { bucket: LOCKED, region: SINGAPORE, mode: 'COMPLIANCE', retentionDays: 30 });
  await ensureAuditBucket(s3(SINGAPORE), { bucket: GOVERNED, region: SINGAPORE, mode: 'GOVERNANCE', retentionDays: 1 });
});

afterAll(async () => {
  raw?.destroy();
  await moto?.stop();
});

let counter = 0;
/** A fresh run per test (jest runs them in random order against one server). */
function newRun(): AuditRunRef {
  counter += 1;
  return { runbook: 'apnakart', workflowId: `failover-apnakart-${counter}`, runId: `run-${counter}-${Date.now()}` };
}

function entries(n: number, from = 1): AuditDraftInput[] {
  const actions = ['run.start', 'gate.approved', 'aws.PromoteReadReplica', 'aws.ChangeResourceRecordSets', 'step.done', 'run.end'];
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      at: new Date(Date.UTC(2026, 0, 10, 3, 0, i)).toISOString(),
      actor: i === 1 ? { id: 'arn:aws:sts::123456789012:assumed-role/oncall/priya', verified: true } : { id: 'drover', verified: true },
      action: actions[(i - 1) % actions.length],
      target: 'arn:aws:route53:::hostedzone/Z0APNAKART',
      before: { weight: 100 - i },
      after: { weight: 99 - i },
      requestId: `req-${i}`,
    };
  });
}

function sealed(run: AuditRunRef, n: number): AuditEvent[] {
  return sealEvents(undefined, entries(n).map((e) => ({ ...e, ...run })));
}

function lockedStore(): S3Store {
  return new S3Store({ s3: s3(SINGAPORE), bucket: LOCKED, retention: { mode: 'COMPLIANCE', retentionDays: 30 } });
}

async function awsError(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (e) {
    return e as S3ServiceException;
  }
  throw new Error('expected the S3 call to be refused, but it succeeded');
}

async function storeError(promise: Promise<unknown>): Promise<AuditStoreError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(AuditStoreError);
    return e as AuditStoreError;
  }
  throw new Error('expected the store to refuse, but it succeeded');
}

/** Replace an S3 event object's content: a new version, which is all a writer can do to a locked key. */
async function overwrite(store: S3Store, run: AuditRunRef, seq: number, event: unknown): Promise<void> {
  await raw.putObject({ Bucket: LOCKED, Key: store.key(run, seq), Body: `${JSON.stringify(event)}\n` });
}

/**
 * Run `drover audit ...` in-process through the real CLI, its AWS endpoint the private moto, its Temporal the
 * suite's server (which never ran these synthetic runs: they verify only against explicit anchors).
 */
async function drover(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { aws: process.env.AWS_ENDPOINT_URL, temporal: process.env.TEMPORAL_ADDRESS };
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  try {
    const code = await exec(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  } finally {
    for (const [k, v] of [['AWS_ENDPOINT_URL', saved.aws], ['TEMPORAL_ADDRESS', saved.temporal]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Put a delete marker on an event's key (a plain DELETE): the locked version stays, hidden. */
async function hide(store: S3Store, run: AuditRunRef, seq: number): Promise<void> {
  await raw.deleteObject({ Bucket: LOCKED, Key: store.key(run, seq) });
}

const s3Args = ['--store', 's3', '--bucket', LOCKED, '--region', SINGAPORE];

describe('the Object Lock bucket', () => {
  it('is created in the standby region with Object Lock and a default retention, idempotently', async () => {
    await ensureAuditBucket(s3(SINGAPORE), { bucket: LOCKED, region: SINGAPORE, mode: 'COMPLIANCE', retentionDays: 30 });
    expect((await raw.getBucketLocation({ Bucket: LOCKED })).LocationConstraint).toBe(SINGAPORE);
    expect((await raw.getBucketVersioning({ Bucket: LOCKED })).Status).toBe('Enabled');
    const lock = (await raw.getObjectLockConfiguration({ Bucket: LOCKED })).ObjectLockConfiguration;
    expect(lock).toMatchObject({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } });
  });

  it('given an existing bucket without Object Lock, refuses to use it', async () => {
    await raw.createBucket({ Bucket: 'drover-audit-unlocked', CreateBucketConfiguration: { LocationConstraint: SINGAPORE } });
    const e = await storeError(ensureAuditBucket(s3(SINGAPORE), { bucket: 'drover-audit-unlocked', region: SINGAPORE, mode: 'COMPLIANCE', retentionDays: 1 }));
    expect(e.message).toMatch(/exists without Object Lock/);
  });

  it('given an existing bucket without Object Lock in us-east-1 (where S3 answers a second CreateBucket with 200), refuses to use it', async () => {
    const virginia = new S3({ region: 'us-east-1', endpoint: moto.endpoint, credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
    await virginia.createBucket({ Bucket: 'drover-audit-unlocked-use1' });
    // S3's legacy answer in us-east-1: "if you re-create an existing bucket that you already own in the North
    // Virginia Region, Amazon S3 returns 200 OK" (API_CreateBucket, BucketAlreadyOwnedByYou); moto does the same.
    await expect(virginia.createBucket({ Bucket: 'drover-audit-unlocked-use1' })).resolves.toBeDefined();
    const e = await storeError(ensureAuditBucket(s3('us-east-1'), { bucket: 'drover-audit-unlocked-use1', region: 'us-east-1', mode: 'COMPLIANCE', retentionDays: 1 }));
    expect(e.message).toMatch(/exists without Object Lock/);
    virginia.destroy();
  });

  it('checksums every locked put itself, whatever the SDK is told (AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED): S3 refuses an Object Lock put without one', async () => {
    const saved = process.env.AWS_REQUEST_CHECKSUM_CALCULATION;
    process.env.AWS_REQUEST_CHECKSUM_CALCULATION = 'WHEN_REQUIRED';
    try {
      const bare = new S3({ region: SINGAPORE, endpoint: moto.endpoint, credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
      // The fidelity rule answers as S3 does to a locked put that carries no checksum.
      const refused = await bare.putObject({ Bucket: LOCKED, Key: `bare-${Date.now()}`, Body: '{}', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) }).then(
        () => undefined,
        (err: S3ServiceException) => err,
      );
      expect(refused?.name).toBe('InvalidRequest');
      bare.destroy();
      // drover's store, on clients built the same way, still writes.
      const store = new S3Store({ s3: createAwsClients({ endpoint: moto.endpoint, credentials: CREDENTIALS, maxAttempts: 1 }).s3(SINGAPORE), bucket: LOCKED, retention: { mode: 'COMPLIANCE', retentionDays: 30 } });
      const run = newRun();
      await expect(store.append(sealed(run, 1))).resolves.toEqual({ written: 1, skipped: 0 });
    } finally {
      if (saved === undefined) delete process.env.AWS_REQUEST_CHECKSUM_CALCULATION;
      else process.env.AWS_REQUEST_CHECKSUM_CALCULATION = saved;
    }
  });

  it('locks every event object in compliance mode until now + retention', async () => {
    const run = newRun();
    const store = lockedStore();
    const before = Date.now();
    await store.append(sealed(run, 2));
    const head = await raw.headObject({ Bucket: LOCKED, Key: store.key(run, 1) });
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 2_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 2_000);
  });

  it('refuses to replace an event object (If-None-Match: * gives 412) and to delete a locked version, even with the governance bypass', async () => {
    const run = newRun();
    const store = lockedStore();
    await store.append(sealed(run, 1));
    const Key = store.key(run, 1);
    const replaced = await awsError(raw.putObject({ Bucket: LOCKED, Key, Body: 'forged', IfNoneMatch: '*' }));
    expect([replaced.name, replaced.$metadata.httpStatusCode]).toEqual(['PreconditionFailed', 412]);

    const [version] = (await raw.listObjectVersions({ Bucket: LOCKED, Prefix: Key })).Versions ?? [];
    const deleted = await awsError(raw.deleteObject({ Bucket: LOCKED, Key, VersionId: version.VersionId }));
    expect([deleted.name, deleted.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    const bypassed = await awsError(raw.deleteObject({ Bucket: LOCKED, Key, VersionId: version.VersionId, BypassGovernanceRetention: true }));
    expect(bypassed.name).toBe('AccessDenied');
    const batch = await raw.deleteObjects({ Bucket: LOCKED, Delete: { Objects: [{ Key, VersionId: version.VersionId }] } });
    expect(batch.Errors?.[0]).toMatchObject({ Key, Code: 'AccessDenied' });
    expect((await store.list(run)).map((e) => e.seq)).toEqual([1]);
  });

  it('in governance mode refuses a delete of a locked version without the bypass', async () => {
    const run = newRun();
    const store = new S3Store({ s3: s3(SINGAPORE), bucket: GOVERNED, retention: { mode: 'GOVERNANCE', retentionDays: 1 } });
    await store.append(sealed(run, 1));
    const Key = store.key(run, 1);
    expect((await raw.headObject({ Bucket: GOVERNED, Key })).ObjectLockMode).toBe('GOVERNANCE');
    const [version] = (await raw.listObjectVersions({ Bucket: GOVERNED, Prefix: Key })).Versions ?? [];
    const e = await awsError(raw.deleteObject({ Bucket: GOVERNED, Key, VersionId: version.VersionId }));
    expect(e.name).toBe('AccessDenied');
  });
});

describe.each([
  ['S3', () => lockedStore()],
  ['JSONL', () => new JsonlStore(testTempDir('audit-'))],
])('the %s store', (_name, makeStore) => {
  it('appends idempotently by seq: the same events again are skipped', async () => {
    const run = newRun();
    const store = makeStore();
    const events = sealed(run, 4);
    expect(await store.append(events.slice(0, 2))).toEqual({ written: 2, skipped: 0 });
    expect(await store.append(events)).toEqual({ written: 2, skipped: 2 });
    expect(await store.append(events)).toEqual({ written: 0, skipped: 4 });
    const stored = await store.list(run);
    expect(stored).toEqual(events);
    expect(verifyChain(stored, { runId: run.runId, head: events[3].hash })).toMatchObject({ ok: true, count: 4 });
    expect((await store.runs(run.workflowId)).map((r) => r.runId)).toEqual([run.runId]);
  });

  it('refuses a different event under a stored seq, and leaves the stored one as it was', async () => {
    const run = newRun();
    const store = makeStore();
    const events = sealed(run, 3);
    await store.append(events);
    const rival = sealEvents({ seq: 1, hash: events[0].hash }, [{ ...entries(1)[0], ...run, detail: 'rewritten' }]);
    const e = await storeError(store.append(rival));
    expect(e).toMatchObject({ code: 'conflict', seq: 2 });
    expect(e.message).toMatch(/refusing to overwrite/);
    expect(await store.list(run)).toEqual(events);
  });

  it('refuses events that would leave a gap or do not chain onto the stored ones', async () => {
    const run = newRun();
    const store = makeStore();
    const events = sealed(run, 4);
    await store.append(events.slice(0, 1));
    expect(await storeError(store.append(events.slice(2)))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/#2 is not stored, so #3 .* would leave a gap/) });
    const stranger = sealEvents({ seq: 1, hash: '1'.repeat(64) }, [{ ...entries(1, 2)[0], ...run }]);
    expect(await storeError(store.append(stranger))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/does not chain onto the stored #1/) });
  });
});

describe('tampering is detected', () => {
  it('S3: an edited event (a new object version) fails verification naming it; the locked original survives', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 5);
    await store.append(events);
    await overwrite(store, run, 3, { ...events[2], after: { weight: 100 } });
    const verdict = verifyChain(await store.list(run));
    expect(verdict).toMatchObject({ ok: false, firstBad: { seq: 3, reason: expect.stringMatching(/event #3 aws\.PromoteReadReplica was modified/) } });
    const versions = (await raw.listObjectVersions({ Bucket: LOCKED, Prefix: store.key(run, 3) })).Versions ?? [];
    expect(versions).toHaveLength(2);
  });

  it('S3: a deleted event (a delete marker) fails verification naming it', async () => {
    const run = newRun();
    const store = lockedStore();
    await store.append(sealed(run, 5));
    await raw.deleteObject({ Bucket: LOCKED, Key: store.key(run, 2) });
    expect(verifyChain(await store.list(run))).toMatchObject({ ok: false, firstBad: { seq: 2, reason: expect.stringMatching(/event #2 was deleted/) } });
  });

  it('S3: two swapped events fail verification naming them', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 5);
    await store.append(events);
    await overwrite(store, run, 2, events[2]);
    await overwrite(store, run, 3, events[1]);
    expect(verifyChain(await store.list(run))).toMatchObject({ ok: false, firstBad: { seq: 3, reason: expect.stringMatching(/#3 aws\.PromoteReadReplica is out of order: it stands where #2 gate\.approved belongs/) } });
  });

  it('S3: delete markers hiding the tail leave a current listing whose chain verifies; the version history names each hidden event', async () => {
    const run = newRun();
    const store = lockedStore();
    await store.append(sealed(run, 6));
    await hide(store, run, 5);
    await hide(store, run, 6);
    // What ListObjectsV2 shows is a clean, shorter chain: the attack a chain alone cannot see.
    expect(verifyChain(await store.list(run))).toMatchObject({ ok: true, count: 4 });
    const evidence = await store.tampering(run);
    expect(evidence.map((t) => [t.seq, t.kind])).toEqual([
      [5, 'hidden'],
      [6, 'hidden'],
    ]);
    expect(evidence[0].message).toMatch(/^event #5 is hidden by a delete marker \(the locked original is still there: version \S+\)$/);
  });

  it('S3: a consistent rewrite from event #3 (new versions, hashes recomputed) verifies as a chain; the version history names #3 as overwritten', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 5);
    await store.append(events);
    const forged = sealEvents({ seq: 2, hash: events[1].hash }, events.slice(2).map(({ seq: _s, prevHash: _p, hash: _h, ...e }) => ({ ...e, actor: { id: 'mallory', verified: true } })));
    for (const e of forged) await overwrite(store, run, e.seq, e);
    expect(verifyChain(await store.list(run))).toMatchObject({ ok: true, count: 5 });
    const evidence = await store.tampering(run);
    expect(evidence.map((t) => [t.seq, t.kind])).toEqual([
      [3, 'overwritten'],
      [4, 'overwritten'],
      [5, 'overwritten'],
    ]);
    const [original] = ((await raw.listObjectVersions({ Bucket: LOCKED, Prefix: store.key(run, 3) })).Versions ?? []).slice(-1);
    expect(evidence[0].message).toBe(`event #3 was overwritten by a later version (2 versions; the locked original is the oldest: version ${original.VersionId})`);
  });

  it('S3: the version history is read across pages (KeyMarker and VersionIdMarker), with the same evidence as in one page', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 5);
    await store.append(events);
    await overwrite(store, run, 2, { ...events[1], detail: 'edited' });
    await overwrite(store, run, 2, { ...events[1], detail: 'edited again' });
    await hide(store, run, 4);
    const paged = new S3Store({ s3: s3(SINGAPORE), bucket: LOCKED, versionPageSize: 2 });
    const history = await paged.versions(run);
    expect(history.map((h) => [h.seq, h.versions.length, h.deleteMarkers.length])).toEqual([
      [1, 1, 0],
      [2, 3, 0],
      [3, 1, 0],
      [4, 1, 1],
      [5, 1, 0],
    ]);
    expect(await paged.tampering(run)).toEqual(await store.tampering(run));
    expect((await store.tampering(run)).map((t) => [t.seq, t.kind])).toEqual([
      [2, 'overwritten'],
      [4, 'hidden'],
    ]);
  });

  it('S3: reads evidence off a version history: overwritten and hidden, a marker alone, an object that is no event', () => {
    const v = (id: string, isLatest = false) => ({ versionId: id, isLatest });
    const evidence = tamperEvidence(
      [
        { key: 'p/00000001.json', seq: 1, versions: [v('a', true)], deleteMarkers: [] },
        { key: 'p/00000002.json', seq: 2, versions: [v('b2'), v('b1')], deleteMarkers: [v('m', true)] },
        { key: 'p/00000003.json', seq: 3, versions: [], deleteMarkers: [v('m3', true)] },
        { key: 'p/notes.txt', versions: [v('n', true)], deleteMarkers: [] },
      ],
      's3://b/',
    );
    expect(evidence.map((t) => t.message)).toEqual([
      'event #2 was overwritten by a later version and is hidden by a delete marker (the locked original is still there: version b1)',
      'event #3 has only a delete marker under its key and no stored version: the event is gone (its Object Lock did not hold)',
      "s3://b/p/notes.txt is not an event key: an object was added under the run's prefix",
    ]);
  });

  const jsonl = async (edit: (lines: string[]) => string[]) => {
    const run = newRun();
    const store = new JsonlStore(testTempDir('audit-'));
    await store.append(sealed(run, 5));
    const file = store.file(run);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    fs.writeFileSync(file, `${edit(lines).join('\n')}\n`);
    return verifyChain(await store.list(run));
  };

  it('JSONL: an edited line fails verification naming the event', async () => {
    const verdict = await jsonl((lines) => lines.map((l, i) => (i === 3 ? l.replace('"req-4"', '"req-x"') : l)));
    expect(verdict).toMatchObject({ ok: false, firstBad: { seq: 4, reason: expect.stringMatching(/event #4 aws\.ChangeResourceRecordSets was modified/) } });
  });

  it('JSONL: a deleted line fails verification naming the event', async () => {
    const verdict = await jsonl((lines) => lines.filter((_, i) => i !== 1));
    expect(verdict).toMatchObject({ ok: false, firstBad: { seq: 2, reason: expect.stringMatching(/event #2 was deleted/) } });
  });

  it('JSONL: two swapped lines fail verification naming them', async () => {
    const verdict = await jsonl((lines) => [lines[0], lines[2], lines[1], lines[3], lines[4]]);
    expect(verdict).toMatchObject({ ok: false, firstBad: { seq: 3, reason: expect.stringMatching(/out of order/) } });
  });
});

describe('the appendAudit activity', () => {
  const targets = (dir: string): AuditTarget[] => [
    { kind: 's3', region: SINGAPORE, bucket: LOCKED, mode: 'COMPLIANCE', retentionDays: 30 },
    { kind: 'jsonl', dir },
  ];

  it('writes the same sealed events to S3 and JSONL and returns the head that both verify to', async () => {
    const run = newRun();
    const dir = testTempDir('audit-');
    const { appendAudit } = createAuditActivities({ s3 });
    const first = await appendAudit({ ...run, target: targets(dir), drafts: entries(2) });
    const head = await appendAudit({ ...run, target: targets(dir), drafts: entries(3, 3), after: first });
    expect(head.seq).toBe(5);
    for (const store of [lockedStore(), new JsonlStore(dir)]) {
      expect(verifyChain(await store.list(run), { runId: run.runId, head: head.hash })).toEqual({ ok: true, head: head.hash, count: 5 });
    }
  });

  it('given a worker killed mid-append (some events written, a torn JSONL line), the retry leaves no gap and no duplicate', async () => {
    const run = newRun();
    const dir = testTempDir('audit-');
    const { appendAudit } = createAuditActivities({ s3 });
    const first = await appendAudit({ ...run, target: targets(dir), drafts: entries(1) });
    const input = { ...run, target: targets(dir), drafts: entries(3, 2), after: first };
    // What the killed attempt left: event #2 in S3, and #2 plus half of #3 in the JSONL file.
    const events = sealEvents(first, input.drafts.map((d) => ({ ...d, ...run })));
    await lockedStore().append(events.slice(0, 1));
    fs.appendFileSync(new JsonlStore(dir).file(run), `${JSON.stringify(events[0])}\n${JSON.stringify(events[1]).slice(0, 40)}`);

    const head = await appendAudit(input);
    expect(await appendAudit(input)).toEqual(head);
    expect(head).toEqual({ seq: 4, hash: events[2].hash });
    for (const store of [lockedStore(), new JsonlStore(dir)]) {
      const stored = await store.list(run);
      expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(verifyChain(stored, { head: head.hash }).ok).toBe(true);
    }
  });

  it('seals identical events on a retry, whatever the clock says, since `at` comes from the workflow', async () => {
    const run = newRun();
    const dir = testTempDir('audit-');
    const { appendAudit } = createAuditActivities({ s3 });
    const a = await appendAudit({ ...run, target: { kind: 'jsonl', dir }, drafts: entries(2) });
    await new Promise((r) => setTimeout(r, 20));
    expect(await appendAudit({ ...run, target: { kind: 'jsonl', dir }, drafts: entries(2) })).toEqual(a);
  });

  it('stores no credential: a presigned request in a draft loses its signature, credential and token', async () => {
    const run = newRun();
    const dir = testTempDir('audit-');
    const { appendAudit } = createAuditActivities({ s3 });
    const url = 'https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=ASIAQWERTYUIOPASDFGH%2F20260110&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJrLongTokenValue1234&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6';
    await appendAudit({ ...run, target: targets(dir), drafts: [{ ...entries(1)[0], action: 'gate.approved', after: { presigned: url, headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=x, Signature=y' } } }] });
    const text = fs.readFileSync(new JsonlStore(dir).file(run), 'utf8');
    const object = await (await raw.getObject({ Bucket: LOCKED, Key: lockedStore().key(run, 1) })).Body?.transformToString();
    for (const stored of [text, object ?? '']) {
      expect(stored).not.toMatch(/5d672d79c15b|ASIAQWERTY|IQoJb3JpZ2lu|Signature=y/);
      expect(stored).toContain('X-Amz-Signature=[redacted]');
    }
  });

  it('fails for good (non-retryable) when the events conflict with the stored chain', async () => {
    const run = newRun();
    const dir = testTempDir('audit-');
    const { appendAudit } = createAuditActivities({ s3 });
    await appendAudit({ ...run, target: targets(dir), drafts: entries(2) });
    const e = await appendAudit({ ...run, target: targets(dir), drafts: [{ ...entries(1)[0], detail: 'other' }] }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect(e).toMatchObject({ type: FailureType.InvalidState, nonRetryable: true, message: expect.stringMatching(/refusing to overwrite/) });
  });
});

describe('drover audit (the command, in-process) on runs Temporal does not know: explicit anchors only', () => {
  it('verify on S3 exits 0 against --head and --events, then 1 naming the overwritten event once the copy is edited', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 6);
    await store.append(events);
    const head = events[5].hash;
    const anchor = ['--run-id', run.runId, '--head', head, '--events', '6'];
    const ok = await drover(['audit', 'verify', run.workflowId, ...s3Args, ...anchor]);
    expect(ok).toMatchObject({ code: 0, err: [] });
    expect(ok.out).toEqual([
      `audit of ${run.workflowId} verified: 6 events, head ${head}`,
      `  anchored by the head and count given with --head and --events: 6 events ending at ${head}`,
      `  not anchored in Temporal: Temporal has no run ${run.runId} of ${run.workflowId} (its retention may have expired)`,
      `  every event in s3://${LOCKED}/drover-audit/ is its locked original: no later versions, no delete markers`,
    ]);

    await overwrite(store, run, 2, { ...events[1], actor: { id: 'mallory', verified: true } });
    const bad = await drover(['audit', 'verify', run.workflowId, ...s3Args, ...anchor]);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual([
      `drover: audit of ${run.workflowId} FAILED verification (run ${run.runId})`,
      expect.stringMatching(/^ {2}event #2 was overwritten by a later version \(2 versions; the locked original is the oldest: version \S+\)$/),
      '  event #2 gate.approved was modified: its content does not match its hash',
    ]);
  });

  it('verify on S3 names the events hidden by delete markers, where the current objects alone verify as a shorter chain', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 6);
    await store.append(events);
    await hide(store, run, 6);
    const bad = await drover(['audit', 'verify', run.workflowId, ...s3Args, '--run-id', run.runId, '--head', events[5].hash, '--events', '6']);
    expect(bad.code).toBe(1);
    expect(bad.err.join('\n')).toMatch(/ {2}event #6 is hidden by a delete marker \(the locked original is still there: version \S+\)\n {2}the trail ends at event #5 step\.done, but 6 events are anchored by the head and count given with --head and --events: event #6 was cut off/);
  });

  it('without an anchor, verify fails saying why; --head needs --run-id; the anchor catches a cut tail and a wrong head', async () => {
    const dir = testTempDir('audit-');
    const store = new JsonlStore(dir);
    const older = newRun();
    const newer = { ...older, runId: `${older.runId}-b` };
    const first = sealed(older, 4);
    await store.append(first);
    await store.append(sealEvents(undefined, entries(3, 7).map((e) => ({ ...e, ...newer }))));
    const wf = older.workflowId;

    const unanchored = await drover(['audit', 'verify', wf, '--dir', dir]);
    expect(unanchored.code).toBe(1);
    expect(unanchored.err).toEqual([
      `drover: audit of ${wf} cannot be verified: Temporal has no run of ${wf} (its retention may have expired), and no --head was given`,
      '  a trail read from storage alone proves nothing: whoever can write it can recompute every hash or cut its tail',
      "  give the anchor from the run's report: --run-id RUN_ID --head HEAD --events N",
      `  trails in jsonl:${dir}: ${older.runId}, ${newer.runId}`,
    ]);
    const noRunId = await drover(['audit', 'verify', wf, '--dir', dir, '--head', first[3].hash]);
    expect(noRunId.code).toBe(2);
    expect(noRunId.err[1]).toMatch(/^ {2}--run-id: required with --head when Temporal does not know the run/);

    const ok = await drover(['audit', 'verify', wf, '--dir', dir, '--run-id', older.runId, '--head', first[3].hash, '--events', '4']);
    expect(ok).toMatchObject({ code: 0, out: [`audit of ${wf} verified: 4 events, head ${first[3].hash}`, expect.stringMatching(/^ {2}anchored by the head and count given with --head and --events: 4 events/), expect.stringMatching(/not anchored in Temporal/)] });

    // The tail cut off: the chain alone still verifies, the anchor does not.
    const file = store.file(older);
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(0, 3).join('\n')}\n`);
    expect(verifyChain(await store.list(older)).ok).toBe(true);
    const cut = await drover(['audit', 'verify', wf, '--dir', dir, '--run-id', older.runId, '--head', first[3].hash, '--events', '4']);
    expect(cut.code).toBe(1);
    expect(cut.err[1]).toBe('  the trail ends at event #3 aws.PromoteReadReplica, but 4 events are anchored by the head and count given with --head and --events: event #4 was cut off');
    const wrongHead = await drover(['audit', 'verify', wf, '--dir', dir, '--run-id', newer.runId, '--head', 'f'.repeat(64)]);
    expect(wrongHead.code).toBe(1);
    expect(wrongHead.err[1]).toMatch(/no event of the trail has the anchored head f{64} \(the head given with --head\): the chain was rewritten/);
  });

  it('show and export read a run offline from the store with --run-id: a timeline with labelled actors; json, md and csv', async () => {
    const dir = testTempDir('audit-');
    const run = newRun();
    await new JsonlStore(dir).append(sealEvents(undefined, [{ ...entries(1)[0], ...run, actor: { id: 'priya', verified: false }, action: 'run.start' }, ...entries(2, 2).map((e) => ({ ...e, ...run }))]));
    const read = (args: string[]) => drover([...args, run.workflowId, '--dir', dir, '--run-id', run.runId]);
    const show = await read(['audit', 'show']);
    expect(show.code).toBe(0);
    expect(show.out[1]).toMatch(/^chain intact: 3 events, head [0-9a-f]{64} \(not checked against the run's anchor: drover audit verify does\)$/);
    expect(show.out.join('\n')).toMatch(/#1 .*run\.start\s+priya \(unverified\)/);
    expect(show.out.join('\n')).toMatch(/change\s+\{"weight":98\} → \{"weight":97\}/);

    const json = JSON.parse((await read(['audit', 'export'])).out.join('\n')) as { events: AuditEvent[]; verdict: { ok: boolean } };
    expect(json.events).toHaveLength(3);
    expect(json.verdict.ok).toBe(true);
    const md = (await read(['audit', 'export', '--format', 'md'])).out.join('\n');
    expect(md).toMatch(/^# Audit trail of failover-apnakart-\d+/);
    expect(md).toContain('| 2 | 2026-01-10T03:00:02.000Z | drover | gate.approved |');
    const csv = (await read(['audit', 'export', '--format', 'csv'])).out.join('\n').split('\n');
    expect(csv[0]).toBe('seq,at,actor,actorVerified,action,target,before,after,requestId,detail,runId,workflowId,runbook,prevHash,hash');
    expect(csv[1]).toMatch(/^1,2026-01-10T03:00:01.000Z,priya,false,run\.start,/);
    expect(csv[1]).toContain('"{""weight"":99}"');

    // Without --run-id the run comes from Temporal, which has none of this workflow id.
    const unknown = await drover(['audit', 'show', run.workflowId, '--dir', dir]);
    expect(unknown.code).toBe(4);
    expect(unknown.err).toEqual([`drover: no run ${run.workflowId}: Temporal has no run of ${run.workflowId}`, `  trails in jsonl:${dir}: ${run.runId}`, '  read one of them (unanchored) with --run-id']);
  });

  it('show from S3 marks the trail as not verifying when its version history shows a hidden event', async () => {
    const run = newRun();
    const store = lockedStore();
    await store.append(sealed(run, 4));
    await hide(store, run, 4);
    const show = await drover(['audit', 'show', run.workflowId, ...s3Args, '--run-id', run.runId]);
    expect(show.code).toBe(1);
    expect(show.out[1]).toMatch(/^DOES NOT VERIFY: event #4 is hidden by a delete marker/);
    expect(show.err[0]).toMatch(/does not verify: event #4 is hidden by a delete marker/);
  });

  it('exits 4 for an unknown run and 2 for bad options', async () => {
    const none = await drover(['audit', 'verify', 'failover-nothing', '--dir', testTempDir('audit-')]);
    expect(none.code).toBe(4);
    expect(none.err[0]).toMatch(/^drover: no run failover-nothing: Temporal has no run of failover-nothing, and jsonl:.* holds no audit trail for it$/);
    const usage = await drover(['audit', 'show', 'x', '--store', 's3']);
    expect(usage.code).toBe(2);
    expect(usage.err).toEqual(expect.arrayContaining(['  --bucket: required with --store s3']));
    expect((await drover(['audit', 'export', 'x', '--format', 'pdf'])).code).toBe(2);
    const countOnly = await drover(['audit', 'verify', 'x', '--events', '3']);
    expect(countOnly.code).toBe(2);
    expect(countOnly.err).toContain('  --events: needs --head: a count alone cannot tell a rewritten chain from the original');
    expect((await drover(['audit', 'verify', 'x', '--head', 'abc'])).code).toBe(2);
  });
});
