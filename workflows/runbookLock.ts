import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { acquireLockUpdate, decideLock, isLockHolder, lockHolderQuery, releaseLockUpdate, sameRun, type LockHolder } from '../contracts/lock';

/**
 * A runbook's lock (contracts/lock.ts): it runs for as long as the runbook is used, applies each acquire and
 * release in the order Temporal delivers them, and starts afresh (continue-as-new, holder carried over) when its
 * history grows long. It does nothing else: no activities, no timers.
 */
export async function runbookLock(state: { holder?: LockHolder } = {}): Promise<void> {
  let holder = state.holder;
  setHandler(lockHolderQuery, () => holder ?? null);
  setHandler(
    acquireLockUpdate,
    (ask) => {
      const decided = decideLock(holder, ask);
      holder = decided.holder;
      return decided.answer;
    },
    {
      validator: (ask) => {
        if (!isLockHolder(ask?.holder) || (ask.stale !== undefined && !isLockHolder(ask.stale))) throw new Error('acquire: a holder is { workflowId, runId, kind, drill }');
      },
    },
  );
  setHandler(
    releaseLockUpdate,
    (who) => {
      if (!sameRun(holder, who)) return false;
      holder = undefined;
      return true;
    },
    {
      validator: (who) => {
        if (!isLockHolder(who)) throw new Error('release: a holder is { workflowId, runId, kind, drill }');
      },
    },
  );
  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof runbookLock>({ holder });
}
