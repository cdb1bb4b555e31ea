/**
 * The engine activities' refusals before any engine is contacted (credentials: a secret not found, not readable, or
 * not the expected JSON; an instance with no managed secret), each typed and naming the runbook path and the secret,
 * never its value; the runbook's `access` rules; and how the RPO evidence reads. The engines themselves are exercised in
 * test/engine-fence.integration.test.ts.
 */
import type { RdsApi, RdsLifecycleApi, SecretsApi } from '../aws/clients';
import { createEngineActivities, type EngineTarget } from '../activities/engines';
import { describeEvidence } from '../contracts/engines';
import { parseRunbook } from '../runbooks/load';
import fs from 'node:fs';
import path from 'node:path';

const PASSWORD = 'correct-horse-battery-staple-9';
const access = { primarySecretId: 'apnakart/db-master', replicaSecretId: 'managed', tls: 'off' as const, quietWindow: 10, proofTimeout: 100 };
const target = (over: Partial<EngineTarget> = {}): EngineTarget => ({ region: 'ap-south-1', identifier: 'pg-mumbai', engine: 'postgres', access, side: 'primary', ...over });

function world(opts: { secret?: () => Promise<{ SecretString?: string }>; instance?: Record<string, unknown> } = {}) {
  const rds = (() => ({
    describeDBInstances: async () => ({ DBInstances: [{ DBInstanceIdentifier: 'pg-mumbai', DBInstanceStatus: 'available', MasterUsername: 'postgres', Endpoint: { Address: '127.0.0.1', Port: 1 }, ...opts.instance }] }),
  })) as unknown as (region: string) => RdsApi & RdsLifecycleApi;
  const secrets = (() => ({ getSecretValue: opts.secret ?? (async () => ({ SecretString: JSON.stringify({ username: 'drover', password: PASSWORD }) })) })) as unknown as (region: string) => SecretsApi;
  return createEngineActivities({ rds, secrets });
}

const awsError = (name: string) => Object.assign(new Error(`${name} message`), { name });

describe('credentials', () => {
  test('a secret that does not exist is a typed NotFound naming the runbook path and the secret', async () => {
    const a = world({ secret: () => Promise.reject(awsError('ResourceNotFoundException')) });
    await expect(a.fenceEngine(target())).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true, message: 'database.access.primarySecretId: secret apnakart/db-master not found in ap-south-1' });
  });

  test('a secret the worker may not read is a typed PermissionDenied that says which permission', async () => {
    const a = world({ secret: () => Promise.reject(awsError('AccessDeniedException')) });
    await expect(a.fenceEngine(target())).rejects.toMatchObject({ type: 'PermissionDenied', message: expect.stringMatching(/secret apnakart\/db-master could not be read \(AccessDeniedException\): the worker needs secretsmanager:GetSecretValue/) });
  });

  test('a secret that is not {username, password} JSON is refused without quoting its value', async () => {
    const a = world({ secret: async () => ({ SecretString: PASSWORD }) });
    const err = await a.fenceEngine(target()).then(() => undefined, (e: Error) => e);
    expect(err).toMatchObject({ type: 'Validation', message: expect.stringMatching(/^database\.access\.primarySecretId: secret apnakart\/db-master is not a JSON object with a string "password"/) });
    expect(err?.message).not.toContain(PASSWORD);
  });

  test('managed: an instance without an RDS-managed secret, nor a source with one, is refused at the side\'s path', async () => {
    const a = world();
    await expect(a.replayPosition(target({ side: 'replica' }))).rejects.toMatchObject({ type: 'NotFound', message: expect.stringMatching(/^database\.access\.replicaSecretId: pg-mumbai has no RDS-managed master user secret/) });
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
    const text = example.replace(/^(\s*)engine: postgres$/m, '$1engine: mysql\n$1access: { primarySecretId: managed }');
    const out = parseRunbook(text);
    if (out.ok) throw new Error('the runbook was accepted');
    expect(out.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^database\.access: engine access is supported for postgres and mariadb; mysql uses the security-group fence/));
  });

  test('access takes its defaults: the managed secrets, TLS verified, a 2 s quiet window, 60 s to prove the fence', () => {
    const out = parseRunbook(example.replace(/^(\s*)engine: postgres$/m, '$1engine: postgres\n$1access: {}'));
    if (!out.ok) throw new Error(out.problems.map((p) => p.message).join('; '));
    expect(out.runbook.database?.access).toEqual({ primarySecretId: 'managed', replicaSecretId: 'managed', tls: 'verify-full', quietWindow: 2000, proofTimeout: 60000 });
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
});
