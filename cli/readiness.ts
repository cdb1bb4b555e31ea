import type { Client } from '@temporalio/client';
import { MEMO_RUNBOOK } from '../contracts/ids';
import { isReadinessRun, READINESS_WORKFLOW_TYPE, type ReadinessRun } from '../contracts/readiness';
import { taskQueue } from './temporal';

/** How many completed evaluations of the task queue a listing reads at most (newest first). */
const LISTED = 2000;

/**
 * The runbook's evaluations, newest first (checks and scheduled ones), up to `last`: those this deployment's workers
 * ran (its task queue; a run on another queue was not evaluated by them), whose result is a readiness record.
 */
export async function evaluations(client: Client, runbook: string, last: number): Promise<Array<{ workflowId: string; result: ReadinessRun }>> {
  const found: Array<{ workflowId: string; runId: string; closed: number }> = [];
  let seen = 0;
  for await (const w of client.workflow.list({ query: `WorkflowType = '${READINESS_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed' AND TaskQueue = '${taskQueue()}'` })) {
    if (++seen > LISTED) break;
    if (w.memo?.[MEMO_RUNBOOK] === runbook && w.closeTime) found.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime.getTime() });
  }
  found.sort((a, b) => b.closed - a.closed);
  const out: Array<{ workflowId: string; result: ReadinessRun }> = [];
  for (const f of found) {
    if (out.length >= last) break;
    const result: unknown = await client.workflow.getHandle(f.workflowId, f.runId).result();
    if (isReadinessRun(result) && result.runbook === runbook) out.push({ workflowId: f.workflowId, result });
  }
  return out;
}
