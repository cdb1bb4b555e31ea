/**
 * Fidelity rules for cloudwatch: see fidelity.ts for the mechanism, and docs/emulator-support.md for the table.
 *
 * What moto 5.2 does (tried against it): every alarm starts OK, with the StateReason "Unchecked: Initial alarm
 * creation", and PutMetricAlarm on an existing alarm puts it back there; DescribeAlarms answers every alarm that
 * matches in one page, whatever MaxRecords says, with no NextToken. (moto cannot hold composite alarms: it has no
 * PutCompositeAlarm, and drops AlarmRule from PutMetricAlarm; so its DescribeAlarms, like AWS's without AlarmTypes,
 * never lists one, and no rule is needed for that.)
 * Both rules read and write the JSON protocol's answers (what the AWS SDK for JavaScript v3 speaks to CloudWatch);
 * an answer in another format is left as moto gave it.
 */
import { kept, type FidelityCall, type FidelityRule } from './fidelity-rule';

/** The StateReason moto gives an alarm it has just (re)created, and CloudWatch a new alarm not evaluated yet. */
export const MOTO_INITIAL_REASON = 'Unchecked: Initial alarm creation';

/** How many alarms a DescribeAlarms page holds when MaxRecords is not given (CloudWatch's answer; its reference names no default). */
export const DESCRIBE_ALARMS_DEFAULT_PAGE = 50;

interface Described {
  MetricAlarms?: Array<Record<string, unknown>>;
  CompositeAlarms?: Array<Record<string, unknown>>;
  NextToken?: string;
}

/** A JSON answer of DescribeAlarms, or undefined for anything else (another protocol's XML, a body that is no JSON object). */
function described(body: string): Described | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Described) : undefined;
  } catch {
    return undefined;
  }
}

/** Where a rule keeps an alarm: by region and name (names are unique within a region). */
const keyOf = (region: string, name: string) => `${region}\u0000${name}`;

/** The names a list parameter carries: `AlarmNames.member.N` (query protocol), or the JSON array (which the proxy reads joined by commas). */
function listed(call: FidelityCall, name: string, known: Iterable<string>): string[] {
  const members: string[] = [];
  for (let i = 1; ; i++) {
    const m = call.param(`${name}.member.${i}`);
    if (m === undefined) break;
    members.push(m);
  }
  if (members.length > 0) return members;
  const joined = call.param(name);
  if (joined === undefined) return [];
  // An alarm name may hold a comma: each name the rule knows is matched as a whole element of the joined list.
  return [...known].filter((n) => joined === n || joined.startsWith(`${n},`) || joined.endsWith(`,${n}`) || joined.includes(`,${n},`));
}

/** The token this proxy hands out for the page that starts at `offset`. */
const pageToken = (offset: number) => Buffer.from(`drover-fidelity-page:${offset}`, 'utf8').toString('base64');

/** The offset a token of ours names, or undefined for any other token. */
function pageOffset(token: string): number | undefined {
  const m = /^drover-fidelity-page:(\d{1,9})$/.exec(Buffer.from(token, 'base64').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

export const CLOUDWATCH_FIDELITY_RULES: readonly FidelityRule[] = [
  {
    id: 'cloudwatch-alarm-initial-state',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
      says: 'When this operation creates an alarm, the alarm state is immediately set to INSUFFICIENT_DATA. The alarm is then evaluated and its state is set appropriately. … When you update an existing alarm, its state is left unchanged, but the update completely overwrites the previous configuration of the alarm.',
    },
    // moto starts every alarm OK and never evaluates one, and PutMetricAlarm on an existing alarm puts it back to OK.
    // An alarm moto shows with its creation reason has had no SetAlarmState since its last PutMetricAlarm: on AWS it
    // is INSUFFICIENT_DATA until data arrives (no data arrives to be evaluated here), or, updated, in the state it had.
    service: 'cloudwatch',
    operations: ['SetAlarmState', 'DeleteAlarms', 'DescribeAlarms'],
    observe(call, state) {
      const set = kept(state, this.id, () => new Map<string, { value: string; reason?: string }>());
      const region = call.info.region;
      if (call.info.operation === 'SetAlarmState') {
        const name = call.param('AlarmName');
        const value = call.param('StateValue');
        if (name !== undefined && value !== undefined) set.set(keyOf(region, name), { value, reason: call.param('StateReason') });
      } else if (call.info.operation === 'DeleteAlarms') {
        const prefix = keyOf(region, '');
        const known = [...set.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
        // A deleted alarm is gone: one created again under its name starts anew.
        for (const name of listed(call, 'AlarmNames', known)) set.delete(keyOf(region, name));
      }
    },
    rewrite(call, body, state) {
      if (call.info.operation !== 'DescribeAlarms') return body;
      const out = described(body);
      if (!out) return body;
      const set = state.get(this.id) as Map<string, { value: string; reason?: string }> | undefined;
      let changed = false;
      const asAws = (alarms: Array<Record<string, unknown>> | undefined) => {
        if (!alarms) return alarms;
        for (const a of alarms) {
          if (a.StateReason !== MOTO_INITIAL_REASON || typeof a.AlarmName !== 'string') continue;
          const last = set?.get(keyOf(call.info.region, a.AlarmName));
          a.StateValue = last?.value ?? 'INSUFFICIENT_DATA';
          if (last?.reason !== undefined) a.StateReason = last.reason;
          changed = true;
        }
        // Asked for one state, an answer lists only alarms in it (moto filters by its own states, or not at all with AlarmNames).
        const wanted = call.param('StateValue');
        if (wanted === undefined) return alarms;
        const kept = alarms.filter((a) => a.StateValue === wanted);
        if (kept.length !== alarms.length) changed = true;
        return kept;
      };
      out.MetricAlarms = asAws(out.MetricAlarms);
      out.CompositeAlarms = asAws(out.CompositeAlarms);
      return changed ? JSON.stringify(out) : body;
    },
  },
  {
    id: 'cloudwatch-describe-alarms-pages',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html',
      says: 'MaxRecords: The maximum number of alarm descriptions to retrieve from the request. Valid Range: Minimum value of 1. Maximum value of 100. … NextToken: The token that marks the start of the next batch of returned results. … InvalidNextToken: The next token specified is invalid.',
    },
    // moto answers every matching alarm at once, ignoring MaxRecords and never giving a NextToken; here an answer
    // holds one page (MaxRecords, else 50: CloudWatch's reference names no default, 50 is what it answers, as
    // https://github.com/boto/boto/issues/3036 found), metric alarms first, and a NextToken when more follow.
    service: 'cloudwatch',
    operations: ['DescribeAlarms'],
    refuse(call) {
      const max = call.param('MaxRecords');
      if (max !== undefined && (Number(max) < 1 || Number(max) > 100)) {
        const bound = Number(max) < 1 ? 'greater than or equal to 1' : 'less than or equal to 100';
        return { status: 400, code: 'ValidationError', message: `1 validation error detected: Value '${max}' at 'maxRecords' failed to satisfy constraint: Member must have value ${bound}` };
      }
      const token = call.param('NextToken');
      if (token !== undefined && token !== '' && pageOffset(token) === undefined) return { status: 400, code: 'InvalidNextToken', message: 'The next token specified is invalid.' };
      return undefined;
    },
    rewrite(call, body) {
      const out = described(body);
      if (!out) return body;
      const metric = out.MetricAlarms ?? [];
      const composite = out.CompositeAlarms ?? [];
      const size = call.param('MaxRecords') !== undefined ? Number(call.param('MaxRecords')) : DESCRIBE_ALARMS_DEFAULT_PAGE;
      const token = call.param('NextToken');
      const offset = token ? (pageOffset(token) ?? 0) : 0;
      const total = metric.length + composite.length;
      if (offset === 0 && total <= size) return body;
      const end = Math.min(offset + size, total);
      // One page over both lists, metric alarms first.
      out.MetricAlarms = metric.slice(Math.min(offset, metric.length), Math.min(end, metric.length));
      out.CompositeAlarms = composite.slice(Math.max(0, offset - metric.length), Math.max(0, end - metric.length));
      if (end < total) out.NextToken = pageToken(end);
      else delete out.NextToken;
      return JSON.stringify(out);
    },
  },
];
