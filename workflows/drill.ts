import { drillNotRun, runFinished, runStarted } from './telemetry';
import type { RunLabels } from '../contracts/telemetry';
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { databasesOf, dbIn } from '../runbooks/databases';
import type { VerifiedActor } from '../runbooks/approvers';
import type { Runbook } from '../runbooks/schema';
import { AuditTrail, drainQuietly } from './audit';
import { failback, type FailbackResult } from './failback';
import { FailureType } from '../contracts/failures';
import { WRITER_STATUSES } from '../contracts/rds-status';
import { RDS_PASSING_STATES } from './promoteReplica';
import { GATES_OF, requesterMustBeVerified } from '../runbooks/approvers';
import { RequesterCheck } from './requester';
import { drillScheduleId, runSearchAttributes, SEARCH_ATTRIBUTES } from '../contracts/ids';
import { childStatus, failureMessage } from './failure';
import { Notifier } from './notify';
import { compensation, evaluation, long, short } from './proxies';
import { regionFailover } from './regionFailover';
import { locksRunbook, takeRunbook } from './run';
import { drillPreemptedSignal, drillQuery, type DrillPhase, type DrillResult } from '../contracts/run';

import { trustedStart, type RunbookInput } from './trusted';

export interface DrillInput extends Pick<RunbookInput, 'runbookRef' | 'runbook'> {
  /** What started it: a person (`drover drill run`) or the runbook's schedule (checked with the schedule itself). */
  trigger: 'manual' | 'schedule';
  requestedBy: string;
  reason?: string;
  options?: { timeScale?: number; approvalTimeoutMs?: number };
}

/**
 * A DR drill: a failover in drill mode, its verification, the automatic failback, and a record for
 * the report. Refused (nothing changed) when not opted in, outside its windows, within the cooldown
 * after a real run, or while a real run or another drill is active. Never continues past a failed
 * check: it fails back at once. Cancelled (a real failover takes precedence), it fails back first.
 */
/** Patch: a drill's rollback unfences a primary left with drover's fence tag. */
const DRILL_UNFENCES = 'drill-unfences-v1';
/** Patch: a drill stopped by a real failover after its promotion hands over to it instead of failing back. */
const DRILL_HANDS_OVER = 'drill-hands-over-v1';
/**
 * Patch: a drill's failback, started while the drill held the runbook, stops when a real unplanned failover takes the
 * runbook before the failback's switchover (the drill is cancelled by it): the real failover resumes from the standby
 * this drill promoted instead of waiting hours for replicas to be re-created in the region it is leaving.
 */
const DRILL_FAILBACK_YIELDS = 'drill-failback-yields-v1';
/** Patch: a drill's rollback unfences a primary only when its own failover reached its promotion (the step that fences). */
const DRILL_UNFENCES_OWN = 'drill-unfences-own-v1';
/** Patch: a drill cancelled while it checks or asks for the runbook ends through its end (run.end, notification). */
const DRILL_CHECKS_CANCEL_ENDS = 'drill-checks-cancel-ends-v1';
/** Patch: a drill evaluates the runbook's readiness (docs/readiness.md) with its checks, and refuses on any check not ready. */
const DRILL_READINESS = 'drill-readiness-v1';
/** Patch: a drill's way back never throws: each undo is tried (compensation-bounded) and a failure recorded. */
const DRILL_ROLLBACK_SAFE = 'drill-rollback-safe-v1';
/** Patch: the rollback returns the standby's node groups to the scaling the team had (recorded before the failover's scale-up), not min = desired = standby. */
const CAPACITY_RESTORED = 'capacity-restored-v1';

export async function drill(input: DrillInput): Promise<DrillResult> {
  const info = workflowInfo();
  const result: DrillResult = {
    workflowId: info.workflowId,
    runId: info.runId,
    kind: 'drill',
    runbook: input.runbookRef?.name ?? input.runbook?.name ?? '',
    trigger: input.trigger,
    requestedBy: input.requestedBy,
    startedAt: info.runStartTime.getTime(),
    phase: 'checking',
    objectives: { rtoMs: 0, rpoMs: 0 },
    failoverId: `${info.workflowId}-failover`,
    failbackId: `${info.workflowId}-failback`,
  };
  // The drill's trail once its runbook is known: the query shows its head while the drill runs.
  const live: { trail?: AuditTrail } = {};
  setHandler(drillQuery, () => (result.audit || !live.trail ? result : { ...result, audit: live.trail.anchor() }));
  const start = await trustedStart(input, (error) => ({ ...result, phase: 'refused', refusals: [error.message], failure: `drill refused, nothing was changed: ${error.message}`, endedAt: Date.now() }));
  const rb = start.rb;
  result.runbook = rb.name;
  result.objectives = { rtoMs: rb.objectives.rto, rpoMs: rb.objectives.rpo };
  const labels: RunLabels = { runbook: rb.name, kind: 'drill', mode: 'planned', drill: true };
  runStarted(labels);

  const trail = AuditTrail.open(rb);
  live.trail = trail;
  const notifier = Notifier.open(rb, 'drill', trail);
  // Since worker-owned runbooks: a drill whose gates people approve must know who requested it (checked below).
  const requesterCheck = start.workerOwned ? new RequesterCheck(rb, trail) : undefined;
  result.notifications = notifier?.record;
  // A drill started with drover's search attributes (so they are registered) starts its children with them too.
  const listed = notifier !== undefined && info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runbook) !== undefined;
  // A drill terminated (never the way to stop one: cancel it) asks its child to cancel, so the child still compensates.
  const childAttributes = (kind: 'failover' | 'failback') => ({
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    ...(listed ? { typedSearchAttributes: runSearchAttributes({ runbook: rb.name, kind, mode: 'drill', requestedBy: input.requestedBy }) } : {}),
  });
  trail?.record('run.start', { actor: { id: input.requestedBy, verified: false }, detail: `drill (${input.trigger}) of ${rb.name}`, after: { kind: 'drill', trigger: input.trigger } });
  trail?.flush();
  const link: { workflowId: string; autoApprove: boolean; locked?: boolean } = { workflowId: info.workflowId, autoApprove: rb.drills.autoApprove };
  const reason = input.reason ?? `DR drill (${input.trigger}) of ${rb.name}`;
  const end = async (phase: DrillPhase, type?: string): Promise<DrillResult> => {
    result.phase = phase;
    result.endedAt = Date.now();
    runFinished(labels, { phase });
    if (phase === 'refused') drillNotRun(rb.name, result.refusals ?? []);
    await notifier?.finished(result);
    trail?.record('run.end', { after: { phase, refusals: result.refusals, failure: result.failure, rollback: result.rollback, handedOverTo: result.handedOverTo, failoverId: result.failover ? result.failoverId : undefined, failbackId: result.failback ? result.failbackId : undefined } });
    const audit = { error: { message: '' } };
    result.audit = await drainQuietly(trail, audit);
    if (audit.error.message) result.failure = [result.failure, audit.error.message.replace(/^; /, '')].filter(Boolean).join('; ');
    if (!type) return result;
    throw ApplicationFailure.create({ type, message: result.failure ?? result.refusals?.join('; ') ?? phase, nonRetryable: true, details: [result] });
  };

  // 1. Refusals: every reason is listed, nothing is changed.
  // Who asked, when the drill's gates are approved by people and forbid self-approval: the schedule
  // (confirmed with the schedule itself, never taken from the input), or a person, verified.
  let requester: VerifiedActor | undefined;
  let refusals: string[] = [];
  const checksCancelEnd = () => patched(DRILL_CHECKS_CANCEL_ENDS);
  try {
    if (requesterCheck && requesterMustBeVerified(rb, GATES_OF.drill, rb.drills.autoApprove)) {
      const refused = (why: string) => {
        result.refusals = [why];
        result.failure = `drill refused, nothing was changed:\n- ${why}`;
        return end('refused', FailureType.DrillRefused);
      };
      if (input.trigger === 'schedule') {
        const scheduleId = drillScheduleId(rb.name);
        if (!(await short.confirmScheduled({ scheduleId, workflowId: info.workflowId, runId: info.runId }))) return refused(`the drill says its schedule started it, but schedule ${scheduleId} did not start this run`);
        requester = { id: `schedule:${scheduleId}`, verified: false };
      } else {
        try {
          requester = await requesterCheck.verify(input.requestedBy, input.options?.approvalTimeoutMs);
        } catch (err) {
          // Cancelled while it waited for the requester: ended below as cancelled, not refused.
          if (isCancellation(err) && checksCancelEnd()) throw err;
          return refused(failureMessage(err));
        }
      }
    }
    refusals = await short.drillRefusals({ runbook: rb.name, drills: rb.drills, self: info.workflowId });
    if (patched(DRILL_READINESS)) {
      // The same checks as `drover check` (a failover's): a check not ready would stop the drill's failover at its
      // preflight or later; refused here, with the check and its fix. Degraded checks do not refuse a drill (an old
      // drill, lag over its bound: a drill is how those are found out). An evaluation that fails refuses too.
      try {
        const r = await evaluation.evaluateRunbookReadiness({ runbook: rb, digest: input.runbookRef?.digest, direction: 'failover' });
        for (const c of r.checks.filter((x) => x.verdict === 'not-ready')) refusals.push(`readiness: ${c.id} is not ready (${c.reasons.join('; ')})${c.fix ? `; fix: ${c.fix}` : ''}`);
      } catch (err) {
        if (isCancellation(err)) throw err;
        refusals.push(`readiness: not evaluated (${failureMessage(err)})`);
      }
    }
    // The runbook's lock, taken after the checks above (which read the visibility list, eventually consistent):
    // a real run that started since, or another drill, holds it and this drill changes nothing. A real run
    // that asks for it later takes it (contracts/lock.ts), and the drill's failover stops before its next step.
    if (refusals.length === 0) {
      try {
        if (locksRunbook()) {
          await takeRunbook(rb.name, 'drill', true);
          link.locked = true;
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        refusals.push(failureMessage(err));
      }
    }
  } catch (err) {
    // Cancelled while it checked or asked for the runbook, before anything changed: it ends as every run does, its
    // end recorded in its trail and notified (before this patch it ended at once, without run.end).
    if (isCancellation(err) && checksCancelEnd()) {
      result.failure = `drill cancelled before it changed anything (${failureMessage(err)})`;
      return end('cancelled', FailureType.DrillCancelled);
    }
    throw err;
  }
  if (refusals.length > 0) {
    result.refusals = refusals;
    result.failure = `drill refused, nothing was changed:\n- ${refusals.join('\n- ')}`;
    return end('refused', FailureType.DrillRefused);
  }

  // 2. Failover in drill mode. Cancelling the drill cancels it (it stops at its current step).
  result.phase = 'failing-over';
  let cancelled = false;
  try {
    result.failover = await executeChild(regionFailover, {
      workflowId: result.failoverId,
      ...childAttributes('failover'),
      args: [{ runbook: rb, targetRegion: rb.regions.standby, mode: 'planned', reason, requestedBy: input.requestedBy, options: input.options, drill: link, requester }],
    });
  } catch (err) {
    result.failover = childStatus(err);
    const taken = result.failover?.error?.type === FailureType.Preempted;
    cancelled = taken || isCancellation(err) || CancellationScope.current().consideredCancelled;
    result.failure = cancelled ? `drill cancelled during the failover (a real failover takes precedence): ${failureMessage(err)}` : `failover check failed: ${failureMessage(err)}`;
  }

  // 3. Back to the original topology, whatever happened, and even when the drill was cancelled.
  // The drill's own scope: its cancellation (a real run took the runbook, or an operator) is read below.
  const drillScope = CancellationScope.current();
  await CancellationScope.nonCancellable(async () => {
    // Since this patch every step back is tried, and a failure is recorded, never thrown: the drill always ends through
    // its end (run.end, notification), and its undo calls are bounded as compensations are (15 minutes).
    const safe = patched(DRILL_ROLLBACK_SAFE);
    let replicas: Awaited<ReturnType<typeof short.describeDb>>[];
    try {
      replicas = await Promise.all(databasesOf(rb).map((d) => short.describeDb({ region: rb.regions.standby, identifier: d.replica.identifier })));
    } catch (e) {
      if (!safe) throw e;
      result.failure = [result.failure, `${rb.regions.standby}'s databases could not be read (${failureMessage(e)}): the drill neither rolled back nor failed back; read the topology (drover status), then run drover failback, or put traffic and compute back and unfence by hand`].filter(Boolean).join('; ');
      return;
    }
    // A drill stopped by a real failover after its promotion hands over: the real failover resumes from the standby
    // this drill promoted (its resume path), instead of waiting hours for a failback that re-creates replicas, and at
    // an approval gate nobody watches, only to promote the same standby again.
    if (cancelled && link.locked && replicas.some((r) => r.standalone) && patched(DRILL_HANDS_OVER)) {
      // The holder as the lock names it, read again: only a real failover still running resumes (a cancelled one does not).
      const named = await compensation.runbookHolder({ runbook: rb.name }).catch(() => null);
      const holder = named ? await compensation.runOf({ workflowId: named.workflowId, runbook: rb.name, taskQueue: info.taskQueue }).catch(() => null) : null;
      // Only what the real failover can resume from (its preflight's rule): a standby drover promoted (RDS cleared its
      // source), not fenced, whose old primary is still fenced (the drill's failover was planned). Otherwise it fails
      // back as before (moto keeps a promoted replica's source field; the tests' fidelity rule clears it, as RDS does).
      const planned = holder?.mode !== 'unplanned';
      // A promoted standby in its first backup (backing-up) takes writes: read once, at the same point of every run.
      const passing = patched(RDS_PASSING_STATES);
      const resumable = async (d: ReturnType<typeof databasesOf>[number], r: (typeof replicas)[number]): Promise<boolean> => {
        if (!r.standalone) return true;
        const writes = r.status === 'available' || (passing && WRITER_STATUSES.has(r.status));
        if (!writes || !r.promotedByDrover || r.replicationSource !== undefined) return false;
        if ((await compensation.fenceState({ region: rb.regions.standby, identifier: r.identifier })).fenced) return false;
        // An unplanned failover never contacts the lost primary (nor does its preflight): only planned needs it fenced.
        return !planned || (await compensation.fenceState({ region: rb.regions.primary, identifier: dbIn(rb, d, rb.regions.primary) })).fenced;
      };
      const canResume = holder !== null && !holder.drill && holder.kind === 'failover'
        && (await Promise.all(databasesOf(rb).map((d, i) => resumable(d, replicas[i]).catch(() => false)))).every(Boolean);
      if (holder && canResume) {
        result.handedOverTo = holder.workflowId;
        const promoted = replicas.filter((r) => r.standalone).map((r) => r.identifier);
        result.failure = [result.failure, `handed over to the real failover ${holder.workflowId}, which resumes from ${promoted.join(', ')} (promoted by this drill); no failback`].filter(Boolean).join('; ');
        return;
      }
    }
    if (replicas.some((r) => r.standalone)) {
      // A replica was promoted: the full failback re-creates replication and moves traffic home (for each promoted database).
      result.phase = 'failing-back';
      // Started while the drill holds the runbook (not stopped by a real run already): the failback yields to a real
      // unplanned failover that takes it before the switchover back (docs/drill.md, "When a real failover comes").
      const yields = !cancelled && link.locked === true && patched(DRILL_FAILBACK_YIELDS);
      const startBack = () =>
        executeChild(failback, {
          workflowId: result.failbackId,
          ...childAttributes('failback'),
          args: [{ runbook: rb, reason: `${reason}: automatic failback`, requestedBy: input.requestedBy, options: input.options, drill: yields ? { ...link, yields: true } : link, requester }],
        });
      const takenBy: { by?: string; standbys?: string[] } = {};
      try {
        if (yields) {
          const back = new CancellationScope();
          // Cancelled (by preemptDrills once a real run took the runbook, or by an operator), or told by preemptDrills's
          // signal (a drill cancelled before sees no second cancel): the failback is cancelled only when the lock's holder
          // is a running real unplanned failover that can resume from this drill's standbys. It ignores the cancel from
          // its switchover on, so it never stops half-way back. An operator's cancel, or a planned failover (it needs
          // the original topology), leaves it running to its end, as before. One read at a time; a read that fails
          // waits for the next signal.
          // A signal or cancel that comes during a read is read again once it ends (the lock may have changed meanwhile).
          let reading = false;
          let again = false;
          const readLock = async (): Promise<void> => {
            if (takenBy.by) return;
            if (reading) {
              again = true;
              return;
            }
            reading = true;
            const to = await resumingFailover(rb, info.taskQueue).catch(() => undefined);
            reading = false;
            if (to) {
              Object.assign(takenBy, to);
              back.cancel();
            } else if (again) {
              again = false;
              await readLock();
            }
          };
          drillScope.cancelRequested.catch(readLock);
          // A handler runs in the drill's own scope, cancelled by then: its reads run outside it.
          setHandler(drillPreemptedSignal, () => void CancellationScope.nonCancellable(readLock));
          result.failback = await back.run<FailbackResult>(startBack);
        } else result.failback = (await startBack()) as FailbackResult;
      } catch (err) {
        result.failback = childStatus(err);
        // Stopped by the cancel asked for above (the failback ends as a cancelled run: RunCancelled), before its
        // switchover began, and the real failover can still resume (read again now that the failback has closed):
        // a failback that failed or went on past its switchover says so, with its own failure.
        const switched = result.failback?.steps?.some((s) => s.id === 'switchover-db' && s.status !== 'pending' && s.status !== 'skipped') ?? true;
        const stopped = takenBy.by !== undefined && !switched && (isCancellation(err) || result.failback?.error?.type === FailureType.RunCancelled);
        const still = stopped ? await resumingFailover(rb, info.taskQueue).catch(() => undefined) : undefined;
        if (still) {
          cancelled = true;
          result.handedOverTo = still.by;
          result.failure = [
            result.failure,
            `failback stopped before its switchover: the real unplanned failover ${still.by} took the runbook and resumes from ${still.standbys.join(', ')} (promoted by this drill); ${rb.regions.primary} has no replica now: if ${still.by} does not complete, run drover failback`,
          ].filter(Boolean).join('; ');
        } else result.failure = [result.failure, `failback failed: ${failureMessage(err)}`].filter(Boolean).join('; ');
      }
      return;
    }
    if (!result.failure) return;
    // Never promoted: undo whatever the failover touched (traffic, standby capacity).
    result.phase = 'rolling-back';
    const touched = (id: string) => result.failover?.steps.some((s) => s.id.startsWith(id) && s.status !== 'pending' && s.status !== 'skipped') ?? true;
    const rollback: string[] = [];
    const undo = safe ? compensation : long;
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      if (!safe) {
        await fn();
        rollback.push(what);
        return;
      }
      try {
        await fn();
        rollback.push(what);
      } catch (e) {
        rollback.push(`NOT ${what}: ${failureMessage(e)}; do it by hand`);
      }
    };
    if (touched('traffic')) {
      await attempt(`traffic back to 100% ${rb.regions.primary}`, () => undo.shiftTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, fromRegion: rb.regions.primary, toRegion: rb.regions.standby, percent: 0 }));
    }
    if (touched('scale-compute')) {
      const restore = patched(CAPACITY_RESTORED) ? { restore: 'exact' as const } : {};
      await attempt(`${rb.regions.standby} compute back to standby capacity`, async () => {
        for (const c of rb.compute.clusters.filter((x) => x.region === rb.regions.standby)) {
          await undo.scaleNodeGroups({ region: c.region, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.standby, max: g.max })), ...restore });
        }
      });
    }
    // Read once, at the same point of every run: only a primary this drill's failover may have fenced is unfenced.
    const ownFenceOnly = patched(DRILL_UNFENCES) && patched(DRILL_UNFENCES_OWN);
    if (patched(DRILL_UNFENCES)) {
      // A primary that still carries drover's fence tag (a promotion cancelled before its compensation, or one
      // whose unfence failed) takes writes again: no replica was promoted (read above), so no second writer.
      // Only when every replica reads as an available replica: one that is promoting keeps its source fenced.
      const promoting = replicas.filter((r) => r.status !== 'available');
      for (const d of databasesOf(rb)) {
        const primary = dbIn(rb, d, rb.regions.primary);
        let state;
        try {
          state = await compensation.fenceState({ region: rb.regions.primary, identifier: primary });
        } catch (e) {
          rollback.push(`${primary}: fence state not read (${failureMessage(e)}); check it is not left fenced`);
          continue;
        }
        if (!state.fenced) continue;
        if (ownFenceOnly && !touched('promote-database')) {
          // drover's fence tag names the groups an unfence restores: one this drill never put there (its failover never
          // reached its promotion, the only step that fences) is someone else's, an operator's or a forged one.
          rollback.push(`${primary} carries drover's fence tag, but this drill's failover never reached its promotion (the step that fences): left as it is`);
          continue;
        }
        if (promoting.length > 0) {
          rollback.push(`${primary} left fenced: ${promoting.map((r) => `${r.identifier} is ${r.status}`).join(', ')}`);
          continue;
        }
        try {
          await compensation.unfenceInstance({ region: rb.regions.primary, identifier: primary });
          rollback.push(`unfenced ${primary}`);
        } catch (e) {
          rollback.push(`${primary} NOT unfenced: ${failureMessage(e)}; unfence it by hand`);
        }
      }
    }
    result.rollback = rollback;
  });

  if (cancelled) return end('cancelled', FailureType.DrillCancelled);
  if (result.failure) return end('failed', FailureType.DrillFailed);
  return end('completed');
}

/**
 * The real unplanned failover that holds `rb`'s lock and can resume from its standbys (each promoted by drover, its
 * source cleared, taking writes, not fenced: the failover's preflight rule), read from the lock and Temporal; else none.
 */
async function resumingFailover(rb: Runbook, taskQueue: string): Promise<{ by: string; standbys: string[] } | undefined> {
  const named = await compensation.runbookHolder({ runbook: rb.name });
  const holder = named ? await compensation.runOf({ workflowId: named.workflowId, runbook: rb.name, taskQueue }) : null;
  if (!holder || holder.drill || holder.kind !== 'failover' || holder.mode !== 'unplanned') return undefined;
  const standbys = await Promise.all(databasesOf(rb).map((d) => compensation.describeDb({ region: rb.regions.standby, identifier: d.replica.identifier })));
  for (const r of standbys) {
    if (!r.standalone || !r.promotedByDrover || r.replicationSource !== undefined || !WRITER_STATUSES.has(r.status)) return undefined;
    if ((await compensation.fenceState({ region: rb.regions.standby, identifier: r.identifier })).fenced) return undefined;
  }
  return { by: holder.workflowId, standbys: standbys.map((r) => r.identifier) };
}
