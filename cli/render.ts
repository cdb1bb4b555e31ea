import { rtoVerdict, type RunStatus, type Step } from '../contracts/run';
import { formatDuration } from '../contracts/duration';
import { describeEvidence } from '../contracts/engines';

const ICON: Record<Step['status'], string> = { pending: '·', running: '▶', done: '✓', failed: '✗', skipped: '–' };

/**
 * The step list with durations, the pending gate and the outcome: what `drover status` prints.
 * `progress` is what the running step's activity last reported (e.g. the resource being applied).
 */
export function renderStatus(s: RunStatus, now: number = Date.now(), progress: string[] = []): string[] {
  const lines = s.rebuild
    ? [
        `rebuild ${s.runbook}: cluster ${s.rebuild.cluster} in ${s.rebuild.region}${s.rebuild.force ? ' (forced)' : ''}, requested by ${s.requestedBy}: ${s.reason}`,
        `run ${s.workflowId} / ${s.runId}   phase: ${s.phase}`,
      ]
    : [
        // Before the worker has loaded the runbook (or when it refused it), the run knows only where it goes.
        `${s.kind} ${s.runbook}: ${s.fromRegion ? `${s.fromRegion} -> ` : 'to '}${s.targetRegion || '?'} (${s.mode}), requested by ${s.requestedBy}: ${s.reason}`,
        `run ${s.workflowId} / ${s.runId}   phase: ${s.phase}   traffic on ${s.targetRegion}: ${s.trafficPercent}%`,
      ];
  for (const step of s.steps) {
    lines.push(...renderStep(step, s.startedAt, now));
    if (step.status === 'running') lines.push(...progress.map((p) => `      … ${p}`));
  }
  return [...lines, ...renderGate(s), ...renderOutcome(s)];
}

/** One step: status icon, title, start offset from the trigger, duration, then its notes. */
export function renderStep(step: Step, t0: number, now: number = Date.now()): string[] {
  const end = step.endedAt ?? (step.status === 'running' ? now : undefined);
  const dur = step.startedAt !== undefined && end !== undefined ? formatDuration(end - step.startedAt) : '';
  const at = step.startedAt !== undefined ? `+${formatDuration(step.startedAt - t0)}` : '';
  const tag = step.group ? ` [parallel: ${step.group}]` : step.gate ? ' [gate]' : '';
  return [`  ${ICON[step.status]} ${step.title.padEnd(52)} ${at.padStart(8)} ${dur.padStart(8)}${tag}`, ...step.notes.map((n) => `      ${n}`)];
}

/** The pending gate: its approvals so far (verified or not), how many more it needs, who may give them, and how. */
export function renderGate(s: RunStatus, now: number = Date.now()): string[] {
  const g = s.pendingGate;
  if (!g) return [];
  const lines = [`waiting for approval at gate "${g.name}": ${g.summary}`];
  if (g.required === undefined) {
    // A run recorded before gate policies: one approval from the runbook's approvers, given with --as.
    lines.push(`  approvers: ${g.approvers.join(', ')}`);
    lines.push(`  approve:   drover approve ${s.workflowId} --gate ${g.name} --as <approver>`);
    return lines;
  }
  const got = g.approvals ?? [];
  const missing = Math.max(0, g.required - got.length);
  lines.push(`  approvals: ${got.length} of ${g.required}${got.length === 0 ? ' (none yet)' : ''}`);
  for (const a of got) lines.push(`    ✓ ${a.approver} (${a.verified ? 'verified' : 'unverified'})${a.comment ? `: ${a.comment}` : ''}`);
  const self = g.selfApproval ? '' : g.requestedBy ? `; not the requester ${g.requestedBy.id}` : '; not the requester';
  lines.push(`  needed:    ${missing} more, from: ${g.approvers.join(', ')}${got.length > 0 ? ' (other than those above)' : ''}${self}`);
  if (g.timeoutAt !== undefined) {
    const left = Math.max(0, g.timeoutAt - now);
    const action = g.onTimeout === 'proceed' ? 'proceed (drills only; a real run aborts)' : 'abort';
    lines.push(`  timeout:   in ${formatDuration(left)}, then ${action}${g.escalateAt !== undefined ? `; escalation ${g.escalatedAt !== undefined ? 'sent' : `in ${formatDuration(Math.max(0, g.escalateAt - now))}`}` : ''}`);
  }
  lines.push(`  approve:   drover approve ${s.workflowId} --gate ${g.name} [--comment TEXT]   (signed with your AWS credentials)`);
  if (g.trustClientIdentity) lines.push(`             drover approve ${s.workflowId} --gate ${g.name} --as <id>   (local development: recorded as unverified)`);
  return lines;
}

/** RPO, RTO and the error of a finished run. */
export function renderOutcome(s: RunStatus): string[] {
  const lines: string[] = [];
  if (s.rpo) lines.push(`RPO: ${s.rpo.lagSeconds < 0 ? 'unknown' : `${s.rpo.lagSeconds}s replica lag`} observed at ${s.rpo.observedAt} (${s.rpo.note})`);
  const single = s.databases?.length === 1 ? describeEvidence(s.databases[0].rpo?.evidence) : undefined;
  if (single) lines.push(`  evidence: ${single}`);
  if (s.databases && s.databases.length > 1) {
    for (const d of s.databases) {
      const rpo = d.rpo ? `RPO ${d.rpo.lagSeconds < 0 ? 'unknown' : `${d.rpo.lagSeconds}s`}` : 'RPO not measured';
      const evidence = describeEvidence(d.rpo?.evidence);
      lines.push(`  ${d.name}: ${d.identifier} (${d.region}) ${d.promoted ? 'promoted' : 'NOT promoted'}; ${rpo}${d.error ? `; ${d.error}` : ''}${evidence ? `; evidence ${evidence}` : ''}`);
    }
  }
  if (s.rto) {
    lines.push(
      `RTO: ${formatDuration(s.rto.ms)} measured from trigger to verified traffic on ${s.targetRegion} ` +
        `(approval wait ${formatDuration(s.rto.gateWaitMs)}, excluding it ${formatDuration(s.rto.excludingGatesMs)}; ` +
        `objective ${formatDuration(s.rto.objectiveMs)}: ${rtoVerdict(s.rto.met, s.timeScale, 'MISSED')})`,
    );
  }
  if (s.dataPlane) {
    const d = s.dataPlane;
    lines.push(
      `traffic: moved by Route 53 health checks (CLOUDWATCH_METRIC) following drover's control ${d.control.alarmName} (${d.control.alarmRegion}), ALARM${d.flippedAt ? ` at ${d.flippedAt}` : ''}; ` +
        `DNS detection after the flip: up to ${formatDuration(d.detectionMs)} (alarm period + longest TTL, documented, not measured): RTO with it ${formatDuration((s.rto?.ms ?? 0) + d.detectionMs)}, judged against the objective`,
    );
  }
  if (s.rebuild?.apply) lines.push(`applied: ${s.rebuild.apply.applied.length} resources${s.rebuild.apply.alreadyApplied ? ' (already applied)' : ''}${s.rebuild.clusterArn ? `; cluster ${s.rebuild.clusterArn}` : ''}`);
  if (s.rebuild?.next) lines.push(`next: ${s.rebuild.next}`);
  if (s.error) lines.push(`${s.phase.toUpperCase()}: ${s.error.message}`);
  const n = s.notifications;
  if (n?.failed.length) lines.push(`notifications: ${n.failed.length} not published to ${n.topicArn} (${n.failed.map((f) => `${f.event}: ${f.error}`).join('; ')})`);
  return lines;
}
