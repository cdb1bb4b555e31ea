import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';
import { splitAddress } from '../config/temporal';

/**
 * The worker's health endpoint, for a kubelet's probes (deploy/helm/drover):
 * - `GET /livez`: 200 while no worker of the process has failed (a failed worker never recovers: restart the pod);
 * - `GET /readyz`: 200 only while every worker polls its task queue (state RUNNING): 503 before they start, while
 *   they drain on SIGTERM, and after they stop, so a rolling update sends no new work to a pod on its way out.
 * Both answer a small JSON body naming each task queue's state; nothing else is served.
 */
export interface HealthTarget {
  /** Each worker's task queue and current state. */
  states(): Array<{ taskQueue: string; state: State }>;
}

export interface HealthServer {
  address: string;
  close(): Promise<void>;
}

/** `host:port` (`0.0.0.0:8080`, `127.0.0.1:0`, `[::]:8080`), or a problem naming DROVER_HEALTH_ADDRESS. */
export function parseHealthAddress(raw: string): { host: string; port: number } | { problem: string } {
  const { host, port } = splitAddress(raw);
  if (!host || port === undefined || port > 65535) return { problem: `DROVER_HEALTH_ADDRESS: expected host:port ([::]:8080, 0.0.0.0:8080), got "${raw}"` };
  return { host, port };
}

export async function startHealthServer(target: HealthTarget, at: { host: string; port: number }): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const states = target.states();
    const path = (req.url ?? '').split('?')[0];
    const live = states.every((s) => s.state !== 'FAILED');
    const ready = states.length > 0 && states.every((s) => s.state === 'RUNNING');
    const answer = (ok: boolean) => {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? (ok ? 200 : 503) : 405, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify({ ok, workers: states })}\n`);
    };
    if (path === '/livez') return answer(live);
    if (path === '/readyz') return answer(live && ready);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: /livez or /readyz\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  server.unref();
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
