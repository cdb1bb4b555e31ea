// Credentials never enter the audit trail (DESIGN: no secrets in payloads). Pure, so workflows may use it too.

export const REDACTED = '[redacted]';

// Property names whose whole value is a secret. `SecretArn`/`SecretId`/`SecretName` name a secret, they are not one.
const SECRET_KEY = /(password|passwd|secret(?![-_]?(arn|id|name)$)|session[-_]?token|security[-_]?token|signature|authorization|credential|cookie|private[-_]?key)/i;

// The credential shapes, shared by the scrubber (which redacts them) and `findSecrets` (which reports them).
/** Access key ids: long-term (AKIA) and temporary (ASIA). */
const ACCESS_KEY_ID = '\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b';
/** STS session tokens start with these base64 prefixes. */
const SESSION_TOKEN = '\\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=%]{20,}';
/** Secret access keys: 40 base64 characters mixing upper, lower and digits (hex digests have no upper case). */
const SECRET_KEY_BODY = '(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}';
/** A SigV4 signature, in an Authorization header or a presigned URL. */
const SIGV4_SIGNATURE = '\\b(?:X-Amz-)?Signature=[0-9a-f]{64}\\b';

const VALUE_PATTERNS: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // An Authorization header's SigV4 value, as text: everything after the scheme.
  [/AWS4-HMAC-SHA256\s+[^"'\n]*/g, `AWS4-HMAC-SHA256 ${REDACTED}`],
  [/\b(authorization)(\s*[:=]\s*)("?)[^"\n,}]*/gi, (_m, k: string, sep: string, q: string) => `${k}${sep}${q}${REDACTED}`],
  // Presigned URL and header parameters: signature, credential scope (holds the key id), session token.
  [/\b((?:X-Amz-)?(?:Signature|Credential|Security-Token)|AWSAccessKeyId)=[^&\s"'#]*/gi, (_m, k: string) => `${k}=${REDACTED}`],
  [new RegExp(ACCESS_KEY_ID, 'g'), '[redacted-access-key-id]'],
  [new RegExp(SESSION_TOKEN, 'g'), '[redacted-session-token]'],
  [new RegExp(`(?<![A-Za-z0-9/+=])${SECRET_KEY_BODY}(?![A-Za-z0-9/+=])`, 'g'), '[redacted-secret-key]'],
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
  for (const [pattern, replacement] of VALUE_PATTERNS) out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  return out;
}

/**
 * A copy of `value` with anything that looks like an AWS credential redacted: access key ids, secret keys,
 * session tokens, SigV4 `Authorization` values and presigned-URL signatures. Call it before sealing.
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
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && SECRET_KEY.test(key)) out[key] = REDACTED;
    else out[key] = scrub(v, seen);
  }
  return out;
}
