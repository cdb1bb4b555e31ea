import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { LagReading } from '../activities/rds';
import { databasesOf, sideSettings, writerZone, writerZoneId, type NamedDatabase } from '../runbooks/databases';
import { FailureType } from '../contracts/failures';
import { PASSING_STATUSES, WRITER_STATUSES } from '../contracts/rds-status';
import { compensation, long, probe as preflight, short } from './proxies';
import type { RunStatus } from '../contracts/run';
import type { Gates } from './gates';
import { GATES_OF } from '../runbooks/approvers';
import { type RequesterIdentity } from '../contracts/identity';
import type { Journal } from './journal';
import { failureMessage, failureType } from './failure';
import { beginRun, locksRunbook, Run, takeRunbook } from './run';
import { repointWriter } from './writer';
import { aboutDatabase, promoteEach } from './promoteEach';
import { ALARM_INSUFFICIENT_DATA, alarmPolicyOf, shiftProgressively } from './traffic';
import type { DrillLink, RunbookInput } from './trusted';
import { controlOf, coverageOf, detectionMs } from '../contracts/controls';
import { untilAnswered } from './answered';
import type { Fingerprint } from '../contracts/fingerprint';
import { fingerprintScope } from './fingerprint';

/** Patch id: the database step runs the promoteReplica runbook as a child (histories before it replay the inline path). */
const PROMOTE_AS_CHILD = 'promote-as-child-v1';
/** Patch id: the target region's clusters scale in parallel (histories before it scaled them one by one). */
const PARALLEL_CLUSTERS = 'parallel-clusters-v1';
/** Patch id: a real failover first stops the runbook's running drills (they fail back), then proceeds. */
const PREEMPT_DRILLS = 'preempt-drills-v1';
/** Preflight also checks the target's probes answer and each writer record exists (before it, the first traffic step found a wrong URL). */
const PREFLIGHT_ENDPOINTS = 'preflight-endpoints-v1';
/** Patch id: a target region that is not the standby fails the run like any failure (run.end written, the trail drained). */
const TARGET_IN_RUN = 'target-in-run-v1';
/** Patch: a standby that drover itself promoted (its tag) is resumed from, not refused: a failed failover can be run again. */
const RESUME_PROMOTED = 'resume-promoted-v1';
/** Patch: the compute and database steps are awaited together to their ends (a cancelled or failed one never leaves its promotion child running). */
const ACT_SETTLED = 'act-settled-v1';
/**
 * Patch: preflight asks IAM whether the worker's own role allows what the run will ask of AWS (iam:SimulatePrincipalPolicy,
 * activities/permissions.ts) and names each action refused, before anything changes. Not when the lost region is
 * us-east-1, where IAM's API is served (an unplanned failover calls nothing there).
 */
const IAM_PREFLIGHT = 'iam-preflight-v1';
/** Patch: a ReplicaLag of -1 (replication not running, RDS User Guide USER_ReadRepl) stops a failover from a live primary at preflight. */
const NEGATIVE_LAG = 'negative-lag-v1';
/**
 * Patch: preflight reads the target alarms by the runbook's INSUFFICIENT_DATA policy (checkAlarmTargets: healthy by
 * default, with a note for an alarm that would read healthy once its metric stopped); before it, any state but OK failed it.
 */
/** Patch: an instance passing through a state is a preflight note (the steps wait for it); a promoted one backing up takes writes. */
const RDS_PASSING_STATES = 'rds-passing-states-v1';
/**
 * Patch: an unplanned failover moves traffic and writer records through Route 53's data plane (drover prepare's
 * controls, docs/region-loss.md) and calls no Route 53 API; a planned one's preflight notes controls not ready.
 */
const DATA_PLANE = 'data-plane-unplanned-v1';
/** Patch: a failover stopped after a promotion but before its writer record was repointed points it at the new writer. */
const REPOINTS_PROMOTED = 'failover-repoints-promoted-v1';
/**
 * Patch: the standby's scale-up requests run to their answer when the run is cancelled (untilAnswered), then the wait
 * for the nodes, cancellable: an undo after it (a drill's rollback) never races a request still on its way, and a
 * cancel is not held for the scale-up's whole wait.
 */
const SCALE_TO_ITS_ANSWER = 'failover-scale-to-its-answer-v1';
/**
 * Patch: a planned failover reads the topology fingerprint (records, databases and their configuration, node groups,
 * alarms) after its preflight, before its gate and first change, and returns it in its result: the baseline its
 * failback compares with (contracts/fingerprint.ts).
 */
const FINGERPRINT = 'failover-fingerprint-v1';

export type { DrillLink };

export type FailoverMode = 'planned' | 'unplanned';

export interface FailoverInput extends RunbookInput {
  targetRegion: string;
  mode: FailoverMode;
  reason: string;
  requestedBy: string;
  /** Recorded before requesters were verified at the start of the run (bound to the workflow id only): ignored since. */
  requesterIdentity?: RequesterIdentity;
  options?: {
    /** Multiplies soak times and health intervals (e.g. 0.05 for a demo); 1 in production. */
    timeScale?: number;
    /** How long the approval gate waits before the run aborts. Default 1 h. */
    approvalTimeoutMs?: number;
  };
}

/** The run's record, and (planned, since failover-fingerprint-v1) the topology it found before its first change. */
export type FailoverResult = RunStatus & { fingerprint?: Fingerprint };


/**
 * Move an application from its primary region to the standby: preflight, approval, compute and
 * database in parallel, writer endpoint, health-gated progressive traffic shift, verification.
 */
export async function regionFailover(input: FailoverInput): Promise<FailoverResult> {
  const { targetRegion, mode } = input;
  const info = workflowInfo();
  const startedAt = info.runStartTime.getTime();
  const { rb, drill, requester } = await beginRun(input, { kind: 'failover', mode, fromRegion: '', targetRegion, reason: input.reason, requestedBy: input.requestedBy });
  const fromRegion = rb.regions.primary;
  const scale = input.options?.timeScale ?? 1;
  const primaryLost = mode === 'unplanned';
  // Read at the same point of every run, planned or not.
  const controlsPatch = patched(DATA_PLANE);
  const dataPlane = primaryLost && controlsPatch;
  const controls = { runbook: rb.name, primary: rb.regions.primary, standby: rb.regions.standby };
  const fromControl = controlOf(rb, fromRegion);

  const dbs = databasesOf(rb);
  const single = dbs.length === 1;
  const about = aboutDatabase(dbs.length);
  const run = Run.open({
    rb,
    head: { kind: 'failover', mode, fromRegion, targetRegion, reason: input.reason, requestedBy: input.requestedBy },
    notifyAs: 'failover',
    drill: drill?.workflowId,
    timeScale: scale,
    plan: [
      ...(drill ? [] : [{ id: 'preempt-drills', title: 'Stop running drills (a real failover takes precedence)' }]),
      { id: 'preflight', title: 'Preflight checks' },
      { id: 'gate:failover', title: 'Approval: failover', gate: true },
      { id: 'scale-compute', title: `Scale ${targetRegion} compute to active capacity`, group: 'act' },
      { id: 'promote-database', title: single ? `Promote replica ${dbs[0].replica.identifier}` : `Promote ${dbs.length} replicas in parallel (${dbs.map((d) => d.name).join(', ')})`, group: 'act' },
      ...(dataPlane
        ? [{ id: 'withdraw-region', title: `Take ${fromRegion} out of DNS answers through Route 53's data plane (records and writer records at once)` }]
        : [
            { id: 'repoint-writer', title: single ? `Point ${dbs[0].writerRecord.name} at the new writer` : `Point ${dbs.length} writer records at the new writers` },
            ...rb.dns.shift.steps.map((p) => ({ id: `traffic-${p}`, title: `Shift traffic to ${p}% ${targetRegion}, then soak` })),
          ]),
      { id: 'verify', title: 'Final verification' },
    ],
    gates: { autoApproveFor: drill?.autoApprove ? drill.workflowId : undefined, context: { requestedBy: input.requestedBy, requesterIdentity: input.requesterIdentity, drill: drill?.workflowId, requester } },
    objectives: true,
    start: { detail: `${mode} failover of ${rb.name} ${fromRegion} -> ${targetRegion}: ${input.reason}`, after: { kind: 'failover', mode, fromRegion, targetRegion, drill: drill?.workflowId } },
  });
  const { journal, status } = run;
  const gates = run.gates as Gates;

  const badTarget = targetRegion !== rb.regions.standby
    ? ApplicationFailure.create({ type: FailureType.Validation, message: `target region ${targetRegion} is not the standby region ${rb.regions.standby} of ${rb.name}`, nonRetryable: true })
    : undefined;
  // Since this patch a wrong target ends the run like any failure (run.end, the trail drained); before it, it ended it at once.
  const targetInRun = patched(TARGET_IN_RUN);
  if (badTarget && !targetInRun) throw badTarget;
  const targetClusters = rb.compute.clusters.filter((c) => c.region === targetRegion);
  const alarms = (region: string) => rb.health.alarms[region] ?? [];
  const alarmPolicy = { insufficientData: rb.health.insufficientData, insufficientDataByAlarm: rb.health.insufficientDataByAlarm };
  const probes = (region: string) => rb.health.probes[region] ?? [];
  let lastLag: LagReading | null = null;

  try {
    if (badTarget) throw badTarget;
    // Who asked: verified here, before anything is done, when a gate forbids self-approval.
    if (gates.checksRequester()) await gates.start(GATES_OF.failover, input.options?.approvalTimeoutMs);

    // A drill's failover goes on only while its drill holds the runbook: a real run that took it stops this one
    // before its next step (the drill then rolls back, and the real run waits for that).
    if (drill?.locked) {
      journal.guardWith(async (id) => {
        const holder = await short.runbookHolder({ runbook: rb.name });
        if (holder?.workflowId === drill.workflowId) return;
        const by = holder ? `a real ${holder.kind} (${holder.workflowId})` : 'no run';
        throw ApplicationFailure.create({ type: FailureType.Preempted, message: `the drill no longer holds ${rb.name}: ${by} holds it now; stopped before ${id}`, nonRetryable: true });
      });
    }

    // 0. The runbook's lock; drills yield to a real failover: each is cancelled, fails back (or, past its promotion, hands
    // its standby over), and closes before preflight.
    if (!drill) {
      if (patched(PREEMPT_DRILLS)) {
        await journal.run('preempt-drills', async () => {
          const drills = locksRunbook() ? (await takeRunbook(rb.name, 'failover', false)).drills : [];
          const stopped = await long.preemptDrills({ runbook: rb.name, ...(drills.length > 0 ? { drills } : {}) });
          // A cancelled drill fails back, or, past its promotion, hands the standby it promoted over to this run (drill.ts).
          journal.note('preempt-drills', stopped.length === 0 ? 'no drill running' : `cancelled, and ended (failed back, or handed over its promoted standby): ${stopped.join(', ')}`);
        });
      } else journal.skip('preempt-drills', 'recorded before drills existed');
    }

    // Since failover-fingerprint-v1 a planned failover reads the topology before its gate, and its preflight checks that
    // each database's failback could re-create its replicas (keys, groups, subnet groups found in their regions).
    const fingerprints = mode === 'planned' && patched(FINGERPRINT);
    // 1. Preflight: every check runs, every failure is listed, nothing changes.
    await journal.run('preflight', async () => {
      // Instances passing through a state (contracts/rds-status.ts): read here once, at the same point of every run.
      const passing = patched(RDS_PASSING_STATES);
      const checks: Array<[string, () => Promise<string[]>]> = [
        ...dbs.map((d): [string, () => Promise<string[]>] => [
          about(d, 'replica'),
          async () => {
            const db = await preflight.describeDb({ region: targetRegion, identifier: d.replica.identifier });
            const problems: string[] = [];
            // Passing through a state (its backup window, a modification): RDS refuses the promotion meanwhile. Unplanned,
            // nothing is fenced, so the promotion waits for it (a few minutes at most, then refused); planned, the fence
            // would hold writes for as long, so it is a problem. drover's own promotion in its first backup takes writes:
            // the resume check below decides.
            const busy = passing && !db.standalone && PASSING_STATUSES.has(db.status);
            const promotedWriter = passing && db.standalone && db.promotedByDrover && WRITER_STATUSES.has(db.status);
            if (busy && primaryLost) journal.note('preflight', `replica ${db.identifier} is ${db.status}: RDS refuses its promotion until it is available, and the promotion waits for that`);
            else if (busy) problems.push(`replica ${db.identifier} is ${db.status}, not available: RDS refuses to promote it until it is; run again once it is (a planned failover does not fence its primary for that long)`);
            else if (db.status !== 'available' && !promotedWriter) problems.push(`replica ${db.identifier} is ${db.status}, not available`);
            // A failover that failed past its promotion is run again: drover's own promotion (its tag) is where
            // this run resumes (every later step is idempotent). A drill never starts from a promoted standby.
            if (db.standalone && db.promotedByDrover && !drill && patched(RESUME_PROMOTED)) {
              // Resumed only onto drover's own promotion (RDS cleared the source; the tag alone is not proof), a target
              // that is not fenced (a failback fences the writer it replaces), and, planned, an old primary still fenced
              // (otherwise it may have taken writes since the promotion, which the promoted standby does not have).
              if (db.replicationSource !== undefined) return [...problems, `replica ${db.identifier} carries drover's promotion tag but still replicates from ${db.replicationSource}: not resumed`];
              if ((await preflight.fenceState({ region: targetRegion, identifier: d.replica.identifier })).fenced) return [...problems, `${db.identifier} was promoted by drover but is fenced now: it is not the writer (a failback replaced it?)`];
              if (!primaryLost && !(await preflight.fenceState({ region: fromRegion, identifier: d.primary.identifier })).fenced) {
                return [...problems, `${db.identifier} was promoted by an earlier drover run, but the old primary ${d.primary.identifier} is not fenced: it may have taken writes since; fence it (or fail back) before resuming`];
              }
              journal.note('preflight', about(d, `${db.identifier} was promoted by an earlier drover run: this failover resumes from there`));
              return problems;
            }
            if (db.standalone) problems.push(`replica ${db.identifier} is not a read replica (${db.promotedByDrover ? 'promoted by drover: a drill does not start from a promoted standby; fail back first' : 'promoted outside drover?'})`);
            const lag = await preflight.replicaLag({ region: targetRegion, identifier: d.replica.identifier });
            if (single) lastLag = lag;
            if (!lag) problems.push(`no ReplicaLag datapoint for ${db.identifier} in the last 10 minutes`);
            else if (lag.lagSeconds < 0 && !primaryLost && patched(NEGATIVE_LAG)) {
              // "A ReplicaLag value of -1 means that replication isn't active" (RDS User Guide): no bound is met.
              problems.push(`replica ${db.identifier} reports ReplicaLag ${lag.lagSeconds} at ${lag.observedAt}: replication from ${fromRegion} is not running, so the replica may miss any number of writes; repair replication first`);
            } else if (lag.lagSeconds * 1000 > d.maxReplicaLag && !primaryLost) {
              problems.push(`replica lag ${lag.lagSeconds}s exceeds the bound of ${d.maxReplicaLag / 1000}s`);
            }
            return problems;
          },
        ]),
        ...targetClusters.map((c): [string, () => Promise<string[]>] => [
          `compute ${c.name}`,
          async () => (await preflight.describeCompute({ region: targetRegion, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) })).problems,
        ]),
        // Unplanned, Route 53's API is never called (its control plane is in us-east-1, perhaps the region lost).
        ...(dataPlane ? [] : [['records', async () => (await preflight.missingRecords({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [fromRegion, targetRegion] })).map((m) => `missing record ${m}`)] as [string, () => Promise<string[]>]]),
        [
          'target alarms',
          async () => {
            if (patched(ALARM_INSUFFICIENT_DATA)) {
              const out = await preflight.checkAlarmTargets({ region: targetRegion, alarms: alarms(targetRegion), ...alarmPolicy });
              for (const n of out.notes) journal.note('preflight', n);
              return out.problems;
            }
            return Object.entries(await preflight.alarmStates({ region: targetRegion, alarms: alarms(targetRegion) }))
              .filter(([, s]) => s !== 'OK')
              .map(([n, s]) => `alarm ${n} in ${targetRegion} is ${s}`);
          },
        ],
      ];
      if (patched(PREFLIGHT_ENDPOINTS)) {
        // What a later, irreversible step would otherwise find first: a wrong probe URL, a missing writer record.
        if (probes(targetRegion).length > 0) {
          checks.push([
            'target probes',
            async () => {
              const out = await preflight.checkProbeTargets({ region: targetRegion, probes: probes(targetRegion) });
              for (const n of out.notes) journal.note('preflight', n);
              return out.problems;
            },
          ]);
        }
        for (const d of dataPlane ? [] : dbs) {
          checks.push([
            about(d, 'writer record'),
            async () => {
              const zone = writerZone(rb, d);
              const value = await preflight.readCname({ zone, zoneId: writerZoneId(rb, d), name: d.writerRecord.name });
              return value === undefined ? [`${d.writerRecord.name} has no CNAME in zone ${zone} (the application's writer endpoint; create it pointing at ${d.primary.identifier})`] : [];
            },
          ]);
        }
      }
      // Its notes are said after every check ran, at the same place in each run (the checks run together).
      const permissionNotes: string[] = [];
      if (patched(IAM_PREFLIGHT) && !(primaryLost && fromRegion === 'us-east-1')) {
        checks.push([
          'worker permissions',
          async () => {
            // The check is advice: an activity that failed (timed out, its worker gone) is said, never a refusal.
            try {
              const out = await preflight.checkPermissions({ runbook: rb, stsRegion: targetRegion });
              permissionNotes.push(...out.notes);
              return out.problems;
            } catch (err) {
              if (isCancellation(err)) throw err; // the run is being cancelled: that is not the check's to swallow
              permissionNotes.push(`worker permissions not checked: ${failureMessage(err)}`);
              return [];
            }
          },
        ]);
      }
      if (dataPlane) {
        checks.push([
          `control of ${fromRegion}`,
          async () => {
            // The mark says drover prepare attached every set of these records (Route 53's API cannot be asked now).
            const [c] = await preflight.readControls({ ...controls, regions: [fromRegion], coverage: coverageOf(rb) });
            if (!c.exists || c.problems.length > 0) return [`${c.problems.join('; ')}: ${fromRegion} cannot be taken out of DNS answers without Route 53's API; run drover prepare <the ${rb.name} runbook file> --apply while Route 53 answers (docs/region-loss.md)`];
            journal.note('preflight', `control of ${fromRegion}: ${c.alarmName} in ${c.alarmRegion} is ${c.state ?? 'unknown'}; Route 53's API is not used (data plane)`);
            // What else the run sends to the lost region: said, not refused (its calls fail and are retried or noted).
            const inLost = [
              ...(rb.notifications?.snsTopicArn.split(':')[3] === fromRegion ? [`notifications.snsTopicArn (${rb.notifications.snsTopicArn})`] : []),
              ...(rb.audit?.s3?.region === fromRegion ? [`audit.s3.region (bucket ${rb.audit.s3.bucket})`] : []),
            ];
            if (inLost.length > 0) journal.note('preflight', `in the lost region ${fromRegion}: ${inLost.join('; ')}: move it to a surviving region (docs/region-loss.md)`);
            return [];
          },
        ]);
      } else if (controlsPatch) {
        // Readiness for the day Route 53's API is gone: a note, a planned failover does not need the controls. CloudWatch
        // only (the alarms and their ready marks): `drover prepare FILE` also reads whether every set is attached.
        checks.push([
          'data-plane controls',
          async () => {
            const readings = await preflight.readControls({ ...controls, regions: [fromRegion], coverage: coverageOf(rb) }).catch((e: unknown) => failureMessage(e));
            if (typeof readings === 'string') {
              journal.note('preflight', `data-plane controls not read (${readings})`);
              return [];
            }
            const unready = readings.filter((c) => !c.exists || c.problems.length > 0).map((c) => c.region);
            if (unready.length > 0) journal.note('preflight', `data-plane controls not ready for ${unready.join(', ')}: an unplanned failover would be refused; run drover prepare <the ${rb.name} runbook file> --apply`);
            for (const c of readings.filter((x) => x.state === 'ALARM')) journal.note('preflight', `the control of ${c.region} (${c.alarmName} in ${c.alarmRegion}) is ALARM: ${c.region} is out of DNS answers`);
            return [];
          },
        ]);
      }
      if (!primaryLost) {
        for (const d of dbs) {
          checks.push([
            about(d, 'primary database'),
            async () => {
              const db = await preflight.describeDb({ region: fromRegion, identifier: d.primary.identifier });
              if (db.status === 'available') return [];
              // Its backup window or a modification: the fence waits for it to end before swapping its groups.
              if (passing && PASSING_STATUSES.has(db.status)) {
                journal.note('preflight', `primary ${db.identifier} is ${db.status}: the fence waits until it is available`);
                return [];
              }
              return [`primary ${db.identifier} is ${db.status}`];
            },
          ]);
        }
      } else {
        journal.note('preflight', `unplanned: primary region ${fromRegion} not contacted (assumed lost)`);
      }
      if (fingerprints) {
        // The way back: a failback re-creates a replica in each region as the instance it replaces is. A key, group or
        // subnet group it could not find there would refuse that failback; refused here instead, before anything changes.
        for (const d of dbs.filter((x) => x.engine !== 'aurora-global')) {
          const at = rb.databases ? `databases[${dbs.indexOf(d)}]` : 'database';
          checks.push([
            about(d, 'the way back (a failback re-creates both replicas)'),
            async () => {
              const [p, r] = await Promise.all([preflight.describeDbConfig({ region: fromRegion, identifier: d.primary.identifier }), preflight.describeDbConfig({ region: targetRegion, identifier: d.replica.identifier })]);
              if (!p.exists || !r.exists) return [];
              const [back, out] = await Promise.all([
                preflight.resolveReplicaConfig({ region: fromRegion, identifier: d.primary.identifier, replaced: p, writer: r, side: sideSettings(d.primary), securityGroupName: d.securityGroupName, at: `${at}.primary` }),
                preflight.resolveReplicaConfig({ region: targetRegion, identifier: d.replica.identifier, replaced: r, writer: p, side: sideSettings(d.replica), securityGroupName: d.securityGroupName, at: `${at}.replica` }),
              ]);
              return [...back.problems, ...out.problems];
            },
          ]);
        }
      }
      const results = await Promise.all(checks.map(async ([name, check]) => {
        try {
          return (await check()).map((p) => `${name}: ${p}`);
        } catch (err) {
          return [`${name}: ${failureMessage(err)}`];
        }
      }));
      const problems = results.flat();
      for (const n of permissionNotes) journal.note('preflight', n);
      journal.note('preflight', problems.length === 0 ? `${checks.length} checks passed` : `${problems.length} of the checks failed`);
      if (problems.length > 0) {
        throw ApplicationFailure.create({ type: FailureType.PreflightFailed, message: `preflight failed, nothing was changed:\n- ${problems.join('\n- ')}`, nonRetryable: true, details: [problems] });
      }
    });

    // 1b. What the failback will compare with: read before anything changes. Planned only: an unplanned failover does not
    // wait on reads of a region that may be lost (its failback then has no baseline, and says so).
    let fingerprint: Fingerprint | undefined;
    if (fingerprints) {
      try {
        fingerprint = await preflight.takeFingerprint(fingerprintScope(rb));
        journal.note('preflight', `topology fingerprint: ${fingerprint.records.length} record sets, ${fingerprint.databases.length} DB instances, ${fingerprint.nodeGroups.length} node groups, ${fingerprint.alarms.length} alarms${fingerprint.unread.length ? `; not read: ${fingerprint.unread.join('; ')}` : ''}`);
      } catch (err) {
        if (isCancellation(err)) throw err;
        journal.note('preflight', `topology fingerprint not taken (${failureMessage(err)}): the failback will have nothing to compare with`);
      }
    }

    // 2. Approval.
    await gates.step(journal, 'failover', `${mode} failover of ${rb.name} ${fromRegion} -> ${targetRegion}: ${input.reason}`, input.options?.approvalTimeoutMs ?? 60 * 60_000);

    // 3. Compute and database in parallel; each runs to its end (a promotion child still compensating when the
    // scale-up failed or was cancelled is awaited, so the run's record says what it did).
    const together = patched(ACT_SETTLED) ? allToTheirEnds : <A, B>(ps: [Promise<A>, Promise<B>]) => Promise.all(ps);
    const [, writers] = await together([
      journal.run('scale-compute', async () => {
        const toItsAnswer = patched(SCALE_TO_ITS_ANSWER);
        const scale = async (c: (typeof targetClusters)[number]) => {
          const target = { region: targetRegion, cluster: c.name, groups: c.nodeGroups.map((g) => ({ name: g.name, size: g.active, max: g.max })) };
          if (!toItsAnswer) {
            const out = await long.scaleNodeGroups(target);
            journal.note('scale-compute', `${c.name}: ${out.after.map((g) => `${g.name}=${g.desiredSize}`).join(', ')}`);
            return;
          }
          // The requests run to their answer (5 minutes at most: waiting out another update in progress); the wait for
          // the nodes stays cancellable and sends nothing, so a cancel (a drill preempted) is neither held for the
          // scale-up's 30 minutes nor followed by a scale-up sent after the undo. Requests not sent within the 5 minutes
          // are left to the wait (cancellable), which then sends them.
          let follow: Record<string, string[]> | undefined;
          try {
            const sent = await untilAnswered(true, () => long.scaleNodeGroups({ ...target, sendOnly: true, timeoutMs: 5 * 60_000 }));
            follow = sent.updates;
            for (const n of sent.notes ?? []) journal.note('scale-compute', `${c.name}: ${n}`);
          } catch (e) {
            if (isCancellation(e) || failureType(e) !== FailureType.WaitTimedOut) throw e;
            journal.note('scale-compute', `${c.name}: requests not sent within 5 minutes (${failureMessage(e)}); the wait sends them`);
          }
          const out = await long.scaleNodeGroups(follow ? { ...target, waitOnly: true, follow } : target);
          journal.note('scale-compute', `${c.name}: ${out.after.map((g) => `${g.name}=${g.desiredSize}`).join(', ')}`);
        };
        if (patched(PARALLEL_CLUSTERS)) {
          // Every cluster's scale-up settled before the step ends (failed or cancelled): none is left sending after it.
          if (toItsAnswer) {
            const settled = await Promise.allSettled(targetClusters.map(scale));
            const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
            if (failed) throw failed.reason;
          } else await Promise.all(targetClusters.map(scale));
        } else for (const c of targetClusters) await scale(c);
      }),
      journal.run('promote-database', async (): Promise<Array<{ db: NamedDatabase; identifier: string; endpoint?: string }>> => {
        if (patched(PROMOTE_AS_CHILD)) {
          const results = await promoteEach({ dbs, total: dbs.length, parentId: info.workflowId, suffix: 'promote', input: { runbook: rb, toRegion: targetRegion, mode, reason: input.reason, requestedBy: input.requestedBy, repointWriter: false }, journal, step: 'promote-database', status });
          return results.map((r, i) => ({ db: dbs[i], identifier: r.newWriter.identifier, endpoint: r.newWriter.endpoint }));
        }
        // Recorded before the promotion ran as a child (one database then).
        const d = dbs[0];
        const id = d.replica.identifier;
        lastLag = (await short.replicaLag({ region: targetRegion, identifier: id })) ?? lastLag;
        const p = await short.promoteReplica({ region: targetRegion, identifier: id, runRef: `${info.workflowId}/${info.runId}` });
        journal.note('promote-database', p.alreadyPromoted ? `${id} was already standalone; not promoted again` : `PromoteReadReplica accepted (request ${p.requestId ?? 'n/a'})`);
        const db = await long.waitStandalone({ region: targetRegion, identifier: id });
        journal.note('promote-database', `${id} is standalone and ${db.status}`);
        return [{ db: d, identifier: db.identifier, endpoint: db.endpoint }];
      }),
    ]);
    if (!status.rpo && lastLag) {
      const lag: LagReading = lastLag;
      status.rpo =
        lag.lagSeconds < 0
          ? { lagSeconds: -1, observedAt: lag.observedAt, note: `ReplicaLag ${lag.lagSeconds} before promotion (replication not running); data loss window unknown` }
          : { lagSeconds: lag.lagSeconds, observedAt: lag.observedAt, note: 'replica lag last observed before promotion (writes were not fenced)' };
    }

    if (dataPlane) {
      // 4-5. All at once, as weights are control plane: the lost region's control flips, and Route 53's health checks
      // take its record sets and its writer sets out of DNS answers (the standby's sets answer).
      await journal.run('withdraw-region', async () => {
        const out = await untilAnswered(true, () => long.setControl({ ...controls, region: fromRegion, withdrawn: true }));
        status.trafficPercent = 100;
        const detection = detectionMs(rb, dbs.map((d) => d.writerRecord.ttl));
        status.dataPlane = { mechanism: 'route53-health-check-cloudwatch-metric', control: { region: fromRegion, alarmName: fromControl.alarmName, alarmRegion: fromControl.alarmRegion }, flippedAt: out.since, detectionMs: detection };
        journal.note(
          'withdraw-region',
          `${fromControl.alarmName} in ${fromControl.alarmRegion} ${out.changed ? 'flipped to' : 'was already'} ALARM${out.since ? ` at ${out.since}` : ''}: Route 53 health checks (CLOUDWATCH_METRIC) take ${fromRegion}'s record sets and writer sets out of DNS answers within ${detection / 1000}s (alarm period + longest TTL)`,
        );
      });
    } else {
    // 4. Writer endpoints, one record per database.
    await journal.run('repoint-writer', async () => {
      await Promise.all(writers.map(async (w) => {
        if (!w.endpoint) throw ApplicationFailure.create({ type: FailureType.InvalidState, message: `${w.identifier} has no endpoint address`, nonRetryable: true });
        journal.note('repoint-writer', about(w.db, await repointWriter(rb, w.db, w.endpoint)));
      }));
      if (single) status.newWriterEndpoint = writers[0].endpoint;
    });

    // 5. Progressive, health-gated traffic shift.
    await shiftProgressively({ rb, fromRegion, toRegion: targetRegion, scale, journal, prefix: 'traffic', onPercent: (p) => (status.trafficPercent = p) });
    }

    // 6. Final verification of the target region's state.
    if (dataPlane) {
      await journal.run('verify', async () => {
        const [health, [control], perDb] = await Promise.all([
          short.checkHealth({ region: targetRegion, alarms: alarms(targetRegion), probes: probes(targetRegion), ...alarmPolicyOf(rb) }),
          short.readControls({ ...controls, regions: [fromRegion] }),
          Promise.all(writers.map((w) => short.describeDb({ region: targetRegion, identifier: w.db.replica.identifier }))),
        ]);
        const problems = [...health.breaches];
        if (control.state !== 'ALARM') problems.push(`the control of ${fromRegion} (${control.alarmName}) is ${control.state ?? 'missing'}, not ALARM`);
        for (const db of perDb) if (!db.standalone || !WRITER_STATUSES.has(db.status)) problems.push(`${db.identifier} is ${db.status}${db.standalone ? '' : ' and still a replica'}`);
        if (problems.length > 0) throw ApplicationFailure.create({ type: FailureType.VerificationFailed, message: `verification failed: ${problems.join('; ')}`, nonRetryable: true });
        journal.note('verify', `${fromRegion} withdrawn (${control.alarmName} ALARM); health OK in ${targetRegion}; ${writers.length === 1 ? `writer ${perDb[0].identifier}` : `${writers.length} writers`} standalone; records not read (Route 53's API is not used unplanned)`);
      });
    } else
    await journal.run('verify', async () => {
      const verifyPolicy = alarmPolicyOf(rb);
      const problems: string[] = [];
      // Scheduled in this order (traffic, health, then each database's record and instance), as before `databases`.
      const [traffic, health, perDb] = await Promise.all([
        short.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [fromRegion, targetRegion] }),
        short.checkHealth({ region: targetRegion, alarms: alarms(targetRegion), probes: probes(targetRegion), ...verifyPolicy }),
        Promise.all(writers.map((w) => Promise.all([short.readCname({ zone: writerZone(rb, w.db), zoneId: writerZoneId(rb, w.db), name: w.db.writerRecord.name }), short.describeDb({ region: targetRegion, identifier: w.db.replica.identifier })]))),
      ]);
      for (const t of traffic) if (t.share[targetRegion] !== 100) problems.push(`${t.name} sends ${t.share[targetRegion] ?? 0}% to ${targetRegion}`);
      problems.push(...health.breaches);
      const passing = patched(RDS_PASSING_STATES);
      writers.forEach((w, i) => {
        const [cname, db] = perDb[i];
        if (cname !== w.endpoint) problems.push(`${w.db.writerRecord.name} points at ${cname}, not ${w.endpoint}`);
        // A promoted instance takes writes while its first backup runs (backing-up): recorded runs knew only available.
        const writes = db.status === 'available' || (passing && WRITER_STATUSES.has(db.status));
        if (!db.standalone || !writes) problems.push(`${db.identifier} is ${db.status}${db.standalone ? '' : ' and still a replica'}`);
      });
      if (problems.length > 0) throw ApplicationFailure.create({ type: FailureType.VerificationFailed, message: `verification failed: ${problems.join('; ')}`, nonRetryable: true });
      journal.note('verify', `${traffic.length} records at 100% ${targetRegion}; health OK; ${single ? `writer ${perDb[0][0]}` : `${writers.length} writer records on their new writers`}`);
    });

    const endedAt = journal.get('verify').endedAt ?? Date.now();
    const gateWaitMs = journal.steps.filter((s) => s.gate && s.startedAt && s.endedAt).reduce((sum, s) => sum + ((s.endedAt ?? 0) - (s.startedAt ?? 0)), 0);
    const ms = endedAt - startedAt;
    // Moved by the data plane, clients may reach the lost region for the documented detection time after the flip: the
    // objective is judged on both (shown as two lines).
    const detection = status.dataPlane?.detectionMs ?? 0;
    status.rto = { ms, gateWaitMs, excludingGatesMs: ms - gateWaitMs, objectiveMs: rb.objectives.rto, met: scale >= 1 && ms + detection <= rb.objectives.rto, ...(status.dataPlane ? { detectionMs: detection } : {}) };
    const record = await run.complete({ after: { phase: 'completed', rtoMs: ms, rpo: status.rpo } });
    return fingerprint ? { ...record, fingerprint } : record;
  } catch (err) {
    // Stopped after a promotion but before its writer record was repointed (cancelled, a drill preempted before that
    // step, the scale-up failed): the old writer is fenced, so a record left naming it refuses every write. It is
    // pointed at each promoted writer outside the cancellation, bounded as compensations are. A repoint that was
    // tried and failed on its own is not tried again here (its failure is the run's).
    // (A failover through the data plane has no such step: its writer pairs follow the control.)
    const rp = journal.steps.find((s) => s.id === 'repoint-writer');
    const untried = rp !== undefined && (rp.status === 'pending' || rp.status === 'skipped' || (rp.status === 'failed' && rp.notes.at(-1) === 'cancelled'));
    const promotedDbs = (status.databases ?? []).filter((d) => d.promoted);
    if (!dataPlane && untried && promotedDbs.length > 0 && patched(REPOINTS_PROMOTED)) {
      await CancellationScope.nonCancellable(async () => {
        for (const p of promotedDbs) {
          const d = dbs.find((x) => x.name === p.name) ?? dbs[0];
          try {
            const state = await compensation.waitStandalone({ region: targetRegion, identifier: p.identifier });
            if (!state.endpoint) throw new Error(`${p.identifier} has no endpoint address yet`);
            journal.note('repoint-writer', about(d, `after the run stopped: ${await repointWriter(rb, d, state.endpoint, compensation)}`));
          } catch (e) {
            journal.note('repoint-writer', about(d, `after the run stopped: ${d.writerRecord.name} NOT repointed: ${failureMessage(e)}; point it at ${p.identifier} by hand (the old writer is fenced)`));
          }
        }
      });
    }
    return run.fail(err, { compensations: () => [...leftState(journal, status, targetRegion), ...(dataPlane && journal.get('withdraw-region').status === 'failed' ? [`unknown: the control of ${fromRegion} (${fromControl.alarmName} in ${fromControl.alarmRegion}) may have flipped; DNS may answer ${targetRegion} already: read it before retrying`] : [])] });
  }
}

/**
 * What a failed failover leaves, recorded as its compensation. Nothing is rolled back on purpose:
 * traffic stays at the last step that soaked healthy (a breach already reverted it there), and a
 * promoted database cannot be demoted; `drover failback` or a new failover continues from here.
 */
function leftState(journal: Journal, status: RunStatus, targetRegion: string): string[] {
  const done = (id: string) => journal.get(id).status === 'done';
  const out = [
    status.trafficPercent > 0
      ? `kept: traffic at ${status.trafficPercent}% ${targetRegion}, the last step that soaked healthy; no later step was applied`
      : `kept: no traffic moved to ${targetRegion}`,
  ];
  const promoted = status.databases?.filter((d) => d.promoted).map((d) => d.identifier) ?? [];
  const notPromoted = status.databases?.filter((d) => !d.promoted).map((d) => d.identifier) ?? [];
  if (status.databases && status.databases.length > 1) {
    if (promoted.length > 0) out.push(`kept: promoted in ${targetRegion}: ${promoted.join(', ')} (a promotion cannot be undone); continue with drover failover again (it resumes from the promotion) or return with drover failback`);
    if (notPromoted.length > 0) out.push(`kept: not promoted: ${notPromoted.join(', ')}`);
  } else if (done('promote-database') || promoted.length > 0) out.push(`kept: the database was promoted in ${targetRegion} (a promotion cannot be undone); continue with drover failover again (it resumes from the promotion) or return with drover failback`);
  else out.push('kept: the database was not promoted');
  if (done('scale-compute')) out.push(`kept: ${targetRegion} compute at active capacity, ready for a retry`);
  return out;
}

/** Both promises to their ends, then the first failure (in order), or both values. */
async function allToTheirEnds<A, B>(ps: [Promise<A>, Promise<B>]): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled(ps);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
