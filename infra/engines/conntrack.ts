import net from 'node:net';

// A TCP proxy in front of a test database that behaves like an RDS instance's security groups under a fence.
//
// AWS ("Security group connection tracking", Amazon EC2 User Guide): a security group is stateful, and a flow it has
// tracked is not interrupted when the rules that admitted it are removed; only new connections meet the new rules.
// drover's fence replaces the instance's groups with a fence group that admits only the worker's own group, so:
// - an application's connection opened before the fence keeps flowing (which is why drover must also end sessions on
//   the engine, activities/engines.ts);
// - a new connection from the application is refused;
// - a new connection from drover's worker is admitted.
// Here the source address stands in for the security group: the tests' application clients connect from 127.0.0.5
// (APP_SOURCE, a loopback address Linux accepts as a local address), drover's worker from 127.0.0.1 (WORKER_SOURCE).
// One difference, for speed: AWS drops a refused SYN silently (the client times out); this proxy resets the connection.

/** The source address of the tests' application clients: refused while fenced. */
export const APP_SOURCE = '127.0.0.5';
/** The source address of drover's worker (the default for any loopback client): admitted by the fence. */
export const WORKER_SOURCE = '127.0.0.1';

export interface ConntrackTarget {
  host: string;
  port: number;
}

export interface ConntrackProxy {
  /** Where clients connect: 127.0.0.1 on a free port. */
  host: string;
  port: number;
  /**
   * Apply the fence security group: new connections from sources not in allowedSources are refused (reset), while
   * connections already open keep flowing, as AWS's connection tracking keeps tracked flows after a group change.
   */
  fence(): void;
  unfence(): void;
  readonly fenced: boolean;
  /** Point at a new target (e.g. the server restarted on another port); existing flows are left alone. */
  retarget(t: ConntrackTarget): void;
  /** Connections open now, and refused so far. */
  stats(): { open: number; refused: number };
  close(): Promise<void>;
}

export interface ConntrackOptions {
  /** Sources admitted while fenced; default [WORKER_SOURCE]. */
  allowedSources?: string[];
}

export async function startConntrackProxy(target: ConntrackTarget, opts: ConntrackOptions = {}): Promise<ConntrackProxy> {
  const allowed = new Set((opts.allowedSources ?? [WORKER_SOURCE]).map(plainAddress));
  let current = { ...target };
  let fenced = false;
  let refused = 0;
  const flows = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const source = plainAddress(client.remoteAddress ?? '');
    if (fenced && !allowed.has(source)) {
      refused++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: current.host, port: current.port });
    flows.add(client);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side's end or failure ends the flow; a server that went away (a restart, a kill) resets the client.
    const end = (err?: Error) => {
      flows.delete(client);
      if (err) {
        if (!client.destroyed) client.resetAndDestroy();
        upstream.destroy();
      }
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => {
      flows.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      flows.delete(client);
      client.end();
      // A client that never half-closes back must not keep the flow open.
      setTimeout(() => client.destroy(), 1_000).unref();
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, WORKER_SOURCE, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host: WORKER_SOURCE,
    port,
    fence() {
      fenced = true;
    },
    unfence() {
      fenced = false;
    },
    get fenced() {
      return fenced;
    },
    retarget(t) {
      current = { ...t };
    },
    stats() {
      return { open: flows.size, refused };
    },
    async close() {
      for (const c of flows) c.destroy();
      flows.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** 127.0.0.5, whether Node reports it plainly or IPv4-mapped (::ffff:127.0.0.5). */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
}

/**
 * A `stream` option for pg's Client and mysql2's createConnection that connects to `target` from `source` (default
 * APP_SOURCE, an application client). Both libraries accept a function returning a socket; pg then calls
 * `connect(port, host)` itself, which cannot carry a local address, so the socket returned is already connecting to
 * `target` and that call is absorbed (pg's own host and port are not used).
 */
export function appStream(target: ConntrackTarget, source = APP_SOURCE): () => net.Socket {
  return () => {
    const socket = net.connect({ host: target.host, port: target.port, localAddress: source });
    // pg waits for 'connect' after calling connect(); the socket emits it once this connection is made.
    socket.connect = (() => socket) as typeof socket.connect;
    return socket;
  };
}
