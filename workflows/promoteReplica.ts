import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { untilAnswered } from './answered';
import type { LagReading } from '../activities/rds';
import { dbIn, findDatabase, databasesOf } from '../runbooks/databases';
import { FailureType } from '../contracts/failures';
import { WRITER_STATUSES } from '../contracts/rds-status';
import { compensation, fencing, fencingBrief, long, probe, short } from './proxies';
import { failureMessage, failureType } from './failure';
import type { RpoRecord, RunStatus } from '../contracts/run';
import type { EnginePosition, RpoEvidence } from '../contracts/engines';
import type { RunbookInput } from './trusted';
import { beginRun, locksRunbook, Run, TAKE_RUNBOOK_STEP } from './run';
import { repointWriter } from './writer';
import { standalonePromoteGate } from '../runbooks/approvers';

export type PromoteMode = 'planned' | 'unplanned';

/**
 * Patch: the fence is compensated from the moment it is asked for (not only once it returned), and the
 * compensation reads the target first when PromoteReadReplica was asked for.
 */
export const FENCE_COMPENSATION = 'fence-compensation-v1';
/** Patch: a target an earlier drover run promoted (its tag) is resumed from: no wait for lag, never unfenced back. */
export const RESUME_PROMOTED = 'resume-promoted-v1';
/** An instance passing through a state (backing-up, modifying) is waited for, not refused; a promoted one backing up takes writes. */
export const RDS_PASSING_STATES = 'rds-passing-states-v1';
/**
 * Patch: a run cancelled once PromoteReadReplica was accepted, before its writer record was repointed, still waits for
 * the new writer and points the record at it, outside the cancellation: the old writer is fenced, so a record left
 * naming it refuses every write.
 */
export const REPOINT_ON_CANCEL = 'promoted-repoints-on-cancel-v1';
/**
 * Patch: once PromoteReadReplica has been asked for, the fence's compensation reads the target before it unfences,
 * even after a typed refusal: an earlier attempt whose answer was lost may have started the promotion, and the
 * refusals of the later ones (the replica `modifying`) do not say it is not under way.
 */
export const UNFENCE_READS_TARGET = 'unfence-reads-target-v1';

/**
 * Patch: the writer left fenced because the target is standalone or may be promoting (a PromoteReadReplica whose
 * answer was lost) no longer stays so with its writer record naming it: the run waits for the target (bounded as
 * compensations are) and, once it is standalone, counts it as promoted, so the record is pointed at it (by this run,
 * or by its parent failover) instead of refusing every write until someone acts.
 */
export const FOLLOWS_LOST_PROMOTION = 'promote-follows-lost-answer-v1';

/**
 * Patch: a database whose runbook gives drover access to its engines (`access`) is fenced in the engine too: after the
 * security-group swap, every client session on the writer is ended and proven not to come back over a quiet window, and the
 * promotion waits for the replica to replay its final write position instead of a CloudWatch ReplicaLag period; an unplanned
 * promotion records what the replica had replayed. Engines that do not answer fall back (a reboot; ReplicaLag), said so.
 */
export const ENGINE_FENCE = 'engine-fence-v1';

/**
 * Patch: a MariaDB writer's fence also sets `read_only` in its own parameter group (never a default or shared one),
 * before its sessions are ended, and restores the group's value once the replica is the writer or the fence is undone.
 */
export const ENGINE_READ_ONLY = 'engine-read-only-v1';

/**
 * Patch: a planned promotion with engine access opens a session on the writer and on the replica before its fence: a
 * secret missing, unreadable or refused (or a TLS setup that fails) stops the run with nothing changed.
 */
export const ENGINE_PREFLIGHT = 'engine-preflight-v1';

/** What a replica shows while RDS promotes it (PromoteReadReplica: modifying, rebooting, then backing-up). */
const PROMOTION_STATUSES = new Set(['modifying', 'rebooting', 'backing-up']);

export interface PromoteInput extends RunbookInput {
  /** The region whose database becomes the writer. */
  toRegion: string;
  mode: PromoteMode;
  reason: string;
  requestedBy: string;
  /** Repoint the writer CNAME (default true; a parent failover repoints it itself). */
  repointWriter?: boolean;
  /** Which of the runbook's databases (its name); may be left out when the runbook has one. */
  database?: string;
  options?: {
    /** How long the promote gate (a promotion started on its own) waits before the run aborts. Default 1 h. */
    approvalTimeoutMs?: number;
  };
}

export type { RpoRecord } from '../contracts/run';

export interface PromoteResult extends RunStatus {
  newWriter: { region: string; identifier: string; endpoint?: string; arn: string };
  oldPrimary: { region: string; identifier: string; reachable: boolean | 'not-contacted'; fenced: boolean | 'unknown'; status?: string };
}


/**
 * Promote the database in `toRegion` to writer. Planned: fence the current writer, wait for lag 0,
 * promote (RPO 0); if lag does not reach 0 in time, unfence and stop, never leaving the writer fenced
 * and the replica unpromoted. Unplanned: no call to the other region; the RPO is the last lag seen.
 */
export async function promoteReplica(input: PromoteInput): Promise<PromoteResult> {
  const { toRegion, mode } = input;
  const info = workflowInfo();
  const { rb, workerOwned } = await beginRun(input, { kind: 'promote', mode, fromRegion: '', targetRegion: toRegion, reason: input.reason, requestedBy: input.requestedBy });
  // A promotion started on its own (not a failover's or failback's child, whose parent asked) asks the runbook's
  // promote gate, else its failover gate.
  const gate = workerOwned && !info.parent ? standalonePromoteGate(rb) : undefined;
  const fromRegion = toRegion === rb.regions.primary ? rb.regions.standby : rb.regions.primary;
  const db = findDatabase(rb, input.database);
  if (!db) {
    const names = databasesOf(rb).map((d) => d.name).join(', ');
    throw ApplicationFailure.create({ type: FailureType.Validation, message: input.database === undefined ? `${rb.name} has several databases (${names}): name the one to promote` : `${rb.name} has no database ${input.database} (it has ${names})`, nonRetryable: true });
  }
  const target = dbIn(rb, db, toRegion);
  const source = dbIn(rb, db, fromRegion);
  const aurora = db.engine === 'aurora-global';
  const fence = db.fence;
  // Since ENGINE_FENCE (asked only of a database with engine access, so other runs' histories carry no marker).
  const engine = !aurora && db.access && (db.engine === 'postgres' || db.engine === 'mariadb') && patched(ENGINE_FENCE) ? { engine: db.engine, access: db.access } : undefined;
  const planned = mode === 'planned';
  // Since runbook-lock-v1 a run that is not a child takes the runbook first (its own step).
  const locks = locksRunbook();
  const run = Run.open({
    rb,
    head: { kind: 'promote', mode, fromRegion, targetRegion: toRegion, reason: input.reason, requestedBy: input.requestedBy },
    notifyAs: 'promote',
    plan: [
      ...(locks ? [TAKE_RUNBOOK_STEP] : []),
      ...(gate ? [{ id: `gate:${gate}`, title: gate === 'promote' ? 'Approval: promote' : 'Approval: promote (the failover gate: the runbook has no promote gate)', gate: true }] : []),
      { id: 'fence', title: engine && planned ? `Fence writes on ${source} (${fromRegion}): its security groups, then end its client sessions and prove it stopped` : `Fence writes on ${source} (${fromRegion})` },
      { id: 'wait-lag-zero', title: engine && planned ? `Wait for ${target} to replay ${source}'s final write position` : `Wait for replica lag 0 on ${target}` },
      { id: 'promote', title: `Promote ${target} in ${toRegion}` },
      { id: 'repoint-writer', title: `Point ${db.writerRecord.name} at ${target}` },
      { id: 'verify-writer', title: 'Verify the new writer is standalone and available' },
      { id: 'old-primary', title: `Record the final state of ${source}` },
    ],
    gates: gate ? { context: { requestedBy: input.requestedBy } } : false,
    objectives: true,
    start: { detail: `${mode} promotion of ${target} in ${toRegion}: ${input.reason}`, after: { kind: 'promote', mode, fromRegion, targetRegion: toRegion } },
  });
  const { journal, status, gates } = run;

  let fencedByUs = false;
  // PromoteReadReplica was asked for and its outcome is not known (its call failed without a typed refusal:
  // timed out, retried to its bound), or the target was already promoted by an earlier drover run.
  let promoting = false;
  /** PromoteReadReplica was asked for (whatever its answer). */
  let asked = false;
  let promoted = false;
  /** The writer record names the new writer (the repoint step ran to its end). */
  let repointed = false;
  /** The promotion was found through its lost answer, in the compensation (followLostPromotion). */
  let followedLost = false;
  let lag: LagReading | null = null;
  /** The fenced writer's final position, read from its engine (engine-fence-v1), and how its sessions were ended. */
  let writerAt: EnginePosition | undefined;
  let sessionsEnded: number | undefined;
  let fencedBy: RpoEvidence['fencedBy'];
  /** Why the engines' evidence was not had (the RPO then rests on ReplicaLag). */
  let weaker: string | undefined;
  /** The writer's read_only (engine-read-only-v1), and whether it may be held now: asked for, and not yet released. */
  let readOnly: RpoEvidence['readOnly'];
  let readOnlyAsked = false;
  /** What the group had, as the hold answered: restores it should its tag be gone. */
  let readOnlyFrom: string | undefined;
  /**
   * Restore the old writer's group's read_only once the replica is the writer (every unfence restores it too), bounded
   * as compensations are and not cancellable (a cancel must not leave it half done); a failure is noted, not thrown.
   */
  async function releaseReadOnly(step: string): Promise<void> {
    if (!readOnlyAsked) return;
    await CancellationScope.nonCancellable(async () => {
      try {
        const r = await compensation.releaseReadOnly({ region: fromRegion, identifier: source, ...(readOnlyFrom ? { from: readOnlyFrom } : {}) });
        readOnlyAsked = false;
        if (r.released) journal.note(step, `read_only in ${r.group} restored to ${r.restored}${r.note ? ` (${r.note})` : ''}`);
      } catch (e) {
        journal.note(step, `read_only NOT restored on ${source}'s parameter group: ${failureMessage(e)}; restore it by hand (what it had is in the group's drover:read-only-from tag)`);
      }
    });
  }
  /** Said where the writer is left fenced: its read_only is left with it, to restore with its groups. */
  const andReadOnly = (): string => (readOnlyAsked ? ', and read_only in its parameter group (what it had is in the group\'s drover:read-only-from tag)' : '');
  /**
   * A ReplicaLag figure, labelled as such when the run had engine access (engine-fence-v1): weaker evidence than the
   * engines' positions, with why those were not had, and how the writer's sessions were ended.
   */
  const withLagEvidence = (rpo: RpoRecord, why?: string): RpoRecord =>
    engine ? { ...rpo, evidence: { kind: 'replica-lag', ...(fencedBy ? { fencedBy, ...(sessionsEnded !== undefined ? { sessionsEnded } : {}) } : {}), ...(why ?? weaker ? { weaker: why ?? weaker } : {}), ...(readOnly ? { readOnly } : {}) } } : rpo;
  /**
   * Since fence-compensation-v1 the calls that change the instances (the fence, PromoteReadReplica) run to their
   * answer even when the run is cancelled meanwhile (activities are cancelled with TRY_CANCEL: a cancelled call's
   * compensation would otherwise race the call it undoes); the cancel takes effect at the next step.
   */
  const compensates = (): boolean => patched(FENCE_COMPENSATION);
  const toTheEnd = <T>(fn: () => Promise<T>): Promise<T> => untilAnswered(compensates(), fn);
  /**
   * The compensation of the fence. A promotion whose outcome is unknown may be under way: the old writer stays
   * fenced unless the target reads as an available replica of its source (ReadReplicaSourceDBInstanceIdentifier
   * set, which RDS clears on promotion), so two writers never take writes at once. A failed unfence is recorded,
   * not thrown: the run still ends through its failure path.
   */
  async function unfenceUnlessPromoted(): Promise<void> {
    if (!compensates()) {
      await long.unfenceInstance({ region: fromRegion, identifier: source });
      journal.note('fence', `compensation: unfenced ${source} because the promotion did not happen`);
      return;
    }
    if (promoting) {
      const t = await compensation.describeDb({ region: toRegion, identifier: target }).catch(() => undefined);
      const replicating = t !== undefined && t.replicationSource !== undefined && !t.standalone && t.status === 'available';
      if (!replicating) {
        journal.note('fence', `compensation: ${source} left fenced${andReadOnly()}: ${target} ${t ? (t.standalone || t.replicationSource === undefined ? 'is standalone' : `is ${t.status} (may be promoting)`) : 'could not be read'}; check it before unfencing`);
        // Followed (promote-follows-lost-answer-v1): unfenced below only once it reads as a replica again.
        if (!t || !(await followLostPromotion())) return;
      }
    } else if (asked && patched(UNFENCE_READS_TARGET)) {
      // RDS refused the promotion (typed). An earlier attempt whose answer was lost may have started it all the same:
      // the writer stays fenced only when the target reads standalone or in a status a promotion passes through.
      // Anything else (a replica available, storage-full, stopped, gone) has nothing under way: unfenced as before.
      const t = await compensation.describeDb({ region: toRegion, identifier: target }).catch(() => undefined);
      if (t && (t.standalone || PROMOTION_STATUSES.has(t.status))) {
        journal.note('fence', `compensation: ${source} left fenced${andReadOnly()}: ${target} ${t.standalone ? 'is standalone' : `is ${t.status} (may be promoting)`}; check it before unfencing`);
        if (!(await followLostPromotion())) return;
      }
    }
    try {
      // The unfence restores the fence's read_only too (engine-read-only-v1): kept while the writer stays fenced, above.
      const out = await compensation.unfenceInstance({ region: fromRegion, identifier: source });
      if (out.readOnly?.released) readOnlyAsked = false;
      const ro = out.readOnly?.released ? `; read_only in ${out.readOnly.group} restored to ${out.readOnly.restored}` : out.readOnly?.failed ? `; read_only NOT restored (${out.readOnly.failed}): restore it by hand (what it had is in the group's drover:read-only-from tag)` : '';
      journal.note('fence', out.unfenced ? `compensation: unfenced ${source} because the promotion did not happen${ro}` : `compensation: ${source} carries no fence tag: nothing to unfence`);
    } catch (e) {
      journal.note('fence', `compensation: ${source} NOT unfenced: ${failureMessage(e)}; unfence it by hand (its own groups are in its drover:fenced-from tag${andReadOnly()})`);
    }
  }

  /**
   * Since FOLLOWS_LOST_PROMOTION: the target that may be promoting (the writer was left fenced for it) is waited for,
   * bounded as compensations are; standalone, it is the new writer (`promoted`), and its writer record is pointed at
   * it below. Not standalone within the bound: both are left as they are, said in the record.
   */
  async function followLostPromotion(): Promise<boolean> {
    if (!patched(FOLLOWS_LOST_PROMOTION)) return false;
    try {
      // Bounded within the compensation's start-to-close (10 minutes): it ends WaitTimedOut, not on Temporal's timeout.
      const state = await compensation.waitStandalone({ region: toRegion, identifier: target, timeoutMs: 8 * 60_000 });
      if (!state.standalone) throw new Error(`${target} is ${state.status}, still a replica`);
      // This run asked for it (its drover:promoted-by, written before the call): the record is completed
      // (drover:promoted-at), so a failover or promotion run again resumes from it; without the record it is not counted.
      await compensation.promoteReplica({ region: toRegion, identifier: target, runRef: `${info.workflowId}/${info.runId}` });
      const t = await compensation.describeDb({ region: toRegion, identifier: target });
      if (!t.standalone || !t.promotedByDrover) throw new Error(`${target} is standalone, but its promotion is not recorded as drover's`);
      promoted = true;
      followedLost = true;
      journal.note('promote', `${target} is standalone (${state.status}) and its promotion is drover's: counted as promoted (an answer was lost, or an earlier run promoted it)`);
      return false;
    } catch (e) {
      // A replica busy for another reason (a class change, a parameter apply) is a replica of its source again: no
      // promotion is under way, and the writer is unfenced (the rule above).
      const t = await compensation.describeDb({ region: toRegion, identifier: target }).catch(() => undefined);
      if (t && t.replicationSource !== undefined && !t.standalone && t.status === 'available') {
        journal.note('fence', `compensation: ${target} is an available replica of its source again: no promotion is under way`);
        return true;
      }
      journal.note('fence', `compensation: ${target} not standalone within the compensation's bound (${failureMessage(e)}); ${source} stays fenced: check both`);
      return false;
    }
  }

  try {
    if (gates && gate) {
      // Who asked, then the approval: before anything is fenced or promoted.
      if (gates.checksRequester()) await gates.start([gate], input.options?.approvalTimeoutMs);
    }
    // One run per runbook: its lock, taken before anything changes (a drill holding it is stopped first). A
    // failover's or failback's promotion is a child: its parent holds it.
    if (locks) await run.exclusive('promote');
    if (gates && gate) {
      await gates.step(journal, gate, `${mode} promotion of ${target} in ${toRegion}: ${input.reason}`, input.options?.approvalTimeoutMs ?? 60 * 60_000);
    }
    // 0. Resuming: an earlier drover run promoted the target (a failover that failed past its promotion, run
    // again). The promotion stands: the fence (planned) is made sure of, there is no lag to wait for, and the
    // compensation never unfences the old writer (`promoting`).
    let resumed = false;
    if (!aurora && patched(RESUME_PROMOTED)) {
      const t = await short.describeDb({ region: toRegion, identifier: target });
      // Promoted (RDS cleared its source) by drover (its tag): the tag alone is not proof.
      resumed = t.standalone && t.promotedByDrover && t.replicationSource === undefined;
      if (resumed) {
        promoting = true;
        // A promoted target that is fenced now is not the writer (a failback fenced it): never resume onto it.
        if ((await short.fenceState({ region: toRegion, identifier: target })).fenced) {
          throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${target} was promoted by drover but is fenced now: it is not the writer (a failback replaced it?); nothing was changed`, nonRetryable: true });
        }
      }
    }
    const resumedRpo = (): RpoRecord => ({ lagSeconds: -1, observedAt: new Date(Date.now()).toISOString(), note: `resumed: ${target} was promoted by an earlier drover run; its RPO is in that run's record` });
    // 1-2. Planned: fence, then wait until the replica has everything (RPO 0).
    if (mode === 'unplanned') {
      journal.skip('fence', `unplanned: ${fromRegion} not contacted (assumed lost)`);
      journal.skip('wait-lag-zero', resumed ? `${target} is already promoted: nothing to wait for` : 'unplanned: promoting with the lag last observed');
      lag = aurora || resumed ? null : await short.replicaLag({ region: toRegion, identifier: target });
      const lagRpo: RpoRecord = !lag
        ? { lagSeconds: -1, observedAt: new Date(Date.now()).toISOString(), note: 'unplanned: no ReplicaLag datapoint was available; data loss window unknown' }
        : lag.lagSeconds < 0
          ? // RDS's -1: replication was not running, so the replica's delay is not known at all.
            { lagSeconds: -1, observedAt: lag.observedAt, note: `unplanned: ReplicaLag was ${lag.lagSeconds} at ${lag.observedAt} (replication not running); data loss window unknown` }
          : { lagSeconds: lag.lagSeconds, observedAt: lag.observedAt, note: `unplanned: accepted the last observed ReplicaLag (${lag.lagSeconds}s at ${lag.observedAt})` };
      // What the replica had replayed (engine-fence-v1): the lost writer's writes past it are the accepted loss. Never
      // a reason to stop an unplanned promotion: unread, the RPO rests on ReplicaLag, said so.
      const replayed =
        engine && !resumed
          ? await probe.replayPosition({ region: toRegion, identifier: target, ...engine, side: 'replica' }).catch((e: unknown) => {
              if (isCancellation(e)) throw e;
              return { reached: false as const, reason: failureMessage(e) };
            })
          : undefined;
      status.rpo = resumed
        ? resumedRpo()
        : replayed?.reached
          ? {
              lagSeconds: lagRpo.lagSeconds,
              observedAt: replayed.replayed.at,
              note: `unplanned: ${target} had replayed ${source} up to ${replayed.replayed.value}${replayed.replayed.received ? ` and received up to ${replayed.replayed.received} (replayed before it takes writes)` : ''}${replayed.replayed.lastReplayedAt ? ` (its last replayed commit at ${replayed.replayed.lastReplayedAt})` : ''}; what ${source} wrote after ${replayed.replayed.received ?? 'it'} is at most the loss (the replica may receive more before its promotion)${lagRpo.lagSeconds >= 0 ? ` (ReplicaLag ${lagRpo.lagSeconds}s)` : ''}`,
              evidence: { kind: 'engine', replica: replayed.replayed },
            }
          : withLagEvidence(lagRpo, replayed && !replayed.reached ? `${target}'s engine could not be read (${replayed.reason})` : undefined);
    } else if (aurora) {
      journal.skip('fence', 'Aurora global switchover fences writes itself');
      journal.skip('wait-lag-zero', 'SwitchoverGlobalCluster waits for the secondary to catch up (RPO 0)');
      status.rpo = { lagSeconds: 0, observedAt: new Date(Date.now()).toISOString(), note: 'planned Aurora switchover: RPO 0' };
    } else {
      /** ReplicaLag periods that count start after this: the fence, or (engine-fence-v1) the moment the writer's sessions were ended. */
      let fencedAt = Date.now();
      await journal.run('fence', async () => {
        if (fence.method === 'none') {
          journal.note('fence', 'fence method "none": the operator is responsible for stopping writes');
          return;
        }
        // Both engines answer with the runbook's credentials before anything changes (engine-preflight-v1): a typed
        // refusal fails the step here, nothing fenced; one that does not answer is said (the fence would fall back).
        if (engine && patched(ENGINE_PREFLIGHT)) {
          for (const [region, identifier, side] of [[fromRegion, source, 'primary'], [toRegion, target, 'replica']] as const) {
            const a = await short.engineAnswers({ region, identifier, ...engine, side });
            journal.note('fence', a.reached ? `${identifier}'s engine answers the worker` : `${identifier}'s engine does not answer the worker before the fence (${a.reason})`);
          }
        }
        // Marked before the call: a cancel or failure while the swap is under way is compensated too (the
        // unfence is a no-op on an instance without drover's fence tag).
        if (compensates()) fencedByUs = true;
        const out = await toTheEnd(() => long.fenceInstance({ region: fromRegion, identifier: source, fenceGroupName: fence.groupName ?? '' }));
        fencedByUs = true;
        journal.note('fence', out.alreadyFenced ? `${source} was already fenced` : `security groups ${out.previousGroups.join(', ')} -> ${out.fenceGroupId}`);
        if (!engine) return;
        // Connections the security groups already track keep flowing: the engine ends them, then the writer is proven
        // still. Not proven: FenceNotProven, and the failure path below unfences. A resumed run (the target already
        // promoted) ends them too: an earlier unplanned run fenced nothing, and pooled writers may still write there.
        // MariaDB: read_only in the writer's own parameter group first (engine-read-only-v1), so a session the groups
        // still admit cannot write while the fence ends it. Not held (a default or shared group): said why, the fence
        // rests on the sessions. A refusal of the calls (permissions) is said too: the sessions still fence the writer.
        if (engine.engine === 'mariadb' && patched(ENGINE_READ_ONLY)) {
          // Asked for from the call on: a cancel or failure mid-call may have set it (the restore is a no-op otherwise).
          readOnlyAsked = true;
          try {
            const h = await fencingBrief.holdReadOnly({ region: fromRegion, identifier: source });
            readOnly = h.held ? { held: true, group: h.group } : { held: false, why: h.reason };
            if (h.held) readOnlyFrom = h.from;
            // Not held (a default, shared or read-only group): nothing of drover's to restore.
            else readOnlyAsked = false;
            journal.note('fence', h.held ? `read_only = 1 in ${source}'s parameter group ${h.group} (it had ${h.from === 'default' ? 'the default' : h.from.replace(/^user:/, '')})` : `read_only not set: ${h.reason}`);
          } catch (e) {
            if (isCancellation(e)) throw e;
            readOnly = { held: false, why: failureMessage(e) };
            journal.note('fence', `read_only not set: ${failureMessage(e)}`);
          }
        }
        const f = await fencing.fenceEngine({ region: fromRegion, identifier: source, ...engine, side: 'primary', ...(readOnly?.held ? { readOnly: true } : {}) });
        if (f.reached) {
          if (readOnly?.held && f.readOnly !== undefined) readOnly.engine = f.readOnly;
          writerAt = f.position;
          sessionsEnded = f.sessionsEnded;
          fencedBy = 'sessions';
          fencedAt = Date.now();
          journal.note('fence', `${f.sessionsEnded} client session(s) ended; no client session for ${engine.access.quietWindow / 1000}s; final write position ${f.position.value}${f.movedBy ? ` (moved ${f.movedBy})` : ''}`);
          return;
        }
        // The engine does not answer the worker: a reboot (without failover) ends every session, and the groups refuse new ones.
        weaker = `${source}'s engine could not be reached (${f.reason})`;
        journal.note('fence', `${weaker}: rebooting it to end its sessions`);
        const r = await fencing.rebootToFence({ region: fromRegion, identifier: source, timeoutMs: 30 * 60_000 });
        fencedBy = 'reboot';
        fencedAt = Date.now();
        journal.note('fence', r.rebooted ? `${source} rebooted (${r.status}): its sessions ended` : `${source} was rebooting already; now ${r.status}: its sessions ended`);
      });
      if (resumed) {
        journal.skip('wait-lag-zero', `${target} is already promoted: nothing to wait for`);
        status.rpo = resumedRpo();
      } else await journal.run('wait-lag-zero', async () => {
        /** The wait failed: unfence (nothing was promoted) and stop, saying why. */
        const stop = async (err: unknown, what: string, keepType = false): Promise<never> => {
          // A cancellation is compensated with every other failure, below.
          if (isCancellation(err)) throw err;
          if (fencedByUs) {
            if (compensates()) {
              await CancellationScope.nonCancellable(() => unfenceUnlessPromoted());
            } else {
              await long.unfenceInstance({ region: fromRegion, identifier: source });
              journal.note('wait-lag-zero', `unfenced ${source}; nothing was promoted`);
            }
            fencedByUs = false;
          }
          // The replica's own refusal (its credentials, not a replica) keeps its type (engine-fence-v1); a wait that ran out is WaitTimedOut.
          throw ApplicationFailure.create({ type: (keepType ? failureType(err) : undefined) ?? FailureType.WaitTimedOut, message: `${what} within ${db.lagZeroTimeout / 1000}s (${failureMessage(err)}); ${source} was unfenced and ${target} was not promoted`, nonRetryable: true });
        };
        if (engine && writerAt) {
          // The proof from the engines: the replica has replayed the fenced writer's final position.
          const final: EnginePosition = writerAt;
          const r = await long.waitReplayed({ region: toRegion, identifier: target, ...engine, side: 'replica', position: final, timeoutMs: db.lagZeroTimeout }).catch((err: unknown) => stop(err, `${target} did not replay ${source}'s final position ${final.value}`, true));
          if (r.reached) {
            journal.note('wait-lag-zero', `${target} replayed ${r.replayed.value} (${source} stopped at ${final.value})`);
            status.rpo = {
              lagSeconds: 0,
              observedAt: r.replayed.at,
              note: `writes fenced, every client session ended, and ${target} replayed ${source}'s final position before promotion: RPO 0`,
              evidence: { kind: 'engine', writer: final, replica: r.replayed, sessionsEnded, fencedBy, ...(readOnly ? { readOnly } : {}) },
            };
            return;
          }
          weaker = `${target}'s engine could not be reached (${r.reason})`;
          journal.note('wait-lag-zero', `${weaker}: waiting for CloudWatch's ReplicaLag instead`);
        }
        try {
          lag = await long.waitLagZero({ region: toRegion, identifier: target, since: fencedAt, periodMs: db.lagPeriod, timeoutMs: db.lagZeroTimeout });
        } catch (err) {
          await stop(err, `replica lag of ${target} did not reach 0`);
        }
        const l = lag as LagReading;
        journal.note('wait-lag-zero', `lag 0 at ${l.observedAt}`);
        status.rpo = withLagEvidence(
          { lagSeconds: 0, observedAt: l.observedAt, note: fence.method === 'none' ? 'lag 0 observed; writes were not fenced (fence: none, operator responsible)' : 'writes fenced and lag 0 before promotion: RPO 0' },
          weaker,
        );
      });
    }

    // 3. Promote and wait.
    const writer = await journal.run('promote', async () => {
      if (aurora) {
        const globalClusterId = db.globalClusterIdentifier ?? '';
        const call = mode === 'planned' ? long.switchoverGlobalCluster : long.failoverGlobalCluster;
        const out = await call({ region: toRegion, globalClusterId, targetCluster: target });
        journal.note('promote', out.alreadyWriter ? `${target} already writes` : `${mode === 'planned' ? 'SwitchoverGlobalCluster' : 'FailoverGlobalCluster (AllowDataLoss)'} accepted`);
        promoted = true;
        const g = await long.waitGlobalWriter({ region: toRegion, globalClusterId, targetCluster: target });
        return { identifier: target, region: toRegion, arn: g.writerArn ?? '', endpoint: undefined, status: g.status, standalone: true };
      }
      let p;
      asked = true;
      try {
        p = await toTheEnd(() => short.promoteReplica({ region: toRegion, identifier: target, runRef: `${info.workflowId}/${info.runId}` }));
      } catch (e) {
        // A typed refusal (RDS answered: the replica cannot be promoted now) leaves nothing under way; any other
        // failure (no answer within the call's bounds) may have promoted it.
        if (failureType(e) === undefined || isCancellation(e)) promoting = true;
        throw e;
      }
      journal.note('promote', p.alreadyPromoted ? `${target} was already standalone; not promoted again` : `PromoteReadReplica accepted (request ${p.requestId ?? 'n/a'})`);
      promoted = true;
      const state = await long.waitStandalone({ region: toRegion, identifier: target });
      return { identifier: target, region: toRegion, arn: state.arn, endpoint: state.endpoint, status: state.status, standalone: state.standalone };
    });
    status.newWriterEndpoint = writer.endpoint;

    // 4. Writer endpoint.
    if (input.repointWriter !== false && writer.endpoint) {
      await journal.run('repoint-writer', async () => {
        journal.note('repoint-writer', await repointWriter(rb, db, writer.endpoint as string));
      });
      repointed = true;
    } else journal.skip('repoint-writer', input.repointWriter === false ? 'left to the parent run (it repoints the writer record, or in a data-plane failover the writer pair answers the standby once the control is flipped)' : 'no endpoint address (Aurora: the global writer endpoint follows)');

    // 5. Verify.
    await journal.run('verify-writer', async () => {
      if (aurora) return journal.note('verify-writer', `${target} is the global cluster's writer`);
      const state = await short.describeDb({ region: toRegion, identifier: target });
      // A promoted instance takes writes while its first backup runs (backing-up): recorded runs knew only available.
      const passing = patched(RDS_PASSING_STATES);
      if (!state.standalone || !(state.status === 'available' || (passing && WRITER_STATUSES.has(state.status)))) {
        throw ApplicationFailure.create({ type: FailureType.VerificationFailed, message: `${target} is ${state.status}${state.standalone ? '' : ' and still a replica'}`, nonRetryable: true });
      }
      journal.note('verify-writer', `${target} is standalone and available`);
      // read_only an earlier fence left in the new writer's group (that writer left fenced, its groups restored by hand
      // since, and a failback's replica created with its group): the writer must take writes (engine-read-only-v1).
      // A group of the team's own that says read_only is said loudly, never changed; a refused check never fails a
      // promotion that happened (the new writer stands).
      if (engine?.engine === 'mariadb' && patched(ENGINE_READ_ONLY)) {
        try {
          const r = await short.releaseReadOnly({ region: toRegion, identifier: target });
          if (r.released) journal.note('verify-writer', `read_only an earlier fence left in ${r.group} restored to ${r.restored}`);
          if (r.on) journal.note('verify-writer', `WARNING: ${target}'s parameter group ${r.group} sets read_only = ${r.on} (the team's own setting): the new writer refuses writes until it is changed`);
        } catch (e) {
          journal.note('verify-writer', `${target}'s parameter group could not be checked for read_only: ${failureMessage(e)}`);
        }
      }
    });

    // 6. The old primary's final state (never contacted in unplanned mode).
    const oldPrimary: PromoteResult['oldPrimary'] = { region: fromRegion, identifier: source, reachable: 'not-contacted', fenced: 'unknown' };
    if (mode === 'unplanned' || aurora) {
      journal.skip('old-primary', mode === 'unplanned' ? `unplanned: ${fromRegion} not contacted` : 'Aurora: the old writer is now a secondary of the global cluster');
    } else {
      await journal.run('old-primary', async () => {
        const s = await short.fenceState({ region: fromRegion, identifier: source });
        Object.assign(oldPrimary, { reachable: true, fenced: s.fenced, status: s.status });
        journal.note('old-primary', `${source}: ${s.exists ? s.status : 'gone'}, ${s.fenced ? 'fenced' : 'not fenced'}${s.writable ? ', WRITABLE' : ''}`);
        // The replica is the writer: the old one stays behind its fence group with its sessions ended, and its group's
        // read_only is restored, so a replica a failback creates with that group can become the writer again.
        await releaseReadOnly('old-primary');
      });
    }
    status.databases = [{ name: db.name, identifier: target, region: toRegion, promoted: true, rpo: status.rpo, writerEndpoint: writer.endpoint }];
    const record = await run.complete({ target: writer.arn || undefined, after: { phase: 'completed', rpo: status.rpo, newWriter: target } });
    return { ...record, newWriter: { region: toRegion, identifier: target, endpoint: writer.endpoint, arn: writer.arn }, oldPrimary };
  } catch (err) {
    if (fencedByUs && !promoted) {
      // Never leave the writer fenced with no promoted replica to take its place. Not cancellable: a cancelled
      // run (an operator, a drill preempted by a real failover) unfences too.
      if (compensates()) await CancellationScope.nonCancellable(() => unfenceUnlessPromoted());
      else await unfenceUnlessPromoted();
    }
    // PromoteReadReplica accepted, then the run failed or was cancelled before the old writer's record: the replica
    // becomes the writer, and the old one stays behind its fence group, so read_only goes.
    if (promoted && readOnlyAsked) await releaseReadOnly('old-primary');
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    // A promotion found through its lost answer (followLostPromotion) is repointed whether cancelled or not: the run
    // failed only on the answer, and the old writer is fenced.
    if (promoted && !aurora && !repointed && input.repointWriter !== false && (cancelled || followedLost) && patched(REPOINT_ON_CANCEL)) {
      await CancellationScope.nonCancellable(async () => {
        try {
          await journal.run('repoint-writer', async () => {
            const state = await compensation.waitStandalone({ region: toRegion, identifier: target });
            if (!state.endpoint) throw new Error(`${target} has no endpoint address yet`);
            // Bounded as compensations are (15 minutes): a cancelled run never holds its runbook for the 12 h of `long`.
            journal.note('repoint-writer', `after the ${cancelled ? 'cancel' : 'failure'}: ${await repointWriter(rb, db, state.endpoint, compensation)}`);
          });
        } catch (e) {
          journal.note('repoint-writer', `after the ${cancelled ? 'cancel' : 'failure'}: ${db.writerRecord.name} NOT repointed: ${failureMessage(e)}; point it at ${target} by hand (${source} is fenced)`);
        }
      });
    }
    // A rejected or timed-out promote gate ends the run as rejected or aborted, as every run's gates do.
    return run.fail(err, { settle: () => (status.databases = [{ name: db.name, identifier: target, region: toRegion, promoted, rpo: status.rpo, error: status.error?.message }]) });
  }
}
