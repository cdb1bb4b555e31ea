import { ApplicationFailure, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { RunbookRef } from '../runbooks/ref';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import type { VerifiedActor } from '../runbooks/approvers';
import { short } from './proxies';

/**
 * Patch id: a run's runbook is the worker's own copy, named by the run (name and digest), and its drill
 * link and verified requester come from its parent run only. Histories recorded before it replay with
 * the runbook and the drill link their input carried.
 */
const WORKER_RUNBOOKS = 'worker-runbooks-v1';

/** Set when a drill runs this failover (or failback): the drill's workflow id, and whether its gates approve themselves. */
export interface DrillLink {
  workflowId: string;
  autoApprove: boolean;
  /** The drill holds its runbook's lock (runs since runbook-lock-v1): its failover checks it still does before each step. */
  locked?: boolean;
  /**
   * A drill's failback started while the drill held the lock (since drill-failback-yields-v1): the drill may cancel it
   * for a real unplanned failover, so it runs its switchover back, once begun, to its end whatever the cancel.
   */
  yields?: boolean;
}

/** What every run's input may carry about its runbook, its drill and its requester. */
export interface RunbookInput {
  /** The runbook the run's starter validated, by name and digest: the worker runs its own copy of it. */
  runbookRef?: RunbookRef;
  /**
   * The runbook itself: only from a parent drover run (a drill's failover, a failover's promotion), which
   * resolved it. Ignored in a run that has no parent; runs recorded before worker-owned runbooks carried it.
   */
  runbook?: Runbook;
  /** Recorded before drill links came from the parent run; ignored since. */
  drill?: DrillLink;
  /** The requester a parent run verified; ignored in a run that has no parent. */
  requester?: VerifiedActor;
}

/** What a run may trust about itself: its runbook, the drill it belongs to, and a requester its parent verified. */
export interface TrustedStart {
  rb: Runbook;
  drill?: DrillLink;
  requester?: VerifiedActor;
  /** Whether this run follows worker-owned runbooks (false when replaying a history recorded before them). */
  workerOwned: boolean;
}

/**
 * Resolve what the run may trust. A top-level run names its runbook (`runbookRef`) and the worker loads
 * its own copy (refused, nothing changed, when the worker has none or it differs from what was validated);
 * a runbook, a drill link or a requester in a top-level run's input is ignored, since anyone who may start
 * a workflow wrote it. A child run takes them from its parent, a drover run that resolved them.
 * `failed` is the record a refused run ends with (the CLI renders it like any failed run).
 */
export async function trustedStart(input: RunbookInput, failed: (error: { type: string; message: string }) => unknown): Promise<TrustedStart> {
  if (!patched(WORKER_RUNBOOKS)) return { rb: input.runbook as Runbook, drill: input.drill, workerOwned: false };
  const refuse = (message: string): never => {
    throw ApplicationFailure.create({ type: FailureType.RunbookRefused, message, nonRetryable: true, details: [failed({ type: FailureType.RunbookRefused, message })] });
  };
  const info = workflowInfo();
  const parent = info.parent;
  // A parent in another namespace is not a drover run of this deployment.
  if (parent && parent.namespace !== info.namespace) return refuse(`a child run is accepted only from a parent run in namespace ${info.namespace}, not ${parent.namespace}`);
  if (parent) {
    if (!input.runbook) return refuse(`a child run needs the runbook its parent run ${parent.workflowId} resolved`);
    // Only drills start failovers and failbacks as children: the parent is the drill.
    return { rb: input.runbook, drill: { workflowId: parent.workflowId, autoApprove: input.runbook.drills.autoApprove, ...(input.drill?.locked ? { locked: true } : {}), ...(input.drill?.yields ? { yields: true } : {}) }, requester: input.requester, workerOwned: true };
  }
  if (!input.runbookRef) return refuse('this run names no runbook (runbookRef: name and digest); a runbook in the input is not accepted, the workers run their own copy. Start runs with the drover CLI');
  try {
    return { rb: await short.resolveRunbook(input.runbookRef), workerOwned: true };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    return refuse(cause);
  }
}
