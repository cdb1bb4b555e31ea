import type { Client } from '@temporalio/client';
import { MEMO_RUNBOOK } from '../contracts/ids';
import { READINESS_WORKFLOW_TYPE, type ReadinessRun } from '../contracts/readiness';

/** The runbook's evaluations, newest first (checks and scheduled ones), up to `last`. */
export async function evaluations(client: Client, runbook: string, last: number): Promise<Array<{ workflowId: string; result: ReadinessRun }>> {
  const found: Array<{ workflowId: string; runId: string; closed: number }> = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${READINESS_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed'` })) {
    if (w.memo?.[MEMO_RUNBOOK] === runbook && w.closeTime) found.push({ workflowId: w.workflowId, runId: w.runId, closed: w.closeTime.getTime() });
  }
  found.sort((a, b) => b.closed - a.closed);
  const out: Array<{ workflowId: string; result: ReadinessRun }> = [];
  for (const f of found.slice(0, last)) out.push({ workflowId: f.workflowId, result: (await client.workflow.getHandle(f.workflowId, f.runId).result()) as ReadinessRun });
  return out;
}

