import type { ResourceRecordSet, Change } from '@aws-sdk/client-route-53';
import { ApplicationFailure } from '@temporalio/common';
import type { DnsRecord } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import type { Route53Api } from '../aws/clients';
import { aws } from '../aws/errors';
import { earlierBeat, inActivity, pollUntil } from './wait';

export interface TrafficInput {
  hostedZone: string;
  /** The hosted zone by id (runbook dns.hostedZoneId), when its name is shared. */
  hostedZoneId?: string;
  records: DnsRecord[];
  fromRegion: string;
  toRegion: string;
  /** Percent of traffic on toRegion after the change. */
  percent: number;
}

export interface ZoneChange {
  zone: string;
  changeId?: string;
  /** Record sets changed in this zone's single ChangeBatch (0: already in the desired state). */
  changed: number;
  requestId?: string;
}

export interface RecordState {
  name: string;
  routing: 'weighted' | 'failover';
  /** Weight per region for weighted records; for failover records, 100 on the region holding PRIMARY. */
  share: Record<string, number>;
  /** The health check each region's set carries, where one does (drover prepare's control on the primary's). */
  healthChecks?: Record<string, string>;
}

/** A record or zone name as Route 53 compares them: no trailing dot, lower case, `\052` read as `*`. */
export const norm = (name: string) => name.replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();
const key = (name: string, type: string, setId?: string) => `${norm(name)}|${type}|${setId ?? ''}`;

/** A hosted zone as a runbook names it: by name, and by id where the name is shared (split horizon). */
export interface ZoneRef {
  name: string;
  id?: string;
}

/** The zone a record lives in: its own (by id if given), else the runbook's hosted zone. */
export function recordZone(r: Pick<DnsRecord, 'zone' | 'zoneId'>, hostedZone: string, hostedZoneId?: string): ZoneRef {
  if (r.zone !== undefined && r.zone !== hostedZone) return { name: r.zone, ...(r.zoneId ? { id: r.zoneId } : {}) };
  const id = r.zoneId ?? hostedZoneId;
  return { name: hostedZone, ...(id ? { id } : {}) };
}

/** What a record set must hold, in one region, for `percent` of the traffic to be on `toRegion`. */
export type DesiredState = Pick<ResourceRecordSet, 'Weight' | 'Failover'>;

/**
 * The desired state of a record's set in `region`: a weighted record weighs `percent` on toRegion and
 * 100 - percent on the other; a failover record carries no weight, so traffic is forced by swapping the
 * PRIMARY/SECONDARY roles (in one ChangeBatch) once the shift reaches 100%.
 */
export function desiredState(r: Pick<DnsRecord, 'routing'>, region: string, input: Pick<TrafficInput, 'toRegion' | 'percent'>): DesiredState {
  if (r.routing === 'weighted') return { Weight: region === input.toRegion ? input.percent : 100 - input.percent };
  const toIsPrimary = input.percent >= 100;
  return { Failover: (region === input.toRegion) === toIsPrimary ? 'PRIMARY' : 'SECONDARY' };
}

/** Whether a record set differs from its desired state (an UPSERT is needed): only the fields wanted count. */
export function needsChange(current: DesiredState, want: DesiredState): boolean {
  return (want.Weight !== undefined && current.Weight !== want.Weight) || (want.Failover !== undefined && current.Failover !== want.Failover);
}

/** A record set's share of traffic: its weight, or for a failover record 100 on PRIMARY and 0 otherwise. */
export function shareOf(routing: DnsRecord['routing'], s: DesiredState): number {
  return routing === 'weighted' ? Number(s.Weight ?? 0) : s.Failover === 'PRIMARY' ? 100 : 0;
}

/** The set identifier of the writer record's set for `region` in drover's failover pair (drover prepare). */
export const writerSetId = (region: string) => `drover-writer-${region}`;

/** drover's failover pair for a writer record (CNAME sets with drover's set identifiers), or undefined if it has none. */
export function writerPair(sets: Map<string, ResourceRecordSet>, name: string): { sets: ResourceRecordSet[]; primary?: ResourceRecordSet } | undefined {
  const mine = [...sets.values()].filter((s) => s.Type === 'CNAME' && norm(s.Name ?? '') === norm(name) && s.Failover !== undefined && (s.SetIdentifier ?? '').startsWith('drover-writer-'));
  return mine.length === 0 ? undefined : { sets: mine, primary: mine.find((s) => s.Failover === 'PRIMARY') };
}

/** A Route 53 change an attempt sent, as its waits' heartbeats carry it for a retried attempt. */
interface SentChange {
  zone: string;
  changeId: string;
  changed: number;
  requestId?: string;
  /** A CNAME's value before and after the change (upsertCname). */
  before?: string;
  after?: string;
}

/** The changes an earlier attempt of this activity sent (its heartbeat details), well-formed ones only. */
function sentEarlier(): SentChange[] {
  const sent = earlierBeat()?.sent;
  if (!Array.isArray(sent)) return [];
  return sent.filter((c): c is SentChange => typeof c === 'object' && c !== null && typeof (c as SentChange).zone === 'string' && typeof (c as SentChange).changeId === 'string' && (c as SentChange).changeId !== '');
}

/** Whether this is a retried attempt of its activity (outside one, never). */
function retried(): boolean {
  return (inActivity()?.info.attempt ?? 1) > 1;
}

/**
 * Every hosted zone named exactly `name`. ListHostedZonesByName lists zones in name order from DNSName on, so zones
 * sharing the name come together, first (Route 53 API Reference, ListHostedZonesByName).
 */
async function zonesNamed(route53: () => Route53Api, name: string): Promise<Array<{ id: string; private: boolean; comment?: string }>> {
  const found: Array<{ id: string; private: boolean; comment?: string }> = [];
  let next: { DNSName?: string; HostedZoneId?: string } = { DNSName: name };
  for (;;) {
    const out = await aws('route53:ListHostedZonesByName', () => route53().listHostedZonesByName({ ...next, MaxItems: 100 }));
    for (const z of out.HostedZones ?? []) {
      if (norm(z.Name ?? '') !== norm(name)) return found;
      if (z.Id) found.push({ id: z.Id.replace(/^\/hostedzone\//, ''), private: z.Config?.PrivateZone === true, ...(z.Config?.Comment ? { comment: z.Config.Comment } : {}) });
    }
    if (!out.IsTruncated || !out.NextDNSName || norm(out.NextDNSName) !== norm(name)) return found;
    next = { DNSName: out.NextDNSName, HostedZoneId: out.NextHostedZoneId };
  }
}

/** A zone's id: the one given, else the one zone of that name; refused when none or several have it (split horizon). */
export async function resolveZoneId(route53: () => Route53Api, zone: ZoneRef): Promise<string> {
  if (zone.id) return zone.id;
  const matches = await zonesNamed(route53, zone.name);
  if (matches.length === 0) {
    throw ApplicationFailure.create({ type: FailureType.NotFound, message: `hosted zone ${zone.name} not found`, nonRetryable: true });
  }
  if (matches.length > 1) {
    // Split horizon: a public and a private zone (or several private ones) share the name. Picking one would move
    // the records of the other audience: the runbook names the zone by id instead.
    const list = matches.map((z) => `${z.id} (${z.private ? 'private' : 'public'}${z.comment ? `, "${z.comment}"` : ''})`).join(', ');
    throw ApplicationFailure.create({
      type: FailureType.Validation,
      message: `hosted zone name ${zone.name} matches ${matches.length} zones: ${list}; name the one meant by id (dns.hostedZoneId, dns.records[].zoneId or writerRecord.zoneId)`,
      nonRetryable: true,
    });
  }
  return matches[0].id;
}

/** Every record set of a zone, by name, type and set identifier (all pages). */
export async function listZoneSets(route53: () => Route53Api, id: string): Promise<Map<string, ResourceRecordSet>> {
  const sets = new Map<string, ResourceRecordSet>();
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await aws('route53:ListResourceRecordSets', () => route53().listResourceRecordSets({ HostedZoneId: id, ...start }));
    for (const s of page.ResourceRecordSets ?? []) sets.set(key(s.Name ?? '', s.Type ?? '', s.SetIdentifier), s);
    if (!page.IsTruncated) return sets;
    start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, StartRecordIdentifier: page.NextRecordIdentifier };
  }
}

/** Route 53 activities: zone lookup, record reads, one ChangeBatch per zone per step, INSYNC waits. */
export function createRoute53Activities(route53: () => Route53Api) {
  const zoneIds = new Map<string, string>();

  /** A zone's id: the one the runbook gives, else looked up by its name (cached; refused when the name is shared). */
  async function zoneId(zone: ZoneRef): Promise<string> {
    if (zone.id) return zone.id;
    const cached = zoneIds.get(zone.name);
    if (cached) return cached;
    const id = await resolveZoneId(route53, zone);
    zoneIds.set(zone.name, id);
    return id;
  }

  /** List a zone; a cached zone id (looked up by name) that no longer exists (zone re-created) is looked up again. */
  async function listZoneByName(zone: ZoneRef): Promise<{ id: string; sets: Map<string, ResourceRecordSet> }> {
    const id = await zoneId(zone);
    try {
      return { id, sets: await listZoneSets(route53, id) };
    } catch (e) {
      if ((e as { type?: string }).type !== FailureType.NotFound || zone.id) throw e;
      zoneIds.delete(zone.name);
      const fresh = await zoneId(zone);
      return { id: fresh, sets: await listZoneSets(route53, fresh) };
    }
  }

  /**
   * Wait for a change to be INSYNC, its heartbeats carrying every change the activity sent (`sent`): an attempt that
   * times out while a change is PENDING leaves them to the retry, which waits for them rather than taking the new
   * values it reads back (ListResourceRecordSets shows PENDING changes) for done.
   */
  async function waitInSync(changeId: string, what: string, sent: SentChange[]): Promise<void> {
    // Changes take up to about a minute to reach INSYNC; a GetChange after 1 s, then slower (up to every 10 s), keeps
    // parallel waits (zones, databases) well inside drover's share of the account's Route 53 rate (aws/clients.ts, ROUTE53_BUDGET).
    await pollUntil({ what: `Route 53 change ${changeId} (${what}) to be INSYNC`, timeoutMs: 10 * 60_000, initialIntervalMs: 1000, maxIntervalMs: 10_000, carry: () => ({ sent }) }, async () => {
      const out = await aws('route53:GetChange', () => route53().getChange({ Id: changeId }));
      const status = out.ChangeInfo?.Status ?? 'UNKNOWN';
      return { done: status === 'INSYNC', value: undefined, progress: status };
    });
  }

  /** The records grouped by their zone (a zone named by id apart from one of the same name looked up). */
  function groupByZone(hostedZone: string, hostedZoneId: string | undefined, records: DnsRecord[]): Map<string, { zone: ZoneRef; records: DnsRecord[] }> {
    const byZone = new Map<string, { zone: ZoneRef; records: DnsRecord[] }>();
    for (const r of records) {
      const zone = recordZone(r, hostedZone, hostedZoneId);
      const k = `${zone.name}|${zone.id ?? ''}`;
      byZone.set(k, { zone, records: [...(byZone.get(k)?.records ?? []), r] });
    }
    return byZone;
  }

  return {
    /** Current traffic shares of the runbook's records, per region. */
    async readTraffic(input: { hostedZone: string; hostedZoneId?: string; records: DnsRecord[]; regions: string[] }): Promise<RecordState[]> {
      const states: RecordState[] = [];
      for (const { zone, records } of groupByZone(input.hostedZone, input.hostedZoneId, input.records).values()) {
        const { sets } = await listZoneByName(zone);
        for (const r of records) {
          const share: Record<string, number> = {};
          const healthChecks: Record<string, string> = {};
          for (const region of input.regions) {
            const s = sets.get(key(r.name, r.type, r.targets[region]?.setIdentifier));
            if (!s) continue;
            share[region] = shareOf(r.routing, s);
            if (s.HealthCheckId) healthChecks[region] = s.HealthCheckId;
          }
          states.push({ name: r.name, routing: r.routing, share, ...(Object.keys(healthChecks).length > 0 ? { healthChecks } : {}) });
        }
      }
      return states;
    },

    /** Which of the runbook's record sets are missing from Route 53. */
    async missingRecords(input: { hostedZone: string; hostedZoneId?: string; records: DnsRecord[]; regions: string[] }): Promise<string[]> {
      const missing: string[] = [];
      for (const { zone, records } of groupByZone(input.hostedZone, input.hostedZoneId, input.records).values()) {
        let sets: Map<string, ResourceRecordSet>;
        try {
          sets = (await listZoneByName(zone)).sets;
        } catch (e) {
          missing.push(`zone ${zone.name}: ${(e as Error).message}`);
          continue;
        }
        for (const r of records) {
          for (const region of input.regions) {
            const setId = r.targets[region]?.setIdentifier;
            if (!sets.has(key(r.name, r.type, setId))) missing.push(`${r.name} ${r.type} set ${setId} (${region})`);
          }
        }
      }
      return missing;
    },

    /**
     * Move the records to `percent` on toRegion: one UPSERT ChangeBatch per zone holding only the
     * record sets that differ (so a retry after success changes nothing), then wait for INSYNC.
     */
    async shiftTraffic(input: TrafficInput): Promise<ZoneChange[]> {
      // An earlier attempt's changes (the same input) are waited for first: their new values already read back.
      const earlier = sentEarlier();
      const sent: SentChange[] = [...earlier];
      await Promise.all(earlier.map((c) => waitInSync(c.changeId, `${c.zone} ${input.percent}%`, sent)));
      // Work out every zone's changes before sending any, so a missing record set leaves DNS untouched.
      const plans = await Promise.all(
        [...groupByZone(input.hostedZone, input.hostedZoneId, input.records).values()].map(async ({ zone: ref, records }) => {
          const zone = ref.name;
          const { id, sets } = await listZoneByName(ref);
          const changes: Change[] = [];
          // Every record set of the step as it must be: what a retried attempt sends again to know it is INSYNC.
          const confirm: Change[] = [];
          for (const r of records) {
            for (const region of [input.fromRegion, input.toRegion]) {
              const setId = r.targets[region]?.setIdentifier;
              const current = sets.get(key(r.name, r.type, setId));
              if (!current) {
                throw ApplicationFailure.create({ type: FailureType.NotFound, message: `record ${r.name} ${r.type} set ${setId} not found in zone ${zone}`, nonRetryable: true });
              }
              const want = desiredState(r, region, input);
              const change: Change = { Action: 'UPSERT', ResourceRecordSet: { ...current, ...want } };
              confirm.push(change);
              if (needsChange(current, want)) changes.push(change);
            }
          }
          return { zone, id, changes, confirm };
        }),
      );
      return Promise.all(
        plans.map(async ({ zone, id, changes, confirm }): Promise<ZoneChange> => {
          if (changes.length === 0) {
            const before = earlier.find((c) => c.zone === zone);
            if (before) return { zone, changeId: before.changeId, changed: before.changed, requestId: before.requestId };
            // A retried attempt with no record of this zone's change (its heartbeat may not have reached Temporal) cannot
            // tell a PENDING change from an INSYNC one: it sends the same values again and waits for that change.
            if (!retried()) return { zone, changed: 0 };
          }
          const out = await aws('route53:ChangeResourceRecordSets', () =>
            route53().changeResourceRecordSets({
              HostedZoneId: id,
              ChangeBatch: { Comment: `drover: ${input.percent}% to ${input.toRegion}${changes.length === 0 ? ' (confirmed on a retry)' : ''}`, Changes: changes.length > 0 ? changes : confirm },
            }),
          );
          const changeId = out.ChangeInfo?.Id ?? '';
          sent.push({ zone, changeId, changed: changes.length, requestId: out.$metadata.requestId });
          await waitInSync(changeId, `${zone} ${input.percent}%`, sent);
          return { zone, changeId, changed: changes.length, requestId: out.$metadata.requestId };
        }),
      );
    },

    /**
     * Point the writer record at `value` (no change if it already does), then wait for INSYNC. A simple CNAME is
     * UPSERT; drover's failover pair (drover prepare: one set per region, each with its region's control) is pointed by
     * making the set that holds `value` PRIMARY and the other SECONDARY, in one ChangeBatch.
     */
    async upsertCname(input: { zone: string; zoneId?: string; name: string; value: string; ttl: number }): Promise<{ before?: string; after: string; changeId?: string; requestId?: string }> {
      // An earlier attempt's change (its value already reads back, PENDING included) is waited for, not taken for done;
      // the record is read after it all the same (someone may have changed it since).
      const earlier = sentEarlier().find((c) => c.zone === input.zone && c.after === input.value);
      if (earlier) await waitInSync(earlier.changeId, `${input.name} -> ${input.value}`, [earlier]);
      const { id, sets } = await listZoneByName({ name: input.zone, ...(input.zoneId ? { id: input.zoneId } : {}) });
      const pair = writerPair(sets, input.name);
      const before = pair ? pair.primary?.ResourceRecords?.[0]?.Value : sets.get(key(input.name, 'CNAME'))?.ResourceRecords?.[0]?.Value;
      if (before && norm(before) === norm(input.value)) {
        if (earlier) return { before: earlier.before, after: input.value, changeId: earlier.changeId, requestId: earlier.requestId };
        // A retried attempt with no record of a change (its heartbeat may not have reached Temporal) cannot tell a PENDING
        // value from an INSYNC one: it sends it again (an UPSERT of the same value) and waits for that change.
        if (!retried()) return { before, after: before };
      }
      let changes: Change[];
      if (pair) {
        const to = pair.sets.find((x) => norm(x.ResourceRecords?.[0]?.Value ?? '') === norm(input.value));
        if (!to) {
          throw ApplicationFailure.create({
            type: FailureType.InvalidState,
            message: `${input.name} is drover's failover pair (drover prepare), and neither of its sets points at ${input.value}: run drover prepare again to rebuild it from the databases' endpoints`,
            nonRetryable: true,
          });
        }
        // The set leaving PRIMARY first, then the one taking it (a batch's changes are listed demotion first).
        changes = [...pair.sets].sort((a, b) => Number(a === to) - Number(b === to)).map((x) => ({ Action: 'UPSERT', ResourceRecordSet: { ...x, Failover: x === to ? 'PRIMARY' : 'SECONDARY' } }));
      } else {
        changes = [{ Action: 'UPSERT', ResourceRecordSet: { Name: input.name, Type: 'CNAME', TTL: input.ttl, ResourceRecords: [{ Value: input.value }] } }];
      }
      const out = await aws('route53:ChangeResourceRecordSets', () => route53().changeResourceRecordSets({ HostedZoneId: id, ChangeBatch: { Comment: 'drover: repoint writer endpoint', Changes: changes } }));
      const changeId = out.ChangeInfo?.Id ?? '';
      const change: SentChange = { zone: input.zone, changeId, changed: changes.length, requestId: out.$metadata.requestId, before, after: input.value };
      await waitInSync(changeId, `${input.name} -> ${input.value}`, [change]);
      return { before, after: input.value, changeId, requestId: out.$metadata.requestId };
    },

    /** The value the writer record answers with: a simple CNAME's, or the PRIMARY set's of drover's failover pair. */
    async readCname(input: { zone: string; zoneId?: string; name: string }): Promise<string | undefined> {
      const { sets } = await listZoneByName({ name: input.zone, ...(input.zoneId ? { id: input.zoneId } : {}) });
      const pair = writerPair(sets, input.name);
      return pair ? pair.primary?.ResourceRecords?.[0]?.Value : sets.get(key(input.name, 'CNAME'))?.ResourceRecords?.[0]?.Value;
    },
  };
}
