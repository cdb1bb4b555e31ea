/**
 * Sealed identities: the CLI encrypts its signed GetCallerIdentity (a bearer proof that holds the
 * caller's access key id, and for temporary credentials the session token) as a compact JWE to the
 * worker's identity key, so workflow histories carry only ciphertext. The worker decrypts it in the
 * `verifyIdentity` activity. The key pair is a P-256 JWK: `$DROVER_IDENTITY_KEY_FILE`, else
 * `$DROVER_HOME/keys/identity.jwk`, created on first use (mode 0600). Every worker of a task queue must
 * use the same file.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, CompactEncrypt, compactDecrypt, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { droverHome } from '../config/home';
import type { IdentityPublicKey, SignedIdentity } from '../contracts/identity';

export type { IdentityPublicKey };

/** Key agreement and content encryption of a sealed identity. */
export const SEAL_ALG = 'ECDH-ES+A256KW';
export const SEAL_ENC = 'A256GCM';


interface PrivateJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

/** Where the worker's identity key lives: `$DROVER_IDENTITY_KEY_FILE`, else `$DROVER_HOME/keys/identity.jwk`. */
export function identityKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.DROVER_IDENTITY_KEY_FILE || path.join(droverHome(), 'keys', 'identity.jwk');
}

function parseKey(file: string, text: string): PrivateJwk {
  let jwk: Partial<PrivateJwk>;
  try {
    jwk = JSON.parse(text) as Partial<PrivateJwk>;
  } catch {
    throw new Error(`identity key ${file} is not JSON (expected a private P-256 JWK)`);
  }
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new Error(`identity key ${file} is not a P-256 EC JWK (kty EC, crv P-256, x, y, d)`);
  }
  return jwk as PrivateJwk;
}

/** Why `file` is not a usable identity key (absent, unreadable, not a private P-256 JWK), or undefined. Creates nothing. */
export function identityKeyProblem(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return `identity key ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  try {
    const jwk = parseKey(file, text);
    return typeof jwk.d === 'string' ? undefined : `identity key ${file} holds no private key (d): the worker needs the private JWK`;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The worker's private identity key: read from `file`, or created there (mode 0600, its directory 0700)
 * when it does not exist. Two workers starting at once agree: the file is created exclusively.
 */
export function loadOrCreateIdentityKey(file: string = identityKeyFile()): PrivateJwk {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    try {
      fs.writeFileSync(file, `${JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d })}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create identity key ${file}: ${(e as Error).message}`);
    }
  }
  const jwk = parseKey(file, fs.readFileSync(file, 'utf8'));
  if (typeof jwk.d !== 'string') throw new Error(`identity key ${file} holds no private key (d): the worker needs the private JWK`);
  return jwk;
}

/** The public half of a JWK, with its thumbprint. */
export async function publicIdentityKey(jwk: Pick<PrivateJwk, 'kty' | 'crv' | 'x' | 'y'>): Promise<IdentityPublicKey> {
  const pub = { kty: 'EC' as const, crv: 'P-256' as const, x: jwk.x, y: jwk.y };
  return { kid: await calculateJwkThumbprint(pub, 'sha256'), jwk: pub };
}

/**
 * The public identity key in the local key file, if there is one (a CLI on a worker's host, the dev
 * setup); undefined when there is none. Never creates the file: only workers do.
 */
export async function localPublicIdentityKey(file: string = identityKeyFile()): Promise<IdentityPublicKey | undefined> {
  if (!fs.existsSync(file)) return undefined;
  return publicIdentityKey(parseKey(file, fs.readFileSync(file, 'utf8')));
}

/** A published key checked against its thumbprint (a status is data from the server: check what it says). */
export async function checkedPublicKey(key: IdentityPublicKey): Promise<IdentityPublicKey> {
  const checked = await publicIdentityKey(key.jwk);
  if (checked.kid !== key.kid) throw new Error('the published identity key does not match its thumbprint');
  return checked;
}

/** Seal a signed identity to a worker's public key: a compact JWE whose `kid` is the key's thumbprint. */
export async function sealIdentity(identity: SignedIdentity, key: IdentityPublicKey): Promise<string> {
  const publicKey = await importJWK({ ...key.jwk }, SEAL_ALG);
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(identity)))
    .setProtectedHeader({ alg: SEAL_ALG, enc: SEAL_ENC, kid: key.kid, cty: 'application/vnd.drover.signed-identity+json' })
    .encrypt(publicKey);
}

/** Why a sealed identity could not be opened; the message names no secret. */
export class UnsealError extends Error {}

/** Open a sealed identity with the worker's private key; throws UnsealError (a clear reason) when it cannot. */
export async function unsealIdentity(jwe: string, key: PrivateJwk, kid: string): Promise<SignedIdentity> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    throw new UnsealError('the sealed identity is not a compact JWE');
  }
  if (header.kid !== kid) throw new UnsealError(`sealed for another worker key: share DROVER_IDENTITY_KEY_FILE across workers (the request's kid is ${String(header.kid)}, this worker's key is ${kid})`);
  let plaintext: Uint8Array;
  try {
    const privateKey = await importJWK({ ...key } as JWK, SEAL_ALG);
    ({ plaintext } = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: [SEAL_ALG, 'ECDH-ES'], contentEncryptionAlgorithms: [SEAL_ENC] }));
  } catch (e) {
    throw new UnsealError(`the sealed identity could not be decrypted with this worker's key (${(e as { code?: string }).code ?? 'invalid JWE'})`);
  }
  let identity: SignedIdentity;
  try {
    identity = JSON.parse(new TextDecoder().decode(plaintext)) as SignedIdentity;
  } catch {
    throw new UnsealError('the sealed identity does not hold JSON');
  }
  const wellFormed =
    typeof identity === 'object' && identity !== null && typeof identity.method === 'string' && typeof identity.url === 'string' && typeof identity.body === 'string' &&
    typeof identity.headers === 'object' && identity.headers !== null && Object.values(identity.headers).every((v) => typeof v === 'string');
  if (!wellFormed) throw new UnsealError('the sealed identity must carry method, url, headers and body');
  return identity;
}
