import fs from 'node:fs';
import { S3, type S3ServiceException } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { createAuditActivities, type AuditTarget } from '../activities/audit';
import { createAwsClients, type S3Api } from '../activities/aws/clients';
import type { AuditDraftInput, AuditEvent, AuditRunRef } from '../audit/chain';
import { sealEvents, verifyChain } from '../audit/hash';
import { AuditStoreError, ensureAuditBucket, JsonlStore, S3Store } from '../audit/store';
import { exec } from '../cli/main';
import type { MotoServer } from '../infra/local/stack';
import { FailureType } from '../workflows/failures';
import { startOwnMoto, testTempDir } from './harness/servers';

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

/** Run `drover audit ...` in-process through the real CLI, its AWS endpoint the private moto. */
async function drover(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  try {
    const code = await exec(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  } finally {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
  }
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

describe('drover audit (the command, run in-process around auditCommand)', () => {
  it('verify exits 0 with the count and head, then 1 naming the event once the S3 copy is edited', async () => {
    const run = newRun();
    const store = lockedStore();
    const events = sealed(run, 6);
    await store.append(events);
    const ok = await drover(['audit', 'verify', run.workflowId, ...s3Args]);
    expect(ok).toMatchObject({ code: 0, out: [`audit of ${run.workflowId} verified: 6 events, head ${events[5].hash}`] });

    await overwrite(store, run, 2, { ...events[1], actor: { id: 'mallory', verified: true } });
    const bad = await drover(['audit', 'verify', run.workflowId, ...s3Args]);
    expect(bad.code).toBe(1);
    expect(bad.err.join('\n')).toMatch(/FAILED verification[\s\S]*event #2 gate\.approved was modified/);
  });

  it('verify on JSONL picks the latest run of the workflow id, or --run-id, and checks --head', async () => {
    const dir = testTempDir('audit-');
    const store = new JsonlStore(dir);
    const older = { ...newRun(), workflowId: 'failover-apnakart' };
    const newer = { ...older, runId: `${older.runId}-b` };
    await store.append(sealed(older, 2));
    await store.append(sealEvents(undefined, entries(3, 7).map((e) => ({ ...e, ...newer }))));
    const latest = await drover(['audit', 'verify', 'failover-apnakart', '--dir', dir]);
    expect(latest).toMatchObject({ code: 0, out: [expect.stringMatching(/verified: 3 events/), expect.stringMatching(/^note: the trail ends at #3/)] });
    expect((await drover(['audit', 'verify', 'failover-apnakart', '--dir', dir, '--run-id', older.runId])).out[0]).toMatch(/verified: 2 events/);
    const wrongHead = await drover(['audit', 'verify', 'failover-apnakart', '--dir', dir, '--head', 'f'.repeat(64)]);
    expect(wrongHead.code).toBe(1);
    expect(wrongHead.err.join('\n')).toMatch(/not the expected head/);
  });

  it('show prints a timeline with labelled actors; export writes json, md and csv', async () => {
    const dir = testTempDir('audit-');
    const run = newRun();
    await new JsonlStore(dir).append(sealEvents(undefined, [{ ...entries(1)[0], ...run, actor: { id: 'priya', verified: false }, action: 'run.start' }, ...entries(2, 2).map((e) => ({ ...e, ...run }))]));
    const show = await drover(['audit', 'show', run.workflowId, '--dir', dir]);
    expect(show.code).toBe(0);
    expect(show.out.join('\n')).toMatch(/#1 .*run\.start\s+priya \(unverified\)/);
    expect(show.out.join('\n')).toMatch(/change\s+\{"weight":98\} → \{"weight":97\}/);

    const json = JSON.parse((await drover(['audit', 'export', run.workflowId, '--dir', dir])).out.join('\n')) as { events: AuditEvent[]; verdict: { ok: boolean } };
    expect(json.events).toHaveLength(3);
    expect(json.verdict.ok).toBe(true);
    const md = (await drover(['audit', 'export', run.workflowId, '--dir', dir, '--format', 'md'])).out.join('\n');
    expect(md).toMatch(/^# Audit trail of failover-apnakart-\d+/);
    expect(md).toContain('| 2 | 2026-01-10T03:00:02.000Z | drover | gate.approved |');
    const csv = (await drover(['audit', 'export', run.workflowId, '--dir', dir, '--format', 'csv'])).out.join('\n').split('\n');
    expect(csv[0]).toBe('seq,at,actor,actorVerified,action,target,before,after,requestId,detail,runId,workflowId,runbook,prevHash,hash');
    expect(csv[1]).toMatch(/^1,2026-01-10T03:00:01.000Z,priya,false,run\.start,/);
    expect(csv[1]).toContain('"{""weight"":99}"');
  });

  it('exits 4 for an unknown run and 2 for bad options', async () => {
    expect((await drover(['audit', 'verify', 'failover-nothing', '--dir', testTempDir('audit-')])).code).toBe(4);
    const usage = await drover(['audit', 'verify', 'x', '--store', 's3']);
    expect(usage.code).toBe(2);
    expect(usage.err).toEqual(expect.arrayContaining(['  --bucket: required with --store s3']));
    expect((await drover(['audit', 'export', 'x', '--format', 'pdf'])).code).toBe(2);
  });
});
