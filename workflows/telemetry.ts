import { proxySinks } from '@temporalio/workflow';
import type { DroverSinks, RunLabels, StepEnded } from '../contracts/telemetry';
import type { RunStatus, Step } from '../contracts/run';

/**
 * The worker's metrics, told from workflows (contracts/telemetry.ts). Sink calls are not commands: they change no
 * history, and none is made while a history replays.
 */
const { droverMetrics } = proxySinks<DroverSinks>();

export function runStarted(run: RunLabels): void {
  droverMetrics.runStarted(run);
}

/** A run's end, from its record: its outcome, and a completed failover's RTO and RPO against the objectives. */
export function runFinished(run: RunLabels, status: { phase: string } & Partial<Pick<RunStatus, 'rto' | 'rpo' | 'objectives' | 'timeScale'>>, outcome: string = status.phase): void {
  droverMetrics.runFinished({
    ...run,
    outcome,
    endedAt: Date.now(),
    ...(status.rto ? { rto: { ms: status.rto.ms, objectiveMs: status.rto.objectiveMs, met: status.rto.met } } : {}),
    ...(status.rpo && status.objectives ? { rpo: { seconds: status.rpo.lagSeconds, objectiveMs: status.objectives.rpoMs } } : {}),
    ...(status.timeScale !== undefined ? { timeScale: status.timeScale } : {}),
  });
}

/** A step's end (done, failed or skipped; its `nth` in the run), with how long it took in workflow time. */
export function stepEnded(kind: string, step: Step, nth: number): void {
  const ended: StepEnded = { kind, step: step.id, nth, outcome: step.status, ms: Math.max(0, (step.endedAt ?? 0) - (step.startedAt ?? step.endedAt ?? 0)), gate: Boolean(step.gate) };
  droverMetrics.stepEnded(ended);
}

export function drillNotRun(runbook: string, refusals: string[]): void {
  droverMetrics.drillNotRun({ runbook, refusals });
}
