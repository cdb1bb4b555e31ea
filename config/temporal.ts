import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { loadClientConfigProfile, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';

/**
 * How drover reaches Temporal: Temporal's own environment configuration (`@temporalio/envconfig`), the same
 * variables and TOML file the `temporal` CLI and every SDK read, so a team's existing setup works unchanged.
 *
 * - `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`;
 * - `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH`/`_DATA`,
 *   `TEMPORAL_TLS_SERVER_CA_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`;
 * - `TEMPORAL_PROFILE` and `TEMPORAL_CONFIG_FILE` (default `~/.config/temporalio/temporal.toml`).
 *
 * A variable overrides the profile's value. Without an address from either, the running `drover dev` stack,
 * else 127.0.0.1:7233. An API key turns TLS on (envconfig's rule, and Temporal Cloud's requirement).
 *
 * Two rules of drover's own on top (docs/production.md): a `TEMPORAL_CONFIG_FILE` that does not exist is refused
 * (envconfig would fall back to no file, and a typo would connect somewhere else without a word), and a client
 * certificate without its key, or the reverse, is refused (envconfig would drop both and connect without mTLS).
 */

/** A configuration drover cannot use: every problem names the variable or profile key to fix. */
export class TemporalConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the Temporal connection configuration is not usable: ${problems.join('; ')}`);
    this.name = 'TemporalConfigError';
  }
}

/** What the CLI, the worker and drill schedules connect with: the SDK's own option shapes. */
export interface TemporalConnection {
  address: string;
  namespace: string;
  /** TLS settings, `true` for TLS with the system's CAs, undefined for plain text. */
  tls?: TLSConfig | true;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The profile as configured, before any file it names is read: what `namespace()` and the start lines need. */
export interface TemporalProfile {
  /** The profile name when one was asked for (TEMPORAL_PROFILE), else undefined (the file's `default`, if any). */
  name?: string;
  /** The TOML file named by TEMPORAL_CONFIG_FILE (envconfig finds the default one itself). */
  file?: string;
  profile: ClientConfigProfile;
}

const ENV = {
  cert: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  key: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  ca: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
  apiKey: 'TEMPORAL_API_KEY',
  tls: 'TEMPORAL_TLS',
} as const;

/** The configured profile: the TOML file (when present) with the variables applied over it. */
export function temporalProfile(env: NodeJS.ProcessEnv = process.env): TemporalProfile {
  const vars = definedVars(env);
  const explicitFile = vars.TEMPORAL_CONFIG_FILE;
  if (explicitFile && !fs.existsSync(explicitFile)) {
    throw new TemporalConfigError([`TEMPORAL_CONFIG_FILE: ${explicitFile} does not exist`]);
  }
  try {
    const profile = loadClientConfigProfile({ overrideEnvVars: vars });
    return { name: vars.TEMPORAL_PROFILE || undefined, file: explicitFile, profile };
  } catch (e) {
    const where = explicitFile ?? 'the Temporal configuration file (TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml)';
    throw new TemporalConfigError([`${where}: ${(e as Error).message.split('\n')[0]}`]);
  }
}

/** The namespace drover runs in: TEMPORAL_NAMESPACE, else the profile's, else `default`. */
export function temporalNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return temporalProfile(env).profile.namespace || 'default';
}

/**
 * The connection options: certificates and keys read from their files here, so a wrong path is a usage error
 * (exit 2) naming the variable, before any connection is tried. `fallbackAddress` is the dev stack's, if running.
 */
export function temporalConnection(env: NodeJS.ProcessEnv = process.env, fallbackAddress?: string): TemporalConnection {
  const { profile, name } = temporalProfile(env);
  const problems: string[] = [];
  const origin = (variable: string, key: string) => (definedVars(env)[variable] ? variable : `profile ${name ?? 'default'} tls.${key}`);
  const t = profile.tls;
  const vars = definedVars(env);
  // envconfig reads only "1" and "true" as true: anything else (TRUE, yes, on) would turn TLS off without a word.
  if (vars[ENV.tls] !== undefined && !['1', 'true', '0', 'false'].includes(vars[ENV.tls])) {
    problems.push(`${ENV.tls}: expected true or false (or 1 or 0), got "${vars[ENV.tls]}"`);
  }
  if (t?.disabled) {
    const material = [t.clientCert && 'a client certificate', t.clientKey && 'a client key', t.serverCACert && 'a server CA', t.serverName && 'a server name'].filter(Boolean);
    if (material.length > 0) problems.push(`${ENV.tls}: TLS is turned off (${ENV.tls}=false or profile tls.disabled), but ${material.join(', ')} is configured: drover does not guess which you meant, remove one`);
    if (Object.keys(profile.grpcMeta ?? {}).some((k) => k.toLowerCase() === 'authorization')) problems.push(`TEMPORAL_GRPC_META_AUTHORIZATION: a credential is configured with TLS turned off: drover never sends a credential in plain text`);
  }
  let tlsOption: TLSConfig | true | undefined;
  if (t && !t.disabled) {
    const read = (source: typeof t.clientCert, variable: string, key: string): Uint8Array | undefined => {
      if (!source) return undefined;
      if ('data' in source) return typeof source.data === 'string' ? new TextEncoder().encode(source.data) : source.data;
      try {
        return new Uint8Array(fs.readFileSync(source.path));
      } catch (e) {
        problems.push(`${origin(variable, key)}: cannot read ${source.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        return undefined;
      }
    };
    const crt = read(t.clientCert, ENV.cert, 'client_cert_path');
    const key = read(t.clientKey, ENV.key, 'client_key_path');
    const ca = read(t.serverCACert, ENV.ca, 'server_ca_cert_path');
    if (Boolean(t.clientCert) !== Boolean(t.clientKey)) {
      problems.push(t.clientCert ? `${ENV.key}: a client certificate is configured without its key` : `${ENV.cert}: a client key is configured without its certificate`);
    }
    tlsOption = { serverNameOverride: t.serverName, serverRootCACertificate: ca, clientCertPair: crt && key ? { crt, key } : undefined };
  } else if (!t && profile.apiKey) {
    tlsOption = true; // an API key is sent over TLS only (envconfig's rule)
  } else if (t?.disabled && profile.apiKey) {
    problems.push(`${ENV.apiKey}: an API key is configured with TLS turned off (${ENV.tls}=false or profile tls.disabled): drover never sends a credential in plain text`);
  }
  if (problems.length > 0) throw new TemporalConfigError(problems);
  return {
    address: profile.address || fallbackAddress || '127.0.0.1:7233',
    namespace: profile.namespace || 'default',
    ...(tlsOption ? { tls: tlsOption } : {}),
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
  };
}

/** One line for a terminal: where, which namespace, and how it is secured (never a secret). */
export function describeTemporal(c: TemporalConnection): string {
  const security = !c.tls ? 'plain text' : typeof c.tls === 'object' && c.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `Temporal at ${c.address}, namespace ${c.namespace} (${security}${c.apiKey ? ', API key' : ''})`;
}

/**
 * Why a connection failed, in words an operator can act on: a TLS handshake of our own to the same address (with
 * the same CA, name and client certificate) tells a wrong CA, a wrong server name, a missing or refused client
 * certificate, and TLS spoken to a plain-text server or the reverse apart. Called only after a failure; it sends
 * no credential other than the client certificate the connection itself would present.
 */
export async function diagnoseTemporal(c: TemporalConnection, timeoutMs = 5_000): Promise<string[]> {
  const { host, port = 7233 } = splitAddress(c.address);
  const opts = typeof c.tls === 'object' ? c.tls : undefined;
  const servername = opts?.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  const handshake = (verify: boolean) =>
    new Promise<{ ok: true } | { ok: false; code?: string; message: string }>((resolve) => {
      const socket = tls.connect({
        host,
        port,
        servername,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: verify,
        ca: pem(opts?.serverRootCACertificate),
        cert: pem(opts?.clientCertPair?.crt),
        key: pem(opts?.clientCertPair?.key),
        checkServerIdentity: (_h, cert) => (opts?.serverNameOverride ? tls.checkServerIdentity(opts.serverNameOverride, cert) : tls.checkServerIdentity(host, cert)),
      });
      const done = (r: { ok: true } | { ok: false; code?: string; message: string }) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT', message: `no answer in ${timeoutMs} ms` }), timeoutMs);
      // TLS 1.3 servers refuse a client certificate after the handshake: the alert arrives with the first read.
      socket.on('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'));
      socket.on('data', () => done({ ok: true }));
      socket.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, code: e.code, message: e.message.split('\n')[0] }));
      socket.on('close', () => done({ ok: false, code: 'ECONNRESET', message: 'the server closed the connection' }));
    });

  if (!c.tls) {
    const r = await handshake(false);
    if (r.ok || /CERTIFICATE_REQUIRED|alert/i.test(`${r.code} ${r.message}`)) {
      return [`Temporal at ${c.address} speaks TLS, but drover connects in plain text: set ${ENV.tls}=true and ${ENV.ca} (and the client certificate if the server asks for one), or name a profile with TEMPORAL_PROFILE`];
    }
    return [];
  }
  const r = await handshake(true);
  if (r.ok) return [];
  const what = `${r.code ?? 'error'}: ${r.message}`;
  if (r.code === 'ECONNREFUSED' || r.code === 'ENOTFOUND' || r.code === 'EAI_AGAIN' || r.code === 'ETIMEDOUT') return [];
  if (/WRONG_VERSION_NUMBER|wrong version number|packet length too long|unknown protocol/i.test(what)) {
    return [`Temporal at ${c.address} does not speak TLS (${what}): check the address, or turn TLS off for a plain-text server (${ENV.tls}=false)`];
  }
  if (/ALTNAME|Hostname\/IP does not match/i.test(what)) {
    return [`the certificate of Temporal at ${c.address} does not name the host drover asked for (${what}): set ${ENV.serverName} to a name in its certificate`];
  }
  if (/CERT_SIGNATURE|UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i.test(what)) {
    return [`drover does not trust the certificate of Temporal at ${c.address} (${what}): ${ENV.ca} must name the CA that signed the server's certificate${opts?.serverRootCACertificate ? '' : ' (none is set, so only the system CAs are trusted)'}`];
  }
  if (/CERTIFICATE_REQUIRED|certificate required|alert handshake failure|HANDSHAKE_FAILURE/i.test(what) && !opts?.clientCertPair) {
    return [`Temporal at ${c.address} requires a client certificate (mTLS) and none is configured (${what}): set ${ENV.cert} and ${ENV.key}`];
  }
  if (/BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|alert/i.test(what)) {
    return [`Temporal at ${c.address} refused drover's client certificate (${what}): check that ${ENV.cert} is signed by a CA the server trusts, is not expired, and matches ${ENV.key}`];
  }
  return [`the TLS handshake with Temporal at ${c.address} failed (${what})`];
}

/** gRPC's refusals of a credential (UNAUTHENTICATED 16, PERMISSION_DENIED 7), said as such. */
export function credentialRefusal(e: unknown, c: TemporalConnection): string | undefined {
  // The SDK wraps the gRPC error ("Failed to connect to Temporal server"): its status is on a cause.
  for (let cause = e, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    const said = refusalOf(cause, c);
    if (said) return said;
  }
  return undefined;
}

function refusalOf(e: unknown, c: TemporalConnection): string | undefined {
  const code = (e as { code?: unknown }).code;
  const text = String((e as Error)?.message ?? e);
  if (code === 5 || /Namespace .* (is )?not found|NamespaceNotFound/i.test(text)) {
    return `Temporal at ${c.address} has no namespace ${c.namespace} (${text.split('\n')[0]}): check TEMPORAL_NAMESPACE (docs/production.md: the namespace drover needs)`;
  }
  const unauthenticated = code === 16 || /UNAUTHENTICATED|Unauthenticated/.test(text);
  const denied = code === 7 || /PERMISSION_DENIED|PermissionDenied/i.test(text);
  if (!unauthenticated && !denied) return undefined;
  const first = text.split('\n')[0];
  if (unauthenticated) {
    return c.apiKey
      ? `Temporal at ${c.address} refused drover's API key (${first}): check ${ENV.apiKey} is current and not revoked`
      : `Temporal at ${c.address} requires a credential (${first}): set ${ENV.apiKey}, or a client certificate (${ENV.cert}, ${ENV.key})`;
  }
  return `Temporal at ${c.address} does not allow drover's identity in namespace ${c.namespace} (${first}): grant it access to the namespace (docs/production.md)`;
}

function pem(bytes: Uint8Array | undefined): Buffer | undefined {
  return bytes ? Buffer.from(bytes) : undefined;
}

/** `host:port`, `[v6]:port` or a bare host: the host without brackets, and the port when given. */
export function splitAddress(address: string): { host: string; port?: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  return m ? { host: m[1], port: Number(m[2]) } : { host: address.trim().replace(/^\[|\]$/g, '') };
}

/** Whether an address is this host's own (loopback): the embedded dev server's. */
export function isLoopbackAddress(address: string): boolean {
  const { host } = splitAddress(address);
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The variables with a value: an empty one counts as unset, as it does for TEMPORAL_ADDRESS today. */
function definedVars(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
}
