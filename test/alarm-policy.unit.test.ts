/**
 * Alarm states as drover reads them (activities/health.ts), over a CloudWatch fake that answers DescribeAlarms as
 * CloudWatch does where moto cannot: composite alarms (moto has no PutCompositeAlarm) listed only when AlarmTypes
 * asks for them, and TreatMissingData as each alarm has it. The INSUFFICIENT_DATA policy: healthy by default, a
 * breach under `breach`, per alarm over the runbook-wide value; ALARM and MISSING stay breaches. Paging against moto
 * through the fidelity rules is in test/activities.integration.test.ts.
 */
import fs from 'node:fs';
import type { CompositeAlarm, DescribeAlarmsCommandInput, DescribeAlarmsCommandOutput, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { parseDocument } from 'yaml';
import type { CloudWatchApi } from '../aws/clients';
import { createHealthActivities, type AlarmPolicy } from '../activities/health';
import { parseRunbook } from '../runbooks/load';
import { useMockActivityEnvironment } from './harness/activity';
import { APNAKART } from './harness/fixtures';

const REGION = 'ap-southeast-1';

const mock = useMockActivityEnvironment();
const run = mock.run;

const unexpected = (call: string) => async (): Promise<never> => {
  throw new Error(`unexpected call ${call}`);
};

/**
 * CloudWatch's DescribeAlarms over these alarms: by AlarmNames, metric alarms unless AlarmTypes names only
 * CompositeAlarm, composite ones only when AlarmTypes names CompositeAlarm ("If you omit this parameter, only metric
 * alarms are returned, even if composite alarms exist in the account", API_DescribeAlarms), in pages of 50.
 */
function cloudWatch(metric: MetricAlarm[], composite: CompositeAlarm[] = []) {
  const asked: DescribeAlarmsCommandInput[] = [];
  const api: CloudWatchApi = {
    describeAlarms: (async (input: DescribeAlarmsCommandInput): Promise<DescribeAlarmsCommandOutput> => {
      asked.push(input);
      const names = new Set(input.AlarmNames ?? []);
      const types = input.AlarmTypes ?? ['MetricAlarm'];
      const all: Array<['m', MetricAlarm] | ['c', CompositeAlarm]> = [
        ...(types.includes('MetricAlarm') ? metric.filter((a) => names.has(a.AlarmName ?? '')).map((a): ['m', MetricAlarm] => ['m', a]) : []),
        ...(types.includes('CompositeAlarm') ? composite.filter((a) => names.has(a.AlarmName ?? '')).map((a): ['c', CompositeAlarm] => ['c', a]) : []),
      ];
      const from = Number(input.NextToken ?? 0);
      const page = all.slice(from, from + (input.MaxRecords ?? 50));
      return {
        MetricAlarms: page.filter((p) => p[0] === 'm').map((p) => p[1] as MetricAlarm),
        CompositeAlarms: page.filter((p) => p[0] === 'c').map((p) => p[1] as CompositeAlarm),
        ...(from + page.length < all.length ? { NextToken: String(from + page.length) } : {}),
        $metadata: {},
      };
    }) as CloudWatchApi['describeAlarms'],
    getMetricStatistics: unexpected('cloudwatch:GetMetricStatistics'),
    putMetricAlarm: unexpected('cloudwatch:PutMetricAlarm'),
    putMetricData: unexpected('cloudwatch:PutMetricData'),
    setAlarmState: unexpected('cloudwatch:SetAlarmState'),
  };
  return { health: createHealthActivities(() => api), asked };
}

const metric = (name: string, state: MetricAlarm['StateValue'], treatMissingData?: string): MetricAlarm => ({ AlarmName: name, StateValue: state, ...(treatMissingData ? { TreatMissingData: treatMissingData } : {}) });

describe('checkHealth and soak: the INSUFFICIENT_DATA policy', () => {
  const idle = 'api-5xx';
  const latency = 'checkout-latency';
  const alarms = [metric(idle, 'INSUFFICIENT_DATA', 'notBreaching'), metric(latency, 'OK')];

  test.each<[string, AlarmPolicy, string[]]>([
    ['no policy (runbooks before it): healthy', {}, []],
    ['healthy', { insufficientData: 'healthy' }, []],
    ['breach', { insufficientData: 'breach' }, [`alarm ${idle} is INSUFFICIENT_DATA`]],
    ['healthy, breach for that alarm', { insufficientData: 'healthy', insufficientDataByAlarm: { [idle]: 'breach' } }, [`alarm ${idle} is INSUFFICIENT_DATA`]],
    ['breach, healthy for that alarm', { insufficientData: 'breach', insufficientDataByAlarm: { [idle]: 'healthy' } }, []],
    ['breach for another alarm only', { insufficientDataByAlarm: { [latency]: 'breach' } }, []],
  ])('an alarm in INSUFFICIENT_DATA under %s', async (_what, policy, breaches) => {
    const { health } = cloudWatch(alarms);
    const report = await run(health.checkHealth, { region: REGION, alarms: [idle, latency], probes: [], ...policy });
    expect(report.breaches).toEqual(breaches);
    expect(report.healthy).toBe(breaches.length === 0);
    expect(report.alarms).toEqual({ [idle]: 'INSUFFICIENT_DATA', [latency]: 'OK' });

    const soaked = await run(health.soak, { region: REGION, alarms: [idle, latency], probes: [], durationMs: 0, intervalMs: 50, ...policy });
    expect(soaked).toEqual({ healthy: breaches.length === 0, breaches, checks: 1 });
  });

  test('under the healthy policy, an alarm in ALARM and one that does not exist are still breaches', async () => {
    const { health } = cloudWatch([metric('errors', 'ALARM'), metric(idle, 'INSUFFICIENT_DATA')]);
    const report = await run(health.checkHealth, { region: REGION, alarms: ['errors', idle, 'typo'], probes: [], insufficientData: 'healthy' });
    expect(report.breaches).toEqual(['alarm errors is ALARM', 'alarm typo is MISSING']);
    expect(report.healthy).toBe(false);
  });
});

describe('reading alarms: composite alarms and pages', () => {
  test('a composite alarm named in the runbook is read by its state (DescribeAlarms is asked for both types), not MISSING', async () => {
    const { health, asked } = cloudWatch([metric('api-5xx', 'OK')], [{ AlarmName: 'region-health', StateValue: 'ALARM' }, { AlarmName: 'checkout-health', StateValue: 'OK' }]);
    const report = await run(health.checkHealth, { region: REGION, alarms: ['api-5xx', 'region-health', 'checkout-health'], probes: [] });
    expect(report.alarms).toEqual({ 'api-5xx': 'OK', 'region-health': 'ALARM', 'checkout-health': 'OK' });
    expect(report.breaches).toEqual(['alarm region-health is ALARM']);
    expect(asked.map((q) => q.AlarmTypes)).toEqual([['MetricAlarm', 'CompositeAlarm']]);
  });

  test('an answer with a NextToken is followed to its last page, within each batch of 100 names', async () => {
    const names = Array.from({ length: 130 }, (_, i) => `alarm-${i}`);
    const inAlarm = new Set([names[70], names[125]]);
    const { health, asked } = cloudWatch(names.map((n) => metric(n, inAlarm.has(n) ? 'ALARM' : 'OK')));
    const states = await run(health.alarmStates, { region: REGION, alarms: names });
    expect(Object.values(states).filter((s) => s === 'MISSING')).toEqual([]);
    expect(states[names[70]]).toBe('ALARM');
    expect(asked.map((q) => [q.AlarmNames?.length, q.NextToken])).toEqual([
      [100, undefined],
      [100, '50'],
      [30, undefined],
    ]);
    const report = await run(health.checkHealth, { region: REGION, alarms: names, probes: [] });
    expect(report.breaches).toEqual([`alarm ${names[70]} is ALARM`, `alarm ${names[125]} is ALARM`]);
  });
});

describe('checkAlarmTargets: the preflight of the target region\'s alarms', () => {
  test('problems: ALARM and MISSING, and INSUFFICIENT_DATA only where the policy makes it a breach', async () => {
    const { health } = cloudWatch([metric('errors', 'ALARM', 'breaching'), metric('idle', 'INSUFFICIENT_DATA', 'breaching'), metric('strict', 'INSUFFICIENT_DATA', 'breaching')]);
    const out = await run(health.checkAlarmTargets, { region: REGION, alarms: ['errors', 'idle', 'strict', 'typo'], insufficientData: 'healthy', insufficientDataByAlarm: { strict: 'breach' } });
    expect(out.problems).toEqual([
      `alarm errors in ${REGION} is ALARM`,
      `alarm strict in ${REGION} is INSUFFICIENT_DATA (the runbook counts INSUFFICIENT_DATA as a breach for it)`,
      `alarm typo in ${REGION} is MISSING`,
    ]);
    expect(out.notes).toEqual([]);
  });

  test('a note names each metric alarm read as healthy in INSUFFICIENT_DATA that treats missing data as missing (or leaves it unset): a lost region would read healthy', async () => {
    const { health } = cloudWatch(
      [metric('unset', 'OK'), metric('missing', 'INSUFFICIENT_DATA', 'missing'), metric('breaching', 'OK', 'breaching'), metric('not-breaching', 'OK', 'notBreaching'), metric('ignore', 'OK', 'ignore'), metric('strict', 'OK')],
      [{ AlarmName: 'composite', StateValue: 'OK' }],
    );
    const out = await run(health.checkAlarmTargets, { region: REGION, alarms: ['unset', 'missing', 'breaching', 'not-breaching', 'ignore', 'strict', 'composite'], insufficientDataByAlarm: { strict: 'breach' } });
    expect(out.problems).toEqual([]);
    const why = 'if its metric stops arriving it reads INSUFFICIENT_DATA, which this runbook counts as healthy; give it TreatMissingData breaching, or insufficientData breach';
    expect(out.notes).toEqual([
      `alarm unset in ${REGION} treats missing data as missing (TreatMissingData unset): ${why}`,
      `alarm missing in ${REGION} treats missing data as missing (TreatMissingData missing): ${why}`,
    ]);
  });

  test('under the breach policy there is no note: a lost region\'s INSUFFICIENT_DATA is a breach', async () => {
    const { health } = cloudWatch([metric('unset', 'OK'), metric('missing', 'OK', 'missing')]);
    const out = await run(health.checkAlarmTargets, { region: REGION, alarms: ['unset', 'missing'], insufficientData: 'breach' });
    expect(out).toEqual({ problems: [], notes: [] });
  });
});

describe('the runbook: health.insufficientData and health.insufficientDataByAlarm', () => {
  const text = fs.readFileSync(APNAKART, 'utf8');
  const edited = (edits: Array<[string[], unknown]>) => {
    const d = parseDocument(text);
    for (const [p, v] of edits) d.setIn(p, v);
    return parseRunbook(d.toString());
  };

  test('a runbook without them reads INSUFFICIENT_DATA as healthy, for every alarm', () => {
    const r = parseRunbook(text);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect([r.runbook.health.insufficientData, r.runbook.health.insufficientDataByAlarm]).toEqual(['healthy', {}]);
  });

  test('runbook-wide breach, and healthy for one listed alarm', () => {
    const r = edited([
      [['health', 'insufficientData'], 'breach'],
      [['health', 'insufficientDataByAlarm'], { 'apnakart-api-5xx-singapore': 'healthy' }],
    ]);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect([r.runbook.health.insufficientData, r.runbook.health.insufficientDataByAlarm]).toEqual(['breach', { 'apnakart-api-5xx-singapore': 'healthy' }]);
  });

  test('a value other than healthy or breach, and an alarm no region lists, are refused at their paths', () => {
    const r = edited([
      [['health', 'insufficientData'], 'ignore'],
      [['health', 'insufficientDataByAlarm'], { 'apnakart-api-5xx-singapur': 'breach' }],
    ]);
    expect(r.ok ? [] : r.problems.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: 'health.insufficientData', message: 'expected "healthy" or "breach", got "ignore"' },
      { path: 'health.insufficientDataByAlarm.apnakart-api-5xx-singapur', message: 'alarm apnakart-api-5xx-singapur is not listed in health.alarms (did you mean "apnakart-api-5xx-singapore"?)' },
    ]);
  });
});
