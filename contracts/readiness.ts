/**
 * Readiness: whether a runbook's next failover (or, after one, its failback) would work, check by check. Pure: the
 * readiness workflow, its activities, the drill and the CLI share it (docs/readiness.md).
 */
import type { ClusterRecord } from './cluster-record';

/** Workflow type of a readiness evaluation, its schedule's id and the workflow id prefix of the evaluations it starts. */
export const READINESS_WORKFLOW_TYPE = 'readiness';
export function readinessScheduleId(runbook: string): string {
  return `readiness-${runbook}`;
}
/** Scheduled evaluations: Temporal appends the time of each to this id. */
export function scheduledReadinessWorkflowId(runbook: string): string {
  return `readiness-${runbook}-scheduled`;
}
/** An evaluation asked for with `drover check`, at `at` (to the millisecond: two checks in one second are two runs). */
export function checkWorkflowId(runbook: string, at: Date): string {
  return `readiness-${runbook}-check-${at.toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * A check's verdict. `not-ready`: the run would be refused or fail on it (a replica gone, an alarm missing, a
 * permission denied). `degraded`: the run would go ahead, weaker than the runbook promises (lag over its bound,
 * headroom capped, a drill too old, a schedule of another runbook copy). `ready`: nothing to do.
 */
export type Verdict = 'ready' | 'degraded' | 'not-ready';
export const VERDICTS: readonly Verdict[] = ['ready', 'degraded', 'not-ready'];

/** Which run the evaluation is for: the failover from the primary, or, with a failover in effect, the failback to it. */
export type Direction = 'failover' | 'failback';

/** One check: a stable id (`replica:orders`, `capacity:apps-east`), its verdict, why, and what fixes it. */
export interface CheckResult {
  id: string;
  title: string;
  verdict: Verdict;
  /** Why, one line per finding; for `ready`, what was found. */
  reasons: string[];
  /** What to do about it (not for `ready`). */
  fix?: string;
}

export interface ReadinessResult {
  runbook: string;
  /** The digest of the workers' copy of the runbook that was evaluated. */
  digest: string;
  direction: Direction;
  /** Why this direction: what showed a failover in effect (or none). */
  directionReason: string;
  evaluatedAt: string;
  verdict: Verdict;
  checks: CheckResult[];
  /**
   * What each of the runbook's clusters was at this evaluation (contracts/cluster-record.ts), both regions, for a
   * rebuild to compare with. Best effort: a record that could not be made is absent, and never changes a verdict.
   */
  clusters?: ClusterRecord[];
}

/** What a scheduled evaluation found changed since the one before it, and whether it said so. */
export interface ReadinessChange {
  /** The evaluation compared with (its workflow id), absent for the first. */
  previous?: string;
  /** `check: before -> after` per check whose verdict changed (a check that appeared or went: `none`). */
  changed: string[];
  overall?: { from: Verdict; to: Verdict };
  /** The SNS message id when a change was published; `notified: false` with `why` otherwise. */
  notified: boolean;
  messageId?: string;
  why?: string;
  /**
   * Each check's verdict as the topic's subscribers last heard it: this evaluation's when it published or had nothing
   * to tell, the previous one's when its publish failed (the next evaluation then tells the change again); absent when
   * nothing was ever heard (the schedule's first publish failed).
   */
  told?: Record<string, Verdict>;
}

/** What the readiness workflow returns. */
export interface ReadinessRun extends ReadinessResult {
  trigger: 'check' | 'schedule';
  change?: ReadinessChange;
}

/** The worst of some verdicts (ready when none). */
export function worst(verdicts: Iterable<Verdict>): Verdict {
  let w: Verdict = 'ready';
  for (const v of verdicts) if (VERDICTS.indexOf(v) > VERDICTS.indexOf(w)) w = v;
  return w;
}

/** The checks of an evaluation by id and verdict only (what change detection compares). */
export type Verdicts = { checks: Array<Pick<CheckResult, 'id' | 'verdict'>> };

/** Verdicts from a `told` record. */
export function toldChecks(told: Record<string, Verdict>): Verdicts {
  return { checks: Object.entries(told).map(([id, verdict]) => ({ id, verdict })) };
}

/** Each check whose verdict differs between `before` and `after`, as `id: before -> after` (`none` when absent), in a stable order. */
export function changedChecks(before: Verdicts | undefined, after: Verdicts): string[] {
  const was = new Map((before?.checks ?? []).map((c) => [c.id, c.verdict]));
  const now = new Map(after.checks.map((c) => [c.id, c.verdict]));
  const ids = [...new Set([...was.keys(), ...now.keys()])].sort();
  return ids.filter((id) => was.get(id) !== now.get(id)).map((id) => `${id}: ${was.get(id) ?? 'none'} -> ${now.get(id) ?? 'none'}`);
}

/**
 * For each check of the newest evaluation, when its verdict last changed: the time of the oldest evaluation in the
 * unbroken run of that verdict, newest first in `history`. `since` is undefined when the run reaches past `history`.
 */
export function lastChanged(history: Array<Verdicts & Pick<ReadinessResult, 'evaluatedAt'>>): Record<string, { verdict: Verdict; since?: string }> {
  const [newest] = history;
  const out: Record<string, { verdict: Verdict; since?: string }> = {};
  if (!newest) return out;
  for (const c of newest.checks) {
    let since: string | undefined = newest.evaluatedAt;
    let broken = false;
    for (const h of history.slice(1)) {
      const v = h.checks.find((x) => x.id === c.id)?.verdict;
      if (v !== c.verdict) {
        broken = true;
        break;
      }
      since = h.evaluatedAt;
    }
    out[c.id] = { verdict: c.verdict, since: broken ? since : undefined };
  }
  return out;
}

/** One evaluation as a report lists it: when, what it found, what changed, and the checks not ready at the time. */
export interface ReadinessRow {
  workflowId: string;
  evaluatedAt: string;
  trigger: 'check' | 'schedule';
  direction: Direction;
  verdict: Verdict;
  changed: string[];
  /** The checks not ready then: id, verdict, first reason. */
  failing: Array<{ id: string; verdict: Verdict; reason: string }>;
}

/** A report's rows of a runbook's evaluations (newest first, as `drover readiness` lists them). */
export function readinessRows(list: Array<{ workflowId: string; result: ReadinessRun }>): ReadinessRow[] {
  return list.map(({ workflowId, result: r }) => ({
    workflowId,
    evaluatedAt: r.evaluatedAt,
    trigger: r.trigger,
    direction: r.direction,
    verdict: r.verdict,
    changed: r.change?.changed ?? [],
    failing: r.checks.filter((c) => c.verdict !== 'ready').map((c) => ({ id: c.id, verdict: c.verdict, reason: c.reasons[0] ?? '' })),
  }));
}

/** Whether a workflow result is a readiness evaluation's record as drover writes it (a listing skips anything else). */
export function isReadinessRun(v: unknown): v is ReadinessRun {
  const r = v as ReadinessRun | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.runbook === 'string' &&
    typeof r.evaluatedAt === 'string' &&
    VERDICTS.includes(r.verdict) &&
    Array.isArray(r.checks) &&
    r.checks.every((c) => typeof c?.id === 'string' && VERDICTS.includes(c.verdict) && Array.isArray(c.reasons))
  );
}
