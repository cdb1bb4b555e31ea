import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import { long, short } from './proxies';
import type { Journal } from './journal';
import { untilAnswered } from './answered';

/** Patch id: the shift reads the current weights first and skips steps already reached. */
const SHIFT_FROM_CURRENT = 'shift-from-current-v1';
/** Patch id: a traffic change runs to its answer under a cancel (and the record follows it), never started once cancelled. */
const SHIFT_TO_ITS_ANSWER = 'shift-to-its-answer-v1';
/** Patch: alarms in INSUFFICIENT_DATA count by the runbook's policy (healthy by default); recorded runs counted them as breaches. */
export const ALARM_INSUFFICIENT_DATA = 'alarm-insufficient-data-v1';

/** The INSUFFICIENT_DATA policy a run reads alarms with: the runbook's since the patch, before it every state but OK a breach. */
export function alarmPolicyOf(rb: Runbook): { insufficientData?: 'healthy' | 'breach'; insufficientDataByAlarm?: Record<string, 'healthy' | 'breach'> } {
  return patched(ALARM_INSUFFICIENT_DATA) ? { insufficientData: rb.health.insufficientData, insufficientDataByAlarm: rb.health.insufficientDataByAlarm } : { insufficientData: 'breach' };
}

export interface ShiftPlan {
  rb: Runbook;
  fromRegion: string;
  toRegion: string;
  /** Multiplies soak and interval (demos, drills). */
  scale: number;
  journal: Journal;
  /** Step id prefix: `${prefix}-${percent}` must be declared in the journal. */
  prefix: string;
  /** Told the percent on toRegion after every change (including a revert). */
  onPercent(percent: number): void;
}

/**
 * Move traffic to `toRegion` through the runbook's steps. After each step a soak watches the target
 * region's alarms and probes; a breach puts the last good weights back and fails with the reason.
 */
export async function shiftProgressively(plan: ShiftPlan): Promise<void> {
  const { rb, fromRegion, toRegion, journal } = plan;
  const alarms = rb.health.alarms[toRegion] ?? [];
  const probes = rb.health.probes[toRegion] ?? [];
  let lastGood = 0;
  let already = 0;
  if (patched(SHIFT_FROM_CURRENT)) {
    // Start from where traffic is: a failback after a drill that stopped part-way must not first
    // move traffic back toward the region it is leaving.
    const now = (await short.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [fromRegion, toRegion] })).filter((r) => r.routing === 'weighted');
    already = now.length > 0 ? Math.min(...now.map((r) => r.share[toRegion] ?? 0)) : 0;
  }
  for (const percent of rb.dns.shift.steps) {
    const id = `${plan.prefix}-${percent}`;
    if (percent < 100 && percent <= already) {
      journal.skip(id, `${toRegion} already had ${already}% of traffic`);
      lastGood = already;
      plan.onPercent(already);
      continue;
    }
    await journal.run(id, async () => {
      // To its answer: a cancel that came while Route 53 took the change leaves the record saying where traffic is.
      const changes = await untilAnswered(patched(SHIFT_TO_ITS_ANSWER), () => long.shiftTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, fromRegion, toRegion, percent }));
      plan.onPercent(percent);
      journal.note(id, changes.map((c) => `${c.zone}: ${c.changed} record sets${c.changeId ? ` (${c.changeId})` : ''}`).join('; '));
      const policy = alarmPolicyOf(rb);
      const soak = await long.soak({
        region: toRegion,
        alarms,
        probes,
        // How INSUFFICIENT_DATA counts (healthy unless the runbook says breach; a breach in runs recorded before the patch).
        ...policy,
        durationMs: Math.round(rb.dns.shift.soak * plan.scale),
        intervalMs: Math.max(50, Math.round(rb.health.interval * plan.scale)),
      });
      if (soak.breaches.length > 0) {
        await long.shiftTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, fromRegion, toRegion, percent: lastGood });
        plan.onPercent(lastGood);
        journal.note(id, `reverted traffic to ${lastGood}% ${toRegion}`);
        throw ApplicationFailure.create({
          type: FailureType.HealthBreach,
          message: `health breach at ${percent}% in ${toRegion}: ${soak.breaches.join('; ')}; traffic reverted to ${lastGood}%`,
          nonRetryable: true,
        });
      }
      lastGood = percent;
    });
  }
}
