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
import { RDS_REPLICA_FIDELITY_RULES } from './fidelity-rds';
import { ROUTE53_FIDELITY_RULES } from './fidelity-route53';
import { kept, type FidelityRule, type FidelityState } from './fidelity-rule';

export type { FidelityAnswer, FidelityCall, FidelityRule, FidelityState } from './fidelity-rule';

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
const setOf = (state: FidelityState, id: string): Set<string> => kept(state, id, () => new Set<string>());

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

/** One status an instance shows for a while, until `until` (epoch ms). */
interface Phase {
  status: string;
  until: number;
}

/** The statuses the `rds-instance-states` rule keeps instances in: a queue of phases per region and identifier. */
const RDS_STATES = 'rds-instance-states';

const rdsKey = (region: string, id: string) => `${region}\u0000${id.toLowerCase()}`;

/** The status the `rds-instance-states` rule shows an instance in now, if it is passing through one. */
export function rdsPassingStatus(state: FidelityState, region: string, id: string, now = Date.now()): string | undefined {
  return passingAt(state, rdsKey(region, id), now);
}

function passingAt(state: FidelityState, key: string, now = Date.now()): string | undefined {
  return (state.get(RDS_STATES) as Map<string, Phase[]> | undefined)?.get(key)?.find((p) => p.until > now)?.status;
}

/** The RDS operations that `rds-instance-states` refuses while their instance passes through a state. */
const RDS_BUSY_REFUSED = ['ModifyDBInstance', 'PromoteReadReplica', 'DeleteDBInstance', 'CreateDBSnapshot', 'RebootDBInstance', 'StopDBInstance'];

/**
 * The `rds-instance-states` rule, with each passing state lasting `phaseMs` (scaled down from AWS's minutes):
 * a snapshot leaves its instance `backing-up`, a modification `modifying` (a rename `renaming`), a promotion
 * `modifying`, `rebooting` then `backing-up`; DescribeDBInstances shows the state, and the operations AWS refuses
 * meanwhile answer InvalidDBInstanceState.
 */
export function rdsInstanceStates(opts: { phaseMs?: number } = {}): FidelityRule {
  const phaseMs = opts.phaseMs ?? 250;
  const phasesOf = (state: FidelityState) => kept(state, RDS_STATES, () => new Map<string, Phase[]>());
  const queue = (state: FidelityState, key: string, statuses: string[]) => {
    const now = Date.now();
    phasesOf(state).set(
      key,
      statuses.map((status, i) => ({ status, until: now + (i + 1) * phaseMs })),
    );
  };
  return {
    id: RDS_STATES,
    source: {
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html',
      says: 'A read replica cannot be promoted to a standalone instance when it is in the backing-up status. (Errors: InvalidDBInstanceState, "The DB instance isn\'t in a valid state.") Statuses: backing-up, "The DB instance is currently being backed up"; modifying, "The DB instance is being modified because of a customer request to modify the DB instance"; rebooting; renaming (RDS User Guide, Overview.DBInstance.Status).',
    },
    // moto answers every call at once and shows every instance available throughout.
    service: 'rds',
    operations: [...RDS_BUSY_REFUSED, 'CreateDBInstance', 'CreateDBInstanceReadReplica', 'DescribeDBInstances'],
    refuse(call, state) {
      if (!RDS_BUSY_REFUSED.includes(call.info.operation)) return undefined;
      const id = call.param('DBInstanceIdentifier');
      const status = id === undefined ? undefined : rdsPassingStatus(state, call.info.region, id);
      return status ? { status: 400, code: 'InvalidDBInstanceState', message: `Instance ${id} is ${status}, not available.` } : undefined;
    },
    observe(call, state) {
      const id = call.param('DBInstanceIdentifier');
      if (!id) return;
      const key = rdsKey(call.info.region, id);
      switch (call.info.operation) {
        case 'ModifyDBInstance': {
          const renamed = call.param('NewDBInstanceIdentifier');
          if (renamed) {
            phasesOf(state).delete(key);
            queue(state, rdsKey(call.info.region, renamed), ['renaming']);
          } else queue(state, key, ['modifying']);
          break;
        }
        case 'CreateDBSnapshot':
          queue(state, key, ['backing-up']);
          break;
        case 'PromoteReadReplica':
          queue(state, key, ['modifying', 'rebooting', 'backing-up']);
          break;
        case 'RebootDBInstance':
          queue(state, key, ['rebooting']);
          break;
        case 'DeleteDBInstance':
        case 'CreateDBInstance':
        case 'CreateDBInstanceReadReplica':
          // Gone, or a new instance under the name: no state of the old one carries over.
          phasesOf(state).delete(key);
          break;
      }
    },
    rewrite(call, body, state) {
      if (call.info.operation !== 'DescribeDBInstances' || !state.get(RDS_STATES)) return body;
      return body.replace(/<DBInstance>[\s\S]*?<\/DBInstance>/g, (block) => {
        const id = /<DBInstanceIdentifier>([^<]*)<\/DBInstanceIdentifier>/.exec(block)?.[1];
        const status = id === undefined ? undefined : rdsPassingStatus(state, call.info.region, id);
        return status ? block.replace('<DBInstanceStatus>available</DBInstanceStatus>', `<DBInstanceStatus>${status}</DBInstanceStatus>`) : block;
      });
    },
  };
}

/**
 * The `route53-change-pending` rule, with each change PENDING for `pendingMs` (scaled down from AWS's "up to about
 * a minute"): ChangeResourceRecordSets answers PENDING, and GetChange answers PENDING until that time has passed.
 */
export function route53ChangePending(opts: { pendingMs?: number } = {}): FidelityRule {
  const pendingMs = opts.pendingMs ?? 200;
  const id = 'route53-change-pending';
  const pendingOf = (state: FidelityState) => kept(state, id, () => new Map<string, number>());
  const changeId = (ref: string) => ref.replace(/^\/?change\//, '');
  return {
    id,
    source: {
      url: 'https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html',
      says: 'PENDING indicates that the changes in this request have not propagated to all Amazon Route 53 DNS servers managing the hosted zone. This is the initial status of all change batch requests. INSYNC indicates that the changes have propagated to all Route 53 DNS servers managing the hosted zone.',
    },
    // moto answers INSYNC at once, to ChangeResourceRecordSets and to every GetChange.
    service: 'route53',
    operations: ['ChangeResourceRecordSets', 'GetChange'],
    rewrite(call, body, state) {
      const pending = pendingOf(state);
      const now = Date.now();
      for (const [change, until] of pending) if (until <= now) pending.delete(change);
      const ref = /<ChangeInfo>[\s\S]*?<Id>([^<]*)<\/Id>/.exec(body)?.[1];
      if (ref === undefined) return body;
      if (call.info.operation === 'ChangeResourceRecordSets') pending.set(changeId(ref), now + pendingMs);
      else if (!pending.has(changeId(ref))) return body;
      return body.replace(/<Status>INSYNC<\/Status>/, '<Status>PENDING</Status>');
    },
  };
}

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
  rdsInstanceStates(),
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
      // A promotion clears the source once the replica has rebooted (rds-instance-states passes it through modifying and rebooting first).
      const isPromoted = (ref: string) => {
        const k = keyOf(ref);
        return promoted.has(k) && !['modifying', 'rebooting'].includes(passingAt(state, k) ?? '');
      };
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
  ...RDS_REPLICA_FIDELITY_RULES,
  route53ChangePending(),
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
      const buckets = kept(state, this.id, () => new Map<string, Bucket>());
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
  // After the request rate: a throttled CreateHealthCheck is refused before it could be answered as a repeat.
  ...ROUTE53_FIDELITY_RULES,
  ...CLOUDWATCH_FIDELITY_RULES,
  ...EKS_FIDELITY_RULES,
];
