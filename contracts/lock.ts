/**
 * The per-runbook lock every run takes before it changes anything (one run per runbook, drills yield to real
 * runs). It is a long-lived workflow (`runbookLock`, id `lock-<runbook>`) taken with update-with-start: a
 * Workflow Update is applied by the workflow one at a time and its answer is durable, so two runs started within
 * milliseconds of each other are ordered, unlike the visibility list (eventually consistent, which Temporal's
 * docs advise against for business logic). Pure: the workflow, the activities and the tests share it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { DRILL_WORKFLOW_TYPE, RUN_KINDS, runWorkflowId } from './ids';

/** A run that holds, or asks for, a runbook's lock. Its identity is its workflow id: Temporal runs at most one execution of an id at a time. */
export interface LockHolder {
  workflowId: string;
  /** The run that asked (for the record: a reset run, or a failover run again, is the same holder). */
  runId: string;
  /** The run's kind (`failover`, `failback`, `promote`, `rebuild`, `cleanup`, `drill`): what a refusal names. */
  kind: string;
  /** A drill yields the lock to any real run that asks for it. */
  drill: boolean;
}

export interface AcquireArgs {
  holder: LockHolder;
}

/**
 * The lock's answer. Granted: `drills` names every drill the lock was taken from (the asker stops those still
 * running before it changes anything; named again on every grant to a real run, so a retried acquire or the
 * next real run after one cancelled while it waited still stops them). Refused: who holds it.
 */
export type LockAnswer = { granted: true; drills: string[] } | { granted: false; heldBy: LockHolder };

/** What the lock keeps: its holder, and the drills real runs took it from (the last few). */
export interface LockState {
  holder?: LockHolder;
  displaced: string[];
}

/** How many displaced drills the lock remembers (a real run stops those of them still running). */
export const DISPLACED_KEPT = 10;

/** Workflow id of a runbook's lock, and the runbook a lock's id names. */
export function lockWorkflowId(runbook: string): string {
  return `lock-${runbook}`;
}
export function runbookOfLock(workflowId: string): string {
  return workflowId.replace(/^lock-/, '');
}

export const LOCK_WORKFLOW_TYPE = 'runbookLock';

/** Take the lock (granted again to the run that holds it). */
export const acquireLockUpdate = defineUpdate<LockAnswer, [AcquireArgs]>('acquire');
/** Who holds it now (a holder whose run has ended keeps it until the next run asks). */
export const lockHolderQuery = defineQuery<LockHolder | null>('holder');

/**
 * What the lock answers `ask` while it keeps `state`; `holderLive` says whether the current holder's run is still
 * a running drover run (read by the lock itself, never taken from the asker). Free, the asker itself (a retried
 * acquire, a run of the same workflow id), or a holder whose run has ended: granted. A drill gives way to a real
 * run. Anything else: refused, naming the holder.
 */
export function decideLock(state: LockState, ask: AcquireArgs, holderLive: boolean): { answer: LockAnswer; state: LockState } {
  const held = state.holder;
  const real = !ask.holder.drill;
  const drills = (displaced: string[]) => (real ? displaced : []);
  if (!held || held.workflowId === ask.holder.workflowId || !holderLive) {
    return { answer: { granted: true, drills: drills(state.displaced) }, state: { holder: ask.holder, displaced: state.displaced } };
  }
  if (held.drill && real) {
    const displaced = [...state.displaced.filter((id) => id !== held.workflowId), held.workflowId].slice(-DISPLACED_KEPT);
    return { answer: { granted: true, drills: displaced }, state: { holder: ask.holder, displaced } };
  }
  return { answer: { granted: false, heldBy: held }, state };
}

/** Whether `value` is shaped as a holder. */
export function isLockHolder(value: unknown): value is LockHolder {
  const h = value as LockHolder;
  return !!h && typeof h === 'object' && typeof h.workflowId === 'string' && h.workflowId !== '' && typeof h.runId === 'string' && h.runId !== '' && typeof h.kind === 'string' && typeof h.drill === 'boolean';
}

/**
 * Whether `value` may hold `runbook`'s lock: a real run under its own workflow id (`failback-apnakart`), or a drill
 * of the runbook (`drill-apnakart-…`). The lock refuses anything else before it is recorded.
 */
export function mayHold(value: unknown, runbook: string): value is LockHolder {
  if (!isLockHolder(value)) return false;
  if (value.drill) return value.kind === DRILL_WORKFLOW_TYPE && value.workflowId.startsWith(`drill-${runbook}-`);
  return (RUN_KINDS as readonly string[]).includes(value.kind) && value.workflowId === runWorkflowId(value.kind as (typeof RUN_KINDS)[number], runbook);
}

/** The state a lock starts with: what it carried over (continue-as-new), when well formed; else empty. */
export function lockStateFrom(value: unknown, runbook: string): LockState {
  const s = value as Partial<LockState> | undefined;
  const displaced = Array.isArray(s?.displaced) ? s.displaced.filter((id): id is string => typeof id === 'string').slice(-DISPLACED_KEPT) : [];
  return { ...(mayHold(s?.holder, runbook) ? { holder: s.holder } : {}), displaced };
}

/** How a refusal reads: "a failback of apnakart is running (failback-apnakart)". */
export function describeHolder(h: LockHolder, runbook: string): string {
  return h.drill ? `a drill of ${runbook} is running (${h.workflowId})` : `a ${h.kind} of ${runbook} is running (${h.workflowId})`;
}
