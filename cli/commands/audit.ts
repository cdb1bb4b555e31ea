import { Command } from 'commander';
import { z } from 'zod';
import { createAwsClients } from '../../activities/aws/clients';
import { eventName } from '../../audit/chain';
import { verifyChain } from '../../audit/hash';
import { renderAuditCsv, renderAuditJson, renderAuditMarkdown, renderTimeline, type AuditTrail } from '../../audit/render';
import { AuditStoreError, defaultAuditDir, JsonlStore, S3Store, type AuditStore } from '../../audit/store';
import { awsConfig } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { parseOptions } from '../options';
import type { SetExit } from './index';

const storeOptions = {
  store: z.enum(['jsonl', 's3'], { error: 'expected "jsonl" or "s3"' }).default('jsonl'),
  dir: z.string().min(1).optional(),
  bucket: z.string().min(3).optional(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected an AWS region such as ap-southeast-1' }).optional(),
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
const verifyOptions = z
  .object({ ...storeOptions, head: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a 64-character hex SHA-256 (the head in the workflow result)' }).optional() })
  .superRefine(s3Needs);

type StoreOptions = z.output<typeof showOptions>;

/** The store the options name: the JSONL directory, or the S3 bucket (AWS endpoint and credentials as every command resolves them). */
function openStore(o: StoreOptions): AuditStore {
  if (o.store === 'jsonl') return new JsonlStore(o.dir ?? defaultAuditDir());
  const region = o.region as string;
  const s3 = createAwsClients(awsConfig()).s3(region);
  return new S3Store({ s3, bucket: o.bucket as string, prefix: o.prefix });
}

/** Read a run's trail (the latest run of the workflow id, or --run-id) and recompute its chain. */
async function loadTrail(run: string, o: StoreOptions & { head?: string }): Promise<AuditTrail> {
  const store = openStore(o);
  try {
    const runs = await store.runs(run);
    if (runs.length === 0) throw new CliError(`no audit trail for ${run} in ${store.location}`, EXIT.NOT_FOUND);
    const ref = o.runId ? runs.find((r) => r.runId === o.runId) : runs[runs.length - 1];
    if (!ref) throw new CliError(`no audit trail for run ${o.runId} of ${run} in ${store.location}`, EXIT.NOT_FOUND, [`runs found: ${runs.map((r) => r.runId).join(', ')}`]);
    const events = await store.list(ref);
    return { workflowId: ref.workflowId, runId: ref.runId, runbook: ref.runbook, events, verdict: verifyChain(events, { runId: ref.runId, head: o.head }) };
  } catch (e) {
    if (e instanceof AuditStoreError) {
      // Unreadable storage is a failed verification (exit 1) naming where; a missing bucket is "not found".
      throw new CliError(`audit of ${run} cannot be read: ${e.message}`, e.code === 'not-found' ? EXIT.NOT_FOUND : EXIT.FAILED);
    }
    throw e;
  }
}

function addStoreOptions(cmd: Command): Command {
  return cmd
    .argument('<run>', 'workflow id of the run (e.g. failover-apnakart); its latest run unless --run-id')
    .option('--store <store>', 'jsonl (the local copy) or s3 (the Object Lock bucket)', 'jsonl')
    .option('--dir <dir>', 'JSONL directory (default: $DROVER_HOME/audit)')
    .option('--bucket <bucket>', 'S3 bucket (with --store s3)')
    .option('--region <region>', "the bucket's region (with --store s3)")
    .option('--prefix <prefix>', 'S3 key prefix (default: drover-audit/)')
    .option('--run-id <id>', 'a particular run of the workflow id');
}

/** `drover audit show|export|verify RUN`: read, export and verify a run's tamper-evident audit trail. */
export function auditCommand(io: CliIO, setExit: SetExit): Command {
  const warnIfBroken = (t: AuditTrail) => {
    if (t.verdict.ok) return setExit(EXIT.OK);
    io.err(`drover: the audit trail of ${t.workflowId} does not verify: ${t.verdict.firstBad.reason}`);
    setExit(EXIT.FAILED);
  };

  const show = addStoreOptions(new Command('show').description('print a run\'s audit events as a readable timeline')).action(async (run: string, raw: unknown) => {
    const trail = await loadTrail(run, parseOptions(showOptions, raw));
    renderTimeline(trail).forEach((l) => io.out(l));
    warnIfBroken(trail);
  });

  const exportCmd = addStoreOptions(new Command('export').description('write a run\'s audit events to standard output as JSON, Markdown or CSV'))
    .option('--format <format>', 'json, md or csv', 'json')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(exportOptions, raw);
      const trail = await loadTrail(run, o);
      const text = o.format === 'csv' ? renderAuditCsv(trail) : o.format === 'md' ? renderAuditMarkdown(trail) : renderAuditJson(trail);
      io.out(text.replace(/\n$/, ''));
      warnIfBroken(trail);
    });

  const verify = addStoreOptions(new Command('verify').description('recompute a run\'s hash chain from storage; exit 1 naming the first bad event'))
    .option('--head <hash>', 'the head hash from the workflow result (also catches a deleted tail)')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(verifyOptions, raw);
      const trail = await loadTrail(run, o);
      if (!trail.verdict.ok) {
        throw new CliError(`audit of ${run} FAILED verification (run ${trail.runId})`, EXIT.FAILED, [trail.verdict.firstBad.reason]);
      }
      io.out(`audit of ${run} verified: ${trail.verdict.count} events, head ${trail.verdict.head}`);
      const last = trail.events[trail.events.length - 1];
      if (last.action !== 'run.end' && !o.head) io.out(`note: the trail ends at ${eventName(last)}, not run.end: the run is still going, or pass --head to rule out a deleted tail`);
      setExit(EXIT.OK);
    });

  return new Command('audit').description("a run's tamper-evident audit trail: show, export, verify").addCommand(show).addCommand(exportCmd).addCommand(verify);
}
