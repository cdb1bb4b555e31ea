/**
 * The per-runbook lock every run takes before it changes anything (one run per runbook, drills yield to real
 * runs). It is a long-lived workflow (`runbookLock`, id `lock-<runbook>`) taken with update-with-start: a
 * Workflow Update is applied by the workflow one at a time and its answer is durable, so two runs started within
 * milliseconds of each other are ordered, unlike the visibility list (eventually consistent, which Temporal's
 * docs advise against for business logic). Pure: the workflow, the activities and the tests share it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from './ids';

/** A run that holds, or asks for, a runbook's lock. Its identity is its workflow id: Temporal runs at most one execution of an id at a time. */
export interface LockHolder {
  workflowId: string;
  /** The run that asked (for the record: a reset run, or a failover run again, is the same holder). */
  runId: string;
  /** The run's kind (`failover`, `failback`, `promote`, `rebuild`, `cleanup`, `drill`): what a refusal names. */
  kind: string;
  /** A drill yields the lock to any real run that asks for it. */
  drill: boolean;
  /** A failover's mode, as its input says (a drill's hand-over needs it: an unplanned failover resumes without the old primary). */
  mode?: string;
  /**
   * Set by the lock when this run was terminated (or timed out) and the children it asked to cancel still run: it
   * holds the runbook until they have closed (since lock-children-v1). A refusal names them.
   */
  children?: string[];
}

/** Who asks: the lock reads the rest (kind, drill, run, runbook) from Temporal, never from the message. */
export interface AcquireArgs {
  workflowId: string;
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
 * What the lock answers `asker` (read from Temporal: a running drover run of the runbook) while it keeps `state`,
 * whose holder the lock has just read again (undefined: free, or its run has ended or is no holder). Free, or the
 * asker's own workflow id (a retried acquire, a reset run, the same failover run again): granted. A drill gives way
 * to a real run. Anything else: refused, naming the holder.
 */
export function decideLock(state: LockState, asker: LockHolder): { answer: LockAnswer; state: LockState } {
  const held = state.holder;
  const real = !asker.drill;
  if (!held || held.workflowId === asker.workflowId) {
    return { answer: { granted: true, drills: real ? state.displaced : [] }, state: { holder: asker, displaced: state.displaced } };
  }
  if (held.drill && real) {
    const displaced = [...state.displaced.filter((id) => id !== held.workflowId), held.workflowId].slice(-DISPLACED_KEPT);
    return { answer: { granted: true, drills: displaced }, state: { holder: asker, displaced } };
  }
  return { answer: { granted: false, heldBy: held }, state };
}

/** Whether `value` is shaped as a holder (what the lock carries over when it continues as new). */
export function isLockHolder(value: unknown): value is LockHolder {
  const h = value as LockHolder;
  return !!h && typeof h === 'object' && typeof h.workflowId === 'string' && h.workflowId !== '' && typeof h.runId === 'string' && h.runId !== '' && typeof h.kind === 'string' && typeof h.drill === 'boolean';
}

/** Whether `value` is an acquire's argument (the lock refuses anything else before it is recorded). */
export function isAcquireArgs(value: unknown): value is AcquireArgs {
  const a = value as AcquireArgs;
  return !!a && typeof a === 'object' && typeof a.workflowId === 'string' && a.workflowId !== '' && a.workflowId.length <= 1000;
}

/**
 * The state a lock starts with: what it carried over (continue-as-new), when well formed; else empty. A holder
 * carried over is read again before it refuses anyone, so a forged start argument holds nothing.
 */
export function lockStateFrom(value: unknown, runbook: string): LockState {
  const s = value as Partial<LockState> | undefined;
  // Only drills of this runbook: a real run stops the displaced drills, and must never be told to stop anything else.
  const displaced = Array.isArray(s?.displaced) ? s.displaced.filter((id): id is string => typeof id === 'string' && id.startsWith(`drill-${runbook}-`)).slice(-DISPLACED_KEPT) : [];
  return { ...(isLockHolder(s?.holder) ? { holder: s.holder } : {}), displaced };
}

/** The kind of run a drover workflow type is (a lock's holder is one of these), by the CLI's names. */
export function kindOfWorkflowType(type: string): string | undefined {
  return Object.entries(WORKFLOW_TYPES).find(([, t]) => t === type)?.[0];
}

/** How a refusal reads: "a failback of apnakart is running (failback-apnakart)". */
export function describeHolder(h: LockHolder, runbook: string): string {
  if (h.children && h.children.length > 0) {
    // The way out when a child never closes (docs/runs.md): terminate it too, which skips its compensation.
    return `a ${h.drill ? 'drill' : h.kind} of ${runbook} (${h.workflowId}) was terminated, and the runs it asked to cancel still run, compensating: ${h.children.join(', ')}`;
  }
  return h.drill ? `a drill of ${runbook} is running (${h.workflowId})` : `a ${h.kind} of ${runbook} is running (${h.workflowId})`;
}
