/**
 * The identity binding the CLI, the workflows and the activities all speak: a signed STS GetCallerIdentity
 * bound to one decision of one run, and its sealed form. Imports nothing of drover's.
 */

/** The worker's public identity key, as the run's status publishes it: safe to show anyone. */
export interface IdentityPublicKey {
  /** The JWK thumbprint (RFC 7638, SHA-256): a sealed identity's `kid`. */
  kid: string;
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

/** The header of a signed GetCallerIdentity that binds it to one decision of one run. */
export const BINDING_HEADER = 'x-drover-binding';

/** A signed STS GetCallerIdentity request, as the CLI made it: what proves an approver's identity. */
export interface SignedIdentity {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What a signed request is good for: one decision on one gate of one run, once (the nonce). */
export interface Binding {
  /** `<workflow id>/<run id>`; for a run's requester, the workflow id alone (the run id is not known before the start). */
  run: string;
  /** The gate, or `*` for a requester's identity. */
  gate: string;
  decision: 'approve' | 'reject' | 'request';
  /** 16 to 32 random bytes, hex. */
  nonce: string;
  /** sha256 hex of the comment or reason, so a captured request cannot carry another text. */
  comment?: string;
}

/** The binding header's value: `v1;run=...;gate=...;decision=...;nonce=...[;comment=...]`, values URI-encoded. */
export function formatBinding(b: Binding): string {
  const parts = [`run=${encodeURIComponent(b.run)}`, `gate=${encodeURIComponent(b.gate)}`, `decision=${b.decision}`, `nonce=${b.nonce}`];
  if (b.comment) parts.push(`comment=${b.comment}`);
  return ['v1', ...parts].join(';');
}

/** Parse a binding header value; undefined when it is not a well-formed v1 binding. */
export function parseBinding(value: string | undefined): Binding | undefined {
  if (!value) return undefined;
  const [version, ...parts] = value.trim().split(';');
  if (version !== 'v1') return undefined;
  const fields = new Map<string, string>();
  for (const p of parts) {
    const i = p.indexOf('=');
    if (i <= 0 || fields.has(p.slice(0, i))) return undefined;
    fields.set(p.slice(0, i), p.slice(i + 1));
  }
  const decision = fields.get('decision');
  const nonce = fields.get('nonce') ?? '';
  const comment = fields.get('comment');
  if (decision !== 'approve' && decision !== 'reject' && decision !== 'request') return undefined;
  if (!/^[0-9a-f]{32,64}$/.test(nonce) || (comment !== undefined && !/^[0-9a-f]{64}$/.test(comment))) return undefined;
  if ([...fields.keys()].some((k) => !['run', 'gate', 'decision', 'nonce', 'comment'].includes(k))) return undefined;
  try {
    const run = decodeURIComponent(fields.get('run') ?? '');
    const gate = decodeURIComponent(fields.get('gate') ?? '');
    return run && gate ? { run, gate, decision, nonce, comment } : undefined;
  } catch {
    return undefined;
  }
}

/** A header of a request, whatever its case. */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}


/** What the workflow reads of a sealed request's binding (the comment digest stays inside the seal). */
export type SealedBinding = Omit<Binding, 'comment'>;

/**
 * A signed identity sealed for the worker: a compact JWE (`ECDH-ES+A256KW`, `A256GCM`, `kid` the
 * thumbprint of the worker's identity key) of the SignedIdentity JSON, and its binding in clear text,
 * which holds no secret: the workflow spends the nonce before it awaits anything, and the worker checks
 * that the clear binding is the signed one.
 */
export interface SealedIdentity {
  jwe: string;
  binding: SealedBinding;
}

/** A run's requester proof: sealed, or (recorded before sealed identities) a signed request in clear text. */
export type RequesterIdentity = SealedIdentity | SignedIdentity;

export function isSealed(proof: RequesterIdentity): proof is SealedIdentity {
  return typeof (proof as SealedIdentity).jwe === 'string';
}
