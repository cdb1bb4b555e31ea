import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';

export interface PollOptions {
  /** What is being waited for, for messages and heartbeats. */
  what: string;
  timeoutMs: number;
  /** First poll interval; it grows by half each poll up to maxIntervalMs. */
  initialIntervalMs?: number;
  maxIntervalMs?: number;
}

/** The current activity context, or undefined outside an activity (unit tests). */
export function inActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Poll `check` until it reports done, heartbeating its progress. The interval starts short and grows,
 * so an instant transition (an emulator) costs one poll and a slow one (real AWS) is not hammered.
 */
export async function pollUntil<T>(opts: PollOptions, check: () => Promise<{ done: boolean; value: T; progress: string }>): Promise<T> {
  const ctx = inActivity();
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.initialIntervalMs ?? 200;
  for (;;) {
    const r = await check();
    ctx?.heartbeat({ waitingFor: opts.what, progress: r.progress });
    if (r.done) return r.value;
    if (Date.now() + interval > deadline) {
      throw ApplicationFailure.create({
        type: FailureType.WaitTimedOut,
        message: `timed out after ${opts.timeoutMs < 10_000 ? `${opts.timeoutMs} ms` : `${Math.round(opts.timeoutMs / 1000)}s`} waiting for ${opts.what} (last: ${r.progress})`,
        nonRetryable: true,
      });
    }
    if (ctx) await ctx.sleep(interval);
    else await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(Math.round(interval * 1.5), opts.maxIntervalMs ?? 5000);
  }
}
