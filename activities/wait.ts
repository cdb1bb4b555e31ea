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
  /**
   * What else the wait's heartbeats carry, read at each beat: what a retried attempt needs to resume the work the
   * wait belongs to (a Route 53 change already sent), found again in `earlierBeat()`.
   */
  carry?: () => Record<string, unknown>;
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
 * The deadline of this wait and its last progress: an earlier attempt's (its heartbeat details name the same
 * wait), else `timeoutMs` from now. So a wait whose attempt timed out and was retried still ends at its bound
 * instead of starting over.
 */
function resumeOf(ctx: Context | undefined, opts: PollOptions): { deadline: number; progress?: string } {
  const earlier = ctx?.info.heartbeatDetails as Partial<WaitBeat> | undefined;
  if (earlier && earlier.waitingFor === opts.what && typeof earlier.deadline === 'number' && Number.isFinite(earlier.deadline)) {
    return { deadline: earlier.deadline, progress: typeof earlier.progress === 'string' ? earlier.progress : undefined };
  }
  return { deadline: Date.now() + opts.timeoutMs };
}

/** The heartbeat details an earlier attempt of this activity left (its waits' beats, with what they carry), if any. */
export function earlierBeat(): Record<string, unknown> | undefined {
  const details = inActivity()?.info.heartbeatDetails as unknown;
  return details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined;
}

/** How often a wait heartbeats, whatever its poll interval: a third of the heartbeat timeout, at most every 10 s. */
export function heartbeatEvery(ctx: Context): number {
  const timeout = ctx.info.heartbeatTimeoutMs;
  return Math.max(50, Math.min(10_000, Math.floor((timeout && timeout > 0 ? timeout : 30_000) / 3)));
}

/** How long one poll may go unanswered (the AWS SDK sets no request timeout of its own) before the attempt fails and is retried. */
export const CALL_TIMEOUT_MS = 60_000;

/**
 * Poll `check` until it reports done, heartbeating its progress. The interval starts short and grows,
 * so an instant transition (an emulator) costs one poll and a slow one (real AWS) is not hammered.
 * Heartbeats go out on a timer of their own (a slow call or a long interval never starves them), and
 * carry the wait's absolute deadline, which a retried attempt of the activity keeps. A poll unanswered
 * for `callTimeoutMs` fails the attempt (retried, same deadline); one unanswered at the deadline, or a
 * retried attempt that starts past it, ends the wait with WaitTimedOut.
 */
export async function pollUntil<T>(opts: PollOptions & { callTimeoutMs?: number }, check: () => Promise<{ done: boolean; value: T; progress: string }>): Promise<T> {
  const ctx = inActivity();
  const resumed = resumeOf(ctx, opts);
  const deadline = resumed.deadline;
  const timedOut = (last: string) =>
    ApplicationFailure.create({
      type: FailureType.WaitTimedOut,
      message: `timed out after ${opts.timeoutMs < 10_000 ? `${opts.timeoutMs} ms` : `${Math.round(opts.timeoutMs / 1000)}s`} waiting for ${opts.what} (last: ${last})`,
      nonRetryable: true,
    });
  // No beat before the first answer: the SDK sends an activity's first heartbeat at once and throttles the next
  // ones, so the first poll's progress is what Temporal (and drover status) shows. A first poll slower than the
  // timer's interval gets a beat (with the deadline) from the timer.
  let beat: WaitBeat = { waitingFor: opts.what, progress: resumed.progress ?? NOT_POLLED, deadline };
  const send = () => ctx?.heartbeat(opts.carry ? { ...opts.carry(), ...beat } : beat);
  const ticker = ctx ? setInterval(send, heartbeatEvery(ctx)) : undefined;
  let interval = opts.initialIntervalMs ?? 200;
  try {
    if (Date.now() >= deadline) throw timedOut(beat.progress);
    for (;;) {
      // Whether this poll's bound is the deadline is decided now, not when the timer fires (a timer may fire a
      // millisecond before Date.now() reaches the deadline).
      const limit = opts.callTimeoutMs ?? CALL_TIMEOUT_MS;
      const left = deadline - Date.now();
      const r = await answered(check(), Math.max(1000, Math.min(limit, left)), () =>
        limit >= left ? timedOut(`${beat.progress}; the last poll was not answered`) : new Error(`no answer within ${limit} ms while waiting for ${opts.what}; the attempt is retried`),
      );
      beat = { ...beat, progress: r.progress };
      send();
      if (r.done) return r.value;
      if (Date.now() + interval > deadline) throw timedOut(r.progress);
      if (ctx) await ctx.sleep(interval);
      else await new Promise((resolve) => setTimeout(resolve, interval));
      interval = Math.min(Math.round(interval * 1.5), opts.maxIntervalMs ?? 5000);
    }
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

/** `call`'s answer, or the error `late()` makes once `ms` passed without one (the call is left to finish on its own). */
async function answered<T>(call: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([call, expired]);
  } finally {
    clearTimeout(timer);
  }
}
