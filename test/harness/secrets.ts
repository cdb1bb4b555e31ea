/**
 * The "no secrets" scanner: an independent detector, written apart from the product's scrubber
 * (audit/scrub.ts) so that a gap in one is not a gap in both. It looks for credential shapes (AWS
 * access key ids, secret access keys, STS session tokens, SigV4 and hex signatures, passwords in
 * assignments, JSON members and URLs, private keys: PEM blocks and a JWK's `d`, EKS bearer tokens)
 * and, exactly, for every credential the test harness itself minted (`recordHarnessCredential`).
 * Every text is decoded recursively before matching: JSON (inside strings too), base64 and base64url
 * at any key and depth, hex, URL-encoding, byte arrays (`[104,105]`, `{type:'Buffer',data:[...]}`,
 * protobuf bytes), gzip and zip (an OpenTofu plan file).
 *
 * What it scans, and where: workflow histories on a Temporal server (`scanTemporal`), moto's S3
 * objects, SNS notifications and SQS messages (`scanMoto`), and every file under a directory
 * (`scanFiles`: audit trails, OpenTofu state and plan files, reports, logs, anything else). A store it
 * cannot reach is an error, never a silent skip. Findings name the store, the location and the kind,
 * never the secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { S3 } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';

export type SecretKind =
  | 'access key id'
  | 'secret access key'
  | 'session token'
  | 'SigV4 signature'
  | 'signature'
  | 'password'
  | 'private key'
  | 'bearer token'
  | 'harness credential';

/** One secret found: which store, where in it, what kind, and how it was encoded (`plain`, `json > base64 > json`, ...). */
export interface Finding {
  store: string;
  location: string;
  kind: SecretKind;
  encoding: string;
}

/** What one store held: how many items were scanned (histories, objects, messages, files), and what was found. */
export interface StoreReport {
  store: string;
  items: number;
  unit: string;
  findings: Finding[];
}

/**
 * AWS's published documentation example credentials: not secrets. Tests paste them on purpose (a reason
 * with a key "pasted by mistake" must be redacted from notifications and the trail), and a run's input
 * keeps what was typed. Nothing else is exempt.
 */
export const DOCUMENTATION_EXAMPLES = ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];

// ---------------------------------------------------------------------------------------------
// The harness's own credentials

/** The directory (outside the scanned temporary root) where the harness keeps what it minted and what private servers' scans found. */
export function secretsDir(): string | undefined {
  return process.env.DROVER_TEST_SECRETS_DIR || undefined;
}

const REGISTRY_FILE = 'harness-credentials.jsonl';
/** Shorter values (`x`, `bootstrap`) would match ordinary text; the harness mints none that short. */
const MIN_REGISTERED = 8;

/**
 * Record a credential the harness minted (an access key id, a secret key, a session token, a password),
 * so the scanner looks for it, exactly, in every store and every encoding. A no-op outside a suite
 * run (no DROVER_TEST_SECRETS_DIR: the unit tier has no teardown scan).
 */
export function recordHarnessCredential(value: string, what: string, dir = secretsDir()): void {
  if (!dir || value.length < MIN_REGISTERED) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.appendFileSync(path.join(dir, REGISTRY_FILE), `${JSON.stringify({ what, value })}\n`, { mode: 0o600 });
}

/** Every credential the harness recorded (distinct values). */
export function harnessCredentials(dir = secretsDir()): string[] {
  if (!dir) return [];
  const file = path.join(dir, REGISTRY_FILE);
  if (!fs.existsSync(file)) return [];
  const values = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { value: string }).value);
  return [...new Set(values)];
}

// ---------------------------------------------------------------------------------------------
// Detection (the scanner's own patterns)

/** Values that are not secrets: redaction markers, masks, placeholders of no value. */
const NOT_A_VALUE = /^(?:\[redacted[^\]]*\]?|\*+|null|undefined|true|false|none|<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)$/i;

interface Rule {
  kind: SecretKind;
  pattern: RegExp;
  /** The captured value must pass this (default: any value not NOT_A_VALUE). */
  accept?: (value: string) => boolean;
}

/** 40 base64 characters with upper case, lower case and a digit: the shape of a secret access key (a hex digest has no upper case). */
const mixed = (v: string) => /[A-Z]/.test(v) && /[a-z]/.test(v) && /[0-9]/.test(v);
const isHex = (v: string) => /^[0-9a-fA-F]{32,}$/.test(v);

const RULES: Rule[] = [
  { kind: 'access key id', pattern: /(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])/g },
  { kind: 'secret access key', pattern: /(?<![A-Za-z0-9+/_-])([A-Za-z0-9+/]{40})(?![A-Za-z0-9+/=_-])/g, accept: mixed },
  { kind: 'secret access key', pattern: /(?:secret_?access_?key|secretkey|aws_secret)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]+)/gi },
  { kind: 'session token', pattern: /((?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/=%]{16,})/g },
  { kind: 'session token', pattern: /(?:session_?token|security[-_]?token)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]{16,})/gi },
  { kind: 'SigV4 signature', pattern: /Signature=([0-9a-f]{64})(?![0-9a-f])/gi },
  { kind: 'signature', pattern: /"signature"\s*:\s*"([0-9a-fA-F]{32,})"/gi },
  { kind: 'password', pattern: /(?:passw(?:or)?d|passphrase)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]+)/gi },
  { kind: 'password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*:([^\s@/"'<>]+)@/gi },
  { kind: 'private key', pattern: /(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)/g },
  { kind: 'bearer token', pattern: /(k8s-aws-v1\.[A-Za-z0-9_-]{20,})/g },
];

/** JSON members whose value is a secret, by name (a history's proto or a parsed document). */
function kindOfMember(key: string, value: string): SecretKind | undefined {
  if (NOT_A_VALUE.test(value) || value.length === 0) return undefined;
  if (/passw(?:or)?d$|passphrase$/i.test(key)) return 'password';
  if (/secret_?access_?key$|^secretkey$/i.test(key)) return 'secret access key';
  if (/session_?token$|security[-_]?token$/i.test(key) && value.length >= 16) return 'session token';
  if (/signature$/i.test(key) && isHex(value)) return 'signature';
  if (/private_?key$/i.test(key) && value.length >= 16) return 'private key';
  return undefined;
}

interface Hit {
  kind: SecretKind;
  encoding: string;
}

function withoutExamples(text: string): string {
  let out = text;
  for (const example of DOCUMENTATION_EXAMPLES) if (out.includes(example)) out = out.split(example).join(' ');
  return out;
}

function detect(text: string, via: string[], ctx: Ctx): void {
  const encoding = via.length ? via.join(' > ') : 'plain';
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const value = m[1] ?? m[0];
      if (NOT_A_VALUE.test(value)) continue;
      if (rule.accept && !rule.accept(value)) continue;
      ctx.hits.push({ kind: rule.kind, encoding });
    }
  }
  // A JSON Web Key's private member, in JSON text that holds a key.
  if (/"kty"\s*:/.test(text) && /"d"\s*:\s*"[A-Za-z0-9_-]{16,}"/.test(text)) ctx.hits.push({ kind: 'private key', encoding });
  for (const credential of ctx.registry) if (text.includes(credential)) ctx.hits.push({ kind: 'harness credential', encoding });
}

// ---------------------------------------------------------------------------------------------
// Decoding, recursively

const MAX_DEPTH = 8;
/** Texts longer than this are matched as they are but not decoded further (a whole log, a database file). */
const MAX_DECODE_CHARS = 4_000_000;

interface Ctx {
  registry: string[];
  seen: Set<string>;
  hits: Hit[];
}

/** Bytes as text: UTF-8 when they are text, the printable runs when binary (protobuf, SQLite), unpacked when gzip or zip. */
export function bytesToText(bytes: Uint8Array | Buffer): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) return undefined;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      return bytesToText(zlib.gunzipSync(u8(b)));
    } catch {
      // not gzip after all
    }
  }
  if (b.readUInt32LE(0) === 0x04034b50) {
    const entries = unzip(b);
    if (entries.length) return entries.map((e) => `${e.name}\n${bytesToText(e.data) ?? ''}`).join('\n');
  }
  const utf8 = b.toString('utf8');
  let printable = 0;
  for (const c of b) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127)) printable++;
  if (printable / b.length >= 0.95 && !utf8.includes('\uFFFD')) return utf8;
  const runs = b.toString('latin1').match(/[\x20-\x7e\t\r\n]{8,}/g);
  return runs ? runs.join('\n') : undefined;
}

/** A Buffer's bytes as the Uint8Array some node:zlib typings want. */
function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The entries of a zip archive (stored or deflated), from its central directory. */
export function unzip(b: Buffer): Array<{ name: string; data: Buffer }> {
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 65_557); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return [];
  const out: Array<{ name: string; data: Buffer }> = [];
  let p = b.readUInt32LE(eocd + 16);
  for (let n = b.readUInt16LE(eocd + 10); n > 0 && p + 46 <= b.length && b.readUInt32LE(p) === 0x02014b50; n--) {
    const method = b.readUInt16LE(p + 10);
    const size = b.readUInt32LE(p + 20);
    const nameLength = b.readUInt16LE(p + 28);
    const local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + b.readUInt16LE(p + 30) + b.readUInt16LE(p + 32);
    if (local + 30 > b.length || b.readUInt32LE(local) !== 0x04034b50) continue;
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const raw = b.subarray(start, start + size);
    try {
      if (method === 0) out.push({ name, data: raw });
      else if (method === 8) out.push({ name, data: zlib.inflateRawSync(u8(raw)) });
    } catch {
      // a damaged entry: its bytes are still matched as they are
      out.push({ name, data: raw });
    }
  }
  return out;
}

/** Every JSON document in a text: the whole text, or one per line (JSONL). */
function jsonDocuments(text: string): unknown[] {
  const t = text.trim();
  if (!/^[[{"]/.test(t)) return [];
  try {
    return [JSON.parse(t)];
  } catch {
    // not one document: maybe one per line
  }
  if (!t.includes('\n')) return [];
  const docs: unknown[] = [];
  for (const line of t.split('\n')) {
    const l = line.trim();
    if (!/^[[{]/.test(l)) continue;
    try {
      docs.push(JSON.parse(l));
    } catch {
      // not JSON
    }
  }
  return docs;
}

const isByte = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;

function scanString(s: string, via: string[], depth: number, ctx: Ctx): void {
  if (s.length < 8 || ctx.seen.has(s)) return;
  ctx.seen.add(s);
  const text = withoutExamples(s);
  detect(text, via, ctx);
  if (depth >= MAX_DEPTH || text.length > MAX_DECODE_CHARS) return;
  const next = depth + 1;
  for (const doc of jsonDocuments(text)) walk(doc, [...via, 'json'], next, ctx);
  // JSON printed inside a string, escaped once (`{\"password\":\"...\"}`).
  if (text.includes('\\"')) scanString(text.replace(/\\(["\\/])/g, '$1'), [...via, 'unescaped'], next, ctx);
  if (/%[0-9A-Fa-f]{2}/.test(text)) scanString(text.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), [...via, 'url-encoded'], next, ctx);
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{12,}={0,2}/g)) {
    const run = m[0];
    const url = /[-_]/.test(run);
    if (url && /[+/]/.test(run)) continue;
    const decoded = bytesToText(Buffer.from(run, url ? 'base64url' : 'base64'));
    if (decoded) scanString(decoded, [...via, url ? 'base64url' : 'base64'], next, ctx);
  }
  for (const m of text.matchAll(/(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Fa-f])/g)) {
    const decoded = bytesToText(Buffer.from(m[0], 'hex'));
    if (decoded) scanString(decoded, [...via, 'hex'], next, ctx);
  }
  for (const m of text.matchAll(/\[\s*\d{1,3}(?:\s*,\s*\d{1,3}){5,}\s*\]/g)) {
    const values = (JSON.parse(m[0]) as number[]);
    if (!values.every(isByte)) continue;
    const decoded = bytesToText(Uint8Array.from(values));
    if (decoded) scanString(decoded, [...via, 'byte array'], next, ctx);
  }
  for (const m of text.matchAll(/<Buffer((?: [0-9a-f]{2})+)/g)) {
    const decoded = bytesToText(Buffer.from(m[1].replace(/ /g, ''), 'hex'));
    if (decoded) scanString(decoded, [...via, 'Buffer'], next, ctx);
  }
}

function walk(value: unknown, via: string[], depth: number, ctx: Ctx, key?: string): void {
  if (typeof value === 'string') {
    const kind = key === undefined ? undefined : kindOfMember(key, value);
    if (kind && !DOCUMENTATION_EXAMPLES.includes(value)) ctx.hits.push({ kind, encoding: via.length ? via.join(' > ') : 'plain' });
    scanString(value, via, depth, ctx);
  } else if (value instanceof Uint8Array) {
    const text = bytesToText(value);
    if (text) scanString(text, [...via, 'bytes'], depth + 1, ctx);
  } else if (Array.isArray(value)) {
    if (value.length >= 4 && value.every(isByte)) {
      const text = bytesToText(Uint8Array.from(value as number[]));
      if (text) scanString(text, [...via, 'byte array'], depth + 1, ctx);
      return;
    }
    for (const v of value) walk(v, via, depth, ctx);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // A JSON Web Key with its private member: an EC or RSA private key (RFC 7518 §6.2.2, §6.3.2).
    if (typeof o.kty === 'string' && typeof o.d === 'string' && o.d.length > 0 && !NOT_A_VALUE.test(o.d)) ctx.hits.push({ kind: 'private key', encoding: via.length ? via.join(' > ') : 'plain' });
    for (const [k, v] of Object.entries(o)) walk(v, via, depth, ctx, k);
  }
}

/** The secrets in a text (decoded recursively), by kind and encoding, the documentation examples set aside. */
export function scanText(text: string, registry: string[] = harnessCredentials()): Hit[] {
  const ctx: Ctx = { registry, seen: new Set(), hits: [] };
  scanString(text, [], 0, ctx);
  return unique(ctx.hits);
}

/** The secrets in any value (a history's proto, parsed JSON, bytes), by kind and encoding. */
export function scanValue(value: unknown, registry: string[] = harnessCredentials()): Hit[] {
  const ctx: Ctx = { registry, seen: new Set(), hits: [] };
  walk(value, [], 0, ctx);
  return unique(ctx.hits);
}

/** One hit per kind and encoding: the same secret met twice on one path is one finding. */
function unique(hits: Hit[]): Hit[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const k = `${h.kind}|${h.encoding}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Hits with the first encoding of each kind only, as findings at `location` in `store`. */
function findingsAt(store: string, location: string, hits: Hit[]): Finding[] {
  const byKind = new Map<SecretKind, Hit>();
  for (const h of hits) if (!byKind.has(h.kind)) byKind.set(h.kind, h);
  return [...byKind.values()].map((h) => ({ store, location, kind: h.kind, encoding: h.encoding }));
}

// ---------------------------------------------------------------------------------------------
// Histories

/** Every text in a history event (or any value from a history), decoded: what a reader could recover from it. */
export function historyTexts(value: unknown): string[] {
  const texts: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') {
      texts.push(v);
      for (const doc of jsonDocuments(v)) collect(doc);
      if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0) {
        const decoded = bytesToText(Buffer.from(v, 'base64'));
        if (decoded) collect(decoded);
      }
    } else if (v instanceof Uint8Array) {
      const text = bytesToText(v);
      if (text) collect(text);
    } else if (Array.isArray(v)) v.forEach(collect);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(value);
  return texts;
}

/** The secrets in one history (the proto from `fetchHistory()`, or its JSON form), by event. */
export function scanHistory(history: { events?: unknown[] | null }, registry: string[] = harnessCredentials()): Array<{ eventId: string; kind: SecretKind }> {
  const out: Array<{ eventId: string; kind: SecretKind }> = [];
  for (const event of history.events ?? []) {
    const eventId = String((event as { eventId?: unknown }).eventId ?? '?');
    for (const f of findingsAt('', '', scanValue(event, registry))) out.push({ eventId, kind: f.kind });
  }
  return out;
}

/**
 * Every workflow history in every namespace of the Temporal server at `address` (with `since`, only
 * workflows started since then: an external server holds histories that are not the suite's), scanned.
 * Throws when the server cannot be reached or listed.
 */
export async function scanTemporal(address: string, opts: { since?: Date; registry?: string[]; concurrency?: number; store?: string } = {}): Promise<StoreReport> {
  const store = opts.store ?? `temporal ${address} histories`;
  const registry = opts.registry ?? harnessCredentials();
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5_000 });
  } catch (e) {
    throw new Error(`${store}: cannot reach the server: ${(e as Error).message}`);
  }
  try {
    const namespaces: string[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.listNamespaces({ pageSize: 100, nextPageToken });
      for (const ns of page.namespaces ?? []) if (ns.namespaceInfo?.name && ns.namespaceInfo.name !== 'temporal-system') namespaces.push(ns.namespaceInfo.name);
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    const findings: Finding[] = [];
    let items = 0;
    for (const namespace of namespaces) {
      const client = new Client({ connection, namespace });
      const runs: Array<{ workflowId: string; runId: string }> = [];
      const query = opts.since ? `StartTime >= '${opts.since.toISOString()}'` : undefined;
      for await (const wf of client.workflow.list({ query })) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
      items += runs.length;
      let next = 0;
      const work = async () => {
        while (next < runs.length) {
          const run = runs[next++];
          const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
          for (const event of history.events ?? []) {
            const location = `${namespace}/${run.workflowId} (run ${run.runId}), event ${String(event.eventId ?? '?')}`;
            findings.push(...findingsAt(store, location, scanValue(event, registry)));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, runs.length) }, work));
    }
    return { store, items, unit: 'histories', findings };
  } catch (e) {
    throw new Error(`${store}: cannot list or read the histories: ${(e as Error).message}`);
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// moto: S3 objects, SNS notifications, SQS messages

const INVENTORY_MODELS = ['s3.FakeBucket', 'sns.Topic', 'sns.PlatformEndpoint', 'sqs.Message'].join(',');

interface MotoData {
  s3?: { FakeBucket?: Array<{ name: string; region_name?: string }> };
  sns?: { Topic?: Array<{ arn: string; sent_notifications?: unknown[] }>; PlatformEndpoint?: Array<{ arn?: string; messages?: Record<string, unknown> }> };
  sqs?: { Message?: Array<{ id: string; body?: string; message_attributes?: unknown }>; Queue?: Array<{ name: string; region?: string }> };
}

/**
 * moto's S3 objects (every version), SNS notifications (every message published to a topic or an
 * endpoint) and SQS messages (every message sent, consumed or not), scanned. moto's own inventory
 * (`/moto-api/data.json`) lists them across accounts and regions; object bodies come through the S3 API.
 * Throws when the endpoint cannot be reached or is not moto.
 */
export async function scanMoto(endpoint: string, opts: { registry?: string[] } = {}): Promise<StoreReport[]> {
  const registry = opts.registry ?? harnessCredentials();
  const name = (what: string) => `moto ${endpoint} ${what}`;
  let data: MotoData;
  try {
    // `models` narrows the inventory to what is scanned (test/harness/moto-site/sitecustomize.py; a moto without it lists all).
    const res = await fetch(`${endpoint.replace(/\/$/, '')}/moto-api/data.json?models=${INVENTORY_MODELS}`, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`/moto-api/data.json answered ${res.status}`);
    data = (await res.json()) as MotoData;
  } catch (e) {
    throw new Error(`${name('stores')}: cannot read moto's inventory (is ${endpoint} a running moto?): ${(e as Error).message}`);
  }

  const sns: StoreReport = { store: name('sns notifications'), items: 0, unit: 'notifications', findings: [] };
  for (const topic of data.sns?.Topic ?? []) {
    (topic.sent_notifications ?? []).forEach((n, i) => {
      sns.items++;
      sns.findings.push(...findingsAt(sns.store, `${topic.arn} notification ${i + 1}`, scanValue(n, registry)));
    });
  }
  for (const ep of data.sns?.PlatformEndpoint ?? []) {
    for (const [id, message] of Object.entries(ep.messages ?? {})) {
      sns.items++;
      sns.findings.push(...findingsAt(sns.store, `${ep.arn ?? 'platform endpoint'} message ${id}`, scanValue(message, registry)));
    }
  }

  const sqs: StoreReport = { store: name('sqs messages'), items: 0, unit: 'messages', findings: [] };
  const messages = new Map<string, { body?: string; message_attributes?: unknown }>();
  for (const m of data.sqs?.Message ?? []) messages.set(m.id, m);
  for (const [id, m] of messages) {
    sqs.items++;
    sqs.findings.push(...findingsAt(sqs.store, `message ${id}`, scanValue({ body: m.body, attributes: m.message_attributes }, registry)));
  }

  const s3: StoreReport = { store: name('s3 objects'), items: 0, unit: 'object versions', findings: [] };
  const buckets = new Map<string, string>();
  for (const b of data.s3?.FakeBucket ?? []) buckets.set(b.name, b.region_name && b.region_name !== 'aws' ? b.region_name : 'us-east-1');
  for (const [bucket, region] of buckets) {
    const client = new S3({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' }, maxAttempts: 2 });
    try {
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      do {
        const page = await client.listObjectVersions({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker });
        for (const v of page.Versions ?? []) {
          const object = await client.getObject({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined });
          const bytes = await object.Body?.transformToByteArray();
          s3.items++;
          const location = `s3://${bucket}/${v.Key}${v.VersionId && v.VersionId !== 'null' ? ` (version ${v.VersionId})` : ''}`;
          const hits = scanValue({ key: v.Key, metadata: object.Metadata ?? {} }, registry);
          if (bytes) {
            const text = bytesToText(bytes);
            if (text) hits.push(...scanText(text, registry));
          }
          s3.findings.push(...findingsAt(s3.store, location, hits));
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
    } catch (e) {
      // moto's inventory keeps every bucket ever made, deleted ones too. S3 deletes only an empty bucket
      // (every object version and delete marker gone first: DeleteBucket, Amazon S3 API Reference), so a
      // bucket that no longer exists holds nothing left to leak. Any other error is a store not scanned.
      if ((e as { name?: string }).name === 'NoSuchBucket') continue;
      throw new Error(`${s3.store}: cannot read bucket ${bucket}: ${(e as Error).message}`);
    } finally {
      client.destroy();
    }
  }
  return [s3, sns, sqs];
}

// ---------------------------------------------------------------------------------------------
// Files

/** What a file under the suite's temporary root is, by its name and place. */
export function fileStore(rel: string, head?: Buffer): string {
  const base = path.basename(rel);
  const parts = rel.split(path.sep);
  if (/\.recording\.jsonl$/.test(base)) return 'moto request recordings';
  if (/\.tfplan$/.test(base) || (head && head.length >= 4 && head.readUInt32LE(0) === 0x04034b50 && /plan/i.test(base))) return 'tofu plan files';
  if (/\.tfstate(\.backup)?$/.test(base)) return 'tofu state files';
  if (/\.jsonl$/.test(base) || parts.some((p) => /^audit/.test(p))) return 'audit files';
  if (/\.log$/.test(base)) return 'log files';
  if (/\.(html|csv)$/.test(base) || (/\.json$/.test(base) && parts.some((p) => /report/i.test(p)))) return 'report files';
  return 'other files';
}

export const FILE_STORES = ['audit files', 'tofu state files', 'tofu plan files', 'report files', 'log files', 'moto request recordings', 'other files'];

/**
 * The placeholder keys drover and the harness sign emulator requests with when no credentials are
 * configured (aws/clients.ts `drover-local`, test/harness/fixtures.ts `drover-test`): public, in the source.
 */
const EMULATOR_PLACEHOLDER_KEYS = new Set(['drover-local', 'drover-test']);

/**
 * One request of moto's recorder (MOTO_ENABLE_RECORDING, `<log>.recording.jsonl`): what a client sent to
 * the emulator, scanned as method, URL, headers and body (decoded). The Authorization header is left out
 * only when it is signed with a placeholder key above (every request to the emulator carries a SigV4
 * signature by construction); one signed with any other key (a key the auth-enabled moto minted, a real
 * key) is scanned like the rest.
 */
function recordedRequest(line: string): unknown {
  const entry = JSON.parse(line) as { method?: string; url?: string; headers?: Record<string, string>; body?: string; body_encoded?: boolean };
  const placeholderSigned = (value: string) => EMULATOR_PLACEHOLDER_KEYS.has(/Credential=([^/,\s]+)\//.exec(value)?.[1] ?? '');
  const headers = Object.fromEntries(Object.entries(entry.headers ?? {}).filter(([k, v]) => k.toLowerCase() !== 'authorization' || !placeholderSigned(String(v))));
  const body = entry.body_encoded && typeof entry.body === 'string' ? Buffer.from(entry.body, 'base64').toString('utf8') : entry.body;
  return { method: entry.method, url: entry.url, headers, body };
}

/**
 * tsx's transpile cache (`$TMPDIR/tsx-<uid>`, written by every `bin/drover` the suite spawns): the
 * project's own source compiled, with its test fixtures and the scrubber's documented examples. No run
 * writes to it, so nothing a run handled can leak there; scanning it would only find the source.
 */
const COMPILED_SOURCE_CACHE = /^os-tmp[\\/]tsx-\d+$/;

/** Files this large are matched in slices as they are, not decoded (a binary someone built under the root). */
const MAX_DECODED_FILE = 64 * 1024 * 1024;
const SLICE = 8 * 1024 * 1024;

/**
 * Every regular file under `root` (symbolic links are not followed: what they point at is outside),
 * decoded and scanned, reported by kind of store. JSONL files are scanned line by line, so a finding
 * names its line. Throws when `root` cannot be read.
 */
export function scanFiles(root: string, opts: { registry?: string[]; label?: string } = {}): StoreReport[] {
  const registry = opts.registry ?? harnessCredentials();
  const label = opts.label ?? 'files';
  const reports = new Map<string, StoreReport>(FILE_STORES.map((s) => [s, { store: `${label} ${s}`, items: 0, unit: 'files', findings: [] }]));
  if (!fs.existsSync(root)) return [...reports.values()];
  const walkDir = (dir: string): void => {
    // In name order, so findings come out in the same order on every file system.
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory() && COMPILED_SOURCE_CACHE.test(path.relative(root, file))) continue;
      if (entry.isDirectory()) walkDir(file);
      else if (entry.isFile()) scanFile(file);
    }
  };
  const scanFile = (file: string): void => {
    const rel = path.relative(root, file);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      // Removed between listing and reading (a test still cleaning up): nothing left to leak.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const report = reports.get(fileStore(rel, bytes.subarray(0, 4)))!;
    report.items++;
    if (bytes.length > MAX_DECODED_FILE) {
      for (let at = 0; at < bytes.length; at += SLICE) {
        const ctx: Ctx = { registry, seen: new Set(), hits: [] };
        detect(withoutExamples(bytes.toString('latin1', Math.max(0, at - 4096), Math.min(bytes.length, at + SLICE))), ['raw'], ctx);
        report.findings.push(...findingsAt(report.store, rel, ctx.hits));
      }
      return;
    }
    const text = bytesToText(bytes);
    if (text === undefined) return;
    if (report.store.endsWith('moto request recordings')) {
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        let request: unknown;
        try {
          request = recordedRequest(line);
        } catch {
          request = line; // not a recorder line after all: scanned whole
        }
        report.findings.push(...findingsAt(report.store, `${rel}:${i + 1}`, scanValue(request, registry)));
      });
    } else if (/\.jsonl$/.test(file)) {
      text.split('\n').forEach((line, i) => {
        if (line.trim()) report.findings.push(...findingsAt(report.store, `${rel}:${i + 1}`, scanText(line, registry)));
      });
    } else report.findings.push(...findingsAt(report.store, rel, scanText(text, registry)));
  };
  walkDir(root);
  return [...reports.values()];
}

// ---------------------------------------------------------------------------------------------
// Reports

/** One line per store: what was scanned and how many findings. */
export function summarize(reports: StoreReport[]): string {
  return reports.map((r) => `  ${r.store}: ${r.items} ${r.unit}, ${r.findings.length} findings`).join('\n');
}

/** The findings: store, location and kind (and how it was encoded), never the secret. */
export function describeFindings(findings: Finding[]): string {
  const lines = [...new Set(findings.map((f) => `${f.store}: ${f.location}: ${f.kind}${f.encoding === 'plain' ? '' : ` (${f.encoding})`}`))];
  return `secrets found (${findings.length}):\n  ${lines.slice(0, 200).join('\n  ')}${lines.length > 200 ? `\n  ... and ${lines.length - 200} more` : ''}`;
}

/** Scan records of private servers, written by the worker that stopped them (servers.ts), read by the teardown. */
export interface ScanRecord {
  server: string;
  reports: StoreReport[];
  error?: string;
}

const SCANS_DIR = 'scans';

export function writeScanRecord(record: ScanRecord, dir = secretsDir()): void {
  if (!dir) return;
  fs.mkdirSync(path.join(dir, SCANS_DIR), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, SCANS_DIR, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`), JSON.stringify(record));
}

export function readScanRecords(dir = secretsDir()): ScanRecord[] {
  if (!dir || !fs.existsSync(path.join(dir, SCANS_DIR))) return [];
  return fs
    .readdirSync(path.join(dir, SCANS_DIR))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, SCANS_DIR, f), 'utf8')) as ScanRecord);
}
