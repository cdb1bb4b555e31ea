import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';
import { splitAddress } from '../config/temporal';

/**
 * The worker's health and metrics endpoint, for a kubelet's probes (deploy/helm/drover) and Prometheus:
 * - `GET /healthz` (also `/livez`): 200 while no worker of the process has failed (a failed worker never recovers: restart the pod);
 * - `GET /readyz`: 200 only while every worker polls its task queue (state RUNNING): 503 before they start, while
 *   they drain on SIGTERM, and after they stop, so a rolling update sends no new work to a pod on its way out.
 * Both answer a small JSON body naming each task queue's state; nothing else is served.
 */
export interface HealthTarget {
  /** Each worker's task queue and current state. */
  states(): Array<{ taskQueue: string; state: State }>;
  /** `GET /metrics`: the Prometheus text exposition (absent: 404). */
  metrics?(): Promise<string>;
}

export interface HealthServer {
  address: string;
  close(): Promise<void>;
}

/**
 * The process's Prometheus text: drover's metrics (telemetry/metrics.ts), then the Temporal runtime's, read from its
 * own exporter on a loopback port (`coreAt`; cli/worker.ts quietRuntime). The two never share a metric name
 * (drover_*, process_*, nodejs_* against temporal_*). The runtime's part is left out, with a comment saying so, when
 * its exporter does not answer within 2 s: the endpoint still answers with drover's own.
 */
export async function metricsText(registry: { metrics(): Promise<string> }, coreAt?: string): Promise<string> {
  const own = (await registry.metrics()).replace(/\n*$/, '\n');
  if (!coreAt) return own;
  return `${own}${await coreMetrics(coreAt)}`;
}

/** The runtime's text, read at most once a second however often (and however many at once) /metrics is asked. */
let coreRead: { at: number; coreAt: string; text: Promise<string> } | undefined;
function coreMetrics(coreAt: string): Promise<string> {
  if (coreRead && coreRead.coreAt === coreAt && Date.now() - coreRead.at < 1_000) return coreRead.text;
  const text = (async () => {
    try {
      const r = await fetch(`http://${coreAt}/metrics`, { signal: AbortSignal.timeout(2_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return (await r.text()).replace(/\n*$/, '\n');
    } catch (e) {
      return `# the Temporal runtime's metrics are unavailable: ${(e as Error).message.split('\n')[0]}\n`;
    }
  })();
  coreRead = { at: Date.now(), coreAt, text };
  return text;
}

/**
 * A free TCP port on loopback (for the Temporal runtime's exporter, which must be given one). infra/local/stack.ts has
 * the same for the dev stack, but the production worker loads nothing under infra/local/ (test/production-imports.unit.test.ts).
 */
export async function freeLoopbackPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** `host:port` (`0.0.0.0:8080`, `127.0.0.1:0`, `[::]:8080`), or a problem naming DROVER_HEALTH_ADDRESS. */
export function parseHealthAddress(raw: string): { host: string; port: number } | { problem: string } {
  const { host, port } = splitAddress(raw);
  if (!host || port === undefined || port > 65535) return { problem: `DROVER_HEALTH_ADDRESS: expected host:port ([::]:8080, 0.0.0.0:8080), got "${raw}"` };
  return { host, port };
}

export async function startHealthServer(target: HealthTarget, at: { host: string; port: number }): Promise<HealthServer> {
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const states = target.states();
    const path = (req.url ?? '').split('?')[0];
    const live = states.every((s) => s.state !== 'FAILED');
    const ready = states.length > 0 && states.every((s) => s.state === 'RUNNING');
    const answer = (ok: boolean) => {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? (ok ? 200 : 503) : 405, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify({ ok, workers: states })}\n`);
    };
    if (path === '/livez' || path === '/healthz') return answer(live);
    if (path === '/readyz') return answer(live && ready);
    if (path === '/metrics' && target.metrics) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return answer(false);
      try {
        const text = await target.metrics();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics unavailable: ${(e as Error).message}\n`);
      }
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found: /healthz, /livez or /readyz${target.metrics ? ', /metrics' : ''}\n`);
  };
  const server = http.createServer((req, res) => void handle(req, res));
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
