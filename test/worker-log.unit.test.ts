/**
 * The worker's log lines (cli/worker-log.ts): a run that ends with an expected refusal (preflight, a gate,
 * a refused runbook or drill) is one line with the run and the reason; anything else keeps the SDK's
 * default form, stack included. Entries are built as the Temporal SDK passes them to the log function.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { EXPECTED_FAILURES, formatWorkerLog } from '../cli/worker-log';
import { FailureType } from '../contracts/failures';

const AT = BigInt(Date.UTC(2026, 11, 4, 10, 0, 0)) * 1_000_000n;
const RUN = { sdkComponent: 'worker', taskQueue: 'drover', namespace: 'default', workflowId: 'failover-apnakart', runId: '0192-run', workflowType: 'regionFailover' };

function entry(error: unknown, message = 'Workflow failed'): LogEntry {
  return { level: 'WARN', message, timestampNanos: AT, meta: { ...RUN, error } };
}

describe('the worker log', () => {
  test('a preflight refusal is one line: time, level, the run, the type and every problem, no stack trace', () => {
    const error = ApplicationFailure.create({ type: FailureType.PreflightFailed, message: 'preflight failed, nothing was changed:\n  - target probes: probe api (http://api.example.com/helth) answered 404\n  - writer record: db.example.com has no CNAME', nonRetryable: true });
    const line = formatWorkerLog(entry(error));
    expect(line).toBe('2026-12-04T10:00:00.000Z [WARN] Workflow failed: failover-apnakart (regionFailover) run 0192-run: PreflightFailed: preflight failed, nothing was changed: - target probes: probe api (http://api.example.com/helth) answered 404 - writer record: db.example.com has no CNAME');
    expect(line).not.toContain('\n');
  });

  test('as it arrives from the workflow thread (structured clone dropped the type; the interceptor named it in failureType): still one line', () => {
    const cloned = structuredClone(ApplicationFailure.create({ type: FailureType.RunbookRefused, message: "the workers' copy of runbook apnakart differs", nonRetryable: true }));
    expect((cloned as { type?: string }).type).toBeUndefined();
    const e: LogEntry = { level: 'WARN', message: 'Workflow failed', timestampNanos: AT, meta: { ...RUN, error: cloned, failureType: FailureType.RunbookRefused } };
    expect(formatWorkerLog(e)).toBe("2026-12-04T10:00:00.000Z [WARN] Workflow failed: failover-apnakart (regionFailover) run 0192-run: RunbookRefused: the workers' copy of runbook apnakart differs");
    // A fault named by the interceptor keeps its stack.
    expect(formatWorkerLog({ ...e, meta: { ...e.meta, failureType: FailureType.VerificationFailed } })).toContain('    at ');
  });

  test.each([...EXPECTED_FAILURES])('%s is logged as one line', (type) => {
    expect(formatWorkerLog(entry(ApplicationFailure.create({ type, message: 'the reason', nonRetryable: true })))).toBe(`2026-12-04T10:00:00.000Z [WARN] Workflow failed: failover-apnakart (regionFailover) run 0192-run: ${type}: the reason`);
  });

  test('the expected refusals are exactly the rule answers, not the faults', () => {
    expect([...EXPECTED_FAILURES].sort()).toEqual(['ApprovalRefused', 'ApprovalRejected', 'ApprovalTimedOut', 'DrillCancelled', 'DrillRefused', 'IacPlanRefused', 'Preempted', 'PreflightFailed', 'RebuildRefused', 'RequesterUnverified', 'RunCancelled', 'RunbookBusy', 'RunbookRefused']);
  });

  test('a fault (a verification that failed, an untyped error) keeps the default form with its stack', () => {
    const fault = ApplicationFailure.create({ type: FailureType.VerificationFailed, message: 'traffic not on ap-southeast-1', nonRetryable: true });
    const line = formatWorkerLog(entry(fault));
    expect(line.startsWith('2026-12-04T10:00:00.000Z [WARN] Workflow failed {')).toBe(true);
    expect(line).toContain('VerificationFailed');
    expect(line).toContain('at ');
    const plain = formatWorkerLog(entry(new Error('socket hang up')));
    expect(plain.split('\n').length).toBeGreaterThan(2);
  });

  test('a credential in a refusal (a probe URL with user:password@, a key in a comment) or in a fault is scrubbed', () => {
    const refused = ApplicationFailure.create({ type: FailureType.ApprovalRejected, message: 'rejected by ic-priya: use http://admin:Hunter2pass@db.internal:5432 and AKIAIOSFODNN7EXAMPLE', nonRetryable: true });
    const line = formatWorkerLog(entry(refused));
    expect(line).toBe('2026-12-04T10:00:00.000Z [WARN] Workflow failed: failover-apnakart (regionFailover) run 0192-run: ApprovalRejected: rejected by ic-priya: use http://admin:[redacted]@db.internal:5432 and [redacted-access-key-id]');
    const fault = formatWorkerLog(entry(new Error('fetch failed: request to http://admin:Hunter2pass@api.example.com/health failed')));
    expect(fault).not.toContain('Hunter2pass');
    expect(fault).toContain('http://admin:[redacted]@api.example.com/health');
  });

  test('an entry without metadata is its time, level and message', () => {
    expect(formatWorkerLog({ level: 'INFO', message: 'Worker state changed', timestampNanos: AT })).toBe('2026-12-04T10:00:00.000Z [INFO] Worker state changed');
  });
});
