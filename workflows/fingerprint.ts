/** What a runbook's topology fingerprint reads (contracts/fingerprint.ts): everything its failover and failback touch. */
import type { FingerprintScope } from '../contracts/fingerprint';
import { databasesOf } from '../runbooks/databases';
import type { Runbook } from '../runbooks/schema';

export function fingerprintScope(rb: Runbook): FingerprintScope {
  const dbs = databasesOf(rb).filter((d) => d.engine !== 'aurora-global');
  return {
    hostedZone: rb.dns.hostedZone,
    ...(rb.dns.hostedZoneId ? { hostedZoneId: rb.dns.hostedZoneId } : {}),
    records: [...rb.dns.records, ...dbs.map((d) => d.writerRecord)].map((r) => ({ name: r.name, ...(r.zone ? { zone: r.zone } : {}), ...(r.zoneId ? { zoneId: r.zoneId } : {}) })),
    databases: dbs.flatMap((d) => [
      { region: rb.regions.primary, identifier: d.primary.identifier },
      { region: rb.regions.standby, identifier: d.replica.identifier },
    ]),
    clusters: rb.compute.clusters.map((c) => ({ region: c.region, cluster: c.name, nodeGroups: c.nodeGroups.map((g) => g.name) })),
    alarms: Object.entries(rb.health.alarms).map(([region, names]) => ({ region, names })),
  };
}
