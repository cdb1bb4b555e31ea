import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE } from '../contracts/failures';

/** Short AWS reads and writes: retried with backoff for transient errors, never for typed ones. */
export const short = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Reads that must give up after a few tries, so an unreachable region becomes an answer, not a hang. */
export const probe = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Long waits (promotion, scaling, soaks, replica creation): heartbeats detect a dead worker in 30 s. */
export const long = proxyActivities<Activities>({
  startToCloseTimeout: '3h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Notifications: a few tries within a minute, then given up (and recorded), so a broken topic never holds a run. */
export const notifications = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '8s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});
