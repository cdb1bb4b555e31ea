import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE } from '../contracts/failures';
import { acquireLockUpdate, decideLock, lockHolderQuery, lockStateFrom, mayHold, runbookOfLock, type LockState } from '../contracts/lock';

/** The lock's one read: whether its holder's run is still a running drover run (a describe). */
const reads = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * A runbook's lock (contracts/lock.ts): it runs for as long as the runbook is used, applies each acquire in the
 * order Temporal delivers them (one at a time, even across its own awaits), and starts afresh (continue-as-new,
 * state carried over) when its history grows long. Whether the holder's run has ended is read here, never
 * taken from whoever asks: the lock passes from a run that ended, and only from one.
 */
export async function runbookLock(carried?: unknown): Promise<void> {
  const info = workflowInfo();
  const runbook = runbookOfLock(info.workflowId);
  let state: LockState = lockStateFrom(carried, runbook);
  // One acquire at a time: the next waits for the one before it (and its read) to finish.
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const turn = queue.then(fn, fn);
    queue = turn.catch(() => undefined);
    return turn;
  };
  setHandler(lockHolderQuery, () => state.holder ?? null);
  setHandler(
    acquireLockUpdate,
    (ask) =>
      inTurn(async () => {
        const held = state.holder;
        const contended = held !== undefined && held.workflowId !== ask.holder.workflowId;
        const live = contended ? await reads.runIsLive({ holder: held, runbook, taskQueue: info.taskQueue }) : true;
        const decided = decideLock(state, ask, live);
        state = decided.state;
        return decided.answer;
      }),
    {
      validator: (ask) => {
        if (!mayHold(ask?.holder, runbook)) throw new Error(`acquire: a holder of ${runbook} is a drover run of it: { workflowId, runId, kind, drill }`);
      },
    },
  );
  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof runbookLock>(state);
}
