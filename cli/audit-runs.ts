import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { ApplicationFailure, type QueryDefinition } from '@temporalio/common';
import { drillQuery, statusQuery } from '../contracts/run';
import { z } from 'zod';
import { DRILL_WORKFLOW_TYPE, MEMO_RUNBOOK, SEARCH_ATTRIBUTES } from '../contracts/ids';
import { CliError, EXIT } from './io';
import { fetchRecord } from './runs';

/**
 * The runs an audit trail belongs to, as Temporal knows them: which run is the latest of a workflow id,
 * and the audit head and event count the run's record holds (the anchor `drover audit verify` checks
 * the stored trail against; the worker that writes the trail cannot rewrite a run's history).
 */

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** `audit` in a run's record (RunStatus, DrillResult): the head, the count, and where the S3 Object Lock copy is. */
const recordedAudit = z.object({
  head: hex64,
  events: z.number().int().nonnegative(),
  s3: z.object({ bucket: z.string().min(3), region: z.string().min(1), prefix: z.string().optional() }).optional(),
});
export type RecordedAudit = z.output<typeof recordedAudit>;

const runRecord = z.object({ runId: z.string().min(1), runbook: z.string().min(1), audit: z.unknown().optional() });

/** A run of a workflow id as Temporal knows it. */
export interface KnownRun {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  closed: boolean;
  /** The workflow type (`drill` for drills). */
  type: string;
  /** The runbook, when the run carries it (search attribute or memo) without reading its record. */
  runbook?: string;
}

/** A run and what its record says about its audit trail. */
export interface AnchoredRun extends KnownRun {
  runbook: string;
  /** Undefined when the record holds no audit head (yet); `problem` then says why. */
  audit?: RecordedAudit;
  problem?: string;
}

export type RunLookup = { found: true; run: KnownRun } | { found: false; reason: string };

async function describe(client: Client, workflowId: string, runId?: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    // A run id that is not a UUID is refused as an invalid argument (gRPC 3): no such run either.
    if (runId !== undefined && ((e as { code?: number }).code === 3 || (e as { cause?: { code?: number } }).cause?.code === 3)) return undefined;
    throw e;
  }
}

function known(workflowId: string, d: WorkflowExecutionDescription): KnownRun {
  const memo = d.memo?.[MEMO_RUNBOOK];
  const runbook = d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runbook) ?? (typeof memo === 'string' ? memo : undefined);
  return { workflowId, runId: d.runId, status: d.status.name, closed: d.status.name !== 'RUNNING', type: d.type, runbook };
}

/** The run `runId` of `workflowId`, by default its latest run, or why Temporal does not know it. */
export async function lookupRun(client: Client, workflowId: string, runId?: string): Promise<RunLookup & { latest?: string }> {
  const latest = await describe(client, workflowId);
  if (runId === undefined || runId === latest?.runId) {
    if (!latest) return { found: false, reason: `Temporal has no run of ${workflowId}` };
    return { found: true, run: known(workflowId, latest), latest: latest.runId };
  }
  const d = await describe(client, workflowId, runId);
  if (!d) return { found: false, reason: `Temporal has no run ${runId} of ${workflowId}`, latest: latest?.runId };
  return { found: true, run: known(workflowId, d), latest: latest?.runId };
}

/** How a workflow's record is read: drills answer the `drill` query, real runs `status`. */
function recordKind(type: string): { query: QueryDefinition<unknown>; what: string; isRecord(v: unknown): boolean } {
  if (type === DRILL_WORKFLOW_TYPE) return { query: drillQuery, what: 'drill', isRecord: (v) => (v as { kind?: unknown } | undefined)?.kind === 'drill' };
  return { query: statusQuery, what: 'run', isRecord: (v) => Array.isArray((v as { steps?: unknown } | undefined)?.steps) };
}

/**
 * A closed run that is not the latest of its workflow id (Temporal keeps one open run per id, so it is closed):
 * its result, or the record a failed run carries in its failure details. fetchRecord reads the latest run only.
 */
async function closedRecord(client: Client, run: KnownRun, kind: ReturnType<typeof recordKind>): Promise<unknown> {
  try {
    return await client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false }).result();
  } catch (e) {
    const cause = e instanceof WorkflowFailedError ? e.cause : undefined;
    const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
    if (kind.isRecord(details)) return details;
    throw new CliError(`${kind.what} ${run.workflowId} (run ${run.runId}) ended without a record: ${(cause ?? (e as Error)).message}`, EXIT.FAILED);
  }
}

/** What the run's record says about its audit trail: live from its query while it runs, from its result once closed. */
export async function anchorOf(client: Client, run: KnownRun, latest: string | undefined): Promise<AnchoredRun> {
  const kind = recordKind(run.type);
  let raw: unknown;
  if (run.runId === latest) {
    const fetched = await fetchRecord<unknown>(client, run.workflowId, { ...kind, notFound: new CliError(`Temporal has no run of ${run.workflowId}`, EXIT.NOT_FOUND) });
    // fetchRecord reads the latest run: a run started in between is not the one chosen.
    if (fetched.description.runId !== run.runId) {
      throw new CliError(`a new run of ${run.workflowId} (${fetched.description.runId}) started while run ${run.runId} was being read`, EXIT.FAILED, [`verify one of them with --run-id`]);
    }
    raw = fetched.record;
    run = { ...run, closed: fetched.closed, status: fetched.description.status.name };
  } else {
    raw = await closedRecord(client, run, kind);
  }
  const record = runRecord.safeParse(raw);
  if (!record.success) throw new CliError(`the record of ${run.workflowId} (run ${run.runId}) is not a drover run record`, EXIT.FAILED);
  if (record.data.runId !== run.runId) throw new CliError(`the record of ${run.workflowId} run ${run.runId} names another run (${record.data.runId})`, EXIT.FAILED);
  const base = { ...run, runbook: record.data.runbook };
  if (record.data.audit === undefined) {
    const problem = run.closed
      ? `Temporal's record of run ${run.runId} (${run.status.toLowerCase()}) holds no audit head: the run ended before its trail was written, or its trail could not be written (see drover status ${run.workflowId})`
      : `run ${run.runId} is still running and its record holds no audit head yet`;
    return { ...base, problem };
  }
  const audit = recordedAudit.safeParse(record.data.audit);
  if (!audit.success) return { ...base, problem: `Temporal's record of run ${run.runId} holds a malformed audit head (${audit.error.issues[0].path.join('.') || 'audit'}: ${audit.error.issues[0].message})` };
  return { ...base, audit: audit.data };
}

/** A run and the child runs it started, as Temporal's history records them (depth-first, in start order). */
export interface RunTreeNode {
  workflowId: string;
  /** Empty for a child that never started. */
  runId: string;
  /** 0 for the run asked for, 1 for its children, ... */
  depth: number;
  /** A child Temporal no longer has (its retention expired), or one whose start failed: why there is no trail to verify. */
  missing?: string;
  notStarted?: string;
}

/**
 * `workflowId` (run `runId`, by default the latest) and every child run it started, recursively: each
 * `ChildWorkflowExecutionStarted` event of its history names a child's workflow id and run id. The history
 * is Temporal's, which the workers cannot rewrite; a child that was initiated but never started has no trail.
 */
export async function runTree(client: Client, workflowId: string, runId?: string, depth = 0): Promise<RunTreeNode[]> {
  const lookup = await lookupRun(client, workflowId, runId);
  if (!lookup.found) {
    // The run asked for must exist; a child whose history expired before its parent's is reported, not fatal.
    if (depth === 0) throw new CliError(`no run ${workflowId}: ${lookup.reason}`, EXIT.NOT_FOUND);
    return [{ workflowId, runId: runId ?? '', depth, missing: lookup.reason }];
  }
  const root: RunTreeNode = { workflowId, runId: lookup.run.runId, depth };
  const history = await client.workflow.getHandle(workflowId, lookup.run.runId, { followRuns: false }).fetchHistory();
  const nodes = [root];
  for (const event of history.events ?? []) {
    const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (child?.workflowId && child.runId) nodes.push(...(await runTree(client, child.workflowId, child.runId, depth + 1)));
    const failed = event.startChildWorkflowExecutionFailedEventAttributes;
    // A start Temporal refused (its id already in use, for one): no run, so no trail; said, never skipped silently.
    if (failed?.workflowId) nodes.push({ workflowId: failed.workflowId, runId: '', depth: depth + 1, notStarted: `its start failed (${String(failed.cause ?? 'unknown cause')})` });
  }
  return nodes;
}
