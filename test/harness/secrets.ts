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
  | 'token'
  | 'JWT'
  | 'api key'
  | 'secret'
  | 'cookie'
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
  /** A bare shape, named by nothing: left out where the text is cut at arbitrary places (a raw SQLite file). */
  shape?: true;
  /** The captured value must pass this (default: any value not NOT_A_VALUE). */
  accept?: (value: string) => boolean;
}

/**
 * 40 base64 characters with upper case, lower case and a digit: the shape of a secret access key (a hex digest has
 * no upper case). Not one that starts `eyJ` (base64 of `{"`): a piece of base64 JSON, such as a sealed identity's
 * public JWE header that a SQLite page boundary cut after 40 characters in the raw Temporal database.
 */
const mixed = (v: string) => /[A-Z]/.test(v) && /[a-z]/.test(v) && /[0-9]/.test(v) && !v.startsWith('eyJ');
const isHex = (v: string) => /^[0-9a-fA-F]{32,}$/.test(v);

/** An STS session token's shape (its base64 prefixes): reported as a session token whatever it is named. */
const SESSION_TOKEN_SHAPE = /^(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)/;

const RULES: Rule[] = [
  { kind: 'access key id', pattern: /(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])/g },
  // Not a JSON Web Key's public coordinate (`"x":"…"`, `"y":"…"`, RFC 7518 §6.2.1.2-3: 43 characters for P-256) that a
  // SQLite page boundary cut after 40: a sealed identity's JWE header, decoded, carries its ephemeral public key (`epk`).
  { kind: 'secret access key', pattern: /(?<![A-Za-z0-9+/_-])(?<!"[xy]"\s*:\s*")([A-Za-z0-9+/]{40})(?![A-Za-z0-9+/=_-])/g, accept: mixed, shape: true },
  { kind: 'secret access key', pattern: /(?:secret_?access_?key|secretkey|aws_secret)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]+)/gi },
  { kind: 'session token', pattern: /((?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/=%]{16,})/g },
  { kind: 'session token', pattern: /(?:session_?token|security[-_]?token)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]{16,})/gi },
  { kind: 'SigV4 signature', pattern: /Signature=([0-9a-f]{64})(?![0-9a-f])/gi },
  { kind: 'signature', pattern: /"signature"\s*:\s*"([0-9a-fA-F]{32,})"/gi },
  { kind: 'password', pattern: /(?:passw(?:or)?d|passphrase)["']?\s*[=:]\s*["']?([^\s"',;&{}[\]]+)/gi },
  { kind: 'password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*:([^\s@/"'<>]+)@/gi },
  // HTTP Basic credentials: base64 of user:password (RFC 7617), with or without the header's name.
  { kind: 'password', pattern: /\bBasic[ \t]+([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/g, accept: (v) => /^[^:\s]*:\S/.test(Buffer.from(v, 'base64').toString('latin1')) },
  // Other Authorization schemes that carry a credential as it is (`Token`, as GitHub and Django REST take it; `ApiKey`).
  { kind: 'token', pattern: /\b(?:Token|ApiKey)[ \t]+([A-Za-z0-9._~+/-]{16,}=*)/g },
  // A bearer credential (RFC 6750). EKS tokens and JWTs have their own kinds below.
  { kind: 'token', pattern: /\bBearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)/g, accept: (v) => !v.startsWith('k8s-aws-v1.') && !v.startsWith('eyJ') },
  // The END line of a PEM private key whose BEGIN a window cut (the BEGIN line: pemKey below). Not once the body is redacted.
  { kind: 'private key', pattern: /(?<!\[redacted\](?:\s|\\[rn])*)(-----END [A-Z0-9 ]*PRIVATE KEY-----)/g },
  { kind: 'bearer token', pattern: /(k8s-aws-v1\.[A-Za-z0-9_-]{20,})/g },
  // A signed JSON Web Token: base64url JSON header and claims (`eyJ`), and a signature. A JWE (drover's sealed identities) has a key, not `eyJ`, second.
  { kind: 'JWT', pattern: /(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})/g },
];

/**
 * Names whose value is a secret, each with its kind: written `NAME=value`, `NAME: value`,
 * `"NAME": "value"`, `--NAME value`, or a member of a parsed document. Every name the scrubber
 * redacts (audit/scrub.ts) is here, written apart, so a scrubber that stops redacting one leaves a
 * finding, with two exceptions, both narrower on purpose: a `signature` is a finding only in hex (SNS
 * signs every delivery, and its base64 `Signature` is in every SNS message: it proves, it grants
 * nothing), and the paging and idempotency tokens of AWS APIs (`continuation-token`, `NextToken`) are not tokens.
 */
const NAMED: Array<{ kind: SecretKind; name: RegExp; min?: number; accept?: (value: string) => boolean }> = [
  { kind: 'secret access key', name: /(?:secret_?access_?key|secret[-_]?key|aws_secret|secret-access-key)$/i },
  { kind: 'session token', name: /(?:session_?token|security[-_]?token)$/i, min: 16 },
  { kind: 'password', name: /(?:passw(?:or)?d|passphrase)$/i },
  // `pass` and `pwd` alone or after a separator (`DB_PASS`, `db-pass`), not `bypass`. A `PWD` holding a path is the shell's working directory.
  { kind: 'password', name: /(?:^|[_.-])(?:pass|pwd)$/i, min: 6, accept: (v) => !v.startsWith('/') },
  { kind: 'api key', name: /api[-_]?key$/i, min: 8 },
  {
    kind: 'token',
    name: /(?:(?:access|auth|bearer|refresh|api)[-_]?token|(?:^|[_.-])(?<!(?:session|security|continuation|next|page|pagination|request|idempotency|sync)[_.-])token)$/i,
    min: 16,
    accept: (v) => !SESSION_TOKEN_SHAPE.test(v),
  },
  { kind: 'secret', name: /(?:client[-_]?secret|secret(?:[-_]?string)?)$/i, min: 8 },
  { kind: 'private key', name: /private[-_]?key$/i, min: 16 },
  { kind: 'cookie', name: /(?:^|[_.-])(?:set-)?cookie$/i, min: 8 },
];

/** The kind of secret a value named `name` is, if any (by NAMED). */
function namedKind(name: string, value: string): SecretKind | undefined {
  if (NOT_A_VALUE.test(value) || value.endsWith(':')) return undefined; // a YAML key on the next line is not a value
  for (const n of NAMED) if (n.name.test(name) && value.length >= (n.min ?? 1) && (n.accept?.(value) ?? true)) return n.kind;
  return undefined;
}

/**
 * `NAME=value`, `NAME: value`, `"NAME": "value"`, `--NAME value`: a name (not inside an ARN or a path)
 * holding a word every NAMED name holds, and its value.
 */
const NAME = '[A-Za-z0-9_.-]{0,64}?(?:pass|pwd|secret|token|key|cookie)[A-Za-z0-9_.-]{0,64}';
const ASSIGNMENTS = [
  new RegExp(`(?<![A-Za-z0-9_.:/-])(${NAME})["']?\\s*[=:]\\s*["']?([^\\s"',;&{}[\\]]+)`, 'gi'),
  new RegExp(`(?<![A-Za-z0-9_.:/-])--(${NAME})[ \\t]+(?!-)([^\\s"']+)`, 'gi'),
];

/** JSON members whose value is a secret, by name (a history's proto or a parsed document). */
function kindOfMember(key: string, value: string): SecretKind | undefined {
  if (NOT_A_VALUE.test(value) || value.length === 0) return undefined;
  if (/signature$/i.test(key) && isHex(value)) return 'signature';
  if (/session_?token$|security[-_]?token$/i.test(key) && SESSION_TOKEN_SHAPE.test(value)) return 'session token';
  return namedKind(key, value);
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

/** A PEM private key from its BEGIN line: one whose body is not `[redacted]`, or that has base64 left after the marker (lines scrubbed one by one). */
function pemKey(text: string): boolean {
  for (const m of text.matchAll(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g)) {
    const rest = text.slice(m.index + m[0].length);
    const end = rest.search(/-----END [A-Z0-9 ]*PRIVATE KEY-----/);
    const body = end < 0 ? rest : rest.slice(0, end);
    if (!/^(?:\s|\\[rn])*\[redacted/.test(body) || /[A-Za-z0-9+/]{16,}/.test(body.replace(/\[redacted[^\]]*\]/g, ''))) return true;
  }
  return false;
}

/**
 * Values under `data:` or `stringData:` in a Kubernetes Secret printed as YAML (a text with `kind:
 * Secret`): base64 or plain, under keys that can be named anything.
 */
function kubernetesSecretValue(text: string): boolean {
  if (!/^[ \t]*(?:-[ \t]+)?kind:[ \t]*["']?Secret["']?[ \t]*\r?$/m.test(text)) return false;
  for (const m of text.matchAll(/^([ \t]*)(?:-[ \t]+)?(?:data|stringData):[ \t]*\r?\n((?:\1[ \t]+.*(?:\n|$))+)/gm)) {
    for (const line of m[2].split('\n')) {
      const value = /^[ \t]*[^:#\s][^:#]*:[ \t]+(\S.*?)\r?$/.exec(line)?.[1];
      if (value !== undefined && !NOT_A_VALUE.test(value) && !/^[|>][-+0-9]*$/.test(value)) return true;
    }
  }
  return false;
}

/**
 * A PEM body without its BEGIN or END line (a window kept only the middle of a key): 3+ consecutive
 * lines of exactly 64 base64 characters (RFC 7468 §2 wraps every PEM body so), unless the nearest PEM
 * line before or after them names something public (a certificate, a public key).
 */
function pemBody(text: string): boolean {
  if (!text.includes('\n')) return false;
  for (const m of text.matchAll(/(?:^|\n)(?:[A-Za-z0-9+/]{64}\r?\n){2}[A-Za-z0-9+/]{64}(?:\r?\n|$)/g)) {
    const before = text.slice(0, m.index).match(/-----BEGIN ([A-Z0-9 ]+)-----/g)?.pop();
    const after = /-----END ([A-Z0-9 ]+)-----/.exec(text.slice(m.index))?.[0];
    if ([before, after].some((edge) => edge !== undefined && !edge.includes('PRIVATE KEY'))) continue;
    return true;
  }
  return false;
}

function detect(text: string, via: string[], ctx: Ctx): void {
  const encoding = via.length ? via.join(' > ') : 'plain';
  for (const rule of RULES) {
    if (rule.shape && !ctx.shapes) continue;
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const value = m[1] ?? m[0];
      if (NOT_A_VALUE.test(value)) continue;
      if (rule.accept && !rule.accept(value)) continue;
      ctx.hits.push({ kind: rule.kind, encoding });
    }
  }
  for (const pattern of ASSIGNMENTS) {
    for (const m of text.matchAll(pattern)) {
      // A CSS custom property holding a colour (`--pass: #15803d`, the HTML report's palette) is no credential.
      if (m[1].startsWith('--') && /^#[0-9a-f]{3,8}$/i.test(m[2])) continue;
      const kind = namedKind(m[1], m[2]);
      if (kind) ctx.hits.push({ kind, encoding });
    }
  }
  // A JSON Web Key's private member (`d` of EC and RSA, `k` of a symmetric key), in JSON text that holds a key.
  if (/"kty"\s*:/.test(text) && /"[dk]"\s*:\s*"[A-Za-z0-9_-]{16,}"/.test(text)) ctx.hits.push({ kind: 'private key', encoding });
  if (pemKey(text) || pemBody(text)) ctx.hits.push({ kind: 'private key', encoding });
  if (kubernetesSecretValue(text)) ctx.hits.push({ kind: 'secret', encoding });
  // A credential the harness minted, also when a line break splits it (a wrapped line, a split log entry).
  const unbroken = text.includes('\n') ? text.replace(/\r?\n/g, '') : text;
  for (const credential of ctx.registry) if (text.includes(credential) || unbroken.includes(credential)) ctx.hits.push({ kind: 'harness credential', encoding });
}

// ---------------------------------------------------------------------------------------------
// Decoding, recursively

const MAX_DEPTH = 8;
/** Texts longer than this are matched as they are but not decoded further (a whole log, a database file). */
const MAX_DECODE_CHARS = 4_000_000;

interface Ctx {
  registry: string[];
  /** False: the bare-shape rules are left out (scanText's `cut`). */
  shapes: boolean;
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
  // zlib (RFC 1950: deflate with a 32K window, `0x78`, and a header that is a multiple of 31); cut short, what
  // there is; with a damaged header or checksum, its deflate stream (RFC 1951) alone. Raw deflate has no header to
  // know it by, and trying every binary is too slow for the suite's teardown: it is found inside zip files only.
  if (b[0] === 0x78 && b.readUInt16BE(0) % 31 === 0) {
    const options = { maxOutputLength: MAX_INFLATED, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    for (const inflate of [() => zlib.inflateSync(u8(b), options), () => zlib.inflateRawSync(u8(b.subarray(2)), options)]) {
      try {
        const inflated = inflate();
        if (inflated.length) return bytesToText(inflated);
      } catch {
        // not zlib after all
      }
    }
  }
  const text = asText(b) ?? utf16le(b);
  if (text !== undefined) return text;
  const runs = b.toString('latin1').match(/[\x20-\x7e\t\r\n]{8,}/g);
  return runs ? runs.join('\n') : undefined;
}

/** The most a zlib or deflate stream is inflated to (a bomb stops there). */
const MAX_INFLATED = 16 * 1024 * 1024;

/** Bytes as UTF-8, when they are text (95% printable, valid UTF-8). */
function asText(b: Buffer): string | undefined {
  if (b.length === 0) return undefined;
  const utf8 = b.toString('utf8');
  let printable = 0;
  for (const c of b) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127)) printable++;
  return printable / b.length >= 0.95 && !utf8.includes('\uFFFD') ? utf8 : undefined;
}

/** Bytes as UTF-16LE, when they are text written so (a Windows tool's output): a BOM, or mostly printable ASCII with every other byte zero. */
function utf16le(b: Buffer): string | undefined {
  const bom = b[0] === 0xff && b[1] === 0xfe;
  if (b.length < 8) return undefined;
  let ascii = 0;
  for (let i = bom ? 2 : 0; i + 1 < b.length; i += 2) if (b[i + 1] === 0 && ((b[i] >= 32 && b[i] < 127) || b[i] === 9 || b[i] === 10 || b[i] === 13)) ascii++;
  return bom || ascii / Math.floor(b.length / 2) >= 0.9 ? b.toString('utf16le', bom ? 2 : 0) : undefined;
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

const NUL = String.fromCharCode(0);
/** Text with every other character NUL: UTF-16LE read a byte a character. */
const EVERY_OTHER_NUL = new RegExp(`(?:[\\t\\r\\x20-\\x7e]${NUL}){4}`);

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
  // Runs of either alphabet; a run holding both (`run-<base64 with + or />`, base64 glued to a name) is taken
  // apart into its base64 runs and its base64url runs.
  const runs = new Set<string>();
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{12,}={0,2}/g)) {
    if (!(/[-_]/.test(m[0]) && /[+/]/.test(m[0]))) runs.add(m[0]);
    else for (const part of m[0].match(/[A-Za-z0-9+/]{12,}={0,2}|[A-Za-z0-9_-]{12,}/g) ?? []) runs.add(part);
  }
  // Base64 wrapped in lines (76 columns: MIME, `base64` without -w0): each block of base64 lines joined.
  if (text.includes('\n')) {
    for (const m of text.matchAll(/(?:[A-Za-z0-9+/]{16,}\r?\n)+[A-Za-z0-9+/]{4,}={0,2}/g)) runs.add(m[0].replace(/\r?\n/g, ''));
  }
  for (const run of runs) {
    const url = /[-_]/.test(run);
    const decoded = bytesToText(Buffer.from(run, url ? 'base64url' : 'base64'));
    if (decoded) scanString(decoded, [...via, url ? 'base64url' : 'base64'], next, ctx);
    // `/` is base64, so a path (`s3://bucket/audit/<base64>`) runs into the base64 after it and misaligns it: each segment too.
    if (!url && run.includes('/')) {
      // The last segment can start with a name's last characters (`/runs/x<base64>`): from its first four offsets.
      const segments = run.split('/');
      for (const [i, segment] of segments.entries()) {
        for (let at = 0; at < (i === segments.length - 1 ? 4 : 1) && segment.length - at >= 12; at++) {
          const part = bytesToText(Buffer.from(segment.slice(at), 'base64'));
          if (part) scanString(part, [...via, 'base64'], next, ctx);
        }
      }
    }
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
  // Hex with separators (`70:61:73`, a fingerprint's or a dump's way).
  for (const m of text.matchAll(/(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){6,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])/g)) {
    const decoded = bytesToText(Buffer.from(m[0].split(m[1]).join(''), 'hex'));
    if (decoded) scanString(decoded, [...via, 'hex'], next, ctx);
  }
  // Escapes: `\x70` (a bytes literal, a C string), `\u0070` (JavaScript, JSON outside a document), `&#112;` (HTML), and
  // UTF-16LE read one byte a character (every other character NUL). Only the lines that hold them are decoded again.
  const decodeLines = (has: RegExp, decode: (line: string) => string, how: string) => {
    if (!has.test(text)) return;
    const lines = text.split('\n').filter((line) => has.test(line));
    scanString(lines.map(decode).join('\n'), [...via, how], next, ctx);
  };
  decodeLines(/\\x[0-9A-Fa-f]{2}/, (l) => l.replace(/(?:\\x[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/\\x/g, ''), 'hex').toString('utf8')), 'x-escaped');
  decodeLines(/\\u[0-9A-Fa-f]{4}/, (l) => l.replace(/\\u([0-9A-Fa-f]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'u-escaped');
  decodeLines(/&#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});/, (l) => l.replace(/&#(x?)([0-9A-Fa-f]{1,7});/g, (m, x: string, n: string) => (parseInt(n, x ? 16 : 10) <= 0x10ffff ? String.fromCodePoint(parseInt(n, x ? 16 : 10)) : m)).replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'), 'html entities');
  decodeLines(EVERY_OTHER_NUL, (l) => l.split(NUL).join(''), 'utf-16');
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
    const before = ctx.hits.length;
    for (const v of value) walk(v, via, depth, ctx);
    // Lines of output kept as an array (a hook's output tail): also as one text, for what spans lines (a PEM key, a pretty-printed JWK, YAML).
    if (value.length >= 2 && value.every((v) => typeof v === 'string')) {
      const found = new Set(ctx.hits.slice(before).map((h) => h.kind));
      const joined: Ctx = { ...ctx, hits: [] };
      scanString(value.join('\n'), [...via, 'lines'], depth, joined);
      ctx.hits.push(...joined.hits.filter((h) => !found.has(h.kind)));
    }
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // A JSON Web Key with its private member: an EC or RSA private key (RFC 7518 §6.2.2, §6.3.2), or a symmetric one's `k` (§6.4.1).
    const secretPart = typeof o.d === 'string' ? o.d : o.k;
    if (typeof o.kty === 'string' && typeof secretPart === 'string' && secretPart.length > 0 && !NOT_A_VALUE.test(secretPart)) ctx.hits.push({ kind: 'private key', encoding: via.length ? via.join(' > ') : 'plain' });
    for (const [k, v] of Object.entries(o)) {
      // A secret-named member holding a number (`"password": 12345678`).
      const numberKind = typeof v === 'number' ? kindOfMember(k, String(v)) : undefined;
      if (numberKind) ctx.hits.push({ kind: numberKind, encoding: via.length ? via.join(' > ') : 'plain' });
      walk(v, via, depth, ctx, k);
    }
  }
}

/**
 * The secrets in a text (decoded recursively), by kind and encoding, the documentation examples set aside. `cut`: the
 * text is pieces of something cut at arbitrary places (the printable runs of a raw SQLite file, whose pages split
 * every long value): the bare 40-character secret-key shape is left out there, since any base64 value cut to 40
 * characters has it. Everything named, every prefixed shape and every harness credential is still looked for.
 */
export function scanText(text: string, registry: string[] = harnessCredentials(), cut = false): Hit[] {
  const ctx: Ctx = { registry, seen: new Set(), hits: [], shapes: !cut };
  scanString(text, [], 0, ctx);
  return unique(ctx.hits);
}

/** The secrets in any value (a history's proto, parsed JSON, bytes), by kind and encoding. */
export function scanValue(value: unknown, registry: string[] = harnessCredentials()): Hit[] {
  const ctx: Ctx = { registry, seen: new Set(), hits: [], shapes: true };
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
 * A count read through an eventually consistent index (Temporal's visibility), once it holds still: read
 * until two reads in a row agree (`intervalMs` apart), for at most `timeoutMs`; the last read then. The
 * workflows the last test file started may not be listed yet at the first read.
 */
export async function settledCount(read: () => Promise<number>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<number> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last = await read();
  for (;;) {
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    const now = await read();
    if (now === last || Date.now() >= deadline) return now;
    last = now;
  }
}

/**
 * Every workflow history in every namespace of the Temporal server at `address` (with `since`, only
 * workflows started since then: an external server holds histories that are not the suite's), scanned,
 * listed once visibility's count has settled (`settledCount`); and for each workflow still open, its
 * pending activities (heartbeat details, last failure: in no history until the activity ends, and never
 * when the run is terminated). Throws when the server cannot be reached or listed.
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
      const runs: Array<{ workflowId: string; runId: string; open: boolean }> = [];
      const query = opts.since ? `StartTime >= '${opts.since.toISOString()}'` : undefined;
      await settledCount(async () => (await client.workflow.count(query)).count);
      for await (const wf of client.workflow.list({ query })) runs.push({ workflowId: wf.workflowId, runId: wf.runId, open: wf.status.name === 'RUNNING' });
      items += runs.length;
      let next = 0;
      const work = async () => {
        while (next < runs.length) {
          const run = runs[next++];
          const handle = client.workflow.getHandle(run.workflowId, run.runId);
          const history = await handle.fetchHistory();
          if (run.open) {
            for (const pending of (await handle.describe()).raw.pendingActivities ?? []) {
              const location = `${namespace}/${run.workflowId} (run ${run.runId}), pending activity ${pending.activityId ?? '?'}`;
              findings.push(...findingsAt(store, location, scanValue(pending, registry)));
            }
          }
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
 * the emulator, scanned as method, URL, headers and body (decoded). Every request to the emulator carries
 * a SigV4 signature by construction: when the Authorization header is signed with a placeholder key
 * above, only its `Signature=` is left out, and the rest of the header is scanned (anything else put in
 * it is found); one signed with any other key (a key the auth-enabled moto minted, a real key) is
 * scanned whole.
 */
function recordedRequest(line: string): unknown {
  const entry = JSON.parse(line) as { method?: string; url?: string; headers?: Record<string, string>; body?: string; body_encoded?: boolean };
  const placeholderSigned = (value: string) => EMULATOR_PLACEHOLDER_KEYS.has(/Credential=([^/,\s]+)\//.exec(value)?.[1] ?? '');
  const headers = Object.fromEntries(
    Object.entries(entry.headers ?? {}).map(([k, v]) => [k, k.toLowerCase() === 'authorization' && placeholderSigned(String(v)) ? String(v).replace(/\bSignature=[0-9a-f]{64}\b/g, 'Signature=[placeholder-signed]') : v]),
  );
  const body = entry.body_encoded && typeof entry.body === 'string' ? Buffer.from(entry.body, 'base64').toString('utf8') : entry.body;
  return { method: entry.method, url: entry.url, headers, body };
}

/**
 * tsx's transpile cache (`$TMPDIR/tsx-<uid>`, written by every `bin/drover` the suite spawns): the
 * project's own source compiled, with its test fixtures and the scrubber's documented examples. No run
 * writes to it, so nothing a run handled can leak there; scanning it would only find the source.
 */
const COMPILED_SOURCE_CACHE = /^os-tmp[\\/]tsx-\d+$/;

/** The first bytes of every SQLite database file ("SQLite format 3" and a NUL, https://www.sqlite.org/fileformat.html). */
const SQLITE_MAGIC = 'SQLite format 3\0';

/** Files this large are not held as one text: read line by line from their bytes. */
const MAX_DECODED_FILE = 64 * 1024 * 1024;

/** The lines of a big file (numbered from 1), each as text: UTF-8, or its printable runs when binary. */
function* byteLines(bytes: Buffer): Generator<[number, string]> {
  let n = 0;
  for (let at = 0; at < bytes.length; ) {
    const end = bytes.indexOf(0x0a, at);
    const stop = end < 0 ? bytes.length : end;
    n++;
    const text = bytesToText(bytes.subarray(at, stop));
    if (text !== undefined) yield [n, text];
    at = stop + 1;
  }
}

/**
 * The directories a test plants secrets in on purpose (a scanner's own fixtures): the top-level entries of
 * a temporary root whose name starts with this (`plantedDir()` in servers.ts makes them). The temporary
 * root's scan (`scanFiles` with `skipPlanted`) leaves them out, and nothing else: a planted secret
 * anywhere else is a finding.
 */
export const PLANTED_PREFIX = 'planted-';

/**
 * Text files larger than this are scanned line by line (logs are line-oriented), each line decoded: a
 * whole text this long would only be matched as it is (the decoder stops at its own limit).
 */
const LINE_WISE_CHARS = 1_000_000;

/**
 * Every regular file under `root` (symbolic links are not followed: what they point at is outside),
 * decoded and scanned, reported by kind of store. JSONL files and big text files (logs) are scanned line
 * by line, each line decoded, so a finding names its line. With `skipPlanted`, the top-level
 * `planted-*` directories are left out; with `since`, only files modified since then are scanned (a
 * directory the suite shares with what came before); `skipDirs` (absolute) are left out (the pinned tools
 * installed in a caller's DROVER_HOME). Files over `maxTextBytes` (default 64 MiB; tests lower it) are read
 * line by line from their bytes. Throws when `root` does not exist or cannot be
 * read: an unscanned root is not a clean one.
 */
export function scanFiles(root: string, opts: { registry?: string[]; label?: string; skipPlanted?: boolean; since?: Date; skipDirs?: string[]; maxTextBytes?: number } = {}): StoreReport[] {
  const registry = opts.registry ?? harnessCredentials();
  const label = opts.label ?? 'files';
  const reports = new Map<string, StoreReport>(FILE_STORES.map((s) => [s, { store: `${label} ${s}`, items: 0, unit: 'files', findings: [] }]));
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${root}: no such directory to scan`);
  const walkDir = (dir: string): void => {
    // In name order, so findings come out in the same order on every file system.
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory() && COMPILED_SOURCE_CACHE.test(path.relative(root, file))) continue;
      if (entry.isDirectory() && opts.skipPlanted && dir === root && entry.name.startsWith(PLANTED_PREFIX)) continue;
      if (entry.isDirectory() && opts.skipDirs?.some((d) => path.resolve(d) === path.resolve(file))) continue;
      if (entry.isDirectory()) walkDir(file);
      else if (entry.isFile()) scanFile(file);
    }
  };
  const scanLines = (report: StoreReport, rel: string, lines: Iterable<[number, string]>, cut = false): void => {
    const recordings = report.store.endsWith('moto request recordings');
    for (const [n, line] of lines) {
      if (!line.trim()) continue;
      let hits: Hit[];
      if (recordings) {
        let request: unknown;
        try {
          request = recordedRequest(line);
        } catch {
          // Not a whole recorder line (moto's recorder appends from several threads, and the file is read while it
          // may still be written): scanned whole, with the placeholder-signed signatures left out as above.
          request = line.replace(/(Credential=(?:drover-local|drover-test)\/[^"]*?\bSignature=)[0-9a-f]{64}\b/g, '$1[placeholder-signed]');
        }
        hits = scanValue(request, registry);
        // A signature made with the emulator's placeholder key grants nothing, wherever in the request it sits
        // (a presigned URL carried in a body, url-encoded): left out when every credential the line names is a placeholder.
        const plain = (typeof request === 'string' ? request : JSON.stringify(request)).replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
        const credentials = [...plain.matchAll(/Credential=([^/,\s"&]+)\//g)].map((m) => m[1]);
        if (credentials.length > 0 && credentials.every((c) => EMULATOR_PLACEHOLDER_KEYS.has(c))) hits = hits.filter((h) => h.kind !== 'SigV4 signature');
      } else hits = scanText(line, registry, cut);
      report.findings.push(...findingsAt(report.store, `${rel}:${n}`, hits));
    }
  };
  const scanFile = (file: string): void => {
    const rel = path.relative(root, file);
    let bytes: Buffer;
    try {
      if (opts.since && fs.lstatSync(file).mtimeMs < opts.since.getTime()) return;
      bytes = fs.readFileSync(file);
    } catch (e) {
      // Removed between listing and reading (a test still cleaning up): nothing left to leak.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const report = reports.get(fileStore(rel, bytes.subarray(0, 4)))!;
    report.items++;
    // A raw SQLite database (a Temporal server's): its pages cut every long value at arbitrary places, so a base64 value
    // (a sealed identity's JWE header, decoded: its public key's coordinates) is often left with 40 characters, the
    // shape of a secret key. Scanned without that bare shape; the histories it holds are scanned whole through
    // Temporal's API (scanTemporal), with it.
    const cut = bytes.subarray(0, SQLITE_MAGIC.length).toString('latin1') === SQLITE_MAGIC;
    if (bytes.length > (opts.maxTextBytes ?? MAX_DECODED_FILE)) {
      // Too big to hold as one text: line by line from the bytes, each line as text (printable runs when binary), decoded.
      scanLines(report, rel, byteLines(bytes), cut);
      return;
    }
    const text = bytesToText(bytes);
    if (text === undefined) return;
    // moto's recordings and JSONL are line-oriented; so are logs, and a text this long is decoded only line by line.
    if (report.store.endsWith('moto request recordings') || /\.jsonl$/.test(file) || text.length > LINE_WISE_CHARS) {
      scanLines(report, rel, text.split('\n').map((line, i): [number, string] => [i + 1, line]), cut);
    } else report.findings.push(...findingsAt(report.store, rel, scanText(text, registry, cut)));
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

const STARTED_DIR = 'started';

/**
 * Record that a private server started (servers.ts, in the worker that started it): the teardown fails
 * when a started server has no scan record, i.e. was never stopped through `scannedOnStop` (a test that
 * crashed or timed out before its stop()), since its stores were never scanned.
 */
export function recordServerStarted(server: string, dir = secretsDir()): void {
  if (!dir) return;
  fs.mkdirSync(path.join(dir, STARTED_DIR), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, STARTED_DIR, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`), JSON.stringify({ server }));
}

/** The private servers started but never scan-stopped (one entry per start without its scan record), by name, sorted. */
export function unscannedServers(dir = secretsDir()): string[] {
  if (!dir || !fs.existsSync(path.join(dir, STARTED_DIR))) return [];
  const scanned = new Map<string, number>();
  for (const r of readScanRecords(dir)) scanned.set(r.server, (scanned.get(r.server) ?? 0) + 1);
  const out: string[] = [];
  for (const f of fs.readdirSync(path.join(dir, STARTED_DIR)).filter((n) => n.endsWith('.json')).sort()) {
    const { server } = JSON.parse(fs.readFileSync(path.join(dir, STARTED_DIR, f), 'utf8')) as { server: string };
    const left = scanned.get(server) ?? 0;
    if (left > 0) scanned.set(server, left - 1);
    else out.push(server);
  }
  return out.sort();
}
