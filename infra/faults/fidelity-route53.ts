/**
 * Fidelity rules for Route 53 health checks: see fidelity.ts for the mechanism, and docs/emulator-support.md for the table.
 *
 * What moto 5.2 does (tried against it): CreateHealthCheck and UpdateHealthCheck drop AlarmIdentifier and
 * InsufficientDataHealthStatus, so no answer carries them; a CLOUDWATCH_METRIC health check is answered with an
 * endpoint's Port (80), RequestInterval (30) and FailureThreshold (3); and CreateHealthCheck creates a new health check
 * for every request, whatever its CallerReference. identify.ts's REST table names CreateHealthCheck but not the other
 * health check operations, so these rules take every Route 53 request and tell those apart by method and path.
 * They read and write Route 53's REST-XML; an answer they cannot read is left as moto gave it.
 */
import { kept, type FidelityAnswer, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity-rule';

const ALARM_RULE = 'route53-health-check-alarm';
const CALLER_REFERENCE_RULE = 'route53-health-check-caller-reference';
const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

type HealthCheckOperation = 'CreateHealthCheck' | 'GetHealthCheck' | 'ListHealthChecks' | 'UpdateHealthCheck' | 'DeleteHealthCheck';

/** The health check operation a request is, from its method and path (`/2013-04-01/healthcheck[/{id}]`), with the id it names. */
export function healthCheckOperation(call: Pick<FidelityCall, 'method' | 'path'>): { operation: HealthCheckOperation; id?: string } | undefined {
  const m = /^\/2013-04-01\/healthcheck(?:\/([^/]+))?\/?$/.exec(call.path);
  if (!m) return undefined;
  const id = m[1];
  if (id === undefined) {
    if (call.method === 'POST') return { operation: 'CreateHealthCheck' };
    return call.method === 'GET' ? { operation: 'ListHealthChecks' } : undefined;
  }
  const byMethod: Record<string, HealthCheckOperation> = { GET: 'GetHealthCheck', POST: 'UpdateHealthCheck', DELETE: 'DeleteHealthCheck' };
  const operation = byMethod[call.method];
  return operation ? { operation, id } : undefined;
}

/** The text inside the first `<name>` element of `xml` (as it is on the wire, entities left encoded), if any. */
function element(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

/** `xml` without its `<name>` elements. */
const without = (xml: string, name: string) => xml.replace(new RegExp(`\\s*<${name}>[\\s\\S]*?</${name}>`, 'g'), '');

/**
 * A HealthCheckConfig's settings in a form two requests compare by: its child elements, spaces between tags dropped,
 * in name order (the SDKs write them in the model's order, a hand-written request in any).
 */
export function settingsOf(config: string): string {
  const children = [...config.replace(/>\s+</g, '><').trim().matchAll(/<(\w+)>[\s\S]*?<\/\1>/g)].map((m) => m[0]);
  return children.sort().join('');
}

/** What `route53-health-check-alarm` keeps of a health check: the elements moto drops, as they were sent. */
interface AlarmSettings {
  /** `<Region>…</Region><Name>…</Name>`, AlarmIdentifier's members in the model's order. */
  alarm?: string;
  insufficientDataHealthStatus?: string;
}

const alarmsOf = (state: FidelityState) => kept(state, ALARM_RULE, () => new Map<string, AlarmSettings>());

/** The AlarmIdentifier and InsufficientDataHealthStatus a request sets (CreateHealthCheck's HealthCheckConfig, or UpdateHealthCheck's top level). */
function alarmSettings(xml: string): AlarmSettings {
  const out: AlarmSettings = {};
  const alarm = element(xml, 'AlarmIdentifier');
  if (alarm !== undefined) out.alarm = `<Region>${element(alarm, 'Region') ?? ''}</Region><Name>${element(alarm, 'Name') ?? ''}</Name>`;
  const status = element(xml, 'InsufficientDataHealthStatus');
  if (status !== undefined) out.insufficientDataHealthStatus = status;
  return out;
}

/**
 * One `<HealthCheck>` as Route 53 answers it: a CLOUDWATCH_METRIC health check has no IPAddress or Port, and the
 * AlarmIdentifier and InsufficientDataHealthStatus it was given are in its HealthCheckConfig, after Regions as in
 * the model (before RoutingControlArn). The same `<HealthCheck>` given twice comes out the same.
 */
export function healthCheckAsAws(block: string, state: FidelityState): string {
  const id = element(block, 'Id');
  const sent = id === undefined ? undefined : (state.get(ALARM_RULE) as Map<string, AlarmSettings> | undefined)?.get(id);
  return block.replace(/<HealthCheckConfig>([\s\S]*?)<\/HealthCheckConfig>/, (_all, inner: string) => {
    let config = inner;
    if (element(config, 'Type') === 'CLOUDWATCH_METRIC') config = without(without(config, 'IPAddress'), 'Port');
    if (sent?.alarm !== undefined || sent?.insufficientDataHealthStatus !== undefined) {
      config = without(without(config, 'AlarmIdentifier'), 'InsufficientDataHealthStatus');
      const added = `${sent.alarm !== undefined ? `<AlarmIdentifier>${sent.alarm}</AlarmIdentifier>` : ''}${sent.insufficientDataHealthStatus !== undefined ? `<InsufficientDataHealthStatus>${sent.insufficientDataHealthStatus}</InsufficientDataHealthStatus>` : ''}`;
      const at = config.indexOf('<RoutingControlArn>');
      config = at >= 0 ? `${config.slice(0, at)}${added}${config.slice(at)}` : `${config}${added}`;
    }
    return `<HealthCheckConfig>${config}</HealthCheckConfig>`;
  });
}

/** Every `<HealthCheck>` of an answer, rewritten by `edit`. */
const eachHealthCheck = (body: string, edit: (block: string) => string) => body.replace(/<HealthCheck>[\s\S]*?<\/HealthCheck>/g, edit);

/** What `route53-health-check-caller-reference` keeps of a CallerReference it has seen create a health check. */
interface Reference {
  id: string;
  settings: string;
  deleted: boolean;
  /** The health check as the emulator last answered it (Create, Get, List or Update). */
  latest: string;
}

interface References {
  byReference: Map<string, Reference>;
  byId: Map<string, Reference>;
}

const referencesOf = (state: FidelityState) => kept(state, CALLER_REFERENCE_RULE, (): References => ({ byReference: new Map(), byId: new Map() }));

const alreadyExists = (): FidelityAnswer => ({ status: 409, code: 'HealthCheckAlreadyExists', message: "The health check you're attempting to create already exists." });

export const ROUTE53_FIDELITY_RULES: readonly FidelityRule[] = [
  {
    id: ALARM_RULE,
    source: {
      url: 'https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html',
      says: 'AlarmIdentifier: A complex type that identifies the CloudWatch alarm that you want Amazon Route 53 health checkers to use to determine whether the specified health check is healthy. InsufficientDataHealthStatus: When CloudWatch has insufficient data about the metric to determine the alarm state, the status that you want Amazon Route 53 to assign to the health check. … IPAddress: When the value of Type is CALCULATED or CLOUDWATCH_METRIC, omit IPAddress. Port: Don\'t specify a value for Port when you specify a value for Type of CLOUDWATCH_METRIC or CALCULATED.',
    },
    // moto drops both settings (on create and on update) and answers a CLOUDWATCH_METRIC check with Port 80. What the
    // requests set is kept here, by health check id, and put back into every answer that shows the health check.
    // (Real answers also leave out RequestInterval, FailureThreshold, MeasureLatency and EnableSNI for this type; no
    // reference page says so, so moto's are kept.)
    service: 'route53',
    operations: '*',
    observe(call, state) {
      const op = healthCheckOperation(call);
      if (op?.operation === 'DeleteHealthCheck' && op.id !== undefined) alarmsOf(state).delete(op.id);
    },
    rewrite(call, body, state) {
      const op = healthCheckOperation(call);
      if (!op || op.operation === 'DeleteHealthCheck') return body;
      const request = call.body.toString('utf8');
      // The id of a new health check is moto's, so it is learnt from the answer.
      if (op.operation === 'CreateHealthCheck') {
        const id = element(body, 'Id');
        const sent = alarmSettings(element(request, 'HealthCheckConfig') ?? '');
        if (id !== undefined && (sent.alarm !== undefined || sent.insufficientDataHealthStatus !== undefined)) alarmsOf(state).set(id, sent);
      } else if (op.operation === 'UpdateHealthCheck' && op.id !== undefined) {
        const sent = alarmSettings(request);
        if (sent.alarm !== undefined || sent.insufficientDataHealthStatus !== undefined) alarmsOf(state).set(op.id, { ...alarmsOf(state).get(op.id), ...sent });
      }
      return eachHealthCheck(body, (block) => healthCheckAsAws(block, state));
    },
  },
  {
    id: CALLER_REFERENCE_RULE,
    source: {
      url: 'https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHealthCheck.html',
      says: "CallerReference: If you send a CreateHealthCheck request with the same CallerReference and settings as a previous request, and if the health check doesn't exist, Amazon Route 53 creates the health check. If the health check does exist, Route 53 returns the settings for the existing health check. If you send a CreateHealthCheck request with the same CallerReference as a deleted health check, regardless of the settings, Route 53 returns a HealthCheckAlreadyExists error. If you send a CreateHealthCheck request with the same CallerReference as an existing health check but with different settings, Route 53 returns a HealthCheckAlreadyExists error. (HealthCheckAlreadyExists: HTTP Status Code: 409.)",
    },
    // moto creates a new health check for every CreateHealthCheck. Only what was created through this proxy is known:
    // the health check a CallerReference made (learnt from the answer), its settings, and whether it was deleted. The
    // existing health check is answered as CreateHealthCheck answers (201, with its Location) and as the emulator
    // last showed it; settings are compared as the first request sent them.
    service: 'route53',
    operations: '*',
    refuse(call, state) {
      if (healthCheckOperation(call)?.operation !== 'CreateHealthCheck') return undefined;
      const request = call.body.toString('utf8');
      const reference = element(request, 'CallerReference');
      const known = reference === undefined ? undefined : referencesOf(state).byReference.get(reference);
      if (!known) return undefined;
      if (known.deleted || known.settings !== settingsOf(element(request, 'HealthCheckConfig') ?? '')) return alreadyExists();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<CreateHealthCheckResponse xmlns="${XMLNS}">${healthCheckAsAws(known.latest, state)}</CreateHealthCheckResponse>`;
      return { status: 201, ok: true, headers: { 'content-type': 'text/xml', location: `https://route53.amazonaws.com/2013-04-01/healthcheck/${known.id}` }, body };
    },
    observe(call, state) {
      const op = healthCheckOperation(call);
      if (op?.operation !== 'DeleteHealthCheck' || op.id === undefined) return;
      const known = referencesOf(state).byId.get(op.id);
      if (known) known.deleted = true;
    },
    rewrite(call, body, state) {
      const op = healthCheckOperation(call);
      if (!op || op.operation === 'DeleteHealthCheck') return body;
      const refs = referencesOf(state);
      if (op.operation === 'CreateHealthCheck') {
        const request = call.body.toString('utf8');
        const reference = element(request, 'CallerReference');
        const block = /<HealthCheck>[\s\S]*?<\/HealthCheck>/.exec(body)?.[0];
        const id = block === undefined ? undefined : element(block, 'Id');
        if (reference !== undefined && block !== undefined && id !== undefined) {
          const known: Reference = { id, settings: settingsOf(element(request, 'HealthCheckConfig') ?? ''), deleted: false, latest: block };
          refs.byReference.set(reference, known);
          refs.byId.set(id, known);
        }
        return body;
      }
      // Get, List and Update show a health check as it is now: what a repeated create answers with.
      eachHealthCheck(body, (block) => {
        const id = element(block, 'Id');
        const known = id === undefined ? undefined : refs.byId.get(id);
        if (known && !known.deleted) known.latest = block;
        return block;
      });
      return body;
    },
  },
];
