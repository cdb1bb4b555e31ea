/**
 * A pass-through HTTP proxy between a test's worker and moto that can hold one chosen AWS request
 * until the test has done something: set an alarm, break a probe, wait for a drill to be cancelled.
 *
 * It turns "act inside a 1.2 s soak" into an ordering: the request that starts the step (the Route 53
 * change to 50 %, a soak's alarm read) is held, the fault is put in place, and only then does the
 * request reach moto. However slow the machine, the step's soak starts with the fault already there.
 */
import http from 'node:http';
import type net from 'node:net';
import { identify } from '../../infra/faults/identify';

export interface InterposedRequest {
  seq: number;
  region: string;
  service: string;
  operation: string;
  method: string;
  path: string;
  body: string;
  /** The upstream's HTTP status, once it answered. */
  status?: number;
}

export interface Interception {
  /** What the hold is for (in errors). */
  what: string;
  /** Whether this request is the one to hold (may query the workflow; a throw counts as no). The first request that matches is held; later ones pass. */
  match(req: InterposedRequest): boolean | Promise<boolean>;
  /** Done while the request is held; the request is forwarded once it resolves (or dropped if it throws). */
  before(req: InterposedRequest): void | Promise<void>;
}

export interface Armed {
  /** Resolves with the request when it is held (before `before` runs). */
  held: Promise<InterposedRequest>;
  /** Resolves when `before` has finished and the request was sent on to moto; rejects with `before`'s error. */
  released: Promise<InterposedRequest>;
}

export interface Interposer {
  /** Use as the worker's AWS endpoint. */
  endpoint: string;
  /** Arm a one-shot hold (one at a time). */
  intercept(spec: Interception): Armed;
  /** Drop an armed hold that never triggered (a test that failed before its request came). */
  disarm(): void;
  /** Every request seen, in arrival order. */
  log(): InterposedRequest[];
  stop(): Promise<void>;
}

/** Start an interposer on 127.0.0.1 in front of `target` (moto). */
export async function startInterposer(target: string): Promise<Interposer> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const entries: InterposedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let seq = 0;
  let armed: { spec: Interception; held(r: InterposedRequest): void; released(r: InterposedRequest): void; failed(e: unknown): void } | undefined;

  function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, entry: InterposedRequest): void {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers.connection;
    delete headers['transfer-encoding'];
    const up = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      entry.status = answer.statusCode;
      const h = { ...answer.headers };
      delete h.connection;
      delete h['transfer-encoding'];
      res.writeHead(answer.statusCode ?? 502, h);
      answer.pipe(res);
    });
    up.on('error', (e) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`interposer: upstream failed: ${e.message}`);
    });
    up.end(body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const info = identify(req, body);
    const entry: InterposedRequest = { seq: ++seq, region: info.region, service: info.service, operation: info.operation, method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') };
    entries.push(entry);
    const hold = armed;
    // A match that throws (a query to a run not started yet) is no match: the request goes on.
    const matched = hold ? await Promise.resolve(hold.spec.match(entry)).catch(() => false) : false;
    if (hold && matched && armed === hold) {
      armed = undefined; // one-shot: the first match wins, even among concurrent requests
      hold.held(entry);
      try {
        await hold.spec.before(entry);
      } catch (e) {
        hold.failed(e);
        res.destroy();
        return;
      }
      forward(req, res, body, entry);
      hold.released(entry);
      return;
    }
    forward(req, res, body, entry);
  }

  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on('data', (c: Uint8Array) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy());
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    intercept(spec) {
      if (armed) throw new Error(`interposer: a hold (${armed.spec.what}) is already armed`);
      let onHeld!: (r: InterposedRequest) => void;
      let onReleased!: (r: InterposedRequest) => void;
      let onFailed!: (e: unknown) => void;
      const held = new Promise<InterposedRequest>((resolve) => (onHeld = resolve));
      const released = new Promise<InterposedRequest>((resolve, reject) => {
        onReleased = resolve;
        onFailed = reject;
      });
      released.catch(() => undefined); // a caller that awaits only `held` still sees the failure through its test
      armed = { spec, held: onHeld, released: onReleased, failed: onFailed };
      return { held, released };
    },
    disarm: () => {
      armed = undefined;
    },
    log: () => entries.map((e) => ({ ...e })),
    stop: async () => {
      armed = undefined;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
