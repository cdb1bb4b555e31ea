import { formatDuration, formatLag } from './format';
import { trendPoint, type Report, type TrendPoint } from './report';

/** One figure of the summary, shared by the Markdown and HTML renderers. */
export interface SummaryItem {
  label: string;
  value: string;
  detail: string;
  /** true: met, false: missed, undefined: informational. */
  ok?: boolean;
}

/** The headline figures: RTO, RTO without gates, RPO, gate waits, time to restore, critical path. */
export function summary(r: Report): SummaryItem[] {
  const items: SummaryItem[] = [
    {
      label: 'RTO',
      value: formatDuration(r.rto.ms),
      detail:
        r.rto.ms === undefined
          ? `not reached (objective ${formatDuration(r.objectives.rtoMs)})`
          : `${r.rto.ms} ms, objective ${formatDuration(r.objectives.rtoMs)}${r.rto.run ? `, on the ${r.rto.run}` : ''}${r.rto.timeScale !== undefined ? `; not judged: time-scaled ×${r.rto.timeScale}` : ''}`,
      ok: r.kind === 'promote' && r.rto.ms === undefined ? undefined : r.rto.met,
    },
    {
      label: 'RTO excluding gates',
      value: formatDuration(r.rto.excludingGatesMs),
      detail: `approval gates waited ${formatDuration(r.rto.gateWaitMs)}`,
    },
    {
      label: 'RPO',
      value: lag(r.rpo.lagSeconds),
      detail: `${r.rpo.lagSeconds === undefined ? 'no replica lag recorded' : 'replica lag at promotion'}, objective ${formatDuration(r.objectives.rpoMs)}${r.rpo.note ? ` (${r.rpo.note})` : ''}`,
      ok: r.rpo.met,
    },
    {
      label: 'Gate waits',
      value: formatDuration(r.gates.reduce((sum, g) => sum + (g.waitedMs ?? 0), 0)),
      detail: r.gates.length === 0 ? 'no approval gates' : r.gates.map((g) => `${g.gate}: ${formatDuration(g.waitedMs)}${g.approver ? ` (${g.decision} by ${g.approver})` : ''}`).join(', '),
    },
  ];
  if (r.kind === 'drill') {
    items.push({ label: 'Time to restore', value: formatDuration(r.timeToRestoreMs), detail: r.timeToRestoreMs === undefined ? 'the failback did not complete' : 'duration of the failback' });
  }
  items.push({ label: 'Critical path', value: formatDuration(r.criticalPath.ms), detail: `${r.criticalPath.steps.length} steps, parallel groups counted once` });
  return items;
}

/** One line per database when the measured run had several: its lag at promotion against the objective. */
export function rpoByDatabase(r: Report): SummaryItem[] {
  return (r.rpo.databases ?? []).map((d) => ({
    label: `RPO ${d.name}`,
    value: d.promoted ? lag(d.lagSeconds) : 'not promoted',
    detail: `${d.identifier} in ${d.region}, objective ${formatDuration(r.rpo.objectiveMs)}${d.error ? `: ${d.error}` : d.note ? ` (${d.note})` : ''}`,
    ok: d.met,
  }));
}

/** Seconds of replica lag; -1 (no datapoint: the data-loss window is unknown) reads "unknown". */
export function lag(seconds: number | undefined): string {
  return seconds !== undefined && seconds < 0 ? 'unknown' : formatLag(seconds);
}

/** The trend including this report's own point, once, oldest first. */
export function withReport(trend: TrendPoint[], r: Report): TrendPoint[] {
  const own = trendPoint(r);
  const others = trend.filter((p) => !(p.workflowId === own.workflowId && p.startedAt === own.startedAt));
  return [...others, own].sort((a, b) => a.startedAt - b.startedAt);
}

export function title(r: Report): string {
  const what = { drill: 'Drill', failover: 'Failover', failback: 'Failback', promote: 'Database promotion', rebuild: 'Cluster rebuild', cleanup: 'Cleanup of retained instances' }[r.kind];
  return `${what} report: ${r.runbook}`;
}
