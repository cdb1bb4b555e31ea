/**
 * A fault-injection HTTP proxy for AWS endpoints (moto, LocalStack or anything AWS-compatible).
 *
 * It sits between the AWS SDK and the endpoint: point a client's `endpoint` (or drover's
 * `AwsConfig.endpoint` / `regionEndpoints`) at `proxy.endpoint`. Each request is identified by
 * region, service and operation (identify.ts: from the SigV4 credential scope, `X-Amz-Target`, the
 * query protocol's `Action=` or a small REST method+path table), matched against the rules in order,
 * and either forwarded byte for byte or answered with an injected fault in the service's own
 * error format. Every request is logged, so tests can assert on what the SDK retried.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import { requestParams, type FidelityAnswer, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity';

/** The fidelity rules that learn from, or rewrite, the emulator's answer to one request. */
interface AfterRules {
  call: FidelityCall;
  rules: FidelityRule[];
}
import { identify, type RequestInfo } from './identify';

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'status'; status: 500 | 503 }
  | { kind: 'latency'; ms: number }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'error'; code: string; status: number; message?: string };

export interface FaultRule {
  id?: string;
  /** Exact region from the credential scope (e.g. `ap-south-1`); omitted matches every region. */
  region?: string;
  /** Service: the signing name (`rds`, `monitoring`, `route53`, `eks`, `ec2`) or `cloudwatch`; omitted matches all. */
  service?: string;
  /** Operation name as in the API reference (`DescribeDBInstances`); omitted matches all. */
  operation?: string;
  /** Chance (0..1) that a matching request is faulted, drawn from the proxy's seeded PRNG; default 1. */
  probability?: number;
  /** How many requests this rule faults before it stops matching; default unlimited. */
  count?: number;
  fault: Fault;
}

export interface ProxyLogEntry {
  /** Epoch ms the request arrived. */
  at: number;
  region: string;
  service: string;
  operation: string;
  /**
   * What was injected (`throttle`, `status:503`, `latency:200`, `reset`, `blackhole`, `error:AccessDenied`), or
   * the fidelity rule that answered as AWS would (`fidelity:sns-subject`); absent when forwarded untouched.
   */
  injected?: string;
  /** HTTP status sent back to the client (absent for reset and blackhole). */
  status?: number;
  /** Time from arrival until the response head was sent (or the socket ended). */
  ms: number;
  /** Id of the rule that injected, when it has one. */
  rule?: string;
  /**
   * The SDK's id for one call (`amz-sdk-invocation-id`), the same on each of its retries, and which
   * attempt this request is (`amz-sdk-request: attempt=N; max=M`): what says a throttled request was retried.
   */
  invocationId?: string;
  attempt?: number;
  maxAttempts?: number;
}

/** The SDK's retry headers of a request: its invocation id and its attempt number out of the maximum. */
function retryHeaders(headers: http.IncomingHttpHeaders): Pick<ProxyLogEntry, 'invocationId' | 'attempt' | 'maxAttempts'> {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const invocationId = one(headers['amz-sdk-invocation-id']);
  const m = /attempt=(\d+);\s*max=(\d+)/.exec(one(headers['amz-sdk-request']) ?? '');
  return { ...(invocationId ? { invocationId } : {}), ...(m ? { attempt: Number(m[1]), maxAttempts: Number(m[2]) } : {}) };
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: use as the SDK client's endpoint. */
  endpoint: string;
  setRules(rules: FaultRule[]): void;
  addRule(r: FaultRule): void;
  clearRules(): void;
  log(): ProxyLogEntry[];
  clearLog(): void;
  stop(): Promise<void>;
}

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same fault sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// JSON services whose SDK clients are "awsQueryCompatible" and read the error code from x-amzn-query-error.
const QUERY_COMPATIBLE = new Set(['monitoring', 'cloudwatch', 'sqs']);

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

interface ErrorSpec {
  status: number;
  code: string;
  message: string;
}

/** What a fault answers with, by protocol: AWS uses different codes for the same failure. */
function errorFor(fault: Fault, info: RequestInfo): ErrorSpec | undefined {
  const restJson = info.protocol === 'rest-json';
  switch (fault.kind) {
    case 'throttle':
      if (restJson) return { status: 429, code: 'TooManyRequestsException', message: 'Too many requests (injected by drover fault proxy)' };
      if (info.protocol === 'ec2') return { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded (injected by drover fault proxy)' };
      if (info.protocol === 'json' && !QUERY_COMPATIBLE.has(info.signingName)) return { status: 400, code: 'ThrottlingException', message: 'Rate exceeded (injected by drover fault proxy)' };
      return { status: 400, code: 'Throttling', message: 'Rate exceeded (injected by drover fault proxy)' };
    case 'status':
      if (fault.status === 503) return { status: 503, code: restJson ? 'ServiceUnavailableException' : info.protocol === 'ec2' ? 'Unavailable' : 'ServiceUnavailable', message: 'Service unavailable (injected by drover fault proxy)' };
      return { status: fault.status, code: restJson ? 'ServerException' : info.protocol === 'ec2' ? 'InternalError' : 'InternalFailure', message: 'Internal failure (injected by drover fault proxy)' };
    case 'error':
      return { status: fault.status, code: fault.code, message: fault.message ?? `${fault.code} (injected by drover fault proxy)` };
    default:
      return undefined;
  }
}

/** Write an AWS error in the service's own wire format. */
function sendError(res: http.ServerResponse, info: RequestInfo, err: ErrorSpec): void {
  const requestId = randomUUID();
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
  let body: string;
  switch (info.protocol) {
    case 'json': {
      // JSON 1.0 services report only the shape name; query-compatible ones also send the query error code.
      body = JSON.stringify({ __type: err.code, message: err.message });
      headers['content-type'] = info.jsonContentType;
      if (QUERY_COMPATIBLE.has(info.signingName)) headers['x-amzn-query-error'] = `${err.code};${type}`;
      break;
    }
    case 'rest-json':
      body = JSON.stringify({ message: err.message });
      headers['content-type'] = 'application/json';
      headers['x-amzn-errortype'] = err.code;
      break;
    case 'ec2':
      body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
      headers['content-type'] = 'text/xml';
      break;
    default: {
      if (info.signingName === 's3') {
        // S3's own error document: an <Error> root, and its request id in x-amz-request-id.
        body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
        headers['x-amz-request-id'] = requestId;
        headers['content-type'] = 'application/xml';
        break;
      }
      // Route 53's errors are an <ErrorResponse>, as the query protocols' are.
      const xmlns = info.signingName === 'route53' ? ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' : '';
      body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse${xmlns}><Error><Type>${type}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      headers['content-type'] = 'text/xml';
    }
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(err.status, headers);
  res.end(body);
}

function describe(fault: Fault): string {
  switch (fault.kind) {
    case 'status':
      return `status:${fault.status}`;
    case 'latency':
      return `latency:${fault.ms}`;
    case 'error':
      return `error:${fault.code}`;
    default:
      return fault.kind;
  }
}

function matches(rule: FaultRule, info: RequestInfo): boolean {
  if (rule.region !== undefined && rule.region !== info.region) return false;
  if (rule.service !== undefined && rule.service !== info.service && rule.service !== info.signingName) return false;
  if (rule.operation !== undefined && rule.operation !== info.operation) return false;
  return true;
}

/**
 * The control planes AWS hosts in us-east-1 whatever region a client names: Route 53's and IAM's (AWS Fault Isolation
 * Boundaries, "Global services"). A client whose endpoint is overridden signs them for its own region, so they are
 * matched by service. STS's global endpoint is in us-east-1 too, but it is signed for us-east-1: the region's rule holds it.
 */
const US_EAST_1_CONTROL_PLANES: readonly string[] = ['route53', 'iam'];

/**
 * The loss of a whole region: every request signed for `region` is blackholed (accepted, never answered, as an
 * unreachable endpoint is, so clients time out). Losing us-east-1 also loses the control planes hosted there, Route 53
 * and IAM, whatever region a request is signed for; a regional STS endpoint elsewhere still answers.
 */
export function regionLoss(region: string): FaultRule[] {
  const id = `region-loss:${region}`;
  const rules: FaultRule[] = [{ id, region, fault: { kind: 'blackhole' } }];
  if (region === 'us-east-1') for (const service of US_EAST_1_CONTROL_PLANES) rules.push({ id, service, fault: { kind: 'blackhole' } });
  return rules;
}

/**
 * The requests addressed to `region`, blackholed ones included (what a test counts to show nothing reached a lost
 * region); for us-east-1, the calls to the control planes hosted there too, whatever region they were signed for.
 */
export function callsTo(log: readonly ProxyLogEntry[], region: string): ProxyLogEntry[] {
  return log.filter((e) => e.region === region || (region === 'us-east-1' && US_EAST_1_CONTROL_PLANES.includes(e.service)));
}

// Hop-by-hop headers: they describe one connection, never the message.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/**
 * Start the proxy on 127.0.0.1 (a free port unless `port` is given) in front of `target`. `fidelity` rules
 * (fidelity.ts) answer as AWS does where the target would not; injected faults come first.
 */
export async function startFaultProxy(opts: { target: string; port?: number; seed?: number; fidelity?: readonly FidelityRule[] }): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const random = mulberry32(opts.seed ?? 0x5eed);
  const fidelityState: FidelityState = new Map();
  let rules: Array<{ rule: FaultRule; remaining: number }> = [];
  let entries: ProxyLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const compile = (r: FaultRule) => ({ rule: { ...r, fault: { ...r.fault } }, remaining: r.count ?? Infinity });

  function choose(info: RequestInfo): FaultRule | undefined {
    for (const entry of rules) {
      if (entry.remaining <= 0 || !matches(entry.rule, info)) continue;
      // Roll only for rules with a probability, so adding a certain rule never shifts the sequence.
      if (entry.rule.probability !== undefined && !(random() < entry.rule.probability)) continue;
      entry.remaining -= 1;
      return entry.rule;
    }
    return undefined;
  }

  /** What `method path` answers on the target, with `req`'s headers (the emulator does not check signatures). */
  function probe(req: http.IncomingMessage, method: string, path: string): Promise<number> {
    return new Promise((resolve) => {
      const r = transport.request(
        { protocol: target.protocol, hostname: target.hostname, port: target.port || (target.protocol === 'https:' ? 443 : 80), method, path, headers: { ...withoutHopByHop(req.headers), 'content-length': '0' }, agent, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
          res.on('aborted', () => resolve(0));
        },
      );
      // A target that does not answer is one whose answer the rule cannot use: 0, and the request goes on.
      r.on('timeout', () => r.destroy(new Error('probe timed out')));
      r.on('error', () => resolve(0));
      r.end();
    });
  }

  /**
   * The fidelity rules for this request: the first that answers it as AWS would (`answered`), else those that
   * learn from or rewrite the emulator's answer (`after`).
   */
  async function fidelity(req: http.IncomingMessage, body: Buffer, info: RequestInfo): Promise<{ answered?: { rule: string; answer: FidelityAnswer }; after?: AfterRules }> {
    const candidates = (opts.fidelity ?? []).filter((r) => (r.service === info.service || r.service === info.signingName) && (r.operations === '*' || r.operations.includes(info.operation)));
    if (candidates.length === 0) return {};
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    let path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    const call: FidelityCall = { info, method: req.method ?? 'GET', path, headers: req.headers, body, param: requestParams(info, req.headers, rawUrl, body), probe: (m: string, p: string) => probe(req, m, p) };
    for (const r of candidates) {
      const answer = await r.refuse?.(call, fidelityState);
      if (answer) return { answered: { rule: r.id, answer } };
    }
    const rules = candidates.filter((r) => r.observe || r.rewrite);
    return rules.length ? { after: { call, rules } } : {};
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, entry: ProxyLogEntry, started: number, after?: AfterRules): void {
    const upstream = transport.request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port || (target.protocol === 'https:' ? 443 : 80),
        method: req.method,
        path: req.url,
        // Same headers, Host included: the SDK signed them (moto does not verify signatures by default).
        headers: { ...withoutHopByHop(req.headers), 'content-length': String(body.length) },
        agent,
      },
      (up) => {
        entry.status = up.statusCode;
        entry.ms = performance.now() - started;
        const ok = (up.statusCode ?? 0) >= 200 && (up.statusCode ?? 0) < 300;
        if (!after || !ok) {
          res.writeHead(up.statusCode ?? 502, up.statusMessage, withoutHopByHop(up.headers));
          up.pipe(res);
          up.on('error', () => res.destroy());
          return;
        }
        // The emulator accepted it: the rules learn from it and may rewrite its answer, so the answer is read whole first.
        const chunks: Uint8Array[] = [];
        up.on('data', (c: Uint8Array) => chunks.push(c));
        up.on('error', () => res.destroy());
        up.on('end', () => {
          const original = Buffer.concat(chunks);
          let out = original;
          try {
            let text = original.toString('utf8');
            for (const r of after.rules) {
              r.observe?.(after.call, fidelityState);
              if (r.rewrite) text = r.rewrite(after.call, text, fidelityState);
            }
            out = Buffer.from(text, 'utf8');
          } catch {
            // A rule that failed leaves the emulator's answer as it was (and never takes the proxy's process down).
            out = original;
          }
          res.writeHead(up.statusCode ?? 200, up.statusMessage, { ...withoutHopByHop(up.headers), 'content-length': String(out.length) });
          res.end(out);
        });
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      entry.status = 502;
      entry.ms = performance.now() - started;
      const msg = `drover fault proxy: upstream ${opts.target} failed: ${err.message}`;
      res.writeHead(502, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(msg)) });
      res.end(msg);
    });
    // A client that gives up mid-request should not leave the upstream request dangling.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }

  /** Past the injected faults: a fidelity rule answers as AWS would, or the request goes to the target (its answer seen by the rules). */
  function pass(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, info: RequestInfo, entry: ProxyLogEntry, started: number): void {
    void fidelity(req, body, info)
      .then(({ answered, after }) => {
        // A client that gave up while the rules looked (a probe of the target) must not have its request sent after all.
        if (req.socket.destroyed) return;
        if (!answered) {
          forward(req, res, body, entry, started, after);
          return;
        }
        const { answer } = answered;
        entry.injected = `fidelity:${answered.rule}`;
        entry.status = answer.status;
        entry.ms = performance.now() - started;
        if ('ok' in answer) {
          const out = answer.body ?? '';
          res.writeHead(answer.status, { ...answer.headers, 'x-amzn-requestid': randomUUID(), 'content-length': String(Buffer.byteLength(out)) });
          res.end(out);
        } else sendError(res, info, answer);
      })
      .catch(() => {
        // A rule that failed (a bug, or an answer Node.js refused to write) never leaves the client waiting.
        if (!res.headersSent) sendError(res, info, { status: 500, code: 'InternalFailure', message: 'drover fault proxy: a fidelity rule failed' });
        else res.destroy();
      });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const started = performance.now();
    const info = identify(req, body);
    const rule = choose(info);
    const entry: ProxyLogEntry = { at: Date.now(), region: info.region, service: info.service, operation: info.operation, ms: 0, ...retryHeaders(req.headers) };
    entries.push(entry);
    if (!rule) {
      pass(req, res, body, info, entry, started);
      return;
    }
    const fault = rule.fault;
    entry.injected = describe(fault);
    if (rule.id !== undefined) entry.rule = rule.id;
    switch (fault.kind) {
      case 'latency': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.socket.destroyed) pass(req, res, body, info, entry, started);
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'reset':
        entry.ms = performance.now() - started;
        // A TCP RST, as a load balancer or a dying host would send.
        req.socket.resetAndDestroy();
        return;
      case 'blackhole':
        // Accept and never answer: the client times out on its own. stop() releases the socket.
        req.socket.once('close', () => {
          entry.ms = performance.now() - started;
        });
        return;
      default: {
        const err = errorFor(fault, info);
        if (!err) return;
        entry.status = err.status;
        entry.ms = performance.now() - started;
        sendError(res, info, err);
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on('data', (c: Uint8Array) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
    req.on('error', () => res.destroy());
  });
  // Never time out held (blackholed) requests on the server side: the client decides when to give up.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('connection', (socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A reset socket may report errors the server would otherwise rethrow.
    socket.on('error', () => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    setRules(next) {
      rules = next.map(compile);
    },
    addRule(r) {
      rules.push(compile(r));
    },
    clearRules() {
      rules = [];
    },
    log() {
      return entries.map((e) => ({ ...e }));
    },
    clearLog() {
      entries = [];
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
