import { ApplicationFailure } from '@temporalio/workflow';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from './failures';
import { long } from './proxies';
import type { Journal } from './journal';

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
  for (const percent of rb.dns.shift.steps) {
    const id = `${plan.prefix}-${percent}`;
    await journal.run(id, async () => {
      const changes = await long.shiftTraffic({ hostedZone: rb.dns.hostedZone, records: rb.dns.records, fromRegion, toRegion, percent });
      plan.onPercent(percent);
      journal.note(id, changes.map((c) => `${c.zone}: ${c.changed} record sets${c.changeId ? ` (${c.changeId})` : ''}`).join('; '));
      const soak = await long.soak({
        region: toRegion,
        alarms,
        probes,
        durationMs: Math.round(rb.dns.shift.soak * plan.scale),
        intervalMs: Math.max(50, Math.round(rb.health.interval * plan.scale)),
      });
      if (soak.breaches.length > 0) {
        await long.shiftTraffic({ hostedZone: rb.dns.hostedZone, records: rb.dns.records, fromRegion, toRegion, percent: lastGood });
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
