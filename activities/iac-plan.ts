import picomatch from 'picomatch';
import type { PlanSummary } from '../contracts/run';

// The plan rules of a cluster rebuild, pure functions over what OpenTofu prints (no process, no file, no
// Temporal): how a saved plan reads, which of its destroys allowDestroy refuses, and whether a fresh plan
// stays within the approved one. The OpenTofu runner that feeds them is activities/iac.ts.

/** A plan as read from `show -json`, plus what the re-plan check needs beyond PlanSummary. */
export interface ReadPlan {
  summary: PlanSummary;
  /** Addresses replaced only because a failed or interrupted apply left them tainted. */
  taintedReplacements: Set<string>;
}

/** What `show -json <plan>` holds that drover reads. */
export interface ShowJson {
  resource_changes?: { address: string; action_reason?: string; change: { actions: string[] } }[];
  output_changes?: Record<string, { actions: string[] }>;
}

/** PlanSummary from `show -json`: counts, destroys and the changes that do something. */
export function summarizePlan(show: ShowJson, planFile: string, planSha256: string): ReadPlan {
  const summary: PlanSummary = { add: 0, change: 0, destroy: 0, replace: 0, toDestroy: [], changes: [], planFile, planSha256, noChanges: true };
  const taintedReplacements = new Set<string>();
  for (const rc of show.resource_changes ?? []) {
    const actions = rc.change.actions;
    if (actions.every((a) => a === 'no-op' || a === 'read')) continue;
    summary.changes.push({ address: rc.address, actions });
    const deletes = actions.includes('delete');
    const creates = actions.includes('create');
    if (deletes && creates) summary.replace += 1;
    else if (deletes) summary.destroy += 1;
    else if (creates) summary.add += 1;
    else if (actions.includes('update')) summary.change += 1;
    if (deletes) summary.toDestroy.push(rc.address);
    if (deletes && creates && rc.action_reason === 'replace_because_tainted') taintedReplacements.add(rc.address);
  }
  // An output-only change still needs an apply to reach the state.
  const outputChanges = Object.values(show.output_changes ?? {}).some((o) => o.actions.some((a) => a !== 'no-op'));
  summary.noChanges = summary.changes.length === 0 && !outputChanges;
  return { summary, taintedReplacements };
}

/**
 * The fresh plan's changes the approved plan does not cover (same address, same actions). A tainted
 * replacement of an address the approved plan created is covered: it finishes that create.
 */
export function uncovered(fresh: ReadPlan, approved: PlanSummary): string[] {
  const approvedActions = new Map(approved.changes.map((c) => [c.address, c.actions.join('+')]));
  return fresh.summary.changes
    .filter((c) => {
      const was = approvedActions.get(c.address);
      if (was === c.actions.join('+')) return false;
      return !(was === 'create' && fresh.taintedReplacements.has(c.address));
    })
    .map((c) => `${c.address} would ${c.actions.join('+')} (approved: ${approvedActions.get(c.address) ?? 'no change'})`);
}

/** Addresses matching none of the globs. `[` is literal so `aws_instance.web[0]` and `...web[*]` read as written. */
export function refusedDestroys(addresses: string[], allowDestroy: string[]): string[] {
  const matchers = allowDestroy.map((g) => picomatch(g, { nobracket: true, nonegate: true, noextglob: true, bash: true, dot: true }));
  return addresses.filter((a) => !allowDestroy.includes(a) && !matchers.some((m) => m(a)));
}
