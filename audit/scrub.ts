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
 * Names that, written `NAME=value`, `NAME: value` or `NAME = value` (an environment, an ini file such as
 * ~/.aws/credentials, a log line), hold a secret: AWS keys and tokens, passwords (`PGPASSWORD`,
 * `MasterUserPassword`, `password`), client secrets, private keys, signatures. A prefix is allowed
 * (`AWS_SECRET_ACCESS_KEY`, `db_password`); a suffix is not, so `SecretArn` and `password_policy` stay.
 */
const SECRET_NAME =
  '[A-Za-z0-9_.-]*?(?:secret[-_]?access[-_]?key|secret[-_]?key|session[-_]?token|security[-_]?token|passw(?:or)?d|passphrase|client[-_]?secret|secret|private[-_]?key|api[-_]?key|access[-_]?token|auth[-_]?token|signature)';
/** A value after `=` or `:`: quoted, or up to the next space, quote or separator; never one already redacted. */
const ASSIGNED_VALUE = `(?!\\[redacted)(?:"[^"\\n]*"|'[^'\\n]*'|[^\\s"',;&]+)`;

type Replacement = string | ((match: string, ...groups: string[]) => string);

/** `"key": "value"` in JSON text, escaped once or not (JSON inside a JSON string): the value redacted when the key names a secret. */
function jsonMembers(text: string): string {
  return text.replace(/(\\?)"([^"\\]{1,128})\\?"(\s*:\s*)\\?"((?:[^"\\]|\\(?!")|\\\\)*)\\?"/g, (m, esc: string, key: string, sep: string, value: string) =>
    SECRET_KEY.test(key) && !value.startsWith('[redacted') ? `${esc}"${key}${esc}"${sep}${esc}"${REDACTED}${esc}"` : m,
  );
}

/** A JSON Web Key's private members, in JSON text that holds a key (`"kty"`). */
function jwkMembers(text: string): string {
  if (!/\\?"kty\\?"\s*:/.test(text)) return text;
  const names = PRIVATE_JWK_MEMBERS.join('|');
  return text.replace(new RegExp(`(\\\\?)"(${names})\\\\?"(\\s*:\\s*)\\\\?"[A-Za-z0-9_-]+\\\\?"`, 'g'), (_m, esc: string, key: string, sep: string) => `${esc}"${key}${esc}"${sep}${esc}"${REDACTED}${esc}"`);
}

const VALUE_PATTERNS: Array<[RegExp, Replacement] | ((text: string) => string)> = [
  // PEM private keys, whole.
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g, (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${REDACTED} -----END ${kind}PRIVATE KEY-----`],
  // An Authorization header's SigV4 value, as text: everything after the scheme.
  [/AWS4-HMAC-SHA256\s+[^"'\n]*/g, `AWS4-HMAC-SHA256 ${REDACTED}`],
  [/\b(authorization)(\s*[:=]\s*)("?)[^"\n,}]*/gi, (_m, k: string, sep: string, q: string) => `${k}${sep}${q}${REDACTED}`],
  // Presigned URL and header parameters: signature, credential scope (holds the key id), session token.
  [/\b((?:X-Amz-)?(?:Signature|Credential|Security-Token)|AWSAccessKeyId)=[^&\s"'#]*/gi, (_m, k: string) => `${k}=${REDACTED}`],
  // JSON members naming a secret (`"SecretAccessKey":"…"`, `"MasterUserPassword":"…"`, `"signature":"…"`), and a JWK's private members.
  jsonMembers,
  jwkMembers,
  // NAME=value, NAME: value, NAME = value (environment, ini, logs).
  // Not inside an ARN or a path (`…:secret:db-AbCd`, `/password/`), where the name is a resource type.
  [new RegExp(`(?<![A-Za-z0-9_.:/-])(${SECRET_NAME})(\\s*[:=]\\s*)(${ASSIGNED_VALUE})`, 'gi'), (_m, k: string, sep: string, v: string) => `${k}${sep}${/^["']/.test(v) ? `${v[0]}${REDACTED}${v[0]}` : REDACTED}`],
  // A password in a URL's user information: postgres://user:pass@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*):(?!\[redacted)[^\s@/"'<>]+@/gi, (_m, head: string) => `${head}:${REDACTED}@`],
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
 * session tokens, SigV4 `Authorization` values and presigned-URL signatures, EKS bearer tokens, values
 * assigned to secret names (`AWS_SECRET_ACCESS_KEY=…`, `aws_secret_access_key = …`, `PGPASSWORD=…`),
 * JSON members naming a secret (`"SecretAccessKey":"…"`, `"signature":"…"`), passwords in URLs
 * (`postgres://user:pass@host`), the private members of a JSON Web Key (`"d"`, in an object or JSON
 * text with `"kty"`) and PEM private keys. Call it before sealing.
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
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && (SECRET_KEY.test(key) || (isJwk && PRIVATE_JWK_MEMBERS.includes(key)))) out[key] = REDACTED;
    else out[key] = scrub(v, seen);
  }
  return out;
}
