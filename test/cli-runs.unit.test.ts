/**
 * What the CLI decides from a query or update that no worker answered (exit 5 only when the deadline passed), and
 * what `drover status` shows of an activity being retried (the audit append of a blocked trail, say).
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { activityProgress, DEADLINE_SLACK_MS, deadlinePassed } from '../cli/runs';

const DEADLINE = 1_700_000_015_000;
/** A gRPC error as grpc-js raises it: a status code, on the error or on its cause. */
const grpc = (code: number) => Object.assign(new Error(`${code} status`), { code });

describe('deadlinePassed', () => {
  test('the slack is 100 ms (a timer firing a millisecond or so early; a real CANCELLED before that is not the deadline)', () => {
    expect(DEADLINE_SLACK_MS).toBe(100);
  });

  test.each([
    ['DEADLINE_EXCEEDED long before the deadline', grpc(4), DEADLINE - 10_000, true],
    ['DEADLINE_EXCEEDED as the cause', { cause: { code: 4 } }, DEADLINE - 10_000, true],
    ['CANCELLED one millisecond before the deadline (a timer that fired early)', grpc(1), DEADLINE - 1, true],
    ['CANCELLED exactly 100 ms before the deadline', grpc(1), DEADLINE - 100, true],
    ['CANCELLED at the deadline', grpc(1), DEADLINE, true],
    ['CANCELLED as the cause, after the deadline', { cause: { code: 1 } }, DEADLINE + 5, true],
    ['CANCELLED more than 100 ms before the deadline (not the deadline)', grpc(1), DEADLINE - 101, false],
    ['UNAVAILABLE after the deadline', grpc(14), DEADLINE + 5, false],
    ['an error with no code after the deadline', new Error('boom'), DEADLINE + 5, false],
  ])('%s', (_what, error, now, expected) => {
    expect(deadlinePassed(error, DEADLINE, now)).toBe(expected);
  });

  test('an update whose RPC timed out or was cancelled is the deadline at any time', () => {
    expect(deadlinePassed(new WorkflowUpdateRPCTimeoutOrCancelledError('Timed out or cancelled waiting for Update', { cause: grpc(1) }), DEADLINE, DEADLINE - 10_000)).toBe(true);
  });
});

describe('activityProgress of an activity being retried', () => {
  const describing = (pendingActivities: unknown[]) => ({ raw: { pendingActivities } }) as unknown as WorkflowExecutionDescription;

  test('a pending activity whose last attempt failed shows its name, its attempt and the failure', () => {
    const why = "/audit/apnakart/failover-apnakart/r1.jsonl cannot be written: ENOTDIR: not a directory, mkdir '/audit/apnakart/failover-apnakart'";
    expect(activityProgress(describing([{ activityType: { name: 'appendAudit' }, attempt: 3, lastFailure: { message: why } }]))).toEqual([`retrying appendAudit (attempt 3): ${why}`]);
  });

  test('a failure with no message says so; a pending activity that has not failed shows nothing', () => {
    expect(activityProgress(describing([{ activityType: { name: 'appendAudit' }, attempt: 2, lastFailure: { message: '' } }, { activityType: { name: 'promoteReplica' }, attempt: 1 }]))).toEqual([
      'retrying appendAudit (attempt 2): no reason given',
    ]);
  });
});
