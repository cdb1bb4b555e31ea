import type { CloudWatch } from '@aws-sdk/client-cloudwatch';
import type { EC2 } from '@aws-sdk/client-ec2';
import type { EKS } from '@aws-sdk/client-eks';
import type { KMS } from '@aws-sdk/client-kms';
import type { RDS } from '@aws-sdk/client-rds';
import type { Route53 } from '@aws-sdk/client-route-53';
import type { S3 } from '@aws-sdk/client-s3';
import type { SecretsManager } from '@aws-sdk/client-secrets-manager';
import type { SNS } from '@aws-sdk/client-sns';
import type { ServiceQuotas } from '@aws-sdk/client-service-quotas';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { AdaptiveRetryStrategy, StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import http from 'node:http';
import { awsAttemptMiddleware, awsCallMiddleware } from '../telemetry/aws';
import https from 'node:https';

/** The only Route 53 calls drover makes. */
export type Route53Api = Pick<Route53, 'listHostedZonesByName' | 'listResourceRecordSets' | 'changeResourceRecordSets' | 'getChange' | 'createHostedZone'>;
/** What `drover prepare` adds: the health checks of the data-plane controls (peacetime only). */
export type Route53PrepareApi = Route53Api & Pick<Route53, 'createHealthCheck' | 'listHealthChecks' | 'updateHealthCheck'>;
/** The only RDS calls drover makes. */
export type RdsApi = Pick<RDS, 'describeDBInstances' | 'promoteReadReplica' | 'addTagsToResource' | 'listTagsForResource' | 'createDBInstance' | 'createDBInstanceReadReplica'>;
/** RDS calls for fencing, snapshots, retiring and re-creating instances (failback). */
export type RdsLifecycleApi = Pick<
  RDS,
  | 'describeDBInstances'
  | 'addTagsToResource'
  | 'removeTagsFromResource'
  | 'listTagsForResource'
  | 'modifyDBInstance'
  | 'createDBSnapshot'
  | 'describeDBSnapshots'
  | 'deleteDBInstance'
  | 'createDBInstanceReadReplica'
  // The fence's fallback when the engine cannot be reached: a reboot ends every session (activities/engines.ts).
  | 'rebootDBInstance'
  // Resolving a re-created replica's groups in its own region (activities/dbconfig.ts).
  | 'describeDBSubnetGroups'
  | 'describeDBParameterGroups'
  | 'describeOptionGroups'
  // The fence's read_only on a MariaDB writer's own parameter group, and its restore (activities/engines.ts).
  | 'describeDBParameters'
  | 'modifyDBParameterGroup'
  | 'resetDBParameterGroup'
>;
/** RDS calls for Aurora global databases. */
export type AuroraApi = Pick<RDS, 'describeGlobalClusters' | 'switchoverGlobalCluster' | 'failoverGlobalCluster'>;
/** What drover prepare reads of an Aurora global database: each region's cluster writer endpoint. */
export type AuroraClusterApi = Pick<RDS, 'describeDBClusters'>;
/** The only EC2 calls drover makes (security groups for write fencing). */
export type Ec2Api = Pick<EC2, 'describeSecurityGroups' | 'createSecurityGroup' | 'describeVpcs' | 'describeInstanceTypeOfferings' | 'describeInstanceTypes'>;
/** The only KMS calls drover makes: finding the key of a region a re-created replica is encrypted with (reads only). */
export type KmsApi = Pick<KMS, 'describeKey' | 'listAliases'>;
/** The only Secrets Manager call drover makes: the database credentials a fence and its proof read, at the moment of use. */
export type SecretsApi = Pick<SecretsManager, 'getSecretValue'>;
/** The only EKS calls drover makes. */
export type EksApi = Pick<EKS, 'describeCluster' | 'describeNodegroup' | 'updateNodegroupConfig' | 'createCluster' | 'createNodegroup' | 'describeUpdate' | 'listUpdates' | 'tagResource' | 'untagResource'>;
/** What a cluster record reads besides DescribeCluster and DescribeNodegroup (activities/cluster-record.ts). */
export type EksRecordApi = Pick<EKS, 'describeCluster' | 'listNodegroups' | 'describeNodegroup' | 'listAddons' | 'describeAddon' | 'listAccessEntries' | 'describeAccessEntry' | 'listAssociatedAccessPolicies'>;
/** The only CloudWatch calls drover makes. */
export type CloudWatchApi = Pick<CloudWatch, 'describeAlarms' | 'getMetricStatistics' | 'putMetricAlarm' | 'putMetricData' | 'setAlarmState'>;

/** The only S3 calls drover makes (the audit trail's Object Lock bucket). */
export type S3Api = Pick<S3, 'createBucket' | 'getObjectLockConfiguration' | 'putObjectLockConfiguration' | 'putObject' | 'getObject' | 'listObjectsV2' | 'listObjectVersions'>;

/** The only SNS call drover makes (run notifications). */
export type SnsApi = Pick<SNS, 'publish'>;
/** Readiness's reads of Service Quotas: a quota's applied value, else its default (docs/readiness.md). */
export type ServiceQuotasApi = Pick<ServiceQuotas, 'getServiceQuota' | 'getAWSDefaultServiceQuota'>;

/** A raw HTTP request or response, as a signed STS request crosses from the CLI to the worker. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
/**
 * STS as identity verification uses it: a signed GetCallerIdentity is replayed unchanged (its signature
 * covers the Host header) to the worker's own STS endpoint, never to a URL the caller chose.
 */
export interface StsReplayApi {
  /** The endpoint requests are sent to; a request must be signed for its host. */
  readonly endpoint: URL;
  send(request: RawRequest): Promise<{ statusCode: number; body: string }>;
}

/** One result of an IAM policy simulation: the action, the resource, and `allowed`, `explicitDeny` or `implicitDeny`. */
export interface SimulationResult {
  action: string;
  resource: string;
  decision: string;
}

/**
 * The worker asking about its own permissions (the preflight's permission check, activities/permissions.ts): who it
 * is (sts:GetCallerIdentity, signed with its own credentials; no permission needed) and what its policies allow
 * (iam:SimulatePrincipalPolicy on its own role; IAM's API is served from us-east-1).
 */
export interface IamSelfApi {
  getCallerIdentity(region: string): Promise<{ Arn?: string }>;
  simulatePrincipalPolicy(input: { PolicySourceArn: string; ActionNames: string[]; ResourceArns?: string[]; ContextEntries?: Array<{ ContextKeyName: string; ContextKeyValues: string[] }> }): Promise<SimulationResult[]>;
}

/** Where and how drover reaches AWS: one configuration for every client. */
export interface AwsConfig {
  /** Endpoint for every service and region (an emulator such as moto or LocalStack). */
  endpoint?: string;
  /** Endpoint per region, overriding `endpoint` (e.g. to make one region unreachable in tests). */
  regionEndpoints?: Record<string, string>;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call before the error reaches Temporal, which then retries with its own backoff. */
  maxAttempts?: number;
  /** STS endpoint for identity verification (AWS_ENDPOINT_URL_STS), overriding `endpoint` and `regionEndpoints`. */
  stsEndpoint?: string;
  /** How long one HTTP attempt may take, in ms: to connect, and to answer a read or a write; default AWS_TIMEOUTS (0: no bound). */
  timeouts?: { connectMs: number; readMs: number; writeMs: number };
}

/**
 * One AWS API attempt: 3 s to connect; 5 s for a read (Describe…, List…, Get…, Head…), 30 s for a write.
 * drover's calls are control-plane calls (the slow work is asynchronous on AWS's side, waited for by polling)
 * that answer in well under a second. A timed-out read is retried by the SDK (3 attempts: 15 s, inside a
 * preflight read's 30-s activity attempt), then by Temporal. A timed-out write may have landed, so the SDK does
 * not send it again: the error goes to the activity, whose retry reads the state before it writes (every
 * write activity checks, then acts). Without these bounds a blackholed call held its activity until the
 * activity's own timeout (measured: bench/blackhole.ts).
 */
export const AWS_TIMEOUTS = { connectMs: 3_000, readMs: 5_000, writeMs: 30_000 };

/** The SDK operations that only read: named so in every AWS API drover calls. */
export const READ_OPERATION = /^(describe|list|get|head)[A-Z]/;

/**
 * Whether an SDK error is an attempt that timed out after its request was sent (the handler's requestTimeout, or
 * its socket's inactivity): AWS may have acted on it. A connect that timed out never sent anything, and a reset
 * socket (the handler names ECONNRESET and EPIPE TimeoutError too) is retried by the SDK as before.
 */
function timedOutAfterSending(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string } | undefined;
  if (e?.name !== 'TimeoutError') return false;
  return (e.code === 'ETIMEDOUT' && /requestTimeout/.test(e.message ?? '')) || /of inactivity/.test(e.message ?? '');
}

type RetryArgs = Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>;

/** The SDK's standard retries, except for a timed-out attempt, which goes back to the caller (a write may have landed). */
class NoRetryOnTimeout extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(token: RetryArgs[0], info: RetryArgs[1]): ReturnType<StandardRetryStrategy['refreshRetryTokenForRetry']> {
    if (timedOutAfterSending(info.error)) throw info.error;
    return super.refreshRetryTokenForRetry(token, info);
  }
}

type AdaptiveArgs = Parameters<AdaptiveRetryStrategy['refreshRetryTokenForRetry']>;

/** The SDK's adaptive retries (it slows its own sending rate when throttled), except for a timed-out write attempt. */
class AdaptiveNoRetryOnTimeout extends AdaptiveRetryStrategy {
  override async refreshRetryTokenForRetry(token: AdaptiveArgs[0], info: AdaptiveArgs[1]): ReturnType<AdaptiveRetryStrategy['refreshRetryTokenForRetry']> {
    if (timedOutAfterSending(info.error)) throw info.error;
    return super.refreshRetryTokenForRetry(token, info);
  }
}

/**
 * drover's share of Route 53's request rate, per worker (every run on it draws from one bucket): Route 53 gives an
 * account a bucket of 50 requests refilled at 10 a second, shared by every tool in the account (Developer Guide,
 * "Throttling for Amazon Route 53 API requests"; it was a flat 5 a second before), so drover takes half the refill.
 */
export const ROUTE53_BUDGET = { perSecond: 5, burst: 10 };

/** A token bucket that waits for its token, first come first served: at most `perSecond` a second, `burst` at once. */
export function tokenBucket(perSecond: number, burst: number, now: () => number = () => performance.now()): () => Promise<void> {
  let tokens = burst;
  let at = now();
  let queue: Promise<void> = Promise.resolve();
  return () => {
    const turn = queue.then(async () => {
      for (;;) {
        const t = now();
        tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
        at = t;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - tokens) / perSecond) * 1000)));
      }
    });
    queue = turn;
    return turn;
  };
}

/** One recorded AWS call: used for benchmarks (time inside AWS) and evidence (request ids). */
export interface AwsCallRecord {
  service: string;
  operation: string;
  region: string;
  /** Epoch ms the call started; with `ms`, lets overlapping parallel calls be merged. */
  startedAt: number;
  ms: number;
  ok: boolean;
}

export interface AwsClients {
  route53(): Route53PrepareApi;
  rds(region: string): RdsApi & RdsLifecycleApi & AuroraApi & AuroraClusterApi;
  eks(region: string): EksApi & EksRecordApi;
  cloudwatch(region: string): CloudWatchApi;
  ec2(region: string): Ec2Api;
  kms(region: string): KmsApi;
  secrets(region: string): SecretsApi;
  s3(region: string): S3Api;
  sts(region: string): StsReplayApi;
  sns(region: string): SnsApi;
  serviceQuotas(region: string): ServiceQuotasApi;
  /** The worker's own identity and permissions; absent from clients that do not serve the preflight's permission check. */
  iam?(): IamSelfApi;
}

// Route 53 is a global service whose API lives in us-east-1.
const ROUTE53_REGION = 'us-east-1';

/** Read the AWS configuration from the environment: AWS_ENDPOINT_URL and DROVER_ENDPOINT_<REGION>. */
export function awsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsConfig {
  const regionEndpoints: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^DROVER_ENDPOINT_([A-Z0-9_]+)$/.exec(key);
    if (m && value) regionEndpoints[m[1].toLowerCase().replace(/_/g, '-')] = value;
  }
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  return {
    endpoint,
    regionEndpoints,
    // Emulators accept any key; real AWS always goes through the SDK's default credential chain.
    credentials: endpoint && !hasCredentials ? { accessKeyId: 'drover-local', secretAccessKey: 'drover-local' } : undefined,
    maxAttempts: 3,
    stsEndpoint: env.AWS_ENDPOINT_URL_STS || undefined,
  };
}

/** The endpoint configured for one region, if any (an own property only: a region named `__proto__` finds nothing). */
function regionEndpoint(config: AwsConfig, region: string): string | undefined {
  const endpoints = config.regionEndpoints;
  return endpoints && Object.prototype.hasOwnProperty.call(endpoints, region) ? endpoints[region] : undefined;
}

/**
 * The STS endpoint of `region` under this configuration: where the CLI signs for and the worker verifies at.
 * The region must be an AWS region name: it becomes part of a host name.
 */
export function stsEndpoint(config: AwsConfig, region: string): URL {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`${JSON.stringify(region.slice(0, 64))} is not an AWS region name`);
  // The China regions' endpoints are sts.<region>.amazonaws.com.cn (IAM User Guide, "AWS STS Regions and endpoints").
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(config.stsEndpoint ?? regionEndpoint(config, region) ?? config.endpoint ?? `https://sts.${region}.${domain}`);
}

/** Send a raw request to `endpoint` as is (node:http keeps the signed Host header, which fetch would not). */
function sendRaw(endpoint: URL, req: RawRequest, timeoutMs = 10_000): Promise<{ statusCode: number; body: string }> {
  const transport = endpoint.protocol === 'http:' ? http : https;
  const basePath = endpoint.pathname.replace(/\/$/, '');
  return new Promise((resolve, reject) => {
    const r = transport.request(
      { protocol: endpoint.protocol, hostname: endpoint.hostname, port: endpoint.port || undefined, method: req.method, path: `${basePath}${req.path}`, headers: req.headers, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`STS at ${endpoint.host} did not answer within ${timeoutMs / 1000}s`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** An SDK client's options for `region` under `config` (its endpoint, credentials, attempts and timeouts), for reads or writes. */
export function clientOptions(config: AwsConfig, region: string, kind: 'read' | 'write' = 'read', retries: 'standard' | 'adaptive' = 'standard') {
  const timeouts = config.timeouts ?? AWS_TIMEOUTS;
  const attemptMs = kind === 'read' ? timeouts.readMs : timeouts.writeMs;
  const maxAttempts = config.maxAttempts ?? 3;
  const retryStrategy =
    kind === 'write' ? (retries === 'adaptive' ? new AdaptiveNoRetryOnTimeout(maxAttempts) : new NoRetryOnTimeout(maxAttempts)) : retries === 'adaptive' ? new AdaptiveRetryStrategy(maxAttempts) : undefined;
  return {
    region,
    endpoint: regionEndpoint(config, region) ?? config.endpoint,
    credentials: config.credentials,
    maxAttempts,
    ...(retryStrategy ? { retryStrategy } : {}),
    // The SDK builds its Node.js handler from these options: connectionTimeout bounds the connect, requestTimeout the
    // wait for the answer's headers (it only fails the attempt with throwOnRequestTimeout: without, @smithy/node-http-handler
    // logs a warning), socketTimeout an answer that stalls after them.
    requestHandler: { connectionTimeout: timeouts.connectMs, requestTimeout: attemptMs, socketTimeout: attemptMs, throwOnRequestTimeout: true },
  };
}

/**
 * Each service's SDK package, loaded when the first client of that service is built (clients are built on first use,
 * synchronously): a command that never calls a service does not load its package, and one that calls none (`drover
 * status`, `approve`, `runs`) loads none of them (cli/commands/index.ts, BENCHMARKS.md (f)).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- synchronous loads on first use */
const sdk = {
  cloudwatch: () => (require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch')).CloudWatch,
  ec2: () => (require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2')).EC2,
  eks: () => (require('@aws-sdk/client-eks') as typeof import('@aws-sdk/client-eks')).EKS,
  kms: () => (require('@aws-sdk/client-kms') as typeof import('@aws-sdk/client-kms')).KMS,
  rds: () => (require('@aws-sdk/client-rds') as typeof import('@aws-sdk/client-rds')).RDS,
  route53: () => (require('@aws-sdk/client-route-53') as typeof import('@aws-sdk/client-route-53')).Route53,
  s3: () => (require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')).S3,
  secrets: () => (require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager')).SecretsManager,
  sns: () => (require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNS,
  serviceQuotas: () => (require('@aws-sdk/client-service-quotas') as typeof import('@aws-sdk/client-service-quotas')).ServiceQuotas,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Build every AWS client drover uses from one configuration; clients are cached per region. */
export function createAwsClients(config: AwsConfig, record?: (call: AwsCallRecord) => void): AwsClients {
  const cache = new Map<string, unknown>();
  const common = (region: string, kind: 'read' | 'write' = 'read') => clientOptions(config, region, kind);
  const route53Budget = tokenBucket(ROUTE53_BUDGET.perSecond, ROUTE53_BUDGET.burst);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every SDK client's stack, whatever its command types
  type AnyStack = { middlewareStack: { add(mw: any, opts: any): void; addRelativeTo(mw: any, opts: any): void } };
  /**
   * One client as drover's code sees it: two SDK clients behind it, one for reads and one for writes (their
   * timeouts and retries differ, AWS_TIMEOUTS), each method going to the one its operation needs.
   */
  function build<T extends AnyStack & { destroy(): void }>(key: string, region: string, make: (kind: 'read' | 'write') => T, service: string, budget?: () => Promise<void>): T {
    const hit = cache.get(key);
    if (hit) return hit as T;
    const reader = make('read');
    const writer = make('write');
    for (const c of [reader, writer]) {
      instrument(c, region, service);
      // Every attempt (inside the SDK's retries) waits for its token, before it is signed (a long wait would date the signature).
      if (budget) {
        c.middlewareStack.addRelativeTo(
          (next: (a: unknown) => Promise<unknown>) => async (args: unknown) => {
            await budget();
            return next(args);
          },
          { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'droverRequestBudget' },
        );
      }
    }
    const client = new Proxy(reader, {
      get(target, prop, receiver) {
        if (prop === 'destroy') return () => (reader.destroy(), writer.destroy());
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string' || typeof value !== 'function' || prop === 'send' || READ_OPERATION.test(prop)) return value;
        const write = Reflect.get(writer, prop) as unknown;
        return typeof write === 'function' ? (write as (...a: unknown[]) => unknown).bind(writer) : value;
      },
    });
    cache.set(key, client);
    return client;
  }
  function instrument(client: AnyStack, region: string, service: string): void {
    // Spans and metrics (telemetry/aws.ts): nothing unless the process traces or serves metrics.
    client.middlewareStack.add(awsCallMiddleware(service, region), { step: 'initialize', name: 'droverTelemetry' });
    client.middlewareStack.add(awsAttemptMiddleware(service), { step: 'deserialize', priority: 'high', name: 'droverThrottleCounter' });
    if (record) {
      client.middlewareStack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
          const startedAt = Date.now();
          const started = performance.now();
          let ok = false;
          try {
            const out = await next(args);
            ok = true;
            return out;
          } finally {
            record({ service, operation: String(context.commandName ?? 'unknown').replace(/Command$/, ''), region, startedAt, ms: performance.now() - started, ok });
          }
        },
        { step: 'initialize', name: 'droverCallRecorder' },
      );
    }
  }
  return {
    // Route 53's rate is the account's: adaptive retries, and every call within drover's share of it (ROUTE53_BUDGET).
    route53: () => build('route53', ROUTE53_REGION, (kind) => new (sdk.route53())(clientOptions(config, ROUTE53_REGION, kind, 'adaptive')), 'route53', route53Budget),
    rds: (region) => build(`rds:${region}`, region, (kind) => new (sdk.rds())(common(region, kind)), 'rds'),
    eks: (region) => build(`eks:${region}`, region, (kind) => new (sdk.eks())(common(region, kind)), 'eks'),
    cloudwatch: (region) => build(`cloudwatch:${region}`, region, (kind) => new (sdk.cloudwatch())(common(region, kind)), 'cloudwatch'),
    ec2: (region) => build(`ec2:${region}`, region, (kind) => new (sdk.ec2())(common(region, kind)), 'ec2'),
    kms: (region) => build(`kms:${region}`, region, (kind) => new (sdk.kms())(common(region, kind)), 'kms'),
    secrets: (region) => build(`secretsmanager:${region}`, region, (kind) => new (sdk.secrets())(common(region, kind)), 'secretsmanager'),
    // Emulators serve every bucket on one host, so S3 must address buckets by path there. Checksums are pinned on
    // (not left to AWS_REQUEST_CHECKSUM_CALCULATION): Object Lock puts need one (audit/s3-store.ts).
    s3: (region) => build(`s3:${region}`, region, (kind) => new (sdk.s3())({ ...common(region, kind), forcePathStyle: Boolean(common(region).endpoint), requestChecksumCalculation: 'WHEN_SUPPORTED' }), 's3'),
    sts: (region) => {
      const endpoint = stsEndpoint(config, region);
      return { endpoint, send: (req) => sendRaw(endpoint, req) };
    },
    sns: (region) => build(`sns:${region}`, region, (kind) => new (sdk.sns())(common(region, kind)), 'sns'),
    serviceQuotas: (region) => build(`servicequotas:${region}`, region, (kind) => new (sdk.serviceQuotas())(common(region, kind)), 'servicequotas'),
    iam: () => iamSelf(config),
  };
}

/** The text of each `<tag>` in an XML answer, in order. */
function xmlAll(text: string, tag: string): string[] {
  return [...text.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
}

/**
 * IamSelfApi over the query protocol, signed with the configured credentials or the SDK's default chain (the same the
 * other clients use). Two calls a preflight makes once: no SDK client for them (IAM's and STS's are not among the
 * worker's dependencies).
 */
function iamSelf(config: AwsConfig): IamSelfApi {
  const credentials = config.credentials ?? defaultProvider();
  async function call(endpoint: URL, service: 'iam' | 'sts', region: string, params: Record<string, string>): Promise<string> {
    const body = new URLSearchParams({ Version: service === 'iam' ? '2010-05-08' : '2011-06-15', ...params }).toString();
    const basePath = endpoint.pathname.replace(/\/$/, '');
    const request = new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: `${basePath}/`,
      headers: { host: endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    const signed = await new SignatureV4({ credentials, region, service, sha256: Sha256 }).sign(request);
    const res = await sendRaw(endpoint, { method: 'POST', path: '/', headers: signed.headers, body }, (config.timeouts ?? AWS_TIMEOUTS).readMs || 10_000);
    if (res.statusCode !== 200) {
      const code = xmlAll(res.body, 'Code')[0] ?? `HTTP ${res.statusCode}`;
      throw Object.assign(new Error(`${service}:${params.Action} failed: ${code}: ${xmlAll(res.body, 'Message')[0] ?? ''}`), { name: code, $metadata: { httpStatusCode: res.statusCode } });
    }
    return res.body;
  }
  // IAM's endpoint is global, its API in us-east-1 (aws partition).
  const iamEndpoint = () => new URL(regionEndpoint(config, 'us-east-1') ?? config.endpoint ?? 'https://iam.amazonaws.com');
  return {
    async getCallerIdentity(region) {
      return { Arn: xmlAll(await call(stsEndpoint(config, region), 'sts', region, { Action: 'GetCallerIdentity' }), 'Arn')[0] };
    },
    async simulatePrincipalPolicy(input) {
      const results: SimulationResult[] = [];
      let marker: string | undefined;
      do {
        const params: Record<string, string> = { Action: 'SimulatePrincipalPolicy', PolicySourceArn: input.PolicySourceArn, MaxItems: '1000', ...(marker ? { Marker: marker } : {}) };
        input.ActionNames.forEach((a, i) => (params[`ActionNames.member.${i + 1}`] = a));
        (input.ResourceArns ?? []).forEach((r, i) => (params[`ResourceArns.member.${i + 1}`] = r));
        (input.ContextEntries ?? []).forEach((c, i) => {
          params[`ContextEntries.member.${i + 1}.ContextKeyName`] = c.ContextKeyName;
          params[`ContextEntries.member.${i + 1}.ContextKeyType`] = c.ContextKeyValues.length > 1 ? 'stringList' : 'string';
          c.ContextKeyValues.forEach((v, j) => (params[`ContextEntries.member.${i + 1}.ContextKeyValues.member.${j + 1}`] = v));
        });
        const text = await call(iamEndpoint(), 'iam', 'us-east-1', params);
        // One result per action and resource, each opening with its EvalActionName; its first EvalResourceName and
        // EvalDecision are its own (the nested ResourceSpecificResults come after them).
        for (const chunk of text.split('<EvalActionName>').slice(1)) {
          const action = chunk.slice(0, chunk.indexOf('<'));
          results.push({ action, resource: xmlAll(chunk, 'EvalResourceName')[0] ?? '*', decision: xmlAll(chunk, 'EvalDecision')[0] ?? 'implicitDeny' });
        }
        marker = xmlAll(text, 'IsTruncated')[0] === 'true' ? xmlAll(text, 'Marker')[0] : undefined;
      } while (marker);
      return results;
    },
  };
}
