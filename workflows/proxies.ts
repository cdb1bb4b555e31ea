import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE } from '../contracts/failures';

/**
 * Short AWS reads and writes: retried with backoff for transient errors, never for typed ones, for at most
 * 30 minutes in all (a region that stays impaired ends the step instead of holding the run open forever).
 */
const SHORT: ActivityOptions = {
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '30m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
};
export const short = proxyActivities<Activities>(SHORT);

/** Reads that must give up after a few tries, so an unreachable region becomes an answer, not a hang. */
export const probe = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Long waits (promotion, scaling, soaks, replica creation): heartbeats detect a dead worker in 30 s. One attempt
 * may last as long as the longest wait's own bound (a re-created replica catching up: 6 h), and a wait keeps
 * its absolute deadline across attempts (activities/wait.ts); the schedule-to-close bounds the retries of a step
 * that keeps failing for reasons drover does not recognise.
 */
const LONG: ActivityOptions = {
  startToCloseTimeout: '7h',
  scheduleToCloseTimeout: '12h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: NON_RETRYABLE },
};
export const long = proxyActivities<Activities>(LONG);

/**
 * The engine fence's calls (fenceEngine, rebootToFence): long calls whose cancel the run waits out. With `long`'s
 * TRY_CANCEL a cancelled run would unfence at once while the call went on ending sessions on (or rebooting) a writer
 * that takes writes again; the activities stop at their next heartbeat.
 */
export const fencing = proxyActivities<Activities>({ ...LONG, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });

/**
 * The fence's read_only (holdReadOnly): a few AWS calls while the writer is already fenced, so bounded (three attempts
 * of a minute; run out, the fence goes on without it, said so), and a cancel waits them out as `fencing`'s does (the
 * compensation must not restore read_only while an attempt still sets it).
 */
export const fencingBrief = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '4m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * The `short` and `long` proxies on another task queue: the IaC lane (`<task queue>-iac`), where OpenTofu and the
 * redeploy hook run on workers of their own, a few at a time, with a shutdown grace as long as an apply.
 */
export function onQueue(taskQueue: string): { short: typeof short; long: typeof long } {
  // The lane runs one task at a time per worker: a short call may wait behind an hour's apply, so its bound in all
  // (schedule-to-close) is the long one's; each attempt keeps its own minute, and failures are retried 10 times at most.
  return {
    short: proxyActivities<Activities>({ ...SHORT, scheduleToCloseTimeout: LONG.scheduleToCloseTimeout, retry: { ...SHORT.retry, maximumAttempts: 10 }, taskQueue }),
    long: proxyActivities<Activities>({ ...LONG, taskQueue }),
  };
}

/**
 * Readiness evaluations (activities/readiness.ts): every check a read, so a few tries within a few minutes; an
 * unreachable region is a check's answer, not a hang.
 */
export const evaluation = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '6m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Notifications: a few tries within a minute, then given up (and recorded), so a broken topic never holds a run. */
export const notifications = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '8s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * The audit trail's writes: retried for 10 minutes, then given up. A trail that cannot be written (its bucket's
 * region impaired) fails the run's end with the reason ("the audit trail could not be written") instead of
 * keeping a run whose work is done open, which would block its failback and every drill.
 */
export const auditWrites = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * Compensations (an unfence, the reads that decide it): bounded to 15 minutes in all, so a run whose
 * compensation cannot reach its region (a drill preempted because that region is failing) records what it
 * could not undo and ends, instead of holding the real failover that waits for it.
 */
export const compensation = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  scheduleToCloseTimeout: '15m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: NON_RETRYABLE },
});
