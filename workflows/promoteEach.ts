import { ApplicationFailure, ChildWorkflowFailure, executeChild, ParentClosePolicy } from '@temporalio/workflow';
import { childIdFor, dbIn, worstRpo, type NamedDatabase } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import type { Journal } from './journal';
import { childStatus, failureMessage, failureType } from './failure';
import { promoteReplica, type PromoteInput, type PromoteResult } from './promoteReplica';
import type { DatabaseOutcome, RunStatus } from '../contracts/run';

/** A note about one database: unprefixed when the runbook has only one (as before `databases`). */
export function aboutDatabase(count: number): (d: NamedDatabase, text: string) => string {
  return (d, text) => (count === 1 ? text : `${d.name}: ${text}`);
}

/**
 * The promotion runbook as one child per database (`<parent>-<suffix>[-<name>]`), all in parallel
 * toward `input.toRegion`, each run to its end: none is cut short by another's failure. The children's
 * notes go to the parent's step; each database's outcome and the worst RPO go to `status`. Any failure
 * fails the step (with several databases: naming which failed and which were promoted).
 */
export async function promoteEach(opts: {
  dbs: NamedDatabase[];
  /** How many databases the runbook has (one: the child id and input as before `databases`). */
  total: number;
  parentId: string;
  suffix: string;
  /** The child's input: the runbook as the parent resolved it. */
  input: Omit<PromoteInput, 'database'> & { runbook: Runbook };
  journal: Journal;
  step: string;
  status: RunStatus;
}): Promise<PromoteResult[]> {
  const { dbs, total, input, journal, step, status } = opts;
  const single = total === 1;
  const about = aboutDatabase(total);
  const settled = await Promise.allSettled(
    dbs.map((d) =>
      executeChild(promoteReplica, {
        workflowId: childIdFor(opts.parentId, opts.suffix, d, total),
        // A parent terminated (never the way to stop a run: cancel it) asks the promotion to cancel, so a fence
        // it holds is compensated rather than left by a child killed mid-fence.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ ...input, ...(single ? {} : { database: d.name }) }],
      }),
    ),
  );
  const outcomes: DatabaseOutcome[] = settled.map((r, i) => {
    const d = dbs[i];
    const child = r.status === 'fulfilled' ? r.value : childStatus(r.reason);
    for (const s of child?.steps ?? []) if (s.notes.length > 0) journal.note(step, about(d, `${s.title}: ${s.notes.join('; ')}`));
    if (child?.auditError) journal.note(step, about(d, `promotion child: ${child.auditError}`));
    if (r.status === 'fulfilled') return { name: d.name, identifier: r.value.newWriter.identifier, region: input.toRegion, promoted: true, rpo: r.value.rpo, writerEndpoint: r.value.newWriter.endpoint };
    return { ...(child?.databases?.[0] ?? { identifier: dbIn(input.runbook, d, input.toRegion), region: input.toRegion, promoted: false }), name: d.name, error: failureMessage(r.reason) };
  });
  status.databases = outcomes;
  const worst = worstRpo(outcomes.map((o) => o.rpo));
  if (worst) status.rpo = single ? worst : { ...worst, note: `worst of ${outcomes.length} databases, ${outcomes.find((o) => o.rpo === worst)?.name}: ${worst.note}` };

  const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    if (single) throw failed[0];
    const promoted = outcomes.filter((o) => o.promoted).map((o) => o.name);
    throw ApplicationFailure.create({
      type: failureType(failed[0] instanceof ChildWorkflowFailure ? failed[0].cause : failed[0]) ?? FailureType.InvalidState,
      message: `${failed.length} of ${outcomes.length} ${opts.suffix === 'switchover' ? 'switchovers' : 'promotions'} failed: ${outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error}`).join('; ')}; promoted: ${promoted.length > 0 ? promoted.join(', ') : 'none'}`,
      nonRetryable: true,
    });
  }
  return settled.map((r) => (r as PromiseFulfilledResult<PromoteResult>).value);
}
