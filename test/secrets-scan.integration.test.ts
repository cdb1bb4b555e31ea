/**
 * "No secrets" on real servers: the scanner (test/harness/secrets.ts) finds secrets planted in the
 * histories of a private Temporal dev server and in moto's S3 objects (every version), SNS
 * notifications and SQS messages (consumed or not); a private server's stop() scans it first and
 * fails on a finding; the auth-enabled moto's keys are recorded for the exact match. The planted
 * servers keep their data outside the suite's temporary root, so the suite's own teardown scan (which
 * must stay clean) does not meet the planted secrets. Server-free parts: test/secrets-scan.unit.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { S3 } from '@aws-sdk/client-s3';
import { SNS } from '@aws-sdk/client-sns';
import { SQS } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import { startMoto, startTemporal } from '../infra/local/stack';
import { processAlive } from '../processes/supervisor';
import { AuthMoto } from './harness/authmoto';
import { eventually } from './harness/fixtures';
import { harnessCredentials, scanMoto, scanTemporal, scanText, type ScanRecord } from './harness/secrets';
import { motoScanEnv, scannedOnStop } from './harness/servers';

jest.setTimeout(120_000);

const PASSWORD = 'Tr0ub4dor-3-horse';
const SECRET = 'Zx9Kq2Lm4Np6Rs8Tv0Wy1Ab3Cd5Ef7Gh9Ij2Kl4M';
const MINTED = 'minted-by-the-harness-5e1d0b';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

/**
 * A directory outside the suite's temporary root (beside it: the suite points TMPDIR inside it), for
 * servers holding planted secrets.
 */
function plantDir(): string {
  const root = process.env.DROVER_TEST_TMP;
  if (!root) throw new Error('DROVER_TEST_TMP is not set: run the tests through jest (its global setup makes the root)');
  return fs.mkdtempSync(path.join(path.dirname(root), 'drover-scan-plant-'));
}

function bin(name: 'DROVER_TEST_TEMPORAL_BIN' | 'DROVER_TEST_MOTO_BIN'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its global setup installs the servers)`);
  return value;
}

test('planted in the histories of a private Temporal server (payload bytes, base64 inside JSON), the scan finds each secret by workflow, run and event; stop() then scans, stops the server and fails', async () => {
  const dir = plantDir();
  const server = await startTemporal({ bin: bin('DROVER_TEST_TEMPORAL_BIN'), dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log') });
  const stopServer = server.stop;
  const started = new Date(Date.now() - 1_000);
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const start = async (workflowId: string, input: unknown) =>
      (await client.workflow.start('plantedWorkflow', { taskQueue: 'nobody-polls-this', workflowId, args: [input] })).firstExecutionRunId;
    const plain = await start('leak-plain', { note: `PGPASSWORD=${PASSWORD}` });
    const deep = await start('leak-deep', { blob: b64(JSON.stringify({ k: `AWS_SECRET_ACCESS_KEY=${SECRET}` })) });
    const minted = await start('leak-minted', { note: `token ${MINTED}` });
    await start('clean', { note: 'nothing to see' });
    // Visibility (what the scan lists) catches up with the starts asynchronously.
    await eventually(async () => (await client.workflow.count()).count === 4, 'the four workflows to be listed');
    await connection.close();

    const report = await scanTemporal(server.address, { registry: [MINTED] });
    const store = `temporal ${server.address} histories`;
    expect({ ...report, findings: [...report.findings].sort((a, b) => a.location.localeCompare(b.location)) }).toEqual({
      store,
      items: 4,
      unit: 'histories',
      findings: [
        { store, location: `default/leak-deep (run ${deep}), event 1`, kind: 'secret access key', encoding: 'bytes > json > base64' },
        { store, location: `default/leak-minted (run ${minted}), event 1`, kind: 'harness credential', encoding: 'bytes' },
        { store, location: `default/leak-plain (run ${plain}), event 1`, kind: 'password', encoding: 'bytes' },
      ],
    });
    // On an external server only the suite's workflows count: those started since the suite began.
    expect((await scanTemporal(server.address, { registry: [MINTED], since: started })).items).toBe(4);
    expect((await scanTemporal(server.address, { registry: [MINTED], since: new Date(Date.now() + 3_600_000) })).items).toBe(0);

    const records: ScanRecord[] = [];
    const own = scannedOnStop(server, `private Temporal ${server.address}`, async () => [await scanTemporal(server.address, { registry: [MINTED] })], (r) => void records.push(r));
    await expect(own.stop()).rejects.toThrow(`secrets scan of private Temporal ${server.address} before it stopped: secrets found (3):`);
    expect(processAlive(server.pid)).toBe(false);
    expect(records.map((r) => [r.server, r.error, r.reports[0].findings.length])).toEqual([[`private Temporal ${server.address}`, undefined, 3]]);
  } finally {
    await stopServer();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('planted in moto, the scan finds each secret in S3 objects (every version), SNS notifications and SQS messages (even consumed ones); stop() then scans, stops moto and fails', async () => {
  const dir = plantDir();
  // With the harness's inventory fix, as every moto the suite scans (plain moto 5.2.5 answers 500 once an object was deleted).
  const moto = await startMoto({ bin: bin('DROVER_TEST_MOTO_BIN'), logFile: path.join(dir, 'moto.log'), env: motoScanEnv() });
  const stopMoto = moto.stop;
  try {
    const region = 'ap-south-1';
    const s3 = new S3({ endpoint: moto.endpoint, region, forcePathStyle: true, credentials: CREDS });
    await s3.createBucket({ Bucket: 'plant-objects', CreateBucketConfiguration: { LocationConstraint: region } });
    await s3.putObject({ Bucket: 'plant-objects', Key: 'runs/r1.json', Body: JSON.stringify({ a: { b: [{ c: b64(JSON.stringify({ d: b64(`password=${PASSWORD}`) })) }] } }) });
    await s3.putObject({ Bucket: 'plant-objects', Key: 'clean.txt', Body: 'nothing to see' });
    await s3.createBucket({ Bucket: 'plant-versions', CreateBucketConfiguration: { LocationConstraint: region } });
    await s3.putBucketVersioning({ Bucket: 'plant-versions', VersioningConfiguration: { Status: 'Enabled' } });
    const first = await s3.putObject({ Bucket: 'plant-versions', Key: 'state', Body: Buffer.from(`{"MasterUserPassword":"${PASSWORD}"}`).toString('hex') });
    await s3.putObject({ Bucket: 'plant-versions', Key: 'state', Body: 'overwritten, clean' });
    // A bucket emptied and deleted (moto's inventory still lists it): nothing left to read, not a store the scan missed.
    await s3.createBucket({ Bucket: 'plant-deleted', CreateBucketConfiguration: { LocationConstraint: region } });
    await s3.putObject({ Bucket: 'plant-deleted', Key: 'gone', Body: `password=${PASSWORD}` });
    await s3.deleteObject({ Bucket: 'plant-deleted', Key: 'gone' });
    await s3.deleteBucket({ Bucket: 'plant-deleted' });

    const sns = new SNS({ endpoint: moto.endpoint, region: 'ap-southeast-1', credentials: CREDS });
    const topic = (await sns.createTopic({ Name: 'plant-topic' })).TopicArn!;
    await sns.publish({ TopicArn: topic, Subject: 'run completed', Message: JSON.stringify({ text: JSON.stringify({ MasterUserPassword: PASSWORD }) }) });

    const sqs = new SQS({ endpoint: moto.endpoint, region, credentials: CREDS });
    const queue = (await sqs.createQueue({ QueueName: 'plant-queue' })).QueueUrl!;
    const sent = await sqs.sendMessage({ QueueUrl: queue, MessageBody: `callback=${encodeURIComponent(`postgres://app:${PASSWORD}@db/app`)}` });
    const received = await sqs.receiveMessage({ QueueUrl: queue, MaxNumberOfMessages: 1 });
    await sqs.deleteMessage({ QueueUrl: queue, ReceiptHandle: received.Messages![0].ReceiptHandle! });
    const mintedMessage = await sqs.sendMessage({ QueueUrl: queue, MessageBody: b64(`session for ${MINTED}`) });

    const [objects, notifications, messages] = await scanMoto(moto.endpoint, { registry: [MINTED] });
    const name = (what: string) => `moto ${moto.endpoint} ${what}`;
    expect(objects).toEqual({
      store: name('s3 objects'),
      items: 4,
      unit: 'object versions',
      findings: [
        { store: name('s3 objects'), location: 's3://plant-objects/runs/r1.json', kind: 'password', encoding: 'json > base64 > json > base64' },
        { store: name('s3 objects'), location: `s3://plant-versions/state (version ${first.VersionId})`, kind: 'password', encoding: 'hex' },
      ],
    });
    expect(notifications).toEqual({
      store: name('sns notifications'),
      items: 1,
      unit: 'notifications',
      findings: [{ store: name('sns notifications'), location: `${topic} notification 1`, kind: 'password', encoding: 'json' }],
    });
    expect({ ...messages, findings: [...messages.findings].sort((a, b) => a.kind.localeCompare(b.kind)) }).toEqual({
      store: name('sqs messages'),
      items: 2,
      unit: 'messages',
      findings: [
        { store: name('sqs messages'), location: `message ${mintedMessage.MessageId}`, kind: 'harness credential', encoding: 'base64' },
        { store: name('sqs messages'), location: `message ${sent.MessageId}`, kind: 'password', encoding: 'url-encoded' },
      ],
    });

    const records: ScanRecord[] = [];
    const own = scannedOnStop(moto, `private moto ${moto.endpoint}`, () => scanMoto(moto.endpoint, { registry: [MINTED] }), (r) => void records.push(r));
    await expect(own.stop()).rejects.toThrow(`secrets scan of private moto ${moto.endpoint} before it stopped: secrets found (5):`);
    expect(processAlive(moto.pid)).toBe(false);
    expect(records.map((r) => r.reports.map((s) => [s.store, s.items, s.findings.length]))).toEqual([[[name('s3 objects'), 4, 2], [name('sns notifications'), 1, 1], [name('sqs messages'), 2, 2]]]);
  } finally {
    await stopMoto();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the keys the auth-enabled moto mints for the harness are recorded, so the scan finds them exactly wherever they land; its clean stop passes', async () => {
  const sts = await AuthMoto.start();
  try {
    const user = await sts.user(`scan-user-${process.pid}`);
    const session = await sts.roleSession('scan-role', `scan-${process.pid}`);
    const registry = harnessCredentials();
    expect(registry).toEqual(expect.arrayContaining([user.credentials.accessKeyId, user.credentials.secretAccessKey, session.credentials.accessKeyId, session.credentials.secretAccessKey, session.credentials.sessionToken]));
    // Base64 in a JSON payload, so only the exact match, and no pattern, can find it.
    const hits = scanText(JSON.stringify({ data: b64(`secret is ${user.credentials.secretAccessKey}`) }), registry);
    expect(hits.filter((h) => h.kind === 'harness credential')).toEqual([{ kind: 'harness credential', encoding: 'json > base64' }]);
  } finally {
    await sts.stop();
  }
});
