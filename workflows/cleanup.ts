import { ApplicationFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import { chooseRetained, type CleanupChoice } from '../contracts/cleanup';
import { runTag } from '../contracts/ids';
import type { RunStatus } from '../contracts/run';
import { GATES_OF } from '../runbooks/approvers';
import { databasesOf, dbIn } from '../runbooks/databases';
import { FailureType } from '../contracts/failures';
import { failureMessage, failureType } from './failure';
import type { Gates } from './gates';
import { long, short } from './proxies';
import type { RunbookInput } from './trusted';
import { beginRun, Run } from './run';

export interface CleanupInput extends RunbookInput {
  reason: string;
  requestedBy: string;
  /** Delete what was retained at least this long ago (ms); absent: each database's `retainFor` (none: its instances stay). */
  olderThanMs?: number;
  /**
   * The instances the requester was shown as to be deleted: only these may be deleted, and only if the run
   * selects them too (the workers' account and clock decide again). Empty: nothing is deleted.
   */
  selected: Array<{ region: string; identifier: string }>;
  options?: { approvalTimeoutMs?: number };
}

/**
 * Delete the RDS instances the runbook's failbacks and drills kept (renamed `<id>-old-…`, tagged retained):
 * find them in both regions and choose by age, the `cleanup` gate when the runbook lists it, then for each
 * instance on its own a final snapshot (it stays) and the deletion. One instance failing does not stop the
 * others; the run fails at the end naming each. Every choice, snapshot and deletion is in the audit trail.
 */
export async function cleanupRetained(input: CleanupInput): Promise<RunStatus> {
  const info = workflowInfo();
  const head = { kind: 'cleanup', mode: 'planned', fromRegion: '', targetRegion: '', reason: input.reason, requestedBy: input.requestedBy } as const;
  const { rb } = await beginRun(input, head);
  const regions = [rb.regions.primary, rb.regions.standby];
  const tag = runTag(info.runId);
  const run = Run.open({
    rb,
    head: { ...head, fromRegion: rb.regions.primary, targetRegion: rb.regions.standby },
    notifyAs: 'cleanup',
    plan: [
      { id: 'find', title: `Find the instances failbacks and drills kept in ${regions.join(' and ')}` },
      { id: 'gate:cleanup', title: 'Approval: cleanup', gate: true },
      { id: 'delete', title: 'Final snapshot, then deletion, of each instance (its snapshot stays)' },
    ],
    gates: { context: { requestedBy: input.requestedBy } },
    objectives: false,
    start: { detail: `cleanup of ${rb.name}'s retained instances: ${input.reason}`, after: { kind: 'cleanup', olderThanMs: input.olderThanMs, selected: input.selected } },
  });
  const { journal } = run;
  const gates = run.gates as Gates;
  const approvalTimeout = input.options?.approvalTimeoutMs ?? 60 * 60_000;
  const deleted: Array<{ region: string; identifier: string; why: string; snapshot: string }> = [];
  const shown = (c: CleanupChoice) => (input.selected ?? []).some((s) => s.region === c.region && s.identifier === c.identifier);

  try {
    // Who asked: verified here, before anything is done, when the cleanup gate forbids self-approval.
    if (gates.checksRequester()) await gates.start(GATES_OF.cleanup, approvalTimeout);

    const choices = await journal.run('find', async () => {
      const now = Date.now();
      const all: CleanupChoice[] = [];
      for (const d of databasesOf(rb).filter((x) => x.engine !== 'aurora-global')) {
        for (const region of regions) {
          const found = await short.listRetained({ region, identifiers: [dbIn(rb, d, region)] });
          all.push(...chooseRetained(found, now, input.olderThanMs, d.retainFor).map((c): CleanupChoice => (c.action === 'delete' && !shown(c) ? { ...c, action: 'keep', why: `not in the list the requester was shown (${c.why})` } : c)));
        }
      }
      for (const s of input.selected ?? []) {
        if (!all.some((c) => c.region === s.region && c.identifier === s.identifier)) journal.note('find', `${s.identifier} (${s.region}): shown to the requester, not found retained by this run: left alone`);
      }
      if (all.length === 0) journal.note('find', 'no retained instance');
      for (const c of all) journal.note('find', `${c.identifier} (${c.region}): ${c.action}, ${c.why}`);
      return all;
    });
    const doomed = choices.filter((c) => c.action === 'delete');
    const summary = (c: CleanupChoice) => ({ region: c.region, identifier: c.identifier, why: c.why });
    if (doomed.length === 0) {
      journal.skip('gate:cleanup', 'nothing to delete');
      journal.skip('delete', 'nothing to delete');
      return await run.complete({ after: { phase: 'completed', deleted: [], kept: choices.map(summary) } });
    }

    await gates.step(journal, 'cleanup', `delete ${doomed.length} retained instance${doomed.length === 1 ? '' : 's'} of ${rb.name}, each after a final snapshot: ${doomed.map((c) => `${c.identifier} (${c.region})`).join(', ')}: ${input.reason}`, approvalTimeout);

    await journal.run('delete', async () => {
      // Each instance on its own: a failure (a stuck snapshot, a refused deletion) leaves the others to finish.
      const outcomes = await Promise.allSettled(
        doomed.map(async (c) => {
          const snapshotId = `${c.identifier}-final-${tag}`;
          const snap = await long.snapshotInstance({ region: c.region, identifier: c.identifier, snapshotId });
          journal.note('delete', `${c.identifier}: final snapshot ${snap.snapshotId} (${snap.status})`);
          const asked = await short.requestDeleteRetained({ region: c.region, identifier: c.identifier, snapshotId });
          journal.note('delete', `${c.identifier}: ${asked.action === 'requested' ? 'deletion requested' : 'already gone'}`);
          await long.waitDeleted({ region: c.region, identifier: c.identifier });
          journal.note('delete', `${c.identifier}: deleted; snapshot ${snapshotId} stays`);
          deleted.push({ ...summary(c), snapshot: snapshotId });
        }),
      );
      const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ c: doomed[i], err: o.reason as unknown }] : []));
      // A cancelled run ends cancelled, not as a failed deletion.
      const cancelled = failed.find((f) => isCancellation(f.err));
      if (cancelled) throw cancelled.err;
      if (failed.length > 0) {
        throw ApplicationFailure.create({
          type: failureType(failed[0].err) ?? FailureType.InvalidState,
          message: `${failed.length} of ${doomed.length} not deleted: ${failed.map((f) => `${f.c.identifier} (${f.c.region}): ${failureMessage(f.err)}`).join('; ')}`,
          nonRetryable: true,
        });
      }
    });
    return await run.complete({ after: { phase: 'completed', deleted, kept: choices.filter((c) => c.action === 'keep').map(summary) } });
  } catch (err) {
    // What was deleted before the failure, in the record and the trail's run.end.
    return run.fail(err, { compensations: () => deleted.map((d) => `deleted ${d.identifier} (${d.region}); snapshot ${d.snapshot} stays`) });
  }
}
