import type { PendingGate } from './gates';
import type { ApproveArgs, IdentifyArgs, RejectArgs, RequesterChallenge } from './messages';

/**
 * The wire checks of a run's Updates: what an approval, a rejection or a requester's proof must look
 * like before the workflow looks at who sent it. They run in Update validators, whose rejections are not
 * recorded in the history (a request in clear text, or an oversized one, never reaches it). Pure functions.
 */

/** The limits of what an Update may carry: a GetCallerIdentity request is small. */
export const MAX_IDENTITY_BYTES = 16 * 1024;
/** A sealed request: the JWE of one (base64url, plus the header and the wrapped key). */
export const MAX_SEALED_BYTES = 32 * 1024;
export const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
export const MAX_TEXT = 2000;
const NONCE = /^[0-9a-f]{32,64}$/;

/** An approval or rejection as the validator accepts it: the gate pending, one identity, well-formed. Throws with the reason. */
export function checkDecisionArgs(a: ApproveArgs | RejectArgs, pending: PendingGate | undefined, sealing: boolean): void {
  const gate = a.gate;
  if (!pending) throw new Error(`no gate is pending approval${gate ? ` (asked for "${gate}")` : ''}`);
  if (gate !== pending.name) throw new Error(`gate "${gate}" is not pending; the pending gate is "${pending.name}"`);
  if (!a.identity && !a.sealed && !a.approver?.trim()) throw new Error('an approval needs an identity: a signed request (AWS credentials) or, in local development, --as ID');
  if ([a.identity, a.sealed, a.approver].filter((x) => x !== undefined).length > 1) throw new Error('give either a signed identity or --as, not both');
  // Refused here, a request in clear text never reaches the history (validators' rejections are not recorded).
  if (a.identity && sealing) throw new Error('the signed identity must be sealed for the worker (this drover CLI predates sealed identities: upgrade it)');
  const text = (a as RejectArgs).reason ?? (a as ApproveArgs).comment;
  if (text && text.length > MAX_TEXT) throw new Error(`comment too long (${text.length} characters, at most ${MAX_TEXT})`);
  if (a.identity) {
    const i = a.identity;
    const wellFormed =
      typeof i === 'object' && typeof i.method === 'string' && typeof i.url === 'string' && typeof i.body === 'string' && typeof i.headers === 'object' && i.headers !== null &&
      Object.values(i.headers).every((v) => typeof v === 'string');
    if (!wellFormed) throw new Error('the signed identity must carry method, url, headers and body');
    if (JSON.stringify(i).length > MAX_IDENTITY_BYTES) throw new Error('the signed identity is too large');
  }
  if (a.sealed) {
    const s = a.sealed;
    const b = s?.binding;
    const wellFormed =
      typeof s === 'object' && s !== null && typeof s.jwe === 'string' && s.jwe.length <= MAX_SEALED_BYTES && COMPACT_JWE.test(s.jwe) &&
      typeof b === 'object' && b !== null && typeof b.run === 'string' && typeof b.gate === 'string' && ['approve', 'reject'].includes(b.decision) &&
      typeof b.nonce === 'string' && NONCE.test(b.nonce);
    if (!wellFormed) throw new Error('the sealed identity must be a compact JWE with its binding (run, gate, decision, nonce)');
  }
}

/** A requester's proof as the validator accepts it: the run waiting for one, and a sealed request bound to its challenge. */
export function checkRequesterProof(a: IdentifyArgs, challenge: RequesterChallenge | undefined, settled: boolean): void {
  const c = challenge;
  if (!c || settled) throw new Error('this run is not waiting for its requester\'s identity');
  const s = a?.sealed;
  const b = s?.binding;
  const wellFormed =
    typeof s === 'object' && s !== null && typeof s.jwe === 'string' && s.jwe.length <= MAX_SEALED_BYTES && COMPACT_JWE.test(s.jwe) &&
    typeof b === 'object' && b !== null && b.run === c.run && b.gate === '*' && b.decision === 'request' && typeof b.nonce === 'string' && NONCE.test(b.nonce);
  if (!wellFormed) throw new Error(`the requester's proof must be a sealed GetCallerIdentity bound to run ${c.run}, gate *, decision request`);
}
