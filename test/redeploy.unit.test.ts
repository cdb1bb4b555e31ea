/**
 * The rebuild's redeploy hook (activities/rebuild.ts runRedeployHook) with a fake EKS and real child
 * processes: its minimal environment (never the worker's credentials; the variables the runbook passes),
 * the EKS token it reaches the cluster with and the token file's lifecycle, its scrubbed output (as one
 * text, so multi-line secrets are recognised), and its typed failures (exit code, timeout, missing command).
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import type { EksApi } from '../aws/clients';
import { createRebuildActivities, eksToken, hookEnvironment, rebuildPaths, scrubTail, type RedeployResult, type SigningCredentials } from '../activities/rebuild';
import { FailureType } from '../contracts/failures';
import { parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { processAlive } from '../processes/supervisor';
import { rejection, useMockActivityEnvironment } from './harness/activity';
import { plantedDir, testTempDir } from './harness/servers';
import { waitFor } from './harness/wait';

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
  describeUpdate: unexpected('eks:DescribeUpdate'),
  listUpdates: unexpected('eks:ListUpdates'),
  createCluster: unexpected('eks:CreateCluster'),
  createNodegroup: unexpected('eks:CreateNodegroup'),
  tagResource: unexpected('eks:TagResource'),
  untagResource: unexpected('eks:UntagResource'),
} satisfies EksApi;

type Options = { hookGraceMs?: number; tokenRefreshMs?: number; credentials?: (region: string) => Promise<SigningCredentials>; runbook?: Runbook; env?: MockActivityEnvironment };

function activities(opts: Options = {}) {
  return createRebuildActivities({ eks: () => fakeEks, home: () => home, credentials: opts.credentials ?? (async () => SIGNING), hookGraceMs: opts.hookGraceMs, tokenRefreshMs: opts.tokenRefreshMs });
}

const redeploy = (command: string[], timeoutMs = 30_000, opts: Options = {}): Promise<RedeployResult> => {
  const fn = activities(opts).runRedeployHook;
  const input = { runbook: opts.runbook ?? APNAKART, region: REGION, cluster: CLUSTER, runTag: RUN_TAG, command, timeoutMs };
  return opts.env ? opts.env.run<[typeof input], RedeployResult, typeof fn>(fn, input) : mock.run(fn, input);
};

/** APNAKART with `rebuild.redeploy.passEnv` set (as a runbook naming it parses). */
function passing(passEnv: string[]): Runbook {
  const rb = structuredClone(APNAKART);
  rb.rebuild!.redeploy!.passEnv = passEnv;
  return rb;
}

/** The run's directory for this hook, as the activity lays it out. */
const runDir = () => rebuildPaths(home, APNAKART, REGION, RUN_TAG).outdir;
const redeployDir = () => path.join(runDir(), 'redeploy');

/** What drover sets in every hook's environment, after what it inherits, as `env` prints it. */
const droverSets = (kubeconfig: string) => [
  `HOME=${path.join(redeployDir(), 'home')}`,
  `KUBECONFIG=${kubeconfig}`,
  `AWS_REGION=${REGION}`,
  `AWS_DEFAULT_REGION=${REGION}`,
  'AWS_EC2_METADATA_DISABLED=true',
  'DROVER_RUNBOOK=apnakart',
  `DROVER_REGION=${REGION}`,
  `DROVER_CLUSTER=${CLUSTER}`,
];

/** The token file the kubeconfig names (the hook's `tokenFile`). */
const TOKEN_FILE_OF_KUBECONFIG = 'file=$(sed -n "s/^ *tokenFile: //p" "$KUBECONFIG")';


/** A shell script in the test's directory (so the command line itself carries nothing to redact). */
function script(name: string, body: string): string {
  // The hooks are the test's own scripts, some with a password planted on purpose: not what the product wrote.
  const file = path.join(plantedDir('redeploy-'), name);
  fs.writeFileSync(file, `${body}\n`);
  return file;
}

describe('the redeploy hook\'s environment', () => {
  test('given AWS credentials, a profile, container and web-identity credentials, Temporal and drover secrets in the worker\'s environment, the hook (`env`) sees none of them: only PATH, LANG, its own HOME, KUBECONFIG, the region, IMDS off and the cluster it redeploys', async () => {
    const r = await redeploy(['env']);
    expect(r.exitCode).toBe(0);
    expect(r.outputTail).toEqual(['PATH=/usr/bin:/bin', 'LANG=C.UTF-8', ...droverSets(r.kubeconfig)]);
    // The attempt's own kubeconfig: attempt 1, then 16 random hex digits.
    expect(path.dirname(r.kubeconfig)).toBe(redeployDir());
    expect(path.basename(r.kubeconfig)).toMatch(/^kubeconfig\.1\.[0-9a-f]{16}$/);
    // The hook's HOME is the run's own, private to the worker's user.
    expect(fs.statSync(path.join(runDir(), 'redeploy')).mode & 0o777).toBe(0o700);
  });

  test('the kubeconfig names the cluster and a token file, and holds no credential; the hook reaches the token through it, its output is scrubbed, and both files are gone once the hook ends', async () => {
    const copy = path.join(home, 'kubeconfig.copy');
    const hook = script('token.sh', [
      `cp "$KUBECONFIG" ${copy}`,
      'stat -c %a "$KUBECONFIG"',
      TOKEN_FILE_OF_KUBECONFIG,
      'stat -c %a "$file"',
      'cat "$file"; echo',
    ].join('\n'));
    const r = await redeploy(['sh', hook]);
    expect(r.outputTail).toEqual(['600', '600', 'k8s-aws-v1.[redacted]']);
    const kubeconfig = YAML.parse(fs.readFileSync(copy, 'utf8')) as { users: Array<{ user: { tokenFile: string } }> };
    const tokenFile = kubeconfig.users[0].user.tokenFile;
    // The attempt's own file, named like its kubeconfig: attempt 1, then the same 16 random hex digits.
    expect(path.dirname(tokenFile)).toBe(redeployDir());
    expect(path.basename(tokenFile)).toBe(path.basename(r.kubeconfig).replace(/^kubeconfig\./, 'token.'));
    expect(kubeconfig).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: ARN, cluster: { server: ENDPOINT, 'certificate-authority-data': 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' } }],
      users: [{ name: ARN, user: { tokenFile } }],
      contexts: [{ name: ARN, context: { cluster: ARN, user: ARN } }],
      'current-context': ARN,
    });
    expect(fs.readdirSync(redeployDir())).toEqual(['home']);
  });

  test('a hook running longer than the refresh interval reads a newly signed token', async () => {
    const hook = script('refresh.sh', [
      TOKEN_FILE_OF_KUBECONFIG,
      'first=$(cat "$file")',
      'while [ "$(cat "$file")" = "$first" ]; do sleep 0.1; done',
      'echo "token refreshed"',
    ].join('\n'));
    // Signed at most once a second (X-Amz-Date), so a 1.1 s interval gives a different token.
    const r = await redeploy(['sh', hook], 20_000, { tokenRefreshMs: 1_100 });
    expect(r.outputTail).toEqual(['token refreshed']);
  });
});

describe('what the runbook passes, and the search path', () => {
  test('given passEnv ARGOCD_SERVER, ARGOCD_AUTH_TOKEN and HELM_CACHE_HOME (unset on the worker), the hook gets the two that are set, as they are, and still none of the worker\'s credentials', async () => {
    Object.assign(process.env, { ARGOCD_SERVER: 'argocd.apnakart.internal:443', ARGOCD_AUTH_TOKEN: 'argocd-token-5e6f7a8b' });
    const r = await redeploy(['env'], 30_000, { runbook: passing(['ARGOCD_SERVER', 'ARGOCD_AUTH_TOKEN', 'HELM_CACHE_HOME']) });
    expect(r.outputTail).toEqual([
      'PATH=/usr/bin:/bin',
      'LANG=C.UTF-8',
      'ARGOCD_SERVER=argocd.apnakart.internal:443',
      // Passed as it is; the output tail, like every tail, is scrubbed (the name says token).
      'ARGOCD_AUTH_TOKEN=[redacted]',
      ...droverSets(r.kubeconfig),
    ]);
  });

  test('given a runbook object naming the worker\'s credentials in passEnv (the schema refuses it; this one skipped the schema), the hook gets none of them', () => {
    const env = hookEnvironment(
      { ...WORKER, ARGOCD_SERVER: 'argocd.apnakart.internal:443', HOME: '/home/drover', AWS_REGION: 'us-east-1' },
      { home: '/runs/r/redeploy/home', kubeconfig: '/runs/r/kubeconfig', runbook: 'apnakart', region: REGION, cluster: CLUSTER },
      ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'TEMPORAL_API_KEY', 'DROVER_SLACK_TOKEN', 'aws_secret_access_key', 'ARGOCD_SERVER'],
    );
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      ARGOCD_SERVER: 'argocd.apnakart.internal:443',
      HOME: '/runs/r/redeploy/home',
      KUBECONFIG: '/runs/r/kubeconfig',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      DROVER_RUNBOOK: 'apnakart',
      DROVER_REGION: REGION,
      DROVER_CLUSTER: CLUSTER,
    });
  });

  test('given a worker PATH with empty and relative entries (each one the hook\'s current directory or under it), the hook\'s PATH keeps only the absolute ones, in order', async () => {
    process.env.PATH = ':/usr/bin:.:node_modules/.bin::/bin:';
    const r = await redeploy(['env']);
    expect(r.outputTail[0]).toBe('PATH=/usr/bin:/bin');
  });

  test('given a worker PATH with only relative entries, the hook gets no PATH at all', () => {
    const env = hookEnvironment({ PATH: '.:bin::', LANG: 'C.UTF-8' }, { home: '/h', kubeconfig: '/k', runbook: 'apnakart', region: REGION, cluster: CLUSTER });
    expect(Object.keys(env)).toEqual(['LANG', 'HOME', 'KUBECONFIG', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EC2_METADATA_DISABLED', 'DROVER_RUNBOOK', 'DROVER_REGION', 'DROVER_CLUSTER']);
  });
});

describe('the output tail\'s scrubbing', () => {
  test('given a tail holding only a PEM body so far (its BEGIN scrolled out, its END not printed yet: what a heartbeat sees), each 64-character base64 line is redacted and the other lines stay', () => {
    const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC0000000000000', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC1111111111111'];
    expect(scrubTail(['applying secret', ...body])).toEqual(['applying secret', '[redacted]', '[redacted]']);
    // 63 or 65 characters, or a character outside base64: not a PEM body line.
    expect(scrubTail(['a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(63)}-`])).toEqual(['a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(63)}-`]);
    expect(scrubTail([])).toEqual([]);
  });
});

describe('the token file\'s lifecycle', () => {
  test('given a refresh still waiting for credentials when the hook ends, no token file remains: the late refresh writes nothing', async () => {
    let calls = 0;
    const go = path.join(home, 'refresh-started');
    let refreshReturned: () => void = () => undefined;
    const returned = new Promise<void>((resolve) => {
      refreshReturned = resolve;
    });
    let tokenFile = '';
    const pathFile = path.join(home, 'token-path');
    const credentials = async (): Promise<SigningCredentials> => {
      calls += 1;
      if (calls === 1) return SIGNING;
      // The refresh: tell the hook to end, then answer only once its token file has been removed.
      fs.writeFileSync(go, '');
      await waitFor(() => tokenFile !== '' && !fs.existsSync(tokenFile), { what: 'the token file to be removed', intervalMs: 10 });
      refreshReturned();
      return SIGNING;
    };
    const hook = script('slow-refresh.sh', [TOKEN_FILE_OF_KUBECONFIG, `echo "$file" > ${pathFile}`, 'echo "$file"', `while [ ! -e ${go} ]; do sleep 0.05; done`, 'echo "hook done"'].join('\n'));
    const run = redeploy(['sh', hook], 20_000, { tokenRefreshMs: 100, credentials });
    tokenFile = await waitFor(() => fs.existsSync(pathFile) && fs.readFileSync(pathFile, 'utf8').trim(), { what: 'the hook to start' });
    const r = await run;
    expect(r.outputTail).toEqual([tokenFile, 'hook done']);
    await returned;
    // The refresh's remaining steps (signing, writing) are promise continuations: one macrotask turn runs them all,
    // so a version that neither waited for the refresh nor stopped it would have written the file by now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    expect(fs.readdirSync(redeployDir())).toEqual(['home']);
  });

  test('two attempts of the redeploy on one host (a retry while the previous attempt has its grace) each have their own token file: the first one ending leaves the second one\'s in place', async () => {
    const quiet = { logger: new DefaultLogger('ERROR', () => undefined) };
    const [first, second] = [new MockActivityEnvironment({ attempt: 1 }, quiet), new MockActivityEnvironment({ attempt: 2 }, quiet)];
    const hook = (name: string) => script(`${name}.sh`, [
      TOKEN_FILE_OF_KUBECONFIG,
      `echo "$file" > ${path.join(home, `${name}.file`)}`,
      `while [ ! -e ${path.join(home, `${name}.go`)} ]; do sleep 0.05; done`,
      'cat "$file"; echo',
    ].join('\n'));
    const a = redeploy(['sh', hook('a')], 20_000, { env: first });
    const b = redeploy(['sh', hook('b')], 20_000, { env: second });
    const fileOf = (name: string) => waitFor(() => fs.existsSync(path.join(home, `${name}.file`)) && fs.readFileSync(path.join(home, `${name}.file`), 'utf8').trim(), { what: `hook ${name} to start` });
    try {
      const [fileA, fileB] = [await fileOf('a'), await fileOf('b')];
      expect(path.basename(fileA)).toMatch(/^token\.1\.[0-9a-f]{16}$/);
      expect(path.basename(fileB)).toMatch(/^token\.2\.[0-9a-f]{16}$/);
      fs.writeFileSync(path.join(home, 'a.go'), '');
      expect((await a).outputTail).toEqual(['k8s-aws-v1.[redacted]']);
      expect(fs.existsSync(fileA)).toBe(false);
      expect(fs.existsSync(fileB)).toBe(true);
      fs.writeFileSync(path.join(home, 'b.go'), '');
      expect((await b).outputTail).toEqual(['k8s-aws-v1.[redacted]']);
      expect(fs.readdirSync(redeployDir())).toEqual(['home']);
    } finally {
      // Whatever failed above, both hooks end (and their activities remove their files).
      for (const name of ['a', 'b']) fs.writeFileSync(path.join(home, `${name}.go`), '');
      await Promise.allSettled([a, b]);
    }
  });

  test('at its start, the activity removes the token files and kubeconfigs a killed worker left (older than a token lives, 15 minutes) and keeps younger tokens and their kubeconfigs, which may be a running attempt\'s', async () => {
    fs.mkdirSync(redeployDir(), { recursive: true });
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const plant = (name: string, minutes: number) => {
      fs.writeFileSync(path.join(redeployDir(), name), 'expired');
      fs.utimesSync(path.join(redeployDir(), name), ago(minutes), ago(minutes));
    };
    plant('token', 16); // the name before tokens had an attempt of their own
    plant('token.1.0a1b2c3d4e5f6a7b', 16);
    plant('token.1.0a1b2c3d4e5f6a7b.8c9d0e1f2a3b4c5d.tmp', 60);
    plant('kubeconfig.1.0a1b2c3d4e5f6a7b', 16);
    plant('kubeconfig.1.9f8e7d6c5b4a3928', 30); // its token already gone
    plant('token.2.1f2e3d4c5b6a7980', 1);
    // A long hook's kubeconfig is written once, at its start: old, but its token is refreshed.
    plant('kubeconfig.2.1f2e3d4c5b6a7980', 40);
    plant('notes.txt', 60);
    await redeploy(['true']);
    expect(fs.readdirSync(redeployDir()).sort()).toEqual(['home', 'kubeconfig.2.1f2e3d4c5b6a7980', 'notes.txt', 'token.2.1f2e3d4c5b6a7980']);
  });
});

describe('the output tail, scrubbed as one text', () => {
  /** The private key's PEM body lines (base64, 64 characters each, the last one shorter). */
  const bodyLines = (pem: string) => pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));

  test('given a hook that prints a PEM private key (PKCS#8, RSA 2048), none of its body lines is in the output tail', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = path.join(plantedDir('redeploy-'), 'key.pem');
    fs.writeFileSync(keyFile, pem, { mode: 0o600 });
    const r = await redeploy(['sh', script('pem.sh', ['echo "rendering the ingress certificate"', `cat ${keyFile}`, 'echo "applied"'].join('\n'))]);
    expect(bodyLines(pem).length).toBeGreaterThan(20);
    expect(r.outputTail[0]).toBe('rendering the ingress certificate');
    expect(r.outputTail[r.outputTail.length - 1]).toBe('applied');
    const text = r.outputTail.join('\n');
    expect(bodyLines(pem).filter((line) => text.includes(line))).toEqual([]);
  });

  test('given a failing hook whose last lines are a PEM private key, the failure\'s message and details carry none of its body', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = path.join(plantedDir('redeploy-'), 'key.pem');
    fs.writeFileSync(keyFile, pem, { mode: 0o600 });
    const err = await rejection(redeploy(['sh', script('pem-fail.sh', ['echo "applying overlays"', `cat ${keyFile} >&2`, 'exit 4'].join('\n'))]));
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.message.startsWith('redeploy hook `sh ')).toBe(true);
    const text = `${f.message}\n${JSON.stringify(f.details)}`;
    expect(bodyLines(pem).filter((line) => text.includes(line))).toEqual([]);
  });

  test('given a hook that prints a private JSON Web Key pretty-printed (one member a line), no private member\'s value is in the output tail', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const keyFile = path.join(plantedDir('redeploy-'), 'key.jwk');
    fs.writeFileSync(keyFile, JSON.stringify(jwk, null, 2), { mode: 0o600 });
    const r = await redeploy(['sh', script('jwk.sh', [`cat ${keyFile}`, 'echo'].join('\n'))]);
    const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
    expect(r.outputTail.filter((line) => privateMembers.some((m) => line.startsWith(`  "${m}":`)))).toEqual([
      '  "d": "[redacted]",',
      '  "p": "[redacted]",',
      '  "q": "[redacted]",',
      '  "dp": "[redacted]",',
      '  "dq": "[redacted]",',
      '  "qi": "[redacted]"',
    ]);
    const text = r.outputTail.join('\n');
    expect(privateMembers.filter((m) => text.includes(jwk[m]))).toEqual([]);
  });

  test('the heartbeat\'s last line is the last line of the scrubbed tail: a password on the line after `password:` is redacted there too', async () => {
    const go = path.join(home, 'heartbeat-seen');
    const hook = script('yaml.sh', ['echo "database:"', 'echo "  password:"', 'echo "    hunter2-hunter2-yaml"', `while [ ! -e ${go} ]; do sleep 0.05; done`].join('\n'));
    const run = redeploy(['sh', hook]);
    const beats = () => mock.heartbeats as unknown as Array<{ hook: string; lastLine: string }>;
    // The first heartbeat after the third line arrived (the hook prints all three at once; a heartbeat comes every 2 s).
    const seen = await waitFor(() => beats().find((h) => !['', 'database:', '  password:'].includes(h.lastLine)), { what: 'a heartbeat after the hook\'s third line' });
    fs.writeFileSync(go, '');
    const r = await run;
    expect(seen).toEqual({ hook: 'sh', lastLine: '    [redacted]' });
    expect(beats().filter((h) => h.lastLine.includes('hunter2'))).toEqual([]);
    expect(r.outputTail).toEqual(['database:', '  password:', '    [redacted]']);
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
    expect(fs.readdirSync(redeployDir())).toEqual(['home']);
  });

  test('a command that does not exist fails at once as RedeployFailed, not retried (no retry can make it appear)', async () => {
    const f = failure(await rejection(redeploy(['drover-no-such-redeploy-hook', '--sync'])));
    expect(f.type).toBe(FailureType.RedeployFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('redeploy hook command not found: drover-no-such-redeploy-hook');
    expect(fs.readdirSync(redeployDir())).toEqual(['home']);
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
