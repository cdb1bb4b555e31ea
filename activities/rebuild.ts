import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApplicationFailure } from '@temporalio/common';
import YAML from 'yaml';
import { scrubSecrets } from '../audit/scrub';
import type { StackVariant } from '../infra/eks/stack';
import { inheritedEnvironment } from './child-env';
import { prepareTeamCode, stackDigest, type CodeKind } from './team-code';
import { droverHome } from '../config/home';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import { stsEndpoint, type EksApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { superviseProcess } from '../processes/supervisor';
import { inActivity, pollUntil } from './wait';

/** Which stack a rebuild applies: the real EKS resources, or their terraform_data stand-ins (no provider plugin). */
export type { StackVariant };

export interface RebuildDeps {
  eks: (region: string) => EksApi;
  /** Default `aws`; `terraform-data` for machines without the AWS provider plugin (CI, demos). */
  variant?: StackVariant;
  /** Where per-run stacks and local state live; default `$DROVER_HOME`. */
  home?: () => string;
  /** Require this AWS provider version (a local mirror's build) instead of the bindings' own. */
  awsProviderVersion?: string;
  /** The credentials the redeploy hook's EKS token is signed with; default: the region's EKS client's own. */
  credentials?: (region: string) => Promise<SigningCredentials>;
  /** How long a redeploy hook has between SIGTERM and SIGKILL when it times out or is cancelled; default 10 s. */
  hookGraceMs?: number;
  /** How often the hook's EKS token is signed anew while it runs; default 5 minutes. */
  tokenRefreshMs?: number;
}

/** AWS credentials, as SigV4 signs with them. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SynthesizedStack {
  dir: string;
  stackName: string;
  /** The built-in stack's variant, or the kind of the team's own code. */
  variant: StackVariant | CodeKind;
  resources: string[];
  /** sha256 of the synthesized cdk.tf.json: a worker that finds the directory checks it is this stack, whole. */
  digest?: string;
}

/** The sha256 of a stack directory's cdk.tf.json (in team-code.ts, which must not import this module). */
export { stackDigest };

export interface RedeployResult {
  exitCode: number;
  durationMs: number;
  /** The last lines of the hook's output (stdout and stderr), secrets redacted. */
  outputTail: string[];
  /** The kubeconfig the hook was given (this attempt's own; removed with its token when the hook ended). */
  kubeconfig: string;
}

const TAIL_LINES = 40;

/**
 * The redeploy hook's whole environment: HOOK_INHERITED_ENV from the worker's (PATH without its empty
 * or relative entries), the variables the runbook passes (`rebuild.redeploy.passEnv`, as the worker
 * has them; a name the schema refuses is never passed, even if it got here), then what drover sets.
 * HOME is a directory of the run's own, so no tool finds the worker's ~/.aws, ~/.kube or ~/.config;
 * AWS_REGION and AWS_DEFAULT_REGION are the rebuilt region (the SDKs read AWS_REGION, the AWS CLI v2
 * either: "AWS Region", AWS SDKs and Tools Reference Guide), no credential; AWS_EC2_METADATA_DISABLED=true
 * keeps AWS SDKs and the AWS CLI from taking the instance role's credentials from IMDS ("IMDS credential
 * provider", AWS SDKs and Tools Reference Guide: `true` - do not use IMDS to obtain credentials);
 * KUBECONFIG, DROVER_RUNBOOK, DROVER_REGION, DROVER_CLUSTER.
 */
export function hookEnvironment(
  worker: NodeJS.ProcessEnv,
  own: { home: string; kubeconfig: string; runbook: string; region: string; cluster: string },
  passEnv: readonly string[] = [],
): Record<string, string> {
  return {
    ...inheritedEnvironment(worker, passEnv),
    HOME: own.home,
    KUBECONFIG: own.kubeconfig,
    AWS_REGION: own.region,
    AWS_DEFAULT_REGION: own.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    DROVER_RUNBOOK: own.runbook,
    DROVER_REGION: own.region,
    DROVER_CLUSTER: own.cluster,
  };
}

/**
 * How often the hook's EKS token is signed anew while it runs. A token is accepted for 15 minutes
 * (the AWS CLI's `eks get-token` says the same: "STS signs the url for 15 minutes", and sets the
 * ExecCredential's expiry at 14); kubectl re-reads its `tokenFile` periodically (client-go's
 * BearerTokenFile: "If set, the contents are periodically read"), so a 5-minute refresh keeps a
 * long hook authenticated.
 */
const TOKEN_REFRESH_MS = 5 * 60_000;

/**
 * How long an EKS token is accepted (15 minutes, as above). A token file in a run's redeploy directory
 * that nobody has rewritten for longer holds an expired token: a running hook's file is re-signed every
 * 5 minutes, so only a killed worker's is that old.
 */
const TOKEN_LIFETIME_MS = 15 * 60_000;

/**
 * An EKS bearer token, as `aws eks get-token` makes one: `k8s-aws-v1.` and the unpadded base64url of a
 * GetCallerIdentity URL presigned for 60 seconds, with the cluster name signed in its `x-k8s-aws-id`
 * header (awscli/customizations/eks/get_token.py: TOKEN_PREFIX, URL_TIMEOUT, K8S_AWS_ID_HEADER). The
 * URL is for the region's STS endpoint, which the cluster's authenticator calls with it.
 */
export async function eksToken(region: string, cluster: string, credentials: SigningCredentials, signingDate = new Date()): Promise<string> {
  const host = stsEndpoint({}, region).host;
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: host,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host, 'x-k8s-aws-id': cluster },
  });
  const signed = await new SignatureV4({ credentials, region, service: 'sts', sha256: Sha256 }).presign(request, { expiresIn: 60, signingDate });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).filter((one) => one !== null).map((one) => `${rfc3986(k)}=${rfc3986(String(one))}`))
    .join('&');
  return `k8s-aws-v1.${Buffer.from(`https://${host}/?${query}`, 'utf8').toString('base64url')}`;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The credentials of an SDK client (its resolved provider), for signing outside the SDK. */
async function clientCredentials(client: EksApi): Promise<SigningCredentials> {
  const provider = (client as { config?: { credentials?: unknown } }).config?.credentials;
  if (typeof provider !== 'function') throw new Error('the EKS client exposes no credentials to sign a token with');
  return (await (provider as () => Promise<SigningCredentials>)()) as SigningCredentials;
}

/** Create `file` with `text` (mode 0600); fails when the name exists (O_EXCL, so never through a planted symlink). */
function createExclusively(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replace `file` with `text` by renaming a complete copy over it, so a reader never sees half a token.
 * The copy's name is random and created exclusively: no other attempt or process writes to it.
 */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    createExclusively(temp, text);
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Remove what a killed worker left in a redeploy directory: token files (`token*`, their temporary
 * copies included) not rewritten for longer than a token lives, and the kubeconfigs (`kubeconfig.<id>`)
 * as old whose token (`token.<id>`) is gone or as stale. A younger token may be another attempt's, still
 * running (a retry can start on this host while the previous attempt has its SIGTERM grace), so it and
 * its kubeconfig stay; it expires within 15 minutes and the next attempt removes it.
 */
function removeStaleFiles(hookDir: string, now: number): void {
  const ageOf = (name: string) => {
    const modified = fs.lstatSync(path.join(hookDir, name), { throwIfNoEntry: false })?.mtimeMs;
    return modified === undefined ? undefined : now - modified;
  };
  const stale = (name: string) => (ageOf(name) ?? 0) > TOKEN_LIFETIME_MS;
  for (const entry of fs.readdirSync(hookDir, { withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const kubeconfigOf = /^kubeconfig\.(.+)$/.exec(entry.name);
    const remove = kubeconfigOf
      ? stale(entry.name) && (ageOf(`token.${kubeconfigOf[1]}`) === undefined || stale(`token.${kubeconfigOf[1]}`))
      : entry.name.startsWith('token') && stale(entry.name);
    if (remove) fs.rmSync(path.join(hookDir, entry.name), { force: true });
  }
}

/** The directory a run's stack is synthesized into, and the local state directory of a runbook's region. */
export function rebuildPaths(home: string, runbook: Runbook, region: string, runTag: string): { outdir: string; stateDir: string } {
  const backend = runbook.rebuild?.backend;
  const stateDir = backend?.type === 'local' && backend.dir ? path.resolve(backend.dir) : path.join(home, 'iac-state', runbook.name, region);
  return { outdir: path.join(home, 'iac', runbook.name, region, runTag), stateDir };
}

/** Rebuild activities: synthesize the region's cluster stack, wait for the cluster, run the redeploy hook. */
export function createRebuildActivities(deps: RebuildDeps) {
  const home = deps.home ?? droverHome;

  return {
    /** Synthesize the region's EKS stack into a per-run directory (same input, same JSON: safe to repeat). */
    async synthesizeCluster(input: { runbook: Runbook; region: string; runTag: string }): Promise<SynthesizedStack> {
      const variant = deps.variant ?? 'aws';
      const { outdir, stateDir } = rebuildPaths(home(), input.runbook, input.region, input.runTag);
      if (input.runbook.rebuild?.code) {
        // The team's own code (docs/rebuild-cluster.md, "Bring your own IaC").
        const out = await prepareTeamCode({ runbook: input.runbook, region: input.region, outdir });
        return { dir: out.dir, stackName: out.stackName, variant: out.kind, resources: out.resources, digest: out.digest };
      }
      fs.mkdirSync(stateDir, { recursive: true });
      // Loaded on first use: the CDKTF bindings are large, and most workers never rebuild.
      const { synthesizeClusterStack } = await import('../infra/eks/synth');
      try {
        const out = synthesizeClusterStack({ runbook: input.runbook, region: input.region, outdir, stateDir, variant, awsProviderVersion: deps.awsProviderVersion });
        return { dir: out.stackDir, stackName: out.stackName, variant, resources: out.resources, digest: stackDigest(out.stackDir) };
      } catch (e) {
        throw ApplicationFailure.create({ type: FailureType.IacInvalidStack, message: `cannot synthesize the ${input.region} cluster stack: ${(e as Error).message}`, nonRetryable: true });
      }
    },

    /** Wait until the cluster and each of its node groups are ACTIVE. */
    async waitClusterActive(input: { region: string; cluster: string; nodeGroups: string[]; timeoutMs: number }): Promise<{ clusterArn?: string; endpoint?: string; nodeGroups: string[] }> {
      const eks = deps.eks(input.region);
      return pollUntil({ what: `cluster ${input.cluster} and its node groups to be ACTIVE`, timeoutMs: input.timeoutMs, initialIntervalMs: 500, maxIntervalMs: 15_000 }, async () => {
        const c = (await aws(`eks:DescribeCluster(${input.cluster})`, () => eks.describeCluster({ name: input.cluster }))).cluster;
        const groups = await Promise.all(
          input.nodeGroups.map(async (name) => {
            const ng = (await aws(`eks:DescribeNodegroup(${input.cluster}/${name})`, () => eks.describeNodegroup({ clusterName: input.cluster, nodegroupName: name }))).nodegroup;
            return `${name} ${ng?.status ?? 'UNKNOWN'}`;
          }),
        );
        const pending = [`cluster ${c?.status ?? 'UNKNOWN'}`, ...groups].filter((s) => !s.endsWith(' ACTIVE'));
        return { done: pending.length === 0, value: { clusterArn: c?.arn, endpoint: c?.endpoint, nodeGroups: input.nodeGroups }, progress: pending.join(', ') || 'all ACTIVE' };
      });
    },

    /**
     * Run the runbook's redeploy hook (an Argo CD sync, `kubectl apply -k`, ...) with KUBECONFIG for
     * the rebuilt cluster. Such hooks are idempotent by nature, so a retry after a lost worker reruns it.
     * The hook gets a minimal environment (`hookEnvironment`): never the worker's credentials. It reaches
     * the cluster with a bearer token the worker signs and refreshes in a file of this attempt's own
     * (the kubeconfig's `tokenFile`, `token.<attempt>.<random>`, next to `kubeconfig.<attempt>.<random>`),
     * both removed when the hook ends; a refresh still signing then writes nothing (not awaited).
     */
    async runRedeployHook(input: { runbook: Runbook; region: string; cluster: string; runTag: string; command: string[]; timeoutMs: number }): Promise<RedeployResult> {
      const eks = deps.eks(input.region);
      const c = (await aws(`eks:DescribeCluster(${input.cluster})`, () => eks.describeCluster({ name: input.cluster }))).cluster;
      const { outdir } = rebuildPaths(home(), input.runbook, input.region, input.runTag);
      const hookDir = path.join(outdir, 'redeploy');
      const hookHome = path.join(hookDir, 'home');
      fs.mkdirSync(hookHome, { recursive: true, mode: 0o700 });
      fs.chmodSync(hookDir, 0o700);
      removeStaleFiles(hookDir, Date.now());
      // This attempt's own names: a retry on this host may start while the previous attempt has its grace.
      const own = `${inActivity()?.info.attempt ?? 1}.${randomBytes(8).toString('hex')}`;
      const kubeconfig = path.join(hookDir, `kubeconfig.${own}`);
      const tokenFile = path.join(hookDir, `token.${own}`);
      const sign = async () => eksToken(input.region, input.cluster, deps.credentials ? await deps.credentials(input.region) : await clientCredentials(eks));
      try {
        createExclusively(tokenFile, await sign());
      } catch (e) {
        throw new Error(`cannot sign an EKS token for the redeploy hook: ${scrubSecrets((e as Error).message)}`);
      }
      let stopped = false;
      let refreshing: Promise<void> | undefined;
      // A failed refresh keeps the last token (good for 15 minutes); the next refresh tries again. One
      // refresh at a time, and none writes once the hook has ended (the file is being removed).
      const refresh = setInterval(() => {
        if (stopped || refreshing) return;
        refreshing = sign()
          .then((token) => {
            if (!stopped) writeAtomically(tokenFile, token);
          })
          .catch(() => undefined)
          .finally(() => {
            refreshing = undefined;
          });
      }, deps.tokenRefreshMs ?? TOKEN_REFRESH_MS);
      const started = Date.now();
      let outcome: { code: number; tail: string[]; timedOut: boolean };
      try {
        createExclusively(kubeconfig, kubeconfigFor({ region: input.region, cluster: input.cluster, endpoint: c?.endpoint, caData: c?.certificateAuthority?.data, arn: c?.arn, tokenFile }));
        const env = hookEnvironment(process.env, { home: hookHome, kubeconfig, runbook: input.runbook.name, region: input.region, cluster: input.cluster }, input.runbook.rebuild?.redeploy?.passEnv);
        outcome = await runHook(input.command, env, input.timeoutMs, deps.hookGraceMs ?? 10_000);
      } finally {
        // Removed at once; a refresh still waiting for credentials writes nothing once `stopped` is set (its
        // check and its write are one synchronous step). It is not awaited: heartbeats have stopped with the
        // hook, and a credential call hanging past the heartbeat timeout (30 s) would make Temporal discard
        // the hook's result and run it again.
        stopped = true;
        clearInterval(refresh);
        fs.rmSync(tokenFile, { force: true });
        // It names a token that is gone: of no use to anyone once the hook has ended.
        fs.rmSync(kubeconfig, { force: true });
      }
      const { code, tail, timedOut } = outcome;
      const outputTail = scrubTail(tail);
      if (code !== 0) {
        const why = timedOut ? `did not finish within ${Math.round(input.timeoutMs / 1000)}s` : `exited with ${code}`;
        throw ApplicationFailure.create({
          type: FailureType.RedeployFailed,
          message: `redeploy hook \`${scrubSecrets(input.command.join(' '))}\` ${why}${outputTail.length ? `; last output: ${outputTail.slice(-3).join(' | ')}` : ''}`,
          nonRetryable: true,
          details: [{ exitCode: code, outputTail }],
        });
      }
      return { exitCode: code, durationMs: Date.now() - started, outputTail, kubeconfig };
    },
  };
}

/**
 * A kubeconfig for an EKS cluster whose user reads its bearer token from `tokenFile` (the kubeconfig
 * holds no credential; the token file, written and refreshed by the worker, holds a short-lived one).
 */
export function kubeconfigFor(c: { region: string; cluster: string; endpoint?: string; caData?: string; arn?: string; tokenFile: string }): string {
  const name = c.arn ?? `${c.region}/${c.cluster}`;
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: c.endpoint ?? '', ...(c.caData ? { 'certificate-authority-data': c.caData } : {}) } }],
    users: [{ name, user: { tokenFile: c.tokenFile } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/**
 * The hook's output tail with secrets redacted, scrubbed as one text and split again: a secret that
 * spans lines (a PEM private key, a pretty-printed private JWK, `password:` with its value on the next
 * line) is only recognisable whole, never line by line.
 */
export function scrubTail(tail: readonly string[]): string[] {
  if (tail.length === 0) return [];
  // A line of exactly 64 base64 characters is a PEM body's (RFC 7468 §2 wraps every body so): while a key is
  // being printed, its BEGIN may have scrolled out of the tail and its END not come yet. A certificate's
  // body goes too: a hook's output tail loses nothing it needs.
  return scrubSecrets(tail.join('\n'))
    .split('\n')
    .map((line) => (/^[A-Za-z0-9+/]{64}\r?$/.test(line) ? REDACTED_LINE : line));
}

/** What a PEM body line of the hook's output tail is replaced with. */
const REDACTED_LINE = '[redacted]';

/**
 * Run the hook, keeping the last lines of its output and heartbeating the latest one. A timeout or
 * the activity's cancellation stops it with SIGTERM, then SIGKILL after `graceMs` (10 s by default).
 * A command that cannot start (not found, not executable) fails for good: retrying cannot help.
 */
async function runHook(command: string[], env: NodeJS.ProcessEnv, timeoutMs: number, graceMs: number): Promise<{ code: number; tail: string[]; timedOut: boolean }> {
  const ctx = inActivity();
  const tail: string[] = [];
  const keep = (line: string) => {
    if (line.trim() === '') return;
    tail.push(line);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  const beat = setInterval(() => ctx?.heartbeat({ hook: command[0], lastLine: scrubTail(tail).at(-1) ?? '' }), 2000);
  try {
    const r = await superviseProcess(command[0], command.slice(1), { env, timeoutMs, signal: ctx?.cancellationSignal, stopSignal: 'SIGTERM', graceMs, onStdoutLine: keep, onStderrLine: keep });
    if (r.spawnError) {
      const missing = r.spawnError.code === 'ENOENT';
      throw ApplicationFailure.create({ type: FailureType.RedeployFailed, message: missing ? `redeploy hook command not found: ${command[0]}` : `redeploy hook could not start: ${r.spawnError.message}`, nonRetryable: true });
    }
    if (r.interrupted === 'cancelled') throw ctx?.cancellationSignal.reason ?? new Error('cancelled');
    return { code: r.code === -1 ? 128 : r.code, tail, timedOut: r.interrupted === 'timed out' };
  } finally {
    clearInterval(beat);
  }
}
