/**
 * A recording, holding HTTP tap for the chaos suite, between the worker and the fault proxy.
 *
 * It identifies each AWS request (with the fault proxy's own `identify`), keeps a short description
 * of what it changes (the identifier, the scaling config, the change batch), and can hold exactly one
 * matching request, either before it is forwarded (the call never lands) or after the upstream
 * answered (the call landed, the caller never hears back). A held request whose caller dies (the worker
 * was SIGKILLed) is dropped. The tap's log says which requests reached the emulator.
 */
import http from 'node:http';
import type net from 'node:net';
import { identify } from '../../infra/faults/identify';

export interface TapEntry {
  seq: number;
  at: number;
  region: string;
  service: string;
  operation: string;
  /** What the call acts on / sets: identifier, node group and size, change batch, ... */
  detail: string;
  /** The request was sent on to the emulator (through the fault proxy). */
  forwarded: boolean;
  /** The upstream's HTTP status, once it answered. */
  status?: number;
  /** The caller received the answer. */
  delivered: boolean;
  /** Set when this request was the held one. */
  held?: 'request' | 'response';
}

export interface HoldSpec {
  /** What the hold is for (kill point label). */
  label: string;
  /** 'request': hold before forwarding (never lands); 'response': forward, hold the answer. */
  mode: 'request' | 'response';
  match(e: TapEntry, history: TapEntry[]): boolean;
  /** Hold this many matching requests (default 1); the hold resolves once all are held. */
  count?: number;
}

export interface Held {
  /** The first request held. */
  entry: TapEntry;
  /** Every request held, in arrival order. */
  entries: TapEntry[];
}

export interface Tap {
  endpoint: string;
  log(): TapEntry[];
  /** Arm a one-shot hold; resolves when `count` (default 1) matching requests are being held. */
  hold(spec: HoldSpec): Promise<Held>;
  /** Cancel an armed hold that did not trigger. */
  disarm(): void;
  /**
   * Single-step mode: requests queue instead of being forwarded until release() lets them go one at a
   * time. Turning it off releases everything queued.
   */
  setStepping(on: boolean): void;
  /** Forward the oldest queued request if it arrived before `arrivedBefore` (epoch ms); false if none did. */
  release(arrivedBefore: number): boolean;
  stop(): Promise<void>;
}

function detailOf(operation: string, method: string, url: string, body: Buffer): string {
  const text = body.toString('utf8');
  const pathname = url.split('?')[0];
  if (text.includes('Action=')) {
    const p = new URLSearchParams(text);
    const keep: string[] = [];
    for (const [k, v] of p) {
      if (k === 'Action' || k === 'Version') continue;
      // Timestamps in tag values differ on every attempt; they are not what the call changes.
      if (/^Tags\.member\.\d+\.Value$/.test(k) && /^\d{4}-\d\d-\d\dT/.test(v)) continue;
      if (/^(MetricData|StartTime|EndTime)/.test(k)) continue;
      keep.push(`${k}=${v}`);
    }
    return keep.join('&');
  }
  if (pathname.includes('/rrset') && method === 'POST') {
    // Route 53 change batch: the zone, the comment and each change, without whitespace.
    return `${pathname} ${text.replace(/<\?xml[^>]*>/, '').replace(/\s+/g, '').replace(/xmlns="[^"]*"/g, '')}`;
  }
  if (method === 'POST' && text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      delete json.clientRequestToken;
      return `${pathname} ${JSON.stringify(json)}`;
    } catch {
      return `${pathname} ${text}`;
    }
  }
  return `${method} ${pathname}${operation === 'unknown' ? ` ${text.slice(0, 200)}` : ''}`;
}

export async function startTap(opts: { target: string }): Promise<Tap> {
  const target = new URL(opts.target);
  const agent = new http.Agent({ keepAlive: true });
  const entries: TapEntry[] = [];
  const sockets = new Set<net.Socket>();
  let seq = 0;
  let armed: { spec: HoldSpec; resolve: (h: Held) => void; held: TapEntry[] } | undefined;
  let stepping = false;
  const queue: Array<{ at: number; go: () => void }> = [];

  function forward(req: http.IncomingMessage, body: Buffer, onResponse: (status: number, headers: http.OutgoingHttpHeaders, data: Buffer) => void, onError: (e: Error) => void): http.ClientRequest {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers.connection;
    delete headers['transfer-encoding'];
    const up = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on('data', (c: Uint8Array) => chunks.push(c));
      res.on('end', () => {
        const h = { ...res.headers };
        delete h.connection;
        delete h['transfer-encoding'];
        onResponse(res.statusCode ?? 502, h, Buffer.concat(chunks));
      });
      res.on('error', onError);
    });
    up.on('error', onError);
    up.end(body);
    return up;
  }

  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on('data', (c: Uint8Array) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const info = identify(req, body);
      const entry: TapEntry = {
        seq: ++seq,
        at: Date.now(),
        region: info.region,
        service: info.service,
        operation: info.operation,
        detail: detailOf(info.operation, req.method ?? 'GET', req.url ?? '/', body),
        forwarded: false,
        delivered: false,
      };
      let hold: HoldSpec | undefined;
      if (armed && armed.spec.match(entry, entries)) {
        hold = armed.spec;
        entry.held = hold.mode;
        armed.held.push(entry);
        if (armed.held.length >= (hold.count ?? 1)) {
          const { resolve, held } = armed;
          armed = undefined;
          setImmediate(() => resolve({ entry: held[0], entries: held }));
        }
      }
      entries.push(entry);
      let clientGone = false;
      res.on('close', () => {
        if (!res.writableFinished) clientGone = true;
      });
      const send = (status: number, headers: http.OutgoingHttpHeaders, data: Buffer) => {
        if (clientGone || res.destroyed) return;
        res.writeHead(status, { ...headers, 'content-length': String(data.length) });
        res.end(data, () => (entry.delivered = true));
      };
      const fail = (e: Error) => {
        if (clientGone || res.destroyed) return;
        const msg = `chaos tap: upstream failed: ${e.message}`;
        res.writeHead(502, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(msg)) });
        res.end(msg);
      };
      if (hold?.mode === 'request') return; // never forwarded; dropped when the caller dies
      const go = () => {
        if (clientGone || res.destroyed) return; // the caller died while the request was queued
        entry.forwarded = true;
        forward(
        req,
        body,
        (status, headers, data) => {
          entry.status = status;
          if (hold?.mode === 'response') return; // landed; the caller never hears back
          send(status, headers, data);
        },
        fail,
      );
      };
      if (stepping) queue.push({ at: entry.at, go });
      else go();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log: () => entries.map((e) => ({ ...e })),
    hold: (spec) =>
      new Promise<Held>((resolve) => {
        if (armed) throw new Error(`a hold (${armed.spec.label}) is already armed`);
        armed = { spec, resolve, held: [] };
      }),
    disarm: () => {
      armed = undefined;
    },
    setStepping: (on) => {
      stepping = on;
      if (!on) for (const q of queue.splice(0)) q.go();
    },
    release: (arrivedBefore) => {
      if (queue.length === 0 || queue[0].at >= arrivedBefore) return false;
      queue.shift()?.go();
      return true;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
