import { CancellationScope, CancelledFailure } from '@temporalio/workflow';

/**
 * Run a call that changes something (a fence, a promotion, a scale-up, a traffic change) to its answer even if
 * the run is cancelled meanwhile, and never start it once the run is cancelled. Temporal cancels activities
 * with TRY_CANCEL: the run stops waiting at once while the call goes on in AWS, so an undo or a record made
 * right after the cancel would race the call or miss what it did. `enabled` false (a run recorded before this,
 * per its patch) calls it as before.
 */
export async function untilAnswered<T>(enabled: boolean, call: () => Promise<T>): Promise<T> {
  if (!enabled) return call();
  // The cancel and the previous step's answer can arrive together.
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the run was cancelled before this call');
  return CancellationScope.nonCancellable(call);
}
