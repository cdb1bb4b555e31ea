/**
 * The report's verdicts pinned to exact values (reports/report.ts, reports/summary.ts): which step ends the
 * RTO (a failed verification does not), gate waits up to that end only, the RTO and RPO objectives met at
 * equality and missed one unit past it, the checks' texts, the critical path, the audit excerpt's order,
 * and the summary's figures. Every input is built inside its test.
 */
import { auditExcerpt, buildReport, trendPoint, verdictOf, type Report, type ReportInput, type ReportStep } from '../reports/report';
import { lag, rpoByDatabase, summary, title, withReport } from '../reports/summary';
import { rtoVerdict, type DatabaseOutcome, type RunStatus, type Step } from '../contracts/run';

const T0 = Date.UTC(2025, 2, 3, 10, 0, 0);
const RTO_15M = 15 * 60_000;

function step(id: string, from: number, to: number | undefined, extra: Partial<Step> = {}): Step {
  return { id, title: `title of ${id}`, status: 'done', startedAt: T0 + from, endedAt: to === undefined ? undefined : T0 + to, notes: [], ...extra };
}

function run(steps: Step[], extra: Partial<RunStatus> = {}): RunStatus {
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
  return { kind: 'failover', workflowId: 'failover-shop', runId: 'run-1', runbook: 'shop', objectives: { rtoMs: RTO_15M, rpoMs: 30_000 }, phase: 'completed', startedAt: T0, runs, ...extra };
}

/** A failover of 155 s: a 30 s gate, a parallel group (60 s and 30 s), one shift to 100%, a verification. */
function compact(extra: Partial<RunStatus> = {}): RunStatus {
  return run(
    [
      step('preflight', 0, 1_000),
      step('gate:failover', 1_000, 31_000, { gate: true }),
      step('scale', 31_000, 91_000, { group: 'act' }),
      step('promote', 31_000, 61_000, { group: 'act', notes: ['lag 0s'] }),
      step('traffic-100', 91_000, 151_000, { notes: ['Z1: 2 record sets', 'soak OK'] }),
      step('verify', 151_000, 155_000),
    ],
    { decisions: [{ gate: 'failover', approver: 'dave', decision: 'approved', at: T0 + 30_500, comment: 'go' }], rpo: { lagSeconds: 30, observedAt: '2025-03-03T10:00:50.000Z', note: 'last observed lag' }, ...extra },
  );
}

describe('the whole report of a failover measured from its timestamps', () => {
  test('every figure is exact: RTO 155 s with 30 s of gate, RPO 30 s on a 30 s objective (met at equality)', () => {
    const r = buildReport(input([compact()], { objectives: { rtoMs: 155_000, rpoMs: 30_000 } }));
    const reportStep = (id: string, from: number, to: number, extra: Partial<ReportStep> = {}): ReportStep => ({
      run: 'failover',
      id,
      title: `title of ${id}`,
      status: 'done',
      gate: false,
      startedAt: T0 + from,
      endedAt: T0 + to,
      offsetMs: from,
      durationMs: to - from,
      critical: true,
      notes: [],
      ...extra,
    });
    const expected: Report = {
      version: 1,
      kind: 'failover',
      workflowId: 'failover-shop',
      runId: 'run-1',
      runbook: 'shop',
      phase: 'completed',
      startedAt: T0,
      endedAt: T0 + 155_000,
      objectives: { rtoMs: 155_000, rpoMs: 30_000 },
      runs: [
        {
          kind: 'failover',
          workflowId: 'failover-shop',
          runId: 'run-1',
          mode: 'unplanned',
          fromRegion: 'us-east-1',
          targetRegion: 'us-west-2',
          reason: 'us-east-1 outage',
          requestedBy: 'carol',
          phase: 'completed',
          startedAt: T0,
          endedAt: T0 + 155_000,
          durationMs: 155_000,
        },
      ],
      rto: { ms: 155_000, source: 'timestamps', run: 'failover', gateWaitMs: 30_000, excludingGatesMs: 125_000, objectiveMs: 155_000, met: true },
      rpo: { lagSeconds: 30, observedAt: '2025-03-03T10:00:50.000Z', note: 'last observed lag', objectiveMs: 30_000, met: true },
      steps: [
        reportStep('preflight', 0, 1_000),
        reportStep('gate:failover', 1_000, 31_000, { gate: true }),
        reportStep('scale', 31_000, 91_000, { group: 'act' }),
        reportStep('promote', 31_000, 61_000, { group: 'act', critical: false, notes: ['lag 0s'] }),
        reportStep('traffic-100', 91_000, 151_000, { notes: ['Z1: 2 record sets', 'soak OK'] }),
        reportStep('verify', 151_000, 155_000),
      ],
      criticalPath: { steps: ['preflight', 'gate:failover', 'scale', 'traffic-100', 'verify'], ms: 155_000 },
      gates: [{ run: 'failover', step: 'gate:failover', gate: 'failover', status: 'done', waitedMs: 30_000, decision: 'approved', approver: 'dave', decidedAt: T0 + 30_500, comment: 'go' }],
      audit: [
        { at: T0, actor: 'carol', action: 'start failover us-east-1 → us-west-2 (unplanned)', detail: 'us-east-1 outage' },
        { at: T0, actor: 'drover', action: 'step preflight started' },
        { at: T0 + 1_000, actor: 'drover', action: 'step preflight done' },
        { at: T0 + 1_000, actor: 'drover', action: 'gate failover opened' },
        { at: T0 + 30_500, actor: 'dave', action: 'approved gate failover', detail: 'go' },
        { at: T0 + 31_000, actor: 'dave', action: 'step gate:failover done' },
        { at: T0 + 31_000, actor: 'drover', action: 'step scale started' },
        { at: T0 + 31_000, actor: 'drover', action: 'step promote started' },
        { at: T0 + 61_000, actor: 'drover', action: 'step promote done', detail: 'lag 0s' },
        { at: T0 + 91_000, actor: 'drover', action: 'step scale done' },
        { at: T0 + 91_000, actor: 'drover', action: 'step traffic-100 started' },
        { at: T0 + 151_000, actor: 'drover', action: 'step traffic-100 done', detail: 'Z1: 2 record sets; soak OK' },
        { at: T0 + 151_000, actor: 'drover', action: 'step verify started' },
        { at: T0 + 155_000, actor: 'drover', action: 'step verify done' },
      ],
      checks: [
        { name: 'completed', passed: true, detail: 'all 1 run(s) completed' },
        { name: 'rto', passed: true, detail: '155000 ms against an objective of 155000 ms' },
        { name: 'rpo', passed: true, detail: '30000 ms of replica lag against an objective of 30000 ms' },
      ],
      passed: true,
    };
    expect(r).toEqual(expected);
    expect(r.audit[1]).toEqual({ at: T0, actor: 'drover', action: 'step preflight started' });
  });

  test('one millisecond over the RTO objective and one second over the RPO objective, both are missed and the report fails', () => {
    const r = buildReport(input([compact()], { objectives: { rtoMs: 154_999, rpoMs: 29_999 } }));
    expect(r.rto).toMatchObject({ ms: 155_000, met: false, objectiveMs: 154_999 });
    expect(r.rpo).toMatchObject({ lagSeconds: 30, met: false, objectiveMs: 29_999 });
    expect(r.checks).toEqual([
      { name: 'completed', passed: true, detail: 'all 1 run(s) completed' },
      { name: 'rto', passed: false, detail: '155000 ms against an objective of 154999 ms' },
      { name: 'rpo', passed: false, detail: '30000 ms of replica lag against an objective of 29999 ms' },
    ]);
    expect(r.passed).toBe(false);
  });

  test('only the RTO missed: the report fails on it alone', () => {
    const r = buildReport(input([compact()], { objectives: { rtoMs: 154_999, rpoMs: 30_000 } }));
    expect(r.checks.map((c) => [c.name, c.passed])).toEqual([
      ['completed', true],
      ['rto', false],
      ['rpo', true],
    ]);
    expect(r.passed).toBe(false);
  });
});

describe('which step ends the RTO', () => {
  test('given a failed verification right after traffic-100, the RTO ends with the traffic step, not the failed check', () => {
    const r = buildReport(input([run([step('traffic-100', 1_000, 61_000), step('verify', 61_000, 90_000, { status: 'failed' })], { phase: 'failed' })], { phase: 'failed' }));
    expect(r.rto).toEqual({ ms: 61_000, source: 'timestamps', run: 'failover', gateWaitMs: 0, excludingGatesMs: 61_000, objectiveMs: RTO_15M, met: true });
  });

  test('given a verification that is not right after traffic-100, the RTO ends with the traffic step', () => {
    const r = buildReport(input([run([step('traffic-100', 1_000, 61_000), step('repoint', 61_000, 70_000), step('verify', 70_000, 90_000)])]));
    expect(r.rto.ms).toBe(61_000);
  });

  test('given a verification marked done without an end, the RTO ends with the traffic step', () => {
    const r = buildReport(input([run([step('traffic-100', 1_000, 61_000), step('verify', 61_000, undefined)])]));
    expect(r.rto.ms).toBe(61_000);
  });

  test('given a step after traffic-100 that is done but not the verification, the RTO ends with the traffic step', () => {
    const r = buildReport(input([run([step('traffic-100', 1_000, 61_000), step('verify-later', 61_000, 65_000)])]));
    expect(r.rto.ms).toBe(61_000);
  });

  test('given the failback\'s traffic-back-100, it ends the failback\'s RTO', () => {
    const r = buildReport(input([run([step('assess', 0, 2_000), step('traffic-back-100', 2_000, 62_500)], { kind: 'failback' })], { kind: 'failback' }));
    expect(r.rto).toMatchObject({ ms: 62_500, source: 'timestamps', run: 'failback', met: true });
  });

  test('given the last done traffic step short of 100%, there is no RTO: traffic never got there', () => {
    const reverted = run([step('traffic-50', 0, 60_000), step('traffic-100', 60_000, 70_000, { status: 'failed' })], { phase: 'failed' });
    expect(buildReport(input([reverted])).rto).toEqual({ source: 'none', run: 'failover', gateWaitMs: 0, objectiveMs: RTO_15M, met: false });
  });

  test('given no traffic step done at all, there is no RTO, even when a failed traffic-100 has an end', () => {
    const r = buildReport(input([run([step('preflight', 0, 1_000), step('traffic-100', 1_000, 9_000, { status: 'failed' })], { phase: 'failed' })], { phase: 'failed' }));
    expect(r.rto).toEqual({ source: 'none', run: 'failover', gateWaitMs: 0, objectiveMs: RTO_15M, met: false });
  });

  test('given traffic-100 still running (no end), there is no RTO', () => {
    const r = buildReport(input([run([step('traffic-50', 0, 60_000), step('traffic-100', 60_000, undefined, { status: 'running' })], { phase: 'running' })], { phase: 'running' }));
    expect(r.rto.ms).toBeUndefined();
    expect(r.rto.source).toBe('none');
  });

  test('given traffic-100 done without an end, there is no RTO', () => {
    const r = buildReport(input([run([step('traffic-100', 0, undefined)])]));
    expect(r.rto).toEqual({ source: 'none', run: 'failover', gateWaitMs: 0, objectiveMs: RTO_15M, met: false });
  });

  test('given a done non-traffic step named like one, it does not end the RTO', () => {
    const r = buildReport(input([run([step('traffic-100', 0, 50_000), step('pre-traffic-100', 50_000, 80_000)])]));
    expect(r.rto.ms).toBe(50_000);
  });
});

describe('gate waits in the RTO', () => {
  test('a gate that ends exactly when the RTO ends counts, one that ends after it does not', () => {
    const steps = [
      step('gate:failover', 0, 10_000, { gate: true }),
      step('traffic-100', 10_000, 70_000),
      step('gate:at-end', 60_000, 70_000, { gate: true }),
      step('gate:after', 70_000, 70_001, { gate: true }),
    ];
    const r = buildReport(input([run(steps)]));
    expect(r.rto).toEqual({ ms: 70_000, source: 'timestamps', run: 'failover', gateWaitMs: 20_000, excludingGatesMs: 50_000, objectiveMs: RTO_15M, met: true });
  });

  test('given no RTO, every gate\'s wait counts', () => {
    const steps = [step('gate:failover', 0, 10_000, { gate: true }), step('traffic-50', 10_000, 70_000), step('gate:late', 70_000, 75_000, { gate: true })];
    const r = buildReport(input([run(steps, { phase: 'failed' })], { phase: 'failed' }));
    expect(r.rto).toEqual({ source: 'none', run: 'failover', gateWaitMs: 15_000, objectiveMs: RTO_15M, met: false });
  });

  test('a gate still open counts nothing, and non-gate steps never count', () => {
    const steps = [step('preflight', 0, 5_000), step('gate:failover', 5_000, undefined, { gate: true, status: 'running' })];
    const r = buildReport(input([run(steps, { phase: 'waiting-approval' })], { phase: 'waiting-approval' }));
    expect(r.rto.gateWaitMs).toBe(0);
    expect(r.gates).toEqual([{ run: 'failover', step: 'gate:failover', gate: 'failover', status: 'running' }]);
    expect(r.endedAt).toBeUndefined();
    expect(r.runs[0].endedAt).toBeUndefined();
    expect(r.runs[0].durationMs).toBeUndefined();
  });
});

describe('a recorded RTO', () => {
  test('is used as recorded, met at equality with the objective', () => {
    const recorded = compact({ rto: { ms: 200_000, gateWaitMs: 50_000, excludingGatesMs: 1, objectiveMs: 1, met: false } });
    expect(buildReport(input([recorded], { objectives: { rtoMs: 200_000, rpoMs: 30_000 } })).rto).toEqual({
      ms: 200_000,
      source: 'recorded',
      run: 'failover',
      gateWaitMs: 50_000,
      excludingGatesMs: 150_000,
      objectiveMs: 200_000,
      met: true,
    });
    expect(buildReport(input([recorded], { objectives: { rtoMs: 199_999, rpoMs: 30_000 } })).rto.met).toBe(false);
  });
});

describe('RPO of one database', () => {
  const rpoOf = (lagSeconds: number, rpoMs = 30_000) => buildReport(input([compact({ rpo: { lagSeconds, observedAt: 'o', note: 'n' } })], { objectives: { rtoMs: RTO_15M, rpoMs } }));

  test('a lag of 0 is met, and so is a lag equal to the objective; one second more is not', () => {
    expect(rpoOf(0).rpo).toEqual({ lagSeconds: 0, observedAt: 'o', note: 'n', objectiveMs: 30_000, met: true });
    expect(rpoOf(0).checks[2]).toEqual({ name: 'rpo', passed: true, detail: '0 ms of replica lag against an objective of 30000 ms' });
    expect(rpoOf(30).rpo.met).toBe(true);
    expect(rpoOf(31).rpo.met).toBe(false);
    expect(rpoOf(1, 999).rpo.met).toBe(false);
    expect(rpoOf(1, 1_000).rpo.met).toBe(true);
  });

  test('an unknown lag (-1) is never met, even against a huge objective', () => {
    expect(rpoOf(-1, 86_400_000).rpo.met).toBe(false);
    expect(rpoOf(-1).checks[2]).toEqual({ name: 'rpo', passed: false, detail: 'replica lag unknown at promotion against an objective of 30000 ms' });
  });

  test('no lag recorded: not met, and said so', () => {
    const r = buildReport(input([compact({ rpo: undefined })]));
    expect(r.rpo).toEqual({ objectiveMs: 30_000, met: false });
    expect(r.checks[2]).toEqual({ name: 'rpo', passed: false, detail: 'not measured: no replica lag was recorded at promotion' });
  });
});

function db(name: string, lagSeconds: number | undefined, extra: Partial<DatabaseOutcome> = {}): DatabaseOutcome {
  return { name, identifier: `${name}-replica`, region: 'us-west-2', promoted: true, rpo: lagSeconds === undefined ? undefined : { lagSeconds, observedAt: `at-${name}`, note: `note-${name}` }, ...extra };
}

describe('RPO of several databases', () => {
  test('each database is judged on its own, with every field carried', () => {
    const r = buildReport(input([compact({ databases: [db('orders', 30), db('catalog', 31), db('carts', undefined), db('users', 2, { promoted: false, error: 'boom' })] })]));
    expect(r.rpo).toEqual({
      lagSeconds: 30,
      observedAt: '2025-03-03T10:00:50.000Z',
      note: 'last observed lag',
      objectiveMs: 30_000,
      met: false,
      databases: [
        { name: 'orders', identifier: 'orders-replica', region: 'us-west-2', lagSeconds: 30, observedAt: 'at-orders', note: 'note-orders', promoted: true, met: true },
        { name: 'catalog', identifier: 'catalog-replica', region: 'us-west-2', lagSeconds: 31, observedAt: 'at-catalog', note: 'note-catalog', promoted: true, met: false },
        { name: 'carts', identifier: 'carts-replica', region: 'us-west-2', promoted: true, met: false },
        { name: 'users', identifier: 'users-replica', region: 'us-west-2', lagSeconds: 2, observedAt: 'at-users', note: 'note-users', promoted: false, met: false, error: 'boom' },
      ],
    });
    expect(r.checks[2]).toEqual({
      name: 'rpo',
      passed: false,
      detail: 'catalog: 31000 ms of replica lag against an objective of 30000 ms; carts: no replica lag recorded at promotion; users: not promoted (boom); 1 other database within the objective',
    });
  });

  test('given none within the objective, it says so; a database not promoted without an error is just "not promoted"', () => {
    const r = buildReport(input([compact({ databases: [db('orders', -1), db('catalog', 5, { promoted: false })] })]));
    expect(r.checks[2].detail).toBe('orders: replica lag unknown against an objective of 30000 ms; catalog: not promoted; none of the 2 databases within the objective');
  });

  test('given all within, the worst is named, the first of equal lags', () => {
    const r = buildReport(input([compact({ rpo: undefined, databases: [db('orders', 3), db('catalog', 12), db('carts', 12)] })]));
    expect(r.rpo.met).toBe(true);
    expect(r.rpo.lagSeconds).toBeUndefined();
    expect(r.checks[2]).toEqual({ name: 'rpo', passed: true, detail: 'all 3 databases within an objective of 30000 ms; worst catalog: 12000 ms of replica lag' });
  });

  test('given all with no lag at all, the worst is the first', () => {
    const r = buildReport(input([compact({ databases: [db('orders', 0), db('catalog', 0)] })]));
    expect(r.checks[2].detail).toBe('all 2 databases within an objective of 30000 ms; worst orders: 0 ms of replica lag');
  });
});

describe('the completed check and the verdict', () => {
  test('given no run at all, nothing is measured and the report fails', () => {
    const r = buildReport(input([]));
    expect(r.rto).toEqual({ source: 'none', gateWaitMs: 0, objectiveMs: RTO_15M, met: false });
    expect(r.rpo).toEqual({ objectiveMs: 30_000, met: false });
    expect(r.checks).toEqual([
      { name: 'completed', passed: false, detail: 'failover completed: no run started' },
      { name: 'rto', passed: false, detail: 'not measured: traffic never reached 100% on the target region' },
      { name: 'rpo', passed: false, detail: 'not measured: no replica lag was recorded at promotion' },
    ]);
    expect(r.endedAt).toBeUndefined();
    expect(r.criticalPath).toEqual({ steps: [], ms: 0 });
    expect(r.passed).toBe(false);
  });

  test('given a failed run, the check names it and its error; a note takes precedence over the error', () => {
    const failed = compact({ phase: 'failed', error: { type: 'X', message: 'writer still a replica' } });
    expect(buildReport(input([failed], { phase: 'failed' })).checks[0]).toEqual({ name: 'completed', passed: false, detail: 'failover failed: failover failed: writer still a replica' });
    expect(buildReport(input([failed], { phase: 'failed', note: 'operator stopped it' })).checks[0].detail).toBe('failover failed: failover failed: operator stopped it');
    expect(buildReport(input([compact({ phase: 'aborted' })], { phase: 'aborted' })).checks[0].detail).toBe('failover aborted: failover aborted');
  });

  test('given every run completed but the whole cancelled, the check fails on the whole', () => {
    const r = buildReport(input([compact()], { kind: 'drill', phase: 'cancelled' }));
    expect(r.checks[0]).toEqual({ name: 'completed', passed: false, detail: 'drill cancelled: run cancelled' });
    expect(r.passed).toBe(false);
  });

  test('given the whole completed but a run not, the check fails on the run', () => {
    const r = buildReport(input([compact(), run([], { kind: 'failback', phase: 'failed' })], { kind: 'drill', phase: 'completed' }));
    expect(r.checks[0]).toEqual({ name: 'completed', passed: false, detail: 'drill completed: failback failed' });
  });

  test('a standalone promotion has no RTO check unless it recorded one', () => {
    const promote = run([step('promote', 0, 60_000)], { kind: 'promote' });
    expect(buildReport(input([promote], { kind: 'promote' })).checks.map((c) => c.name)).toEqual(['completed', 'rpo']);
    const timed = { ...promote, rto: { ms: 60_000, gateWaitMs: 0, excludingGatesMs: 60_000, objectiveMs: 1, met: false } };
    expect(buildReport(input([timed], { kind: 'promote' })).checks.map((c) => c.name)).toEqual(['completed', 'rto', 'rpo']);
    // A failover without an RTO still has its (failed) RTO check.
    expect(buildReport(input([run([step('preflight', 0, 1)])])).checks.map((c) => c.name)).toEqual(['completed', 'rto', 'rpo']);
  });

  test('the report ends when the input says, else at its last step unless it is still running or waiting', () => {
    expect(buildReport(input([compact()], { endedAt: T0 + 999_999 })).endedAt).toBe(T0 + 999_999);
    expect(buildReport(input([compact()], { phase: 'failed' })).endedAt).toBe(T0 + 155_000);
    expect(buildReport(input([compact()], { phase: 'running' })).endedAt).toBeUndefined();
    expect(buildReport(input([compact()], { phase: 'waiting-approval' })).endedAt).toBeUndefined();
  });

  test('the objectives are copied, not shared', () => {
    const objectives = { rtoMs: 1, rpoMs: 2 };
    const r = buildReport(input([compact()], { objectives }));
    expect(r.objectives).toEqual({ rtoMs: 1, rpoMs: 2 });
    expect(r.objectives).not.toBe(objectives);
  });
});

describe('a drill', () => {
  const failback = (extra: Partial<RunStatus> = {}) =>
    run([step('preflight', 200_000, 201_000), step('traffic-back-100', 201_000, 261_000), step('return', 261_000, 300_000)], { kind: 'failback', workflowId: 'failback-shop', runId: 'run-2', startedAt: T0 + 200_000, ...extra });

  test('the RTO is the failover\'s, the failback\'s duration the time to restore, and same-named steps are told apart', () => {
    const r = buildReport(input([compact(), failback()], { kind: 'drill', workflowId: 'drill-shop' }));
    expect(r.rto).toMatchObject({ ms: 155_000, run: 'failover' });
    expect(r.timeToRestoreMs).toBe(100_000);
    expect(r.runs.map((x) => [x.kind, x.endedAt, x.durationMs])).toEqual([
      ['failover', T0 + 155_000, 155_000],
      ['failback', T0 + 300_000, 100_000],
    ]);
    expect(r.criticalPath).toEqual({ steps: ['failover/preflight', 'gate:failover', 'scale', 'traffic-100', 'verify', 'failback/preflight', 'traffic-back-100', 'return'], ms: 155_000 + 100_000 });
    // Offsets are from the report's start, across runs.
    expect(r.steps.find((s) => s.run === 'failback' && s.id === 'return')).toMatchObject({ offsetMs: 261_000, durationMs: 39_000, critical: true });
    expect(r.endedAt).toBe(T0 + 300_000);
  });

  test('no time to restore when the failback did not complete, when the report is not a drill, or when the failback is the first run', () => {
    expect(buildReport(input([compact(), failback({ phase: 'failed' })], { kind: 'drill', phase: 'failed' })).timeToRestoreMs).toBeUndefined();
    expect(buildReport(input([compact(), failback()], { kind: 'failover' })).timeToRestoreMs).toBeUndefined();
    expect(buildReport(input([failback()], { kind: 'drill' })).timeToRestoreMs).toBeUndefined();
  });

  test('trendPoint carries the drill\'s RTO, RPO and verdict', () => {
    const r = buildReport(input([compact(), failback()], { kind: 'drill', workflowId: 'drill-shop' }));
    expect(trendPoint(r)).toEqual({ workflowId: 'drill-shop', startedAt: T0, rtoMs: 155_000, rpoSeconds: 30, passed: true, phase: 'completed' });
  });
});

describe('the critical path', () => {
  test('steps without a duration are left out; of equally long group members, the first is on the path', () => {
    const steps = [step('a', 0, 10), step('b', 10, 30, { group: 'g' }), step('c', 10, 30, { group: 'g' }), step('d', 30, undefined, { status: 'running' }), { id: 'e', title: 'e', status: 'pending' as const, notes: [] }];
    const r = buildReport(input([run(steps, { phase: 'running' })], { phase: 'running' }));
    expect(r.criticalPath).toEqual({ steps: ['a', 'b'], ms: 30 });
    expect(r.steps.map((s) => [s.id, s.critical, s.offsetMs, s.durationMs])).toEqual([
      ['a', true, 0, 10],
      ['b', true, 10, 20],
      ['c', false, 10, 20],
      ['d', false, 30, undefined],
      ['e', false, undefined, undefined],
    ]);
  });

  test('two groups of the same name in two runs are two segments', () => {
    const first = run([step('x', 0, 5, { group: 'g' }), step('y', 0, 9, { group: 'g' })]);
    const second = run([step('z', 10, 14, { group: 'g' })], { kind: 'failback' });
    expect(buildReport(input([first, second], { kind: 'drill' })).criticalPath).toEqual({ steps: ['y', 'z'], ms: 13 });
  });
});

describe('gate waits', () => {
  test('the last decision on a gate is the one shown; a gate without a decision has none', () => {
    const steps = [step('gate:failover', 0, 5_000, { gate: true }), step('gate:promote', 5_000, 6_000, { gate: true, status: 'skipped' }), step('preflight', 6_000, 7_000), step('pre-gate:x', 7_000, 8_000, { gate: true })];
    const decisions = [
      { gate: 'failover', approver: 'erin', decision: 'rejected' as const, at: T0 + 1_000, comment: 'not yet' },
      { gate: 'failover', approver: 'dave', decision: 'approved' as const, at: T0 + 4_000 },
      { gate: 'other', approver: 'zed', decision: 'approved' as const, at: T0 + 4_500 },
    ];
    const r = buildReport(input([run(steps, { decisions })]));
    expect(r.gates).toEqual([
      { run: 'failover', step: 'gate:failover', gate: 'failover', status: 'done', waitedMs: 5_000, decision: 'approved', approver: 'dave', decidedAt: T0 + 4_000 },
      { run: 'failover', step: 'gate:promote', gate: 'promote', status: 'skipped', waitedMs: 1_000 },
      // Only a leading `gate:` is the journal's prefix.
      { run: 'failover', step: 'pre-gate:x', gate: 'pre-gate:x', status: 'done', waitedMs: 1_000 },
    ]);
  });
});

describe('auditExcerpt', () => {
  test('a skipped step is not started, a gate opens and is closed by its approver, a failure is the last word', () => {
    const r = run(
      [step('gate:failover', 0, 2_000, { gate: true }), step('scale', 2_000, 2_000, { status: 'skipped', notes: ['already scaled'] }), step('traffic-10', 2_000, 9_000, { status: 'failed' })],
      { phase: 'failed', error: { type: 'HealthBreach', message: 'alarm 5xx' }, decisions: [{ gate: 'failover', approver: 'dave', decision: 'approved', at: T0 + 1_500 }] },
    );
    expect(auditExcerpt([r])).toEqual([
      { at: T0, actor: 'carol', action: 'start failover us-east-1 → us-west-2 (unplanned)', detail: 'us-east-1 outage' },
      { at: T0, actor: 'drover', action: 'gate failover opened' },
      { at: T0 + 1_500, actor: 'dave', action: 'approved gate failover' },
      { at: T0 + 2_000, actor: 'dave', action: 'step gate:failover done' },
      { at: T0 + 2_000, actor: 'drover', action: 'step scale skipped', detail: 'already scaled' },
      { at: T0 + 2_000, actor: 'drover', action: 'step traffic-10 started' },
      { at: T0 + 9_000, actor: 'drover', action: 'step traffic-10 failed' },
      { at: T0 + 9_000, actor: 'drover', action: 'failover failed', detail: 'alarm 5xx' },
    ]);
  });

  test('a run that failed before any step ended fails at its start', () => {
    const r = run([step('preflight', 100, undefined, { status: 'running' })], { phase: 'failed', startedAt: T0 + 50, error: { message: 'refused' } });
    expect(auditExcerpt([r])).toEqual([
      { at: T0 + 50, actor: 'carol', action: 'start failover us-east-1 → us-west-2 (unplanned)', detail: 'us-east-1 outage' },
      { at: T0 + 50, actor: 'drover', action: 'failover failed', detail: 'refused' },
      { at: T0 + 100, actor: 'drover', action: 'step preflight started' },
    ]);
  });

  test('a step without a start has no start entry', () => {
    const r = run([{ id: 'late', title: 'late', status: 'done', endedAt: T0 + 5, notes: [] }]);
    expect(auditExcerpt([r]).map((e) => e.action)).toEqual(['start failover us-east-1 → us-west-2 (unplanned)', 'step late done']);
  });
});

describe('summary', () => {
  test('the headline figures of a failover, exactly', () => {
    const r = buildReport(input([compact()]));
    expect(summary(r)).toEqual([
      { label: 'RTO', value: '2m35s', detail: '155000 ms, objective 15m00s, on the failover', ok: true },
      { label: 'RTO excluding gates', value: '2m05s', detail: 'approval gates waited 30.0s' },
      { label: 'RPO', value: '30s', detail: 'replica lag at promotion, objective 30.0s (last observed lag)', ok: true },
      { label: 'Gate waits', value: '30.0s', detail: 'failover: 30.0s (approved by dave)' },
      { label: 'Critical path', value: '2m35s', detail: '5 steps, parallel groups counted once' },
    ]);
  });

  test('a failover that never reached 100%, with an open gate and no lag recorded', () => {
    const steps = [step('traffic-50', 0, 60_000), step('gate:failover', 60_000, undefined, { gate: true, status: 'running' })];
    const r = buildReport(input([run(steps, { phase: 'waiting-approval' })], { phase: 'waiting-approval' }));
    expect(summary(r)).toEqual([
      { label: 'RTO', value: '–', detail: 'not reached (objective 15m00s)', ok: false },
      { label: 'RTO excluding gates', value: '–', detail: 'approval gates waited 0ms' },
      { label: 'RPO', value: '–', detail: 'no replica lag recorded, objective 30.0s', ok: false },
      { label: 'Gate waits', value: '0ms', detail: 'failover: –' },
      { label: 'Critical path', value: '1m00s', detail: '1 steps, parallel groups counted once' },
    ]);
  });

  test('without gates, and an RTO with no run named', () => {
    const r = buildReport(input([run([step('traffic-100', 0, 800)])]));
    expect(summary(r)[3]).toEqual({ label: 'Gate waits', value: '0ms', detail: 'no approval gates' });
    expect(summary({ ...r, rto: { ...r.rto, run: undefined } })[0]).toEqual({ label: 'RTO', value: '800ms', detail: '800 ms, objective 15m00s', ok: true });
  });

  test('a promotion without an RTO is informational; with one, it is judged', () => {
    const promote = buildReport(input([run([step('promote', 0, 1_000)], { kind: 'promote' })], { kind: 'promote' }));
    expect(summary(promote)[0]).toEqual({ label: 'RTO', value: '–', detail: 'not reached (objective 15m00s)', ok: undefined });
    const timed = buildReport(input([run([step('promote', 0, 1_000)], { kind: 'promote', rto: { ms: 1_000, gateWaitMs: 0, excludingGatesMs: 1_000, objectiveMs: 0, met: false } })], { kind: 'promote' }));
    expect(summary(timed)[0].ok).toBe(true);
    // A failover without an RTO is a miss, not informational.
    expect(summary(buildReport(input([run([])])))[0].ok).toBe(false);
  });

  test('a drill adds the time to restore, or says the failback did not complete', () => {
    const failback = run([step('traffic-back-100', 200_000, 262_000)], { kind: 'failback', startedAt: T0 + 200_000 });
    const done = buildReport(input([compact(), failback], { kind: 'drill' }));
    expect(summary(done)[4]).toEqual({ label: 'Time to restore', value: '1m02s', detail: 'duration of the failback' });
    const failed = buildReport(input([compact(), { ...failback, phase: 'failed' }], { kind: 'drill', phase: 'failed' }));
    expect(summary(failed)[4]).toEqual({ label: 'Time to restore', value: '–', detail: 'the failback did not complete' });
    expect(summary(failed).map((i) => i.label)).toEqual(['RTO', 'RTO excluding gates', 'RPO', 'Gate waits', 'Time to restore', 'Critical path']);
  });

  test('RPO per database: lag or "not promoted", with the error, else the note', () => {
    const r = buildReport(input([compact({ databases: [db('orders', 4), db('catalog', -1), db('users', undefined, { promoted: false, error: 'boom' }), db('carts', 1, { rpo: { lagSeconds: 1, observedAt: 'o', note: '' } })] })]));
    expect(rpoByDatabase(r)).toEqual([
      { label: 'RPO orders', value: '4s', detail: 'orders-replica in us-west-2, objective 30.0s (note-orders)', ok: true },
      { label: 'RPO catalog', value: 'unknown', detail: 'catalog-replica in us-west-2, objective 30.0s (note-catalog)', ok: false },
      { label: 'RPO users', value: 'not promoted', detail: 'users-replica in us-west-2, objective 30.0s: boom', ok: false },
      { label: 'RPO carts', value: '1s', detail: 'carts-replica in us-west-2, objective 30.0s', ok: true },
    ]);
    expect(rpoByDatabase(buildReport(input([compact()])))).toEqual([]);
  });

  test('lag reads seconds, "unknown" for -1, a dash for none', () => {
    expect([lag(0), lag(12), lag(-1), lag(undefined)]).toEqual(['0s', '12s', 'unknown', '–']);
  });

  test('withReport replaces the report\'s own point, keeps the others, oldest first', () => {
    const r = buildReport(input([compact()], { workflowId: 'drill-b' }));
    const point = (workflowId: string, startedAt: number) => ({ workflowId, startedAt, passed: false, phase: 'failed' });
    const trend = [point('drill-c', T0 + 5), point('drill-b', T0), point('drill-b', T0 - 7), point('drill-a', T0 - 9)];
    expect(withReport(trend, r)).toEqual([point('drill-a', T0 - 9), point('drill-b', T0 - 7), trendPoint(r), point('drill-c', T0 + 5)]);
    expect(trendPoint(r)).toEqual({ workflowId: 'drill-b', startedAt: T0, rtoMs: 155_000, rpoSeconds: 30, passed: true, phase: 'completed' });
  });

  test('title names each kind', () => {
    const r = buildReport(input([compact()]));
    expect((['drill', 'failover', 'failback', 'promote', 'rebuild'] as const).map((kind) => title({ ...r, kind }))).toEqual([
      'Drill report: shop',
      'Failover report: shop',
      'Failback report: shop',
      'Database promotion report: shop',
      'Cluster rebuild report: shop',
    ]);
  });
});

describe('a time-scaled run (--time-scale below 1): its RTO is never judged against the objective', () => {
  test('measured from timestamps, 155 s well inside 15 min: not met, the factor carried, the check failed with the reason, the report not passed', () => {
    const r = buildReport(input([compact({ timeScale: 0.01 })]));
    expect(r.rto).toEqual({ ms: 155_000, source: 'timestamps', run: 'failover', gateWaitMs: 30_000, excludingGatesMs: 125_000, objectiveMs: RTO_15M, met: false, timeScale: 0.01 });
    expect(r.checks.find((c) => c.name === 'rto')).toEqual({ name: 'rto', passed: false, detail: '155000 ms, not judged against the objective of 900000 ms: a time-scaled run (×0.01), its soaks compressed' });
    expect(r.passed).toBe(false);
    expect(summary(r)[0]).toEqual({ label: 'RTO', value: '2m35s', detail: '155000 ms, objective 15m00s, on the failover; not judged: time-scaled ×0.01', ok: false });
  });

  test('recorded by the run: the same, and a run at scale 1 (or none) is judged as before', () => {
    const recorded = (extra: Partial<RunStatus>) => compact({ rto: { ms: 155_000, gateWaitMs: 30_000, excludingGatesMs: 125_000, objectiveMs: RTO_15M, met: true }, ...extra });
    expect(buildReport(input([recorded({ timeScale: 0.5 })])).rto).toEqual({ ms: 155_000, source: 'recorded', run: 'failover', gateWaitMs: 30_000, excludingGatesMs: 125_000, objectiveMs: RTO_15M, met: false, timeScale: 0.5 });
    expect(buildReport(input([recorded({})])).rto).toEqual({ ms: 155_000, source: 'recorded', run: 'failover', gateWaitMs: 30_000, excludingGatesMs: 125_000, objectiveMs: RTO_15M, met: true });
  });

  test('traffic that never reached 100%: not measured, with the factor still shown', () => {
    const r = buildReport(input([run([step('preflight', 0, 1_000), step('traffic-10', 1_000, 5_000)], { timeScale: 0.01 })]));
    expect(r.rto).toEqual({ source: 'none', run: 'failover', gateWaitMs: 0, objectiveMs: RTO_15M, met: false, timeScale: 0.01 });
  });
});

describe("a time-scaled run's verdict: NOT JUDGED when every other check passed, FAIL when one did not", () => {
  test('completed, RPO met: NOT JUDGED, in the trend too (not a FAIL a drill history would count)', () => {
    const r = buildReport(input([compact({ timeScale: 0.01 })]));
    expect(verdictOf(r)).toBe('NOT JUDGED');
    expect(trendPoint(r)).toEqual({ workflowId: 'failover-shop', startedAt: T0, rtoMs: 155_000, rpoSeconds: 30, passed: false, notJudged: true, phase: 'completed' });
  });

  test('an RPO missed as well, or a run that did not complete: FAIL', () => {
    expect(verdictOf(buildReport(input([compact({ timeScale: 0.01 })], { objectives: { rtoMs: RTO_15M, rpoMs: 29_000 } })))).toBe('FAIL');
    expect(verdictOf(buildReport(input([compact({ timeScale: 0.01, phase: 'failed' })], { phase: 'failed' })))).toBe('FAIL');
    expect(trendPoint(buildReport(input([compact({ timeScale: 0.01, phase: 'failed' })], { phase: 'failed' }))).notJudged).toBeUndefined();
  });

  test('a full-time run: PASS or FAIL as before', () => {
    expect(verdictOf(buildReport(input([compact()])))).toBe('PASS');
    expect(verdictOf(buildReport(input([compact()], { objectives: { rtoMs: 154_999, rpoMs: 30_000 } })))).toBe('FAIL');
  });
});

describe('rtoVerdict: the words every renderer uses', () => {
  test.each([
    [true, undefined, 'missed', 'met'],
    [false, undefined, 'missed', 'missed'],
    [false, undefined, 'MISSED', 'MISSED'],
    [true, 1, 'missed', 'met'],
    [true, 0.01, 'missed', 'not judged (time-scaled ×0.01)'],
    [false, 0.5, 'MISSED', 'not judged (time-scaled ×0.5)'],
  ])('met %s at scale %s (missed word %s): %s', (met, scale, missed, words) => {
    expect(rtoVerdict(met, scale, missed)).toBe(words);
  });
});
