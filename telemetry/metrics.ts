import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * drover's own Prometheus metrics (docs/observability.md): runs, steps, gate waits, the last RTO and RPO per runbook
 * against their objectives, AWS calls, and drills that did not run. A process enables them once (`enableMetrics`:
 * the worker command, and tests); until then nothing is recorded and prom-client is not even loaded (the CLI's cold
 * start, BENCHMARKS.md (f)).
 *
 * Labels are bounded: runbook names (the worker holds a fixed set), kinds, modes, step and gate ids (declared by the
 * workflows), AWS services and operations (drover's own calls), outcomes and reason classes. No run id, user, region
 * argument or free text is ever a label.
 */
export interface DroverMetrics {
  registry: Registry;
  runsStarted: Counter<'runbook' | 'kind' | 'mode' | 'drill'>;
  runsFinished: Counter<'runbook' | 'kind' | 'mode' | 'drill' | 'outcome'>;
  stepDuration: Histogram<'kind' | 'step' | 'outcome'>;
  gateWait: Histogram<'kind' | 'gate' | 'outcome'>;
  lastRto: Gauge<'runbook' | 'drill'>;
  lastRtoMet: Gauge<'runbook' | 'drill'>;
  lastRtoAt: Gauge<'runbook' | 'drill'>;
  rtoObjective: Gauge<'runbook'>;
  lastRpo: Gauge<'runbook' | 'drill'>;
  rpoObjective: Gauge<'runbook'>;
  awsCalls: Counter<'service' | 'operation'>;
  awsErrors: Counter<'service' | 'operation'>;
  awsThrottles: Counter<'service' | 'operation'>;
  awsDuration: Histogram<'service' | 'operation'>;
  drillsNotRun: Counter<'runbook' | 'outcome' | 'reason'>;
}

/** Seconds: a step or a gate takes from a second (a read) to an hour (an OpenTofu apply, a slow approver). */
const STEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds: one AWS API call, its retries included. */
const AWS_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let metrics: DroverMetrics | undefined;

/** Create the process's metrics (once; later calls return the same), with Node.js's process metrics beside them. */
export function enableMetrics(): DroverMetrics {
  if (metrics) return metrics;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by a process that serves metrics
  const prom = require('prom-client') as typeof import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  metrics = {
    registry,
    runsStarted: new prom.Counter({ name: 'drover_runs_started_total', help: 'Runs started, by runbook, kind (failover, promotion, failback, rebuild, drill), mode and whether a drill ran them.', labelNames: ['runbook', 'kind', 'mode', 'drill'], registers }),
    runsFinished: new prom.Counter({ name: 'drover_runs_finished_total', help: 'Runs ended, by runbook, kind, mode, drill and outcome (completed, failed, rejected, aborted, cancelled, refused).', labelNames: ['runbook', 'kind', 'mode', 'drill', 'outcome'], registers }),
    stepDuration: new prom.Histogram({ name: 'drover_step_duration_seconds', help: 'How long each step of a run took, by kind, step id and outcome (done, failed, skipped); gates included.', labelNames: ['kind', 'step', 'outcome'], buckets: STEP_BUCKETS, registers }),
    gateWait: new prom.Histogram({ name: 'drover_gate_wait_seconds', help: 'How long a run waited at an approval gate, by kind, gate and outcome.', labelNames: ['kind', 'gate', 'outcome'], buckets: STEP_BUCKETS, registers }),
    lastRto: new prom.Gauge({ name: 'drover_last_rto_seconds', help: 'The RTO the last completed failover of the runbook measured (drill="true": a drill\'s).', labelNames: ['runbook', 'drill'], registers }),
    lastRtoMet: new prom.Gauge({ name: 'drover_last_rto_met', help: '1 when the last completed failover of the runbook met its RTO objective, else 0.', labelNames: ['runbook', 'drill'], registers }),
    lastRtoAt: new prom.Gauge({ name: 'drover_last_rto_timestamp_seconds', help: 'When the failover behind drover_last_rto_seconds completed (Unix seconds).', labelNames: ['runbook', 'drill'], registers }),
    rtoObjective: new prom.Gauge({ name: 'drover_rto_objective_seconds', help: 'The runbook\'s RTO objective.', labelNames: ['runbook'], registers }),
    lastRpo: new prom.Gauge({ name: 'drover_last_rpo_seconds', help: 'The RPO (data-loss window) the last completed failover of the runbook recorded.', labelNames: ['runbook', 'drill'], registers }),
    rpoObjective: new prom.Gauge({ name: 'drover_rpo_objective_seconds', help: 'The runbook\'s RPO objective.', labelNames: ['runbook'], registers }),
    awsCalls: new prom.Counter({ name: 'drover_aws_calls_total', help: 'AWS API calls made by activities (one per call, however many attempts), by service and operation.', labelNames: ['service', 'operation'], registers }),
    awsErrors: new prom.Counter({ name: 'drover_aws_call_errors_total', help: 'AWS API calls that ended in an error after the SDK\'s retries, by service and operation.', labelNames: ['service', 'operation'], registers }),
    awsThrottles: new prom.Counter({ name: 'drover_aws_throttled_attempts_total', help: 'AWS API attempts AWS throttled (each retried attempt counts), by service and operation.', labelNames: ['service', 'operation'], registers }),
    awsDuration: new prom.Histogram({ name: 'drover_aws_call_duration_seconds', help: 'How long an AWS API call took, its retries included, by service and operation.', labelNames: ['service', 'operation'], buckets: AWS_BUCKETS, registers }),
    drillsNotRun: new prom.Counter({ name: 'drover_drills_not_run_total', help: 'Drills that changed nothing, by runbook, outcome (skipped: something else held the runbook; refused: its policy said no) and reason.', labelNames: ['runbook', 'outcome', 'reason'], registers }),
  };
  return metrics;
}

/** The process's metrics, when enabled. */
export function activeMetrics(): DroverMetrics | undefined {
  return metrics;
}

/** Forget the process's metrics (tests that enable them afresh). */
export function resetMetricsForTests(): void {
  metrics = undefined;
}
