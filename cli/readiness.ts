import type { Client } from '@temporalio/client';
import { readinessEvaluations } from '../activities/readiness-history';
import type { ReadinessRun } from '../contracts/readiness';
import { taskQueue } from './temporal';

/**
 * The runbook's evaluations, newest first (checks and scheduled ones), up to `last`: those this deployment's workers
 * ran (its task queue; a run on another queue was not evaluated by them), whose result is a readiness record.
 */
export async function evaluations(client: Client, runbook: string, last: number): Promise<Array<{ workflowId: string; result: ReadinessRun }>> {
  const out: Array<{ workflowId: string; result: ReadinessRun }> = [];
  if (last <= 0) return out;
  for await (const { workflowId, result } of readinessEvaluations(client, runbook, taskQueue())) {
    out.push({ workflowId, result });
    if (out.length >= last) break;
  }
  return out;
}
