import type { RunStatus } from '../contracts/run';


/** What a run shows before its runbook is resolved (and the record it ends with if the worker refuses the runbook). */
export function startingStatus(run: Pick<RunStatus, 'workflowId' | 'runId' | 'kind' | 'runbook' | 'mode' | 'fromRegion' | 'targetRegion' | 'reason' | 'requestedBy' | 'startedAt'>): RunStatus {
  return { ...run, phase: 'running', decisions: [], steps: [], trafficPercent: 0 };
}
