/**
 * What `drover cleanup` deletes: the RDS instances a runbook's failbacks and drills kept. Pure: the CLI
 * lists with it, the cleanup workflow decides with it.
 */
import { formatDuration } from './duration';

/** An instance a failback kept (renamed `<id>-old-…` and tagged retained), as read from RDS. */
export interface RetainedInstance {
  region: string;
  identifier: string;
  status: string;
  instanceClass?: string;
  /** When it was retired (epoch ms): its retained-at tag, else the time in its name, else its creation time. */
  retainedAt?: number;
  reason: string;
  deletionProtection: boolean;
}

/** An age as retained instances are counted: 6d23h from a day on (floored, so a boundary never reads as reached), else 3h05m or 42s. */
export function formatAge(ms: number): string {
  const day = 86_400_000;
  if (ms < day) return formatDuration(ms, { precision: 'seconds' });
  return `${Math.floor(ms / day)}d${String(Math.floor((ms % day) / 3_600_000)).padStart(2, '0')}h`;
}

/** What a cleanup decided about one retained instance. */
export interface CleanupChoice extends RetainedInstance {
  /** For `delete`: the final snapshot it takes first. */
  action: 'delete' | 'keep';
  why: string;
  snapshot?: string;
}

/**
 * Which retained instances a cleanup deletes, at `now`: those retained at least `olderThanMs` ago (else the
 * database's `retainFor`), except under deletion protection. Pure: the CLI lists with it, the workflow deletes with it.
 */
export function chooseRetained(found: RetainedInstance[], now: number, olderThanMs: number | undefined, retainFor: number | undefined): CleanupChoice[] {
  const limit = olderThanMs ?? retainFor;
  const by = olderThanMs !== undefined ? '--older-than' : 'retainFor';
  return found.map((r): CleanupChoice => {
    const age = r.retainedAt === undefined ? undefined : Math.max(0, now - r.retainedAt);
    const kept = (why: string): CleanupChoice => ({ ...r, action: 'keep', why });
    if (limit === undefined) return kept('no retainFor in the runbook and no --older-than');
    if (age === undefined) return kept('when it was retained is unknown');
    if (age < limit) return kept(`retained ${formatAge(age)} ago, younger than ${formatAge(limit)} (${by})`);
    if (r.deletionProtection) return kept('deletion protection is on');
    return { ...r, action: 'delete', why: `retained ${formatAge(age)} ago, at least ${formatAge(limit)} (${by})`, snapshot: `${r.identifier}-final` };
  });
}

