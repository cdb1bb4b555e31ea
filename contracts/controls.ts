/**
 * Data-plane traffic controls (docs/region-loss.md): what a runbook's controls are called and where they live.
 * Workflow-safe (no I/O): the failover names the alarm it flips without asking Route 53 anything.
 *
 * A runbook has one control, of its primary region P (the only region a failover leaves): a CloudWatch alarm on
 * drover's metric, kept in the standby region, which a Route 53 health check of type CLOUDWATCH_METRIC follows; that
 * health check is attached to P's record sets (and P's set of each writer record's failover pair). Publishing 1 takes
 * P's sets out of DNS answers; 0 puts them back. Losing P (us-east-1 included) never loses its control. The standby's
 * sets carry no health check: Route 53 counts such a set healthy whatever happens, so withdrawing P can never leave
 * every set of a record unhealthy, which Route 53 answers as if all were healthy (by weight: back to P).
 */

/** The namespace and metric of drover's controls (standard resolution: Route 53 follows no high-resolution alarm). */
export const CONTROL_NAMESPACE = 'drover/controls';
export const CONTROL_METRIC = 'RegionWithdrawn';
/** The alarm's period, in seconds: one 60-s period of Maximum >= 1 withdraws the region. */
export const CONTROL_PERIOD_S = 60;

export interface ControlSpec {
  /** The region whose record sets the control takes out of DNS answers. */
  region: string;
  /** Where the alarm lives: the other region of the pair, so losing `region` leaves its control reachable. */
  alarmRegion: string;
  alarmName: string;
  /** The metric's dimensions: the runbook and the region controlled. */
  dimensions: Array<{ Name: string; Value: string }>;
}

/** The control of `region` for a runbook (`region` is one of its pair). */
export function controlOf(rb: { name: string; regions: { primary: string; standby: string } }, region: string): ControlSpec {
  const alarmRegion = region === rb.regions.primary ? rb.regions.standby : rb.regions.primary;
  return {
    region,
    alarmRegion,
    alarmName: `drover-control-${rb.name}-${region}`,
    dimensions: [
      { Name: 'Runbook', Value: rb.name },
      { Name: 'Region', Value: region },
    ],
  };
}

/**
 * How long after the flip DNS answers leave the region, at most, as documented: the alarm's period (a CLOUDWATCH_METRIC
 * health check follows the alarm's data, one standard-resolution period), then resolvers keep an answer for its TTL.
 * Route 53 documents no further delay for health checkers to read an alarm: this is the figure the report shows
 * apart from RTO, not a measurement.
 */
export function detectionMs(rb: { dns: { records: Array<{ ttl: number }> } }, writerTtls: number[]): number {
  const ttl = Math.max(0, ...rb.dns.records.map((r) => r.ttl), ...writerTtls);
  return (CONTROL_PERIOD_S + ttl) * 1000;
}

/**
 * What a runbook's controls protect, one line each (records and their sets, writer records, by zone): drover prepare
 * marks each alarm with its digest once every set carries its health check, and an unplanned failover's preflight
 * refuses a control whose mark is missing or stale (a prepare cut off halfway, records added since), where Route 53's
 * API cannot be asked whether the sets carry their health checks.
 */
export function coverageOf(rb: {
  regions: { primary: string; standby: string };
  dns: { hostedZone: string; hostedZoneId?: string; records: Array<{ name: string; type: string; zone?: string; zoneId?: string; targets: Record<string, { setIdentifier: string }> }> };
  database?: DbCoverage;
  databases?: DbCoverage[];
}): string[] {
  const pair = [rb.regions.primary, rb.regions.standby];
  const zone = (z?: string, id?: string) => `${z ?? rb.dns.hostedZone}#${id ?? (z === undefined ? (rb.dns.hostedZoneId ?? '') : '')}`;
  const writers = rb.databases ?? (rb.database ? [rb.database] : []);
  return [
    // The control protects the primary: a runbook whose regions were swapped needs its control in the other region.
    `control ${rb.regions.primary} (alarm in ${rb.regions.standby}); standby sets without health check`,
    ...rb.dns.records.map((r) => `record ${zone(r.zone, r.zoneId)} ${r.name} ${r.type} ${pair.map((p) => `${p}=${r.targets[p]?.setIdentifier ?? ''}`).join(' ')}`),
    // The instances whose endpoints the pair's sets hold: another replica in the runbook needs the pair made again.
    ...writers.map((d) => `writer ${zone(d.writerRecord.zone, d.writerRecord.zoneId)} ${d.writerRecord.name} ${d.primary.identifier} ${d.replica.identifier}`),
  ].sort();
}

/** What coverageOf reads of a database. */
interface DbCoverage {
  writerRecord: { name: string; zone?: string; zoneId?: string };
  primary: { identifier: string };
  replica: { identifier: string };
}

