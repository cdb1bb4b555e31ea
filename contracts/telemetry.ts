import type { Sinks } from '@temporalio/workflow';

/**
 * What workflows tell the worker's metrics (telemetry/sinks.ts), through a Temporal sink: a sink call makes no
 * command, so adding one changes no history; none is made while a history replays, and the worker counts a call a
 * retried workflow task repeats once (docs/observability.md). Every field is a bounded label or a number (telemetry/metrics.ts): no run ids, no free text, except
 * a drill's refusals, which the worker reduces to a reason class before they become a label.
 */
export interface RunLabels {
  runbook: string;
  /** failover, promote, failback, rebuild, cleanup, drill. */
  kind: string;
  /** planned, unplanned (a drill: planned). */
  mode: string;
  /** Whether a drill ran it. */
  drill: boolean;
}

export interface RunFinished extends RunLabels {
  /** The run's phase at its end (completed, failed, rejected, aborted), or cancelled. */
  outcome: string;
  /** Workflow time the run ended (ms since epoch). */
  endedAt: number;
  /** A failover's measured RTO against its objective. */
  rto?: { ms: number; objectiveMs: number; met: boolean };
  /** The RPO the run recorded (its lag or loss window; negative: unknown), against the objective. */
  rpo?: { seconds: number; objectiveMs: number };
  /** The --time-scale factor, below 1: the run's RTO is not judged (nor is it the last measured one). */
  timeScale?: number;
}

export interface StepEnded {
  kind: string;
  step: string;
  /**
   * Which end of this step in the run (1 for the first): with the run and step, what tells a sink call repeated by a
   * retried workflow task from a new end. Counted by the workflow, so a retried task sends the same number.
   */
  nth: number;
  /** done, failed, skipped. */
  outcome: string;
  ms: number;
  gate: boolean;
}

export interface DroverSinks extends Sinks {
  droverMetrics: {
    runStarted(run: RunLabels): void;
    runFinished(run: RunFinished): void;
    stepEnded(step: StepEnded): void;
    /** A drill that changed nothing: refused, with each refusal's text. */
    drillNotRun(drill: { runbook: string; refusals: string[] }): void;
  };
}
