/**
 * The rebuild's redeploy hook (activities/rebuild.ts runRedeployHook) with a fake EKS and real child
 * processes: its minimal environment (never the worker's credentials), the EKS token it reaches the
 * cluster with, its scrubbed output, and its typed failures (exit code, timeout, missing command).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import YAML from 'yaml';
import type { EksApi } from '../aws/clients';
import { createRebuildActivities, eksToken, rebuildPaths, type SigningCredentials } from '../activities/rebuild';
import { FailureType } from '../contracts/failures';
import { parseRunbook } from '../runbooks/load';
import { processAlive } from '../processes/supervisor';
import { rejection, useMockActivityEnvironment } from './harness/activity';
import { testTempDir } from './harness/servers';

const REGION = 'ap-southeast-1';
const CLUSTER = 'apnakart-singapore';
const RUN_TAG = 'run-7';
const parsed = parseRunbook(fs.readFileSync(path.join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8'));
if (!parsed.ok) throw new Error(`apnakart.yaml is invalid: ${JSON.stringify(parsed.problems)}`);
const APNAKART = parsed.runbook;
const ENDPOINT = 'https://0A1B2C3D4E5F.gr7.ap-southeast-1.eks.amazonaws.com';
const ARN = `arn:aws:eks:${REGION}:123456789012:cluster/${CLUSTER}`;

// The worker's own credentials, in the shapes of real ones: none may reach the hook.
const WORKER = {
  AWS_ACCESS_KEY_ID: 'AKIAQWERTYUIOPASDFGH',
  AWS_SECRET_ACCESS_KEY: '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',
  AWS_SESSION_TOKEN: `IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD${'x7Kq/Pz+'.repeat(8)}`,
  AWS_PROFILE: 'prod-admin',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/0f1e2d3c',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-bearer-4f5e6d7c',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  TEMPORAL_API_KEY: 'temporal-cloud-api-key-9a8b7c',
  TEMPORAL_TLS_KEY: '/etc/drover/temporal.key',
  DROVER_IDENTITY_KEY_FILE: '/etc/drover/identity.jwk',
  DROVER_SLACK_TOKEN: 'xoxb-drover-1234',
  PATH: '/usr/bin:/bin',
  LANG: 'C.UTF-8',
};
const SIGNING: SigningCredentials = { accessKeyId: WORKER.AWS_ACCESS_KEY_ID, secretAccessKey: WORKER.AWS_SECRET_ACCESS_KEY, sessionToken: WORKER.AWS_SESSION_TOKEN };

const mock = useMockActivityEnvironment();
const saved = { ...process.env };
let home: string;

beforeEach(() => {
  home = testTempDir('redeploy-');
  // Exactly the worker environment above (the real one restored after each test).
  for (const key of Object.keys(process.env)) if (key !== 'DROVER_TEST_TMP') delete process.env[key];
  Object.assign(process.env, WORKER);
});
afterEach(() => {
  process.env = { ...saved };
});

const unexpected = (call: string) => async (): Promise<never> => {
  throw new Error(`unexpected call ${call}`);
};

const fakeEks = {
  describeCluster: async () => ({ cluster: { name: CLUSTER, arn: ARN, endpoint: ENDPOINT, status: 'ACTIVE' as const, certificateAuthority: { data: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' } }, $metadata: {} }),
  describeNodegroup: unexpected('eks:DescribeNodegroup'),
  updateNodegroupConfig: unexpected('eks:UpdateNodegroupConfig'),
  createCluster: unexpected('eks:CreateCluster'),
  createNodegroup: unexpected('eks:CreateNodegroup'),
} satisfies EksApi;

function activities(opts: { hookGraceMs?: number; tokenRefreshMs?: number } = {}) {
  return createRebuildActivities({ eks: () => fakeEks, home: () => home, credentials: async () => SIGNING, ...opts });
}

const redeploy = (command: string[], timeoutMs = 30_000, opts: { hookGraceMs?: number; tokenRefreshMs?: number } = {}) =>
  mock.run(activities(opts).runRedeployHook, { runbook: APNAKART, region: REGION, cluster: CLUSTER, runTag: RUN_TAG, command, timeoutMs });

/** The run's directory for this hook, as the activity lays it out. */
const runDir = () => rebuildPaths(home, APNAKART, REGION, RUN_TAG).outdir;

/** A shell script in the test's directory (so the command line itself carries nothing to redact). */
function script(name: string, body: string): string {
  const file = path.join(home, name);
  fs.writeFileSync(file, `${body}\n`);
  return file;
}

describe('the redeploy hook\'s environment', () => {
  test('given AWS credentials, a profile, container and web-identity credentials, Temporal and drover secrets in the worker\'s environment, the hook (`env`) sees none of them: only PATH, LANG, its own HOME, KUBECONFIG, IMDS off and the cluster it redeploys', async () => {
    const r = await redeploy(['env']);
    expect(r.exitCode).toBe(0);
    expect(r.outputTail).toEqual([
      'PATH=/usr/bin:/bin',
      'LANG=C.UTF-8',
      `HOME=${path.join(runDir(), 'redeploy', 'home')}`,
      `KUBECONFIG=${path.join(runDir(), 'kubeconfig')}`,
      'AWS_EC2_METADATA_DISABLED=true',
      'DROVER_RUNBOOK=apnakart',
      `DROVER_REGION=${REGION}`,
      `DROVER_CLUSTER=${CLUSTER}`,
    ]);
    expect(r.kubeconfig).toBe(path.join(runDir(), 'kubeconfig'));
    // The hook's HOME is the run's own, private to the worker's user.
    expect(fs.statSync(path.join(runDir(), 'redeploy')).mode & 0o777).toBe(0o700);
  });

  test('the kubeconfig names the cluster and a token file, and holds no credential; the hook reaches the token through it, its output is scrubbed, and the file is gone once the hook ends', async () => {
    const tokenFile = path.join(runDir(), 'redeploy', 'token');
    const hook = script('token.sh', [
      'file=$(sed -n "s/^ *tokenFile: //p" "$KUBECONFIG")',
      'stat -c %a "$file"',
      'cat "$file"; echo',
    ].join('\n'));
    const r = await redeploy(['sh', hook]);
    expect(r.outputTail).toEqual(['600', 'k8s-aws-v1.[redacted]']);
    const kubeconfig = fs.readFileSync(r.kubeconfig, 'utf8');
    expect(YAML.parse(kubeconfig)).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: ARN, cluster: { server: ENDPOINT, 'certificate-authority-data': 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' } }],
      users: [{ name: ARN, user: { tokenFile } }],
      contexts: [{ name: ARN, context: { cluster: ARN, user: ARN } }],
      'current-context': ARN,
    });
    expect(fs.existsSync(tokenFile)).toBe(false);
  });

  test('a hook running longer than the refresh interval reads a newly signed token', async () => {
    const hook = script('refresh.sh', [
      'file=$(sed -n "s/^ *tokenFile: //p" "$KUBECONFIG")',
      'first=$(cat "$file")',
      'while [ "$(cat "$file")" = "$first" ]; do sleep 0.1; done',
      'echo "token refreshed"',
    ].join('\n'));
    // Signed at most once a second (X-Amz-Date), so a 1.1 s interval gives a different token.
    const r = await redeploy(['sh', hook], 20_000, { tokenRefreshMs: 1_100 });
    expect(r.outputTail).toEqual(['token refreshed']);
  });
});

describe('the EKS token', () => {
  test('is `k8s-aws-v1.` and the unpadded base64url of a GetCallerIdentity URL for the region\'s STS endpoint, presigned for 60 s with the cluster name signed in x-k8s-aws-id', async () => {
    const token = await eksToken(REGION, CLUSTER, SIGNING, new Date('2026-01-10T03:00:00Z'));
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    expect(token).not.toContain('=');
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    expect(url.origin).toBe('https://sts.ap-southeast-1.amazonaws.com');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${WORKER.AWS_ACCESS_KEY_ID}/20260110/ap-southeast-1/sts/aws4_request`,
      'X-Amz-Date': '20260110T030000Z',
      'X-Amz-Expires': '60',
      'X-Amz-Security-Token': WORKER.AWS_SESSION_TOKEN,
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Signature': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
});

describe('redeploy failures', () => {
  function failure(err: unknown): ApplicationFailure {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  test('a non-zero exit is RedeployFailed, not retried, with the exit code and the scrubbed output tail', async () => {
    const hook = script('fail.sh', ['echo "applying overlays/ap-southeast-1" >&2', 'echo "PGPASSWORD=hunter2-hunter2 psql failed" >&2', 'exit 3'].join('\n'));
    const f = failure(await rejection(redeploy(['sh', hook])));
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`redeploy hook \`sh ${hook}\` exited with 3; last output: applying overlays/ap-southeast-1 | PGPASSWORD=[redacted] psql failed`);
    expect(f.details).toEqual([{ exitCode: 3, outputTail: ['applying overlays/ap-southeast-1', 'PGPASSWORD=[redacted] psql failed'] }]);
  });

  test('a hook that outlives its timeout, ignoring SIGTERM, is killed (SIGKILL after the grace period) and fails as RedeployFailed, not retried', async () => {
    const pidFile = path.join(home, 'hook.pid');
    const hook = script('hang.sh', ['trap "" TERM', `echo $$ > ${pidFile}`, 'echo "syncing applications" >&2', 'while :; do sleep 0.1; done'].join('\n'));
    const f = failure(await rejection(redeploy(['sh', hook], 1_000, { hookGraceMs: 300 })));
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`redeploy hook \`sh ${hook}\` did not finish within 1s; last output: syncing applications`);
    expect(f.details).toEqual([{ exitCode: 128, outputTail: ['syncing applications'] }]);
    expect(processAlive(Number(fs.readFileSync(pidFile, 'utf8').trim()))).toBe(false);
    expect(fs.existsSync(path.join(runDir(), 'redeploy', 'token'))).toBe(false);
  });

  test('a command that does not exist fails at once as RedeployFailed, not retried (no retry can make it appear)', async () => {
    const f = failure(await rejection(redeploy(['drover-no-such-redeploy-hook', '--sync'])));
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('redeploy hook command not found: drover-no-such-redeploy-hook');
    expect(fs.existsSync(path.join(runDir(), 'redeploy', 'token'))).toBe(false);
  });

  test('a command that is not executable fails as RedeployFailed, not retried', async () => {
    const file = script('not-executable.sh', 'echo never');
    fs.chmodSync(file, 0o644);
    const f = failure(await rejection(redeploy([file])));
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`redeploy hook could not start: spawn ${file} EACCES`);
  });
});
