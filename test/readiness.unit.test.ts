/**
 * Readiness's pure parts (contracts/readiness.ts) and its CLI rendering (cli/commands/readiness.ts): the worst
 * verdict, what changed between two evaluations, since when each check holds its verdict, exit codes, the text form.
 */
import { readinessExitCode, renderReadiness } from '../cli/commands/readiness';
import { changedChecks, lastChanged, worst, type CheckResult, type ReadinessRun, type Verdict } from '../contracts/readiness';

const check = (id: string, verdict: Verdict, extra: Partial<CheckResult> = {}): CheckResult => ({ id, title: id, verdict, reasons: [`${id} is ${verdict}`], ...extra });
const at = (evaluatedAt: string, checks: CheckResult[]) => ({ evaluatedAt, checks });

describe('verdicts', () => {
  test('the worst of none is ready; not ready outranks degraded, degraded ready', () => {
    expect(worst([])).toBe('ready');
    expect(worst(['ready', 'degraded', 'ready'])).toBe('degraded');
    expect(worst(['degraded', 'not-ready', 'ready'])).toBe('not-ready');
  });

  test('exit codes: 0 ready, 7 degraded, 1 not ready', () => {
    expect([readinessExitCode('ready'), readinessExitCode('degraded'), readinessExitCode('not-ready')]).toEqual([0, 7, 1]);
  });
});

describe('changedChecks', () => {
  test('names each check whose verdict moved, one that appeared and one that went, in id order; nothing when nothing moved', () => {
    const before = at('t1', [check('records', 'ready'), check('alarms:x', 'ready'), check('replica:main', 'degraded')]);
    const after = at('t2', [check('replica:main', 'degraded'), check('alarms:x', 'not-ready'), check('capacity:c', 'degraded')]);
    expect(changedChecks(before, after)).toEqual(['alarms:x: ready -> not-ready', 'capacity:c: none -> degraded', 'records: ready -> none']);
    expect(changedChecks(after, after)).toEqual([]);
    // Reasons alone changing (lag 3 s, then 4 s) is no change of verdict.
    expect(changedChecks(at('t1', [check('replica:main', 'ready', { reasons: ['lag 3s'] })]), at('t2', [check('replica:main', 'ready', { reasons: ['lag 4s'] })]))).toEqual([]);
  });

  test('the first evaluation: every check appears', () => {
    expect(changedChecks(undefined, at('t1', [check('b', 'ready'), check('a', 'degraded')]))).toEqual(['a: none -> degraded', 'b: none -> ready']);
  });
});

describe('lastChanged', () => {
  test('each check of the newest evaluation holds its verdict since the oldest evaluation of its unbroken run; a run reaching past the history has no known start', () => {
    const history = [
      at('t4', [check('alarms', 'ready'), check('records', 'ready'), check('replica', 'degraded')]),
      at('t3', [check('alarms', 'not-ready'), check('records', 'ready'), check('replica', 'degraded')]),
      at('t2', [check('alarms', 'ready'), check('records', 'ready'), check('replica', 'ready')]),
      at('t1', [check('alarms', 'ready'), check('records', 'ready')]),
    ];
    expect(lastChanged(history)).toEqual({
      alarms: { verdict: 'ready', since: 't4' },
      records: { verdict: 'ready', since: undefined },
      replica: { verdict: 'degraded', since: 't3' },
    });
  });

  test('a check absent from an older evaluation changed there; no history, nothing', () => {
    expect(lastChanged([at('t2', [check('new', 'ready')]), at('t1', [])])).toEqual({ new: { verdict: 'ready', since: 't2' } });
    expect(lastChanged([])).toEqual({});
  });
});

describe('renderReadiness', () => {
  const run: ReadinessRun = {
    runbook: 'apnakart',
    digest: 'sha256:0',
    direction: 'failover',
    directionReason: 'no standby promoted by drover: ap-south-1 is the primary',
    evaluatedAt: '2026-12-06T09:00:00.000Z',
    verdict: 'not-ready',
    trigger: 'schedule',
    checks: [
      check('records', 'ready', { reasons: ['3 records, every set present'] }),
      check('alarms:ap-southeast-1', 'not-ready', { reasons: ['alarm api-5xx in ap-southeast-1 is MISSING'], fix: 'create the alarm, or fix its name in health.alarms' }),
      check('drill-freshness', 'degraded', { reasons: ['no successful drill on record; drills.maxAge is 30d'], fix: 'run a drill' }),
    ],
    change: { changed: ['alarms:ap-southeast-1: ready -> not-ready'], notified: true, messageId: 'm-1', told: {} },
  };

  test('the verdict first, then each check (not ready, degraded, ready) with its reasons and fix, then what changed', () => {
    expect(renderReadiness(run)).toEqual([
      'apnakart: NOT READY for a failover (no standby promoted by drover: ap-south-1 is the primary), evaluated 2026-12-06T09:00:00.000Z',
      '  NOT READY  alarms:ap-southeast-1  alarms:ap-southeast-1',
      '                                    - alarm api-5xx in ap-southeast-1 is MISSING',
      '                                    fix: create the alarm, or fix its name in health.alarms',
      '  DEGRADED   drill-freshness        drill-freshness',
      '                                    - no successful drill on record; drills.maxAge is 30d',
      '                                    fix: run a drill',
      '  READY      records                records',
      '                                    - 3 records, every set present',
      'change: alarms:ap-southeast-1: ready -> not-ready (published, message m-1)',
    ]);
  });

  test('a change not published says why', () => {
    expect(renderReadiness({ ...run, change: { changed: [], notified: false, why: 'no verdict changed', told: {} } }).pop()).toBe('change: none (not published: no verdict changed)');
  });
});
