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

/** A wait's progress before its first poll answered. */
export const NOT_POLLED = 'not polled yet';

/** What a wait heartbeats: what it waits for, how far it got, and the absolute deadline a retried attempt keeps. */
interface WaitBeat {
  waitingFor: string;
  progress: string;
  /** Epoch ms: the bound of the whole wait, over every attempt of the activity. */
  deadline: number;
}

/**
 * The deadline of this wait: an earlier attempt's (its heartbeat details name the same wait), else `timeoutMs`
 * from now. So a wait whose attempt timed out and was retried still ends at its bound instead of starting over.
 */
function deadlineOf(ctx: Context | undefined, opts: PollOptions): number {
  const earlier = ctx?.info.heartbeatDetails as Partial<WaitBeat> | undefined;
  if (earlier && earlier.waitingFor === opts.what && typeof earlier.deadline === 'number' && Number.isFinite(earlier.deadline)) return earlier.deadline;
  return Date.now() + opts.timeoutMs;
}

/** How often a wait heartbeats, whatever its poll interval: a third of the heartbeat timeout, at most every 10 s. */
export function heartbeatEvery(ctx: Context): number {
  const timeout = ctx.info.heartbeatTimeoutMs;
  return Math.max(50, Math.min(10_000, Math.floor((timeout && timeout > 0 ? timeout : 30_000) / 3)));
}

/**
 * Poll `check` until it reports done, heartbeating its progress. The interval starts short and grows,
 * so an instant transition (an emulator) costs one poll and a slow one (real AWS) is not hammered.
 * Heartbeats go out on a timer of their own (a slow call or a long interval never starves them), and
 * carry the wait's absolute deadline, which a retried attempt of the activity keeps.
 */
export async function pollUntil<T>(opts: PollOptions, check: () => Promise<{ done: boolean; value: T; progress: string }>): Promise<T> {
  const ctx = inActivity();
  const deadline = deadlineOf(ctx, opts);
  let beat: WaitBeat = { waitingFor: opts.what, progress: NOT_POLLED, deadline };
  ctx?.heartbeat(beat);
  const ticker = ctx ? setInterval(() => ctx.heartbeat(beat), heartbeatEvery(ctx)) : undefined;
  let interval = opts.initialIntervalMs ?? 200;
  try {
    for (;;) {
      const r = await check();
      beat = { ...beat, progress: r.progress };
      ctx?.heartbeat(beat);
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
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
