import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { LISTED_KINDS, runSearchAttributes, SEARCH_ATTRIBUTES, type ListedKind } from '../contracts/ids';
import type { CliIO } from './io';
import { namespace } from './temporal';

/**
 * drover's runs in Temporal visibility: the custom search attributes (workflows/ids.ts) a run is
 * started with when the server has them registered, and the queries `drover runs list` makes.
 */

/** The drover search attributes the namespace lacks; all of them when the server cannot say (no operator access). */
export async function missingSearchAttributes(client: Client): Promise<{ missing: string[]; error?: string }> {
  const all = Object.values(SEARCH_ATTRIBUTES).map((k) => k.name);
  try {
    const have = (await client.connection.operatorService.listSearchAttributes({ namespace: namespace() })).customAttributes ?? {};
    return { missing: all.filter((name) => !(name in have)) };
  } catch (e) {
    return { missing: all, error: (e as Error).message.split('\n')[0] };
  }
}

/** How to register them on a server drover did not start (the Temporal CLI; one attribute per command). */
export function createAttributeCommands(missing: string[]): string[] {
  return missing.map((name) => `temporal operator search-attribute create --namespace ${namespace()} --name ${name} --type Keyword`);
}

const registered = new WeakMap<Client, Promise<boolean>>();

/**
 * The search attributes to start a run with: drover's when the namespace has them (checked once per
 * client), else none. A start with an unregistered search attribute is refused by the server, so
 * without them the run still starts, with a note that `drover runs list` will not show it.
 */
export async function startAttributes(
  client: Client,
  io: CliIO,
  run: { runbook: string; kind: ListedKind; mode: string; requestedBy: string },
): Promise<{ typedSearchAttributes?: SearchAttributePair[] }> {
  let check = registered.get(client);
  if (!check) {
    check = missingSearchAttributes(client).then(({ missing }) => {
      if (missing.length > 0) io.err(`note: the Temporal namespace ${namespace()} lacks drover's search attributes (${missing.join(', ')}): this run will not appear in \`drover runs list\``);
      return missing.length === 0;
    });
    registered.set(client, check);
  }
  return (await check) ? { typedSearchAttributes: runSearchAttributes(run) } : {};
}

/** What `drover runs list` can filter on. */
export interface RunFilters {
  runbook?: string;
  kind?: ListedKind;
  since?: Date;
  outcome?: RunOutcome;
}

/** Outcomes recorded by the runs themselves (DroverOutcome), and the execution states they cannot record. */
export const RECORDED_OUTCOMES = ['completed', 'failed', 'rejected', 'aborted', 'cancelled', 'refused'] as const;
export const RUN_OUTCOMES = [...RECORDED_OUTCOMES, 'running', 'terminated'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/** The visibility query for the filters. Values are validated names and enums, never free text, so they need no escaping. */
export function runsQuery(f: RunFilters): string {
  const parts = [`${SEARCH_ATTRIBUTES.kind.name} IN (${LISTED_KINDS.map((k) => `'${k}'`).join(', ')})`];
  if (f.runbook) parts.push(`${SEARCH_ATTRIBUTES.runbook.name} = '${f.runbook}'`);
  if (f.kind) parts.push(`${SEARCH_ATTRIBUTES.kind.name} = '${f.kind}'`);
  if (f.since) parts.push(`StartTime >= '${f.since.toISOString()}'`);
  if (f.outcome === 'running') parts.push(`ExecutionStatus = 'Running'`);
  else if (f.outcome === 'terminated') parts.push(`ExecutionStatus = 'Terminated'`);
  else if (f.outcome) parts.push(`${SEARCH_ATTRIBUTES.outcome.name} = '${f.outcome}'`);
  return parts.join(' AND ');
}

/** One run as `drover runs list` shows it. */
export interface RunRow {
  workflowId: string;
  runId: string;
  kind: string;
  runbook: string;
  mode: string;
  /** The run's recorded outcome; `running`; or, for a run that could not record one, its execution status (terminated, timed_out, ...). */
  outcome: string;
  requestedBy: string;
  startedAt: string;
  closedAt?: string;
  durationMs: number;
}

export function toRow(w: WorkflowExecutionInfo, now = Date.now()): RunRow {
  const sa = w.typedSearchAttributes;
  const closed = w.closeTime?.getTime();
  return {
    workflowId: w.workflowId,
    runId: w.runId,
    kind: sa.get(SEARCH_ATTRIBUTES.kind) ?? w.type,
    runbook: sa.get(SEARCH_ATTRIBUTES.runbook) ?? '',
    mode: sa.get(SEARCH_ATTRIBUTES.mode) ?? '',
    outcome: sa.get(SEARCH_ATTRIBUTES.outcome) ?? (w.status.name === 'RUNNING' ? 'running' : w.status.name.toLowerCase()),
    requestedBy: sa.get(SEARCH_ATTRIBUTES.requestedBy) ?? '',
    startedAt: w.startTime.toISOString(),
    closedAt: w.closeTime?.toISOString(),
    durationMs: (closed ?? now) - w.startTime.getTime(),
  };
}

/**
 * Runs matching the filters, newest start first: at most `limit`, taken in the server's order (running
 * runs first, then by close time, newest first).
 */
export async function listRuns(client: Client, filters: RunFilters, limit: number): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  for await (const w of client.workflow.list({ query: runsQuery(filters), pageSize: Math.min(limit, 1000) })) {
    rows.push(toRow(w));
    if (rows.length >= limit) break;
  }
  return rows.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.workflowId.localeCompare(b.workflowId));
}
