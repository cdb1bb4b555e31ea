import { defineQuery } from '@temporalio/workflow';
import type { ApplySummary, PlanSummary } from '../activities/iac';
import type { Decision, PendingGate } from './gates';
import type { Step } from './journal';
import type { NotificationRecord } from './notify';
import type { AuditAnchor } from './audit';

export interface RunStatus {
  workflowId: string;
  runId: string;
  kind: 'failover' | 'promote' | 'failback' | 'rebuild';
  runbook: string;
  mode: 'planned' | 'unplanned';
  fromRegion: string;
  targetRegion: string;
  reason: string;
  requestedBy: string;
  /** The runbook's recovery objectives, ms (reports judge against them). */
  objectives?: { rtoMs: number; rpoMs: number };
  /** After a failure: what was undone, or deliberately kept, and the state the run left. */
  compensations?: string[];
  /** The head of the run's audit trail (SHA-256 chain) and its event count as written so far (live while running), and where its S3 copy is. */
  audit?: AuditAnchor;
  /** Set when the run is part of a drill: the drill's workflow id. */
  drill?: string;
  startedAt: number;
  phase: 'running' | 'waiting-approval' | 'completed' | 'failed' | 'rejected' | 'aborted';
  currentStep?: string;
  pendingGate?: PendingGate;
  decisions: Decision[];
  steps: Step[];
  /** Percent of traffic on the target region as last set. */
  trafficPercent: number;
  rpo?: { lagSeconds: number; observedAt: string; note: string };
  rto?: { ms: number; gateWaitMs: number; excludingGatesMs: number; objectiveMs: number; met: boolean };
  error?: { type?: string; message: string };
  newWriterEndpoint?: string;
  /** What happened to each of the runbook's databases (the run's `rpo` is the worst of theirs). */
  databases?: DatabaseOutcome[];
  /** A cluster rebuild's own record: the stack, the plan the gate showed, what was applied. */
  rebuild?: RebuildRecord;
  /** The runbook's topic and what was published to it (failed publishes with their error). */
  notifications?: NotificationRecord;
}

/** One database's part in a failover, promotion, switchover or failback. */
export interface DatabaseOutcome {
  /** The runbook's name for it ("main" for a lone `database`). */
  name: string;
  /** The instance that was (to be) promoted, and its region. */
  identifier: string;
  region: string;
  promoted: boolean;
  rpo?: { lagSeconds: number; observedAt: string; note: string };
  writerEndpoint?: string;
  /** Why it was not promoted, when it was not. */
  error?: string;
}

export interface RebuildRecord {
  region: string;
  cluster: string;
  force: boolean;
  /** Records that still sent traffic to the region at preflight (a forced rebuild). */
  trafficOnRegion?: string[];
  stack?: { dir: string; variant: string; resources: number };
  plan?: PlanSummary;
  apply?: ApplySummary;
  clusterArn?: string;
  redeploy?: { exitCode: number; durationMs: number; outputTail: string[] };
  /** What to do next (fail back), once the rebuilt region is healthy. */
  next?: string;
}


/** Live status of a run: steps, current step, pending gate. */
export const statusQuery = defineQuery<RunStatus>('status');


/** What a run shows before its runbook is resolved (and the record it ends with if the worker refuses the runbook). */
export function startingStatus(run: Pick<RunStatus, 'workflowId' | 'runId' | 'kind' | 'runbook' | 'mode' | 'fromRegion' | 'targetRegion' | 'reason' | 'requestedBy' | 'startedAt'>): RunStatus {
  return { ...run, phase: 'running', decisions: [], steps: [], trafficPercent: 0 };
}
