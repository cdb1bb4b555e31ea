import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { RecordState } from '../activities/route53';
import { databasesOf, dbIn, sideSettings, type NamedDatabase } from '../runbooks/databases';
import { FailureType } from '../contracts/failures';
import { compensation, long, probe, short } from './proxies';
import type { Gates } from './gates';
import { GATES_OF } from '../runbooks/approvers';
import { type RequesterIdentity } from '../contracts/identity';
import { runTag } from '../contracts/ids';
import { failureMessage } from './failure';
import { aboutDatabase, promoteEach } from './promoteEach';
import type { RunStatus } from '../contracts/run';
import { shiftProgressively } from './traffic';
import type { RunbookInput } from './trusted';
import { beginRun, locksRunbook, Run, TAKE_RUNBOOK_STEP } from './run';
import { untilAnswered } from './answered';
import { repointWriter } from './writer';
import { configSummary, type DbConfig } from '../contracts/dbconfig';
import { fingerprintComparison, type Fingerprint, type FingerprintComparison } from '../contracts/fingerprint';
import { fingerprintScope } from './fingerprint';
import { describeDivergence, divergence } from '../contracts/engines';

/** A drill's failback retires what it replaces per `drills.retention` (default delete), not the database's own retention. */
const DRILL_RETENTION = 'drill-retention-v1';
/** Patch: a cluster's scale-up registers its undo from a read made before the change (a retried scale re-reads the new size). */
const UNDO_BEFORE_SCALE = 'undo-before-scale-v1';
/** Patch: the switchback's undo runs outside the cancellation (a cancelled failback undoes too). */
const CANCEL_COMPENSATES = 'failback-cancel-compensates-v1';
/** Patch: after a data-plane failover, the records are made to say what DNS answered, then the original's control is restored. */
const RESTORE_CONTROLS = 'restore-controls-v1';
/**
 * Patch: the restore follows the alarm's data, not its state (Route 53 does): it runs unless the control is sound and
 * OK, refuses a changed control or a missing alarm whose health check is still attached before changing anything.
 */
const RESTORE_CONTROLS_BY_DATA = 'restore-controls-v2';
/**
 * Patch: a replica re-created in the other region from an encrypted writer is encrypted with a KMS key of its own
 * region (the runbook's `kmsKeyId` for that side, else the key of the instance it replaces); a failback with no such
 * key for the original region is refused at its assessment, before anything changes.
 */
const REPLICA_KMS = 'replica-kms-v1';
/**
 * Patch: a failback run again after an earlier one switched over (the original region's instance is standalone and
 * newer than the standby's writer), or after a switchover that stopped before its promotion with the standby left
 * fenced, is refused at its assessment: taking the original's writer for the old primary, it would fence and retire
 * the writer.
 */
const REFUSES_SWITCHED = 'failback-refuses-switched-v1';
/** Patch: a drill's failback that yields to a real unplanned failover ignores cancels from its switchover back to its end. */
const WHOLE_SWITCHBACK = 'failback-whole-switchback-v1';
/**
 * Patch: node groups go back to the scaling the team had (a live record on the cluster, made before drover changed the
 * group, activities/eks.ts): the standby's exactly (bounded), the original region's floor only (it serves: never
 * tightened), an undone scale-up of the original region exactly. Before it, each was set to min = desired = the
 * runbook's size (still so for a standby group without a live record).
 */
const CAPACITY_RESTORED = 'capacity-restored-v1';
/**
 * Patch: each replica the failback re-creates is made with the configuration of the instance it replaces, captured at
 * the assessment before anything changes (placement, groups, storage and its key, Multi-AZ, backups, monitoring,
 * protection, tags), resolved in its own region (activities/dbconfig.ts); what cannot be resolved is refused there.
 * Before it, a replica got only its class and a KMS key (replica-kms-v1), and RDS gave it defaults for the rest.
 */
const REPLICA_CONFIG = 'replica-config-v1';
/**
 * Patch: the topology report reads the fingerprint again and compares it, field by field, with the one the newest
 * failover of the runbook took before its first change (none when that one did not complete); the run's record carries the comparison
 * (`roundTrip`), and its report a check that fails on any difference.
 */
const ROUND_TRIP = 'failback-round-trip-v1';
/**
 * Patch: protecting each old primary reads its final write position from its engine (databases with `access`), once it
 * is fenced and before its forensic snapshot, and compares it with what the failover recorded (its RPO evidence): how
 * far the old primary got past the promotion, at most the writes the failover lost (docs/fence.md). Said in the
 * timeline and the run's record (`divergence`).
 */
const FAILBACK_DIVERGENCE = 'failback-divergence-v1';

export interface FailbackInput extends RunbookInput {
  reason: string;
  requestedBy: string;
  /** Recorded before requesters were verified at the start of the run (bound to the workflow id only): ignored since. */
  requesterIdentity?: RequesterIdentity;
  options?: { timeScale?: number; approvalTimeoutMs?: number };
}

/** Which resource plays which role after the failback, next to what it replaced. */
export interface TopologyReport {
  /** Per database of the runbook: its writer and its replica after the failback. */
  databases: Array<{
    name: string;
    writer: { region: string; identifier: string; arn: string };
    replica: { region: string; identifier: string; arn: string; source?: string };
  }>;
  retired: Array<{ region: string; identifier: string; action: string; retiredIdentifier?: string; snapshot?: string }>;
  traffic: RecordState[];
  compute: Array<{ region: string; cluster: string; nodeGroups: Record<string, number | undefined> }>;
  /** The round trip, compared field by field with the failover's fingerprint (since failback-round-trip-v1). */
  roundTrip?: FingerprintComparison;
}

export interface FailbackResult extends RunStatus {
  topology: TopologyReport;
  compensations: string[];
}


/**
 * Return a failed-over application to its original region: assess and protect the old primary,
 * re-establish replication toward the original region, approval, a planned switchover back with a
 * progressive traffic shift, then put the standby region back in its standby role.
 */
export async function failback(input: FailbackInput): Promise<FailbackResult> {
  const info = workflowInfo();
  const { rb, drill, requester } = await beginRun(input, { kind: 'failback', mode: 'planned', fromRegion: '', targetRegion: '', reason: input.reason, requestedBy: input.requestedBy });
  const original = rb.regions.primary;
  const standby = rb.regions.standby;
  const scale = input.options?.timeScale ?? 1;
  const stamp = new Date(info.runStartTime.getTime()).toISOString().replace(/[-:T]/g, '').slice(0, 12);
  // The run id's random tail (its head is a timestamp, shared by runs started close together).
  const tag = runTag(info.runId);
  const dbs = databasesOf(rb);
  const single = dbs.length === 1;
  const about = aboutDatabase(dbs.length);
  const primaryId = (d: NamedDatabase) => dbIn(rb, d, original);
  const standbyId = (d: NamedDatabase) => dbIn(rb, d, standby);
  const ids = (which: (d: NamedDatabase) => string) => dbs.map(which).join(', ');
  // A drill's failback: the drill's retention (a runbook parsed before it existed has none: the database's).
  const drillRetention = drill && patched(DRILL_RETENTION) ? rb.drills.retention : undefined;
  const retentionOf = (d: NamedDatabase) => drillRetention ?? d.retention;

  // Since runbook-lock-v1 a run that is not a child takes the runbook first (its own step).
  const locks = locksRunbook();
  const restoresControls = patched(RESTORE_CONTROLS);
  const restoresByData = restoresControls && patched(RESTORE_CONTROLS_BY_DATA);
  const controls = { runbook: rb.name, primary: original, standby };
  const keysReplicas = patched(REPLICA_KMS);
  const refusesSwitched = patched(REFUSES_SWITCHED);
  // A drill's failback its drill may cancel for a real unplanned failover (workflows/drill.ts): cancellable only before
  // its switchover back begins.
  const whole = drill?.yields === true && patched(WHOLE_SWITCHBACK);
  /** Per database: the KMS key a replica re-created in each region is encrypted with (set at the assessment, when its writer is encrypted). */
  const replicaKeys = new Map<NamedDatabase, { original?: string; standby?: string }>();
  /** The fingerprint the failover this failback reverses took before its first change (read at the assessment). */
  let baseline: { workflowId: string; fingerprint: Fingerprint } | undefined;
  /** Per database: what a replica re-created in each region is made with (set at the assessment, since replica-config-v1). */
  const replicaConfigs = new Map<NamedDatabase, { original: DbConfig; standby: DbConfig; engine?: string }>();
  const run = Run.open({
    rb,
    head: { kind: 'failback', mode: 'planned', fromRegion: standby, targetRegion: original, reason: input.reason, requestedBy: input.requestedBy },
    notifyAs: 'failback',
    drill: drill?.workflowId,
    timeScale: scale,
    plan: [
      ...(locks ? [TAKE_RUNBOOK_STEP] : []),
      { id: 'assess', title: single ? `Assess ${original} and the old primary ${ids(primaryId)}` : `Assess ${original} and the old primaries ${ids(primaryId)}` },
      { id: 'protect-old-primary', title: single ? `Fence, snapshot and retire the old primary (${retentionOf(dbs[0])})` : `Fence, snapshot and retire the old primaries (${drillRetention ?? 'each per its retention'})` },
      { id: 'reestablish-replication', title: single ? `Create replica ${ids(primaryId)} in ${original} from the current writer` : `Create replicas ${ids(primaryId)} in ${original} from the current writers` },
      { id: 'gate:failback', title: 'Approval: failback', gate: true },
      ...(restoresControls ? [{ id: 'restore-controls', title: `Restore the data-plane controls: the records first say what DNS answered, then ${original} is put back in DNS answers` }] : []),
      { id: 'scale-original', title: `Scale ${original} compute to active capacity` },
      { id: 'switchover-db', title: `Planned switchover of the writer back to ${original}` },
      ...rb.dns.shift.steps.map((p) => ({ id: `traffic-back-${p}`, title: `Shift traffic back to ${p}% ${original}, then soak` })),
      { id: 'return-standby', title: `Return ${standby} to its standby role` },
      { id: 'topology', title: 'Topology report' },
    ],
    gates: { autoApproveFor: drill?.autoApprove ? drill.workflowId : undefined, context: { requestedBy: input.requestedBy, requesterIdentity: input.requesterIdentity, drill: drill?.workflowId, requester } },
    objectives: true,
    start: { detail: `failback of ${rb.name} ${standby} -> ${original}: ${input.reason}`, after: { kind: 'failback', fromRegion: standby, targetRegion: original, drill: drill?.workflowId } },
  });
  const { journal, status } = run;
  const gates = run.gates as Gates;
  const compensations: string[] = [];
  const retired: TopologyReport['retired'] = [];
  // The undo of each switchback step, run in reverse if a later one fails.
  const undo: Array<{ what: string; run: () => Promise<unknown> }> = [];

  /** Snapshot a replaced instance for forensics, then keep (rename + tag) or delete it per the runbook. */
  async function retire(d: NamedDatabase, region: string, identifier: string, why: string, step: string): Promise<void> {
    const snapshotId = `${identifier}-final-${tag}`;
    const snap = await long.snapshotInstance({ region, identifier, snapshotId });
    journal.note(step, about(d, `final snapshot ${snap.snapshotId} (${snap.status})`));
    // The run's tag keeps two failbacks in the same minute (a drill, then a real one) from picking the same name.
    const out = await long.retireInstance({ region, identifier, policy: retentionOf(d), retiredIdentifier: `${identifier}-old-${stamp}-${tag.slice(-4)}`, reason: why });
    journal.note(step, `${identifier}: ${out.action}${out.retiredIdentifier ? ` as ${out.retiredIdentifier}` : ''}`);
    retired.push({ region, identifier, action: out.action, retiredIdentifier: out.retiredIdentifier, snapshot: snap.snapshotId });
  }

  try {
    // Who asked: verified here, before anything is done, when a gate forbids self-approval.
    if (gates.checksRequester()) await gates.start(GATES_OF.failback, input.options?.approvalTimeoutMs);
    // One run per runbook: its lock, taken before anything changes (a drill holding it is stopped first).
    if (locks) await run.exclusive('failback');

    /** The RPO evidence of the failover this failback reverses (bounded: never a reason to hold the failback). */
    async function failoverEvidence(): Promise<{ recorded?: Awaited<ReturnType<typeof probe.lastFailoverEvidence>> }> {
      status.divergence = [];
      try {
        return { recorded: await probe.lastFailoverEvidence({ runbook: rb.name }) };
      } catch (e) {
        if (isCancellation(e)) throw e;
        journal.note('protect-old-primary', `the failover's RPO evidence not read (${failureMessage(e)})`);
        return {};
      }
    }

    /**
     * One old primary's final write position, read once it is fenced, against what the failover recorded for its
     * promoted replica (unplanned: what the replica had received; planned: the writer's final position at the fence):
     * what lies past it was written to the old primary only, at most (WAL also holds the engine's own records), and is
     * kept in its forensic snapshot, taken next. Never a reason to stop the failback: what cannot be read is said so.
     */
    async function readDivergence(d: (typeof dbs)[number], recorded: Awaited<ReturnType<typeof probe.lastFailoverEvidence>>): Promise<void> {
      const access = d.access;
      if (!access || (d.engine !== 'postgres' && d.engine !== 'mariadb')) return;
      const evidence = recorded?.databases.find((x) => x.name === d.name && x.identifier === standbyId(d))?.evidence;
      const planned = recorded?.mode === 'planned';
      const promotedAt = planned ? evidence?.writer : evidence?.replica;
      const read = await probe.writerPosition({ region: original, identifier: primaryId(d), engine: d.engine, access, side: 'primary' }).catch((e: unknown) => {
        if (isCancellation(e)) throw e;
        return { reached: false as const, reason: failureMessage(e) };
      });
      const row: NonNullable<RunStatus['divergence']>[number] = { name: d.name, identifier: primaryId(d), note: '' };
      if (!read.reached) row.note = `its engine could not be read (${read.reason}): how far it got past the promotion is not known`;
      else {
        row.final = read.position;
        const past = promotedAt ? divergence(read.position, promotedAt) : undefined;
        if (promotedAt) row.promotedAt = promotedAt;
        if (past) row.past = past;
        const at = promotedAt ? promotedAt.received ?? promotedAt.value : '';
        const written = (past?.bytes ?? past?.transactions ?? 0) > 0;
        row.note =
          past && promotedAt
            ? planned
              ? `final position ${read.position.value}; it stopped at ${at} when ${recorded?.workflowId} fenced it: ${describeDivergence(past)}${written ? ', written after the fence' : ''}`
              : `final position ${read.position.value}; ${standbyId(d)} had ${at} when ${recorded?.workflowId} promoted it: ${describeDivergence(past)}${written ? ', written to the old primary only (lost by the failover; kept in its forensic snapshot)' : ''}`
            : `final position ${read.position.value}; ${recorded ? `${recorded.workflowId} recorded no position of ${standbyId(d)} to compare with` : 'no completed failover with engine evidence found to compare with'}`;
      }
      status.divergence?.push(row);
      journal.note('protect-old-primary', about(d, `old primary ${primaryId(d)}: ${row.note}`));
    }

    // 1. Assess the original region: reachable? each old primary there? still writable (split brain)?
    // A database whose replica was never promoted (a failover that stopped part-way) has nothing to fail back.
    const writers = await Promise.all(dbs.map((d) => short.describeDb({ region: standby, identifier: standbyId(d) })));
    const moved = dbs.map((d, i) => ({ d, writer: writers[i] })).filter((x) => x.writer.standalone);
    const olds = await journal.run('assess', async () => {
      if (moved.length === 0) {
        const which = single ? `${ids(standbyId)} in ${standby} is not the writer (still a replica)` : `none of ${ids(standbyId)} in ${standby} is a writer (all still replicas)`;
        throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${which}; nothing to fail back`, nonRetryable: true });
      }
      for (const d of dbs) if (!moved.some((m) => m.d === d)) journal.note('assess', about(d, `${standbyId(d)} is still a replica of ${primaryId(d)}; the writer never moved, nothing to fail back`));
      const assessed = await Promise.all(moved.map(async ({ d }) => {
        let state;
        try {
          state = await probe.fenceState({ region: original, identifier: primaryId(d) });
        } catch (err) {
          throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${original} APIs are not reachable (${failureMessage(err)}); failback needs the original region`, nonRetryable: true });
        }
        journal.note('assess', about(d, `${original} reachable; writer is ${standbyId(d)} in ${standby}`));
        journal.note('assess', about(d, state.exists ? `old primary ${primaryId(d)}: ${state.status}, ${state.fenced ? 'fenced' : 'not fenced'}${state.writable ? ', STILL WRITABLE (split-brain risk)' : ''}` : `old primary ${primaryId(d)} is gone`));
        return { ...state, d };
      }));
      if (refusesSwitched) {
        // An earlier failback that switched over left a writer in the original region that it had re-created: RDS's own
        // facts say so (standalone, created after the standby's writer), whatever the fence (none by default) or tags.
        // Taken for the old primary, it would be fenced and retired. A standby left fenced by a switchover that stopped
        // before its promotion is no writer to fail back from either.
        const stopped: string[] = [];
        for (const old of assessed) {
          const d = old.d;
          const writer = moved.find((m) => m.d === d)?.writer;
          if (!writer) continue;
          if (old.exists && old.standalone && old.createdAt !== undefined && writer.createdAt !== undefined && old.createdAt > writer.createdAt) {
            stopped.push(about(d, `${primaryId(d)} in ${original} writes on its own and was created after ${standbyId(d)} (an earlier failback re-created it and switched over to it): a failback now would fence and retire that writer`));
          } else if (writer.fencedByDrover) {
            stopped.push(about(d, `${standbyId(d)} in ${standby} carries drover's fence while ${primaryId(d)} in ${original} ${old.exists ? (old.standalone ? 'is older than it' : 'is still its replica') : 'is gone'}: a switchover stopped before its promotion and left it fenced; check its security groups, unfence it, then run drover failback again`));
          }
        }
        if (stopped.length > 0) {
          throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `nothing was changed: ${stopped.join('; ')} (docs/failback.md, "A failback that stopped after its switchover")`, nonRetryable: true });
        }
      }
      if (patched(REPLICA_CONFIG)) {
        // Each replica is re-created as the instance it replaces is, read now, before the old primary is fenced or
        // retired (a fenced one's groups are those before the fence), and resolved (keys, groups, subnet group by name)
        // in the replica's region. The failover's fingerprint gives only what a read now cannot: the backups the
        // promotion changed, and an instance already gone. Anything unresolved refuses the failback here, unchanged.
        try {
          baseline = await probe.lastFailoverFingerprint({ runbook: rb.name });
        } catch (err) {
          if (isCancellation(err)) throw err;
          journal.note('assess', `the failover's fingerprint not read (${failureMessage(err)}): each replica is made as the instance it replaces is now`);
        }
        const before = (region: string, identifier: string) => baseline?.fingerprint.databases.find((x) => x.region === region && x.identifier === identifier)?.config;
        if (baseline) journal.note('assess', `the topology before ${baseline.workflowId} (its fingerprint, ${baseline.fingerprint.takenAt}): the backups a promotion changed, and an instance already gone`);
        const problems: string[] = [];
        for (const old of assessed) {
          const d = old.d;
          const at = rb.databases ? `databases[${dbs.indexOf(d)}]` : 'database';
          const writerRead = await short.describeDbConfig({ region: standby, identifier: standbyId(d) });
          if (!writerRead.exists) throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${standbyId(d)} in ${standby} is not found; nothing was changed`, nonRetryable: true });
          const oldNow = old.exists ? await short.describeDbConfig({ region: original, identifier: primaryId(d) }) : undefined;
          // What is there now is what the replica is made as (the live read, never overridden: the baseline is another
          // run's result). Only an old primary already gone (a failback run again after retiring it) is taken as the
          // baseline found it, and the standby's replica gets back the backups its promotion changed ("Default: 1").
          const oldBefore = before(original, primaryId(d));
          const replaced = oldNow?.exists ? oldNow : oldBefore ? { region: original, identifier: primaryId(d), engine: writerRead.engine, fenced: false, config: oldBefore } : undefined;
          const replicaBefore = before(standby, standbyId(d));
          const writerNow = replicaBefore ? { ...writerRead, config: { ...writerRead.config, backupRetention: replicaBefore.backupRetention, backupWindow: replicaBefore.backupWindow } } : writerRead;
          const toOriginal = await short.resolveReplicaConfig({ region: original, identifier: primaryId(d), replaced, writer: writerRead, side: sideSettings(d.primary), securityGroupName: d.securityGroupName, at: `${at}.primary` });
          // The standby's replica replaces the writer there; its source will be the replica made in the original region.
          const future = { region: original, identifier: primaryId(d), engine: writerRead.engine, engineVersion: writerRead.engineVersion, fenced: false, config: toOriginal.config };
          const toStandby = await short.resolveReplicaConfig({ region: standby, identifier: standbyId(d), replaced: writerNow, writer: future, side: sideSettings(d.replica), securityGroupName: d.securityGroupName, at: `${at}.replica` });
          problems.push(...toOriginal.problems, ...toStandby.problems);
          replicaConfigs.set(d, { original: toOriginal.config, standby: toStandby.config, engine: writerRead.engine });
          journal.note('assess', about(d, `a replica in ${original} is made as ${oldNow?.exists ? `${primaryId(d)} is` : replaced ? `${primaryId(d)} was before ${baseline?.workflowId} (it is gone)` : `${standbyId(d)} is (${primaryId(d)} is gone)`}: ${configSummary(toOriginal)}`));
          journal.note('assess', about(d, `one in ${standby} as ${standbyId(d)} is${replicaBefore ? ', with the backups it had before the failover' : ''}: ${configSummary(toStandby)}`));
        }
        if (problems.length > 0) throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `nothing was changed: ${problems.join('; ')}`, nonRetryable: true });
      } else if (keysReplicas) {
        // KMS keys are regional: "If you create an encrypted read replica in a different AWS Region, then you must specify
        // a KMS key identifier for the destination AWS Region" (API_CreateDBInstanceReadReplica, KmsKeyId): the runbook's
        // key for that side when set, else the key of the instance the replica replaces (of that region).
        const missing: string[] = [];
        for (const old of assessed) {
          const d = old.d;
          const writer = moved.find((m) => m.d === d)?.writer;
          if (!writer?.kmsKeyId) continue;
          // The runbook's key when it names one (the team's choice, kept when the old instance's key is the reason for
          // the failover), else the key of the instance the replica replaces.
          const keys = { original: d.primary.kmsKeyId ?? old.kmsKeyId, standby: d.replica.kmsKeyId ?? writer.kmsKeyId };
          replicaKeys.set(d, keys);
          journal.note('assess', about(d, `${standbyId(d)} is encrypted; a replica in ${original} gets ${keys.original ? `KMS key ${keys.original} (${d.primary.kmsKeyId ? 'the runbook\'s' : `the key of ${primaryId(d)}`})` : 'no key'}, one in ${standby} KMS key ${keys.standby} (${d.replica.kmsKeyId ? 'the runbook\'s' : `the key of ${standbyId(d)}`})`));
          if (!keys.original) {
            const at = rb.databases ? `databases[${dbs.indexOf(d)}]` : 'database';
            missing.push(`${at}.primary.kmsKeyId: ${standbyId(d)} in ${standby} is encrypted, and the old primary ${primaryId(d)} in ${original} is ${old.exists ? 'not encrypted' : 'gone'}: a replica in ${original} needs a KMS key of ${original} (set ${at}.primary.kmsKeyId in the runbook)`);
          }
        }
        if (missing.length > 0) throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `nothing was changed: ${missing.join('; ')}`, nonRetryable: true });
      }
      return assessed;
    });

    // 2. Protect each old primary: it must never take traffic or become a replication source.
    const present = olds.filter((o) => o.exists);
    if (present.length > 0) {
      await journal.run('protect-old-primary', async () => {
        // How far each old primary got past what its replica had when promoted (failback-divergence-v1): read from the
        // engines once it is fenced, before its forensic snapshot; asked only of databases with engine access (other
        // runs' histories carry no marker).
        const divergent = present.some((o) => o.d.access) && patched(FAILBACK_DIVERGENCE) ? await failoverEvidence() : undefined;
        await Promise.all(present.map(async (old) => {
          const d = old.d;
          if (!old.fenced && d.fence.groupName) {
            const f = await long.fenceInstance({ region: original, identifier: primaryId(d), fenceGroupName: d.fence.groupName });
            journal.note('protect-old-primary', about(d, `fenced ${primaryId(d)}: ${f.previousGroups.join(', ')} -> ${f.fenceGroupId}`));
          } else if (!old.fenced) journal.note('protect-old-primary', about(d, 'no fence group in the runbook: the old primary was not fenced'));
          if (divergent && d.access) await readDivergence(d, divergent.recorded);
          await retire(d, original, primaryId(d), `old primary replaced by failback ${info.workflowId}; split-brain forensics`, 'protect-old-primary');
        }));
      });
    } else journal.skip('protect-old-primary', `no old primary ${moved.map((m) => primaryId(m.d)).join(', ')} in ${original}`);

    // 3. Re-establish replication toward the original region (long: heartbeats carry progress).
    await journal.run('reestablish-replication', async () => {
      await Promise.all(moved.map(async ({ d, writer }) => {
        const made = replicaConfigs.get(d);
        const kmsKeyId = made ? made.original.kmsKeyId : replicaKeys.get(d)?.original;
        const config = made ? { config: made.original, ...(made.engine ? { engine: made.engine } : {}) } : {};
        const r = await long.createReplica({ region: original, identifier: primaryId(d), sourceArn: writer.arn, instanceClass: d.instanceClass, ...(kmsKeyId ? { kmsKeyId } : {}), ...config, tags: { 'drover:runbook': rb.name } });
        journal.note('reestablish-replication', about(d, r.created ? `created ${primaryId(d)} from ${writer.arn}` : `${primaryId(d)} already replicates from ${writer.arn}`));
        for (const n of madeNotes(primaryId(d), r)) journal.note('reestablish-replication', about(d, n));
        const lag = await long.waitLagWithin({ region: original, identifier: primaryId(d), maxLagMs: d.maxReplicaLag, timeoutMs: 6 * 60 * 60_000 });
        journal.note('reestablish-replication', about(d, `available; lag ${lag.lagSeconds}s`));
      }));
    });

    // 4. Approval.
    await gates.step(journal, 'failback', `failback of ${rb.name} ${standby} -> ${original}: ${input.reason}`, input.options?.approvalTimeoutMs ?? 60 * 60_000);

    // 4b. After the approval (a failback refused at its gate changes no DNS answer). An unplanned failover withdrew the
    // original region through its control (Route 53 answered the standby's sets whatever the weights said). The weights,
    // failover roles and writer pairs are made to say that first, so putting the original back in DNS answers moves no
    // traffic; the shift back below then moves it step by step.
    if (restoresControls) {
      await journal.run('restore-controls', async () => {
        const [mine] = await short.readControls({ ...controls, regions: [original] });
        const rerun = `run drover prepare <the ${rb.name} runbook file> --apply (Route 53 answers again), then drover failback again`;
        const stop = (message: string) => ApplicationFailure.create({ type: FailureType.InvalidState, message, nonRetryable: true });
        if (!mine.exists) {
          if (restoresByData) {
            // The alarm is gone, but a health check on the original's sets keeps its last status (withdrawn, perhaps):
            // shifting traffic back would change nothing DNS answers. Refused before anything changes.
            const attached = (await short.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [original] })).filter((t) => t.healthChecks?.[original]);
            if (attached.length > 0) throw stop(`${original}'s record sets carry health checks (${attached.map((t) => `${t.name}: ${t.healthChecks?.[original]}`).join('; ')}) but ${mine.alarmName} is not found in ${mine.alarmRegion}: Route 53 keeps their last status, perhaps withdrawn; ${rerun}`);
          }
          return journal.note('restore-controls', `no control of ${original} (drover prepare not run): nothing to restore`);
        }
        if (restoresByData) {
          // Route 53 follows the alarm's data, not its state: an alarm made again (INSUFFICIENT_DATA), set by SetAlarmState
          // or changed may not say ALARM while the region is still out of DNS answers. Only a sound control that says OK
          // has nothing to restore; any other is restored (after a planned failover every change below is already so).
          if (mine.state === 'OK' && mine.problems.length === 0) return journal.note('restore-controls', `${original} is not withdrawn (${mine.alarmName} is OK)`);
          if (mine.problems.length > 0) throw stop(`the control of ${original} (${mine.alarmName} in ${mine.alarmRegion}) ${mine.problems.join('; ')}: ${rerun}`);
        } else if (mine.state !== 'ALARM') return journal.note('restore-controls', `${original} is not withdrawn (${mine.alarmName} is ${mine.state ?? 'unknown'})`);
        await long.shiftTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, fromRegion: original, toRegion: standby, percent: 100 });
        status.trafficPercent = 0;
        for (const { d, writer } of moved) {
          if (writer.endpoint) journal.note('restore-controls', about(d, await repointWriter(rb, d, writer.endpoint)));
        }
        const out = await long.setControl({ ...controls, region: original, withdrawn: false });
        journal.note('restore-controls', `records at 100% ${standby} (what DNS answered); ${mine.alarmName} in ${mine.alarmRegion} is ${out.state}${out.since ? ` since ${out.since}` : ''}: ${original} answers again where the records send it`);
      });
    }

    // 5-7. The switchback, with its compensation stack.
    try {
      await journal.run('scale-original', async () => {
        for (const c of rb.compute.clusters.filter((x) => x.region === original)) {
          const restore = patched(CAPACITY_RESTORED) ? { restore: 'exact' as const } : {};
          const backToStandby = { what: `${c.name} back to standby capacity`, run: () => long.scaleNodeGroups({ region: original, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.standby, max: g.max })), ...restore }) };
          // Undo only what this step changed: a region already at active capacity stays there. The sizes are read
          // before the change and the undo registered before it is asked for: a scale whose first attempt landed
          // and was retried reads its own new sizes as "before", and a cancel may come while it runs.
          if (patched(UNDO_BEFORE_SCALE)) {
            const now = await short.describeCompute({ region: original, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) });
            const atActive = c.nodeGroups.every((g) => now.nodeGroups.find((n) => n.name === g.name)?.desiredSize === g.active);
            if (!atActive) undo.push(backToStandby);
            // To its answer even if the run is cancelled meanwhile: its undo must not race it.
            await untilAnswered(true, () => long.scaleNodeGroups({ region: original, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.active, max: g.max })) }));
            continue;
          }
          const out = await long.scaleNodeGroups({ region: original, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.active, max: g.max })) });
          if (out.before.every((g, i) => g.desiredSize === c.nodeGroups[i].active)) continue;
          undo.push(backToStandby);
        }
      });
      const moveBack = async () => {
        await journal.run('switchover-db', async () => {
          // One planned switchover child per database that moved, in parallel; each runs to its end.
          const results = await promoteEach({ dbs: moved.map((m) => m.d), total: dbs.length, parentId: info.workflowId, suffix: 'switchover', input: { runbook: rb, toRegion: original, mode: 'planned', reason: input.reason, requestedBy: input.requestedBy }, journal, step: 'switchover-db', status });
          if (single) status.newWriterEndpoint = results[0].newWriter.endpoint;
        });
        undo.push({
          what: `traffic back to 100% ${standby}`,
          run: async () => {
            await long.shiftTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, fromRegion: standby, toRegion: original, percent: 0 });
            // The record says where traffic is: none on the original region after this undo.
            status.trafficPercent = 0;
          },
        });
        await shiftProgressively({ rb, fromRegion: standby, toRegion: original, scale, journal, prefix: 'traffic-back', onPercent: (p) => (status.trafficPercent = p) });
      };
      if (whole) await CancellationScope.nonCancellable(moveBack);
      else await moveBack();
    } catch (err) {
      // Not cancellable: a cancelled failback (an operator, a drill preempted) undoes its switchback too. (Runs
      // recorded before this patch undid in the cancelled scope, where every undo was refused.)
      const undoing = async () => {
        for (const u of undo.reverse()) {
          try {
            await u.run();
            compensations.push(`undone: ${u.what}`);
          } catch (e) {
            compensations.push(`NOT undone: ${u.what}: ${failureMessage(e)}`);
          }
        }
        for (const { d } of moved) {
          const writerNow = await short.describeDb({ region: original, identifier: primaryId(d) }).catch(() => undefined);
          compensations.push(
            about(d, writerNow?.standalone
              ? `database: the writer is ${primaryId(d)} in ${original} (promoted); ${standbyId(d)} stays fenced; ${d.writerRecord.name} points at the writer`
              : `database: the writer is still ${standbyId(d)} in ${standby}; ${primaryId(d)} stays its replica`),
          );
        }
      };
      if (patched(CANCEL_COMPENSATES)) await CancellationScope.nonCancellable(undoing);
      else await undoing();
      throw err;
    }

    const finish = async (): Promise<FailbackResult> => {
      // 8. The standby region back in its standby role.
      await journal.run('return-standby', async () => {
        const restores = patched(CAPACITY_RESTORED);
        for (const c of rb.compute.clusters.filter((x) => x.region === standby)) {
          const out = await long.scaleNodeGroups({ region: standby, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.standby, max: g.max })), ...(restores ? { restore: 'exact' as const } : {}) });
          if (restores) journal.note('return-standby', `${c.name}: ${capacityNote(out)}`);
        }
        journal.note('return-standby', `${standby} compute at standby capacity`);
        if (restores) {
          // The original region serves again: its floors as the team had them, never tightened (activities/eks.ts).
          // Bounded as compensations are, and a note if it cannot be done: the new replica below matters more.
          for (const c of rb.compute.clusters.filter((x) => x.region === original)) {
            try {
              const out = await compensation.scaleNodeGroups({ region: original, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.active, max: g.max })), restore: 'serving', timeoutMs: 8 * 60_000 });
              journal.note('return-standby', `${c.name}: ${capacityNote(out)}`);
            } catch (e) {
              journal.note('return-standby', `${c.name}: floors NOT restored (${failureMessage(e)}); the groups keep min = ${c.nodeGroups.map((g) => `${g.name} ${g.active}`).join(', ')}`);
            }
          }
        }
        await Promise.all(moved.map(async ({ d }) => {
          await retire(d, standby, standbyId(d), `writer replaced by failback ${info.workflowId}`, 'return-standby');
          const primaryNow = await short.describeDb({ region: original, identifier: primaryId(d) });
          // Encrypted since its source is (the replica made above): the runbook's key for the standby, else the key of the writer it replaced here.
          const made = replicaConfigs.get(d);
          const kmsKeyId = made ? made.standby.kmsKeyId : primaryNow.kmsKeyId && keysReplicas ? (replicaKeys.get(d)?.standby ?? d.replica.kmsKeyId) : undefined;
          const config = made ? { config: made.standby, ...(made.engine ? { engine: made.engine } : {}) } : {};
          const r = await long.createReplica({ region: standby, identifier: standbyId(d), sourceArn: primaryNow.arn, instanceClass: d.instanceClass, ...(kmsKeyId ? { kmsKeyId } : {}), ...config, tags: { 'drover:runbook': rb.name } });
          journal.note('return-standby', about(d, `${standbyId(d)} ${r.created ? 'created' : 'already'} replicating from ${primaryNow.arn}`));
          for (const n of madeNotes(standbyId(d), r)) journal.note('return-standby', about(d, n));
        }));
      });

      // 9. Topology report.
      const topology = await journal.run('topology', async (): Promise<TopologyReport> => {
        // Scheduled in this order (each database's writer then replica, then traffic), as before `databases`.
        const dbReads = Promise.all(dbs.map((d) => Promise.all([short.describeDb({ region: original, identifier: primaryId(d) }), short.describeDb({ region: standby, identifier: standbyId(d) })])));
        const trafficRead = short.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [original, standby] });
        const [states, traffic] = await Promise.all([dbReads, trafficRead]);
        const compute = await Promise.all(
          rb.compute.clusters.map(async (c) => {
            const d = await short.describeCompute({ region: c.region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) });
            return { region: c.region, cluster: c.name, nodeGroups: Object.fromEntries(d.nodeGroups.map((g) => [g.name, g.desiredSize])) };
          }),
        );
        const databases = dbs.map((d, i) => {
          const [w, r] = states[i];
          journal.note('topology', about(d, `writer ${w.identifier} (${original}); replica ${r.identifier} (${standby}) from ${r.replicationSource ?? '?'}`));
          return { name: d.name, writer: { region: original, identifier: w.identifier, arn: w.arn }, replica: { region: standby, identifier: r.identifier, arn: r.arn, source: r.replicationSource } };
        });
        if (patched(ROUND_TRIP)) {
          // The drill's own failover, or the real one this failback reverses: the newest failover of the runbook.
          // The switchback is done: a comparison that cannot be made is said, never the run's failure.
          let roundTrip: FingerprintComparison;
          try {
            if (baseline === undefined) baseline = await probe.lastFailoverFingerprint({ runbook: rb.name });
            roundTrip = fingerprintComparison(baseline ?? undefined, await probe.takeFingerprint(fingerprintScope(rb)));
          } catch (err) {
            if (isCancellation(err)) throw err;
            roundTrip = { differences: [], restoredExactly: false, missing: `the topology could not be read (${failureMessage(err)})` };
          }
          status.roundTrip = roundTrip;
          if (roundTrip.missing) journal.note('topology', `round trip not compared: ${roundTrip.missing}`);
          else if (roundTrip.restoredExactly) journal.note('topology', `restored exactly: equal, field by field, to the fingerprint ${roundTrip.baseline} took at ${roundTrip.baselineTakenAt} before its first change`);
          else for (const d of roundTrip.differences) journal.note('topology', `differs from before ${roundTrip.baseline}: ${d}`);
          return { databases, retired, traffic, compute, roundTrip };
        }
        return { databases, retired, traffic, compute };
      });
      const record = await run.complete({ after: { phase: 'completed', rpo: status.rpo, topology, ...(status.divergence ? { divergence: status.divergence } : {}) } }, { compensations });
      return { ...record, topology, compensations };
    };
    // A drill's failback that yields (its drill may cancel it for a real unplanned failover) runs from its switchover
    // to its end whatever the cancel: stopped half-way back, the standby would be fenced and the writer in the region
    // the real failover leaves.
    return whole ? await CancellationScope.nonCancellable(finish) : await finish();
  } catch (err) {
    return run.fail(err, { compensations: () => compensations, inMessage: true });
  }
}

/** What a re-created replica's notes say: the settings modified after its creation, and what RDS refused or defers. */
function madeNotes(identifier: string, r: { modified?: string[]; notes?: string[] }): string[] {
  return [...(r.modified?.length ? [`${identifier}: set ${r.modified.join(', ')} after its creation`] : []), ...(r.notes ?? [])];
}

/** What a restoring scale left: each group's min/desired/max, and which came back from the team's record. */
function capacityNote(out: { after: Array<{ name: string; minSize?: number; desiredSize?: number; maxSize?: number }>; restored?: string[]; notes?: string[] }): string {
  const restored = new Set(out.restored ?? []);
  const groups = out.after.map((g) => `${g.name} min=${g.minSize} desired=${g.desiredSize} max=${g.maxSize}${restored.has(g.name) ? ' (as the team had it)' : ''}`).join(', ');
  return [groups, ...(out.notes ?? [])].join('; ');
}
