/**
 * Known-answer test of the EKS bearer token drover signs for the redeploy hook (`eksToken`,
 * activities/rebuild.ts), checked against an independent signer: botocore, driven exactly the way
 * `aws eks get-token` drives it (aws/aws-cli awscli/customizations/eks/get_token.py: TokenGenerator and
 * STSClientFactory: an STS client whose GetCallerIdentity has the `x-k8s-aws-id` header injected before
 * signing, `generate_presigned_url('get_caller_identity', ExpiresIn=60, HttpMethod='GET')`, then
 * `k8s-aws-v1.` + the URL's urlsafe base64 with its `=` padding stripped).
 *
 * Same fixed credentials (AWS's documentation example keys), same fixed signing time (botocore's clock,
 * `botocore.auth.get_current_datetime`, patched to it; drover takes it as `eksToken`'s signingDate), same
 * region and cluster. Integration tier: it runs the Python of the tools venv the harness installs (the one
 * moto_server comes from, DROVER_TEST_MOTO_BIN).
 *
 * The two tokens are compared whole, except for the order of the URL's query parameters: botocore puts
 * X-Amz-Security-Token after X-Amz-SignedHeaders, the JS SDK's signer before X-Amz-Algorithm. SigV4 sorts the
 * query parameters by name into the canonical query string before signing and verifying (IAM User Guide,
 * "Create a signed AWS API request", the CanonicalQueryString of the canonical request:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), so the order in
 * the URL changes neither the signature nor what STS verifies; every parameter, its exact encoding and the
 * signature are compared.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { eksToken, type SigningCredentials } from '../activities/rebuild';

const run = promisify(execFile);

/** AWS's documented example access key pair (IAM User Guide), never a real credential. */
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** A made-up session token with the characters a real one has that need percent-encoding (`/`, `+`, `=`). */
const SESSION = 'FwoGZXIvYXdzEXAMPLE//////////wEaDExampleSessionToken+Q2lz/ZXhhbXBsZQ==';
/** SESSION as it appears in the URL (RFC 3986 percent-encoding). */
const SESSION_ENCODED = 'FwoGZXIvYXdzEXAMPLE%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDExampleSessionToken%2BQ2lz%2FZXhhbXBsZQ%3D%3D';

/** botocore's token, as `aws eks get-token` makes it, at the fixed time `at` (an ISO instant). */
const BOTOCORE = String.raw`
import base64, datetime, json, sys
import botocore.auth, botocore.session

a = json.loads(sys.argv[1])
at = datetime.datetime.fromisoformat(a['at'].replace('Z', '+00:00')).astimezone(datetime.timezone.utc).replace(tzinfo=None)
# SigV4's X-Amz-Date comes from this clock (botocore/auth.py: SigV4Auth.add_auth, SigV4QueryAuth).
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: at

sts = botocore.session.Session().create_client('sts', region_name=a['region'], aws_access_key_id=a['key'], aws_secret_access_key=a['secret'], aws_session_token=a['token'])

# awscli/customizations/eks/get_token.py, STSClientFactory._register_k8s_aws_id_handlers.
def retrieve(params, context, **kwargs):
    if 'x-k8s-aws-id' in params:
        context['x-k8s-aws-id'] = params.pop('x-k8s-aws-id')

def inject(request, **kwargs):
    if 'x-k8s-aws-id' in request.context:
        request.headers['x-k8s-aws-id'] = request.context['x-k8s-aws-id']

sts.meta.events.register('provide-client-params.sts.GetCallerIdentity', retrieve)
sts.meta.events.register('before-sign.sts.GetCallerIdentity', inject)

# TokenGenerator.get_token / _get_presigned_url (URL_TIMEOUT = 60, TOKEN_PREFIX = 'k8s-aws-v1.').
url = sts.generate_presigned_url('get_caller_identity', Params={'x-k8s-aws-id': a['cluster']}, ExpiresIn=60, HttpMethod='GET')
print('k8s-aws-v1.' + base64.urlsafe_b64encode(url.encode('utf-8')).decode('utf-8').rstrip('='))
`;

function venvPython(): string {
  const moto = process.env.DROVER_TEST_MOTO_BIN;
  if (!moto) throw new Error('DROVER_TEST_MOTO_BIN is not set: run this file through jest (the integration tier installs the tools venv)');
  return path.join(path.dirname(moto), 'python');
}

async function botocoreToken(c: { at: string; region: string; cluster: string; credentials: SigningCredentials }): Promise<string> {
  const arg = JSON.stringify({ at: c.at, region: c.region, cluster: c.cluster, key: c.credentials.accessKeyId, secret: c.credentials.secretAccessKey, token: c.credentials.sessionToken ?? null });
  const { stdout } = await run(venvPython(), ['-c', BOTOCORE, arg], {
    // Nothing of the test's environment (AWS_ENDPOINT_URL names moto there, and would be signed for):
    // no config or credential files, and STS's regional endpoints, which drover signs for.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', AWS_STS_REGIONAL_ENDPOINTS: 'regional' },
    timeout: 60_000,
  });
  return stdout.trim();
}

/**
 * A token taken apart: its prefix, the URL before the query, and the query's `name=value` pairs exactly as
 * encoded, sorted. The payload must be the unpadded base64url of the URL (re-encoding gives it back).
 */
function parts(token: string): { prefix: string; base: string; query: string[]; payloadRoundTrips: boolean } {
  const prefix = token.slice(0, 'k8s-aws-v1.'.length);
  const payload = token.slice(prefix.length);
  const url = Buffer.from(payload, 'base64url').toString('utf8');
  const [base, query = ''] = url.split('?');
  return { prefix, base, query: query.split('&').sort(), payloadRoundTrips: Buffer.from(url, 'utf8').toString('base64url') === payload };
}

const CASES = [
  {
    name: 'session credentials, ap-southeast-1',
    at: '2026-01-10T03:00:00.000Z',
    region: 'ap-southeast-1',
    host: 'sts.ap-southeast-1.amazonaws.com',
    date: '20260110T030000Z',
    cluster: 'apnakart-sg',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: SESSION },
  },
  {
    name: 'long-term keys (no session token), us-east-1, one second before a new UTC day and year',
    at: '2025-12-31T23:59:59.000Z',
    region: 'us-east-1',
    host: 'sts.us-east-1.amazonaws.com',
    date: '20251231T235959Z',
    cluster: 'Prod_Cluster-2',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
  },
  {
    name: 'a China region (endpoint sts.cn-north-1.amazonaws.com.cn), a signing time with milliseconds',
    at: '2026-02-28T12:34:56.789Z',
    region: 'cn-north-1',
    host: 'sts.cn-north-1.amazonaws.com.cn',
    date: '20260228T123456Z',
    cluster: 'orders',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: SESSION },
  },
];

describe('the EKS token equals the one `aws eks get-token` (botocore) signs', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ours = await eksToken(c.region, c.cluster, c.credentials, new Date(c.at));
    const theirs = await botocoreToken(c);
    expect(parts(ours)).toEqual(parts(theirs));
    // What both agree on, spelt out: the region's STS endpoint, the signing time to the second, the cluster
    // signed in as a header, the session token (when there is one) and a signature.
    const { query, ...rest } = parts(theirs);
    expect(rest).toEqual({ prefix: 'k8s-aws-v1.', base: `https://${c.host}/`, payloadRoundTrips: true });
    expect(query.filter((p) => !p.startsWith('X-Amz-Signature='))).toEqual(
      [
        'Action=GetCallerIdentity',
        'Version=2011-06-15',
        'X-Amz-Algorithm=AWS4-HMAC-SHA256',
        `X-Amz-Credential=${KEY_ID}%2F${c.date.slice(0, 8)}%2F${c.region}%2Fsts%2Faws4_request`,
        `X-Amz-Date=${c.date}`,
        'X-Amz-Expires=60',
        'X-Amz-SignedHeaders=host%3Bx-k8s-aws-id',
        ...(c.credentials.sessionToken ? [`X-Amz-Security-Token=${SESSION_ENCODED}`] : []),
      ].sort(),
    );
    expect(query.filter((p) => p.startsWith('X-Amz-Signature='))).toEqual([expect.stringMatching(/^X-Amz-Signature=[0-9a-f]{64}$/)]);
  });
});
