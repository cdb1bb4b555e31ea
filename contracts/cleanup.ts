/**
 * What `drover cleanup` deletes: the RDS instances a runbook's failbacks and drills kept. Pure: the CLI
 * lists with it, the cleanup workflow decides with it.
 */

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
  /** Its read replicas: deleting it would promote them. */
  readReplicas: string[];
}

/** An age as retained instances are counted, floored so that a limit never reads as reached before it is: 6d23h, 3h05m, 4m09s, 42s. */
export function formatAge(ms: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const [d, h, m, s] = [Math.floor(ms / 86_400_000), Math.floor(ms / 3_600_000) % 24, Math.floor(ms / 60_000) % 60, Math.floor(ms / 1000) % 60];
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(s)}s`;
  return `${s}s`;
}

/** What a cleanup decided about one retained instance. */
export interface CleanupChoice extends RetainedInstance {
  action: 'delete' | 'keep';
  why: string;
}

/**
 * Which retained instances a cleanup deletes, at `now`: those retained at least `olderThanMs` ago (else the
 * database's `retainFor`). Kept, saying why: no limit, an unknown retirement time, younger, deletion
 * protection, read replicas (deleting the instance would promote them), or any status but available (RDS
 * snapshots only an available instance: a stopped one must be started, a failed one deleted by hand).
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
    if (r.readReplicas.length > 0) return kept(`it has read replicas (${r.readReplicas.join(', ')}): deleting it would promote them`);
    if (r.status !== 'available') return kept(`it is ${r.status}: only an available instance can be snapshotted before its deletion`);
    return { ...r, action: 'delete', why: `retained ${formatAge(age)} ago, at least ${formatAge(limit)} (${by})` };
  });
}
