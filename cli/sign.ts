import { randomBytes } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { stsEndpoint } from '../aws/clients';
import { textDigest } from '../activities/identity';
import { checkedPublicKey, sealIdentity, type IdentityPublicKey } from '../activities/sealing';
import { BINDING_HEADER, formatBinding, headerValue, parseBinding, type Binding, type SealedIdentity, type SignedIdentity } from '../contracts/identity';
import { awsConfig } from './context';
import { CliError, EXIT } from './io';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignOptions {
  /** What the request is good for; the comment is bound by its sha256. */
  binding: Omit<Binding, 'nonce' | 'comment'> & { comment?: string };
  /** Default: the SDK's default credential chain (environment, profile, SSO, container, instance). */
  credentials?: Credentials | (() => Promise<Credentials>);
  /** Default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Default: where this configuration's workers verify (AWS_ENDPOINT_URL_STS, the emulator, or sts.<region>.amazonaws.com). */
  endpoint?: URL;
  /** Default: now. Tests sign with a clock set back. */
  signingDate?: Date;
}

const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** The region the CLI signs for. */
export function signingRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}

/**
 * Sign an STS GetCallerIdentity with the caller's AWS credentials (SigV4 in the Authorization header),
 * bound by the x-drover-binding header to one decision and a fresh nonce. Nothing is sent to AWS here:
 * the workflow's worker replays the request to STS and learns the caller's ARN from the answer.
 */
export async function signIdentity(opts: SignOptions): Promise<SignedIdentity> {
  const region = opts.region ?? signingRegion();
  const endpoint = opts.endpoint ?? stsEndpoint(awsConfig(), region);
  const binding = formatBinding({ ...opts.binding, nonce: randomBytes(16).toString('hex'), comment: textDigest(opts.binding.comment) });
  const credentials = opts.credentials ?? defaultProvider();
  const request = new HttpRequest({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: '/',
    headers: { host: endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', [BINDING_HEADER]: binding },
    body: BODY,
  });
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign(request, { signingDate: opts.signingDate });
  return { method: 'POST', url: `${endpoint.origin}/`, headers: { ...(signed.headers as Record<string, string>) }, body: BODY };
}

/**
 * Seal a signed request for a worker's identity key: the JWE and the binding in clear text (run, gate,
 * decision, nonce: no secret). Only the worker holding the private key can read the request.
 */
export async function sealSigned(identity: SignedIdentity, key: IdentityPublicKey): Promise<SealedIdentity> {
  const binding = parseBinding(headerValue(identity.headers, BINDING_HEADER));
  if (!binding) throw new Error(`the signed request has no valid ${BINDING_HEADER} header`);
  return { jwe: await sealIdentity(identity, key), binding: { run: binding.run, gate: binding.gate, decision: binding.decision, nonce: binding.nonce } };
}

/**
 * Sign for the CLI user and seal the request to the key the run published (exit 2 without credentials).
 * `region`: the STS region the run names (the worker verifies only where it chose); default the CLI's.
 */
export async function sealAsCaller(binding: SignOptions['binding'], published: IdentityPublicKey, region?: string): Promise<SealedIdentity> {
  let key: IdentityPublicKey;
  try {
    key = await checkedPublicKey(published);
  } catch (e) {
    throw new CliError(`cannot seal your identity: ${(e as Error).message}`, EXIT.FAILED);
  }
  return sealSigned(await signAsCaller(binding, region), key);
}

function noCredentials(e: unknown): CliError | undefined {
  const name = (e as Error).name;
  if (name !== 'CredentialsProviderError' && !/credential/i.test((e as Error).message)) return undefined;
  return new CliError(`no AWS credentials to sign your identity with: ${(e as Error).message}`, EXIT.USAGE, [
    'drover verifies requesters and approvers through STS: configure AWS credentials (AWS_PROFILE, SSO, environment, instance role),',
    'or, where the runbook sets approvals.trustClientIdentity (local development only), pass --as ID',
  ]);
}

/** Sign for the CLI user, turning a missing credential chain into a clear message (exit 2). */
export async function signAsCaller(binding: SignOptions['binding'], region?: string): Promise<SignedIdentity> {
  try {
    return await signIdentity({ binding, region });
  } catch (e) {
    throw noCredentials(e) ?? e;
  }
}

/** Fail early (exit 2, nothing started) when the CLI user has no AWS credentials to prove who they are. */
export async function ensureCallerCredentials(): Promise<void> {
  try {
    await defaultProvider()();
  } catch (e) {
    throw noCredentials(e) ?? new CliError(`no AWS credentials to sign your identity with: ${(e as Error).message}`, EXIT.USAGE);
  }
}
