import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { NOT_POLLED } from '../../activities/wait';

export interface Heartbeat {
  waitingFor: string;
  progress: string;
}

/**
 * A fresh MockActivityEnvironment per test, recording heartbeats: `heartbeats` has what each poll reported
 * (what is waited for and its progress), `beats` every heartbeat as sent (a wait's timer beats, its deadline).
 */
export function useMockActivityEnvironment() {
  let env: MockActivityEnvironment;
  const state = { heartbeats: [] as Heartbeat[], beats: [] as unknown[] };
  beforeEach(() => {
    // Failed activities are logged by the SDK; the tests assert the failures themselves.
    env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
    state.heartbeats = [];
    state.beats = [];
    env.on('heartbeat', (details: unknown) => {
      state.beats.push(details);
      const d = details as Partial<Heartbeat> & { deadline?: number };
      if (d === undefined || d === null || typeof d !== 'object' || !('waitingFor' in d)) return void state.heartbeats.push(details as Heartbeat);
      // A wait's beats before its first answer, and repeats between polls (its timer), are not progress.
      if (d.progress === NOT_POLLED) return;
      // The timer sends the poll's own beat again.
      if (state.beats.at(-2) === details) return;
      state.heartbeats.push({ waitingFor: d.waitingFor as string, progress: d.progress as string });
    });
  });
  return {
    /** What each poll of the current test's activity reported, in order (other heartbeats as sent). */
    get heartbeats(): Heartbeat[] {
      return state.heartbeats;
    },
    /** Every heartbeat as sent, in order. */
    get beats(): unknown[] {
      return state.beats;
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

/** One call made through a client wrapped by recordCalls: the operation, its input, and what it answered. */
export interface RecordedCall {
  op: string;
  input: unknown;
  output?: { $metadata?: { requestId?: string } } & Record<string, unknown>;
  error?: unknown;
}

/**
 * The client itself, with every call made through it recorded in order. Unlike a fake, each call still
 * reaches the real server (moto), which alone decides the answer; tests read what was sent and answered.
 */
export function recordCalls<T extends object>(client: T): { api: T; calls: RecordedCall[]; ops(): string[]; inputs<I = unknown>(op: string): I[] } {
  const calls: RecordedCall[] = [];
  const api = new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const call: RecordedCall = { op: prop, input: structuredClone(args[0]) };
        calls.push(call);
        try {
          call.output = (await (value as (...a: unknown[]) => Promise<RecordedCall['output']>).apply(target, args)) ?? undefined;
          return call.output;
        } catch (e) {
          call.error = e;
          throw e;
        }
      };
    },
  });
  return { api, calls, ops: () => calls.map((c) => c.op), inputs: <I>(op: string) => calls.filter((c) => c.op === op).map((c) => c.input as I) };
}

/**
 * The error is drover's non-retryable `type` failure of an AWS call: its message names the call and the code
 * AWS answered and ends with the request id, which its details carry too. What AWS said in between is not
 * asserted: it is the server's text, not drover's.
 */
export function expectCallFailure(err: unknown, type: string, call: string, code: string): void {
  const prefix = `${call} failed: ${code}: `.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expectFailure(err, type, new RegExp(`^${prefix}.+ \\(request [A-Za-z0-9-]+\\)$`));
  const requestId = /\(request ([A-Za-z0-9-]+)\)$/.exec((err as ApplicationFailure).message)?.[1];
  expect((err as ApplicationFailure).details).toEqual([{ call, code, requestId }]);
}
