import { chartJsSource, inlineSafe, reportAsset } from './assets';
import { escapeHtml as e, formatDuration, formatTime } from './format';
import { verdictOf, type Report, type TrendPoint } from './report';
import { lag, summary, title, withReport } from './summary';
import type { ReadinessRow } from '../contracts/readiness';

/**
 * The report as one self-contained HTML file: Chart.js, the chart script and the data are inlined,
 * and the Content-Security-Policy forbids every network fetch, so it opens the same anywhere.
 */
export function renderHtml(r: Report, trend: TrendPoint[], readiness?: ReadinessRow[]): string {
  const data = { report: r, trend: withReport(trend, r) };
  const timelineRows = r.steps.filter((s) => s.durationMs !== undefined).length;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>${e(title(r))} — ${verdictOf(r)}</title>
<style>
${inlineSafe(reportAsset('report.css'))}
</style>
</head>
<body>
<header>
<h1><span class="verdict ${r.passed ? 'pass' : verdictOf(r) === 'NOT JUDGED' ? 'unjudged' : 'fail'}">${verdictOf(r)}</span>${e(title(r))}</h1>
<p class="meta">${e(r.kind)} <code>${e(r.workflowId)}</code> run <code>${e(r.runId)}</code> · phase <b>${e(r.phase)}</b> · started ${e(formatTime(r.startedAt))} UTC${
    r.endedAt !== undefined ? ` · ended ${e(formatTime(r.endedAt))} UTC` : ''
  }${r.runs.map((run) => ` · ${e(run.kind)} ${e(run.fromRegion)} → ${e(run.targetRegion)} (${e(run.mode)})`).join('')}</p>
<div class="cards">
${summary(r)
  .map(
    (s) =>
      `<div class="card"><div class="label">${e(s.label)}</div><div class="value${s.ok === undefined ? '' : s.ok ? ' ok' : ' bad'}">${e(s.value)}</div><div class="sub">${e(s.detail)}</div></div>`,
  )
  .join('\n')}
</div>
${r.note ? `<p class="note">${e(r.note)}</p>` : ''}
<ul class="checks">
${r.checks.map((c) => `<li class="${c.passed ? 'ok' : 'bad'}">${c.passed ? '✓' : '✗'} <b>${e(c.name)}</b>: ${e(c.detail)}</li>`).join('\n')}
</ul>
<p class="path">critical path (${e(formatDuration(r.criticalPath.ms))}): ${r.criticalPath.steps.map(e).join(' → ') || '–'}</p>
</header>
${rpoTable(r)}
<h2>Timeline</h2>
<div class="chart" style="height: ${Math.max(160, 70 + timelineRows * 24)}px"><canvas id="timeline-chart" role="img" aria-label="Timeline of the steps"></canvas></div>
<p class="meta">One row per step, from its start to its end; steps of a parallel group overlap. Outlined bars are on the critical path.</p>

<h2>RTO trend across recent drills</h2>
<div class="chart" style="height: 280px"><canvas id="trend-chart" role="img" aria-label="RTO of recent drills against the objective"></canvas></div>

${readiness ? readinessSection(readiness) : ''}
<h2>Steps</h2>
<table>
<thead><tr><th>run</th><th>step</th><th>status</th><th>start</th><th>duration</th><th>notes</th></tr></thead>
<tbody>
${r.steps
  .map((s) => {
    const tag = s.gate ? ' <span class="gate">(approval gate)</span>' : s.group ? ` <span class="notes">(parallel: ${e(s.group)})</span>` : '';
    return `<tr${s.critical ? ' class="critical"' : ''}><td>${e(s.run)}</td><td>${e(s.title)} <code>${e(s.id)}</code>${tag}</td><td class="${s.status === 'failed' ? 'bad' : ''}">${e(s.status)}</td><td class="num">${
      s.offsetMs !== undefined ? `+${e(formatDuration(s.offsetMs))}` : '–'
    }</td><td class="num">${e(formatDuration(s.durationMs))}</td><td class="notes">${s.notes.map(e).join('<br>')}</td></tr>`;
  })
  .join('\n')}
</tbody>
</table>

<h2>Approval gates</h2>
<table>
<thead><tr><th>run</th><th>gate</th><th>decision</th><th>by</th><th>decided (UTC)</th><th>waited</th><th>comment</th></tr></thead>
<tbody>
${
  r.gates
    .map(
      (g) =>
        `<tr><td>${e(g.run)}</td><td>${e(g.gate)}</td><td>${e(g.decision ?? g.status)}</td><td>${e(g.approver ?? '–')}</td><td class="time">${e(formatTime(g.decidedAt))}</td><td class="num">${e(formatDuration(g.waitedMs))}</td><td>${e(g.comment ?? '')}</td></tr>`,
    )
    .join('\n') || '<tr><td colspan="7">no approval gates</td></tr>'
}
</tbody>
</table>

<h2>Audit excerpt</h2>
<table>
<thead><tr><th>time (UTC)</th><th>actor</th><th>action</th><th>detail</th></tr></thead>
<tbody>
${r.audit.map((a) => `<tr><td class="time">${e(formatTime(a.at))}</td><td>${e(a.actor)}</td><td>${e(a.action)}</td><td class="notes">${e(a.detail ?? '')}</td></tr>`).join('\n')}
</tbody>
</table>

<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>
${inlineSafe(chartJsSource())}
</script>
<script>
${inlineSafe(reportAsset('report.client.js'))}
</script>
</body>
</html>
`;
}

/** With several databases: each one's RPO against the objective (nothing for a single database). */
function rpoTable(r: Report): string {
  if (!r.rpo.databases) return '';
  return `
<h2>RPO per database</h2>
<table id="rpo-databases">
<thead><tr><th>database</th><th>instance</th><th>lag at promotion</th><th>objective</th><th>result</th><th>notes</th></tr></thead>
<tbody>
${r.rpo.databases
  .map(
    (d) =>
      `<tr><td>${e(d.name)}</td><td><code>${e(d.identifier)}</code> (${e(d.region)})</td><td class="num">${e(d.promoted ? lag(d.lagSeconds) : 'not promoted')}</td><td class="num">${e(
        formatDuration(r.rpo.objectiveMs),
      )}</td><td class="${d.met ? 'ok' : 'bad'}">${d.met ? '✓ met' : '✗ missed'}</td><td class="notes">${e(d.error ?? d.note ?? '')}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
`;
}

/** The runbook's readiness history (docs/readiness.md): each evaluation, newest first, what changed and what was not ready. */
function readinessSection(rows: ReadinessRow[]): string {
  const verdictClass = (v: string) => (v === 'ready' ? 'ok' : v === 'degraded' ? 'warn' : 'bad');
  return `
<h2>Readiness</h2>
<table id="readiness">
<thead><tr><th>evaluated (UTC)</th><th>verdict</th><th>trigger</th><th>changed</th><th>not ready then</th></tr></thead>
<tbody>
${
  rows
    .map(
      (x) =>
        `<tr><td class="time">${e(formatTime(Date.parse(x.evaluatedAt)))}</td><td class="${verdictClass(x.verdict)}">${e(x.verdict)}</td><td>${e(x.trigger)}</td><td class="notes">${x.changed.map(e).join('<br>')}</td><td class="notes">${x.failing
          .map((f) => `${e(f.id)} (${e(f.verdict)}): ${e(f.reason)}`)
          .join('<br>')}</td></tr>`,
    )
    .join('\n') || '<tr><td colspan="5">no readiness evaluations of this runbook (drover check, drover readiness schedule)</td></tr>'
}
</tbody>
</table>
`;
}

/** JSON inside a <script> element: `<` escaped so no text in the data can end the element or open a comment. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
