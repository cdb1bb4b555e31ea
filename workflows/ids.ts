/**
 * How drover names its runs in Temporal. Pure: workflows, activities and the CLI share it.
 */

/** The kinds of real run that change a runbook's region pair; at most one of them is active at a time. */
export const RUN_KINDS = ['failover', 'failback', 'promote', 'rebuild'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Workflow id of a runbook's real run of one kind: `failover-apnakart`. */
export function runWorkflowId(kind: RunKind, runbook: string): string {
  return `${kind}-${runbook}`;
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
