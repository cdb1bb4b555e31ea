/**
 * `drover audit verify` against what the trail's writer cannot rewrite: the head and event count in the
 * run's Temporal record, and the version history of the S3 Object Lock copy. One real failover, started
 * through the CLI and run by a worker on the real Temporal dev server and moto, writes the trail; each
 * attack works on a copy of it (another JSONL directory, another S3 prefix), so the tests stay independent.
 * Each attack leaves a trail whose chain verifies from storage alone: only the anchor catches it.
 * Two tests start runs of their own: one whose record names the runbook's S3 copy (the JSONL is compared
 * with it), and one held at its approval gate (the live anchor its status query carries while it runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { S3 } from '@aws-sdk/client-s3';
import { createAwsClients } from '../aws/clients';
import type { AuditDraft, AuditEvent, AuditRunRef } from '../audit/chain';
import { sealEvents, verifyChain } from '../audit/hash';
import { JsonlStore } from '../audit/jsonl-store';
import { S3Store } from '../audit/s3-store';
import { exec } from '../cli/main';
import type { RunStatus } from '../contracts/run';
import { IntegrationEnv, STANDBY } from './harness/env';
import { captureIO, eventually } from './harness/fixtures';
import { testTemporalAddress, testTempDir } from './harness/servers';

const env = new IntegrationEnv();
const saved = { ...process.env };
const BUCKET = `drover-audit-anchor-${process.pid}`;
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

let workflowId: string;
let status: RunStatus;
let run: AuditRunRef;
/** The trail as the worker wrote it (JSONL), read once the run ended. */
let written: AuditEvent[];
/** A full S3 client, for what drover never does: tampering. */
let raw: S3;

/** Point the in-process CLI at the suite's Temporal, this file's moto and the run's task queue. */
function useCli(taskQueue: string): void {
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID = CREDS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDS.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
  process.env.DROVER_TASK_QUEUE = taskQueue;
}

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const io = captureIO();
  const code = await exec(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

beforeAll(async () => {
  await env.start();
  raw = new S3({ region: STANDBY, endpoint: env.moto.endpoint, credentials: CREDS, forcePathStyle: true, maxAttempts: 1 });
  // No approval gate; the trail also goes to an Object Lock bucket in the standby region.
  const { file, runbook, taskQueue } = await env.seeded('audanchor', [
    [['approvals', 'gates'], []],
    [['audit'], { s3: { bucket: BUCKET, mode: 'GOVERNANCE', retentionDays: 1 } }],
  ]);
  useCli(taskQueue);
  workflowId = `failover-${runbook.name}`;
  status = await env.withWorker(taskQueue, async () => {
    const started = await cli(['failover', file, '--to', STANDBY, '--reason', 'audit anchor test', '--time-scale', '0.005', '--detach']);
    if (started.code !== 0) throw new Error(`drover failover exited ${started.code}: ${started.err.join('\n')}`);
    return (await env.client.workflow.getHandle(workflowId).result()) as RunStatus;
  });
  run = { runbook: runbook.name, workflowId, runId: status.runId };
  written = await new JsonlStore().list(run);
}, 300_000);

afterAll(async () => {
  process.env = saved;
  raw?.destroy();
  await env.stop();
});

/** A JSONL trail of `ref` holding exactly `events`, in a fresh directory (what an attacker with write access leaves). */
function jsonlDir(ref: AuditRunRef, events: AuditEvent[]): string {
  const dir = testTempDir('audit-anchor-');
  const file = new JsonlStore(dir).file(ref);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return dir;
}

/** A copy of the run's JSONL trail in a fresh directory (what an attacker with write access edits), optionally edited. */
function jsonlCopy(edit: (events: AuditEvent[]) => AuditEvent[] = (e) => e): { dir: string; events: AuditEvent[] } {
  const events = edit(written.map((e) => structuredClone(e)));
  return { dir: jsonlDir(run, events), events };
}

/** Re-seal events as a careful forger does: every hash recomputed from the first event on. */
function resealed(events: AuditEvent[]): AuditEvent[] {
  return sealEvents(
    undefined,
    events.map(({ seq: _seq, prevHash: _prev, hash: _hash, ...draft }): AuditDraft => draft),
  );
}

let prefixes = 0;
/** A copy of the run's S3 events under a fresh key prefix of the same Object Lock bucket (each locked, as the worker writes them). */
async function s3Copy(): Promise<{ store: S3Store; prefix: string; args: string[] }> {
  const prefix = `tamper-${++prefixes}/`;
  const store = new S3Store({ s3: createAwsClients(env.config()).s3(STANDBY), bucket: BUCKET, prefix, retention: { mode: 'GOVERNANCE', retentionDays: 1 } });
  await store.append(await new S3Store({ s3: createAwsClients(env.config()).s3(STANDBY), bucket: BUCKET }).list(run));
  return { store, prefix, args: ['--store', 's3', '--bucket', BUCKET, '--region', STANDBY, '--prefix', prefix] };
}

const failedLine = () => `drover: audit of ${workflowId} FAILED verification (run ${status.runId})`;

describe('drover audit verify against the Temporal anchor (a real failover through the CLI)', () => {
  test('the untouched trail verifies against the head and count Temporal recorded, in JSONL and in the S3 Object Lock copy', async () => {
    expect(status.phase).toBe('completed');
    const head = status.audit?.head;
    const events = status.audit?.events ?? 0;
    expect(written).toHaveLength(events);
    expect(written[events - 1].hash).toBe(head);

    const jsonl = await cli(['audit', 'verify', workflowId]);
    expect(jsonl.err).toEqual([]);
    expect(jsonl.code).toBe(0);
    expect(jsonl.out.slice(0, 2)).toEqual([`audit of ${workflowId} verified: ${events} events, head ${head}`, `  anchored in Temporal: run ${status.runId} (completed) recorded ${events} events ending at this head`]);

    const s3 = await cli(['audit', 'verify', workflowId, '--store', 's3', '--bucket', BUCKET, '--region', STANDBY]);
    expect(s3.code).toBe(0);
    expect(s3.out).toEqual([
      `audit of ${workflowId} verified: ${events} events, head ${head}`,
      `  anchored in Temporal: run ${status.runId} (completed) recorded ${events} events ending at this head`,
      `  every event in s3://${BUCKET}/drover-audit/ is its locked original: no later versions, no delete markers`,
    ]);

    // --run-id names the same run; a --head that is not the run's fails even though Temporal's anchor holds.
    expect((await cli(['audit', 'verify', workflowId, '--run-id', status.runId])).code).toBe(0);
    const wrongHead = await cli(['audit', 'verify', workflowId, '--head', 'a'.repeat(64)]);
    expect(wrongHead.code).toBe(1);
    expect(wrongHead.err).toEqual([failedLine(), `  no event of the trail has the anchored head ${'a'.repeat(64)} (the head given with --head): the chain was rewritten (its hashes recomputed), or cut off before that event`]);
  });

  test('a consistent rewrite of the whole JSONL chain (requester changed, hashes recomputed) fails against the Temporal anchor', async () => {
    const { dir, events } = jsonlCopy((e) => resealed(e.map((x) => (x.action === 'run.start' ? { ...x, actor: { id: 'mallory', verified: false } } : x))));
    // The forged chain is self-consistent: storage alone cannot tell it from the original.
    expect(verifyChain(events, run)).toMatchObject({ ok: true, count: written.length });
    expect(events[0].actor.id).toBe('mallory');

    const n = events.length;
    const verify = await cli(['audit', 'verify', workflowId, '--dir', dir]);
    expect(verify.code).toBe(1);
    expect(verify.err.slice(0, 2)).toEqual([
      failedLine(),
      `  event #${n} ${events[n - 1].action} hashes to ${events[n - 1].hash}, not to the anchored head ${status.audit?.head} (Temporal's record of run ${status.runId}): the chain was rewritten and its hashes recomputed`,
    ]);
  });

  test('cutting off the tail of the JSONL trail fails against the Temporal anchor, naming the missing events', async () => {
    const n = written.length;
    const { dir, events } = jsonlCopy((e) => e.slice(0, n - 2));
    expect(verifyChain(events, run)).toMatchObject({ ok: true, count: n - 2 });

    const verify = await cli(['audit', 'verify', workflowId, '--dir', dir]);
    expect(verify.code).toBe(1);
    expect(verify.err.slice(0, 2)).toEqual([failedLine(), `  the trail ends at event #${n - 2} ${events[n - 3].action}, but ${n} events are anchored by Temporal's record of run ${status.runId}: events #${n - 1}–#${n} were cut off`]);
  });

  test('a decoy run file with a later start is not what verify checks: the run is the one Temporal has, and a run id Temporal does not know fails', async () => {
    const { dir } = jsonlCopy();
    const decoy = { ...run, runId: randomUUID() };
    const later = (s: number) => new Date(Date.now() + 86_400_000 + s * 1000).toISOString();
    const decoyEvents = sealEvents(undefined, [
      { ...decoy, at: later(0), actor: { id: 'mallory', verified: false }, action: 'run.start', detail: 'planned failover' },
      { ...decoy, at: later(1), actor: { id: 'mallory', verified: true }, action: 'gate.approved', detail: 'failover' },
      { ...decoy, at: later(2), actor: { id: 'drover-worker', verified: false }, action: 'run.end', detail: 'completed' },
    ]);
    await new JsonlStore(dir).append(decoyEvents);
    // The decoy is a clean chain, and it starts last: reading file names alone, it would be "the latest run".
    expect(verifyChain(decoyEvents)).toMatchObject({ ok: true, count: 3 });
    expect((await new JsonlStore(dir).runs(workflowId)).map((r) => r.runId).pop()).toBe(decoy.runId);

    const verify = await cli(['audit', 'verify', workflowId, '--dir', dir]);
    expect(verify.code).toBe(0);
    expect(verify.out.slice(0, 2)).toEqual([
      `audit of ${workflowId} verified: ${written.length} events, head ${status.audit?.head}`,
      `  anchored in Temporal: run ${status.runId} (completed) recorded ${written.length} events ending at this head`,
    ]);
    const shown = await cli(['audit', 'show', workflowId, '--dir', dir]);
    expect(shown.out[0]).toBe(`audit of ${workflowId} (run ${status.runId}, runbook ${run.runbook}): ${written.length} events`);

    const named = await cli(['audit', 'verify', workflowId, '--dir', dir, '--run-id', decoy.runId]);
    expect(named.code).toBe(1);
    expect(named.err[0]).toBe(`drover: audit of ${workflowId} cannot be verified: Temporal has no run ${decoy.runId} of ${workflowId} (its retention may have expired), and no --head was given`);
  });

  test('in the S3 Object Lock copy, delete markers hiding the tail fail verification: "event #N is hidden by a delete marker (the locked original is still there)"', async () => {
    const { store, args } = await s3Copy();
    const n = written.length;
    for (const seq of [n - 1, n]) await raw.deleteObject({ Bucket: BUCKET, Key: store.key(run, seq) });
    // What current objects show is a clean, shorter chain.
    expect(verifyChain(await store.list(run), run)).toMatchObject({ ok: true, count: n - 2 });

    const verify = await cli(['audit', 'verify', workflowId, ...args]);
    expect(verify.code).toBe(1);
    expect(verify.err).toEqual([
      failedLine(),
      expect.stringMatching(new RegExp(`^ {2}event #${n - 1} is hidden by a delete marker \\(the locked original is still there: version \\S+\\)$`)),
      expect.stringMatching(new RegExp(`^ {2}event #${n} is hidden by a delete marker \\(the locked original is still there: version \\S+\\)$`)),
      `  the trail ends at event #${n - 2} ${written[n - 3].action}, but ${n} events are anchored by Temporal's record of run ${status.runId}: events #${n - 1}–#${n} were cut off`,
    ]);
  });

  test('in the S3 Object Lock copy, new versions overwriting events from #3 on (hashes recomputed) fail verification: "event #3 was overwritten by a later version"', async () => {
    const { store, args } = await s3Copy();
    const forged = resealed(written.map((e) => (e.seq === 3 ? { ...e, detail: `${e.detail ?? ''} (forged)` } : e)));
    for (const e of forged.slice(2)) await raw.putObject({ Bucket: BUCKET, Key: store.key(run, e.seq), Body: `${JSON.stringify(e)}\n` });
    expect(verifyChain(await store.list(run), run)).toMatchObject({ ok: true, count: written.length });

    const verify = await cli(['audit', 'verify', workflowId, ...args]);
    expect(verify.code).toBe(1);
    expect(verify.err[0]).toBe(failedLine());
    expect(verify.err[1]).toMatch(/^ {2}event #3 was overwritten by a later version \(2 versions; the locked original is the oldest: version \S+\)$/);
    expect(verify.err.filter((l) => / was overwritten by a later version/.test(l))).toHaveLength(written.length - 2);
    expect(verify.err[verify.err.length - 1]).toMatch(/hashes to [0-9a-f]{64}, not to the anchored head [0-9a-f]{64} \(Temporal's record of run .*\): the chain was rewritten/);
  });

  test('given a record that names the S3 copy, a JSONL trail rewritten consistently fails naming the first event that differs from the S3 copy', async () => {
    const bucket = `drover-audit-s3rec-${process.pid}`;
    const seeded = await env.seeded('auds3rec', [
      [['audit'], { s3: { bucket, region: STANDBY, mode: 'GOVERNANCE', retentionDays: 1 } }],
      [['approvals', 'gates'], []],
    ]);
    useCli(seeded.taskQueue);
    const id = `failover-${seeded.runbook.name}`;
    const result = await env.withWorker(seeded.taskQueue, async () => {
      const started = await cli(['failover', seeded.file, '--to', STANDBY, '--reason', 'audit s3 record test', '--time-scale', '0.005', '--detach']);
      expect(started.code).toBe(0);
      return (await env.client.workflow.getHandle(id).result()) as RunStatus;
    });
    expect(result.phase).toBe('completed');
    const ref: AuditRunRef = { runbook: seeded.runbook.name, workflowId: id, runId: result.runId };
    const trail = await new JsonlStore().list(ref);
    const n = trail.length;
    // The record names the copy, so verify finds it without being told where it is.
    expect(result.audit).toEqual({ head: trail[n - 1].hash, events: n, s3: { bucket, region: STANDBY } });
    const verified = [`audit of ${id} verified: ${n} events, head ${trail[n - 1].hash}`, `  anchored in Temporal: run ${result.runId} (completed) recorded ${n} events ending at this head`];

    const untouched = await cli(['audit', 'verify', id]);
    expect(untouched.err).toEqual([]);
    expect(untouched.code).toBe(0);
    expect(untouched.out).toEqual([...verified, `  S3 copy s3://${bucket}/drover-audit/ holds the same events (same seq, same hash), each its locked original: no later versions, no delete markers`]);
    const s3Only = await cli(['audit', 'verify', id, '--store', 's3']);
    expect(s3Only.code).toBe(0);
    expect(s3Only.out).toEqual([...verified, `  every event in s3://${bucket}/drover-audit/ is its locked original: no later versions, no delete markers`]);

    // Events from #3 on rewritten, every hash recomputed: the JSONL chain verifies on its own.
    const forged = resealed(trail.map((e) => (e.seq === 3 ? { ...e, detail: `${e.detail ?? ''} (forged)` } : e)));
    expect(verifyChain(forged, ref)).toMatchObject({ ok: true, count: n });
    const verify = await cli(['audit', 'verify', id, '--dir', jsonlDir(ref, forged)]);
    expect(verify.code).toBe(1);
    expect(verify.out).toEqual([]);
    expect(verify.err).toEqual([
      `drover: audit of ${id} FAILED verification (run ${result.runId})`,
      `  event #${n} ${trail[n - 1].action} hashes to ${forged[n - 1].hash}, not to the anchored head ${trail[n - 1].hash} (Temporal's record of run ${result.runId}): the chain was rewritten and its hashes recomputed`,
      `  event #3 differs: the JSONL trail has #3 ${trail[2].action} (hash ${forged[2].hash}), the S3 copy has #3 ${trail[2].action} (hash ${trail[2].hash}) (${n - 2} events differ in all)`,
    ]);
  });

  test('given a run still running, verify checks the prefix up to the live anchored head and reports the later events as not yet anchored', async () => {
    // The runbook's own gates (trustClientIdentity): the run stops at gate:failover until someone decides.
    const seeded = await env.seeded('audlive');
    useCli(seeded.taskQueue);
    const id = `failover-${seeded.runbook.name}`;
    await env.withWorker(seeded.taskQueue, async () => {
      const started = await cli(['failover', seeded.file, '--to', STANDBY, '--reason', 'audit live anchor test', '--time-scale', '0.005', '--detach']);
      expect(started.code).toBe(0);
      const handle = env.client.workflow.getHandle(id);
      try {
        // Waiting at the gate, its request written: the live record's head is then the trail's last event, and stays so.
        const { live, ref, trail } = await eventually(async () => {
          const s = await handle.query<RunStatus>('status').catch(() => undefined);
          if (!s?.pendingGate || !s.audit) return undefined;
          const r: AuditRunRef = { runbook: seeded.runbook.name, workflowId: id, runId: s.runId };
          const events = await new JsonlStore().list(r);
          const last = events[events.length - 1];
          return last?.action === 'gate.requested' && last.seq === s.audit.events && last.hash === s.audit.head ? { live: s, ref: r, trail: events } : undefined;
        }, 'the failover gate, its request written to the trail');
        expect(live.pendingGate?.name).toBe('failover');
        expect(live.audit?.s3).toBeUndefined();
        const n = trail.length;
        const head = trail[n - 1].hash;
        const anchoredLine = `  anchored in Temporal: run ${ref.runId} is still running; its live record has ${n} events ending at this head`;

        const now = await cli(['audit', 'verify', id]);
        expect(now.err).toEqual([]);
        expect(now.code).toBe(0);
        expect(now.out).toEqual([`audit of ${id} verified: ${n} events, head ${head}`, anchoredLine]);

        // Events appended after the head the record holds chain on; they are checked as a chain, not yet against an anchor.
        const at = (i: number) => new Date(Date.parse(trail[n - 1].at) + i).toISOString();
        const later = sealEvents({ seq: n, hash: head }, [
          { ...ref, at: at(1), actor: { id: 'ic-priya', verified: false }, action: 'gate.approved', detail: 'failover' },
          { ...ref, at: at(2), actor: { id: 'drover-worker', verified: false }, action: 'step.start', target: 'scale-compute' },
        ]);
        const oneAhead = await cli(['audit', 'verify', id, '--dir', jsonlDir(ref, [...trail, later[0]])]);
        expect(oneAhead.code).toBe(0);
        expect(oneAhead.out).toEqual([`audit of ${id} verified: ${n} events, head ${head}`, `${anchoredLine}; 1 later event (#${n + 1}) chains on but is not anchored yet`]);
        const ahead = await cli(['audit', 'verify', id, '--dir', jsonlDir(ref, [...trail, ...later])]);
        expect(ahead.err).toEqual([]);
        expect(ahead.code).toBe(0);
        expect(ahead.out).toEqual([`audit of ${id} verified: ${n} events, head ${head}`, `${anchoredLine}; 2 later events (#${n + 1}–#${n + 2}) chain on but are not anchored yet`]);

        // The anchored prefix rewritten (requester changed, hashes recomputed) fails against the live head.
        const forged = resealed([...trail, ...later].map((e) => (e.action === 'run.start' ? { ...e, actor: { id: 'mallory', verified: false } } : e)));
        expect(verifyChain(forged, ref)).toMatchObject({ ok: true, count: n + 2 });
        const rewritten = await cli(['audit', 'verify', id, '--dir', jsonlDir(ref, forged)]);
        expect(rewritten.code).toBe(1);
        expect(rewritten.err).toEqual([
          `drover: audit of ${id} FAILED verification (run ${ref.runId})`,
          `  event #${n} ${trail[n - 1].action} hashes to ${forged[n - 1].hash}, not to the anchored head ${head} (Temporal's record of run ${ref.runId}): the chain was rewritten and its hashes recomputed`,
        ]);

        // Cut back into the anchored prefix: the live record still says how many events there were.
        const cut = await cli(['audit', 'verify', id, '--dir', jsonlDir(ref, trail.slice(0, n - 1))]);
        expect(cut.code).toBe(1);
        expect(cut.err).toEqual([
          `drover: audit of ${id} FAILED verification (run ${ref.runId})`,
          `  the trail ends at event #${n - 1} ${trail[n - 2].action}, but ${n} events are anchored by Temporal's record of run ${ref.runId}: event #${n} was cut off`,
        ]);
      } finally {
        await handle.terminate('test done');
      }
    });
  });
});
