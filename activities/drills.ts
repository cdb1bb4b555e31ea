import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ScheduleNotFoundError, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import ms from 'ms';
import type { DrillWindow, Runbook, Weekday } from '../runbooks/schema';
import { DRILL_WORKFLOW_TYPE, MEMO_RUNBOOK, RUN_KINDS, runWorkflowId } from '../contracts/ids';
import { acquireLockUpdate, kindOfWorkflowType, LOCK_WORKFLOW_TYPE, lockHolderQuery, lockWorkflowId, type AcquireArgs, type LockAnswer, type LockHolder } from '../contracts/lock';
import { FailureType } from '../contracts/failures';
import { drillPreemptedSignal } from '../contracts/run';

const DAY_MS = 86_400_000;
/** Statuses a run never leaves (a paused run is not one: it resumes). */
const ENDED: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT']);
const WEEKDAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The wall clock in `timeZone` at instant `t`: its calendar date (as a UTC midnight) and minute of the day. */
function wallClock(t: number, timeZone: string): { date: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? '0');
  return { date: Date.UTC(get('year'), get('month') - 1, get('day')), minute: get('hour') * 60 + get('minute') + get('second') / 60 };
}

/** How far `timeZone`'s wall clock is ahead of UTC at instant `t`, in ms. */
function offsetAt(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  return w.date + w.minute * 60_000 - t;
}

const minuteOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/**
 * The instant a window opens on local date `date` (a UTC midnight): the first instant whose wall clock on that
 * date reads `from` or later. When a daylight-saving jump skips `from` (01:00 on a spring-forward night in
 * London), that is the jump itself; when `from` happens twice (autumn), the first time.
 */
function opensAt(date: number, fromMinute: number, timeZone: string): number | undefined {
  const wall = date + fromMinute * 60_000;
  // The zone's offset on either side of that wall time: at most two around a transition.
  const candidates = [...new Set([offsetAt(wall - DAY_MS / 2, timeZone), offsetAt(wall + DAY_MS / 2, timeZone), offsetAt(wall, timeZone)])].map((o) => wall - o);
  const valid = candidates.filter((t) => {
    const w = wallClock(t, timeZone);
    return w.date === date && w.minute >= fromMinute;
  });
  return valid.length > 0 ? Math.min(...valid) : undefined;
}

/**
 * True when `at` falls inside one of the windows. A window opens when its zone's clock first reaches `from`
 * on one of its days and stays open for exactly `to` minus `from` (from inclusive, to exclusive), whatever
 * the clocks do in between: on a daylight-saving night a 01:00-02:00 window in Europe/London opens at the
 * jump and lasts one hour, rather than never opening in spring or lasting two hours in autumn.
 */
export function inDrillWindow(windows: DrillWindow[], at: Date): boolean {
  const t = at.getTime();
  return windows.some((w) => {
    const today = wallClock(t, w.timezone).date;
    // A window opened on the local day before may still be open (its length is elapsed time).
    return [today, today - DAY_MS].some((date) => {
      if (!w.days.includes(WEEKDAYS[new Date(date).getUTCDay()])) return false;
      const open = opensAt(date, minuteOf(w.from), w.timezone);
      return open !== undefined && t >= open && t < open + (minuteOf(w.to) - minuteOf(w.from)) * 60_000;
    });
  });
}

export function describeWindows(windows: DrillWindow[]): string {
  return windows.map((w) => `${w.days.join(',')} ${w.from}-${w.to} ${w.timezone}`).join('; ');
}

/**
 * Why a drill may not start yet after a real run of `kind` (workflow `id`) that closed at `closeTime`: the
 * cooldown lasts `cooldownMs` from the close (a drill at close + cooldown exactly is allowed). Undefined when
 * the run never closed or its cooldown is over.
 */
export function cooldownRefusal(kind: string, id: string, closeTime: Date | undefined, now: Date, cooldownMs: number): string | undefined {
  if (!(closeTime && now.getTime() - closeTime.getTime() < cooldownMs)) return undefined;
  const again = new Date(closeTime.getTime() + cooldownMs).toISOString();
  return `a real ${kind} (${id}) ended at ${closeTime.toISOString()}, less than the cooldown of ${ms(cooldownMs)} ago; drills are allowed again from ${again}`;
}

/**
 * Whether a worker polled task queue `queue` for workflow or activity tasks within the last minute (Temporal's
 * DescribeTaskQueue lists each poller with its last access time); false when it cannot be read in 5 s.
 */
export async function queuePolled(client: Client, queue: string, type: 'workflow' | 'activity'): Promise<boolean> {
  try {
    const out = await client.withDeadline(Date.now() + 5000, () =>
      client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: queue }, taskQueueType: type === 'workflow' ? 1 : 2 /* TASK_QUEUE_TYPE_WORKFLOW, _ACTIVITY */ }),
    );
    const now = Date.now();
    return (out.pollers ?? []).some((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return seconds > 0 && now - seconds * 1000 < 60_000;
    });
  } catch {
    return false;
  }
}

/**
 * Activities that look at other runs through Temporal: whether a drill may start, and stopping
 * drills when a real failover needs the region pair.
 */
export function createDrillActivities(temporal: () => Client) {
  async function runningDrills(runbook: string, except?: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const w of temporal().workflow.list({ query: `WorkflowType = '${DRILL_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'` })) {
      if (w.memo?.[MEMO_RUNBOOK] === runbook && w.workflowId !== except) ids.push(w.workflowId);
    }
    return ids;
  }

  /** Whether `workflowId` is a running drill of `runbook` (its type, and its memo when it carries one). */
  async function isRunningDrillOf(workflowId: string, runbook: string): Promise<boolean> {
    try {
      const d = await temporal().workflow.getHandle(workflowId).describe();
      const named = d.memo?.[MEMO_RUNBOOK];
      return d.status.name === 'RUNNING' && d.type === DRILL_WORKFLOW_TYPE && workflowId.startsWith(`drill-${runbook}-`) && (named === undefined || named === runbook);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  /**
   * What the run `workflowId`/`runId` closed without waiting for its children left running: the ids of its children
   * (and theirs: a drill's failover and its promotion) not ended yet, each read by the run id it was started with (a
   * later run under the same id is not this run's child). Only a run terminated or timed out closes so (drover's runs
   * wait for their children otherwise); its children, started with REQUEST_CANCEL, compensate after it closed. Empty
   * for a run still running, one that ended otherwise, or one not found.
   */
  async function leftRunning(workflowId: string, runId?: string): Promise<string[]> {
    let d;
    try {
      d = await temporal().workflow.getHandle(workflowId, runId).describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return [];
      throw e;
    }
    if (d.status.name !== 'TERMINATED' && d.status.name !== 'TIMED_OUT') return [];
    return childrenRunning(workflowId, d.runId, 2);
  }

  async function childrenRunning(workflowId: string, runId: string, depth: number): Promise<string[]> {
    const history = await temporal().workflow.getHandle(workflowId, runId).fetchHistory();
    const started = (history.events ?? []).map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution).filter((x) => !!x?.workflowId && !!x.runId);
    const open: string[] = [];
    for (const child of started) {
      const id = child?.workflowId ?? '';
      let c;
      try {
        c = await temporal().workflow.getHandle(id, child?.runId ?? undefined).describe();
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) continue;
        throw e;
      }
      // Not ended: running, or paused (it resumes).
      if (!ENDED.has(c.status.name)) open.push(id);
      if (depth > 1) open.push(...(await childrenRunning(id, c.runId, depth - 1)));
    }
    return open;
  }

  async function latest(workflowId: string): Promise<{ running: boolean; closeTime?: Date } | undefined> {
    try {
      const d = await temporal().workflow.getHandle(workflowId).describe();
      return { running: d.status.name === 'RUNNING', closeTime: d.closeTime };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  /** Send `acquire` to the runbook's lock, starting the lock first if it is not running (update-with-start). */
  async function askLock(runbook: string, args: AcquireArgs, taskQueue: string, updateId: string | undefined): Promise<LockAnswer> {
    const start = new WithStartWorkflowOperation(LOCK_WORKFLOW_TYPE, {
      workflowId: lockWorkflowId(runbook),
      taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ displaced: [] }],
    });
    // One update id per asking run: a retried activity finds its first update (Temporal answers a repeated id with
    // that update) instead of queueing another behind it.
    return temporal().workflow.executeUpdateWithStart(acquireLockUpdate, { args: [args], updateId, startWorkflowOperation: start });
  }

  return {
    /**
     * Take the runbook's lock for the run `workflowId` (contracts/lock.ts; the lock reads who that is). Idempotent: a
     * retried call is granted again. Refused at once (typed): a lock that runs where this deployment's workers do
     * not serve it (another task queue, or another workflow type under its id) would never answer; a run the lock
     * does not recognise as a running drover run of the runbook may not hold it.
     */
    async takeRunbook(input: { runbook: string; workflowId: string }): Promise<LockAnswer> {
      const taskQueue = Context.current().info.taskQueue;
      const id = lockWorkflowId(input.runbook);
      const lock = await temporal().workflow.getHandle(id).describe().catch((e: unknown) => {
        if (e instanceof WorkflowNotFoundError) return undefined;
        throw e;
      });
      if (lock?.status.name === 'RUNNING' && (lock.type !== LOCK_WORKFLOW_TYPE || lock.taskQueue !== taskQueue)) {
        throw ApplicationFailure.create({
          type: FailureType.InvalidState,
          nonRetryable: true,
          message: `the lock of ${input.runbook} (${id}) runs as ${lock.type} on task queue ${lock.taskQueue}, not as ${LOCK_WORKFLOW_TYPE} on ${taskQueue} where this worker serves it: no drover worker answers it. Once no run of ${input.runbook} is running, terminate it (temporal workflow terminate --workflow-id ${id}); the next run starts it again`,
        });
      }
      // One update id per attempt: a resend within an attempt is answered once, and an attempt after a failed one
      // (the lock could not read who asks in time: stored under that id) asks again instead of reading that failure.
      const { workflowExecution: run, attempt } = Context.current().info;
      try {
        return await askLock(input.runbook, { workflowId: input.workflowId }, taskQueue, run ? `acquire-${run.workflowId}-${run.runId}-${attempt}` : undefined);
      } catch (e) {
        // The lock refused who asks (not a drover run of the runbook asking): asking again would not change that.
        // Anything else (its read of the asker timed out) is retried.
        const cause = e instanceof WorkflowUpdateFailedError ? e.cause : undefined;
        if (cause instanceof ApplicationFailure && cause.type === FailureType.InvalidState) throw ApplicationFailure.create({ type: FailureType.InvalidState, nonRetryable: true, message: `the lock of ${input.runbook} refused ${input.workflowId}: ${cause.message}` });
        throw e;
      }
    },

    /**
     * The current run of `workflowId` as a holder of `runbook`'s lock: a top-level drover run (not a child: its parent
     * holds the runbook; not a cleanup, which takes none) of a drover run's workflow type (its kind, and whether it
     * is a drill, come from that type), on `taskQueue`, started for `runbook` (its input names it), and not ended.
     * `asking`: the run is asking right now (its takeRunbook activity is pending), so a workflow that merely exists
     * (a delayed start, a cron waiting) cannot be granted. Null for anything else, and for what cannot be read or
     * decoded. The lock asks this about whoever asks for it, and about its holder before it refuses anyone.
     */
    async runOf(input: { workflowId: string; runbook: string; taskQueue: string; asking?: boolean }): Promise<LockHolder | null> {
      const client = temporal();
      let d;
      try {
        d = await client.workflow.getHandle(input.workflowId).describe();
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) return null;
        throw e;
      }
      const kind = kindOfWorkflowType(d.type);
      if (!kind || kind === 'cleanup' || d.parentExecution || d.taskQueue !== input.taskQueue) return null;
      // Ended is final; a paused run is still the holder (it resumes). (A run terminated whose children still run: the
      // lock reads that with childrenLeft.)
      if (ENDED.has(d.status.name)) return null;
      if (input.asking && !(d.status.name === 'RUNNING' && (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'takeRunbook'))) return null;
      // A read that fails (Temporal unavailable, a deadline) throws and is retried: it never reads as "ended".
      const page = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId: input.workflowId, runId: d.runId }, maximumPageSize: 1 });
      const started = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
      let arg: { runbookRef?: { name?: unknown }; mode?: unknown } | undefined;
      try {
        [arg] = (await decodeArrayFromPayloads(client.options.loadedDataConverter, started?.input?.payloads)) as Array<typeof arg>;
      } catch {
        return null; // an input drover cannot decode is no drover run
      }
      // A top-level run names its runbook by reference (a runbook in its input is ignored: trusted.ts).
      if (arg?.runbookRef?.name !== input.runbook) return null;
      return { workflowId: input.workflowId, runId: d.runId, kind, drill: kind === DRILL_WORKFLOW_TYPE, ...(typeof arg.mode === 'string' ? { mode: arg.mode } : {}) };
    },

    /**
     * The children the run `workflowId`/`runId` left running when it was terminated or timed out (REQUEST_CANCEL: they
     * compensate after it closed), and theirs; empty when it ended otherwise, still runs, or is not found. The lock
     * holds the runbook for such a run until they have ended.
     */
    async childrenLeft(input: { workflowId: string; runId: string }): Promise<string[]> {
      return leftRunning(input.workflowId, input.runId);
    },

    /** Whether a worker serves task queue `taskQueue`'s activities (polled within the last minute). */
    async queueServed(input: { taskQueue: string }): Promise<boolean> {
      return queuePolled(temporal(), input.taskQueue, 'activity');
    },

    /** Who holds the runbook's lock now (null when free or never taken; a holder whose run ended keeps it until the next run asks). */
    async runbookHolder(input: { runbook: string }): Promise<LockHolder | null> {
      try {
        return await temporal().workflow.getHandle(lockWorkflowId(input.runbook)).query(lockHolderQuery);
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) return null;
        throw e;
      }
    },

    /**
     * Whether schedule `scheduleId` started this run: the schedule's own record of its running and recent
     * actions names the workflow and run ids (a search attribute could be set by anyone who starts a workflow).
     * The schedule records its action right after starting the run, so this looks a few times before saying no.
     */
    async confirmScheduled(input: { scheduleId: string; workflowId: string; runId: string }): Promise<boolean> {
      const handle = temporal().schedule.getHandle(input.scheduleId);
      for (let attempt = 0; attempt < 10; attempt++) {
        let d;
        try {
          d = await handle.describe();
        } catch (e) {
          if (e instanceof ScheduleNotFoundError) return false;
          throw e;
        }
        const actions = [...d.info.runningActions, ...d.info.recentActions.map((r) => r.action)];
        if (actions.some((a) => a.workflow.workflowId === input.workflowId && a.workflow.firstExecutionRunId === input.runId)) return true;
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, 500));
      }
      return false;
    },

    /** Every reason a drill of this runbook may not start now; empty when it may. */
    async drillRefusals(input: { runbook: string; drills: Runbook['drills']; self: string }): Promise<string[]> {
      const { runbook, drills } = input;
      const now = new Date();
      const problems: string[] = [];
      if (!drills.enabled) problems.push(`drills are not enabled for ${runbook}: set drills.enabled: true (and a window) in the runbook`);
      else if (!inDrillWindow(drills.windows, now)) problems.push(`${now.toISOString()} is outside the drill windows (${describeWindows(drills.windows)})`);
      for (const kind of RUN_KINDS) {
        const id = runWorkflowId(kind, runbook);
        const run = await latest(id);
        if (run?.running) problems.push(`a real ${kind} of ${runbook} is active (${id})`);
        // A cleanup deletes only retired instances: it changes nothing a drill exercises, so starts no cooldown.
        else if (kind !== 'cleanup') {
          const cooling = cooldownRefusal(kind, id, run?.closeTime, now, drills.cooldown);
          if (cooling) problems.push(cooling);
        }
      }
      for (const id of await runningDrills(runbook, input.self)) problems.push(`another drill of ${runbook} is running (${id})`);
      return problems;
    },

    /**
     * A real run takes precedence over drills: cancel every running drill of the runbook (`drills`, the one the
     * runbook's lock named, and those the visibility list shows: drills started before the lock existed) and wait
     * until each has failed back and closed. Returns the drills stopped.
     */
    async preemptDrills(input: { runbook: string; drills?: string[] }): Promise<string[]> {
      const ctx = Context.current();
      // Named by the lock: cancelled only when that id is a running drill of this runbook (never another workflow).
      const named: string[] = [];
      // A drill terminated (never the way to stop one) whose children still compensate: waited for, not cancelled.
      const closed: string[] = [];
      for (const id of input.drills ?? []) {
        if (await isRunningDrillOf(id, input.runbook)) named.push(id);
        else if (id.startsWith(`drill-${input.runbook}-`) && (await leftRunning(id)).length > 0) closed.push(id);
      }
      const ids = [...new Set([...named, ...(await runningDrills(input.runbook))])];
      for (const id of ids) {
        try {
          const drill = temporal().workflow.getHandle(id);
          await drill.cancel();
          // A drill cancelled before (an operator) sees no second cancel: the signal has it read the lock again.
          await drill.signal(drillPreemptedSignal);
        } catch (e) {
          if (!(e instanceof WorkflowNotFoundError)) throw e; // closed meanwhile
        }
      }
      for (;;) {
        const open: string[] = [];
        for (const id of [...ids, ...closed]) {
          if ((await latest(id))?.running) {
            open.push(id);
            continue;
          }
          // Terminated, its children still compensating: named, so an operator sees what is waited for.
          const left = await leftRunning(id);
          if (left.length > 0) open.push(`${id} (terminated; its children ${left.join(', ')} still run)`);
        }
        ctx.heartbeat({ waitingFor: 'drills to fail back', open });
        if (open.length === 0) return [...ids, ...closed];
        await ctx.sleep(1000);
      }
    },
  };
}
