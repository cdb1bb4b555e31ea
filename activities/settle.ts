import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import { PASSING_STATUSES } from '../contracts/rds-status';
import type { RdsApi } from '../aws/clients';
import { aws, awsErrorCode, toFailure } from '../aws/errors';
import { inActivity, pollUntil } from './wait';

/** What whenSettled needs of an RDS client: the status of the instance a call was refused on. */
type StatusReader = Pick<RdsApi, 'describeDBInstances'>;

/** The retryable failure of a `short` attempt refused while its instance passes through a state (not a FailureType: those are final). */
export const INSTANCE_BUSY = 'RdsInstanceBusy';

/** How many times a refused call is asked again after its instance became available before the refusal stands. */
export const SETTLE_ROUNDS = 5;

const isInvalidState = (err: unknown) => /^InvalidDBInstanceState(Fault)?$/.test(awsErrorCode(err) ?? '');

/**
 * Run `fn`, an RDS call on `identifier`, asking it again while RDS refuses it because the instance is passing
 * through a state (InvalidDBInstanceState while `backing-up`, `modifying`, …: PASSING_STATUSES, contracts/rds-status.ts). In an activity that heartbeats (the
 * `long` and compensation ones), it waits for the instance to be `available` (heartbeating, bound `timeoutMs`) and
 * calls again, `SETTLE_ROUNDS` times at most; elsewhere (a `short` activity has a minute) the attempt fails with a
 * retryable RdsInstanceBusy and Temporal asks again with backoff, within the activity's own bound. A refusal in a
 * status that does not pass is final (InvalidState, naming the status). Every other error is rethrown as it came,
 * for the caller's own handling.
 */
export async function whenSettled<T>(rds: StatusReader, region: string, identifier: string, call: string, fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await fn();
    } catch (err) {
      if (!isInvalidState(err)) throw err;
      let status: string | undefined;
      try {
        status = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0]?.DBInstanceStatus;
      } catch (describeErr) {
        // Gone meanwhile, or the region not answering: the refusal is all there is to say.
        throw toFailure(err, call, `and describing ${identifier} failed: ${awsErrorCode(describeErr) ?? (describeErr as Error).message}`);
      }
      const refused = `${call} refused: ${identifier} in ${region} is ${status ?? 'unknown'}`;
      if (status === undefined || (status !== 'available' && !PASSING_STATUSES.has(status))) {
        throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${refused}, a state RDS does not leave by itself (${awsErrorCode(err)})`, nonRetryable: true, details: [{ call, code: awsErrorCode(err), status }] });
      }
      if (round >= SETTLE_ROUNDS) {
        throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${refused}; still refused after ${round} tries, each once it was available`, nonRetryable: true, details: [{ call, code: awsErrorCode(err), status }] });
      }
      const ctx = inActivity();
      if (!ctx?.info.heartbeatTimeoutMs) {
        throw ApplicationFailure.create({ type: INSTANCE_BUSY, message: `${refused}; asked again once it is available`, nonRetryable: false, details: [{ call, code: awsErrorCode(err), status }] });
      }
      if (status !== 'available') {
        await pollUntil({ what: `${identifier} to be available before ${call}`, timeoutMs, initialIntervalMs: 1000, maxIntervalMs: 15_000 }, async () => {
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
