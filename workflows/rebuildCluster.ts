import { ApplicationFailure, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { failureMessage } from './failure';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import type { Gates } from './gates';
import { GATES_OF } from '../runbooks/approvers';
import { type RequesterIdentity } from '../contracts/identity';
import { iacTaskQueue, runTag } from '../contracts/ids';
import { evaluation, long, onQueue, short } from './proxies';
import { alarmPolicyOf } from './traffic';
import type { ApplySummary, PlanSummary, RebuildRecord, RunStatus } from '../contracts/run';
import type { ClusterRecord } from '../contracts/cluster-record';
import type { RunbookInput } from './trusted';
import { beginRun, locksRunbook, Run, TAKE_RUNBOOK_STEP } from './run';

/** Patch: synthesis, OpenTofu and the redeploy hook run on the IaC lane, `<task queue>-iac`. */
const IAC_QUEUE = 'iac-queue-v1';
/** Since this patch the preflight also reads the primary's data-plane control: weights alone miss a withdrawn primary. */
const REBUILD_READS_CONTROL = 'rebuild-reads-control-v1';
/**
 * Since this patch a rebuild compares with the cluster's last record (readiness records each cluster): the plan gate
 * shows where the code would differ from it, and verification fails on a difference rebuild.acceptDifferences does not name.
 */
const CLUSTER_RECORD = 'rebuild-cluster-record-v1';

export interface RebuildInput extends RunbookInput {
  /** The region whose EKS cluster is recreated from code. */
  region: string;
  reason: string;
  requestedBy: string;
  /** Recorded before requesters were verified at the start of the run (bound to the workflow id only): ignored since. */
  requesterIdentity?: RequesterIdentity;
  /** Rebuild even though traffic still reaches the region, after an extra approval (gate rebuild-force). */
  force?: boolean;
  options?: {
    /** How long each approval gate waits before the run aborts. Default 1 h. */
    approvalTimeoutMs?: number;
  };
}

/** What the synthesize step makes ready: drover's built-in stack, or the team's own code (rebuild.code). */
export function codeTitle(code: NonNullable<Runbook['rebuild']>['code'], region: string): string {
  if (!code) return 'Synthesize the cluster stack (CDK for Terraform)';
  const at = (s: string) => s.replaceAll('{region}', region);
  if ('cdktf' in code) return `Synthesize the team's CDK for Terraform app (${at(code.cdktf.dir)}, stack ${at(code.cdktf.stack)})`;
  return 'dir' in code.module ? `Prepare the team's module (${at(code.module.dir)})` : `Prepare the team's module (${code.module.source}${code.module.version ? ` ${code.module.version}` : ''})`;
}

/** What the plan gate says of the cluster's last record: where the code would differ from it, or that it matches, or that there is none. */
export function describeAgainstRecord(against: { found?: { workflowId: string; evaluatedAt: string }; plan?: { differences: string[]; accepted: string[] }; since?: string }, planKnowsCluster: boolean): string {
  const skipped = against.since ? ` (a cluster created since ${against.since}, when a rebuild that did not verify began, is no record of what was there)` : '';
  if (!against.found) return `no record of the cluster to compare with${skipped} (no readiness evaluation recorded it within the listing; run drover check before a rebuild): verification checks health only`;
  const at = `the cluster recorded at ${against.found.evaluatedAt}${skipped}`;
  if (!planKnowsCluster || !against.plan) return `the plan names no EKS cluster drover can read: the rebuilt cluster is compared with ${at} at verification`;
  const accepted = against.plan.accepted.length ? `; accepted: ${against.plan.accepted.join('; ')}` : '';
  if (against.plan.differences.length === 0) return `the code matches ${at}${accepted}`;
  return `the code differs from ${at}: ${against.plan.differences.join('; ')} (verification will fail on these unless rebuild.acceptDifferences names them)${accepted}`;
}

/** The plan as the gate shows it: counts, then what would be destroyed or replaced. */
export function describePlan(plan: PlanSummary): string {
  const counts = `${plan.add} to add, ${plan.change} to change, ${plan.destroy} to destroy${plan.replace ? ` (${plan.replace} replaced)` : ''}`;
  return plan.noChanges ? 'no changes: the cluster already matches the runbook' : `${counts}${plan.toDestroy.length ? `; destroys ${plan.toDestroy.join(', ')}` : ''}`;
}

/**
 * Recreate a region's EKS cluster from code: make sure traffic is away from the region, synthesize
 * the CDK for Terraform stack, plan, approve the plan, apply exactly it, wait until the cluster and
 * node groups are ACTIVE, run the redeploy hook, verify the region's health, then offer failback.
 */
export async function rebuildCluster(input: RebuildInput): Promise<RunStatus> {
  const { region } = input;
  const info = workflowInfo();
  const head = { kind: 'rebuild', mode: 'planned', fromRegion: region, targetRegion: region, reason: input.reason, requestedBy: input.requestedBy } as const;
  const { rb } = await beginRun(input, head);
  const cluster = rb.compute.clusters.find((c) => c.region === region);
  const hook = rb.rebuild?.redeploy;
  const record: RebuildRecord = { region, cluster: cluster?.name ?? '', force: input.force ?? false };
  // Since runbook-lock-v1 a run that is not a child takes the runbook first (its own step).
  const locks = locksRunbook();
  const run = Run.open({
    rb,
    head,
    notifyAs: 'rebuild',
    plan: [
      ...(locks ? [TAKE_RUNBOOK_STEP] : []),
      { id: 'preflight', title: `Traffic is away from ${region}; the runbook can rebuild ${cluster?.name ?? 'its cluster'}` },
      ...(input.force ? [{ id: 'gate:rebuild-force', title: 'Approval: rebuild while traffic reaches the region', gate: true }] : []),
      { id: 'synthesize', title: codeTitle(rb.rebuild?.code, region) },
      { id: 'plan', title: 'Plan (OpenTofu)' },
      { id: 'gate:rebuild-plan', title: 'Approval: the plan', gate: true },
      { id: 'apply', title: 'Apply the approved plan' },
      { id: 'wait-active', title: 'Wait for the cluster and node groups to be ACTIVE' },
      { id: 'redeploy', title: hook ? `Redeploy: ${hook.command.join(' ')}` : 'Redeploy the applications' },
      { id: 'verify', title: `Verify ${region} (alarms and probes)` },
    ],
    gates: { context: { requestedBy: input.requestedBy, requesterIdentity: input.requesterIdentity } },
    objectives: false,
    record: { rebuild: record },
    start: { detail: `rebuild of ${rb.name}'s cluster in ${region}: ${input.reason}`, after: { kind: 'rebuild', region, force: input.force ?? false } },
  });
  const { trail, journal } = run;
  const gates = run.gates as Gates;
  const refuse = (message: string) => ApplicationFailure.create({ type: FailureType.RebuildRefused, message, nonRetryable: true });
  const approvalTimeout = input.options?.approvalTimeoutMs ?? 60 * 60_000;

  try {
    // Who asked: verified here, before anything is done, when a gate forbids self-approval.
    if (gates.checksRequester()) await gates.start(GATES_OF.rebuild, approvalTimeout);
    // One run per runbook: its lock, taken before anything changes (a drill holding it is stopped first).
    if (locks) await run.exclusive('rebuild');

    // 1. Nothing is rebuilt under live traffic unless forced and approved.
    await journal.run('preflight', async () => {
      const settings = rb.rebuild;
      if (!settings) throw refuse(`runbook ${rb.name} has no rebuild section: nothing says how to rebuild its clusters`);
      if (!cluster) throw refuse(`runbook ${rb.name} has no cluster in ${region}`);
      const traffic = await short.readTraffic({ hostedZone: rb.dns.hostedZone, hostedZoneId: rb.dns.hostedZoneId, records: rb.dns.records, regions: [rb.regions.primary, rb.regions.standby] });
      if (patched(REBUILD_READS_CONTROL)) {
        // After an unplanned failover the weights still name the primary while Route 53 answers the standby (the primary's
        // control withdrew it, docs/region-loss.md): the standby serves every record. A control in any state but OK may
        // be withdrawing it (Route 53 follows the alarm's data, not its state), so the standby counts as serving then too.
        const { primary, standby } = rb.regions;
        const [c] = await short.readControls({ runbook: rb.name, primary, standby, regions: [primary] });
        if (c.exists && (c.state !== 'OK' || c.problems.length > 0)) {
          for (const t of traffic) t.share = { ...t.share, [standby]: 100, ...(c.state === 'ALARM' ? { [primary]: 0 } : {}) };
          journal.note('preflight', `the control of ${primary} (${c.alarmName} in ${c.alarmRegion}) is ${c.state ?? 'unknown'}${c.state === 'ALARM' ? `: ${primary} is out of DNS answers, ${standby} answers every record` : `: ${standby} may answer every record`}`);
        }
      }
      const live = traffic.filter((t) => (t.share[region] ?? 0) > 0).map((t) => `${t.name} sends ${t.share[region]}% to ${region}`);
      record.trafficOnRegion = live;
      if (live.length === 0) return journal.note('preflight', `no traffic reaches ${region} (${traffic.length} records checked)`);
      if (!input.force) throw refuse(`traffic still reaches ${region}: ${live.join('; ')}. Move it away first (drover failover), or pass --force to rebuild under an extra approval`);
      journal.note('preflight', `FORCED with traffic on the region: ${live.join('; ')}`);
    });
    if (input.force) {
      await journal.run('gate:rebuild-force', async () => {
        const d = await gates.await('rebuild-force', `rebuild ${record.cluster} in ${region} while traffic still reaches it (${(record.trafficOnRegion ?? []).join('; ')}): ${input.reason}`, approvalTimeout);
        journal.note('gate:rebuild-force', `approved by ${d.approver}${d.comment ? `: ${d.comment}` : ''}`);
      });
    }
    const settings = rb.rebuild as NonNullable<Runbook['rebuild']>;
    const c = cluster as NonNullable<typeof cluster>;

    // 2. Synthesize and plan; a plan destroying anything the runbook does not allow stops here.
    // Since iac-queue-v1 synthesis, OpenTofu and the redeploy hook run on the IaC lane (its own workers, few at a time,
    // a shutdown grace as long as an apply); before it, on the run's own task queue.
    const onLane = patched(IAC_QUEUE);
    const lane = onLane ? onQueue(iacTaskQueue(info.taskQueue)) : { short, long };
    // What the stack is made from: a plan or apply on a worker without its directory synthesizes it again from this.
    const stackSource: { runbook: Runbook; region: string; runTag: string; digest?: string } = { runbook: rb, region, runTag: runTag(info.runId) };
    const stack = await journal.run('synthesize', async () => {
      // A lane no worker polls now (none runs, or each is busy with another apply) is said at once, then waited for.
      if (onLane && !(await short.queueServed({ taskQueue: iacTaskQueue(info.taskQueue) }))) {
        journal.note('synthesize', `no drover worker polls the IaC lane ${iacTaskQueue(info.taskQueue)} now (none runs, or each is busy with another apply): waiting for one; start one with drover worker --queues iac (or all)`);
      }
      const out = await lane.short.synthesizeCluster(stackSource);
      stackSource.digest = out.digest;
      record.stack = { dir: out.dir, variant: out.variant, resources: out.resources.length };
      journal.note('synthesize', `${out.stackName}: ${out.resources.length} resources (${out.variant} stack) in ${out.dir}`);
      return out;
    });
    // The cluster as it was: its last record, and (below) the plan and the rebuilt cluster compared with it.
    let recorded: ClusterRecord | undefined;
    let againstRecord = '';
    const accept = settings.acceptDifferences ?? [];
    const plan = await journal.run('plan', async () => {
      const compares = patched(CLUSTER_RECORD);
      const p = await lane.long.iacPlan({ dir: stack.dir, stack: stackSource, binary: settings.binary, allowDestroy: settings.allowDestroy, timeoutMs: settings.timeout, ...(compares ? { cluster: { name: c.name, region } } : {}) });
      record.plan = p;
      journal.note('plan', describePlan(p));
      if (p.resynthesized) journal.note('plan', `synthesized again on this worker (the stack's directory was on another): ${p.resynthesized}`);
      if (compares) {
        // Bounded (a few tries within minutes, as readiness's own reads): a lookup that fails is said at the gate, and
        // never holds the rebuild of a lost cluster.
        try {
          const against = await evaluation.clusterAgainstRecord({ runbook: rb.name, region, cluster: c.name, planned: p.planned, accept });
          recorded = against.found?.record;
          againstRecord = describeAgainstRecord(against, p.planned !== undefined);
          record.recorded = against.found ? { workflowId: against.found.workflowId, evaluatedAt: against.found.evaluatedAt, ...(against.plan ? { plan: against.plan } : {}) } : {};
        } catch (err) {
          if (isCancellation(err)) throw err;
          againstRecord = `the cluster's record could not be looked up (${failureMessage(err)}): verification checks health only`;
          record.recorded = {};
        }
        journal.note('plan', againstRecord);
      }
      return p;
    });

    // 3. The plan is what the approvers see.
    await gates.step(journal, 'rebuild-plan', `rebuild ${c.name} in ${region}: ${describePlan(plan)}${againstRecord ? `; ${againstRecord}` : ''}`, approvalTimeout);

    // 4. Apply exactly the approved plan.
    const applied: ApplySummary = await journal.run('apply', async () => {
      const a = await lane.long.iacApply({ dir: stack.dir, stack: stackSource, binary: settings.binary, approved: plan, allowDestroy: settings.allowDestroy, timeoutMs: settings.timeout });
      record.apply = a;
      if (a.resynthesized) journal.note('apply', `synthesized again on this worker (the stack's directory was on another): ${a.resynthesized}`);
      journal.note('apply', a.alreadyApplied ? 'already applied (a retry found nothing left to change)' : `${a.applied.length} resources applied${a.replanned ? ' (re-planned after a retry, within the approved changes)' : ''}`);
      trail?.record('iac.apply', { target: `eks:${region}:${c.name}`, before: { add: plan.add, change: plan.change, destroy: plan.destroy, planSha256: plan.planSha256 }, after: { applied: a.applied, alreadyApplied: a.alreadyApplied } });
      trail?.flush();
      return a;
    });

    // 5. The cluster and its node groups come up.
    await journal.run('wait-active', async () => {
      const out = await long.waitClusterActive({ region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name), timeoutMs: 45 * 60_000 });
      record.clusterArn = out.clusterArn;
      journal.note('wait-active', `${c.name} ACTIVE with ${out.nodeGroups.join(', ')}${applied.applied.length === 0 ? ' (unchanged)' : ''}`);
    });

    // 6. The applications come back onto it.
    if (!hook) journal.skip('redeploy', 'the runbook configures no redeploy hook');
    else {
      await journal.run('redeploy', async () => {
        const r = await lane.long.runRedeployHook({ runbook: rb, region, cluster: c.name, runTag: runTag(info.runId), command: hook.command, timeoutMs: hook.timeout });
        record.redeploy = { exitCode: r.exitCode, durationMs: r.durationMs, outputTail: r.outputTail };
        journal.note('redeploy', `exit ${r.exitCode} after ${Math.round(r.durationMs / 1000)}s${r.outputTail.length ? `: ${r.outputTail[r.outputTail.length - 1]}` : ''}`);
      });
    }

    // 7. The region is healthy again.
    await journal.run('verify', async () => {
      const [health, compute, asRecorded] = await Promise.all([
        short.checkHealth({ region, alarms: rb.health.alarms[region] ?? [], probes: rb.health.probes[region] ?? [], ...alarmPolicyOf(rb) }),
        short.describeCompute({ region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) }),
        // Field by field against the record found before the plan (none: nothing to compare, as the plan step said).
        recorded ? evaluation.verifyClusterRecord({ region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name), record: recorded, accept }) : undefined,
      ]);
      const problems = [...health.breaches, ...compute.problems];
      if (asRecorded && record.recorded) {
        record.recorded.verified = asRecorded;
        const when = record.recorded.evaluatedAt;
        problems.push(...asRecorded.differences.map((d) => `differs from the cluster recorded at ${when}: ${d} (not in rebuild.acceptDifferences)`));
        if (asRecorded.differences.length === 0) journal.note('verify', `matches the cluster recorded at ${when} (${record.recorded.workflowId})${asRecorded.accepted.length ? `, but for the accepted ${asRecorded.accepted.join('; ')}` : ''}`);
        if (asRecorded.unknown.length) journal.note('verify', `unreadable: ${asRecorded.unknown.join('; ')} (a part the record holds and the cluster does not show now is a difference above; one the record never had is not compared)`);
        if (asRecorded.informational.length) journal.note('verify', `new by nature: ${asRecorded.informational.join('; ')}`);
      }
      if (problems.length > 0) throw ApplicationFailure.create({ type: FailureType.VerificationFailed, message: `verification failed: ${problems.join('; ')}`, nonRetryable: true });
      journal.note('verify', `health OK; ${c.name} and ${compute.nodeGroups.length} node groups ACTIVE`);
    });

    // 8. Offer failback: traffic stays away until someone decides to return it.
    if (region === rb.regions.primary && (record.trafficOnRegion ?? []).length === 0) {
      record.next = `${region} is rebuilt and healthy; traffic stays in ${rb.regions.standby} until you fail back: drover failback <runbook file> --reason "..."`;
    }
    return await run.complete({ after: { phase: 'completed', applied: applied.applied.length, clusterArn: record.clusterArn } });
  } catch (err) {
    return run.fail(err, { compensations: () => [
      journal.get('apply').status === 'pending'
        ? 'kept: nothing was applied; the state is as it was'
        : 'kept: what the apply completed, in the state backend; a new rebuild plans from there',
    ] });
  }
}
