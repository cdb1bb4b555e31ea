/**
 * What the suite's "no secrets" scan covers (test/harness/secrets.ts, temp-root.ts, global-teardown.ts):
 * the unit and workflow tiers' temporary roots before they are removed (planted directories left out),
 * big logs decoded line by line, a missing root as an error, visibility's count settled before listing,
 * private servers started but never scan-stopped, a caller's DROVER_HOME outside the suite's root, and the
 * tests' fixture passwords in the harness's registry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import globalTeardown, { scanSuite } from './harness/global-teardown';
import { harnessGlobal } from './harness/global-setup';
import { ENGINE_MASTER_PASSWORD, FIXTURE_PASSWORDS } from './harness/fixture-credentials';
import { harnessCredentials, recordServerStarted, scanFiles, settledCount, unscannedServers, writeScanRecord } from './harness/secrets';
import { plantedDir } from './harness/servers';
import { finishTempRoot } from './harness/temp-root';

// Fakes, in the shapes of the real things.
const PASSWORD = 'Tr0ub4dor-3-horse';
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD${'x7Kq/Pz+'.repeat(30)}`;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const put = (root: string, rel: string, content: string | Buffer) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), typeof content === 'string' ? content : new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
};
/** A root of its own, outside this file's (finishTempRoot removes it). */
const ownRoot = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

describe('a unit or workflow tier file\'s temporary root, scanned before it is removed', () => {
  test('a secret anywhere under the root fails the file, naming file and kind; the root is removed all the same; planted-* directories at the top are left out, and only they', () => {
    const root = ownRoot('drover-coverage-leak-');
    put(root, 'redeploy-x/home/.kube/config.env', `PGPASSWORD=${PASSWORD}\n`);
    put(root, 'planted-scanner-x/fixture.env', `AWS_SESSION_TOKEN=${SESSION_TOKEN}\n`);
    // A planted-* directory deeper down is an ordinary directory.
    put(root, 'case-y/planted-z/env', `AWS_SESSION_TOKEN=${SESSION_TOKEN}\n`);
    put(root, 'audit/run.jsonl', `${JSON.stringify({ seq: 0, detail: 'ok' })}\n`);
    expect(() => finishTempRoot(root, { registry: [] })).toThrow(
      new Error(
        `secrets scan of this test file's temporary root ${root} (planted-* directories left out): secrets found (2):\n` +
          `  temporary root other files: ${path.join('case-y', 'planted-z', 'env')}: session token\n` +
          `  temporary root other files: ${path.join('redeploy-x', 'home', '.kube', 'config.env')}: password`,
      ),
    );
    expect(fs.existsSync(root)).toBe(false);
  });

  test('a root with only planted secrets and clean files passes and is removed; with keep (DROVER_KEEP_TMP) it stays', () => {
    const root = ownRoot('drover-coverage-clean-');
    put(root, 'planted-scanner-x/fixture.env', `PGPASSWORD=${PASSWORD}\n`);
    put(root, 'reports/run.html', '<html>no secrets</html>');
    expect(finishTempRoot(root, { registry: [], keep: true })).toBeUndefined();
    expect(fs.readdirSync(root).sort()).toEqual(['planted-scanner-x', 'reports']);
    expect(finishTempRoot(root, { registry: [] })).toBeUndefined();
    expect(fs.existsSync(root)).toBe(false);
  });

  test('the registry\'s credentials are looked for exactly (a password in free text, no shape), and its secrets directory is removed with the root', () => {
    const root = ownRoot('drover-coverage-registry-');
    const secrets = ownRoot('drover-coverage-registry-secrets-');
    put(root, 'hook/output.txt', 'creating shop with not-a-secret-1 as its master password\n');
    fs.writeFileSync(path.join(secrets, 'harness-credentials.jsonl'), `${JSON.stringify({ what: 'fixture', value: 'not-a-secret-1' })}\n`);
    expect(() => finishTempRoot(root, { secretsDir: secrets })).toThrow(
      new Error(`secrets scan of this test file's temporary root ${root} (planted-* directories left out): secrets found (1):\n  temporary root other files: ${path.join('hook', 'output.txt')}: harness credential`),
    );
    expect([fs.existsSync(root), fs.existsSync(secrets)]).toEqual([false, false]);
  });

  test('a root that is gone (a test removed it) fails the file: it could not be scanned', () => {
    const root = path.join(os.tmpdir(), `drover-coverage-gone-${process.pid}`);
    expect(() => finishTempRoot(root, { registry: [] })).toThrow(new Error(`secrets scan of this test file's temporary root ${root} (planted-* directories left out): cannot scan it: ${root}: no such directory to scan`));
  });

  test('this file\'s own setup (unit-env.ts) keeps the registry outside the root, with the fixture passwords in it, and the identity key outside the root too', () => {
    const root = process.env.DROVER_TEST_TMP!;
    const secrets = process.env.DROVER_TEST_SECRETS_DIR!;
    expect(path.relative(root, secrets).startsWith('..')).toBe(true);
    expect(path.relative(secrets, process.env.DROVER_IDENTITY_KEY_FILE!)).toBe(path.join('keys', 'identity.jwk'));
    expect(harnessCredentials(secrets)).toEqual(['not-a-secret-1', 'hunter2-hunter2', ENGINE_MASTER_PASSWORD]);
    expect(FIXTURE_PASSWORDS.map((p) => p.value)).toEqual(['not-a-secret-1', 'hunter2-hunter2', ENGINE_MASTER_PASSWORD]);
  });
});

describe('scanFiles', () => {
  test('a root that does not exist is an error, not an empty report', () => {
    const root = path.join(plantedDir('missing-'), 'not-there');
    expect(() => scanFiles(root, { registry: [] })).toThrow(new Error(`${root}: no such directory to scan`));
  });

  test('a log longer than the decoder takes as one text (over 4 M characters) is decoded line by line: a base64 password on line 4001 is found there', () => {
    const root = plantedDir('biglog-');
    // 4000 lines of 1,100 characters of short words: nothing to decode, 4.4 M characters in all.
    const filler = `${'GET ok '.repeat(157)}200\n`.repeat(4000);
    put(root, 'moto.log', `${filler}127.0.0.1 - - "POST / HTTP/1.1" 200 body=${b64(`PGPASSWORD=${PASSWORD}`)}\n`);
    expect(scanFiles(root, { registry: [] }).flatMap((r) => r.findings)).toEqual([{ store: 'files log files', location: 'moto.log:4001', kind: 'password', encoding: 'base64' }]);
  });

  test('a file too big to hold as one text (over maxTextBytes: 64 MiB, 1 MiB here) is read line by line from its bytes, each line decoded', () => {
    const root = plantedDir('hugelog-');
    const line = `${'ok '.repeat(341)}\n`;
    const lines = 1100;
    const filler = Buffer.alloc(lines * line.length, line);
    put(root, 'temporal.log', Buffer.concat([filler, Buffer.from(`level=info payload=${b64(`AWS_SESSION_TOKEN=${SESSION_TOKEN}`)}\n`)].map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))));
    expect(scanFiles(root, { registry: [], maxTextBytes: 1024 * 1024 }).flatMap((r) => r.findings)).toEqual([{ store: 'files log files', location: `temporal.log:${lines + 1}`, kind: 'session token', encoding: 'base64' }]);
  });

  test('with since, files modified before it are left out; skipDirs are left out', () => {
    const root = plantedDir('since-');
    put(root, 'old/env', `PGPASSWORD=${PASSWORD}\n`);
    put(root, 'tools/venv/fixture.py', `PGPASSWORD=${PASSWORD}\n`);
    put(root, 'new/env', `PGPASSWORD=${PASSWORD}\n`);
    const since = new Date();
    const before = new Date(since.getTime() - 60_000);
    fs.utimesSync(path.join(root, 'old', 'env'), before, before);
    const after = new Date(since.getTime() + 1_000);
    fs.utimesSync(path.join(root, 'new', 'env'), after, after);
    fs.utimesSync(path.join(root, 'tools', 'venv', 'fixture.py'), after, after);
    expect(scanFiles(root, { registry: [], since, skipDirs: [path.join(root, 'tools')] }).flatMap((r) => r.findings)).toEqual([{ store: 'files other files', location: path.join('new', 'env'), kind: 'password', encoding: 'plain' }]);
  });
});

describe('Temporal visibility, settled before listing', () => {
  test('the count is read until two reads in a row agree: the workflows the last file started are counted', async () => {
    const reads = [3, 5, 7, 7, 9];
    let n = 0;
    expect(await settledCount(async () => reads[n++], { intervalMs: 1 })).toBe(7);
    expect(n).toBe(4);
  });

  test('a count that never holds still is read until the deadline, and the last read is returned', async () => {
    let n = 0;
    const last = await settledCount(async () => ++n, { timeoutMs: 50, intervalMs: 5 });
    expect(last).toBe(n);
  });
});

describe('private servers started but never stopped', () => {
  test('each start without its scan record is named (a name started twice and scanned once is named once); a server scanned as it stopped is not', () => {
    const dir = plantedDir('servers-');
    recordServerStarted('private moto http://127.0.0.1:1', dir);
    recordServerStarted('private moto http://127.0.0.1:1', dir);
    recordServerStarted('private Temporal 127.0.0.1:2', dir);
    recordServerStarted('private moto http://127.0.0.1:3', dir);
    writeScanRecord({ server: 'private moto http://127.0.0.1:1', reports: [] }, dir);
    writeScanRecord({ server: 'private moto http://127.0.0.1:3', reports: [] }, dir);
    expect(unscannedServers(dir)).toEqual(['private Temporal 127.0.0.1:2', 'private moto http://127.0.0.1:1']);
  });

  test('the suite scan fails naming a private server that was started and never scan-stopped', async () => {
    const root = plantedDir('suite-root-');
    const secrets = plantedDir('suite-secrets-');
    recordServerStarted('private moto http://127.0.0.1:4', secrets);
    const lines: string[] = [];
    await expect(scanSuite({ temporal: [], moto: [], tempRoot: root, secretsDir: secrets }, (l) => lines.push(l))).rejects.toThrow(
      new Error('secrets scan could not scan 1 store(s):\n  private moto http://127.0.0.1:4: started by a test but never stopped through its scanning stop(), so never scanned'),
    );
    writeScanRecord({ server: 'private moto http://127.0.0.1:4', reports: [] }, secrets);
    expect((await scanSuite({ temporal: [], moto: [], tempRoot: root, secretsDir: secrets }, (l) => lines.push(l))).map((r) => r.store)).toEqual([
      'files audit files', 'files tofu state files', 'files tofu plan files', 'files report files', 'files log files', 'files moto request recordings', 'files other files',
    ]);
  });
});

describe('a DROVER_HOME the caller set, outside the suite\'s root', () => {
  const withHarness = async (home: { dir: string; toolsDir: string }, startedAt: Date) => {
    const saved = { temporal: process.env.TEMPORAL_ADDRESS, aws: process.env.AWS_ENDPOINT_URL };
    delete process.env.TEMPORAL_ADDRESS;
    delete process.env.AWS_ENDPOINT_URL;
    const tmp = ownRoot('drover-coverage-teardown-');
    const secrets = ownRoot('drover-coverage-teardown-secrets-');
    harnessGlobal.__droverHarness = { tmp, secrets, startedAt, home };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return await globalTeardown().then(() => undefined, (e: Error) => e.message);
    } finally {
      stderr.mockRestore();
      if (saved.temporal !== undefined) process.env.TEMPORAL_ADDRESS = saved.temporal;
      if (saved.aws !== undefined) process.env.AWS_ENDPOINT_URL = saved.aws;
    }
  };

  test('the teardown scans what changed in it since the suite started (the pinned tools left out) and fails on a secret there', async () => {
    const home = plantedDir('caller-home-');
    const startedAt = new Date(Date.now() - 60_000);
    put(home, 'runs/failover-x/stack.env', `PGPASSWORD=${PASSWORD}\n`);
    put(home, 'tools/moto/site-packages/tests/fixture.py', `PGPASSWORD=${PASSWORD}\n`);
    put(home, 'audit/before.jsonl', `${JSON.stringify({ env: `PGPASSWORD=${PASSWORD}` })}\n`);
    const before = new Date(startedAt.getTime() - 60_000);
    fs.utimesSync(path.join(home, 'audit', 'before.jsonl'), before, before);
    expect(await withHarness({ dir: home, toolsDir: path.join(home, 'tools') }, startedAt)).toBe(
      `secrets found (1):\n  DROVER_HOME ${home} (changed since ${startedAt.toISOString()}) other files: ${path.join('runs', 'failover-x', 'stack.env')}: password`,
    );
  });

  test('a caller\'s DROVER_HOME that is gone at teardown fails the teardown: it could not be scanned', async () => {
    const home = path.join(plantedDir('caller-home-gone-'), 'home');
    const startedAt = new Date();
    expect(await withHarness({ dir: home, toolsDir: path.join(home, 'tools') }, startedAt)).toBe(
      `secrets scan could not scan 1 store(s):\n  DROVER_HOME ${home} (set by the caller, outside the suite's root): ${home}: no such directory to scan`,
    );
  });
});
