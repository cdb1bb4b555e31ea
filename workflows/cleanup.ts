import { chooseRetained, type CleanupChoice } from '../contracts/cleanup';
import type { RunStatus } from '../contracts/run';
import { databasesOf, dbIn } from '../runbooks/databases';
import { long, short } from './proxies';
import type { RunbookInput } from './trusted';
import { beginRun, Run } from './run';

export interface CleanupInput extends RunbookInput {
  reason: string;
  requestedBy: string;
  /** Delete what was retained at least this long ago (ms); absent: each database's `retainFor` (none: its instances stay). */
  olderThanMs?: number;
}

/**
 * Delete the RDS instances the runbook's failbacks and drills kept (renamed `<id>-old-…`, tagged retained),
 * each after a final snapshot that stays: find them in both regions, choose by age, snapshot, delete. It
 * asks no approval: it deletes only instances drover retired, and only after their data is in a snapshot.
 * Every choice, snapshot and deletion is in the run's audit trail.
 */
export async function cleanupRetained(input: CleanupInput): Promise<RunStatus> {
  const head = { kind: 'cleanup', mode: 'planned', fromRegion: '', targetRegion: '', reason: input.reason, requestedBy: input.requestedBy } as const;
  const { rb } = await beginRun(input, head);
  const regions = [rb.regions.primary, rb.regions.standby];
  const run = Run.open({
    rb,
    head: { ...head, fromRegion: rb.regions.primary, targetRegion: rb.regions.standby },
    notifyAs: 'cleanup',
    plan: [
      { id: 'find', title: `Find the instances failbacks and drills kept in ${regions.join(' and ')}` },
      { id: 'snapshot', title: 'Final snapshot of each instance to delete' },
      { id: 'delete', title: 'Delete each instance (its snapshot stays)' },
    ],
    gates: false,
    objectives: false,
    start: { detail: `cleanup of ${rb.name}'s retained instances: ${input.reason}`, after: { kind: 'cleanup', olderThanMs: input.olderThanMs } },
  });
  const { journal } = run;
  const line = (c: CleanupChoice) => `${c.identifier} (${c.region}): ${c.action === 'delete' ? 'delete' : 'keep'}, ${c.why}`;

  try {
    const choices = await journal.run('find', async () => {
      const now = Date.now();
      const all: CleanupChoice[] = [];
      for (const d of databasesOf(rb).filter((x) => x.engine !== 'aurora-global')) {
        for (const region of regions) {
          const found = await short.listRetained({ region, identifiers: [dbIn(rb, d, region)] });
          all.push(...chooseRetained(found, now, input.olderThanMs, d.retainFor));
        }
      }
      if (all.length === 0) journal.note('find', 'no retained instance');
      for (const c of all) journal.note('find', line(c));
      return all;
    });
    const doomed = choices.filter((c) => c.action === 'delete');
    if (doomed.length === 0) {
      journal.skip('snapshot', 'nothing to delete');
      journal.skip('delete', 'nothing to delete');
    } else {
      await journal.run('snapshot', async () => {
        await Promise.all(doomed.map(async (c) => {
          const snap = await long.snapshotInstance({ region: c.region, identifier: c.identifier, snapshotId: c.snapshot as string });
          journal.note('snapshot', `${c.identifier}: final snapshot ${snap.snapshotId} (${snap.status})`);
        }));
      });
      await journal.run('delete', async () => {
        await Promise.all(doomed.map(async (c) => {
          const out = await long.deleteRetained({ region: c.region, identifier: c.identifier });
          journal.note('delete', `${c.identifier}: ${out.action === 'deleted' ? 'deleted' : 'already gone'}; snapshot ${c.snapshot} stays`);
        }));
      });
    }
    const summary = (c: CleanupChoice) => ({ region: c.region, identifier: c.identifier, why: c.why, ...(c.snapshot ? { snapshot: c.snapshot } : {}) });
    return await run.complete({ after: { phase: 'completed', deleted: doomed.map(summary), kept: choices.filter((c) => c.action === 'keep').map(summary) } });
  } catch (err) {
    return run.fail(err);
  }
}
