import http from 'node:http';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import type { AddressInfo } from 'node:net';
import { databasesOf, dbIn } from '../../runbooks/databases';
import type { Runbook } from '../../runbooks/schema';

/** A stand-in for one region's application: answers every path with 200, or 503 when made unhealthy. */
export interface RegionApp {
  region: string;
  baseUrl: string;
  setHealthy(healthy: boolean): void;
}

export interface RegionApps {
  apps: Record<string, RegionApp>;
  stop(): Promise<void>;
}

/** Start one small HTTP app per region on free loopback ports (the demo's and tests' probe targets). */
export async function startRegionApps(regions: string[]): Promise<RegionApps> {
  const servers: http.Server[] = [];
  const apps: Record<string, RegionApp> = {};
  for (const region of regions) {
    let healthy = true;
    const server = http.createServer((req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ region, path: req.url, healthy }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    apps[region] = {
      region,
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      setHealthy: (h) => {
        healthy = h;
      },
    };
  }
  return {
    apps,
    stop: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/** A copy of the runbook whose probes hit the local apps instead (same paths, local origins). */
export function pointProbesAt(rb: Runbook, apps: Record<string, RegionApp>): Runbook {
  const probes = Object.fromEntries(
    Object.entries(rb.health.probes).map(([region, list]) => [
      region,
      list.map((p) => {
        const app = apps[region];
        if (!app) return p;
        const u = new URL(p.url);
        return { ...p, url: `${app.baseUrl}${u.pathname}${u.search}` };
      }),
    ]),
  );
  return { ...rb, health: { ...rb.health, probes } };
}

/** Keys a feeder signs with. */
export interface LagFeederCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Publish ReplicaLag datapoints for a replica every `everyMs`, as RDS does (every 60 s) on real AWS:
 * the emulator has no replication, so the demo and tests stand in for RDS's metric.
 */
export function startLagFeeder(opts: { endpoint: string; region: string; identifier: () => string; lagSeconds: () => number; everyMs?: number; credentials?: LagFeederCredentials }): { stop(): void } {
  const cw = new CloudWatch({ region: opts.region, endpoint: opts.endpoint, credentials: opts.credentials ?? { accessKeyId: 'drover-local', secretAccessKey: 'drover-local' } });
  // One put at a time: a tick while the last is unanswered is skipped, so a slow emulator (or the proxy in front of
  // it) is never handed a queue that only grows.
  let pending = false;
  const put = async () => {
    if (pending) return;
    pending = true;
    try {
      await cw.putMetricData({
        Namespace: 'AWS/RDS',
        MetricData: [{ MetricName: 'ReplicaLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: opts.identifier() }], Value: opts.lagSeconds(), Unit: 'Seconds', Timestamp: new Date() }],
      });
    } catch {
      // The next tick publishes again.
    } finally {
      pending = false;
    }
  };
  void put();
  const timer = setInterval(() => void put(), opts.everyMs ?? 500);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * startLagFeeder for every database of the runbook: in each of `regions` (default: the standby),
 * the ReplicaLag of the database's instance there (the primary's identifier in the primary region,
 * the replica's in the standby, as failover and failback name them). `lagSeconds` is one value for
 * all, or per instance identifier.
 */
export function startLagFeeders(opts: {
  endpoint: string;
  /** Keys to publish with (an emulator with IAM enforcement on needs real ones); default: any key. */
  credentials?: LagFeederCredentials;
  rb: Pick<Runbook, 'regions' | 'database' | 'databases'>;
  regions?: string[];
  lagSeconds: number | ((identifier: string) => number);
  everyMs?: number;
}): { stop(): void } {
  const { endpoint, rb, lagSeconds, everyMs } = opts;
  const feeders = (opts.regions ?? [rb.regions.standby]).flatMap((region) =>
    databasesOf(rb).map((db) => {
      const id = dbIn(rb, db, region);
      return startLagFeeder({ endpoint, region, identifier: () => id, lagSeconds: typeof lagSeconds === 'number' ? () => lagSeconds : () => lagSeconds(id), everyMs, credentials: opts.credentials });
    }),
  );
  return { stop: () => feeders.forEach((f) => f.stop()) };
}
