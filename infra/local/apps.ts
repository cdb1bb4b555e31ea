import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
