/**
 * Fidelity rules: where the emulator (moto) accepts what AWS refuses, the fault proxy (proxy.ts) answers
 * as AWS does, before the request reaches the emulator. Each rule cites the AWS documentation sentence it
 * encodes; docs/emulator-support.md lists them. They are on for the whole integration suite, the chaos
 * suite and the demo (`AWS_FIDELITY_RULES`), so a test passes only where AWS would answer the same.
 */
import type http from 'node:http';
import type { RequestInfo } from './identify';
import { CLOUDWATCH_FIDELITY_RULES } from './fidelity-cloudwatch';
import { EKS_FIDELITY_RULES } from './fidelity-eks';

/** One request, as the rules read it. */
export interface FidelityCall {
  info: RequestInfo;
  method: string;
  /** The URL path without the query string (percent-decoded where it decodes). */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** A request parameter: a form field (query protocols), a top-level JSON member (JSON protocols) or a URL query parameter. */
  param(name: string): string | undefined;
  /** Ask the emulator, with this request's headers, what `method path` answers (its HTTP status): what a rule looks up. */
  probe(method: string, path: string): Promise<number>;
}

/** What a rule answers instead of the emulator: an AWS error in the service's own wire format, or AWS's success. */
export type FidelityAnswer = { status: number; code: string; message: string } | { status: 200; ok: true; headers: Record<string, string> };

/** What a rule remembers between requests: one map per proxy (rules keep their state under their id). */
export type FidelityState = Map<string, unknown>;

export interface FidelityRule {
  /** Stable name (`rds-identifier`), shown in the proxy's log as `fidelity:<id>`. */
  id: string;
  /** Where AWS says so, and what it says (quoted in docs/emulator-support.md). */
  source: { url: string; says: string };
  service: string;
  /** The operations it applies to; `'*'` for every operation of the service. */
  operations: readonly string[] | '*';
  /** AWS's answer to this request where the emulator's differs, or undefined to let it through. */
  refuse?(call: FidelityCall, state: FidelityState): FidelityAnswer | undefined | Promise<FidelityAnswer | undefined>;
  /** Learn from a request the emulator accepted (status 2xx). */
  observe?(call: FidelityCall, state: FidelityState): void;
  /** The emulator's successful answer (body text) rewritten as AWS would answer; returned unchanged when it already does. */
  rewrite?(call: FidelityCall, body: string, state: FidelityState): string;
}

/** A token bucket as Route 53 describes its throttling: `capacity` tokens at most, refilled at `refill` a second. */
interface Bucket {
  tokens: number;
  at: number;
}

/** Take a token from `bucket` (refilled first); false when it is empty. */
function take(bucket: Bucket, capacity: number, refill: number, now: number): boolean {
  bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * refill);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Route 53's request-rate buckets: the account's, and each operation's default, with the operations drover or its tests call that differ. */
const ROUTE53_ACCOUNT = { capacity: 50, refill: 10 };
const ROUTE53_OPERATION: Record<string, { capacity: number; refill: number }> = {
  CreateHealthCheck: { capacity: 50, refill: 0.5 },
  CreateHostedZone: { capacity: 40, refill: 2 },
  DeleteHostedZone: { capacity: 40, refill: 5 },
  GetHealthCheckStatus: { capacity: 4, refill: 1 },
};

/** The set a rule keeps under its id in the proxy's state. */
function setOf(state: FidelityState, id: string): Set<string> {
  let set = state.get(id) as Set<string> | undefined;
  if (!set) {
    set = new Set();
    state.set(id, set);
  }
  return set;
}

/** Parameters of a request body and URL, by protocol. */
export function requestParams(info: RequestInfo, headers: http.IncomingHttpHeaders, rawUrl: string, body: Buffer): (name: string) => string | undefined {
  const q = rawUrl.indexOf('?');
  const query = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
  const contentType = String(headers['content-type'] ?? '');
  let fields: (name: string) => string | undefined = () => undefined;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(body.toString('utf8'));
    fields = (name) => form.get(name) ?? undefined;
  } else if (info.protocol === 'json' || info.protocol === 'rest-json') {
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
      if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
    } catch {
      // not JSON: no body parameters
    }
    fields = (name) => (json[name] === undefined || json[name] === null ? undefined : String(json[name]));
  }
  return (name) => fields(name) ?? query.get(name) ?? undefined;
}

const RDS_IDENTIFIER = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/;

/** RDS's constraints on a DB instance identifier; a reason when `id` breaks one. */
export function rdsIdentifierProblem(id: string): string | undefined {
  if (id.length < 1 || id.length > 63) return `must contain from 1 to 63 letters, numbers, or hyphens (it has ${id.length} characters)`;
  if (!RDS_IDENTIFIER.test(id) || id.endsWith('-')) return "must start with a letter, contain only letters, numbers and hyphens, and can't end with a hyphen or contain two consecutive hyphens";
  return undefined;
}

/** The periods GetMetricStatistics takes: 1, 5, 10, 20, 30 (high-resolution metrics) or any multiple of 60. */
export function validMetricPeriod(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds > 0 && ([1, 5, 10, 20, 30].includes(seconds) || seconds % 60 === 0);
}

const header = (h: http.IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The rules drover's tests run with: each answers as AWS does where moto does not. */
export const AWS_FIDELITY_RULES: readonly FidelityRule[] = [
  {
    id: 'rds-identifier',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html',
      says: "NewDBInstanceIdentifier: Must contain from 1 to 63 letters, numbers, or hyphens. The first character must be a letter. Can't end with a hyphen or contain two consecutive hyphens.",
    },
    // moto checks new instances' identifiers but renames any ModifyDBInstance asks for.
    service: 'rds',
    operations: ['ModifyDBInstance'],
    refuse(call) {
      const id = call.param('NewDBInstanceIdentifier');
      const problem = id === undefined ? undefined : rdsIdentifierProblem(id);
      return problem ? { status: 400, code: 'InvalidParameterValue', message: `The parameter NewDBInstanceIdentifier is not a valid identifier: it ${problem}.` } : undefined;
    },
  },
  {
    id: 'sns-subject',
    source: {
      url: 'https://docs.aws.amazon.com/sns/latest/api/API_Publish.html',
      says: 'Subject: Constraints: Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long.',
    },
    service: 'sns',
    operations: ['Publish'],
    refuse(call) {
      const subject = call.param('Subject');
      if (subject === undefined) return undefined;
      // eslint-disable-next-line no-control-regex -- control characters are what the rule looks for
      if ([...subject].length >= 100 || /[\u0000-\u001f\u007f]/.test(subject)) return { status: 400, code: 'InvalidParameter', message: 'Invalid parameter: Subject' };
      return undefined;
    },
  },
  {
    id: 'cloudwatch-period',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html',
      says: 'Period: For metrics with regular resolution, a period can be as short as one minute (60 seconds) and must be a multiple of 60. For high-resolution metrics … the period can be 1, 5, 10, 20, 30, 60, or any multiple of 60.',
    },
    service: 'cloudwatch',
    operations: ['GetMetricStatistics'],
    refuse(call) {
      const period = call.param('Period');
      if (period === undefined || validMetricPeriod(Number(period))) return undefined;
      return { status: 400, code: 'InvalidParameterValue', message: 'The parameter Period must be a multiple of 60.' };
    },
  },
  {
    id: 's3-object-lock-checksum',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html',
      says: 'The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any request to upload an object with a retention period configured using Amazon S3 Object Lock.',
    },
    service: 's3',
    // drover's audit puts carry the lock headers; a put into a bucket whose default retention locks it needs the same.
    operations: ['PutObject'],
    refuse(call) {
      if (call.method !== 'PUT' || !header(call.headers, 'x-amz-object-lock-mode')) return undefined;
      const checksummed = header(call.headers, 'content-md5') || header(call.headers, 'x-amz-sdk-checksum-algorithm') || Object.keys(call.headers).some((h) => h.startsWith('x-amz-checksum-'));
      if (checksummed) return undefined;
      return { status: 400, code: 'InvalidRequest', message: 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters' };
    },
  },
  {
    id: 's3-create-bucket-us-east-1',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html',
      says: 'BucketAlreadyOwnedByYou: … For legacy compatibility, if you re-create an existing bucket that you already own in the North Virginia Region, Amazon S3 returns 200 OK and resets the bucket access control lists (ACLs).',
    },
    // moto answers 200 too, but also turns Object Lock on for the existing bucket when the request asks for it.
    service: 's3',
    operations: ['CreateBucket'],
    async refuse(call) {
      if (call.info.region !== 'us-east-1') return undefined;
      const bucket = call.path.replace(/^\/|\/$/g, '');
      // Only a valid bucket name is looked up (S3's naming rules); anything else is the emulator's to refuse.
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return undefined;
      if ((await call.probe('HEAD', `/${encodeURIComponent(bucket)}`)) !== 200) return undefined;
      return { status: 200, ok: true, headers: { location: `/${bucket}` } };
    },
  },
  {
    id: 'rds-promotion-clears-source',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html',
      says: 'PromoteReadReplica: "Promotes a read replica DB instance to a standalone DB instance." A standalone instance has no ReadReplicaSourceDBInstanceIdentifier ("the identifier of the source DB instance if this DB instance is a read replica", DBInstance), and its former source no longer lists it.',
    },
    // moto keeps both after PromoteReadReplica: the promoted instance still names its source, and the source still lists it.
    service: 'rds',
    operations: ['PromoteReadReplica', 'ModifyDBInstance', 'DeleteDBInstance', 'CreateDBInstance', 'CreateDBInstanceReadReplica', 'DescribeDBInstances'],
    observe(call, state) {
      const promoted = setOf(state, this.id);
      // Names a source may still list in moto that name no replica any more (renamed away: moto keeps the old name).
      const gone = setOf(state, `${this.id}:gone`);
      const key = (id: string) => `${call.info.region}\u0000${id.toLowerCase()}`;
      const id = call.param('DBInstanceIdentifier');
      if (!id) return;
      const op = call.info.operation;
      if (op === 'PromoteReadReplica') promoted.add(key(id));
      if (op === 'DeleteDBInstance') promoted.delete(key(id));
      // A new instance under a name is a new instance: whatever that name was before, it is not now.
      if (op === 'CreateDBInstance' || op === 'CreateDBInstanceReadReplica') {
        promoted.delete(key(id));
        gone.delete(key(id));
      }
      const renamed = op === 'ModifyDBInstance' ? call.param('NewDBInstanceIdentifier') : undefined;
      if (renamed) {
        gone.add(key(id));
        gone.delete(key(renamed));
        if (promoted.delete(key(id))) promoted.add(key(renamed));
      }
    },
    rewrite(call, body, state) {
      if (call.info.operation !== 'DescribeDBInstances') return body;
      const promoted = setOf(state, this.id);
      const gone = setOf(state, `${this.id}:gone`);
      if (promoted.size === 0 && gone.size === 0) return body;
      const keyOf = (ref: string) => {
        // A source lists a same-region replica by identifier, a cross-region one by ARN.
        const arn = /^arn:[^:]+:rds:([^:]+):[^:]*:db:(.+)$/.exec(ref);
        return arn ? `${arn[1]}\u0000${arn[2].toLowerCase()}` : `${call.info.region}\u0000${ref.toLowerCase()}`;
      };
      const isPromoted = (ref: string) => promoted.has(keyOf(ref));
      return body.replace(/<DBInstance>[\s\S]*?<\/DBInstance>/g, (block) => {
        const id = /<DBInstanceIdentifier>([^<]*)<\/DBInstanceIdentifier>/.exec(block)?.[1];
        let out = block.replace(/<ReadReplicaDBInstanceIdentifiers>([\s\S]*?)<\/ReadReplicaDBInstanceIdentifiers>/, (_all, members: string) => {
          // Promoted replicas and renamed-away names leave the list; a name listed twice (moto) is listed once.
          const seen = new Set<string>();
          const kept = members.replace(/<(\w+)>([^<]*)<\/\1>\s*/g, (m, _tag, ref: string) => {
            const k = keyOf(ref);
            if (isPromoted(ref) || gone.has(k) || seen.has(k)) return '';
            seen.add(k);
            return m;
          });
          return `<ReadReplicaDBInstanceIdentifiers>${kept}</ReadReplicaDBInstanceIdentifiers>`;
        });
        if (id !== undefined && isPromoted(id)) out = out.replace(/\s*<ReadReplicaSourceDBInstanceIdentifier>[^<]*<\/ReadReplicaSourceDBInstanceIdentifier>/, '');
        return out;
      });
    },
  },
  {
    id: 'route53-request-rate',
    source: {
      url: 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html',
      says: 'Amazon Route 53 uses a token bucket algorithm … Account level: all Amazon Route 53 API requests from your account draw from one bucket (maximum capacity 50, refill rate 10 a second); account and operation level: each API operation also has its own bucket … When a request is throttled, Amazon Route 53 returns an HTTP 400 error (Bad request) … a Code element with a value of Throttling and a Message element with a value of Rate exceeded.',
    },
    // moto answers every request at any rate.
    service: 'route53',
    operations: '*',
    refuse(call, state) {
      const buckets = (state.get(this.id) as Map<string, Bucket> | undefined) ?? new Map<string, Bucket>();
      state.set(this.id, buckets);
      const now = performance.now();
      const op = ROUTE53_OPERATION[call.info.operation] ?? ROUTE53_ACCOUNT;
      const bucket = (key: string, capacity: number) => {
        let b = buckets.get(key);
        if (!b) buckets.set(key, (b = { tokens: capacity, at: now }));
        return b;
      };
      const account = bucket('account', ROUTE53_ACCOUNT.capacity);
      const operation = bucket(`op:${call.info.operation}`, op.capacity);
      // A request takes a token from both buckets; either empty throttles it (and the other keeps its token).
      const fromAccount = take(account, ROUTE53_ACCOUNT.capacity, ROUTE53_ACCOUNT.refill, now);
      const fromOperation = fromAccount && take(operation, op.capacity, op.refill, now);
      if (fromAccount && !fromOperation) account.tokens += 1;
      return fromAccount && fromOperation ? undefined : { status: 400, code: 'Throttling', message: 'Rate exceeded' };
    },
  },
  ...CLOUDWATCH_FIDELITY_RULES,
  ...EKS_FIDELITY_RULES,
];
