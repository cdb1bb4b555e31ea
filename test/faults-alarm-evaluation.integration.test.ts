/**
 * The `cloudwatch-alarm-evaluation` fidelity rule (infra/faults/fidelity-cloudwatch.ts) against moto: an alarm on
 * one metric follows the datapoints PutMetricData sends it, as CloudWatch evaluates it, where moto alone never
 * changes an alarm's state. One period lasts 300 ms here (the rule's default `evaluateMs`).
 */
import { randomUUID } from 'node:crypto';
import { CloudWatch, type MetricAlarm, type PutMetricAlarmCommandInput, type StateValue } from '@aws-sdk/client-cloudwatch';
import { startOwnMoto, type MotoServer } from './harness/servers';

const CREDS = { accessKeyId: 'x', secretAccessKey: 'x' };
// A region no other test uses: the other tests count alarms in theirs.
const REGION = 'sa-east-1';
const PERIOD_MS = 300;
const NAMESPACE = 'drover/controls';
const METRIC = 'RegionWithdrawn';

let moto: MotoServer & { direct: string };
let aws: CloudWatch;
let direct: CloudWatch;

beforeAll(async () => {
  moto = await startOwnMoto();
  aws = new CloudWatch({ region: REGION, endpoint: moto.endpoint, credentials: CREDS, maxAttempts: 1 });
  direct = new CloudWatch({ region: REGION, endpoint: moto.direct, credentials: CREDS, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unique = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;
const dims = (runbook: string, region = 'ap-south-1') => [
  { Name: 'Runbook', Value: runbook },
  { Name: 'Region', Value: region },
];

/** drover's traffic-control alarm on RegionWithdrawn for `runbook` in `region`, with `extra` over it. */
function controlAlarm(name: string, runbook: string, region = 'ap-south-1', extra: Partial<PutMetricAlarmCommandInput> = {}): PutMetricAlarmCommandInput {
  return {
    AlarmName: name,
    Namespace: NAMESPACE,
    MetricName: METRIC,
    Dimensions: dims(runbook, region),
    Statistic: 'Maximum',
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'ignore',
    ...extra,
  };
}

const put = (runbook: string, ...values: number[]) =>
  aws.putMetricData({ Namespace: NAMESPACE, MetricData: values.map((Value) => ({ MetricName: METRIC, Dimensions: dims(runbook), Value })) });

async function alarm(name: string, cw = aws): Promise<MetricAlarm | undefined> {
  return (await cw.describeAlarms({ AlarmNames: [name] })).MetricAlarms?.[0];
}

/** The alarm once it reads `state`, or as it last read after `ms`. */
async function until(name: string, state: StateValue, ms = 5_000): Promise<MetricAlarm | undefined> {
  const end = Date.now() + ms;
  let a = await alarm(name);
  while (a?.StateValue !== state && Date.now() < end) {
    await sleep(50);
    a = await alarm(name);
  }
  return a;
}

const REASON_TIME = String.raw`\(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)`;

describe('cloudwatch-alarm-evaluation: an alarm follows its metric as CloudWatch evaluates it (moto never evaluates one)', () => {
  test('a fresh alarm is INSUFFICIENT_DATA; a datapoint of 1 puts it in ALARM within about a period, a datapoint of 0 back to OK', async () => {
    const name = unique('control');
    const runbook = unique('rb');
    await aws.putMetricAlarm(controlAlarm(name, runbook));
    expect(await alarm(name)).toMatchObject({ StateValue: 'INSUFFICIENT_DATA', StateReason: 'Unchecked: Initial alarm creation' });

    const withdrawn = Date.now();
    await put(runbook, 1);
    const breached = await until(name, 'ALARM');
    expect(breached?.StateValue).toBe('ALARM');
    expect(breached?.StateReason).toMatch(new RegExp(`^Threshold Crossed: 1 datapoint \\[1\\.0 ${REASON_TIME}\\] was greater than or equal to the threshold \\(1\\.0\\)\\.$`));
    const at = breached?.StateUpdatedTimestamp?.getTime() ?? 0;
    // At the end of the period the datapoint arrived in: after it, and within one period.
    expect(at).toBeGreaterThan(withdrawn);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(JSON.parse(breached?.StateReasonData ?? '{}')).toMatchObject({ statistic: 'Maximum', period: 60, threshold: 1, recentDatapoints: [1] });
    // Asked for its state, the alarm is listed in ALARM (the initial-state rule filters after the evaluation).
    expect((await aws.describeAlarms({ AlarmNames: [name], StateValue: 'ALARM' })).MetricAlarms?.map((a) => a.AlarmName)).toEqual([name]);
    expect((await aws.describeAlarms({ AlarmNames: [name], StateValue: 'OK' })).MetricAlarms).toEqual([]);
    // moto itself never moved it.
    expect((await alarm(name, direct))?.StateValue).toBe('OK');

    await put(runbook, 0);
    const restored = await until(name, 'OK');
    expect(restored?.StateValue).toBe('OK');
    expect(restored?.StateReason).toMatch(new RegExp(`^Threshold Crossed: 1 datapoint \\[0\\.0 ${REASON_TIME}\\] was not greater than or equal to the threshold \\(1\\.0\\)\\.$`));
    expect(restored?.StateUpdatedTimestamp?.getTime()).toBeGreaterThan(at);
  });

  test('with TreatMissingData ignore an alarm stays in ALARM while no data arrives; one treating it as missing turns INSUFFICIENT_DATA', async () => {
    const [ignoring, missing] = [unique('ignore'), unique('missing')];
    const runbook = unique('rb');
    await aws.putMetricAlarm(controlAlarm(ignoring, runbook));
    await aws.putMetricAlarm(controlAlarm(missing, runbook, undefined, { TreatMissingData: 'missing' }));
    await put(runbook, 1);
    expect((await until(ignoring, 'ALARM'))?.StateValue).toBe('ALARM');
    expect((await until(missing, 'ALARM'))?.StateValue).toBe('ALARM');

    // Once the datapoint has left the evaluation range, missing data decides.
    const gone = await until(missing, 'INSUFFICIENT_DATA');
    expect(gone?.StateValue).toBe('INSUFFICIENT_DATA');
    expect(gone?.StateReason).toBe('Insufficient Data: 1 datapoint was unknown.');
    const held = await alarm(ignoring);
    expect(held?.StateValue).toBe('ALARM');
    await sleep(3 * PERIOD_MS);
    expect(await alarm(ignoring)).toMatchObject({ StateValue: 'ALARM', StateUpdatedTimestamp: held?.StateUpdatedTimestamp });
  });

  test('a datapoint is counted only by alarms on its exact metric: another dimension value, another metric name, an extra dimension or another namespace leave an alarm alone', async () => {
    const runbook = unique('rb');
    const [here, elsewhere] = [unique('here'), unique('elsewhere')];
    await aws.putMetricAlarm(controlAlarm(here, runbook, 'ap-south-1'));
    await aws.putMetricAlarm(controlAlarm(elsewhere, runbook, 'ap-southeast-1'));
    const other = dims(runbook, 'ap-southeast-1');
    await aws.putMetricData({
      Namespace: NAMESPACE,
      MetricData: [
        { MetricName: METRIC, Dimensions: dims(runbook, 'ap-south-1'), Value: 1 },
        { MetricName: 'RegionRestored', Dimensions: other, Value: 1 },
        { MetricName: METRIC, Dimensions: [...other, { Name: 'Cell', Value: 'a' }], Value: 1 },
        { MetricName: METRIC, Dimensions: other.slice(0, 1), Value: 1 },
      ],
    });
    await aws.putMetricData({ Namespace: 'drover/other', MetricData: [{ MetricName: METRIC, Dimensions: other, Value: 1 }] });

    // The period has ended: the matching alarm is evaluated, the other is not.
    expect((await until(here, 'ALARM'))?.StateValue).toBe('ALARM');
    await sleep(PERIOD_MS);
    expect(await alarm(elsewhere)).toMatchObject({ StateValue: 'INSUFFICIENT_DATA', StateReason: 'Unchecked: Initial alarm creation' });
  });

  test("the datapoints of one period are aggregated by the alarm's statistic: 1 and 0 together read ALARM on Maximum, OK on Minimum", async () => {
    const runbook = unique('rb');
    const [maximum, minimum] = [unique('max'), unique('min')];
    await aws.putMetricAlarm(controlAlarm(maximum, runbook));
    await aws.putMetricAlarm(controlAlarm(minimum, runbook, undefined, { Statistic: 'Minimum' }));
    // One request: both datapoints arrive in one period (withdrawn, then restored within a minute on AWS).
    await put(runbook, 1, 0);
    expect((await until(maximum, 'ALARM'))?.StateValue).toBe('ALARM');
    expect((await until(minimum, 'OK'))?.StateValue).toBe('OK');
  });

  test('SetAlarmState holds until the next evaluation with data: a later datapoint evaluates the alarm again', async () => {
    const name = unique('forced');
    const runbook = unique('rb');
    await aws.putMetricAlarm(controlAlarm(name, runbook));
    await put(runbook, 1);
    expect((await until(name, 'ALARM'))?.StateValue).toBe('ALARM');
    // Past the evaluation range (N + 2 periods), no datapoint is left to evaluate.
    await sleep(5 * PERIOD_MS);

    await aws.setAlarmState({ AlarmName: name, StateValue: 'OK', StateReason: 'forced by the test' });
    expect(await alarm(name)).toMatchObject({ StateValue: 'OK', StateReason: 'forced by the test' });
    await sleep(3 * PERIOD_MS);
    expect(await alarm(name)).toMatchObject({ StateValue: 'OK', StateReason: 'forced by the test' });

    await put(runbook, 1);
    const again = await until(name, 'ALARM');
    expect(again?.StateValue).toBe('ALARM');
    expect(again?.StateReason).toMatch(/^Threshold Crossed: 1 datapoint/);
  });

  test('an update keeps the evaluated state and evaluates later data by the new definition; a deleted alarm created again starts anew', async () => {
    const name = unique('updated');
    const runbook = unique('rb');
    await aws.putMetricAlarm(controlAlarm(name, runbook));
    await put(runbook, 1);
    const breached = await until(name, 'ALARM');
    expect(breached?.StateValue).toBe('ALARM');

    // moto resets an updated alarm to OK; through the rules it keeps its state, reason and time.
    await aws.putMetricAlarm(controlAlarm(name, runbook, undefined, { Threshold: 2 }));
    expect(await alarm(name)).toMatchObject({ Threshold: 2, StateValue: 'ALARM', StateReason: breached?.StateReason, StateUpdatedTimestamp: breached?.StateUpdatedTimestamp });
    await put(runbook, 1);
    const below = await until(name, 'OK');
    expect(below?.StateValue).toBe('OK');
    expect(below?.StateReason).toMatch(/\[1\.0 .*\] was not greater than or equal to the threshold \(2\.0\)\.$/);

    await aws.deleteAlarms({ AlarmNames: [name] });
    await aws.putMetricAlarm(controlAlarm(name, runbook));
    expect(await alarm(name)).toMatchObject({ StateValue: 'INSUFFICIENT_DATA', StateReason: 'Unchecked: Initial alarm creation' });
  });

  test('M out of N: with 2 of 3 datapoints to alarm, one breaching period keeps the state, a second one puts the alarm in ALARM', async () => {
    const name = unique('m-of-n');
    const runbook = unique('rb');
    await aws.putMetricAlarm(controlAlarm(name, runbook, undefined, { EvaluationPeriods: 3, DatapointsToAlarm: 2 }));
    await put(runbook, 1);
    // Its period over, one breaching datapoint of the 2 needed (and no other data): the state is kept.
    await sleep(2 * PERIOD_MS);
    expect((await alarm(name))?.StateValue).toBe('INSUFFICIENT_DATA');

    await put(runbook, 1);
    const breached = await until(name, 'ALARM');
    expect(breached?.StateValue).toBe('ALARM');
    expect(breached?.StateReason).toMatch(
      new RegExp(`^Threshold Crossed: 2 out of the last 3 datapoints \\[1\\.0 ${REASON_TIME}, 1\\.0 ${REASON_TIME}\\] were greater than or equal to the threshold \\(1\\.0\\) \\(minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition\\)\\.$`),
    );
  });
});
