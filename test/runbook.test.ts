import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { exec } from '../cli/main';
import { EXIT } from '../cli/io';
import { databasesOf } from '../runbooks/databases';
import { parseRunbook, type RunbookProblem } from '../runbooks/load';
import { didYouMean } from '../runbooks/suggest';
import { AWS_REGION_PARTITION, AWS_REGION_SHAPE, AWS_REGIONS } from '../runbooks/aws-regions';
import { sdkRegions } from '../tools/aws-regions';
import { runbookDigest } from '../runbooks/source';

const APNAKART = readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drover-runbook-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function writeRunbook(text: string, name = `runbook-${++fileCount}.yaml`): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The apnakart runbook with one small edit made through the YAML Document API (comments survive). */
function edited(edit: (doc: Document) => void): string {
  const doc = parseDocument(APNAKART);
  edit(doc);
  return doc.toString();
}

/** Move the apnakart database into `databases: [main, orders]`, orders a copy with names of its own. */
function asDatabaseList(d: Document): void {
  const main = (d.toJS() as { database: Record<string, unknown> }).database;
  const orders = { name: 'orders', ...structuredClone(main), primary: { identifier: 'orders-pg-mumbai' }, replica: { identifier: 'orders-pg-singapore' }, writerRecord: { name: 'orders-db.apnakart.com', ttl: 30 } };
  d.deleteIn(['database']);
  d.setIn(['databases'], d.createNode([{ name: 'main', ...main }, orders]));
}

/** Run `drover validate` in-process and capture what it prints. */
async function validate(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await exec(['validate', ...args], { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

function expectNoStackTrace(lines: string[]): void {
  const text = lines.join('\n');
  expect(text).not.toMatch(/\n\s+at \S/);
  expect(text).not.toMatch(/^\s*at \S+ \(.*:\d+:\d+\)$/m);
  expect(text).not.toMatch(/\b[A-Z]\w*Error:/);
  expect(text).not.toMatch(/unexpected error/);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The 1-based line and column where `needle` first occurs in `text`. */
function locate(text: string, needle: string): { line: number; col: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`test fixture: ${needle} not in text`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

describe('the apnakart demo runbook', () => {
  const result = parseRunbook(APNAKART);

  test('parses without problems', () => {
    expect(result).toEqual({ ok: true, runbook: expect.any(Object) });
  });

  test('describes 40 services failing over from Mumbai (ap-south-1) to Singapore (ap-southeast-1)', () => {
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const rb = result.runbook;
    expect(rb.version).toBe(1);
    expect(rb.name).toBe('apnakart');
    expect(rb.application.services).toHaveLength(40);
    expect(new Set(rb.application.services).size).toBe(40);
    expect(rb.regions).toEqual({ primary: 'ap-south-1', standby: 'ap-southeast-1' });
    expect(rb.compute.clusters.map((c) => c.region)).toEqual(['ap-south-1', 'ap-southeast-1']);
    expect(databasesOf(rb).map((d) => d.replica.identifier)).toEqual(['apnakart-pg-singapore']);
  });

  test('has weighted and failover records with a set identifier per region, and a shift ending at 100%', () => {
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const { dns } = result.runbook;
    expect(dns.records.map((r) => [r.name, r.routing])).toEqual([
      ['api.apnakart.com', 'weighted'],
      ['www.apnakart.com', 'weighted'],
      ['static.apnakart.com', 'failover'],
    ]);
    for (const r of dns.records) expect(Object.keys(r.targets).sort()).toEqual(['ap-south-1', 'ap-southeast-1']);
    expect(dns.shift.steps).toEqual([10, 50, 100]);
  });

  test('carries every duration as milliseconds', () => {
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const rb = result.runbook;
    expect(rb.dns.shift.soak).toBe(2 * 60_000);
    expect(rb.database?.maxReplicaLag).toBe(30_000);
    expect(rb.health.interval).toBe(10_000);
    expect(rb.health.probes['ap-southeast-1']?.map((p) => p.timeout)).toEqual([3000, 3000]);
    expect(rb.objectives).toEqual({ rto: 15 * 60_000, rpo: 60_000 });
  });

  test('drover validate accepts it with exit 0 and a one-line summary', async () => {
    const file = writeRunbook(APNAKART, 'apnakart.yaml');
    const { code, out, err } = await validate(file);
    expect(code).toBe(EXIT.OK);
    expect(err).toEqual([]);
    expect(out).toEqual([
      `${file}: valid runbook "apnakart" (ap-south-1 -> ap-southeast-1, 3 records, 2 clusters, 1 database)`,
      `digest ${runbookDigest(readFileSync(file, 'utf8'))} (runs name it; the workers must hold this very file as apnakart.yaml)`,
    ]);
  });
});

describe('a runbook with a list of databases', () => {
  test('parses, and databasesOf gives each database with its name', () => {
    const result = parseRunbook(edited(asDatabaseList));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.runbook.database).toBeUndefined();
    expect(databasesOf(result.runbook).map((d) => [d.name, d.primary.identifier, d.replica.identifier, d.writerRecord.name, d.maxReplicaLag])).toEqual([
      ['main', 'apnakart-pg-mumbai', 'apnakart-pg-singapore', 'db.apnakart.com', 30_000],
      ['orders', 'orders-pg-mumbai', 'orders-pg-singapore', 'orders-db.apnakart.com', 30_000],
    ]);
  });
});

interface BadCase {
  what: string;
  edit: (doc: Document) => void;
  path: string;
  message: string;
  /** Every path the loader reports for this edit, in its order, when the edit breaks more than one rule (default: [path]). */
  paths?: string[];
}

const CREDENTIALS = (name: string) => `${name} carries the worker's own AWS credentials or identity, which a redeploy hook never gets`;
const SETTINGS = (name: string) => `${name} is one of the worker's own settings (TEMPORAL_*, DROVER_*), which a redeploy hook never gets; drover sets DROVER_RUNBOOK, DROVER_REGION and DROVER_CLUSTER itself`;

/** `rebuild.redeploy.passEnv` set to `names`, the last of which is refused with `message(name)`. */
function passEnvCase(what: string, names: string[], message: (name: string) => string): BadCase {
  const last = names[names.length - 1];
  return {
    what: `a redeploy hook passed ${what}`,
    edit: (d) => d.setIn(['rebuild', 'redeploy', 'passEnv'], d.createNode(names)),
    path: `rebuild.redeploy.passEnv[${names.length - 1}]`,
    message: message(last),
  };
}

const badRunbooks: BadCase[] = [
  {
    what: 'an unknown routing policy',
    edit: (d) => d.setIn(['dns', 'records', 1, 'routing'], 'latency'),
    path: 'dns.records[1].routing',
    message: 'expected "weighted" or "failover", got "latency"',
  },
  {
    what: 'a standby region equal to the primary',
    edit: (d) => d.setIn(['regions', 'standby'], 'ap-south-1'),
    path: 'regions.standby',
    message: 'must differ from the primary region (ap-south-1)',
  },
  {
    what: 'a record without a set identifier for the standby region',
    edit: (d) => d.deleteIn(['dns', 'records', 0, 'targets', 'ap-southeast-1']),
    path: 'dns.records[0].targets.ap-southeast-1',
    message: 'missing set identifier for region ap-southeast-1',
  },
  {
    what: 'the same set identifier for both regions',
    edit: (d) => d.setIn(['dns', 'records', 1, 'targets', 'ap-southeast-1', 'setIdentifier'], 'web-mumbai'),
    path: 'dns.records[1].targets',
    message: 'the two regions need different set identifiers',
  },
  {
    what: 'shift steps that stop short of 100',
    edit: (d) => d.setIn(['dns', 'shift', 'steps'], d.createNode([10, 50, 90], { flow: true })),
    path: 'dns.shift.steps',
    message: 'must end at 100, ends at 90',
  },
  {
    what: 'shift steps that go backwards',
    edit: (d) => d.setIn(['dns', 'shift', 'steps'], d.createNode([10, 50, 40, 100], { flow: true })),
    path: 'dns.shift.steps[2]',
    message: 'steps must increase (50 then 40)',
  },
  {
    what: 'an unreadable soak duration',
    edit: (d) => d.setIn(['dns', 'shift', 'soak'], 'two minutes'),
    path: 'dns.shift.soak',
    message: 'expected a duration such as 30s, 5m or 1h, got "two minutes"',
  },
  {
    what: 'an unreadable probe timeout',
    edit: (d) => d.setIn(['health', 'probes', 'ap-south-1', 1, 'timeout'], '3 seconds'),
    path: 'health.probes.ap-south-1[1].timeout',
    message: 'expected a duration such as 30s, 5m or 1h, got "3 seconds"',
  },
  {
    what: 'a misspelt key',
    edit: (d) => {
      d.deleteIn(['database', 'maxReplicaLag']);
      d.setIn(['database', 'maxReplicaLage'], '30s');
    },
    path: 'database',
    message: 'unknown key "maxReplicaLage" (did you mean "maxReplicaLag"?)',
    // The correct key is gone too, so it is also reported missing.
    paths: ['database.maxReplicaLag', 'database'],
  },
  {
    what: 'a missing database replica',
    edit: (d) => d.deleteIn(['database', 'replica']),
    path: 'database.replica',
    message: 'required',
  },
  {
    what: 'a TTL written as a word',
    edit: (d) => d.setIn(['dns', 'records', 0, 'ttl'], 'sixty'),
    path: 'dns.records[0].ttl',
    message: 'expected number, got string',
  },
  {
    what: 'shift steps written as a string',
    edit: (d) => d.setIn(['dns', 'shift', 'steps'], 'fast'),
    path: 'dns.shift.steps',
    message: 'expected array, got string',
  },
  {
    what: 'a city instead of a region name',
    edit: (d) => d.setIn(['regions', 'primary'], 'mumbai'),
    path: 'regions.primary',
    message: 'expected an AWS region name such as ap-south-1',
  },
  {
    what: 'a probe URL with credentials in it',
    edit: (d) => d.setIn(['health', 'probes', 'ap-southeast-1', 0, 'url'], 'https://monitor:S3cretPass@api-singapore.apnakart.com/healthz'),
    path: 'health.probes.ap-southeast-1[0].url',
    message: "a probe URL carries no credentials (user:password@): they would be kept in every run's history; probe a health endpoint that needs none",
  },
  {
    what: 'a misspelt region (shaped like one, but not among AWS SDK regions)',
    edit: (d) => d.setIn(['audit'], d.createNode({ s3: { bucket: 'apnakart-audit', region: 'us-est-1' } })),
    path: 'audit.s3.region',
    message: 'us-est-1 is not an AWS region drover knows (did you mean "us-east-1"?); if AWS launched it after this release, list it under regions.unlisted',
  },
  {
    what: 'a state bucket in a region AWS does not have, with nothing near it',
    edit: (d) => d.setIn(['rebuild', 'backend'], d.createNode({ type: 's3', bucket: 'apnakart-state', region: 'zz-nowhere-9' })),
    path: 'rebuild.backend.region',
    message: 'zz-nowhere-9 is not an AWS region drover knows; if AWS launched it after this release, list it under regions.unlisted',
  },
  {
    what: 'a cluster in a third region',
    edit: (d) => d.setIn(['compute', 'clusters', 0, 'region'], 'eu-west-1'),
    path: 'compute.clusters[0].region',
    message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)',
  },
  {
    what: 'alarms for a third region',
    edit: (d) => d.setIn(['health', 'alarms', 'eu-west-1'], d.createNode(['api-5xx-ireland'])),
    path: 'health.alarms.eu-west-1',
    message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)',
  },
  {
    what: 'standby capacity above active capacity',
    edit: (d) => d.setIn(['compute', 'clusters', 1, 'nodeGroups', 1, 'standby'], 9),
    path: 'compute.clusters[1].nodeGroups[1].standby',
    message: 'standby capacity 9 exceeds active capacity 6',
  },
  {
    what: 'a node group max below its active capacity',
    edit: (d) => d.setIn(['compute', 'clusters', 0, 'nodeGroups', 0, 'max'], 4),
    path: 'compute.clusters[0].nodeGroups[0].max',
    message: 'max 4 is below active capacity 12',
  },
  {
    what: 'no cluster in the standby region',
    edit: (d) => d.deleteIn(['compute', 'clusters', 1]),
    path: 'compute.clusters',
    message: 'no cluster in the standby region ap-southeast-1',
  },
  {
    what: 'approval gates with nobody to approve',
    edit: (d) => d.setIn(['approvals', 'approvers'], d.createNode([])),
    path: 'approvals.approvers',
    message: 'gates failover, failback, cleanup need at least one approver',
  },
  {
    what: 'a probe URL that is not http(s)',
    edit: (d) => d.setIn(['health', 'probes', 'ap-southeast-1', 0, 'url'], 'ftp://api-singapore.apnakart.com/healthz'),
    path: 'health.probes.ap-southeast-1[0].url',
    message: 'expected an http(s) URL',
  },
  {
    what: 'the same record listed twice',
    edit: (d) => d.setIn(['dns', 'records', 2, 'name'], 'API.apnakart.com.'),
    path: 'dns.records[2].name',
    message: 'duplicates dns.records[0] (api.apnakart.com CNAME)',
  },
  {
    what: 'a record outside its zone (api.example.io in zone apnakart.com)',
    edit: (d) => d.setIn(['dns', 'records', 1, 'name'], 'api.example.io'),
    path: 'dns.records[1].name',
    message: 'api.example.io is not in zone apnakart.com (dns.hostedZone): a record must be the zone\'s name or end with .apnakart.com',
  },
  {
    what: 'a record whose name only ends like its zone (badapnakart.com in zone apnakart.com)',
    edit: (d) => d.setIn(['dns', 'records', 1, 'name'], 'badapnakart.com'),
    path: 'dns.records[1].name',
    message: 'badapnakart.com is not in zone apnakart.com (dns.hostedZone): a record must be the zone\'s name or end with .apnakart.com',
  },
  {
    what: 'a writer record outside the zone it names',
    edit: (d) => d.setIn(['database', 'writerRecord', 'zone'], 'internal.example'),
    path: 'database.writerRecord.name',
    message: 'db.apnakart.com is not in zone internal.example (database.writerRecord.zone): a record must be the zone\'s name or end with .internal.example',
  },
  {
    what: 'runbook version 2',
    edit: (d) => d.setIn(['version'], 2),
    path: 'version',
    message: 'expected 1 (the only runbook version so far)',
  },
  {
    what: 'a misspelt gate name',
    edit: (d) => d.setIn(['approvals', 'gates', 1], 'failbak'),
    path: 'approvals.gates[1]',
    message: 'expected "failover", "failback", "promote", "rebuild-plan", "rebuild-force" or "cleanup", got "failbak"',
  },
  {
    what: 'an unsupported database engine',
    edit: (d) => d.setIn(['database', 'engine'], 'oracle'),
    path: 'database.engine',
    message: 'expected "postgres", "mysql", "mariadb" or "aurora-global", got "oracle"',
  },
  {
    what: 'a service name with capitals',
    edit: (d) => d.setIn(['application', 'services', 3], 'Checkout'),
    path: 'application.services[3]',
    message: 'expected lower-case letters, digits and dashes, starting with a letter',
  },
  {
    what: 'a security-group fence without its group',
    edit: (d) => d.deleteIn(['database', 'fence', 'groupName']),
    path: 'database.fence.groupName',
    message: 'required when the fence method is security-group',
  },
  {
    what: "a primary's KMS key of the standby region (KMS keys are regional)",
    edit: (d) => d.setIn(['database', 'primary', 'kmsKeyId'], 'arn:aws:kms:ap-southeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    path: 'database.primary.kmsKeyId',
    message: 'is a key of ap-southeast-1, but the primary is in ap-south-1: KMS keys are regional, give a key of ap-south-1',
  },
  {
    what: 'a KMS key that is no key identifier',
    edit: (d) => d.setIn(['database', 'replica', 'kmsKeyId'], 'my key'),
    path: 'database.replica.kmsKeyId',
    message: 'expected a KMS key ARN, key id, alias ARN or alias name such as alias/apnakart-db',
  },
  {
    what: 'an Aurora global database without its global cluster',
    edit: (d) => d.setIn(['database', 'engine'], 'aurora-global'),
    path: 'database.globalClusterIdentifier',
    message: 'required when the engine is aurora-global',
  },
  {
    what: 'an unknown retention policy',
    edit: (d) => d.setIn(['database', 'retention'], 'archive'),
    path: 'database.retention',
    message: 'expected "keep" or "delete", got "archive"',
  },
  {
    what: 'a time to live for instances that are deleted at once',
    edit: (d) => d.setIn(['database', 'retention'], 'delete'),
    path: 'database.retainFor',
    message: 'applies to kept instances only, and retention is delete (a replaced instance is deleted at once)',
  },
  {
    what: 'a database identifier RDS would refuse (two hyphens in a row)',
    edit: (d) => d.setIn(['database', 'replica', 'identifier'], 'apnakart--pg'),
    path: 'database.replica.identifier',
    message: 'expected an RDS identifier: a letter first, then letters, digits and single hyphens',
  },
  {
    what: 'a database identifier longer than RDS allows',
    edit: (d) => {
      d.setIn(['database', 'retention'], 'delete');
      d.deleteIn(['database', 'retainFor']);
      d.setIn(['database', 'primary', 'identifier'], `a${'b'.repeat(63)}`);
    },
    path: 'database.primary.identifier',
    message: 'Too big: expected string to have <=63 characters',
  },
  {
    what: 'an identifier whose kept name would be longer than RDS allows',
    edit: (d) => d.setIn(['database', 'primary', 'identifier'], `apnakart-${'p'.repeat(33)}`),
    path: 'database.primary.identifier',
    message:
      'at most 41 characters with retention keep (this one has 42): a replaced instance is kept as apnakart-ppppppppppppppppppppppppppppppppp-old-<yyyymmddhhmm>-<tag>, 22 characters more, and RDS identifiers have at most 63; shorten it or set retention: delete',
  },
  {
    what: 'a ReplicaLag period CloudWatch refuses',
    edit: (d) => d.setIn(['database', 'lagPeriod'], '90s'),
    path: 'database.lagPeriod',
    message: 'CloudWatch takes a period of 1s, 5s, 10s, 20s, 30s or a multiple of 60s (RDS publishes ReplicaLag once a minute: 60s)',
  },
  {
    what: 'a time to live that is no duration',
    edit: (d) => d.setIn(['database', 'retainFor'], 'two weeks'),
    path: 'database.retainFor',
    message: 'expected a duration such as 30s, 5m or 1h, got "two weeks"',
  },
  {
    what: "an unknown drill retention",
    edit: (d) => d.setIn(['drills', 'retention'], 'archive'),
    path: 'drills.retention',
    message: 'expected "keep" or "delete", got "archive"',
  },
  {
    what: 'both database and databases',
    edit: (d) => {
      const one = d.getIn(['database']);
      asDatabaseList(d);
      d.setIn(['database'], one);
    },
    path: 'databases',
    message: 'give either database (one) or databases (a list), not both',
  },
  {
    what: 'neither database nor databases',
    edit: (d) => d.deleteIn(['database']),
    path: 'database',
    message: 'required (or databases, a list of them)',
  },
  {
    what: 'a listed database without a name',
    edit: (d) => {
      asDatabaseList(d);
      d.deleteIn(['databases', 1, 'name']);
    },
    path: 'databases[1].name',
    message: 'required in a list of databases (CLI flags, workflow ids and reports name it)',
  },
  {
    what: 'two listed databases with one name',
    edit: (d) => {
      asDatabaseList(d);
      d.setIn(['databases', 1, 'name'], 'main');
    },
    path: 'databases[1].name',
    message: 'database name main is already used by databases[0]',
  },
  {
    what: "a listed database's replica named like another's primary",
    edit: (d) => {
      asDatabaseList(d);
      d.setIn(['databases', 1, 'replica', 'identifier'], 'apnakart-pg-mumbai');
    },
    path: 'databases[1].replica.identifier',
    message: 'identifier apnakart-pg-mumbai is already used by databases[0].primary',
  },
  {
    what: 'two listed databases with one writer record',
    edit: (d) => {
      asDatabaseList(d);
      d.setIn(['databases', 1, 'writerRecord', 'name'], 'db.apnakart.com');
    },
    path: 'databases[1].writerRecord.name',
    message: 'writer record db.apnakart.com is already used by databases[0]',
  },
  {
    what: 'a security-group fence without its group in a listed database',
    edit: (d) => {
      asDatabaseList(d);
      d.deleteIn(['databases', 1, 'fence', 'groupName']);
    },
    path: 'databases[1].fence.groupName',
    message: 'required when the fence method is security-group',
  },
  {
    what: 'a drill window in an unknown time zone',
    edit: (d) => d.setIn(['drills', 'windows', 0, 'timezone'], 'Asia/Mumbai'),
    path: 'drills.windows[0].timezone',
    message: 'expected an IANA time zone such as Asia/Kolkata or UTC, got "Asia/Mumbai"',
  },
  {
    what: 'a drill window that ends before it starts',
    edit: (d) => d.setIn(['drills', 'windows', 0, 'to'], '01:00'),
    path: 'drills.windows[0].to',
    message: 'must be later than from (02:00)',
  },
  {
    what: 'drills enabled without a window',
    edit: (d) => d.setIn(['drills', 'windows'], []),
    path: 'drills.windows',
    message: 'name at least one window when drills are enabled',
  },
  {
    what: 'a drill window on an unknown day',
    edit: (d) => d.setIn(['drills', 'windows', 0, 'days', 1], 'sunday'),
    path: 'drills.windows[0].days[1]',
    message: 'expected "mon", "tue", "wed", "thu", "fri", "sat" or "sun", got "sunday"',
  },
  passEnvCase('the worker\'s secret access key', ['ARGOCD_SERVER', 'AWS_SECRET_ACCESS_KEY'], CREDENTIALS),
  passEnvCase('the secret key by its Java SDK 1.x name', ['AWS_SECRET_KEY'], CREDENTIALS),
  passEnvCase('the container credentials endpoint', ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], CREDENTIALS),
  passEnvCase('the Pod Identity token file, in lower case', ['aws_container_authorization_token_file'], CREDENTIALS),
  passEnvCase('the web identity token file', ['HELM_CACHE_HOME', 'ARGOCD_SERVER', 'AWS_WEB_IDENTITY_TOKEN_FILE'], CREDENTIALS),
  passEnvCase('a drover setting', ['DROVER_IDENTITY_KEY_FILE'], SETTINGS),
  passEnvCase('a Temporal setting', ['TEMPORAL_API_KEY'], SETTINGS),
  passEnvCase('HOME, which drover sets', ['HOME'], () => 'HOME is set by drover for the redeploy hook'),
  passEnvCase('a variable name with a dash', ['ARGOCD-SERVER'], () => 'expected an environment variable name: letters, digits and underscores, not starting with a digit'),
];

describe('the redeploy hook\'s passEnv', () => {
  test('given passEnv naming the variables a hook needs, the runbook parses and carries them in order', () => {
    const r = parseRunbook(edited((d) => d.setIn(['rebuild', 'redeploy', 'passEnv'], d.createNode(['ARGOCD_SERVER', 'ARGOCD_AUTH_TOKEN', 'HELM_CACHE_HOME', 'AWS_CA_BUNDLE', '_PRIVATE_CA']))));
    expect(r.ok ? r.runbook.rebuild?.redeploy : r.problems).toEqual({ command: ['sh', '-c', 'kubectl apply -k deploy/overlays/$DROVER_REGION'], timeout: 600_000, passEnv: ['ARGOCD_SERVER', 'ARGOCD_AUTH_TOKEN', 'HELM_CACHE_HOME', 'AWS_CA_BUNDLE', '_PRIVATE_CA'] });
  });

  test('given no passEnv, the parsed hook has no passEnv member at all (the activity input of existing runbooks is unchanged)', () => {
    const r = parseRunbook(APNAKART);
    expect(r.ok ? r.runbook.rebuild?.redeploy : r.problems).toEqual({ command: ['sh', '-c', 'kubectl apply -k deploy/overlays/$DROVER_REGION'], timeout: 600_000 });
  });
});

describe('region names', () => {
  // The apnakart runbook moved to a region AWS has not launched (as far as this drover release knows).
  const moved = APNAKART.replaceAll('ap-south-1', 'ap-south-9');

  test('a region launched after this release is refused until the runbook lists it under regions.unlisted, then accepted', () => {
    const refused = parseRunbook(moved);
    expect(refused.ok ? [] : refused.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'regions.primary: ap-south-9 is not an AWS region drover knows (did you mean "ap-south-1"?); if AWS launched it after this release, list it under regions.unlisted',
    ]);
    const accepted = parseRunbook(moved.replace('  standby: ap-southeast-1    # Singapore', '  standby: ap-southeast-1\n  unlisted: [ap-south-9]'));
    expect(accepted.ok ? accepted.runbook.regions : accepted.problems).toEqual({ primary: 'ap-south-9', standby: 'ap-southeast-1', unlisted: ['ap-south-9'] });
  });

  test('every region on the list is a region name a runbook may use, in any partition (eusc-de-east-1, us-isob-east-1, us-gov-west-1)', () => {
    expect(AWS_REGIONS.filter((r) => !AWS_REGION_SHAPE.test(r))).toEqual([]);
    // A pair in one partition validates; ap-south-1 beside a region of another partition does not.
    const govPair = APNAKART.replaceAll('ap-south-1', 'us-gov-west-1').replaceAll('ap-southeast-1', 'us-gov-east-1');
    const gov = parseRunbook(govPair);
    expect(gov.ok ? gov.runbook.regions : gov.problems).toEqual({ primary: 'us-gov-west-1', standby: 'us-gov-east-1' });
    const sovereign = parseRunbook(APNAKART.replaceAll('ap-south-1', 'eusc-de-east-1').replaceAll('ap-southeast-1', 'eusc-de-west-1').replace('  standby: eusc-de-west-1    # Singapore', '  standby: eusc-de-west-1\n  unlisted: [eusc-de-west-1]'));
    expect(sovereign.ok ? sovereign.runbook.regions : sovereign.problems).toEqual({ primary: 'eusc-de-east-1', standby: 'eusc-de-west-1', unlisted: ['eusc-de-west-1'] });
    const crossed = parseRunbook(APNAKART.replaceAll('ap-southeast-1', 'us-gov-west-1'));
    expect(crossed.ok ? [] : crossed.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['regions.standby: us-gov-west-1 is in partition aws-us-gov, the primary ap-south-1 in aws: a failover cannot cross AWS partitions']);
  });

  test('the committed list is exactly the regions of the installed AWS SDK (regenerate with npx tsx tools/aws-regions.ts)', () => {
    expect([...AWS_REGIONS]).toEqual(sdkRegions().regions.map((r) => r.name));
    // Every partition is there, the sovereign, isolated and GovCloud ones too, and no partition-wide pseudo-region.
    expect(AWS_REGIONS).toEqual(expect.arrayContaining(['us-east-1', 'ap-south-1', 'cn-north-1', 'us-gov-west-1', 'eusc-de-east-1', 'us-isob-east-1']));
    expect(AWS_REGIONS.filter((r) => r.endsWith('-global'))).toEqual([]);
    expect(Object.fromEntries(sdkRegions().regions.map((r) => [r.name, r.partition]))).toEqual(AWS_REGION_PARTITION);
    expect([AWS_REGION_PARTITION['us-east-1'], AWS_REGION_PARTITION['cn-north-1'], AWS_REGION_PARTITION['us-gov-west-1']]).toEqual(['aws', 'aws-cn', 'aws-us-gov']);
  });
});

describe('drover validate on a malformed runbook', () => {
  test.each(badRunbooks)('given $what, it reports $path and exits 2', async ({ edit, path, message }) => {
    const file = writeRunbook(edited(edit));
    const { code, out, err } = await validate(file);

    expect(code).toBe(EXIT.USAGE);
    expect(out).toEqual([]);
    expect(err).toContainEqual(expect.stringMatching(new RegExp(`^${escape(file)}:\\d+:\\d+ ${escape(path)}: .*${escape(message)}`)));
    expect(err[err.length - 1]).toMatch(/^\d+ problems? found$/);
    expectNoStackTrace([...out, ...err]);
  });

  test('given misspelt keys, each is shown where it is written with the nearest known key, and every problem comes in file order', async () => {
    const text = ['version: 1', 'name: typo', 'region:', '  primary: ap-south-1', 'dns:', '  hostedzone: a.com', '  recordz: []', '  zzzz: 1', ''].join('\n');
    const file = writeRunbook(text);
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err).toEqual([
      `${file}:1:1 regions: required`,
      `${file}:1:1 compute: required`,
      `${file}:1:1 health: required`,
      `${file}:1:1 approvals: required`,
      `${file}:1:1 objectives: required`,
      `${file}:1:1 database: required (or databases, a list of them)`,
      `${file}:3:1 (root): unknown key "region" (did you mean "regions"?)`,
      `${file}:6:3 dns.hostedZone: required`,
      `${file}:6:3 dns.records: required`,
      `${file}:6:3 dns.shift: required`,
      // A key near none of the known ones ("zzzz") gets no suggestion.
      `${file}:6:3 dns: unknown keys "hostedzone" (did you mean "hostedZone"?), "recordz" (did you mean "records"?), "zzzz"`,
      '11 problems found',
    ]);
  });

  test('didYouMean: the nearest known key within a third of its length (2 at least), case ignored; none when nothing is near', () => {
    expect(didYouMean('maxReplicaLage', ['maxReplicaLag', 'lagPeriod', 'lagZeroTimeout'])).toBe(' (did you mean "maxReplicaLag"?)');
    expect(didYouMean('HOSTEDZONE', ['hostedZone', 'records'])).toBe(' (did you mean "hostedZone"?)');
    // 2 edits away from a 3-letter key: still suggested (the floor of 2); 3 edits away: not.
    expect(didYouMean('ab', ['abcd'])).toBe(' (did you mean "abcd"?)');
    expect(didYouMean('a', ['abcd'])).toBe('');
    // 12 characters: up to 4 edits.
    expect(didYouMean('approvalzzzz', ['approvals'])).toBe(' (did you mean "approvals"?)');
    expect(didYouMean('apprzzzzzzzz', ['approvals'])).toBe('');
    expect(didYouMean('records', [])).toBe('');
  });

  test('each malformed runbook is refused for its own defect alone: the loader reports exactly that one problem', () => {
    // The CLI test above finds the expected line among the others; this one fails when an edit also
    // trips another rule (so a case could pass for the wrong reason) or a rule reports a path twice.
    const reported = badRunbooks.map(({ what, edit }) => {
      const result = parseRunbook(edited(edit));
      return [what, result.ok ? 'accepted' : result.problems.map((p) => p.path)];
    });
    expect(reported).toEqual(badRunbooks.map(({ what, path, paths }) => [what, paths ?? [path]]));
  });

  test('given a bad value, the problem points at the line and column of that value', async () => {
    const text = APNAKART.replace('routing: failover ', 'routing: latency  ');
    const file = writeRunbook(text);
    const { line, col } = locate(text, 'latency');
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err[0]).toBe(`${file}:${line}:${col} dns.records[2].routing: expected "weighted" or "failover", got "latency"`);
  });

  test('given one shape error and two cross-field errors, all three are reported at once', async () => {
    const file = writeRunbook(
      edited((d) => {
        d.setIn(['dns', 'records', 1, 'routing'], 'latency');
        d.setIn(['compute', 'clusters', 1, 'nodeGroups', 0, 'standby'], 20);
        d.setIn(['approvals', 'approvers'], d.createNode([]));
      }),
    );
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    const reported = err.slice(0, -1).map((line) => line.replace(/^\S+ /, ''));
    expect(reported).toEqual(
      expect.arrayContaining([
        'dns.records[1].routing: expected "weighted" or "failover", got "latency"',
        'compute.clusters[1].nodeGroups[0].standby: standby capacity 20 exceeds active capacity 12',
        'approvals.approvers: gates failover, failback, cleanup need at least one approver',
      ]),
    );
    expect(reported).toHaveLength(3);
    expect(err[err.length - 1]).toBe('3 problems found');
  });
});

describe('drover validate on a file that is not a runbook', () => {
  test('given a YAML syntax error, it reports the line and column and exits 2', async () => {
    const text = APNAKART.replace('name: apnakart\n', 'name: apnakart: storefront\n');
    const file = writeRunbook(text);
    const { line } = locate(text, 'name: apnakart: storefront');
    const { code, out, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(new RegExp(`^${escape(file)}:${line}:\\d+ \\(root\\): YAML syntax: `));
    expectNoStackTrace(err);
  });

  test('given a duplicated key, it reports the duplicate instead of silently keeping one value', async () => {
    const text = APNAKART.replace('  standby: ap-southeast-1    # Singapore\n', '  standby: ap-southeast-1    # Singapore\n  standby: eu-west-1\n');
    const file = writeRunbook(text);
    const { line } = locate(text, '  standby: eu-west-1');
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err[0]).toMatch(new RegExp(`^${escape(file)}:${line}:\\d+ \\(root\\): YAML syntax: .*unique`, 'i'));
    expectNoStackTrace(err);
  });

  test('given a duplicated key and another defect further down, both are reported: a duplicate hides nothing else', async () => {
    const text = APNAKART.replace('  primary: ap-south-1        # Mumbai\n', '  primary: ap-south-1        # Mumbai\n  primary: ap-south-1\n').replace('steps: [10, 50, 100]', 'steps: [10, 50, 90]');
    const file = writeRunbook(text);
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err).toEqual([
      `${file}:${locate(text, '  primary: ap-south-1\n').line}:3 (root): YAML syntax: Map keys must be unique`,
      `${file}:${locate(text, 'steps: [10, 50, 90]').line}:12 dns.shift.steps: must end at 100, ends at 90`,
      '2 problems found',
    ]);
  });

  test('given a "billion laughs" alias bomb, it refuses the file with a clear message', async () => {
    const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const file = writeRunbook(lines.join('\n'));
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err).toEqual([`${file} (root): YAML: Excessive alias count indicates a resource exhaustion attack`, '1 problem found']);
  });

  test('given a file that does not exist, it says it cannot read it and exits 2', async () => {
    const file = join(dir, 'no-such-runbook.yaml');
    const { code, out, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(out).toEqual([]);
    expect(err).toEqual([`${file} (root): cannot read ${file}: ENOENT`, '1 problem found']);
  });

  test('given an empty file, it reports a problem and exits 2 rather than failing unexpectedly', async () => {
    const file = writeRunbook('');
    const { code, err } = await validate(file);
    expect(code).toBe(EXIT.USAGE);
    expect(err[err.length - 1]).toMatch(/^\d+ problems? found$/);
    expectNoStackTrace(err);
  });
});

describe('drover validate --json', () => {
  test('given a malformed runbook, it prints the problems as JSON on stdout and exits 2', async () => {
    const text = edited((d) => d.setIn(['version'], 2));
    const file = writeRunbook(text);
    const { code, out, err } = await validate(file, '--json');
    expect(code).toBe(EXIT.USAGE);
    expect(err).toEqual([]);
    const parsed = JSON.parse(out.join('\n')) as { ok: boolean; problems: RunbookProblem[] };
    expect(parsed).toEqual({
      ok: false,
      problems: [{ path: 'version', message: 'expected 1 (the only runbook version so far)', line: locate(text, 'version: 2').line, col: 10 }],
    });
  });

  test('given a missing file, the JSON carries the read error', async () => {
    const file = join(dir, 'missing.yaml');
    const { code, out } = await validate(file, '--json');
    expect(code).toBe(EXIT.USAGE);
    expect(JSON.parse(out.join('\n'))).toEqual({ ok: false, problems: [{ path: '', message: `cannot read ${file}: ENOENT` }] });
  });

  test('given the valid demo runbook, it prints ok with its name and exits 0', async () => {
    const file = writeRunbook(APNAKART, 'apnakart-json.yaml');
    const { code, out } = await validate(file, '--json');
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(out.join('\n'))).toEqual({ ok: true, name: 'apnakart', digest: runbookDigest(readFileSync(file, 'utf8')) });
  });
});
