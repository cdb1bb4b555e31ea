import { createHash } from 'node:crypto';
import { scrubSecrets } from '../audit/scrub';
import type { StsReplayApi } from '../aws/clients';
import { BINDING_HEADER, headerValue, parseBinding, type Binding, type SealedIdentity, type SignedIdentity } from '../contracts/identity';
import { identityKeyFile, loadOrCreateIdentityKey, publicIdentityKey, UnsealError, unsealIdentity, type IdentityPublicKey } from './sealing';
import { AWS_REGION_SHAPE } from '../runbooks/aws-regions';

/**
 * An AWS region name and nothing else. The credential scope's region names the STS host the worker
 * sends the request to, so it must never be able to carry a host (`a@evil.example#`).
 */
export const AWS_REGION_NAME = AWS_REGION_SHAPE;

/** How old a signed request may be (X-Amz-Date), either way: 5 minutes, as Vault's AWS auth. */
export const MAX_SIGNATURE_AGE_MS = 5 * 60_000;

const GET_CALLER_IDENTITY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** Why a signed identity was refused: forged (STS rejected the signature), expired, replayed (bound elsewhere or used), unverifiable. */
export type RefusalKind = 'forged' | 'expired' | 'replayed' | 'unverifiable';

export type IdentityCheck =
  | { ok: true; arn: string; account: string; userId: string; requestId?: string }
  | { ok: false; kind: RefusalKind; reason: string };

export interface VerifyIdentityInput {
  /** The signed request sealed for this worker's identity key (what the CLI sends since sealed identities). */
  sealed?: SealedIdentity;
  /** The signed request in clear text (runs recorded before sealed identities). */
  request?: SignedIdentity;
  /** What the request must be bound to; `comment` is the text whose sha256 the binding must carry. */
  expect: { run: string; gate: string; decision: Binding['decision']; comment?: string };
  /** Nonces the run has seen before; the workflow also spends each nonce before it calls this. */
  usedNonces?: string[];
  /** The regions whose STS endpoint may verify this request when the worker names none (the runbook's regions). */
  regions?: string[];
}

/** Where this worker verifies identities: what a gate publishes, so the CLI signs for a region the worker accepts. */
export interface IdentityVerifier {
  key: IdentityPublicKey;
  /** The regions whose STS endpoint verifies identities, the preferred one first. */
  stsRegions: string[];
}

/** The regions a worker verifies at: its configured list, else the run's (its runbook's regions), AWS region names only. */
export function verifyingRegions(configured: string[] | undefined, fromRun: string[] | undefined): string[] {
  return (configured && configured.length > 0 ? configured : fromRun ?? []).filter((r) => AWS_REGION_NAME.test(r));
}

/** STS errors that mean the signature or the key is not good: the caller is refused, not retried. */
const FORGED = new Set(['SignatureDoesNotMatch', 'IncompleteSignature', 'InvalidSignatureException']);
const REFUSED = new Set(['InvalidClientTokenId', 'ExpiredToken', 'AccessDenied', 'UnrecognizedClientException', 'MissingAuthenticationToken', 'RequestExpired', 'InvalidAction', 'InvalidParameterValue', 'MissingParameter']);

/** sha256 hex of a comment or reason, as the binding carries it. */
export function textDigest(text: string | undefined): string | undefined {
  return text ? createHash('sha256').update(text, 'utf8').digest('hex') : undefined;
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1]?.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");
}

/** X-Amz-Date (`20260102T030405Z`) as epoch ms. */
function amzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

/**
 * Identity verification in the manner of Vault's AWS IAM auth: the CLI signs an STS GetCallerIdentity
 * with the caller's credentials and a binding header; the worker checks the binding, the age and the
 * request's shape, replays it unchanged to its own STS endpoint, and reads the caller's ARN from the answer.
 * Nothing of the request (its Authorization header above all) is returned, logged or thrown.
 */
export function createIdentityActivities(deps: { sts: (region: string) => StsReplayApi; now?: () => number; keyFile?: string; regions?: string[] }) {
  const now = deps.now ?? Date.now;
  const keyFile = deps.keyFile ?? identityKeyFile();
  // Created (or read) when the worker starts, so a CLI on this host finds it before the first gate opens;
  // a failure is reported when the key is first needed.
  let loaded: { key: ReturnType<typeof loadOrCreateIdentityKey>; pub: Promise<IdentityPublicKey> } | undefined;
  const identityKey = () => {
    if (!loaded) {
      const key = loadOrCreateIdentityKey(keyFile);
      loaded = { key, pub: publicIdentityKey(key) };
    }
    return loaded;
  };
  try {
    identityKey();
  } catch {
    // Reported by identityPublicKey / verifyIdentity.
  }
  return {
    /** The worker's public identity key and its thumbprint, for the run's status (what the CLI seals to). */
    async identityPublicKey(): Promise<IdentityPublicKey> {
      return identityKey().pub;
    },

    /** The public identity key and the STS regions this worker verifies at (its own list, else the run's regions). */
    async identityVerifier(input: { regions?: string[] }): Promise<IdentityVerifier> {
      return { key: await identityKey().pub, stsRegions: verifyingRegions(deps.regions, input?.regions) };
    },

    async verifyIdentity(input: VerifyIdentityInput): Promise<IdentityCheck> {
      const refuse = (kind: RefusalKind, reason: string): IdentityCheck => ({ ok: false, kind, reason });
      const { expect } = input;
      let request: SignedIdentity;
      if (input.sealed) {
        const { key, pub } = identityKey();
        try {
          request = await unsealIdentity(input.sealed.jwe, key, (await pub).kid);
        } catch (e) {
          if (e instanceof UnsealError) return refuse('unverifiable', e.message);
          throw e;
        }
        // The clear binding (whose nonce the workflow spent) must be the signed one.
        const signed = parseBinding(headerValue(request.headers, BINDING_HEADER));
        const clear = input.sealed.binding;
        if (signed && (signed.run !== clear.run || signed.gate !== clear.gate || signed.decision !== clear.decision || signed.nonce !== clear.nonce)) {
          return refuse('replayed', 'the binding sent with the sealed request is not the one it was signed with');
        }
      } else if (input.request) {
        request = input.request;
      } else {
        return refuse('unverifiable', 'no signed request');
      }
      const headers = request.headers ?? {};
      const lower = new Map<string, string>();
      for (const [k, v] of Object.entries(headers)) {
        if (lower.has(k.toLowerCase())) return refuse('unverifiable', `header ${k.toLowerCase()} appears twice`);
        lower.set(k.toLowerCase(), v);
      }

      // 1. The request is a GetCallerIdentity and nothing else (a signed request for any other call is refused).
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return refuse('unverifiable', 'the signed request has no valid URL');
      }
      if (request.method !== 'POST' || url.pathname !== '/' || url.search !== '' || request.body !== GET_CALLER_IDENTITY) {
        return refuse('unverifiable', 'the signed request is not an STS GetCallerIdentity (POST / with the form body Action=GetCallerIdentity&Version=2011-06-15)');
      }

      // 2. SigV4 in the Authorization header, for STS, covering the binding, the date and the host.
      const auth = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=[0-9a-f]{64}$/.exec(lower.get('authorization') ?? '');
      if (!auth) return refuse('unverifiable', 'the request carries no SigV4 Authorization header (presigned URLs are not accepted)');
      const scope = auth[1].split('/');
      if (scope.length !== 5 || scope[3] !== 'sts' || scope[4] !== 'aws4_request') return refuse('unverifiable', 'the request is not signed for STS');
      const [, scopeDate, region] = scope;
      // The worker, not the caller, chooses where identities are verified: a region that is not an AWS region
      // name, or not one this worker verifies at, is refused here, before any network call.
      if (!AWS_REGION_NAME.test(region)) return refuse('unverifiable', `the request is signed for region ${JSON.stringify(region.slice(0, 64))}, which is not an AWS region name; it was not sent anywhere`);
      // A run recorded before the worker chose its regions names none: any AWS region name then (its host cannot be the caller's).
      const allowed = deps.regions?.length || input.regions ? verifyingRegions(deps.regions, input.regions) : [region];
      if (!allowed.includes(region)) {
        return refuse('unverifiable', `the request is signed for STS in ${region}, but this worker verifies identities only in ${allowed.join(', ') || 'no region'}; it was not sent (drover approve signs for the region the gate names)`);
      }
      const signed = auth[2].split(';');
      for (const h of ['host', 'x-amz-date', BINDING_HEADER]) {
        if (!signed.includes(h)) return refuse('unverifiable', `the ${h} header is not among the signed headers`);
      }
      if (lower.has('x-amz-security-token') && !signed.includes('x-amz-security-token')) return refuse('unverifiable', 'the session token is not signed');

      // 3. Bound to this run, gate and decision (and comment), with a nonce not seen before.
      const binding = parseBinding(headerValue(headers, BINDING_HEADER));
      if (!binding) return refuse('unverifiable', `the ${BINDING_HEADER} header is not a valid binding`);
      if (binding.run !== expect.run) return refuse('replayed', `the request is bound to run ${binding.run}, not ${expect.run}`);
      if (binding.gate !== expect.gate) return refuse('replayed', `the request is bound to gate ${binding.gate}, not ${expect.gate}`);
      if (binding.decision !== expect.decision) return refuse('replayed', `the request is bound to the decision "${binding.decision}", not "${expect.decision}"`);
      if (binding.comment !== textDigest(expect.comment)) return refuse('replayed', 'the request is bound to another comment or reason');
      if (input.usedNonces?.includes(binding.nonce)) return refuse('replayed', 'the request was already used (nonce seen before)');

      // 4. Fresh: X-Amz-Date at most 5 minutes old (or ahead, for clock skew), and the scope of the same day.
      const dateText = lower.get('x-amz-date') ?? '';
      const signedAt = amzDate(dateText);
      if (signedAt === undefined || !dateText.startsWith(scopeDate)) return refuse('unverifiable', 'X-Amz-Date is missing, malformed or outside the credential scope');
      const age = now() - signedAt;
      if (age > MAX_SIGNATURE_AGE_MS) return refuse('expired', `the request was signed ${Math.round(age / 1000)}s ago (${dateText}); signed requests are good for ${MAX_SIGNATURE_AGE_MS / 60_000} minutes`);
      if (-age > MAX_SIGNATURE_AGE_MS) return refuse('unverifiable', `the request is dated ${Math.round(-age / 1000)}s in the future (${dateText}); check the signer's clock`);

      // 5. Sent to this worker's STS endpoint only, for which it must have been signed (the host is signed).
      const sts = deps.sts(region);
      if (lower.get('host') !== sts.endpoint.host) return refuse('unverifiable', `the request is signed for host ${lower.get('host')}, but this worker verifies identities at ${sts.endpoint.host} (region ${region})`);
      const sent: Record<string, string> = {};
      for (const [k, v] of lower) if (k !== 'content-length' && k !== 'connection' && k !== 'transfer-encoding') sent[k] = v;
      sent['content-length'] = String(Buffer.byteLength(request.body));
      const res = await deps.sts(region).send({ method: 'POST', path: '/', headers: sent, body: request.body });

      if (res.statusCode === 200) {
        const arn = tag(res.body, 'Arn');
        const account = tag(res.body, 'Account');
        if (!arn || !account) throw new Error(`STS answered GetCallerIdentity without an Arn (${res.body.length} bytes)`);
        return { ok: true, arn, account, userId: tag(res.body, 'UserId') ?? '', requestId: tag(res.body, 'RequestId') };
      }
      const code = tag(res.body, 'Code') ?? `HTTP ${res.statusCode}`;
      const message = tag(res.body, 'Message') ?? '';
      if (FORGED.has(code)) return refuse('forged', `STS refused the signature (${code})`);
      if (REFUSED.has(code) || (res.statusCode >= 400 && res.statusCode < 500 && !/throttl|slowdown|toomany/i.test(code) && res.statusCode !== 429)) {
        // STS's message can quote the request (an access key id): scrubbed before it reaches the history.
        const said = scrubSecrets(message).slice(0, 300);
        return refuse('unverifiable', `STS refused the request (${code}${said ? `: ${said}` : ''})`);
      }
      // Throttling and 5xx: Temporal retries the activity.
      throw new Error(`STS answered ${res.statusCode} ${code}`);
    },
  };
}
