import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ReportInput } from '../reports/report';
import { drillQuery, rtoVerdict, type DrillResult, type RunStatus } from '../contracts/run';
import { DRILL_WORKFLOW_TYPE, MEMO_RUNBOOK } from '../contracts/ids';
import { CliError, EXIT, type CliIO, type ExitCode } from './io';
import { renderStatus } from './render';
import { fetchRecord, fetchStatus, toStderr, watchRun } from './runs';

/** A drill's record: live from its query while it runs, from its result or failure once closed. */
export async function fetchDrill(client: Client, workflowId: string, runId?: string): Promise<{ drill: DrillResult; closed: boolean }> {
  const { record, closed } = await fetchRecord<DrillResult>(client, workflowId, {
    query: drillQuery,
    isRecord: (v) => (v as DrillResult | undefined)?.kind === 'drill',
    notFound: runId ? new CliError(`no run ${runId} of drill ${workflowId}`, EXIT.NOT_FOUND) : new CliError(`no drill ${workflowId}`, EXIT.NOT_FOUND, ['list drills with: drover drill history RUNBOOK']),
    what: 'drill',
    runId,
  });
  return { drill: record, closed };
}

/** Exit code for a drill's outcome: 0 completed, 3 refused, 1 failed or cancelled. */
export function drillExitCode(d: DrillResult): ExitCode {
  if (d.phase === 'completed') return EXIT.OK;
  if (d.phase === 'refused') return EXIT.REFUSED;
  return EXIT.FAILED;
}

async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/** Follow a drill to its end: its failover's steps live, then its failback's, then the outcome. */
export async function followDrill(client: Client, workflowId: string, io: CliIO, json?: boolean): Promise<ExitCode> {
  const out = json ? toStderr(io) : io;
  const followed = new Set<string>();
  for (;;) {
    const { drill, closed } = await fetchDrill(client, workflowId);
    const next = [
      { id: drill.failoverId, title: 'failover (drill mode)' },
      { id: drill.failbackId, title: 'automatic failback' },
    ].find((c) => !followed.has(c.id));
    if (next && drill.phase !== 'checking' && drill.phase !== 'refused' && (await exists(client, next.id))) {
      out.out(`== ${next.title}: ${next.id}`);
      await watchRun(client, next.id, out, { tty: false });
      followed.add(next.id);
      continue;
    }
    if (closed) {
      renderDrillOutcome(drill).forEach((l) => out.out(l));
      if (json) io.out(JSON.stringify(drill, null, 2));
      return drillExitCode(drill);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A drill's status: its phase, then each child run that exists, live while it runs. */
export async function drillStatusLines(client: Client, d: DrillResult): Promise<string[]> {
  const lines = [`drill ${d.workflowId} of ${d.runbook} (${d.trigger}, requested by ${d.requestedBy}): ${d.phase}`];
  for (const [title, id, recorded] of [
    ['failover (drill mode)', d.failoverId, d.failover],
    ['automatic failback', d.failbackId, d.failback],
  ] as const) {
    // A child still running: its live status and progress (its own children's waits included).
    const live = !recorded && d.phase !== 'refused' && (await exists(client, id)) ? await fetchStatus(client, id) : undefined;
    const status = recorded ?? live?.status;
    if (!status) continue;
    lines.push('', `== ${title}: ${id}`, ...renderStatus(status, Date.now(), live?.progress ?? []));
  }
  if (d.endedAt) lines.push('', ...renderDrillOutcome(d));
  return lines;
}

export function renderDrillOutcome(d: DrillResult): string[] {
  const lines = [`drill ${d.workflowId}: ${d.phase.toUpperCase()}`];
  if (d.refusals) lines.push(...d.refusals.map((r) => `  refused: ${r}`));
  else if (d.failure) lines.push(`  ${d.failure}`);
  if (d.rollback?.length) lines.push(`  rolled back: ${d.rollback.join('; ')}`);
  if (d.failover?.rto) lines.push(`  RTO ${(d.failover.rto.ms / 1000).toFixed(1)}s (objective ${d.objectives.rtoMs / 1000}s: ${rtoVerdict(d.failover.rto.met, d.failover.timeScale)})`);
  if (d.phase !== 'refused') lines.push(`  report: drover report ${d.workflowId} [--format md|json|html]`);
  return lines;
}

/** The report input of a drill: its failover and failback, judged against the runbook's objectives. */
export function drillReportInput(d: DrillResult): ReportInput {
  return {
    kind: 'drill',
    workflowId: d.workflowId,
    runId: d.runId,
    runbook: d.runbook,
    objectives: d.objectives,
    phase: d.phase === 'checking' || d.phase === 'failing-over' || d.phase === 'failing-back' || d.phase === 'rolling-back' ? 'running' : d.phase,
    startedAt: d.startedAt,
    endedAt: d.endedAt,
    runs: [d.failover, d.failback].filter((r): r is RunStatus => r !== undefined),
    note: d.refusals ? `refused: ${d.refusals.join('; ')}` : d.failure,
  };
}

/** The report input of a single real run (failover, failback or promotion). */
export function runReportInput(s: RunStatus): ReportInput {
  const endedAt = Math.max(s.startedAt, ...s.steps.map((x) => x.endedAt ?? 0));
  return {
    kind: s.kind,
    workflowId: s.workflowId,
    runId: s.runId,
    runbook: s.runbook,
    objectives: s.objectives ?? { rtoMs: s.rto?.objectiveMs ?? Number.NaN, rpoMs: Number.NaN },
    phase: s.phase,
    startedAt: s.startedAt,
    endedAt,
    runs: [s],
    note: s.error?.message,
  };
}

/** The report input of any run, by workflow id: a drill or a real run. */
export async function reportInputFor(client: Client, workflowId: string, runId?: string): Promise<ReportInput> {
  let type: string;
  try {
    type = (await client.workflow.getHandle(workflowId, runId).describe()).type;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError && runId) throw new CliError(`no run ${runId} of ${workflowId}`, EXIT.NOT_FOUND, [`its runs: temporal workflow list --query "WorkflowId = '${workflowId}'"`]);
    if (e instanceof WorkflowNotFoundError) throw new CliError(`no run ${workflowId}`, EXIT.NOT_FOUND, ['drills: drover drill history RUNBOOK; real runs: failover-RUNBOOK, failback-RUNBOOK, promote-RUNBOOK']);
    throw e;
  }
  if (type === DRILL_WORKFLOW_TYPE) return drillReportInput((await fetchDrill(client, workflowId, runId)).drill);
  return runReportInput((await fetchStatus(client, workflowId, runId)).status);
}

/** The runbook's recent drills, newest first (Temporal visibility; the memo names the runbook). */
export async function recentDrills(client: Client, runbook: string, last: number): Promise<DrillResult[]> {
  const ids: Array<{ id: string; start: number }> = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${DRILL_WORKFLOW_TYPE}'` })) {
    if (w.memo?.[MEMO_RUNBOOK] === runbook) ids.push({ id: w.workflowId, start: w.startTime.getTime() });
  }
  ids.sort((a, b) => b.start - a.start);
  const drills: DrillResult[] = [];
  for (const { id } of ids.slice(0, last)) drills.push((await fetchDrill(client, id)).drill);
  return drills;
}

/** The workflow ids of the runbook's running drills (Temporal visibility; the memo names the runbook). */
export async function runningDrills(client: Client, runbook: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${DRILL_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'` })) {
    if (w.memo?.[MEMO_RUNBOOK] === runbook) ids.push(w.workflowId);
  }
  return ids;
}
