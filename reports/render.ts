import { formatDuration, formatTime, mdCell } from './format';
import { verdictOf, type Report, type TrendPoint } from './report';
import { lag, rpoByDatabase, summary, title, withReport, type SummaryItem } from './summary';
import type { ReadinessRow } from '../contracts/readiness';

export { renderHtml } from './html';

/** The report as Markdown: summary, checks, steps, gates, audit excerpt and (if given) the RTO trend and the runbook's readiness history. */
export function renderMarkdown(r: Report, trend?: TrendPoint[], readiness?: ReadinessRow[]): string {
  const out: string[] = [];
  out.push(`# ${mdCell(title(r))} — ${verdictOf(r)}${verdictOf(r) === 'NOT JUDGED' ? ` (time-scaled ×${r.rto.timeScale})` : ''}`, '');
  out.push(`Workflow \`${r.workflowId}\`, run \`${r.runId}\`; phase **${r.phase}**; started ${formatTime(r.startedAt)} UTC${r.endedAt !== undefined ? `, ended ${formatTime(r.endedAt)} UTC` : ''}.`, '');
  if (r.note) out.push(`> ${mdCell(r.note)}`, '');

  out.push('| | | |', '|---|---|---|');
  const row = (s: SummaryItem) => `| ${mdCell(s.label)} | **${mdCell(s.value)}**${s.ok === undefined ? '' : s.ok ? ' met' : ' MISSED'} | ${mdCell(s.detail)} |`;
  for (const s of summary(r)) {
    out.push(row(s));
    // With several databases, each one's RPO right under the aggregate (the worst of them).
    if (s.label === 'RPO') out.push(...rpoByDatabase(r).map(row));
  }
  out.push('', `Critical path: ${r.criticalPath.steps.map((id) => `\`${id}\``).join(' → ') || '–'}`, '');

  out.push('## Checks', '');
  for (const c of r.checks) out.push(`- ${c.passed ? '✓' : '✗'} ${c.name}: ${mdCell(c.detail)}`);
  out.push('');

  out.push('## Steps', '', '| run | step | status | start | duration | critical | notes |', '|---|---|---|---:|---:|:-:|---|');
  for (const s of r.steps) {
    const tag = s.gate ? ' (gate)' : s.group ? ` (parallel: ${s.group})` : '';
    const start = s.offsetMs !== undefined ? `+${formatDuration(s.offsetMs)}` : '–';
    out.push(`| ${s.run} | ${mdCell(s.title)} \`${mdCell(s.id)}\`${mdCell(tag)} | ${s.status} | ${start} | ${formatDuration(s.durationMs)} | ${s.critical ? '●' : ''} | ${mdCell(s.notes.join('; '))} |`);
  }
  out.push('');

  if (r.gates.length > 0) {
    out.push('## Approval gates', '', '| run | gate | decision | by | waited | comment |', '|---|---|---|---|---:|---|');
    for (const g of r.gates) out.push(`| ${g.run} | ${mdCell(g.gate)} | ${g.decision ?? g.status} | ${mdCell(g.approver ?? '–')} | ${formatDuration(g.waitedMs)} | ${mdCell(g.comment)} |`);
    out.push('');
  }

  out.push('## Audit excerpt', '', '| time (UTC) | actor | action | detail |', '|---|---|---|---|');
  for (const a of r.audit) out.push(`| ${formatTime(a.at)} | ${mdCell(a.actor)} | ${mdCell(a.action)} | ${mdCell(a.detail)} |`);
  out.push('');

  if (trend) out.push('## RTO trend', '', '```', ...renderTrendTable(withReport(trend, r)), '```', '');
  if (readiness) {
    out.push('## Readiness', '');
    if (readiness.length === 0) out.push('No readiness evaluations of this runbook (`drover check`, `drover readiness schedule`).', '');
    else {
      out.push('| evaluated (UTC) | verdict | trigger | changed | not ready then |', '|---|---|---|---|---|');
      for (const x of readiness) out.push(`| ${formatTime(Date.parse(x.evaluatedAt))} | ${mdCell(x.verdict)} | ${mdCell(x.trigger)} | ${mdCell(x.changed.join('; '))} | ${mdCell(x.failing.map((f) => `${f.id} (${f.verdict})`).join(', '))} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

/** The report and the trend as one JSON document: `{ report, trend }`, and `readiness` when given. */
export function renderJson(r: Report, trend?: TrendPoint[], readiness?: ReadinessRow[]): string {
  return `${JSON.stringify({ report: r, trend: trend ?? [], ...(readiness ? { readiness } : {}) }, null, 2)}\n`;
}

/** The RTO trend for a terminal, oldest first: time, run, RTO, RPO, pass/fail. */
export function renderTrendTable(points: TrendPoint[]): string[] {
  const rows = [...points]
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((p) => [formatTime(p.startedAt).slice(0, 16), p.workflowId, formatDuration(p.rtoMs), lag(p.rpoSeconds), p.passed ? 'pass' : p.notJudged ? 'not judged (time-scaled)' : `FAIL (${p.phase})`]);
  const header = ['time (UTC)', 'run', 'RTO', 'RPO', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
