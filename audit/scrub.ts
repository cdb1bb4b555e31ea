// Credentials never enter the audit trail (DESIGN: no secrets in payloads). Pure, so workflows may use it too.

export const REDACTED = '[redacted]';

// Property names whose whole value is a secret. `SecretArn`/`SecretId`/`SecretName` name a secret, they are not one.
const SECRET_KEY = /(password|passwd|secret(?![-_]?(arn|id|name)$)|session[-_]?token|security[-_]?token|signature|authorization|credential|cookie|private[-_]?key)/i;

/** The members of a JSON Web Key that are private (RFC 7518 §6.2.2 and §6.3.2: EC and RSA; §6.4.1: the symmetric `k`). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

// The credential shapes, shared by the scrubber (which redacts them) and `findSecrets` (which reports them).
/** Access key ids: long-term (AKIA) and temporary (ASIA). */
const ACCESS_KEY_ID = '\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b';
/** STS session tokens start with these base64 prefixes. */
const SESSION_TOKEN = '\\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=%]{20,}';
/** Secret access keys: 40 base64 characters mixing upper, lower and digits (hex digests have no upper case). */
const SECRET_KEY_BODY = '(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}';
/** A SigV4 signature, in an Authorization header or a presigned URL. */
const SIGV4_SIGNATURE = '\\b(?:X-Amz-)?Signature=[0-9a-f]{64}\\b';

/**
 * Names that, written `NAME=value`, `NAME: value`, `NAME = value` (an environment, an ini file such as
 * ~/.aws/credentials, a log line), `--NAME value`, or as a property or JSON member, hold a secret: AWS
 * keys and tokens, passwords (`PGPASSWORD`, `MasterUserPassword`, `password`, `pwd`, `DB_PASS`), client
 * secrets, API keys, access and auth tokens, private keys, signatures, `SecretString`. A prefix is
 * allowed (`AWS_SECRET_ACCESS_KEY`, `db_password`, `apiKey`); a suffix is not, so `SecretArn` and
 * `password_policy` stay. The short names `token`, `pass` and `pwd` count only on their own or after a
 * separator (`GITHUB_TOKEN`, `DB_PASS`, `x-auth-token`), so `NextToken`, `bypass` and `compass` stay, and
 * so do the paging and idempotency tokens of AWS APIs (`continuation-token`, `next_token`): they grant nothing.
 */
const SECRET_NAME =
  '(?:[A-Za-z0-9_.-]*?(?:secret[-_]?access[-_]?key|secret[-_]?key|session[-_]?token|security[-_]?token|passw(?:or)?d|passphrase|client[-_]?secret|secret(?:[-_]?string)?|private[-_]?key|api[-_]?key|(?:access|auth|bearer|refresh|api)[-_]?token|signature)' +
  '|(?:[A-Za-z0-9_.-]*[_.-])?(?<!(?:continuation|next|page|pagination|request|idempotency|sync)[_.-])(?:token|pass|pwd))';

/** A property or JSON member that holds a secret: named as above, or containing one of SECRET_KEY's words (`MasterUserPassword`, `x-amz-security-token`). */
const SECRET_MEMBER = new RegExp(`^${SECRET_NAME}$`, 'i');
const isSecretName = (key: string) => SECRET_KEY.test(key) || SECRET_MEMBER.test(key);

/**
 * A value after `=`, `:` or a flag, never one already redacted: quoted (to the closing quote, with `\"`
 * escaped inside), or unquoted up to whitespace or a quote. `;`, `&` and `,` are legal in a password,
 * so they are part of the value. Only in a query string (the name right after `?` or `&`) does `&` end
 * it: there a literal `&` is written `%26`.
 */
const ASSIGNED_VALUE = `(?!\\[redacted)(?:"(?:[^"\\\\\\n]|\\\\.)*"|'(?:[^'\\\\\\n]|\\\\.)*'|(?:[^\\s"'\\\\]|\\\\\\S)+)`;
const QUERY_VALUE = `(?!\\[redacted)[^&\\s"'#]+`;

type Replacement = string | ((match: string, ...groups: string[]) => string);

/** `NAME=value` with the value redacted; a quoted value keeps its quotes. */
const redactAssigned = (_m: string, k: string, sep: string, v: string) => `${k}${sep}${/^["']/.test(v) ? `${v[0]}${REDACTED}${v[0]}` : REDACTED}`;

/**
 * `"key": value` in JSON text, escaped once or not (JSON inside a JSON string): the value redacted when
 * the key names a secret. A string value runs to its unescaped closing quote; a number becomes the
 * string `"[redacted]"`, so the text stays JSON.
 */
function jsonMembers(text: string): string {
  const member = (esc: string) => (m: string, key: string, sep: string, value: string) =>
    isSecretName(key) && !value.startsWith('[redacted') ? `${esc}"${key}${esc}"${sep}${esc}"${REDACTED}${esc}"` : m;
  const number = (esc: string) => (m: string, key: string, sep: string) => member(esc)(m, key, sep, '');
  return (
    text
      // Plain JSON: a string value, with `\"` and `\\` escaped inside.
      .replace(/(?<!\\)"([^"\\\n]{1,128})"(\s*:\s*)"((?:[^"\\\n]|\\.)*)"/g, member(''))
      // JSON inside a JSON string: its quotes are `\"`; inside its values an escaped quote is `\\\"` and a backslash `\\\\`.
      .replace(/\\"([^"\\\n]{1,128})\\"(\s*:\s*)\\"((?:[^"\\]|\\\\\\(?:\\.|[^\\])|\\[^"\\])*)\\"/g, member('\\'))
      // A number, in either.
      .replace(/(?<!\\)"([^"\\\n]{1,128})"(\s*:\s*)-?\d[\d.eE+-]*/g, number(''))
      .replace(/\\"([^"\\\n]{1,128})\\"(\s*:\s*)-?\d[\d.eE+-]*/g, number('\\'))
  );
}

/** A JSON Web Key's private members, in JSON text that holds a key (`"kty"`). */
function jwkMembers(text: string): string {
  const redact = (_m: string, esc: string, key: string, sep: string) => `${esc}"${key}${esc}"${sep}${esc}"${REDACTED}${esc}"`;
  // Without `"kty"` (a pretty-printed key whose first lines a window cut): an RSA or EC private member long
  // enough to be key material (40+ base64url characters; an EC P-256 `d` has 43).
  const cut = (t: string) => t.replace(new RegExp(`(\\\\?)"(${PRIVATE_JWK_MEMBERS.filter((n) => n !== 'k' && n !== 'oth').join('|')})\\\\?"(\\s*:\\s*)\\\\?"[A-Za-z0-9_-]{40,}\\\\?"`, 'g'), redact);
  if (!/\\?"kty\\?"\s*:/.test(text)) return cut(text);
  const names = PRIVATE_JWK_MEMBERS.join('|');
  return text.replace(new RegExp(`(\\\\?)"(${names})\\\\?"(\\s*:\\s*)\\\\?"[A-Za-z0-9_-]+\\\\?"`, 'g'), redact);
}

const PEM_EDGE = /-----(BEGIN|END) ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----/g;
/** The end of a PEM body whose BEGIN line was cut: 2+ lines of exactly 64 base64 characters (RFC 7468 §2), a shorter last line, then END. */
const PEM_BODY_END = /(?:^|\n)((?:[A-Za-z0-9+/]{64}\r?\n){2,}[A-Za-z0-9+/]{1,63}={0,2}\r?\n)$/;

/**
 * PEM private keys: BEGIN to END, whole. What is left of a key cut by a window (hook output kept to its
 * last lines) too: a body whose BEGIN was cut, from where the body starts (its 64-character lines, when
 * it has them) or else from the start of the text (or the end of the key before it) to END; a key whose
 * END was cut, from BEGIN to the end of the text.
 */
function pemKeys(text: string): string {
  if (!text.includes('PRIVATE KEY')) return text;
  let out = '';
  let at = 0;
  let open: { index: number; kind: string; block: string } | undefined;
  for (const m of text.matchAll(PEM_EDGE)) {
    // An OpenPGP armored private key (`PRIVATE KEY BLOCK`, RFC 4880 §6.2) is handled as a PEM key.
    const [line, edge, kind, block = ''] = m;
    if (edge === 'BEGIN') {
      // A BEGIN inside an open key is part of its body.
      open ??= { index: m.index, kind, block };
      continue;
    }
    let from = at;
    if (open) from = open.index;
    else {
      const before = text.slice(at, m.index);
      const body = PEM_BODY_END.exec(before);
      // Scrubbed already: keep what is before the marker.
      if (before.endsWith(`${REDACTED} `)) from = m.index - REDACTED.length - 1;
      else if (body) from = m.index - body[1].length;
    }
    out += `${text.slice(at, from)}${open ? `-----BEGIN ${open.kind}PRIVATE KEY${open.block}----- ` : ''}${REDACTED} -----END ${kind}PRIVATE KEY${block}-----`;
    at = m.index + line.length;
    open = undefined;
  }
  if (open) {
    out += `${text.slice(at, open.index)}-----BEGIN ${open.kind}PRIVATE KEY${open.block}----- ${REDACTED}`;
    at = text.length;
  }
  return out + text.slice(at);
}

/**
 * A Kubernetes Secret printed as YAML (`kubectl get secret -o yaml`, `helm --debug`): in a text that
 * holds `kind: Secret`, every `key: value` indented under a `data:` or `stringData:` line has its value
 * redacted (data values are only base64, and their keys can be named anything), block scalars (`key: |`)
 * with their lines.
 */
function kubernetesSecretYaml(text: string): string {
  if (!/^[ \t]*(?:-[ \t]+)?kind:[ \t]*["']?Secret["']?[ \t]*\r?$/m.test(text)) return text;
  const lines = text.split('\n');
  let section: number | undefined;
  let block: number | undefined;
  lines.forEach((line, i) => {
    const indent = /^[ \t]*/.exec(line)![0].length;
    if (!line.trim()) return;
    if (block !== undefined && indent > block) {
      lines[i] = `${line.slice(0, indent)}${REDACTED}`;
      return;
    }
    block = undefined;
    if (section !== undefined && indent > section) {
      const m = /^([ \t]*[^:#\s][^:#]*:)([ \t]+)(\S.*?)\r?$/.exec(line);
      if (m && !m[3].startsWith('[redacted')) {
        if (/^[|>]/.test(m[3])) block = indent;
        lines[i] = `${m[1]}${m[2]}${REDACTED}`;
      }
      return;
    }
    section = /^[ \t]*(?:-[ \t]+)?(?:data|stringData):[ \t]*\r?$/.test(line) ? indent : undefined;
  });
  return lines.join('\n');
}

/** The same as JSON text (`kubectl get secret -o json`): the members of `"data"` and `"stringData"`, when the text holds `"kind": "Secret"`. */
function kubernetesSecretJson(text: string): string {
  if (!/"kind"\s*:\s*"Secret"/.test(text)) return text;
  return text.replace(/("(?:data|stringData)"\s*:\s*\{)([^{}]*)\}/g, (_m, head: string, body: string) => `${head}${body.replace(/("(?:[^"\\]|\\.)*"\s*:\s*)"(?:[^"\\]|\\.)*"/g, `$1"${REDACTED}"`)}}`);
}

/** A secret name then a YAML block scalar (`password: |`): the indented lines after it. */
function yamlBlockValues(text: string): string {
  return text.replace(
    new RegExp(`^([ \\t]*)(${SECRET_NAME}:[ \\t]*)[|>][-+0-9]*[ \\t]*\\r?\\n(?:\\1[ \\t]+\\S.*(?:\\n|$))+`, 'gim'),
    (m, indent: string, head: string) => `${indent}${head}${REDACTED}${m.endsWith('\n') ? '\n' : ''}`,
  );
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Base64 decoded, one character per byte. Written out: workflows use the scrubber, and their sandbox has no Buffer. */
function base64Text(b64: string): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const c of b64.replace(/=+$/, '')) {
    acc = ((acc << 6) | BASE64.indexOf(c)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

const VALUE_PATTERNS: Array<[RegExp, Replacement] | ((text: string) => string)> = [
  // PEM private keys: whole, or what a window left of one.
  pemKeys,
  kubernetesSecretYaml,
  kubernetesSecretJson,
  // An Authorization header's SigV4 value, as text: everything after the scheme.
  [/AWS4-HMAC-SHA256\s+[^"'\n]*/g, `AWS4-HMAC-SHA256 ${REDACTED}`],
  [/\b(authorization)(\s*[:=]\s*)("?)[^"\n,}]*/gi, (_m, k: string, sep: string, q: string) => `${k}${sep}${q}${REDACTED}`],
  // Basic and Bearer credentials without their header's name (a curl command line, a proxy's log); Basic only when it decodes to user:password.
  [/\b(Basic[ \t]+)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/g, (m, head: string, b64: string) => (/^[^:\s]*:\S/.test(base64Text(b64)) ? `${head}${REDACTED}` : m)],
  [/\b(Bearer[ \t]+)(?!\[redacted)[A-Za-z0-9._~+/-]{8,}=*/g, `$1${REDACTED}`],
  // Cookie and Set-Cookie headers, to the end of the header (every cookie and attribute in it).
  [/\b((?:set-)?cookie)(\s*:[ \t]*)("?)(?![ \t]|\[redacted)(?:[^"\\\r\n]|\\[^nr"])+/gi, (_m, k: string, sep: string, q: string) => `${k}${sep}${q}${REDACTED}`],
  // Presigned URL and header parameters: signature, credential scope (holds the key id), session token.
  [/\b((?:X-Amz-)?(?:Signature|Credential|Security-Token)|AWSAccessKeyId)=[^&\s"'#]*/gi, (_m, k: string) => `${k}=${REDACTED}`],
  // JSON members naming a secret (`"SecretAccessKey":"…"`, `"MasterUserPassword":"…"`, `"signature":"…"`), and a JWK's private members.
  jsonMembers,
  jwkMembers,
  yamlBlockValues,
  // A signed JSON Web Token (header and claims are base64url JSON, `eyJ`): a bearer credential. A JWE's second part is a key, not `eyJ`.
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g, '[redacted-jwt]'],
  // In a query string (`?NAME=` or `&NAME=`), `&` ends the value.
  [new RegExp(`(?<=[?&])(${SECRET_NAME})(=)(${QUERY_VALUE})`, 'gi'), redactAssigned],
  // NAME=value, NAME: value, NAME = value (environment, ini, logs), to the end of the value.
  // Not inside an ARN or a path (`…:secret:db-AbCd`, `/password/`), where the name is a resource type.
  [new RegExp(`(?<![A-Za-z0-9_.:/-])(${SECRET_NAME})(\\s*[:=]\\s*)(${ASSIGNED_VALUE})`, 'gi'), redactAssigned],
  // A command-line flag and its value: `--db-password value` (`--db-password=value` is the rule above).
  // Not `-p`: too many tools mean something else by it (a port, a path, a profile).
  [new RegExp(`(?<![A-Za-z0-9_.:/-])(--${SECRET_NAME})([ \\t]+)(?!-)(${ASSIGNED_VALUE})`, 'gi'), redactAssigned],
  // A password in a URL's user information: postgres://user:pass@host.
  // Up to the last `@` before the host: a password may hold a raw `@` (`user:p@ss@host`), a host never does.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*):(?!\[redacted)[^\s/"'<>]+@/gi, (_m, head: string) => `${head}:${REDACTED}@`],
  // An EKS bearer token (a presigned GetCallerIdentity URL, base64url).
  [/\bk8s-aws-v1\.[A-Za-z0-9_-]+/g, `k8s-aws-v1.${REDACTED}`],
  [new RegExp(ACCESS_KEY_ID, 'g'), '[redacted-access-key-id]'],
  [new RegExp(SESSION_TOKEN, 'g'), '[redacted-session-token]'],
  // A secret key right after `=` or `:` counts too (AWS_SECRET_ACCESS_KEY=…), so only base64 characters bound it.
  [new RegExp(`(?<![A-Za-z0-9/+])${SECRET_KEY_BODY}(?![A-Za-z0-9/+=])`, 'g'), '[redacted-secret-key]'],
];

/** The kinds of secret `findSecrets` reports. */
export type SecretKind = 'access key id' | 'secret access key' | 'session token' | 'SigV4 signature';

const DETECTORS: Array<[SecretKind, RegExp]> = [
  ['access key id', new RegExp(ACCESS_KEY_ID, 'g')],
  ['session token', new RegExp(SESSION_TOKEN, 'g')],
  // Stricter edges than the scrubber's: a run of 40 inside base64url text (a JWE, a JWT) is not a key.
  ['secret access key', new RegExp(`(?<![A-Za-z0-9/+=_-])${SECRET_KEY_BODY}(?![A-Za-z0-9/+=_-])`, 'g')],
  ['SigV4 signature', new RegExp(SIGV4_SIGNATURE, 'gi')],
];

/**
 * The AWS credentials in `text`, by kind, one entry per occurrence: access key ids, secret access keys,
 * STS session tokens, SigV4 signatures. Never the secrets themselves, so the answer can be printed.
 */
export function findSecrets(text: string): SecretKind[] {
  const found: SecretKind[] = [];
  for (const [kind, pattern] of DETECTORS) found.push(...Array.from(text.matchAll(pattern), () => kind));
  return found;
}

function scrubString(text: string): string {
  let out = text;
  for (const step of VALUE_PATTERNS) {
    if (typeof step === 'function') out = step(out);
    else {
      const [pattern, replacement] = step;
      out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
    }
  }
  return out;
}

/**
 * A copy of `value` with anything that looks like a credential redacted: access key ids, secret keys,
 * session tokens, SigV4 `Authorization` values and presigned-URL signatures, Basic and Bearer
 * credentials, cookies, EKS bearer tokens and other JWTs, values assigned to secret names
 * (`AWS_SECRET_ACCESS_KEY=…`, `aws_secret_access_key = …`, `PGPASSWORD=…`, `--db-password …`), to the
 * end of the value, JSON members and properties naming a secret (`"SecretAccessKey":"…"`,
 * `"signature":"…"`, `apiKey`, `token`, a number too), passwords in URLs (`postgres://user:pass@host`),
 * the private members of a JSON Web Key (`"d"`, in an object or JSON text with `"kty"`), PEM private keys
 * (what is left of one cut by a window too) and a Kubernetes Secret's `data` and `stringData`. Call it
 * before sealing. Each string is scrubbed as one text: scrub lines of output joined, not one by one, or
 * the rules that span lines (PEM, YAML) cannot see them.
 */
export function scrubSecrets<T>(value: T): T {
  return scrub(value, new WeakSet()) as T;
}

function scrub(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, seen));
  const isJwk = Object.prototype.hasOwnProperty.call(value, 'kty');
  // A Kubernetes Secret, parsed: every value under data and stringData.
  const isK8sSecret = (value as { kind?: unknown }).kind === 'Secret';
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && (isSecretName(key) || (isJwk && PRIVATE_JWK_MEMBERS.includes(key)))) out[key] = REDACTED;
    else if (isK8sSecret && (key === 'data' || key === 'stringData') && v !== null && typeof v === 'object') out[key] = Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
    else out[key] = scrub(v, seen);
  }
  return out;
}
