/**
 * How drover names its runs in Temporal. Pure: workflows, activities and the CLI share it.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/** The kinds of real run that change a runbook's resources; at most one of them is active at a time. */
export const RUN_KINDS = ['failover', 'failback', 'promote', 'rebuild', 'cleanup'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Workflow id of a runbook's real run of one kind: `failover-apnakart`. */
export function runWorkflowId(kind: RunKind, runbook: string): string {
  return `${kind}-${runbook}`;
}

/**
 * The IaC lane of a deployment's task queue: cluster synthesis, OpenTofu plans and applies and the redeploy hook run
 * there (`drover worker --queues iac|all`), few at a time and with a long shutdown grace (docs/operations.md).
 */
export function iacTaskQueue(taskQueue: string): string {
  return `${taskQueue}-iac`;
}

/** The workflow type of drills, and the memo key that names a drill's runbook (visibility lists filter on it). */
export const DRILL_WORKFLOW_TYPE = 'drill';
export const MEMO_RUNBOOK = 'runbook';

/** Id of a drill's schedule, and the workflow id prefix of the drills it starts (Temporal appends the time). */
export function drillScheduleId(runbook: string): string {
  return `drill-${runbook}`;
}
export function scheduledDrillWorkflowId(runbook: string): string {
  return `drill-${runbook}-scheduled`;
}

/** Id of a drill started by hand at `at`: `drill-apnakart-20261122T040500Z`. */
export function manualDrillWorkflowId(runbook: string, at: Date): string {
  return `drill-${runbook}-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** The random tail of a run id (8 hex digits): names what a run creates (snapshots, stack directories). */
export function runTag(runId: string): string {
  return runId.replace(/-/g, '').slice(-8);
}

/**
 * The custom search attributes drover runs carry, so `drover runs list` can filter them in Temporal
 * visibility. They must be registered on the server (the embedded dev server registers them). Runbook,
 * kind, mode and requestedBy are set when a run starts, and only when the starter found them registered;
 * the outcome is upserted by the run when it ends, only if it was started with them.
 */
export const SEARCH_ATTRIBUTES = {
  runbook: defineSearchAttributeKey('DroverRunbook', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('DroverKind', SearchAttributeType.KEYWORD),
  /** `planned` or `unplanned`; `drill` for a drill and the failover and failback it runs. */
  mode: defineSearchAttributeKey('DroverMode', SearchAttributeType.KEYWORD),
  /** completed, failed, rejected, aborted; for drills also cancelled, refused. Absent while running. */
  outcome: defineSearchAttributeKey('DroverOutcome', SearchAttributeType.KEYWORD),
  /** As given at start (`--requested-by`, $DROVER_USER): not verified. */
  requestedBy: defineSearchAttributeKey('DroverRequestedBy', SearchAttributeType.KEYWORD),
} as const;

/** Every kind of run `drover runs list` shows: the real runs and drills. */
export const LISTED_KINDS = [...RUN_KINDS, DRILL_WORKFLOW_TYPE] as const;
export type ListedKind = (typeof LISTED_KINDS)[number];

/**
 * The workflow each kind of run is, by its Temporal type name (the name of the function the workflow
 * bundle exports). The CLI starts runs by these names, typed by the functions (cli/workflows.ts checks,
 * at compile time, that each name is one the bundle exports).
 */
export const WORKFLOW_TYPES = {
  failover: 'regionFailover',
  failback: 'failback',
  promote: 'promoteReplica',
  rebuild: 'rebuildCluster',
  cleanup: 'cleanupRetained',
  drill: DRILL_WORKFLOW_TYPE,
} as const satisfies Record<ListedKind, string>;

/** The search attributes a run starts with. */
export function runSearchAttributes(run: { runbook: string; kind: ListedKind; mode: string; requestedBy: string }): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.runbook, value: run.runbook },
    { key: SEARCH_ATTRIBUTES.kind, value: run.kind },
    { key: SEARCH_ATTRIBUTES.mode, value: run.mode },
    // Keyword values are bounded (2 KiB by default): an id never gets near, but a runaway one must not fail the start.
    { key: SEARCH_ATTRIBUTES.requestedBy, value: run.requestedBy.slice(0, 256) },
  ];
}
