/**
 * The per-runbook lock every run takes before it changes anything (one run per runbook, drills yield to real
 * runs). It is a long-lived workflow (`runbookLock`, id `lock-<runbook>`) taken with update-with-start: a
 * Workflow Update is applied by the workflow one at a time and its answer is durable, so two runs started within
 * milliseconds of each other are ordered, unlike the visibility list (eventually consistent, which Temporal's
 * docs advise against for business logic). Pure: the workflow, the activities and the tests share it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** A run that holds, or asks for, a runbook's lock. */
export interface LockHolder {
  workflowId: string;
  runId: string;
  /** The run's kind (`failover`, `failback`, `promote`, `rebuild`, `drill`): what a refusal names. */
  kind: string;
  /** A drill yields the lock to any real run that asks for it. */
  drill: boolean;
}

export interface AcquireArgs {
  holder: LockHolder;
  /**
   * The holder the asker found closed (its run ended without releasing: a terminated run, a worker that
   * lost the release): the lock passes only when it is still held by exactly that run.
   */
  stale?: LockHolder;
}

/** The lock's answer: granted (naming a drill it took the lock from, which the asker stops), or who holds it. */
export type LockAnswer = { granted: true; preempted?: LockHolder } | { granted: false; heldBy: LockHolder };

/** Workflow id of a runbook's lock. */
export function lockWorkflowId(runbook: string): string {
  return `lock-${runbook}`;
}

export const LOCK_WORKFLOW_TYPE = 'runbookLock';

/** Take the lock (idempotent for the run that holds it). */
export const acquireLockUpdate = defineUpdate<LockAnswer, [AcquireArgs]>('acquire');
/** Give it back: only the run that holds it can; true when it was held by that run. */
export const releaseLockUpdate = defineUpdate<boolean, [LockHolder]>('release');
/** Who holds it now. */
export const lockHolderQuery = defineQuery<LockHolder | null>('holder');

export function sameRun(a: LockHolder | undefined | null, b: LockHolder | undefined | null): boolean {
  return !!a && !!b && a.workflowId === b.workflowId && a.runId === b.runId;
}

/**
 * What the lock answers `ask` while `held` holds it: free, the asker itself (a retried acquire), or a holder the
 * asker proved closed, is granted; a drill gives way to a real run (which must stop the drill before it changes
 * anything); anything else is refused with the holder.
 */
export function decideLock(held: LockHolder | undefined, ask: AcquireArgs): { answer: LockAnswer; holder: LockHolder | undefined } {
  if (!held || sameRun(held, ask.holder) || sameRun(held, ask.stale)) return { answer: { granted: true }, holder: ask.holder };
  if (held.drill && !ask.holder.drill) return { answer: { granted: true, preempted: held }, holder: ask.holder };
  return { answer: { granted: false, heldBy: held }, holder: held };
}

/** Whether `value` is a well-formed holder (the lock's updates refuse anything else before it is recorded). */
export function isLockHolder(value: unknown): value is LockHolder {
  const h = value as LockHolder;
  return !!h && typeof h === 'object' && typeof h.workflowId === 'string' && h.workflowId !== '' && typeof h.runId === 'string' && h.runId !== '' && typeof h.kind === 'string' && typeof h.drill === 'boolean';
}

/** How a refusal reads: "a failback of apnakart is running (failback-apnakart)". */
export function describeHolder(h: LockHolder, runbook: string): string {
  return h.drill ? `a drill of ${runbook} is running (${h.workflowId})` : `a ${h.kind} of ${runbook} is running (${h.workflowId})`;
}
