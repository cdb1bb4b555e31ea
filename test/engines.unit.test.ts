/**
 * The engine activities' refusals before any engine is contacted (credentials: a secret not found, not readable, or
 * not the expected JSON; an instance with no managed secret), each typed and naming the runbook path and the secret,
 * never its value; the runbook's `access` rules; and how the RPO evidence reads. The engines themselves are exercised in
 * test/engine-fence.integration.test.ts.
 */
import type { RdsApi, RdsLifecycleApi, SecretsApi } from '../aws/clients';
import { createEngineActivities, type EngineTarget } from '../activities/engines';
import { describeDivergence, describeEvidence, divergence } from '../contracts/engines';
import { parseRunbook } from '../runbooks/load';
import { renderOutcome } from '../cli/render';
import { buildReport, type ReportInput } from '../reports/report';
import type { RunStatus } from '../contracts/run';
import fs from 'node:fs';
import path from 'node:path';

const PASSWORD = 'correct-horse-battery-staple-9';
const access = { secretId: 'apnakart/db-master', tls: 'off' as const, quietWindow: 10, proofTimeout: 100 };
const target = (over: Partial<EngineTarget> = {}): EngineTarget => ({ region: 'ap-south-1', identifier: 'pg-mumbai', engine: 'postgres', access, side: 'primary', ...over });

function world(opts: { secret?: (input: { SecretId: string }, region: string) => Promise<{ SecretString?: string }>; instance?: Record<string, unknown>; endpoint?: false } = {}) {
  const rds = (() => ({
    describeDBInstances: async () => ({ DBInstances: [{ DBInstanceIdentifier: 'pg-mumbai', DBInstanceStatus: 'available', MasterUsername: 'postgres', Endpoint: { Address: '127.0.0.1', Port: 1 }, ...opts.instance }] }),
  })) as unknown as (region: string) => RdsApi & RdsLifecycleApi;
  const secrets = ((region: string) => ({ getSecretValue: (input: { SecretId: string }) => (opts.secret ?? (async () => ({ SecretString: JSON.stringify({ username: 'drover', password: PASSWORD }) })))(input, region) })) as unknown as (region: string) => SecretsApi;
  // The tests' loopback map (tls: off is refused without one); port 1: nothing listens.
  return createEngineActivities({ rds, secrets, endpoint: opts.endpoint === false ? undefined : () => ({ host: '127.0.0.1', port: 1 }) });
}

const awsError = (name: string) => Object.assign(new Error(`${name} message`), { name });

describe('credentials', () => {
  test('a secret that does not exist is a typed NotFound naming the runbook path and the secret', async () => {
    const a = world({ secret: () => Promise.reject(awsError('ResourceNotFoundException')) });
    await expect(a.fenceEngine(target())).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true, message: 'database.access.secretId: secret apnakart/db-master not found in ap-south-1' });
  });

  test('a secret the worker may not read is a typed PermissionDenied that says which permission', async () => {
    const a = world({ secret: () => Promise.reject(awsError('AccessDeniedException')) });
    await expect(a.fenceEngine(target())).rejects.toMatchObject({ type: 'PermissionDenied', message: expect.stringMatching(/secret apnakart\/db-master could not be read \(AccessDeniedException\): the worker needs secretsmanager:GetSecretValue/) });
  });

  test('a secret that is not {username, password} JSON is refused without quoting its value', async () => {
    const a = world({ secret: async () => ({ SecretString: PASSWORD }) });
    const err = await a.fenceEngine(target()).then(() => undefined, (e: Error) => e);
    expect(err).toMatchObject({ type: 'Validation', message: expect.stringMatching(/^database\.access\.secretId: secret apnakart\/db-master is not a JSON object with a string "password"/) });
    expect(err?.message).not.toContain(PASSWORD);
  });

  test("a secret's name is read in the side's own region (a replicated secret), an ARN in its own; the replica's own secret where given", async () => {
    const read: string[] = [];
    const a = world({ secret: async (input, region) => (read.push(`${region} ${input.SecretId}`), Promise.reject(awsError('ResourceNotFoundException'))) });
    await expect(a.replayPosition(target({ side: 'replica', region: 'ap-southeast-1' }))).rejects.toMatchObject({ message: 'database.access.secretId: secret apnakart/db-master not found in ap-southeast-1' });
    const arn = 'arn:aws:secretsmanager:ap-south-1:123456789012:secret:apnakart/db-master-AbCdEf';
    await expect(a.replayPosition(target({ side: 'replica', region: 'ap-southeast-1', access: { ...access, replicaSecretId: arn } }))).rejects.toMatchObject({ message: `database.access.replicaSecretId: secret ${arn} not found in ap-south-1` });
    expect(read).toEqual(['ap-southeast-1 apnakart/db-master', `ap-south-1 ${arn}`]);
  });

  test('tls off outside a test worker (no endpoint map) is refused before any secret is read: a server could ask for the password in clear', async () => {
    let read = 0;
    const a = world({ endpoint: false, secret: async () => (read++, { SecretString: JSON.stringify({ username: 'drover', password: PASSWORD }) }) });
    await expect(a.fenceEngine(target())).rejects.toMatchObject({ type: 'Validation', message: expect.stringMatching(/^database\.access\.tls: off is for loopback test servers only/) });
    expect(read).toBe(1);
  });

  test('an engine that does not answer is not a failure: the fence says so, for the workflow to fall back', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const out = await world().fenceEngine(target());
    expect(out).toMatchObject({ reached: false, reason: expect.stringMatching(/^pg-mumbai at 127\.0\.0\.1:1: .*ECONNREFUSED/) });
    expect(JSON.stringify(out)).not.toContain(PASSWORD);
  });
});

describe('the runbook', () => {
  const example = fs.readFileSync(path.join(__dirname, '../runbooks/apnakart.yaml'), 'utf8');

  test('access is refused, path-qualified, for an engine whose positions drover does not read', () => {
    const text = example.replace(/^(\s*)engine: postgres$/m, '$1engine: mysql\n$1access: { secretId: apnakart/db-master }');
    const out = parseRunbook(text);
    if (out.ok) throw new Error('the runbook was accepted');
    expect(out.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^database\.access: engine access is supported for postgres and mariadb; mysql uses the security-group fence/));
  });

  test('access takes its defaults (TLS verified, a 2 s quiet window, 60 s to prove the fence) and needs a secret: the RDS-managed one is never a replicated pair\'s', () => {
    const out = parseRunbook(example.replace(/^(\s*)engine: postgres$/m, '$1engine: postgres\n$1access: { secretId: apnakart/db-master, caFile: /etc/drover/rds-global-bundle.pem }'));
    if (!out.ok) throw new Error(out.problems.map((p) => p.message).join('; '));
    expect(out.runbook.database?.access).toEqual({ secretId: 'apnakart/db-master', caFile: '/etc/drover/rds-global-bundle.pem', tls: 'verify-full', quietWindow: 2000, proofTimeout: 60000 });
    const problems = (text: string) => {
      const r = parseRunbook(example.replace(/^(\s*)engine: postgres$/m, `$1engine: postgres\n$1access: ${text}`));
      return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    };
    expect(problems('{ secretId: apnakart/db-master }')).toContainEqual(expect.stringMatching(/^database\.access\.caFile: required with tls verify-full/));
    expect(problems('{ secretId: "arn:aws:secretsmanager:ap-south-1:123456789012:secret:db-AbCdEf", tls: "off", quietWindow: 30s }')).toEqual([
      expect.stringMatching(/^database\.access\.replicaSecretId: required when secretId is an ARN of ap-south-1/),
      expect.stringMatching(/^database\.access\.quietWindow: between 500ms and 10s \(writes stay fenced meanwhile/),
    ]);
    const none = parseRunbook(example.replace(/^(\s*)engine: postgres$/m, '$1engine: postgres\n$1access: {}'));
    if (none.ok) throw new Error('access without a secret was accepted');
    expect(none.problems.map((p) => p.path)).toContain('database.access.secretId');
  });
});

describe('the RPO evidence, in words', () => {
  test('engine positions, planned and unplanned, and the weaker ReplicaLag with its reason', () => {
    const at = '2026-12-05T00:00:00.000Z';
    expect(describeEvidence({ kind: 'engine', writer: { kind: 'lsn', value: '0/3000148', at }, replica: { kind: 'lsn', value: '0/3000148', at }, sessionsEnded: 3, fencedBy: 'sessions' })).toBe(
      'from the engines: the fenced writer stopped at LSN 0/3000148, 3 client session(s) ended, and the replica replayed 0/3000148 before promotion',
    );
    expect(describeEvidence({ kind: 'engine', replica: { kind: 'gtid', value: '0-1-42', at } })).toBe("from the engines: the replica had replayed GTID 0-1-42 when promoted; the lost writer's writes after 0-1-42 are the loss");
    expect(describeEvidence({ kind: 'replica-lag', fencedBy: 'reboot', weaker: 'pg-mumbai could not be reached' })).toBe("CloudWatch ReplicaLag only (weaker evidence than the engines' positions: pg-mumbai could not be reached); the writer was fenced by a reboot");
    expect(describeEvidence(undefined)).toBeUndefined();
  });

  test("MariaDB's read_only: held in the writer's group (and whether the engine read it ON yet); not held says nothing of it", () => {
    const at = '2026-12-05T00:00:00.000Z';
    const planned = { kind: 'engine' as const, writer: { kind: 'gtid' as const, value: '0-1-42', at }, replica: { kind: 'gtid' as const, value: '0-1-42', at }, sessionsEnded: 3, fencedBy: 'sessions' as const };
    expect(describeEvidence({ ...planned, readOnly: { held: true, group: 'shop-params', engine: true } })).toBe(
      'from the engines: the fenced writer stopped at GTID 0-1-42, 3 client session(s) ended, read_only held in its parameter group shop-params, and the replica replayed 0-1-42 before promotion',
    );
    expect(describeEvidence({ ...planned, readOnly: { held: true, group: 'shop-params', engine: false } })).toContain('read_only held in its parameter group shop-params (not yet read ON by the engine)');
    expect(describeEvidence({ ...planned, readOnly: { held: false, why: 'default group' } })).not.toContain('read_only');
  });
});

describe('how far an old writer got past its promoted replica', () => {
  const at = '2026-12-05T00:00:00.000Z';
  test('PostgreSQL: WAL bytes past what the replica received (or replayed), across the 4 GiB boundary of an LSN; none when behind', () => {
    expect(divergence({ kind: 'lsn', value: '1/10', at }, { kind: 'lsn', value: '0/FFFFFF00', at })).toEqual({ kind: 'lsn', bytes: 0x110 });
    expect(divergence({ kind: 'lsn', value: '0/3000148', at }, { kind: 'lsn', value: '0/3000060', received: '0/3000100', at })).toEqual({ kind: 'lsn', bytes: 0x48 });
    expect(divergence({ kind: 'lsn', value: '0/3000060', at }, { kind: 'lsn', value: '0/3000148', at })).toEqual({ kind: 'lsn', bytes: 0 });
    expect(divergence({ kind: 'lsn', value: 'not-an-lsn', at }, { kind: 'lsn', value: '0/1', at })).toBeUndefined();
  });

  test('MariaDB: transactions past the replica per replication domain, summed; a domain the replica never had counts whole', () => {
    expect(divergence({ kind: 'gtid', value: '0-1-42,1-2-7', at }, { kind: 'gtid', value: '0-1-40', at })).toEqual({ kind: 'gtid', transactions: 9 });
    expect(divergence({ kind: 'gtid', value: '0-1-40', at }, { kind: 'gtid', value: '0-1-40', at })).toEqual({ kind: 'gtid', transactions: 0 });
    expect(divergence({ kind: 'gtid', value: '0-1-40', at }, { kind: 'lsn', value: '0/1', at })).toBeUndefined();
    expect(describeDivergence({ kind: 'gtid', transactions: 9 })).toBe('at most 9 transaction(s) past it');
    expect(describeDivergence({ kind: 'lsn', bytes: 0 })).toBe('nothing past it (0 bytes of WAL)');
  });
});

describe('the RPO evidence where people read it', () => {
  const at = '2026-12-05T10:00:01.000Z';
  const evidence = { kind: 'engine' as const, writer: { kind: 'lsn' as const, value: '0/3000148', at }, replica: { kind: 'lsn' as const, value: '0/3000148', at }, sessionsEnded: 3, fencedBy: 'sessions' as const };
  const rpo = { lagSeconds: 0, observedAt: at, note: 'writes fenced, every client session ended, and the replica replayed the final position before promotion: RPO 0', evidence };
  const status: RunStatus = {
    workflowId: 'promote-shop', runId: 'run-1', kind: 'promote', runbook: 'shop', mode: 'planned', fromRegion: 'ap-south-1', targetRegion: 'ap-southeast-1', reason: 'test', requestedBy: 'carol',
    startedAt: Date.parse('2026-12-05T10:00:00.000Z'), phase: 'completed', decisions: [], steps: [], trafficPercent: 0,
    rpo, databases: [{ name: 'main', identifier: 'pg-singapore', region: 'ap-southeast-1', promoted: true, rpo }],
  };

  test('drover status prints the positions under the RPO line', () => {
    expect(renderOutcome(status)).toContain('  evidence: from the engines: the fenced writer stopped at LSN 0/3000148, 3 client session(s) ended, and the replica replayed 0/3000148 before promotion');
  });

  test("the report's rpo check carries them, and the weaker ReplicaLag evidence says it is weaker", () => {
    const report = (s: RunStatus) => buildReport({ kind: 'promote' as ReportInput['kind'], workflowId: s.workflowId, runId: s.runId, runbook: 'shop', objectives: { rtoMs: 60_000, rpoMs: 0 }, phase: 'completed', startedAt: s.startedAt, runs: [s] });
    expect(report(status).checks.find((c) => c.name === 'rpo')?.detail).toBe(`0 ms of replica lag against an objective of 0 ms; evidence ${describeEvidence(evidence)}`);
    const weaker = { ...rpo, evidence: { kind: 'replica-lag' as const, weaker: 'pg-mumbai could not be reached' } };
    expect(report({ ...status, rpo: weaker, databases: [{ ...status.databases![0], rpo: weaker }] }).checks.find((c) => c.name === 'rpo')?.detail).toMatch(/evidence CloudWatch ReplicaLag only \(weaker evidence than the engines' positions: pg-mumbai could not be reached\)$/);
  });
});
