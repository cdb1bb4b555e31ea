import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { EKS } from '@aws-sdk/client-eks';
import { clientOptions, createAwsClients, type AwsConfig } from '../aws/clients';
import { parseRunbook, type RunbookProblem } from '../runbooks/load';

/**
 * `drover init`: a starting runbook discovered from an account, for a region pair. Reads only: Route 53
 * (the named zone's weighted and failover record pairs), RDS (instances in the standby region replicating
 * from the primary region, and the CNAME in the zone that points at each primary: its writer record), EKS
 * (clusters and node groups in both regions) and CloudWatch alarms by name prefix.
 * What it could not read from the account it guesses, and every guess carries a `# GUESSED:` comment.
 */

export interface InitOptions {
  name: string;
  primary: string;
  standby: string;
  zone: string;
  alarmPrefix?: string;
}

export interface InitResult {
  text: string;
  guesses: string[];
  found: { records: number; databases: number; clusters: number; alarms: number };
  problems: RunbookProblem[];
}

const norm = (n: string) => n.replace(/\\052/g, '*').replace(/\.$/, '').toLowerCase();
const q = (s: string) => JSON.stringify(s);

async function allRecordSets(aws: ReturnType<typeof createAwsClients>, zoneId: string): Promise<ResourceRecordSet[]> {
  const sets: ResourceRecordSet[] = [];
  let next: { StartRecordName?: string; StartRecordType?: string; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await aws.route53().listResourceRecordSets({ HostedZoneId: zoneId, ...next } as never);
    sets.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return sets;
    next = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, StartRecordIdentifier: page.NextRecordIdentifier };
  }
}

/** Which region a record set serves: its SetIdentifier or value naming the region (or its city code), else unknown. */
function regionOf(s: ResourceRecordSet, regions: string[]): string | undefined {
  const hay = `${s.SetIdentifier ?? ''} ${(s.ResourceRecords ?? []).map((r) => r.Value).join(' ')} ${s.AliasTarget?.DNSName ?? ''}`.toLowerCase();
  return regions.find((r) => hay.includes(r));
}

export async function discoverRunbook(o: InitOptions, config: AwsConfig): Promise<InitResult> {
  const aws = createAwsClients(config);
  // Listing clusters and node groups is init's alone: a client of its own rather than widening the workers' EKS API.
  const eks = (region: string) => new EKS(clientOptions(config, region));
  const guesses: string[] = [];
  const lines: string[] = [];
  const regions = [o.primary, o.standby];
  const zone = norm(o.zone);

  // Route 53: pairs of weighted or failover sets of one name and type, one per region.
  const zones = await aws.route53().listHostedZonesByName({ DNSName: zone, MaxItems: 1 });
  const hosted = zones.HostedZones?.find((z) => norm(z.Name ?? '') === zone);
  if (!hosted?.Id) throw new Error(`no hosted zone ${zone} in this account`);
  const sets = await allRecordSets(aws, hosted.Id);
  const byName = new Map<string, ResourceRecordSet[]>();
  for (const s of sets) {
    if (!s.SetIdentifier || !(s.Weight !== undefined || s.Failover)) continue;
    const k = `${norm(s.Name ?? '')}|${s.Type}`;
    byName.set(k, [...(byName.get(k) ?? []), s]);
  }
  const records: string[] = [];
  for (const [k, pair] of byName) {
    if (pair.length !== 2) continue;
    const [name, type] = k.split('|');
    const routing = pair[0].Failover ? 'failover' : 'weighted';
    let placed = pair.map((s) => ({ s, region: regionOf(s, regions) }));
    let guessed = '';
    if (placed.some((p) => !p.region) || placed[0].region === placed[1].region) {
      // Neither set names its region: the PRIMARY set, or the heavier one, is taken to serve the primary region.
      const first = pair.find((s) => s.Failover === 'PRIMARY') ?? [...pair].sort((a, b) => Number(b.Weight ?? 0) - Number(a.Weight ?? 0))[0];
      placed = pair.map((s) => ({ s, region: s === first ? o.primary : o.standby }));
      guessed = '  # GUESSED: which set serves which region (neither names its region)';
      guesses.push(`dns record ${name}: the region of each set`);
    }
    const ttl = pair[0].TTL ?? 60;
    const value = (s: ResourceRecordSet) => s.ResourceRecords?.[0]?.Value ?? s.AliasTarget?.DNSName ?? '';
    records.push(
      `    - name: ${name}${guessed}`,
      `      type: ${type}`,
      `      ttl: ${ttl}`,
      `      routing: ${routing}`,
      '      targets:',
      ...placed
        .sort((a, b) => regions.indexOf(a.region ?? '') - regions.indexOf(b.region ?? ''))
        .map((p) => `        ${p.region}: { setIdentifier: ${q(p.s.SetIdentifier ?? '')}, value: ${q(value(p.s))} }`),
    );
  }

  // RDS: replicas in the standby region of instances in the primary region.
  const instances = (await aws.rds(o.standby).describeDBInstances({})).DBInstances ?? [];
  const pairs = instances
    .filter((i) => i.ReadReplicaSourceDBInstanceIdentifier?.startsWith(`arn:aws:rds:${o.primary}:`))
    .map((i) => ({ replica: i.DBInstanceIdentifier ?? '', primary: (i.ReadReplicaSourceDBInstanceIdentifier ?? '').split(':').pop() ?? '', engine: i.Engine ?? 'postgres' }));
  const primaries = (await aws.rds(o.primary).describeDBInstances({})).DBInstances ?? [];
  const cnames = sets.filter((s) => s.Type === 'CNAME' && !s.SetIdentifier);
  const dbLines: string[] = [];
  const many = pairs.length > 1;
  for (const p of pairs) {
    const endpoint = primaries.find((i) => i.DBInstanceIdentifier === p.primary)?.Endpoint?.Address;
    const writer = cnames.find((c) => endpoint && norm(c.ResourceRecords?.[0]?.Value ?? '') === norm(endpoint));
    const engine = ['postgres', 'mysql', 'mariadb'].includes(p.engine) ? p.engine : 'postgres';
    if (engine !== p.engine) guesses.push(`database ${p.primary}: engine ${p.engine} written as postgres`);
    const writerName = writer ? norm(writer.Name ?? '') : `db.${zone}`;
    if (!writer) guesses.push(`database ${p.primary}: writer record db.${zone} (no CNAME in ${zone} points at ${endpoint ?? 'its endpoint'})`);
    const fields = [
      `engine: ${engine}`,
      `primary: { identifier: ${p.primary} }`,
      `replica: { identifier: ${p.replica} }`,
      'maxReplicaLag: 30s   # GUESSED: the most lag a planned failover accepts',
      `writerRecord: { name: ${writerName} }${writer ? '' : '   # GUESSED: no CNAME in the zone points at the primary'}`,
    ];
    if (many) dbLines.push(`  - name: ${p.primary.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]*/, 'db-').slice(0, 63)}`, ...fields.map((f) => `    ${f}`));
    else dbLines.push(...fields.map((f) => `  ${f}`));
  }
  if (pairs.length > 0) guesses.push('database: maxReplicaLag 30s');

  // EKS: clusters and node groups; a group's current size in the primary is its active size, in the standby its standby size.
  const clusterLines: string[] = [];
  let clusters = 0;
  const sizes = new Map<string, { region: string; cluster: string; group: string; size: number; max?: number }>();
  for (const region of regions) {
    for (const cluster of (await eks(region).listClusters({})).clusters ?? []) {
      const version = (await eks(region).describeCluster({ name: cluster })).cluster?.version ?? '1.31';
      const groups: string[] = [];
      for (const group of (await eks(region).listNodegroups({ clusterName: cluster })).nodegroups ?? []) {
        const ng = (await eks(region).describeNodegroup({ clusterName: cluster, nodegroupName: group })).nodegroup;
        const size = ng?.scalingConfig?.desiredSize ?? 1;
        sizes.set(`${region}/${cluster}/${group}`, { region, cluster, group, size, max: ng?.scalingConfig?.maxSize });
        groups.push(group);
      }
      clusters++;
      clusterLines.push(`    - region: ${region}`, `      name: ${cluster}`, `      version: ${q(version)}`, '      nodeGroups:');
      for (const group of groups) {
        const here = sizes.get(`${region}/${cluster}/${group}`);
        const peer = [...sizes.values()].find((s) => s.region !== region && s.group === group);
        const active = region === o.primary ? (here?.size ?? 1) : Math.max(here?.size ?? 1, peer?.size ?? 1);
        const standby = Math.min(here?.size ?? 1, active);
        const max = Math.max(here?.max ?? active, active);
        clusterLines.push(`        - { name: ${group}, standby: ${standby}, active: ${active}, max: ${max} }   # GUESSED: active and standby sizes from the current sizes`);
      }
    }
  }
  if (clusters > 0) guesses.push('compute: node group active and standby sizes');

  // CloudWatch alarms by prefix, per region.
  let alarms = 0;
  const alarmLines: string[] = [];
  for (const region of regions) {
    const names: string[] = [];
    // Every page (DescribeAlarms pages with NextToken), metric and composite alarms (only metric ones without AlarmTypes).
    for (let token: string | undefined, first = true; o.alarmPrefix && (first || token); first = false) {
      const page = await aws.cloudwatch(region).describeAlarms({ AlarmNamePrefix: o.alarmPrefix, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: token });
      names.push(...[...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])].map((a) => a.AlarmName ?? ''));
      token = page.NextToken;
    }
    alarms += names.length;
    alarmLines.push(`    ${region}: [${names.map(q).join(', ')}]`);
  }

  // The account, from an instance's ARN: the approvers are a guess in it (an incident-commander role's sessions).
  const account = [...instances, ...primaries].map((i) => i.DBInstanceArn?.split(':')[4]).find(Boolean) ?? '111111111111';
  const approver = `arn:aws:sts::${account}:assumed-role/IncidentCommander/*`;
  guesses.push('health.probes: one per region on the first record, path /health', `approvals.approvers: ${approver}`, 'objectives: rto 15m, rpo 1m');
  const firstRecord = records[0]?.replace(/^ {4}- name: (\S+).*$/, '$1') ?? `app.${zone}`;

  lines.push(
    `# A starting runbook for ${o.name}, discovered by drover init (${o.primary} -> ${o.standby}, zone ${zone}).`,
    '# Every "# GUESSED:" line is drover\'s guess: check it. Validate with: drover validate FILE',
    'version: 1',
    `name: ${o.name}`,
    '',
    'regions:',
    `  primary: ${o.primary}`,
    `  standby: ${o.standby}`,
    '',
    'dns:',
    `  hostedZone: ${zone}`,
    '  records:',
    ...records,
    '  shift:',
    '    steps: [10, 50, 100]   # GUESSED: percent on the standby after each step',
    '    soak: 2m               # GUESSED',
    '',
    ...(many ? ['databases:'] : ['database:']),
    ...dbLines,
    '',
    'compute:',
    '  clusters:',
    ...clusterLines,
    '',
    'health:',
    '  alarms:',
    ...alarmLines,
    '  probes:   # GUESSED: point these at a health endpoint served in each region',
    ...regions.map((r) => `    ${r}: [{ name: health, url: ${q(`https://${firstRecord}/health`)} }]`),
    '',
    'approvals:',
    `  approvers: [${q(approver)}]   # GUESSED: who may approve (IAM ARNs or ARN patterns)`,
    '  gates: [failover, failback, cleanup]',
    '',
    'objectives:   # GUESSED',
    '  rto: 15m',
    '  rpo: 1m',
    '',
  );
  const text = lines.join('\n');
  const parsed = parseRunbook(text);
  return { text, guesses, found: { records: records.filter((l) => l.startsWith('    - name:')).length, databases: pairs.length, clusters, alarms }, problems: parsed.ok ? [] : parsed.problems };
}
