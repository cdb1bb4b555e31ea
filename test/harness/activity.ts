import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

export interface Heartbeat {
  waitingFor: string;
  progress: string;
}

/** A fresh MockActivityEnvironment per test, recording heartbeats. */
export function useMockActivityEnvironment() {
  let env: MockActivityEnvironment;
  const state = { heartbeats: [] as Heartbeat[] };
  beforeEach(() => {
    // Failed activities are logged by the SDK; the tests assert the failures themselves.
    env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
    state.heartbeats = [];
    env.on('heartbeat', (details: Heartbeat) => state.heartbeats.push(details));
  });
  return {
    /** Heartbeats of the current test's activity, in order. */
    get heartbeats(): Heartbeat[] {
      return state.heartbeats;
    },
    /** Run an activity in the mock activity context, keeping its result type. */
    run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
      return env.run<A, R, typeof fn>(fn, ...args);
    },
  };
}

/** What a promise rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the activity to fail, but it succeeded');
}

/** The error is drover's typed, non-retryable failure of `type`, with a message matching `message`. */
export function expectFailure(err: unknown, type: string, message: RegExp): void {
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.type).toBe(type);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toMatch(message);
}
