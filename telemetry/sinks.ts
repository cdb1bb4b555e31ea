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
  if (/schedule .* did not start this run/.test(text)) return { outcome: 'refused', reason: 'unconfirmed-schedule' };
  if (/request(er|ed)|identity|verif/i.test(text)) return { outcome: 'refused', reason: 'unverified-requester' };
  return { outcome: 'refused', reason: 'other' };
}

const runLabels = (r: RunLabels) => ({ runbook: r.runbook, kind: r.kind, mode: r.mode, drill: String(r.drill) });

/**
 * The worker's side of the workflows' metric sink: each call lands in the process's metrics (when enabled). Not
 * called while a history replays (`callDuringReplay: false`): a run's events count once, on the worker that ran them.
 */
export function metricSinks(): InjectedSinks<DroverSinks> {
  return {
    droverMetrics: {
      runStarted: {
        fn: (_info, run) => activeMetrics()?.runsStarted.inc(runLabels(run)),
        callDuringReplay: false,
      },
      runFinished: {
        fn: (_info, run) => {
          const m = activeMetrics();
          if (!m) return;
          m.runsFinished.inc({ ...runLabels(run), outcome: run.outcome });
          // The objectives are the runbook's, whatever the run: set by every run that carries them.
          if (run.rto) m.rtoObjective.set({ runbook: run.runbook }, run.rto.objectiveMs / 1000);
          if (run.rpo) m.rpoObjective.set({ runbook: run.runbook }, run.rpo.objectiveMs / 1000);
          // The last measured RTO and RPO: a completed failover's (a promotion or failback is a part of one, or no RTO).
          if (run.kind !== 'failover' || run.outcome !== 'completed') return;
          const at = { runbook: run.runbook, drill: String(run.drill) };
          if (run.rto) {
            m.lastRto.set(at, run.rto.ms / 1000);
            m.lastRtoMet.set(at, run.rto.met ? 1 : 0);
            m.lastRtoAt.set(at, run.endedAt / 1000);
          }
          if (run.rpo) m.lastRpo.set(at, run.rpo.seconds);
        },
        callDuringReplay: false,
      },
      stepEnded: {
        fn: (_info, step) => {
          const m = activeMetrics();
          if (!m) return;
          m.stepDuration.observe({ kind: step.kind, step: step.step, outcome: step.outcome }, step.ms / 1000);
          if (step.gate) m.gateWait.observe({ kind: step.kind, gate: step.step, outcome: step.outcome }, step.ms / 1000);
        },
        callDuringReplay: false,
      },
      drillNotRun: {
        fn: (_info, drill) => {
          const m = activeMetrics();
          if (!m) return;
          // One count per drill: its first refusal's class (a drill refused for two reasons is one drill not run).
          const { outcome, reason } = drillRefusalReason(drill.refusals[0] ?? '');
          m.drillsNotRun.inc({ runbook: drill.runbook, outcome, reason });
        },
        callDuringReplay: false,
      },
    },
  };
}
