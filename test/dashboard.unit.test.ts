/**
 * The Grafana dashboard (deploy/grafana/drover.json) reads only metrics drover exports: every drover_* name a query
 * names is one of telemetry/metrics.ts's families (the Temporal runtime's temporal_* names are checked against a
 * real worker's /metrics in test/observability.integration.test.ts).
 */
import { enableMetrics } from '../telemetry/metrics';
import { dashboardQueries, metricNames } from './harness/dashboard';

test('every query of the dashboard names a metric drover exports, and the dashboard covers runs, RTO, steps and AWS errors', async () => {
  const exported = new Set((await enableMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
  const queries = dashboardQueries();
  expect(queries.length).toBeGreaterThan(10);
  const unknown = queries.flatMap((q) => metricNames(q.expr).filter((n) => n.startsWith('drover_') && !exported.has(n)).map((n) => `${q.where}: ${n}`));
  expect(unknown).toEqual([]);
  // Every query reads at least one metric; what the issue asks the dashboard to start from is there.
  expect(queries.filter((q) => metricNames(q.expr).length === 0)).toEqual([]);
  const read = new Set(queries.flatMap((q) => metricNames(q.expr)));
  for (const needed of ['drover_runs_finished_total', 'drover_last_rto_seconds', 'drover_rto_objective_seconds', 'drover_step_duration_seconds', 'drover_aws_call_errors_total']) expect(read).toContain(needed);
});

test('metric names are read from queries, a histogram\'s series as the histogram', () => {
  expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(drover_step_duration_seconds_bucket[5m]))) / drover_x_total')).toEqual(['drover_step_duration_seconds', 'drover_x_total']);
  expect(metricNames('sum(rate(http_requests_total[5m]))')).toEqual([]);
});
