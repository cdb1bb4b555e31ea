/**
 * TLS to the engines (`database.access.tls: verify-full`), against a real PostgreSQL serving TLS with a certificate
 * from a CA this test makes (openssl): with that CA as `caFile` the fence's session opens; with another CA, or a
 * certificate naming another host, it is refused as a setup to fix (`Validation`), never taken for an engine that does
 * not answer (which would reboot the writer). The instances are moto's, mapped to the server by the worker's
 * test-only endpoint map; the password comes from Secrets Manager.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RDS } from '@aws-sdk/client-rds';
import { SecretsManager } from '@aws-sdk/client-secrets-manager';
import { createEngineActivities, type EngineTarget } from '../activities/engines';
import { createAwsClients } from '../aws/clients';
import { ensureEngines } from '../infra/engines/install';
import { startPostgresPair, type EnginePair } from '../infra/engines/servers';
import { ENGINE_MASTER_PASSWORD } from './harness/fixture-credentials';
import { emulatorConfig } from './harness/fixtures';
import { TestPki } from './harness/pki';
import { startOwnMoto } from './harness/servers';

const REGION = 'ap-south-1';
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
const SECRET = `tls-${process.pid}/db-master`;
let moto: Awaited<ReturnType<typeof startOwnMoto>>;
let pair: EnginePair;
let dir: string;

/** A CA, and a server certificate it signs for `names` (subjectAltName entries, e.g. IP:127.0.0.1). */
function issue(pki: TestPki, label: string, names: string): { ca: string; cert: string; key: string } {
  const ca = pki.ca(label);
  const server = pki.issue(ca, `${label}-server`, { cn: 'engine', usage: 'server', names });
  return { ca: ca.cert, cert: server.certPem, key: server.keyPem };
}

let right: ReturnType<typeof issue>;
let other: ReturnType<typeof issue>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-tls-'));
  const pki = new TestPki(dir);
  right = issue(pki, 'right', 'IP:127.0.0.1');
  other = issue(pki, 'other', 'IP:127.0.0.1');
  moto = await startOwnMoto();
  const rds = new RDS({ region: REGION, endpoint: moto.endpoint, credentials: CREDS });
  await rds.createDBInstance({ DBInstanceIdentifier: 'tls-writer', DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'drover_master', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20 });
  await new SecretsManager({ region: REGION, endpoint: moto.endpoint, credentials: CREDS }).createSecret({ Name: SECRET, SecretString: JSON.stringify({ username: 'drover_master', password: ENGINE_MASTER_PASSWORD }) });
  pair = await startPostgresPair({ masterPassword: ENGINE_MASTER_PASSWORD, engines: await ensureEngines(), tls: { cert: right.cert, key: right.key } });
}, 10 * 60_000);
afterAll(async () => {
  await pair?.stop();
  await moto?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function engines(host = '127.0.0.1') {
  const aws = createAwsClients(emulatorConfig(moto.endpoint));
  return createEngineActivities({ rds: aws.rds, secrets: aws.secrets, endpoint: () => ({ host, port: pair.primary.port }) });
}
const target = (caFile: string): EngineTarget => ({ region: REGION, identifier: 'tls-writer', engine: 'postgres', side: 'primary', access: { secretId: SECRET, tls: 'verify-full', caFile, quietWindow: 500, proofTimeout: 5000 } });

test('verify-full with the CA that signed the server certificate: the session opens over TLS', async () => {
  const out = await engines().writerPosition(target(right.ca));
  expect(out).toMatchObject({ reached: true, position: { kind: 'lsn', value: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) } });
  // The fence's session too. (That these are TLS sessions shows below: the same calls with another CA are refused.)
  const fence = await engines().fenceEngine(target(right.ca));
  expect(fence).toMatchObject({ reached: true });
});

test('a certificate from another CA is refused as a setup error (Validation), not taken for an engine that does not answer', async () => {
  await expect(engines().writerPosition(target(other.ca))).rejects.toMatchObject({ type: 'Validation', message: expect.stringMatching(/^tls-writer at 127\.0\.0\.1:\d+ answered but drover could not open a session .*(self-signed|unable to verify|certificate)/i) });
  // The fence likewise: no { reached: false } that would reboot the writer.
  await expect(engines().fenceEngine(target(other.ca))).rejects.toMatchObject({ type: 'Validation' });
});

test('a certificate that does not name the host drover connects to is refused', async () => {
  // Connecting by the name "localhost": the certificate names only 127.0.0.1.
  await expect(engines('localhost').writerPosition(target(right.ca))).rejects.toMatchObject({ type: 'Validation', message: expect.stringMatching(/(altnames|Hostname\/IP does not match|localhost)/i) });
});

test('a caFile that cannot be read is a path-qualified Validation before any connection', async () => {
  await expect(engines().writerPosition(target(path.join(dir, 'missing.pem')))).rejects.toMatchObject({ type: 'Validation', message: expect.stringMatching(/^database\.access\.caFile: cannot read .*missing\.pem/) });
});
