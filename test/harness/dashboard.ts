import fs from 'node:fs';
import path from 'node:path';

/** drover's Grafana dashboard (deploy/grafana/drover.json). */
export const DASHBOARD = path.join(__dirname, '../../deploy/grafana/drover.json');

interface Panel {
  title: string;
  targets?: Array<{ expr?: string }>;
}

/** Every PromQL query of the dashboard: its panels' targets and its template variables' queries. */
export function dashboardQueries(file = DASHBOARD): Array<{ where: string; expr: string }> {
  const dash = JSON.parse(fs.readFileSync(file, 'utf8')) as { panels: Panel[]; templating?: { list: Array<{ name: string; query?: unknown }> } };
  const queries: Array<{ where: string; expr: string }> = [];
  for (const p of dash.panels) for (const t of p.targets ?? []) queries.push({ where: `panel "${p.title}"`, expr: t.expr ?? '' });
  for (const v of dash.templating?.list ?? []) {
    const q = v.query as { query?: string } | string | undefined;
    const text = typeof q === 'string' ? q : q?.query;
    if (text && /\(/.test(text)) queries.push({ where: `variable ${v.name}`, expr: text });
  }
  return queries;
}

/**
 * The metric names a query reads: identifiers of drover's and Temporal's families (drover_*, temporal_*), a
 * histogram's _bucket, _sum and _count read as the histogram itself.
 */
export function metricNames(expr: string): string[] {
  const names = [...expr.matchAll(/\b((?:drover|temporal)_[a-zA-Z0-9_]+)/g)].map((m) => m[1]);
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}
