import { CancellationScope, workflowInfo } from '@temporalio/workflow';
import { changedChecks, type Direction, type ReadinessChange, type ReadinessResult, type ReadinessRun } from '../contracts/readiness';
import type { RunbookRef } from '../runbooks/ref';
import { evaluation, notifications } from './proxies';
import { failureMessage } from './failure';

export interface ReadinessInput {
  /** The runbook by name and the digest of the file the caller (or the schedule's creator) validated. */
  runbookRef: RunbookRef;
  trigger: 'check' | 'schedule';
  direction?: Direction;
}

/** SNS subjects stay under 100 characters (the notify activity cuts what is longer). */
const subject = (r: ReadinessResult, from: string) => `drover readiness ${r.runbook}: ${from} -> ${r.verdict}`;

/**
 * Evaluate a runbook's readiness (docs/readiness.md). Read-only. A scheduled evaluation compares itself with the one
 * before it (its schedule's newest completed evaluation) and publishes to the runbook's topic when, and only when, a
 * check's verdict changed; the first publishes nothing unless it is not ready. Its result is the record `drover
 * readiness` lists.
 */
export async function readiness(input: ReadinessInput): Promise<ReadinessRun> {
  const result = await evaluation.evaluateReadiness({ ref: input.runbookRef, ...(input.direction ? { direction: input.direction } : {}) });
  const run: ReadinessRun = { ...result, trigger: input.trigger };
  if (input.trigger !== 'schedule') return run;
  const info = workflowInfo();
  const before = await evaluation.previousReadiness({ runbook: result.runbook, workflowId: info.workflowId, runId: info.runId });
  const changed = changedChecks(before?.result, result);
  const change: ReadinessChange = { ...(before ? { previous: before.workflowId } : {}), changed, notified: false };
  if (before && before.result.verdict !== result.verdict) change.overall = { from: before.result.verdict, to: result.verdict };
  const worth = before ? changed.length > 0 : result.verdict !== 'ready';
  const topic = await evaluation.readinessTopic({ runbook: result.runbook });
  if (!worth) change.why = before ? 'no verdict changed' : 'the first evaluation, and ready';
  else if (!topic) change.why = 'the runbook names no notifications.snsTopicArn';
  else {
    const message = {
      version: 1,
      event: 'readiness.changed',
      runbook: result.runbook,
      workflowId: info.workflowId,
      runId: info.runId,
      at: result.evaluatedAt,
      verdict: result.verdict,
      direction: result.direction,
      ...(change.overall ? { overall: change.overall } : {}),
      changed,
      checks: result.checks.filter((c) => c.verdict !== 'ready' || changed.some((x) => x.startsWith(`${c.id}:`))).map((c) => ({ id: c.id, verdict: c.verdict, reasons: c.reasons.slice(0, 5), ...(c.fix ? { fix: c.fix } : {}) })),
    };
    try {
      // Published even when the evaluation is being cancelled: the change happened, and the next one compares with this.
      const out = await CancellationScope.nonCancellable(() => notifications.notify({ topicArn: topic, region: topic.split(':')[3], subject: subject(result, before?.result.verdict ?? 'none'), message: JSON.stringify(message) }));
      change.notified = true;
      if (out.messageId) change.messageId = out.messageId;
    } catch (err) {
      change.why = `not published: ${failureMessage(err)}`;
    }
  }
  run.change = change;
  return run;
}
