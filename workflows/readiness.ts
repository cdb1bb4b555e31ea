import { CancellationScope, workflowInfo } from '@temporalio/workflow';
import { changedChecks, readinessScheduleId, toldChecks, worst, type Direction, type ReadinessChange, type ReadinessResult, type ReadinessRun, type Verdict } from '../contracts/readiness';
import type { RunbookRef } from '../runbooks/ref';
import { evaluation, notifications } from './proxies';
import { failureMessage } from './failure';

export interface ReadinessInput {
  /** The runbook by name and the digest of the file the caller (or the schedule's creator) validated. */
  runbookRef: RunbookRef;
  trigger: 'check' | 'schedule';
  /** `drover check --direction`; a scheduled evaluation judges the run that comes next. */
  direction?: Direction;
}

/** SNS subjects stay under 100 characters (the notify activity cuts what is longer). */
const subject = (r: ReadinessResult, from: string) => `drover readiness ${r.runbook}: ${from} -> ${r.verdict}`;

/**
 * Evaluate a runbook's readiness (docs/readiness.md). Read-only. A scheduled evaluation, once its schedule confirms it
 * started it, compares itself with what the runbook's topic last heard (the schedule's previous evaluation's `told`)
 * and publishes when, and only when, a check's verdict changed; the schedule's first publishes unless it is ready. Its
 * result is the record `drover readiness` lists.
 */
export async function readiness(input: ReadinessInput): Promise<ReadinessRun> {
  const info = workflowInfo();
  const scheduleId = readinessScheduleId(input.runbookRef?.name ?? '');
  // Only the schedule's own runs speak for it: a run started by hand claiming `schedule` is evaluated as a check.
  const scheduled = input.trigger === 'schedule' && (await evaluation.confirmScheduled({ scheduleId, workflowId: info.workflowId, runId: info.runId }));
  const result = await evaluation.evaluateReadiness({ ref: input.runbookRef, ...(!scheduled && input.direction ? { direction: input.direction } : {}), compareFile: !scheduled });
  const run: ReadinessRun = { ...result, trigger: scheduled ? 'schedule' : 'check' };
  if (!scheduled) return run;
  const before = await evaluation.previousReadiness({ scheduleId, workflowId: info.workflowId, runId: info.runId });
  const heard = before?.result.change?.told;
  const changed = changedChecks(heard ? toldChecks(heard) : undefined, result);
  const now: Record<string, Verdict> = Object.fromEntries(result.checks.map((c) => [c.id, c.verdict]));
  const change: ReadinessChange = { ...(before ? { previous: before.workflowId } : {}), changed, notified: false, told: now };
  const was = heard ? worst(Object.values(heard)) : undefined;
  if (was && was !== result.verdict) change.overall = { from: was, to: result.verdict };
  const worth = heard ? changed.length > 0 : result.verdict !== 'ready';
  const topic = worth ? await evaluation.readinessTopic({ runbook: result.runbook }) : null;
  if (!worth) change.why = heard ? 'no verdict changed' : 'the first evaluation, and ready';
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
      // Published even when the evaluation is being cancelled: the change happened.
      const out = await CancellationScope.nonCancellable(() => notifications.notify({ topicArn: topic, region: topic.split(':')[3], subject: subject(result, was ?? 'none'), message: JSON.stringify(message) }));
      change.notified = true;
      if (out.messageId) change.messageId = out.messageId;
    } catch (err) {
      // Not heard: the next evaluation compares with what was heard before, and tells this change again.
      change.why = `the publish failed: ${failureMessage(err)}`;
      if (heard) change.told = heard;
      else delete change.told;
    }
  }
  run.change = change;
  return run;
}
