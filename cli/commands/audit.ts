import { Command } from 'commander';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { createAwsClients } from '../../aws/clients';
import { AWS_REGION_SHAPE } from '../../runbooks/aws-regions';
import { checkAnchor, compareCopies, type AuditAnchor } from '../../audit/anchor';
import type { AuditEvent, AuditRunRef } from '../../audit/chain';
import { verifyChain, type ChainVerdict } from '../../audit/hash';
import { renderAuditCsv, renderAuditJson, renderAuditMarkdown, renderTimeline, type AuditTrail } from '../../audit/render';
import { defaultAuditDir, JsonlStore } from '../../audit/jsonl-store';
import { S3Store, type S3Tamper } from '../../audit/s3-store';
import { AuditStoreError, type AuditStore } from '../../audit/store';
import { anchorOf, lookupRun, runTree, type AnchoredRun, type RecordedAudit } from '../audit-runs';
import { awsConfig, withClient } from '../context';
import { CliError, EXIT, type CliIO, type ExitCode, type SetExit } from '../io';
import { parseOptions } from '../options';

const region = z.string().regex(AWS_REGION_SHAPE, { error: 'expected an AWS region such as ap-southeast-1' });

const storeOptions = {
  store: z.enum(['jsonl', 's3'], { error: 'expected "jsonl" or "s3"' }).default('jsonl'),
  dir: z.string().min(1).optional(),
  bucket: z.string().min(3).optional(),
  region: region.optional(),
  prefix: z.string().optional(),
  runId: z.string().min(1).optional(),
};

/** `--store s3` needs to know where the bucket is. */
function s3Needs(o: { store: string; bucket?: string; region?: string }, ctx: z.RefinementCtx): void {
  if (o.store !== 's3') return;
  if (!o.bucket) ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required with --store s3' });
  if (!o.region) ctx.addIssue({ code: 'custom', path: ['region'], message: "required with --store s3 (the bucket's region, by default the standby region)" });
}

const showOptions = z.object(storeOptions).superRefine(s3Needs);
const exportOptions = z.object({ ...storeOptions, format: z.enum(['json', 'md', 'csv'], { error: 'expected "json", "md" or "csv"' }).default('json') }).superRefine(s3Needs);
// verify may take the bucket from the run's record, so --store s3 alone is fine there.
const verifyOptions = z
  .object({
    ...storeOptions,
    head: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a 64-character hex SHA-256 (the audit head in the run\'s record or report)' }).optional(),
    events: z.coerce.number({ error: 'expected a number' }).int({ error: 'expected a whole number' }).min(1, { error: 'expected at least 1' }).optional(),
    children: z.boolean().optional(),
  })
  .superRefine((o, ctx) => {
    if (o.events !== undefined && o.head === undefined) ctx.addIssue({ code: 'custom', path: ['events'], message: 'needs --head: a count alone cannot tell a rewritten chain from the original' });
    if (o.children && o.head !== undefined) ctx.addIssue({ code: 'custom', path: ['children'], message: "not with --head: a head anchors one run, and each child run is anchored by its own Temporal record" });
  });

type StoreOptions = z.output<typeof showOptions>;
type VerifyOptions = z.output<typeof verifyOptions>;
type S3Location = { bucket: string; region: string; prefix?: string };

function s3Store(where: S3Location): S3Store {
  return new S3Store({ s3: createAwsClients(awsConfig()).s3(where.region), bucket: where.bucket, prefix: where.prefix });
}

/** The store the options name: the JSONL directory, or the S3 bucket (AWS endpoint and credentials as every command resolves them). */
function openStore(o: StoreOptions, s3?: S3Location): AuditStore {
  if (o.store === 'jsonl') return new JsonlStore(o.dir ?? defaultAuditDir());
  const where = o.bucket && o.region ? { bucket: o.bucket, region: o.region, prefix: o.prefix } : s3 && { ...s3, prefix: o.prefix ?? s3.prefix };
  if (!where) throw new CliError('invalid options', EXIT.USAGE, ["--bucket, --region: required with --store s3 (the run's record names no S3 copy)"]);
  return s3Store(where);
}

/** A store or S3 failure as the CLI reports it: unreadable storage fails (1), a missing bucket is not found (4), unreachable AWS is 5. */
function readFailure(e: unknown, what: string): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof AuditStoreError) return new CliError(`${what} cannot be read: ${e.message}`, e.code === 'not-found' ? EXIT.NOT_FOUND : EXIT.FAILED);
  const message = ((e as Error)?.message ?? String(e)).split('\n')[0];
  if (e instanceof ApplicationFailure) return new CliError(`${what} cannot be read: ${message}`, EXIT.FAILED);
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500) return new CliError(`${what} cannot be read: AWS did not answer: ${message}`, EXIT.UNAVAILABLE, ['check AWS_ENDPOINT_URL, the network and the region']);
  return new CliError(`${what} cannot be read: ${message}`, EXIT.FAILED);
}

async function reading<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw readFailure(e, what);
  }
}

/**
 * The trail of run `runId` in a store. With the runbook known (from Temporal) its place is fixed; without
 * it, the one trail of that run id: trails under two runbooks mean one of them is not this run's.
 */
async function trailRef(store: AuditStore, workflowId: string, runId: string, runbook?: string): Promise<AuditRunRef> {
  if (runbook) return { workflowId, runId, runbook };
  const matches = (await reading(`the audit of ${workflowId}`, () => store.runs(workflowId))).filter((r) => r.runId === runId);
  if (matches.length === 0) throw new CliError(`no audit trail for run ${runId} of ${workflowId} in ${store.location}`, EXIT.NOT_FOUND);
  if (matches.length > 1) {
    throw new CliError(`run ${runId} of ${workflowId} has trails under several runbooks in ${store.location} (${matches.map((m) => m.runbook).join(', ')}): at most one of them is the run's`, EXIT.FAILED);
  }
  return matches[0];
}

/** The run ids a store holds for a workflow id, for hints. */
async function storedRuns(store: AuditStore, workflowId: string): Promise<string[]> {
  return (await reading(`the audit of ${workflowId}`, () => store.runs(workflowId))).map((r) => r.runId);
}

/** A verdict that also counts what the S3 version history shows: the first piece of evidence is the first bad event. */
function withTampering(verdict: ChainVerdict, events: AuditEvent[], tampering: S3Tamper[]): ChainVerdict {
  if (tampering.length === 0) return verdict;
  const first = tampering[0];
  const index = events.findIndex((e) => e.seq === first.seq);
  return { ok: false, firstBad: { seq: first.seq, index: index < 0 ? events.length : index, reason: first.message } };
}

/** Read a run's trail for show and export: the run Temporal has as latest, or --run-id read offline from the store. */
async function loadTrail(run: string, o: StoreOptions): Promise<AuditTrail> {
  const store = openStore(o);
  let runId = o.runId;
  let runbook: string | undefined;
  if (runId === undefined) {
    const lookup = await withClient((client) => lookupRun(client, run));
    if (!lookup.found) {
      const stored = await storedRuns(store, run);
      throw new CliError(`no run ${run}: ${lookup.reason}`, EXIT.NOT_FOUND, stored.length > 0 ? [`trails in ${store.location}: ${stored.join(', ')}`, 'read one of them (unanchored) with --run-id'] : []);
    }
    runId = lookup.run.runId;
    runbook = lookup.run.runbook;
  }
  const ref = await trailRef(store, run, runId, runbook);
  const what = `the audit of ${run} (run ${runId}) in ${store.location}`;
  const events = await reading(what, () => store.list(ref));
  if (events.length === 0) throw new CliError(`no audit trail for run ${runId} of ${run} in ${store.location}`, EXIT.NOT_FOUND);
  const tampering = store instanceof S3Store ? await reading(what, () => store.tampering(ref)) : [];
  return { ...ref, events, verdict: withTampering(verifyChain(events, ref), events, tampering) };
}

interface Anchoring {
  ref: AuditRunRef;
  anchors: AuditAnchor[];
  /** What the success output says about the anchors. */
  describe: (verdicts: Map<AuditAnchor, { anchored: number; unanchored: number }>, events: AuditEvent[]) => string[];
  /** The S3 Object Lock copy the run's record names. */
  s3?: S3Location;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/** What the trail is checked against: Temporal's record of the run, and --head/--events when given. */
async function anchoring(run: string, o: VerifyOptions): Promise<Anchoring> {
  const temporal = await withClient(async (client) => {
    const lookup = await lookupRun(client, run, o.runId);
    return lookup.found ? { found: true as const, anchored: await anchorOf(client, lookup.run, lookup.latest) } : lookup;
  });
  const explicit = (open: boolean): AuditAnchor | undefined =>
    o.head ? { source: o.events ? 'the head and count given with --head and --events' : 'the head given with --head', head: o.head, events: o.events, open } : undefined;
  const explicitLines = (anchor: AuditAnchor | undefined, v: Map<AuditAnchor, { anchored: number }>) => {
    const verdict = anchor && v.get(anchor);
    return anchor && verdict ? [`  anchored by ${anchor.source}: ${plural(verdict.anchored, 'event')} ending at ${anchor.head}`] : [];
  };

  if (!temporal.found) {
    const store = openStore(o);
    const given = explicit(false);
    if (!given) {
      const stored = await storedRuns(store, run);
      const ours = o.runId ? stored.filter((id) => id === o.runId) : stored;
      if (ours.length === 0) throw new CliError(`no run ${run}: ${temporal.reason}, and ${store.location} holds no audit trail for it`, EXIT.NOT_FOUND);
      throw new CliError(`audit of ${run} cannot be verified: ${temporal.reason} (its retention may have expired), and no --head was given`, EXIT.FAILED, [
        'a trail read from storage alone proves nothing: whoever can write it can recompute every hash or cut its tail',
        "give the anchor from the run's report: --run-id RUN_ID --head HEAD --events N",
        `trails in ${store.location}: ${stored.join(', ')}`,
      ]);
    }
    if (!o.runId) {
      throw new CliError('invalid options', EXIT.USAGE, [`--run-id: required with --head when Temporal does not know the run (${temporal.reason}); trails in ${store.location}: ${(await storedRuns(store, run)).join(', ') || 'none'}`]);
    }
    return {
      ref: await trailRef(store, run, o.runId),
      anchors: [given],
      describe: (v) => [...explicitLines(given, v), `  not anchored in Temporal: ${temporal.reason} (its retention may have expired)`],
    };
  }

  const r: AnchoredRun = temporal.anchored;
  const recorded: RecordedAudit | undefined = r.audit;
  const fromTemporal: AuditAnchor | undefined = recorded && { source: `Temporal's record of run ${r.runId}`, head: recorded.head, events: recorded.events, open: !r.closed };
  const given = explicit(!r.closed);
  const anchors = [fromTemporal, given].filter((x): x is AuditAnchor => x !== undefined);
  if (anchors.length === 0) {
    throw new CliError(`audit of ${run} cannot be verified (run ${r.runId}): it has no anchor`, EXIT.FAILED, [
      r.problem ?? 'the run recorded no audit head',
      r.closed ? "give the head from the run's report with --head HEAD --events N" : 'verify again once the run reports its audit head (or has ended)',
    ]);
  }
  return {
    ref: { workflowId: run, runId: r.runId, runbook: r.runbook },
    anchors,
    s3: recorded?.s3,
    describe: (v, events) => {
      const lines: string[] = [];
      const t = fromTemporal && v.get(fromTemporal);
      if (!t) lines.push(`  not anchored in Temporal: ${r.problem ?? 'the run recorded no audit head'}`);
      else if (r.closed) lines.push(`  anchored in Temporal: run ${r.runId} (${r.status.toLowerCase()}) recorded ${plural(t.anchored, 'event')} ending at this head`);
      else {
        const one = t.unanchored === 1;
        const later = t.unanchored > 0 ? `; ${plural(t.unanchored, 'later event')} (${one ? `#${events.length}` : `#${t.anchored + 1}–#${events.length}`}) ${one ? 'chains on but is' : 'chain on but are'} not anchored yet` : '';
        lines.push(`  anchored in Temporal: run ${r.runId} is still running; its live record has ${plural(t.anchored, 'event')} ending at this head${later}`);
      }
      return [...lines, ...explicitLines(given, v)];
    },
  };
}

/**
 * `--children`: the run and every child run it started (a drill's failover and failback, a failover's
 * promotions), each verified as `verify` verifies one run, against its own Temporal record. Every trail is
 * checked even after one fails; the command fails (1) when any did, naming each.
 */
async function verifyTree(run: string, o: VerifyOptions, io: CliIO): Promise<void> {
  const tree = await withClient((client) => runTree(client, run, o.runId));
  const runs = tree.filter((r) => !r.notStarted);
  for (const r of tree.filter((x) => x.notStarted)) io.out(`child ${r.workflowId} was never started: ${r.notStarted}; it has no trail`);
  // Each run's outcome: a trail that fails verification (1), or one that could not be checked (4: not found, 5: unreachable).
  const failed: Array<{ what: string; code: ExitCode }> = [];
  for (const r of runs) {
    try {
      if (r.missing) throw new CliError(`audit of ${r.workflowId} cannot be verified: ${r.missing} (a child's history can expire before its parent's)`, EXIT.NOT_FOUND);
      await verifyTrail(r.workflowId, { ...o, runId: r.runId, children: false }, io);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      io.err(`drover: ${e.message}`);
      e.lines.forEach((l) => io.err(`  ${l}`));
      failed.push({ what: `${r.workflowId} (run ${r.runId || 'unknown'})${e.exitCode === EXIT.FAILED ? '' : `: not checked (exit ${e.exitCode})`}`, code: e.exitCode });
    }
  }
  const children = runs.length - 1;
  const with_ = `${run} and its ${plural(children, 'child run')}`;
  if (failed.length > 0) {
    // Tampering found anywhere decides; otherwise the command says it could not check (5 before 4), never "failed".
    const codes = failed.map((f) => f.code);
    const code = codes.includes(EXIT.FAILED) ? EXIT.FAILED : codes.includes(EXIT.UNAVAILABLE) ? EXIT.UNAVAILABLE : codes[0];
    const verdict = code === EXIT.FAILED ? 'FAILED verification' : 'could not be checked';
    throw new CliError(`audit of ${with_}: ${failed.length} of ${runs.length} trails ${verdict}`, code, failed.map((f) => f.what));
  }
  io.out(`audit of ${with_}: all ${runs.length} trails verified (${runs.map((r) => r.workflowId).join(', ')})`);
}

/** Verify a run's trail against its anchors, and against the S3 Object Lock copy its record names. */
async function verifyTrail(run: string, o: VerifyOptions, io: CliIO): Promise<void> {
  const a = await anchoring(run, o);
  const store = openStore(o, a.s3);
  const what = `the audit of ${run} (run ${a.ref.runId}) in ${store.location}`;
  const events = await reading(what, () => store.list(a.ref));
  const problems: string[] = [];
  if (store instanceof S3Store) problems.push(...(await reading(what, () => store.tampering(a.ref))).map((t) => t.message));

  const verdicts = new Map<AuditAnchor, { anchored: number; unanchored: number }>();
  if (events.length === 0) {
    const expected = a.anchors[0].events === undefined ? '' : `, but ${plural(a.anchors[0].events, 'event')} ${a.anchors[0].events === 1 ? 'is' : 'are'} anchored by ${a.anchors[0].source}`;
    const hint = o.store === 'jsonl' ? ' (the JSONL trail is kept by the worker that wrote it: point --dir at it, or read the S3 copy with --store s3)' : '';
    problems.push(`${store.location} holds no audit events for run ${a.ref.runId}${expected}${hint}`);
  } else {
    const chain = verifyChain(events, a.ref);
    if (!chain.ok) problems.push(chain.firstBad.reason);
    else {
      for (const anchor of a.anchors) {
        const v = checkAnchor(events, anchor);
        if (v.ok) verdicts.set(anchor, v);
        else problems.push(v.reason);
      }
    }
  }

  let copyLine: string | undefined;
  if (o.store === 'jsonl' && a.s3) {
    const copy = s3Store(a.s3);
    const where = `the S3 copy (${copy.location})`;
    const copyEvents = await reading(where, () => copy.list(a.ref));
    const tampering = await reading(where, () => copy.tampering(a.ref));
    problems.push(...tampering.map((t) => `S3 copy: ${t.message}`));
    const copyChain = copyEvents.length > 0 ? verifyChain(copyEvents, a.ref) : undefined;
    if (copyChain && !copyChain.ok) problems.push(`S3 copy: ${copyChain.firstBad.reason}`);
    const primary = a.anchors[0];
    const anchored = verdicts.get(primary)?.anchored ?? primary.events ?? events.length;
    const difference = compareCopies(events, copyEvents, { trail: 'JSONL trail', copy: 'S3 copy', anchored, open: primary.open === true });
    if (difference) problems.push(difference);
    copyLine = `  S3 copy ${copy.location} holds the same events (same seq, same hash), each its locked original: no later versions, no delete markers`;
  } else if (store instanceof S3Store) {
    copyLine = `  every event in ${store.location} is its locked original: no later versions, no delete markers`;
  }

  if (problems.length > 0) throw new CliError(`audit of ${run} FAILED verification (run ${a.ref.runId})`, EXIT.FAILED, problems);
  const primary = a.anchors[0];
  const v = verdicts.get(primary) as { anchored: number };
  io.out(`audit of ${run} verified: ${plural(v.anchored, 'event')}, head ${v.anchored > 0 ? events[v.anchored - 1].hash : primary.head}`);
  a.describe(verdicts, events).forEach((l) => io.out(l));
  if (copyLine) io.out(copyLine);
}

function addStoreOptions(cmd: Command): Command {
  return cmd
    .argument('<run>', 'workflow id of the run (e.g. failover-apnakart)')
    .option('--store <store>', 'jsonl (the local copy) or s3 (the Object Lock bucket)', 'jsonl')
    .option('--dir <dir>', 'JSONL directory (default: $DROVER_HOME/audit)')
    .option('--bucket <bucket>', 'S3 bucket (with --store s3)')
    .option('--region <region>', "the bucket's region (with --store s3)")
    .option('--prefix <prefix>', 'S3 key prefix (default: drover-audit/)');
}

const READ_HELP = `
The run: without --run-id, the latest run Temporal has for the workflow id (Temporal must be
reachable: exit 5 if not, 4 if it has no run). With --run-id, the trail is read from the store alone,
offline, and its chain is recomputed but not checked against any anchor: only \`drover audit verify\`
says whether the trail is the one the run wrote.`;

const VERIFY_HELP = `
What is checked: the chain recomputed from storage (every event's hash, its link to the one before,
no gap), then against an anchor the trail's writer cannot rewrite: the audit head and event count in
the run's Temporal record (its live status while it runs, its result once closed). A closed run's
trail must end exactly at that head; a running one must hold it at that event, and later events are
reported as not yet anchored. The run is the latest Temporal has for the workflow id, or --run-id
(which Temporal must know, unless --head is given). When the record names the runbook's S3 Object
Lock copy, the JSONL trail is also compared with it event by event. In S3, every event key must hold
exactly one version and no delete marker: later versions and delete markers are tampering.

Without an anchor (Temporal no longer has the run, e.g. its retention expired) verification fails
unless the head (and count) from the run's report is given: --run-id ID --head HEAD [--events N].
Temporal is asked in every case, so that a run it knows is never checked against a head given by hand
alone; when it cannot be reached, verify exits 5.

With --children, the run's child runs are found in its Temporal history (each ChildWorkflowExecutionStarted
event, recursively) and each trail is verified against its own record: one command for a drill with its
failover, failback and their promotions. Every trail is checked. It exits 1 when any trail fails
verification; else 5 or 4 when a trail could not be checked (unreachable; not found, e.g. a child's history
expired); a child whose start failed has no trail and is named.

Exit codes: 0 verified; 1 verification failed (each problem on its own line); 2 bad options;
4 no such run; 5 Temporal or AWS unreachable, or no worker answered for a running run.`;

/** `drover audit show|export|verify RUN`: read, export and verify a run's tamper-evident audit trail. */
export function auditCommand(io: CliIO, setExit: SetExit): Command {
  const warnIfBroken = (t: AuditTrail) => {
    if (t.verdict.ok) return setExit(EXIT.OK);
    io.err(`drover: the audit trail of ${t.workflowId} does not verify: ${t.verdict.firstBad.reason}`);
    setExit(EXIT.FAILED);
  };

  const show = addStoreOptions(new Command('show').description("print a run's audit events as a readable timeline"))
    .option('--run-id <id>', 'a particular run, read offline from the store')
    .addHelpText('after', READ_HELP)
    .action(async (run: string, raw: unknown) => {
      const trail = await loadTrail(run, parseOptions(showOptions, raw));
      renderTimeline(trail).forEach((l) => io.out(l));
      warnIfBroken(trail);
    });

  const exportCmd = addStoreOptions(new Command('export').description("write a run's audit events to standard output as JSON, Markdown or CSV"))
    .option('--run-id <id>', 'a particular run, read offline from the store')
    .option('--format <format>', 'json, md or csv', 'json')
    .addHelpText('after', READ_HELP)
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(exportOptions, raw);
      const trail = await loadTrail(run, o);
      const text = o.format === 'csv' ? renderAuditCsv(trail) : o.format === 'md' ? renderAuditMarkdown(trail) : renderAuditJson(trail);
      io.out(text.replace(/\n$/, ''));
      warnIfBroken(trail);
    });

  const verify = addStoreOptions(new Command('verify').description("check a run's trail against the head Temporal recorded for it; exit 1 naming what was changed"))
    .option('--run-id <id>', 'a particular run of the workflow id (default: the latest Temporal has)')
    .option('--head <hash>', "the audit head from the run's report: an anchor when Temporal no longer has the run")
    .option('--events <n>', 'the event count from the same report (with --head)')
    .option('--children', "also every child run it started (a drill's failover and failback, a failover's promotions), each against its own record")
    .addHelpText('after', VERIFY_HELP)
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(verifyOptions, raw);
      await (o.children ? verifyTree(run, o, io) : verifyTrail(run, o, io));
      setExit(EXIT.OK);
    });

  return new Command('audit').description("a run's tamper-evident audit trail: show, export, verify").addCommand(show).addCommand(exportCmd).addCommand(verify);
}
