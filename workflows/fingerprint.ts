/** What a runbook's topology fingerprint reads (contracts/fingerprint.ts): everything its failover and failback touch. */
import type { FingerprintScope } from '../contracts/fingerprint';
import { databasesOf, writerZone, writerZoneId } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';

export function fingerprintScope(rb: Runbook): FingerprintScope {
  const dbs = databasesOf(rb).filter((d) => d.engine !== 'aurora-global');
  const inZone = (zone: string) => zone.replace(/\.$/, '') === rb.dns.hostedZone.replace(/\.$/, '');
  return {
    hostedZone: rb.dns.hostedZone,
    ...(rb.dns.hostedZoneId ? { hostedZoneId: rb.dns.hostedZoneId } : {}),
    records: [...rb.dns.records.map((r) => r.name), ...dbs.filter((d) => inZone(writerZone(rb, d))).map((d) => d.writerRecord.name)],
    otherZones: dbs.filter((d) => !inZone(writerZone(rb, d))).map((d) => ({ zone: writerZone(rb, d), ...(writerZoneId(rb, d) ? { zoneId: writerZoneId(rb, d) } : {}), name: d.writerRecord.name })),
    databases: dbs.flatMap((d) => [
      { region: rb.regions.primary, identifier: d.primary.identifier },
      { region: rb.regions.standby, identifier: d.replica.identifier },
    ]),
    clusters: rb.compute.clusters.map((c) => ({ region: c.region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) })),
    alarms: Object.entries(rb.health.alarms).map(([region, names]) => ({ region, names })),
  };
}
