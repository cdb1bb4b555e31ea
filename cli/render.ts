import type { RunStatus } from '../workflows/regionFailover';
import type { Step } from '../workflows/journal';

const ICON: Record<Step['status'], string> = { pending: '·', running: '▶', done: '✓', failed: '✗', skipped: '–' };

/** A duration as 1.2s, 3m04s or 1h02m. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The step list with durations, the pending gate and the outcome: what `drover status` prints. */
export function renderStatus(s: RunStatus, now: number = Date.now()): string[] {
  const lines = [
    `${s.kind} ${s.runbook}: ${s.fromRegion} -> ${s.targetRegion} (${s.mode}), requested by ${s.requestedBy}: ${s.reason}`,
    `run ${s.workflowId} / ${s.runId}   phase: ${s.phase}   traffic on ${s.targetRegion}: ${s.trafficPercent}%`,
  ];
  for (const step of s.steps) lines.push(...renderStep(step, s.startedAt, now));
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

/** The pending gate, who may approve it and how. */
export function renderGate(s: RunStatus): string[] {
  const lines: string[] = [];
  if (s.pendingGate) {
    lines.push(`waiting for approval at gate "${s.pendingGate.name}": ${s.pendingGate.summary}`);
    lines.push(`  approvers: ${s.pendingGate.approvers.join(', ')}`);
    lines.push(`  approve:   drover approve ${s.workflowId} --gate ${s.pendingGate.name} --as <approver>`);
  }
  return lines;
}

/** RPO, RTO and the error of a finished run. */
export function renderOutcome(s: RunStatus): string[] {
  const lines: string[] = [];
  if (s.rpo) lines.push(`RPO: ${s.rpo.lagSeconds}s replica lag observed at ${s.rpo.observedAt} (${s.rpo.note})`);
  if (s.rto) {
    lines.push(
      `RTO: ${formatDuration(s.rto.ms)} measured from trigger to verified traffic on ${s.targetRegion} ` +
        `(approval wait ${formatDuration(s.rto.gateWaitMs)}, excluding it ${formatDuration(s.rto.excludingGatesMs)}; ` +
        `objective ${formatDuration(s.rto.objectiveMs)}: ${s.rto.met ? 'met' : 'MISSED'})`,
    );
  }
  if (s.error) lines.push(`${s.phase.toUpperCase()}: ${s.error.message}`);
  return lines;
}
