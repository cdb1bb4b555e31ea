/**
 * The readiness evaluations of a runbook that a deployment's workers ran, as Temporal's visibility lists them: what
 * `drover readiness` and `drover report` list, and where lastClusterRecord looks for a cluster's record.
 */
import type { Client } from '@temporalio/client';
import { MEMO_RUNBOOK } from '../contracts/ids';
import { isReadinessRun, READINESS_WORKFLOW_TYPE, type ReadinessRun } from '../contracts/readiness';

/**
 * How many completed evaluations of the task queue a listing reads at most (newest first): a namespace full of runs
 * (or of workflows started to fill it) cannot hold a listing for long. Older evaluations are not looked at, and none
 * older than the namespace's retention period exists any more (Temporal deletes a closed workflow's history then).
 */
export const EVALUATIONS_LISTED = 2000;

/**
 * The runbook's evaluations, newest first (checks and scheduled ones): those run on `taskQueue` (a run on another
 * queue was not evaluated by this deployment's workers), whose result is a readiness record of that runbook.
 */
export async function* readinessEvaluations(client: Client, runbook: string, taskQueue: string): AsyncGenerator<{ workflowId: string; runId: string; result: ReadinessRun }> {
  const found: Array<{ workflowId: string; runId: string; closed: number }> = [];
  let seen = 0;
  for await (const w of client.workflow.list({ query: `WorkflowType = '${READINESS_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed' AND TaskQueue = '${taskQueue}'` })) {
    if (++seen > EVALUATIONS_LISTED) break;
    if (w.memo?.[MEMO_RUNBOOK] === runbook && w.closeTime) found.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime.getTime() });
  }
  found.sort((a, b) => b.closed - a.closed);
  for (const f of found) {
    const result: unknown = await client.workflow.getHandle(f.workflowId, f.runId).result();
    if (isReadinessRun(result) && result.runbook === runbook) yield { workflowId: f.workflowId, runId: f.runId, result };
  }
}
