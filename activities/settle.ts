import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import { PASSING_STATUSES } from '../contracts/rds-status';
import type { RdsApi } from '../aws/clients';
import { aws, awsErrorCode } from '../aws/errors';
import { inActivity, pollUntil } from './wait';

/** What whenSettled needs of an RDS client: the status of the instance a call was refused on. */
type StatusReader = Pick<RdsApi, 'describeDBInstances'>;

/** The retryable failure of a `short` attempt refused while its instance passes through a state (not a FailureType: those are final). */
export const INSTANCE_BUSY = 'RdsInstanceBusy';

/** How many times a refused call is asked again, in an attempt that waits, once its instance was available, before the refusal stands. */
export const SETTLE_ROUNDS = 5;

/**
 * In an attempt that cannot wait (a `short` activity: a minute, no heartbeat), the activity attempt from which a
 * refusal stands: with Temporal's backoff (1 s doubling to 30 s) about six minutes of asking. Typed then, so a
 * promotion refused while its replica backs up ends as "nothing under way" (its fence is undone), not as a timeout.
 */
export const SHORT_BUSY_ATTEMPTS = 16;

/** How long a call waits, over all its rounds, when the caller gives no bound: inside the compensation proxy's ten minutes. */
const DEFAULT_SETTLE_MS = 8 * 60_000;

const isInvalidState = (err: unknown) => /^InvalidDBInstanceState(Fault)?$/.test(awsErrorCode(err) ?? '');

/**
 * Run `fn`, an RDS call on `identifier`, asking it again while RDS refuses it because the instance is passing
 * through a state (InvalidDBInstanceState while `backing-up`, `modifying`, …: PASSING_STATUSES, contracts/rds-status.ts).
 * In an activity that heartbeats (the `long` and compensation ones) it waits for the instance to be `available`
 * (heartbeating; one bound, `timeoutMs`, for all its rounds) and calls again, `SETTLE_ROUNDS` times at most;
 * elsewhere the attempt fails with the retryable RdsInstanceBusy and Temporal asks again with backoff, until
 * attempt `SHORT_BUSY_ATTEMPTS`. A refusal in a status that does not pass, or of an instance that is available
 * (twice), is final: InvalidState, naming the status. Every other error, the describe's included (an instance gone
 * meanwhile answers DBInstanceNotFound), is rethrown as it came, for the caller's own handling.
 */
export async function whenSettled<T>(rds: StatusReader, region: string, identifier: string, call: string, fn: () => Promise<T>, timeoutMs = DEFAULT_SETTLE_MS): Promise<T> {
  const ctx = inActivity();
  const deadline = Date.now() + timeoutMs;
  for (let round = 1; ; round++) {
    try {
      return await fn();
    } catch (err) {
      if (!isInvalidState(err)) throw err;
      const status = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0]?.DBInstanceStatus;
      const refused = `${call} refused: ${identifier} in ${region} is ${status ?? 'unknown'}`;
      const final = (why: string) => ApplicationFailure.create({ type: FailureType.InvalidState, message: `${refused}${why}`, nonRetryable: true, details: [{ call, code: awsErrorCode(err), status }] });
      if (status === undefined || (status !== 'available' && !PASSING_STATUSES.has(status))) throw final(`, a state RDS does not leave by itself (${awsErrorCode(err)})`);
      const attempt = ctx?.info.attempt ?? Number.POSITIVE_INFINITY;
      if (!ctx?.info.heartbeatTimeoutMs) {
        // Available and still refused: not a state that passes; once more (a status read just after it passed), then final.
        if (status === 'available' ? attempt >= 2 : attempt >= SHORT_BUSY_ATTEMPTS) throw final(`; still refused at activity attempt ${Number.isFinite(attempt) ? attempt : 1} (${awsErrorCode(err)})`);
        throw ApplicationFailure.create({ type: INSTANCE_BUSY, message: `${refused}; asked again once it is available`, nonRetryable: false, details: [{ call, code: awsErrorCode(err), status }] });
      }
      if (round >= SETTLE_ROUNDS || (status === 'available' && round >= 2)) throw final(`; still refused after ${round} tries, each once it was available`);
      if (status !== 'available') {
        await pollUntil({ what: `${identifier} to be available before ${call}`, timeoutMs: Math.max(0, deadline - Date.now()), initialIntervalMs: 1000, maxIntervalMs: 15_000 }, async () => {
          const now = (await aws(`rds:DescribeDBInstances(${identifier})`, () => rds.describeDBInstances({ DBInstanceIdentifier: identifier }))).DBInstances?.[0]?.DBInstanceStatus ?? 'not found';
          if (now !== 'available' && !PASSING_STATUSES.has(now)) {
            throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${refused}, then ${now}, a state RDS does not leave by itself`, nonRetryable: true });
          }
          return { done: now === 'available', value: undefined, progress: now };
        });
      }
    }
  }
}
