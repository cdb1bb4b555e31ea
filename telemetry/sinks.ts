import type { InjectedSinks } from '@temporalio/worker';
import type { DroverSinks, RunLabels } from '../contracts/telemetry';
import { activeMetrics } from './metrics';

/**
 * Why a drill changed nothing, as a bounded label: `skipped` when something else held the runbook (a real run, another
 * drill, the runbook's lock), `refused` when the drill's own policy said no (disabled, outside its windows, cooling
 * down after a real run, a requester or schedule that could not be verified). The texts are activities/drills.ts's
 * and contracts/lock.ts's; anything else is `refused`/`other`.
 */
export function drillRefusalReason(text: string): { outcome: 'skipped' | 'refused'; reason: string } {
  if (/^another drill of .* is running/.test(text) || /^a drill of .* is running/.test(text)) return { outcome: 'skipped', reason: 'drill-running' };
  if (/^a real \S+ of .* is active/.test(text)) return { outcome: 'skipped', reason: 'real-run-active' };
  if (/^a \S+ of .* (is running|was terminated)/.test(text)) return { outcome: 'skipped', reason: 'runbook-busy' };
  if (/^drills are not enabled/.test(text)) return { outcome: 'refused', reason: 'disabled' };
  if (/is outside the drill windows/.test(text)) return { outcome: 'refused', reason: 'outside-window' };
  if (/less than the cooldown of/.test(text)) return { outcome: 'refused', reason: 'cooling-down' };
  if (/^readiness/.test(text)) return { outcome: 'refused', reason: 'not-ready' };
  if (/schedule .* did not start this run/.test(text)) return { outcome: 'refused', reason: 'unconfirmed-schedule' };
  if (/request(er|ed)|identity|verif/i.test(text)) return { outcome: 'refused', reason: 'unverified-requester' };
  return { outcome: 'refused', reason: 'other' };
}

const runLabels = (r: RunLabels) => ({ runbook: r.runbook, kind: r.kind, mode: r.mode, drill: String(r.drill) });

/**
 * Sink calls already counted, by run and event: a workflow task that fails or times out after its sink calls ran is
 * retried, and its calls run again (the SDK runs them whatever becomes of the task). The most recent 20,000 are kept.
 */
class Seen {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 20_000) {}
  /** True the first time `key` is seen. */
  first(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

/**
 * The worker's side of the workflows' metric sink: each call lands in the process's metrics (when enabled). Not
 * called while a history replays (`callDuringReplay: false`): a run's events count once, on the worker that ran them.
 */
export function metricSinks(): InjectedSinks<DroverSinks> {
  const seen = new Seen();
  const once = (info: { workflowId: string; runId: string }, event: string) => seen.first(`${info.workflowId}/${info.runId}/${event}`);
  return {
    droverMetrics: {
      runStarted: {
        fn: (info, run) => {
          if (once(info, 'start')) activeMetrics()?.runsStarted.inc(runLabels(run));
        },
        callDuringReplay: false,
      },
      runFinished: {
        fn: (info, run) => {
          const m = activeMetrics();
          if (!m || !once(info, 'end')) return;
          m.runsFinished.inc({ ...runLabels(run), outcome: run.outcome });
          // The objectives are the runbook's, whatever the run: set by every run that carries them.
          if (run.rto) m.rtoObjective.set({ runbook: run.runbook }, run.rto.objectiveMs / 1000);
          if (run.rpo) m.rpoObjective.set({ runbook: run.runbook }, run.rpo.objectiveMs / 1000);
          // The last measured RTO and RPO: a completed failover's (a promotion or failback is a part of one, or no RTO),
          // at full time: a time-scaled run's RTO is never judged (docs/reports.md).
          if (run.kind !== 'failover' || run.outcome !== 'completed' || (run.timeScale !== undefined && run.timeScale < 1)) return;
          const at = { runbook: run.runbook, drill: String(run.drill) };
          if (run.rto) {
            m.lastRto.set(at, run.rto.ms / 1000);
            m.lastRtoMet.set(at, run.rto.met ? 1 : 0);
            m.lastRtoAt.set(at, run.endedAt / 1000);
          }
          // A negative lag is "unknown" (an unplanned promotion that could not read it): NaN, never a better figure.
          if (run.rpo) m.lastRpo.set(at, run.rpo.seconds < 0 ? Number.NaN : run.rpo.seconds);
        },
        callDuringReplay: false,
      },
      stepEnded: {
        fn: (info, step) => {
          const m = activeMetrics();
          if (!m || !once(info, `step/${step.step}#${step.nth}`)) return;
          m.stepDuration.observe({ kind: step.kind, step: step.step, outcome: step.outcome }, step.ms / 1000);
          if (step.gate) m.gateWait.observe({ kind: step.kind, gate: step.step, outcome: step.outcome }, step.ms / 1000);
        },
        callDuringReplay: false,
      },
      drillNotRun: {
        fn: (info, drill) => {
          const m = activeMetrics();
          if (!m || !once(info, 'not-run')) return;
          // One count per drill: its first refusal's class (a drill refused for two reasons is one drill not run),
          // read with the runbook's name taken out (a runbook called "identity" is not a requester problem).
          const { outcome, reason } = drillRefusalReason((drill.refusals[0] ?? '').split(drill.runbook).join('<runbook>'));
          m.drillsNotRun.inc({ runbook: drill.runbook, outcome, reason });
        },
        callDuringReplay: false,
      },
    },
  };
}
