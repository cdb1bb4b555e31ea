import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EC2 } from '@aws-sdk/client-ec2';
import { EKS } from '@aws-sdk/client-eks';
import { RDS } from '@aws-sdk/client-rds';
import { Route53, type Change, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { AwsConfig } from '../../aws/clients';
import { databasesOf, writerZone } from '../../runbooks/databases';
import type { Runbook } from '../../runbooks/schema';

export interface SeedAction {
  resource: string;
  action: 'created' | 'updated' | 'unchanged';
}

const norm = (n: string) => n.replace(/\.$/, '').toLowerCase();
const errorName = (e: unknown) => (e as { name?: string }).name ?? '';

// Placeholders for an emulator: moto accepts any well-formed ARN and subnet id.
const ACCOUNT = '123456789012';
const FAKE_ROLE = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/**
 * Create in an emulator everything a runbook references, in its seeded topology: primary at 100,
 * standby at 0, each database's RDS primary with a cross-region replica, clusters at their capacities,
 * alarms as CloudWatch creates them (INSUFFICIENT_DATA until evaluated). Idempotent: what already exists in the intended state is left unchanged.
 */
export async function seedRunbook(rb: Runbook, config: AwsConfig): Promise<SeedAction[]> {
  const actions: SeedAction[] = [];
  const note = (resource: string, action: SeedAction['action']) => actions.push({ resource, action });
  const common = (region: string) => ({ region, endpoint: config.regionEndpoints?.[region] ?? config.endpoint, credentials: config.credentials });
  const { primary, standby } = rb.regions;
  const dbs = databasesOf(rb);
  // Route 53 throttles per account (the fidelity rules do too): the seed slows itself down when throttled, with more attempts.
  const route53 = new Route53({ ...common('us-east-1'), retryMode: 'adaptive', maxAttempts: 6 });

  // Hosted zones.
  const zones = new Map<string, string>();
  const zoneNames = new Set([rb.dns.hostedZone, ...rb.dns.records.map((r) => r.zone ?? rb.dns.hostedZone), ...dbs.map((db) => writerZone(rb, db))]);
  for (const zone of zoneNames) {
    const found = await route53.listHostedZonesByName({ DNSName: zone, MaxItems: 1 });
    const hit = found.HostedZones?.find((z) => norm(z.Name ?? '') === norm(zone));
    if (hit?.Id) {
      zones.set(zone, hit.Id.replace('/hostedzone/', ''));
      note(`route53 zone ${zone}`, 'unchanged');
    } else {
      const created = await route53.createHostedZone({ Name: zone, CallerReference: `drover-seed-${rb.name}-${zone}` });
      zones.set(zone, (created.HostedZone?.Id ?? '').replace('/hostedzone/', ''));
      note(`route53 zone ${zone}`, 'created');
    }
  }

  async function upsert(zone: string, wanted: ResourceRecordSet[]): Promise<void> {
    const id = zones.get(zone) as string;
    const existing: ResourceRecordSet[] = [];
    let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
    for (;;) {
      const page = await route53.listResourceRecordSets({ HostedZoneId: id, ...start });
      existing.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) break;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, StartRecordIdentifier: page.NextRecordIdentifier };
    }
    const changes: Change[] = [];
    for (const w of wanted) {
      const cur = existing.find((e) => norm(e.Name ?? '') === norm(w.Name ?? '') && e.Type === w.Type && (e.SetIdentifier ?? '') === (w.SetIdentifier ?? ''));
      const same =
        cur &&
        cur.Weight === w.Weight &&
        cur.Failover === w.Failover &&
        cur.TTL === w.TTL &&
        norm(cur.ResourceRecords?.[0]?.Value ?? '') === norm(w.ResourceRecords?.[0]?.Value ?? '');
      note(`route53 record ${w.Name} ${w.SetIdentifier ?? ''}`.trim(), same ? 'unchanged' : cur ? 'updated' : 'created');
      if (!same) changes.push({ Action: 'UPSERT', ResourceRecordSet: w });
    }
    if (changes.length > 0) await route53.changeResourceRecordSets({ HostedZoneId: id, ChangeBatch: { Comment: 'drover demo seed', Changes: changes } });
  }

  const byZone = new Map<string, ResourceRecordSet[]>();
  for (const r of rb.dns.records) {
    const zone = r.zone ?? rb.dns.hostedZone;
    for (const region of [primary, standby]) {
      const t = r.targets[region];
      const routing = r.routing === 'weighted' ? { Weight: region === primary ? 100 : 0 } : { Failover: region === primary ? ('PRIMARY' as const) : ('SECONDARY' as const) };
      byZone.set(zone, [...(byZone.get(zone) ?? []), { Name: r.name, Type: r.type, TTL: r.ttl, SetIdentifier: t.setIdentifier, ResourceRecords: [{ Value: t.value }], ...routing }]);
    }
  }
  for (const [zone, sets] of byZone) await upsert(zone, sets);

  // Security groups: each database's own, and the fence groups that admit no clients (each name once).
  const groupDescriptions = new Map<string, string>();
  for (const db of dbs) {
    for (const [name, description] of [
      [db.securityGroupName, `${rb.name} database clients`],
      [db.fence.groupName, `${rb.name} write fence: admits no clients`],
    ] as const) {
      if (name && !groupDescriptions.has(name)) groupDescriptions.set(name, description);
    }
  }
  const groupIds: Record<string, Map<string, string>> = { [primary]: new Map(), [standby]: new Map() };
  for (const region of [primary, standby]) {
    const ec2 = new EC2(common(region));
    for (const [name, description] of groupDescriptions) {
      const found = (await ec2.describeSecurityGroups({ Filters: [{ Name: 'group-name', Values: [name] }] })).SecurityGroups?.[0];
      const id = found?.GroupId ?? (await ec2.createSecurityGroup({ GroupName: name, Description: description })).GroupId ?? '';
      note(`security group ${name} (${region})`, found ? 'unchanged' : 'created');
      groupIds[region].set(name, id);
    }
  }
  const vpcGroups = (region: string, db: (typeof dbs)[number]) => {
    const id = db.securityGroupName ? groupIds[region].get(db.securityGroupName) : undefined;
    return id !== undefined ? { VpcSecurityGroupIds: [id] } : {};
  };

  // Databases: each primary, then a cross-region read replica created from its ARN.
  const rdsPrimary = new RDS(common(primary));
  const rdsStandby = new RDS(common(standby));
  async function describe(rds: RDS, id: string) {
    try {
      return (await rds.describeDBInstances({ DBInstanceIdentifier: id })).DBInstances?.[0];
    } catch (e) {
      if (/DBInstanceNotFound/.test(errorName(e))) return undefined;
      throw e;
    }
  }
  // Each database's writer CNAME, at its primary's endpoint, upserted per zone once the instances exist.
  const writers = new Map<string, ResourceRecordSet[]>();
  for (const db of dbs) {
    let primaryDb = await describe(rdsPrimary, db.primary.identifier);
    if (primaryDb) note(`rds ${db.primary.identifier} (${primary})`, 'unchanged');
    else {
      primaryDb = (
        await rdsPrimary.createDBInstance({
          DBInstanceIdentifier: db.primary.identifier,
          Engine: db.engine,
          // moto 5.2.5 has no default MariaDB version (its create fails with a 500); RDS picks one when none is given.
          ...(db.engine === 'mariadb' ? { EngineVersion: '10.11.9' } : {}),
          DBInstanceClass: db.instanceClass,
          AllocatedStorage: 100,
          MasterUsername: 'drover',
          ManageMasterUserPassword: true,
          BackupRetentionPeriod: 7,
          ...vpcGroups(primary, db),
        })
      ).DBInstance;
      note(`rds ${db.primary.identifier} (${primary})`, 'created');
    }
    const replica = await describe(rdsStandby, db.replica.identifier);
    if (replica) note(`rds replica ${db.replica.identifier} (${standby})`, 'unchanged');
    else {
      await rdsStandby.createDBInstanceReadReplica({
        DBInstanceIdentifier: db.replica.identifier,
        SourceDBInstanceIdentifier: primaryDb?.DBInstanceArn,
        DBInstanceClass: db.instanceClass,
        ...vpcGroups(standby, db),
      });
      note(`rds replica ${db.replica.identifier} (${standby})`, 'created');
    }
    const primaryEndpoint = primaryDb?.Endpoint?.Address ?? `${db.primary.identifier}.${primary}.rds.amazonaws.com`;
    const zone = writerZone(rb, db);
    writers.set(zone, [...(writers.get(zone) ?? []), { Name: db.writerRecord.name, Type: 'CNAME', TTL: db.writerRecord.ttl, ResourceRecords: [{ Value: primaryEndpoint }] }]);
  }
  for (const [zone, sets] of writers) await upsert(zone, sets);

  // A recent ReplicaLag datapoint per replica, as RDS would publish every minute.
  const cwStandby = new CloudWatch(common(standby));
  for (const db of dbs) {
    const dimensions = [{ Name: 'DBInstanceIdentifier', Value: db.replica.identifier }];
    const lag = await cwStandby.getMetricStatistics({
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: dimensions,
      StartTime: new Date(Date.now() - 5 * 60_000),
      EndTime: new Date(Date.now() + 60_000),
      Period: 60,
      Statistics: ['Maximum'],
    });
    if ((lag.Datapoints ?? []).length === 0) {
      await cwStandby.putMetricData({
        Namespace: 'AWS/RDS',
        MetricData: [{ MetricName: 'ReplicaLag', Dimensions: dimensions, Value: 2, Unit: 'Seconds', Timestamp: new Date() }],
      });
      note(`metric ReplicaLag ${db.replica.identifier}`, 'created');
    } else note(`metric ReplicaLag ${db.replica.identifier}`, 'unchanged');
  }

  // Compute: the primary at active capacity, the standby at standby capacity.
  for (const c of rb.compute.clusters) {
    const eks = new EKS(common(c.region));
    const exists = await eks.describeCluster({ name: c.name }).then(
      () => true,
      (e: unknown) => {
        if (errorName(e) === 'ResourceNotFoundException') return false;
        throw e;
      },
    );
    if (!exists) {
      await eks.createCluster({
        name: c.name,
        version: c.version,
        roleArn: FAKE_ROLE(`${c.name}-cluster`),
        resourcesVpcConfig: { subnetIds: [`subnet-${c.region}-a`, `subnet-${c.region}-b`] },
        tags: { 'drover:runbook': rb.name },
      });
    }
    note(`eks cluster ${c.name} (${c.region})`, exists ? 'unchanged' : 'created');
    for (const g of c.nodeGroups) {
      const size = c.region === primary ? g.active : g.standby;
      const ng = await eks.describeNodegroup({ clusterName: c.name, nodegroupName: g.name }).then(
        (o) => o.nodegroup,
        (e: unknown) => {
          if (errorName(e) === 'ResourceNotFoundException') return undefined;
          throw e;
        },
      );
      const scalingConfig = { minSize: size, desiredSize: size, maxSize: Math.max(g.max ?? g.active, size, 1) };
      if (!ng) {
        await eks.createNodegroup({ clusterName: c.name, nodegroupName: g.name, nodeRole: FAKE_ROLE(`${c.name}-nodes`), subnets: [`subnet-${c.region}-a`], scalingConfig });
        note(`eks node group ${c.name}/${g.name}`, 'created');
      } else if (ng.scalingConfig?.desiredSize !== size || ng.scalingConfig?.minSize !== size) {
        await eks.updateNodegroupConfig({ clusterName: c.name, nodegroupName: g.name, scalingConfig });
        note(`eks node group ${c.name}/${g.name}`, 'updated');
      } else note(`eks node group ${c.name}/${g.name}`, 'unchanged');
    }
  }

  // Alarms, as CloudWatch creates them: "the alarm state is immediately set to INSUFFICIENT_DATA" until it is evaluated
  // (API_PutMetricAlarm); nothing publishes their metrics, so they stay there (healthy under the runbook's default
  // insufficientData policy). Their metrics are event counts, so missing data is notBreaching: "for a metric that
  // generates data points only when an error occurs ... you would want to treat missing data as notBreaching"
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html). The state of an
  // existing alarm is left as it is (a test or a demo may have set it).
  for (const [region, names] of Object.entries(rb.health.alarms)) {
    const cw = new CloudWatch(common(region));
    const existing = new Set<string>();
    for (let i = 0; i < names.length; i += 100) {
      let token: string | undefined;
      do {
        const page = await cw.describeAlarms({ AlarmNames: names.slice(i, i + 100), ...(token ? { NextToken: token } : {}) });
        for (const a of page.MetricAlarms ?? []) if (a.AlarmName) existing.add(a.AlarmName);
        token = page.NextToken;
      } while (token);
    }
    for (const name of names) {
      if (!existing.has(name)) {
        await cw.putMetricAlarm({
          AlarmName: name,
          Namespace: 'ApnaKart/Health',
          MetricName: name,
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
      note(`alarm ${name} (${region})`, existing.has(name) ? 'unchanged' : 'created');
    }
  }
  return actions;
}
