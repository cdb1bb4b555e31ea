/**
 * Waiting for a state, not for a time: tests poll the condition they need (a run at a step, a metric
 * published, a list showing a row) instead of sleeping a fixed while and hoping it holds by then.
 */

export interface WaitOptions {
  /** Give up (and fail, naming `what`) after this long; default 60 s. */
  timeoutMs?: number;
  /** Pause between polls; default 50 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

/**
 * Poll `predicate` until it returns a value other than undefined, null or false, and return that value.
 * A predicate that throws is polled again (a query to a workflow not yet started, a resource not yet
 * created); the last error is in the timeout message.
 */
export async function waitFor<T>(predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
