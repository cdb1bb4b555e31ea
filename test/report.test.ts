import { auditExcerpt, buildReport, trendPoint, type ReportInput } from '../reports/report';
import { renderHtml, renderJson, renderMarkdown, renderTrendTable } from '../reports/render';
import { sampleDrillInput, sampleTrend, SAMPLE_T0 } from '../reports/sample';
import type { DatabaseOutcome, RunStatus, Step } from '../contracts/run';
import { readinessRows, type ReadinessRun } from '../contracts/readiness';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

function step(id: string, from: number, to: number, extra: Partial<Step> = {}): Step {
  return { id, title: id, status: 'done', startedAt: T0 + from, endedAt: T0 + to, notes: [], ...extra };
}

function failoverRun(steps: Step[], extra: Partial<RunStatus> = {}): RunStatus {
  return {
    workflowId: 'failover-shop',
    runId: 'run-1',
    kind: 'failover',
    runbook: 'shop',
    mode: 'unplanned',
    fromRegion: 'us-east-1',
    targetRegion: 'us-west-2',
    reason: 'us-east-1 outage',
    requestedBy: 'carol',
    startedAt: T0,
    phase: 'completed',
    decisions: [],
    steps,
    trafficPercent: 100,
    ...extra,
  };
}

function input(runs: RunStatus[], extra: Partial<ReportInput> = {}): ReportInput {
  return {
    kind: 'failover',
    workflowId: runs[0]?.workflowId ?? 'failover-shop',
    runId: runs[0]?.runId ?? 'run-1',
    runbook: 'shop',
    objectives: { rtoMs: 10 * 60_000, rpoMs: 30_000 },
    phase: runs.every((r) => r.phase === 'completed') ? 'completed' : 'failed',
    startedAt: T0,
    runs,
    ...extra,
  };
}

/** A failover whose timestamps are the only record (no `rto` on the status): the report computes it. */
function unrecordedFailover(extra: Partial<RunStatus> = {}): RunStatus {
  return failoverRun(
    [
      step('preflight', 100, 4_100),
      step('gate:failover', 4_200, 94_200, { gate: true }),
      step('scale-compute', 94_300, 214_300, { group: 'act' }),
      step('promote-database', 94_300, 154_300, { group: 'act' }),
      step('repoint-writer', 214_400, 219_400),
      step('traffic-50', 219_500, 279_500),
      step('traffic-100', 279_600, 339_611),
      step('verify', 339_700, 343_913),
    ],
    { decisions: [{ gate: 'failover', approver: 'dave', decision: 'approved', at: T0 + 94_150, comment: 'go' }], rpo: { lagSeconds: 12, observedAt: new Date(T0 + 150_000).toISOString(), note: 'replica lag last observed before promotion' }, ...extra },
  );
}

describe('buildReport', () => {
  test('given a parallel group, the critical path takes its longest member and sums sequential steps', () => {
    const r = buildReport(input([unrecordedFailover()]));
    expect(r.criticalPath.steps).toEqual(['preflight', 'gate:failover', 'scale-compute', 'repoint-writer', 'traffic-50', 'traffic-100', 'verify']);
    expect(r.criticalPath.ms).toBe(4_000 + 90_000 + 120_000 + 5_000 + 60_000 + 60_011 + 4_213);
    expect(r.steps.find((s) => s.id === 'promote-database')).toMatchObject({ critical: false, durationMs: 60_000, group: 'act' });
    expect(r.steps.find((s) => s.id === 'scale-compute')).toMatchObject({ critical: true, durationMs: 120_000 });
  });

  test('given a drill, the critical path runs through the failover then the failback', () => {
    const r = buildReport(sampleDrillInput());
    const path = r.criticalPath.steps;
    expect(path.indexOf('verify')).toBeLessThan(path.indexOf('assess'));
    expect(path).toContain('scale-compute');
    expect(path).not.toContain('promote-database');
    const expected = r.steps.filter((s) => s.critical).reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
    expect(r.criticalPath.ms).toBe(expected);
  });

  test('given no recorded RTO, it is verify.endedAt - startedAt, exactly', () => {
    const run = unrecordedFailover();
    const r = buildReport(input([run]));
    const verify = run.steps.find((s) => s.id === 'verify') as Step;
    expect(r.rto.source).toBe('timestamps');
    expect(r.rto.ms).toBe((verify.endedAt as number) - run.startedAt);
    expect(r.rto.gateWaitMs).toBe(90_000);
    expect(r.rto.excludingGatesMs).toBe((r.rto.ms as number) - 90_000);
  });

  test('given a recorded RTO, the report uses it', () => {
    const input = sampleDrillInput();
    const failover = input.runs[0];
    const verify = failover.steps.find((s) => s.id === 'verify') as Step;
    const r = buildReport(input);
    expect(r.rto).toMatchObject({ source: 'recorded', run: 'failover', ms: failover.rto?.ms, met: true });
    expect(r.rto.ms).toBe((verify.endedAt as number) - failover.startedAt);
  });

  test('given a failback without verification, RTO ends with the 100% traffic step', () => {
    const run = failoverRun([step('assess', 0, 1_000), step('traffic-back-50', 1_000, 61_000), step('traffic-back-100', 61_000, 121_500), step('return-standby', 121_500, 180_000)], { kind: 'failback' });
    const r = buildReport(input([run], { kind: 'failback' }));
    expect(r.rto.ms).toBe(121_500);
  });

  test('given a shift reverted before 100%, there is no RTO and the run fails', () => {
    const run = failoverRun([step('traffic-50', 0, 60_000), step('traffic-100', 60_000, 70_000, { status: 'failed', notes: ['alarm 5xx in ALARM; reverted traffic to 50%'] })], {
      phase: 'failed',
      error: { type: 'HealthCheckFailed', message: 'alarm 5xx in ALARM' },
    });
    const r = buildReport(input([run]));
    expect(r.rto.ms).toBeUndefined();
    expect(r.rto.met).toBe(false);
    expect(r.passed).toBe(false);
  });

  test('given 12 s of replica lag, a 30 s RPO objective passes and a 10 s one fails', () => {
    expect(buildReport(input([unrecordedFailover()])).rpo).toMatchObject({ lagSeconds: 12, met: true });
    const strict = buildReport(input([unrecordedFailover()], { objectives: { rtoMs: 10 * 60_000, rpoMs: 10_000 } }));
    expect(strict.rpo.met).toBe(false);
    expect(strict.passed).toBe(false);
    expect(strict.checks.find((c) => c.name === 'rpo')).toMatchObject({ passed: false, detail: expect.stringContaining('12000 ms') });
  });

  test('gate waits are listed with their decider, apart from the RTO excluding them', () => {
    const r = buildReport(sampleDrillInput());
    expect(r.gates).toEqual([
      expect.objectContaining({ run: 'failover', gate: 'failover', approver: 'alice@apnakart.example', decision: 'approved', waitedMs: 155_500 }),
      expect.objectContaining({ run: 'failback', gate: 'failback', approver: 'bob@apnakart.example', decision: 'approved', waitedMs: 109_900 }),
    ]);
    expect(r.rto.gateWaitMs).toBe(155_500);
    expect(r.rto.excludingGatesMs).toBe((r.rto.ms as number) - 155_500);
  });

  test('given a drill, the RTO is the failover one and the failback duration is the time to restore', () => {
    const input = sampleDrillInput();
    const r = buildReport(input);
    const failback = input.runs[1];
    const lastEnd = Math.max(...failback.steps.map((s) => s.endedAt as number));
    expect(r.rto.run).toBe('failover');
    expect(r.timeToRestoreMs).toBe(lastEnd - failback.startedAt);
    expect(r.passed).toBe(true);
  });

  test('given a run that did not complete, the report fails even within objectives', () => {
    const run = unrecordedFailover({ phase: 'failed', error: { type: 'VerificationFailed', message: 'verification failed: writer still a replica' } });
    const r = buildReport(input([run], { phase: 'failed' }));
    expect(r.rto.met).toBe(true);
    expect(r.rpo.met).toBe(true);
    expect(r.passed).toBe(false);
    expect(r.checks[0]).toMatchObject({ name: 'completed', passed: false, detail: expect.stringContaining('writer still a replica') });
  });

  test('given a drill whose failback failed, the drill fails and has no time to restore', () => {
    const drill = sampleDrillInput();
    drill.runs[1] = { ...drill.runs[1], phase: 'failed', error: { message: 'switchover timed out' } };
    const r = buildReport({ ...drill, phase: 'failed', note: 'failback failed: switchover timed out' });
    expect(r.passed).toBe(false);
    expect(r.timeToRestoreMs).toBeUndefined();
    expect(r.rto.met).toBe(true);
  });

  test('the report survives a JSON round trip unchanged', () => {
    const r = buildReport(sampleDrillInput());
    expect(JSON.parse(renderJson(r)).report).toEqual(r);
  });

  test('trendPoint carries the RTO, the RPO and the verdict', () => {
    const r = buildReport(sampleDrillInput());
    expect(trendPoint(r)).toEqual({ workflowId: 'drill-apnakart-20250614', startedAt: SAMPLE_T0 - 1200, rtoMs: r.rto.ms, rpoSeconds: 0, passed: true, phase: 'completed' });
  });
});

/** A database promoted in us-west-2 with `lagSeconds` of replica lag (-1: unknown). */
function promoted(name: string, lagSeconds: number): DatabaseOutcome {
  const note = lagSeconds < 0 ? 'unplanned: no ReplicaLag datapoint was available; data loss window unknown' : `unplanned: accepted the last observed ReplicaLag (${lagSeconds}s)`;
  return { name, identifier: `shop-${name}-replica`, region: 'us-west-2', promoted: true, rpo: { lagSeconds, observedAt: new Date(T0 + 150_000).toISOString(), note }, writerEndpoint: `shop-${name}-replica.usw2.rds.amazonaws.com` };
}

/** A failover of several databases; its `rpo` is the worst of theirs, as the workflow records it. */
function multiDatabaseFailover(databases: DatabaseOutcome[], extra: Partial<RunStatus> = {}): RunStatus {
  const rpos = databases.flatMap((d) => (d.rpo ? [{ name: d.name, rpo: d.rpo }] : []));
  const worst = rpos.find((d) => d.rpo.lagSeconds < 0) ?? rpos.reduce((w, d) => (d.rpo.lagSeconds > w.rpo.lagSeconds ? d : w));
  return unrecordedFailover({ databases, rpo: { ...worst.rpo, note: `worst of ${databases.length} databases, ${worst.name}: ${worst.rpo.note}` }, ...extra });
}

describe('buildReport with several databases', () => {
  test('given one database, the report is the same as without `databases` and has no breakdown', () => {
    const plain = unrecordedFailover();
    const r = buildReport(input([{ ...plain, databases: [{ ...promoted('main', 12), rpo: plain.rpo }] }]));
    expect(r).toEqual(buildReport(input([plain])));
    expect(r.rpo).not.toHaveProperty('databases');
    expect(renderMarkdown(r)).toBe(renderMarkdown(buildReport(input([plain]))));
  });

  test('given 3 databases within the objective, the RPO is met with a breakdown of 3', () => {
    const r = buildReport(input([multiDatabaseFailover([promoted('orders', 0), promoted('catalog', 12), promoted('sessions', 5)])]));
    expect(r.rpo).toMatchObject({ lagSeconds: 12, objectiveMs: 30_000, met: true });
    expect(r.rpo.databases).toEqual([
      expect.objectContaining({ name: 'orders', identifier: 'shop-orders-replica', region: 'us-west-2', lagSeconds: 0, promoted: true, met: true }),
      expect.objectContaining({ name: 'catalog', lagSeconds: 12, promoted: true, met: true }),
      expect.objectContaining({ name: 'sessions', lagSeconds: 5, promoted: true, met: true }),
    ]);
    expect(r.checks.find((c) => c.name === 'rpo')).toEqual({ name: 'rpo', passed: true, detail: 'all 3 databases within an objective of 30000 ms; worst catalog: 12000 ms of replica lag' });
    expect(r.passed).toBe(true);

    const md = renderMarkdown(r);
    expect(md).toContain('| RPO | **12s** met | replica lag at promotion, objective 30.0s (worst of 3 databases, catalog: ');
    expect(md).toContain('| RPO orders | **0s** met | shop-orders-replica in us-west-2, objective 30.0s');
    expect(md).toContain('| RPO catalog | **12s** met |');
    expect(md).toContain('| RPO sessions | **5s** met |');
    const html = renderHtml(r, []);
    expect(html).toContain('<h2>RPO per database</h2>');
    const table = html.slice(html.indexOf('<table id="rpo-databases">'), html.indexOf('</table>', html.indexOf('<table id="rpo-databases">')));
    expect(table.match(/<tr><td>/g)).toHaveLength(3);
    expect(table).toContain('<tr><td>catalog</td><td><code>shop-catalog-replica</code> (us-west-2)</td><td class="num">12s</td><td class="num">30.0s</td><td class="ok">✓ met</td>');
  });

  test('given one database over the objective, the RPO check fails naming it', () => {
    const r = buildReport(input([multiDatabaseFailover([promoted('orders', 45), promoted('catalog', 12), promoted('sessions', 5)])]));
    expect(r.rpo.met).toBe(false);
    expect(r.rpo.databases?.map((d) => d.met)).toEqual([false, true, true]);
    expect(r.checks.find((c) => c.name === 'rpo')).toEqual({ name: 'rpo', passed: false, detail: 'orders: 45000 ms of replica lag against an objective of 30000 ms; 2 other databases within the objective' });
    expect(r.passed).toBe(false);
    expect(renderMarkdown(r)).toContain('| RPO orders | **45s** MISSED |');
    expect(renderHtml(r, [])).toContain('<td class="num">45s</td><td class="num">30.0s</td><td class="bad">✗ missed</td>');
  });

  test('given a database that was not promoted, it missed the objective with its error, even when the others were within it', () => {
    const failed: DatabaseOutcome = { name: 'catalog', identifier: 'shop-catalog-replica', region: 'us-west-2', promoted: false, error: 'InvalidDBInstanceState: replica is not available' };
    const run = multiDatabaseFailover([promoted('orders', 0), failed, promoted('sessions', 5)], { phase: 'failed', error: { message: 'promoted orders, sessions; not promoted: catalog' } });
    const r = buildReport(input([run]));
    expect(r.rpo).toMatchObject({ lagSeconds: 5, met: false });
    expect(r.rpo.databases?.[1]).toEqual({ name: 'catalog', identifier: 'shop-catalog-replica', region: 'us-west-2', promoted: false, met: false, error: 'InvalidDBInstanceState: replica is not available' });
    expect(r.checks.find((c) => c.name === 'rpo')).toEqual({ name: 'rpo', passed: false, detail: 'catalog: not promoted (InvalidDBInstanceState: replica is not available); 2 other databases within the objective' });
    expect(renderMarkdown(r)).toContain('| RPO catalog | **not promoted** MISSED | shop-catalog-replica in us-west-2, objective 30.0s: InvalidDBInstanceState: replica is not available |');
    expect(renderHtml(r, [])).toContain('<td class="bad">✗ missed</td><td class="notes">InvalidDBInstanceState: replica is not available</td>');
  });

  test('given a database whose lag is unknown (-1), it reads "unknown" and misses the objective', () => {
    const r = buildReport(input([multiDatabaseFailover([promoted('orders', 0), promoted('catalog', 12), promoted('sessions', -1)])]));
    expect(r.rpo).toMatchObject({ lagSeconds: -1, met: false });
    expect(r.rpo.databases?.[2]).toMatchObject({ name: 'sessions', lagSeconds: -1, promoted: true, met: false });
    const check = r.checks.find((c) => c.name === 'rpo');
    expect(check).toEqual({ name: 'rpo', passed: false, detail: 'sessions: replica lag unknown against an objective of 30000 ms; 2 other databases within the objective' });
    const md = renderMarkdown(r);
    expect(md).toContain('| RPO | **unknown** MISSED |');
    expect(md).toContain('| RPO sessions | **unknown** MISSED |');
    const html = renderHtml(r, []);
    expect(html).toContain('<td class="num">unknown</td><td class="num">30.0s</td><td class="bad">✗ missed</td>');
    for (const text of [md, html, check?.detail ?? '']) {
      expect(text).not.toContain('-1000');
      expect(text).not.toContain('-1s');
    }
  });

  test('given a single database whose lag is unknown (-1), the RPO is missed and reads "unknown"', () => {
    const run = unrecordedFailover({ rpo: { lagSeconds: -1, observedAt: new Date(T0 + 150_000).toISOString(), note: 'unplanned: no ReplicaLag datapoint was available; data loss window unknown' } });
    const r = buildReport(input([run]));
    expect(r.rpo.met).toBe(false);
    expect(r.checks.find((c) => c.name === 'rpo')).toEqual({ name: 'rpo', passed: false, detail: 'replica lag unknown at promotion against an objective of 30000 ms' });
    expect(renderMarkdown(r)).toContain('| RPO | **unknown** MISSED |');
  });

  test('hostile database names and errors are escaped in the HTML and inert in Markdown', () => {
    const hostile = '<script>alert(1)</script>';
    const failed: DatabaseOutcome = { name: 'x|<b>y</b>', identifier: '<img src=x>', region: 'us-west-2', promoted: false, error: hostile };
    const r = buildReport(input([multiDatabaseFailover([promoted('orders', 0), failed])]));
    const html = renderHtml(r, []);
    expect(html).not.toContain(hostile);
    expect(html).not.toContain('<img src=x>');
    expect(html).not.toContain('<b>y</b>');
    expect(html).toContain('<td>x|&lt;b&gt;y&lt;/b&gt;</td>');
    const md = renderMarkdown(r);
    expect(md).not.toContain(hostile);
    expect(md).toContain('| RPO x\\|&lt;b>y&lt;/b> | **not promoted** MISSED |');
  });
});

describe('auditExcerpt', () => {
  test('gate decisions are by their approver, step transitions by drover, in time order', () => {
    const audit = auditExcerpt([unrecordedFailover()]);
    expect(audit[0]).toMatchObject({ actor: 'carol', action: 'start failover us-east-1 → us-west-2 (unplanned)', detail: 'us-east-1 outage' });
    expect(audit).toContainEqual({ at: T0 + 94_150, actor: 'dave', action: 'approved gate failover', detail: 'go' });
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'dave', action: 'step gate:failover done' }));
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'drover', action: 'step traffic-100 done' }));
    expect(audit.map((a) => a.at)).toEqual([...audit.map((a) => a.at)].sort((a, b) => a - b));
  });
});

describe('renderers', () => {
  test('Markdown and JSON carry the RTO, RPO, gate waits and verdict', () => {
    const r = buildReport(input([unrecordedFailover()]));
    const md = renderMarkdown(r, sampleTrend());
    expect(md).toContain('— PASS');
    expect(md).toContain(`${r.rto.ms} ms`);
    expect(md).toContain('| RTO | **5m44s** met');
    expect(md).toContain('| RTO excluding gates | **4m14s**');
    expect(md).toContain('| RPO | **12s** met');
    expect(md).toContain('| failover | failover | approved | dave | 1m30s | go |');
    expect(md).toContain('## RTO trend');

    const json = JSON.parse(renderJson(r, sampleTrend()));
    expect(json.report.rto.ms).toBe(343_913);
    expect(json.report.rpo.lagSeconds).toBe(12);
    expect(json.report.gates[0].waitedMs).toBe(90_000);
    expect(json.trend).toHaveLength(5);
  });

  test('the trend table has one line per point, oldest first, with pass or fail', () => {
    const lines = renderTrendTable(sampleTrend());
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^time \(UTC\)\s+run\s+RTO\s+RPO\s+result$/);
    expect(lines[1]).toMatch(/^2025-05-10 09:00 {2}drill-apnakart-20250510 {2}10m12s {3}0s {2}pass$/);
    expect(lines[2]).toMatch(/16m23s .* FAIL \(completed\)$/);
    expect(lines[4]).toMatch(/ – .* FAIL \(failed\)$/);
  });

  test('hostile text in notes, titles and comments is escaped in the HTML and inert in Markdown', () => {
    const hostile = '<script>alert(1)</script>';
    const run = unrecordedFailover();
    run.steps[0].notes.push(hostile);
    run.steps[1].title = `<img src=x onerror=alert(2)>`;
    run.decisions[0].comment = `</script><script>alert(3)</script>`;
    const r = buildReport(input([run], { note: '"><b>x</b>' }));
    const html = renderHtml(r, []);
    expect(html).not.toContain(hostile);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('alert(3)</script>');
    expect(html).not.toContain('"><b>x</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // The data for the charts is embedded as JSON; it must not be able to close its <script> element.
    const data = html.slice(html.indexOf('<script type="application/json" id="report-data">'));
    expect(data.slice(0, data.indexOf('</script>'))).toContain('\\u003cscript>alert(1)\\u003c/script>');
    expect(renderMarkdown(r)).not.toContain(hostile);
  });

  test('the HTML is self-contained: Chart.js inlined, no external resources, both canvases', () => {
    const html = renderHtml(buildReport(sampleDrillInput()), sampleTrend());
    expect(html).toContain('<canvas id="timeline-chart"');
    expect(html).toContain('<canvas id="trend-chart"');
    expect(html).toMatch(/Chart\.js v4\.6\.1/);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('sourceMappingURL');
  });
});

describe('the readiness section', () => {
  const run = (at: string, verdict: 'ready' | 'degraded' | 'not-ready', changed: string[], checks: ReadinessRun['checks']): { workflowId: string; result: ReadinessRun } => ({
    workflowId: `readiness-apnakart-scheduled-${at}`,
    result: { runbook: 'apnakart', digest: 'sha256:x', direction: 'failover', directionReason: 'no standby promoted by drover', evaluatedAt: at, verdict, checks, trigger: 'schedule', change: { changed, notified: changed.length > 0, told: {} } },
  });
  const rows = readinessRows([
    run('2026-12-06T09:15:00.000Z', 'ready', ['alarms:ap-southeast-1: not-ready -> ready'], [{ id: 'alarms:ap-southeast-1', title: 'alarms', verdict: 'ready', reasons: ['2 alarms read'] }]),
    run('2026-12-06T09:00:00.000Z', 'not-ready', ['alarms:ap-southeast-1: ready -> not-ready'], [
      { id: 'alarms:ap-southeast-1', title: 'alarms', verdict: 'not-ready', reasons: ['alarm <api-5xx> in ap-southeast-1 is MISSING'], fix: 'create the alarm' },
      { id: 'drill-freshness', title: 'drills', verdict: 'degraded', reasons: ['no successful drill on record; drills.maxAge is 30d'] },
    ]),
  ]);

  test('given evaluations, each report format lists them newest first with what changed and what was not ready then', () => {
    const r = buildReport(sampleDrillInput());
    const md = renderMarkdown(r, [], rows);
    expect(md).toContain('## Readiness');
    expect(md).toContain('| 2026-12-06 09:15:00 | ready | schedule | alarms:ap-southeast-1: not-ready -> ready |  |');
    expect(md).toContain('| 2026-12-06 09:00:00 | not-ready | schedule | alarms:ap-southeast-1: ready -> not-ready | alarms:ap-southeast-1 (not-ready), drill-freshness (degraded) |');
    const html = renderHtml(r, [], rows);
    const table = html.slice(html.indexOf('<table id="readiness">'), html.indexOf('</table>', html.indexOf('<table id="readiness">')));
    expect(table.match(/<tr><td class="time">/g)).toHaveLength(2);
    // Text from AWS (an alarm's name) is escaped.
    expect(table).toContain('alarms:ap-southeast-1 (not-ready): alarm &lt;api-5xx&gt; in ap-southeast-1 is MISSING');
    expect(table).not.toContain('<api-5xx>');
    expect(JSON.parse(renderJson(r, [], rows)).readiness).toEqual(rows);
  });

  test('given none, the section says so; not asked for, there is no section', () => {
    const r = buildReport(sampleDrillInput());
    expect(renderMarkdown(r, [], [])).toContain('No readiness evaluations of this runbook');
    expect(renderHtml(r, [], [])).toContain('<tr><td colspan="5">no readiness evaluations of this runbook');
    expect(renderMarkdown(r)).not.toContain('## Readiness');
    expect(renderHtml(r, [])).not.toContain('<table id="readiness">');
    expect(JSON.parse(renderJson(r, []))).not.toHaveProperty('readiness');
  });
});
