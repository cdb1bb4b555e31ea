import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, continueAsNew, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FailureType, NON_RETRYABLE } from '../contracts/failures';
import { acquireLockUpdate, decideLock, isAcquireArgs, lockHolderQuery, lockStateFrom, runbookOfLock, type LockState } from '../contracts/lock';

/** Patch: a holder terminated (or timed out) whose children still compensate holds the runbook until they have closed. */
const LOCK_CHILDREN = 'lock-children-v1';

/** The lock's one read: a workflow id's current run, when it is a running drover run of the runbook (a describe). */
const reads = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // Short: every acquire waits for the one before it, so a read that cannot be made must not hold the line long.
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * A runbook's lock (contracts/lock.ts): it runs for as long as the runbook is used, applies each acquire in the
 * order Temporal delivers them (one at a time, even across its own reads), and starts afresh (continue-as-new,
 * state carried over) when its history grows long. Who asks, and whether the holder still runs, are read from
 * Temporal here (activity `runOf`), never taken from the message: the asker's kind, its runbook (its input), that
 * it runs on this lock's task queue. So nobody frees the lock, takes it, or passes a real run off as a drill by
 * sending an update.
 */
export async function runbookLock(carried?: unknown): Promise<void> {
  const info = workflowInfo();
  const runbook = runbookOfLock(info.workflowId);
  let state: LockState = lockStateFrom(carried, runbook);
  // One acquire at a time: the next waits for the one before it (and its reads) to finish.
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const turn = queue.then(fn, fn);
    queue = turn.catch(() => undefined);
    return turn;
  };
  const runOf = (workflowId: string, asking = false) => reads.runOf({ workflowId, runbook, taskQueue: info.taskQueue, asking });
  setHandler(lockHolderQuery, () => state.holder ?? null);
  setHandler(
    acquireLockUpdate,
    (ask) =>
      // Not cancellable: a cancel request to the lock must not fail its reads (every acquire would fail after it).
      inTurn(() =>
        CancellationScope.nonCancellable(async () => {
          const asker = await runOf(ask.workflowId, true);
          if (!asker) throw ApplicationFailure.create({ type: FailureType.InvalidState, nonRetryable: true, message: `${ask.workflowId} is not a drover run of ${runbook} on task queue ${info.taskQueue} asking for it: it may not hold the runbook` });
          const stored = state.holder;
          // A holder that cannot be read now is never taken as ended: the read's failure fails this acquire, and the
          // asking run's activity asks again (a new attempt, a new update id).
          let held = stored && stored.workflowId !== asker.workflowId ? ((await runOf(stored.workflowId)) ?? undefined) : stored;
          // A holder that ended (or an earlier run of the asker's own id) terminated or timed out while the children
          // it asked to cancel still compensate holds the runbook until they have closed: the asker is refused,
          // naming them, whatever its id; a real run asking takes it from such a drill as from a running one, and
          // waits for its children before it changes anything (preemptDrills). Read at this point of every acquire
          // that finds such a holder.
          const ended = stored && (held === undefined || (stored.workflowId === asker.workflowId && stored.runId !== asker.runId));
          if (stored && ended && patched(LOCK_CHILDREN)) {
            const children = await reads.childrenLeft({ workflowId: stored.workflowId, runId: stored.runId });
            if (children.length > 0 && stored.drill && !asker.drill && stored.workflowId !== asker.workflowId) held = stored;
            else if (children.length > 0) return { granted: false, heldBy: { ...stored, children } };
            else if (stored.workflowId === asker.workflowId) held = undefined;
          }
          const decided = decideLock({ ...state, holder: held }, asker);
          state = decided.state;
          return decided.answer;
        }),
      ),
    {
      validator: (ask) => {
        if (!isAcquireArgs(ask)) throw new Error('acquire: expected { workflowId } of the run that asks');
      },
    },
  );
  // A cancel request is ignored: a cancelled lock would lose its state, and the next run would start an empty one.
  await CancellationScope.nonCancellable(() => condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished()));
  await continueAsNew<typeof runbookLock>(state);
}
