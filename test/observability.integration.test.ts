/**
 * Seeing the worker (docs/observability.md): a `drover worker` process with a health address and an OTLP endpoint,
 * a planned failover started by `drover failover` in a process of its own, and a real Jaeger (test/harness/jaeger.ts)
 * receiving both processes' spans.
 * - /metrics, scraped while the run waits at its gate and after it ended, parsed with a Prometheus text-format parser:
 *   the run counters moved, the step histograms hold the run's steps, the gate wait was observed, the RTO gauge is the
 *   run's reported RTO, AWS calls are counted by service and operation, and the Temporal runtime's own metrics follow.
 * - Jaeger's query API returns one trace rooted at the CLI's `drover failover` span: the run's workflow, its promotion
 *   child, their activities, and AWS calls with request ids; no secret in any span (the OTLP exporter's own bearer
 *   token, a credential the harness minted, is looked for).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Client, Connection } from '@temporalio/client';
import { startLagFeeders } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import type { RunStatus } from '../contracts/run';
import { exec } from '../cli/main';
import { captureIO, emulatorConfig, eventually, testRunbookDir, workflowBundle, writeRunbook } from './harness/fixtures';
import { startOwnMoto, testTemporalAddress } from './harness/servers';
import { readTraces, startJaeger, type JaegerServer, type JaegerSpan } from './harness/jaeger';
import { recordHarnessCredential, scanValue } from './harness/secrets';
import { dashboardQueries, metricNames } from './harness/dashboard';

const ROOT = path.join(__dirname, '..');
const STANDBY = 'ap-southeast-1';
let moto: MotoServer;
let jaeger: JaegerServer;
let connection: Connection;
let client: Client;
let bundleDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [moto, jaeger] = await Promise.all([startOwnMoto(), startJaeger()]);
  connection = await Connection.connect({ address: testTemporalAddress() });
  client = new Client({ connection });
  bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bundle-'));
  fs.writeFileSync(path.join(bundleDir, 'workflows.js'), (await workflowBundle()).code);
}, 1_900_000);

const savedEnv = { ...process.env };
afterAll(async () => {
  process.env = savedEnv;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await connection?.close();
  await Promise.allSettled([moto?.stop(), jaeger?.stop()]);
  if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
});

/** A drover process (`node --import tsx cli/main.ts ...`), its stderr collected. */
function drover(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

interface Sample {
  labels?: Record<string, string>;
  value?: string;
}
type Families = Map<string, { type: string; metrics: Sample[] }>;

/**
 * Scrape and parse /metrics. The parser folds a labelled histogram's series into one sample (its flattenMetrics keeps
 * only `le`), so histograms are read a second time with their TYPE line left out: their _bucket, _sum and _count
 * series then parse as series of their own, labels kept. Every family's type is from the first, unaltered parse.
 */
async function scrape(at: string): Promise<Families> {
  const r = await fetch(`http://${at}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const types = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f.type as string]));
  const histograms = [...types].filter(([, t]) => t === 'HISTOGRAM').map(([n]) => n);
  const series = parsePrometheusTextFormat(text.split('\n').filter((l) => !histograms.some((h) => l === `# TYPE ${h} histogram` || l.startsWith(`# HELP ${h} `))).join('\n'));
  // Each label set's _bucket, _sum and _count lines come together, so one series name recurs as several families.
  const families: Families = new Map();
  for (const f of series) {
    const family = families.get(f.name) ?? { type: types.get(f.name) ?? types.get(f.name.replace(/_(bucket|sum|count)$/, '')) ?? f.type, metrics: [] };
    family.metrics.push(...f.metrics);
    families.set(f.name, family);
  }
  return families;
}

/** The samples of `name` whose labels include `labels`. */
function samples(families: Families, name: string, labels: Record<string, string> = {}): Sample[] {
  return (families.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
const value = (families: Families, name: string, labels: Record<string, string>) => samples(families, name, labels).map((s) => Number(s.value));

test('a failover seen from outside: /metrics during and after the run, and one trace in Jaeger from the CLI to the AWS calls', async () => {
  const name = `ak-obs-${process.pid}`;
  // At full time (a time-scaled run's RTO is never the last measured one), with short soaks so the run is quick.
  const { file, runbook: rb } = writeRunbook({ name, unique: true, set: [[['health', 'probes'], {}], [['dns', 'shift', 'soak'], '1s'], [['health', 'interval'], '1s']] });
  await seedRunbook(rb, emulatorConfig(moto.endpoint));
  const feeder = startLagFeeders({ endpoint: moto.endpoint, rb, lagSeconds: 0, everyMs: 300 });
  const taskQueue = `tq-${name}`;
  const workflowId = `failover-${name}`;
  // A bearer token for the collector, minted here: it must reach Jaeger as a header and never appear in a span.
  const token = `obs-${crypto.randomBytes(18).toString('hex')}`;
  recordHarnessCredential(token, 'the OTLP exporter\'s bearer token');
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint, OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${token}`, OTEL_BSP_SCHEDULE_DELAY: '200' };
  const common = { TEMPORAL_ADDRESS: testTemporalAddress(), AWS_ENDPOINT_URL: moto.endpoint, DROVER_TASK_QUEUE: taskQueue, ...otel };

  const worker = drover(['worker'], { ...common, DROVER_WORKFLOW_BUNDLE: path.join(bundleDir, 'workflows.js'), DROVER_RUNBOOKS: testRunbookDir(), DROVER_HEALTH_ADDRESS: '127.0.0.1:0' });
  try {
    const at = await eventually(async () => /health: http:\/\/(127\.0\.0\.1:\d+)\/healthz/.exec(worker.stderr())?.[1], 'the worker to say where its health endpoint listens');
    await eventually(async () => (await fetch(`http://${at}/readyz`)).status === 200, '/readyz once the worker polls');
    expect((await fetch(`http://${at}/healthz`)).status).toBe(200);
    expect(worker.stderr()).toContain(`traces: OTLP/HTTP to ${jaeger.otlpHttpEndpoint}/v1/traces as drover-worker`);
    expect(worker.stderr()).not.toContain(token);

    const cli = drover(['failover', file, '--to', STANDBY, '--reason', 'observability test', '--requested-by', 'ic-test'], common);
    const run = { runbook: name, kind: 'failover', mode: 'planned', drill: 'false' };

    // During: the run waits at its failover gate.
    await eventually(async () => {
      const s = await client.workflow.getHandle(workflowId).query<RunStatus>('status').catch(() => undefined);
      return s?.pendingGate !== undefined;
    }, 'the failover to wait at its gate');
    const during = await scrape(at);
    expect(value(during, 'drover_runs_started_total', run)).toEqual([1]);
    expect(samples(during, 'drover_runs_finished_total', { runbook: name })).toEqual([]);
    expect(during.get('drover_step_duration_seconds_count')?.type).toBe('HISTOGRAM');
    const doneBefore = samples(during, 'drover_step_duration_seconds_count', { kind: 'failover' }).map((s) => s.labels?.step);
    expect(doneBefore).toEqual(expect.arrayContaining(['preflight']));
    expect(samples(during, 'drover_gate_wait_seconds_count', { kind: 'failover' })).toEqual([]);
    // The Temporal runtime's own worker metrics, from its exporter, on the same endpoint.
    expect([...during.keys()].filter((n) => n.startsWith('temporal_')).length).toBeGreaterThan(5);
    expect(samples(during, 'temporal_worker_task_slots_available', { task_queue: taskQueue }).length).toBeGreaterThan(0);

    process.env.TEMPORAL_ADDRESS = testTemporalAddress();
    expect(await exec(['approve', workflowId, '--gate', 'failover', '--as', 'ic-arjun', '--comment', 'go'], captureIO())).toBe(0);
    expect(await cli.exit).toBe(0);
    const result = (await client.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(result.phase).toBe('completed');

    // After: the run ended, every step it took is in the histogram, the RTO gauge is the run's.
    const after = await scrape(at);
    expect(value(after, 'drover_runs_started_total', run)).toEqual([1]);
    expect(value(after, 'drover_runs_finished_total', { ...run, outcome: 'completed' })).toEqual([1]);
    expect(value(after, 'drover_runs_finished_total', { runbook: name, kind: 'promote', outcome: 'completed' })).toEqual([1]);
    const stepCounts = Object.fromEntries(samples(after, 'drover_step_duration_seconds_count', { kind: 'failover' }).map((s) => [`${s.labels?.step}/${s.labels?.outcome}`, Number(s.value)]));
    const taken = result.steps.filter((s) => s.status === 'done' || s.status === 'skipped');
    expect(taken.length).toBeGreaterThan(5);
    expect(stepCounts).toEqual(Object.fromEntries(taken.map((s) => [`${s.id}/${s.status}`, 1])));
    const gate = result.steps.find((s) => s.gate);
    const waited = { kind: 'failover', gate: gate?.id ?? '?', outcome: 'done' };
    expect(value(after, 'drover_gate_wait_seconds_count', waited)).toEqual([1]);
    expect(value(after, 'drover_gate_wait_seconds_sum', waited)[0]).toBeCloseTo(((gate?.endedAt ?? 0) - (gate?.startedAt ?? 0)) / 1000, 3);
    expect(result.rto).toBeDefined();
    expect(value(after, 'drover_last_rto_seconds', { runbook: name, drill: 'false' })).toEqual([(result.rto?.ms ?? NaN) / 1000]);
    expect(value(after, 'drover_last_rto_met', { runbook: name, drill: 'false' })).toEqual([result.rto?.met ? 1 : 0]);
    expect(value(after, 'drover_rto_objective_seconds', { runbook: name })).toEqual([rb.objectives.rto / 1000]);
    expect(value(after, 'drover_last_rpo_seconds', { runbook: name, drill: 'false' })).toEqual([result.rpo?.lagSeconds]);
    expect(value(after, 'drover_aws_calls_total', { service: 'rds', operation: 'PromoteReadReplica' })).toEqual([1]);
    expect(value(after, 'drover_aws_calls_total', { service: 'route53', operation: 'ChangeResourceRecordSets' })[0]).toBeGreaterThan(0);
    // The dashboard (deploy/grafana/drover.json) reads only what this endpoint serves, the Temporal SDK's names too.
    const served = (n: string) => after.has(n) || after.has(`${n}_count`);
    expect(dashboardQueries().flatMap((q) => metricNames(q.expr).filter((n) => !served(n)).map((n) => `${q.where}: ${n}`))).toEqual([]);
    // No run id or free text became a label.
    for (const [, family] of after) for (const m of family.metrics) for (const v of Object.values(m.labels ?? {})) expect(v).not.toMatch(new RegExp(`${result.runId}|observability test|ic-test`));

    // One trace, rooted at the CLI's command.
    const spans = await eventually(async () => {
      const traces = await readTraces(jaeger.queryUrl, 'drover-cli');
      const mine = traces.find((t) => t.spans.some((s) => s.operationName === 'drover failover'));
      const all = mine?.spans ?? [];
      // Complete once the worker's last batch (the run's end) is in.
      return all.some((s) => s.operationName === 'RunWorkflow:regionFailover') && all.some((s) => s.operationName === 'RDS.PromoteReadReplica') && all.some((s) => s.operationName === 'RunWorkflow:promoteReplica') ? mine : undefined;
    }, 'the failover\'s trace in Jaeger', 60_000);
    const byId = new Map(spans.spans.map((s) => [s.spanID, s]));
    const parent = (s: JaegerSpan) => byId.get(s.parentSpanID ?? '');
    const ancestors = (s: JaegerSpan) => {
      const names: string[] = [];
      for (let p = parent(s); p; p = parent(p)) names.push(p.operationName);
      return names;
    };
    const roots = spans.spans.filter((s) => !parent(s));
    expect(roots.map((s) => [s.operationName, s.process.serviceName])).toEqual([['drover failover', 'drover-cli']]);
    const services = new Set(spans.spans.map((s) => s.process.serviceName));
    expect([...services].sort()).toEqual(['drover-cli', 'drover-worker']);
    // The promotion child's spans hang under the failover's workflow, which hangs under the CLI.
    const promote = spans.spans.find((s) => s.operationName === 'RunWorkflow:promoteReplica');
    expect(promote && ancestors(promote)).toEqual(expect.arrayContaining(['RunWorkflow:regionFailover', 'drover failover']));
    const promoteActivities = spans.spans.filter((s) => s.operationName.startsWith('RunActivity:') && promote && ancestors(s).includes('RunWorkflow:promoteReplica'));
    expect(promoteActivities.length).toBeGreaterThan(0);
    // AWS calls: a span each, under its activity, with the service, operation and AWS's request id.
    const promotion = spans.spans.find((s) => s.operationName === 'RDS.PromoteReadReplica');
    expect(promotion?.tags).toMatchObject({ 'rpc.system': 'aws-api', 'rpc.service': 'RDS', 'rpc.method': 'PromoteReadReplica', 'cloud.region': STANDBY });
    expect(String(promotion?.tags['aws.request_id'] ?? '')).toMatch(/\S{8,}/);
    expect(ancestors(promotion!)[0]).toMatch(/^RunActivity:/);
    expect(ancestors(promotion!)).toContain('RunWorkflow:promoteReplica');
    const awsSpans = spans.spans.filter((s) => s.tags['rpc.system'] === 'aws-api');
    expect(awsSpans.length).toBeGreaterThan(10);
    expect(awsSpans.filter((s) => !s.tags['aws.request_id'])).toEqual([]);
    // No secret in any span: not the exporter's token, nor any credential shape.
    expect(scanValue(spans)).toEqual([]);
  } finally {
    feeder.stop();
    worker.child.kill('SIGTERM');
    await worker.exit;
  }
}, 300_000);
