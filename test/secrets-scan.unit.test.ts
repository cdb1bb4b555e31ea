/**
 * "No secrets", without servers: the scrubber (audit/scrub.ts) redacts every credential form the audit
 * found it missing, with exact output; the suite's scanner (test/harness/secrets.ts), an independent
 * detector, finds each kind of secret in every encoding, in every kind of file store, finds the
 * harness's own credentials exactly, reports store, location and kind but never the secret, and fails
 * (never skips) when a store cannot be reached. The server-backed stores are in
 * test/secrets-scan.integration.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { REDACTED, scrubSecrets } from '../audit/scrub';
import { freePort } from '../infra/local/stack';
import globalTeardown, { scanSuite } from './harness/global-teardown';
import { harnessGlobal } from './harness/global-setup';
import {
  describeFindings,
  harnessCredentials,
  historyTexts,
  recordHarnessCredential,
  scanFiles,
  scanHistory,
  scanMoto,
  scanTemporal,
  scanText,
  scanValue,
  summarize,
  type ScanRecord,
} from './harness/secrets';
import { plantedDir, scannedOnStop } from './harness/servers';
import { ENGINE_MASTER_PASSWORD } from './harness/fixture-credentials';

// Fakes, in the shapes of the real things.
const AKIA = 'AKIAQWERTYUIOPASDFGH';
const SECRET = 'Zx9Kq2Lm4Np6Rs8Tv0Wy1Ab3Cd5Ef7Gh9Ij2Kl4M';
const SESSION_TOKEN = `IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD${'x7Kq/Pz+'.repeat(30)}`;
const PASSWORD = 'Tr0ub4dor-3-horse';
const HEX_SIGNATURE = '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7';
const JWK_D = 'Vt3qRa8m1Q0tS9uVgkS2Xb7Y2w0ZqJ8cR4nL6pK1hEo';
/** The last lines of a PKCS#8 PEM body (64 characters a line, RFC 7468), as a window that cut its BEGIN line keeps them. */
const PEM_TAIL = [
  'jfXAt+UzHf2jBNA2qxp6/WC3120rAkEAsVH7z2+WzWZieCVRFcKlH0m7hZVD+Zpp',
  '/q5oLK0ezbZhQVsDZO5uZqB4iYoBMAfbyQO7C44xDRqNX8SHClIzPQJAXhKVAxNH',
  'wAqjCUJl6XXzyb5V2jVpM7VkRMK6kGDb6sj2Sa6LiQYLULmqVc2Y8fWi8vB+aE69',
  'y9wlIS8K+VwXkg==',
];
/** base64 of `app:Tr0ub4dor-3-horse`: HTTP Basic credentials. */
const BASIC = 'YXBwOlRyMHViNGRvci0zLWhvcnNl';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abcdefghijklmnopqrstuvwxyzABCDEF012345';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

/** Scanned with no harness credentials unless a test gives some. */
const scan = (text: string, registry: string[] = []) => scanText(text, registry);

describe('the scrubber (audit/scrub.ts) redacts every credential form', () => {
  test.each([
    ['an AWS secret key after `=` (an environment)', `AWS_SECRET_ACCESS_KEY=${SECRET}`, 'AWS_SECRET_ACCESS_KEY=[redacted]'],
    ['an ini file\'s secret key (~/.aws/credentials)', `aws_secret_access_key = ${SECRET}\naws_session_token = ${SESSION_TOKEN}`, 'aws_secret_access_key = [redacted]\naws_session_token = [redacted]'],
    ['a JSON SecretAccessKey member', `{"AccessKeyId":"${AKIA}","SecretAccessKey":"${SECRET}"}`, '{"AccessKeyId":"[redacted-access-key-id]","SecretAccessKey":"[redacted]"}'],
    ['a JSON signature member (hex)', `{"signature":"${HEX_SIGNATURE}","alg":"HMAC-SHA256"}`, '{"signature":"[redacted]","alg":"HMAC-SHA256"}'],
    ['password=', `connect host=db password=${PASSWORD} sslmode=require`, 'connect host=db password=[redacted] sslmode=require'],
    ['PGPASSWORD=', `PGPASSWORD=${PASSWORD} psql -h db`, 'PGPASSWORD=[redacted] psql -h db'],
    ['a password in a postgres:// URL', `DATABASE_URL=postgres://app:${PASSWORD}@db.internal:5432/app`, 'DATABASE_URL=postgres://app:[redacted]@db.internal:5432/app'],
    ['a JSON MasterUserPassword member', `{"DBInstanceIdentifier":"apnakart","MasterUserPassword":"${PASSWORD}"}`, '{"DBInstanceIdentifier":"apnakart","MasterUserPassword":"[redacted]"}'],
    ['a private JWK\'s d (and only it)', `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"${JWK_D}"}`, '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"[redacted]"}'],
    ['a private JWK printed inside a JSON string', `{"key":"{\\"kty\\":\\"EC\\",\\"d\\":\\"${JWK_D}\\"}"}`, '{"key":"{\\"kty\\":\\"EC\\",\\"d\\":\\"[redacted]\\"}"}'],
    ['an EKS bearer token in a header', 'Authorization: Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYXAtc291dGgtMS5hbWF6b25hd3MuY29tLz9BY3Rpb249R2V0Q2FsbGVySWRlbnRpdHk', 'Authorization: [redacted]'],
    ['an EKS bearer token on its own', 'token k8s-aws-v1.aHR0cHM6Ly9zdHMuYXAtc291dGgtMS5hbWF6b25hd3MuY29tLz9BY3Rpb249R2V0Q2FsbGVySWRlbnRpdHk', 'token k8s-aws-v1.[redacted]'],
    ['a password with ;, & and , in it: to the end of its token', 'PGPASSWORD=abc;def&ghi,jkl psql -h db', 'PGPASSWORD=[redacted] psql -h db'],
    ['in a query string & ends the value (a literal & is %26 there)', 'GET /login?user=app&password=abc;def%26ghi&next=/home', 'GET /login?user=app&password=[redacted]&next=/home'],
    ['a quoted value with an escaped quote', String.raw`password="pa\"ss word" next`, 'password="[redacted]" next'],
    ['a JSON member with an escaped quote', String.raw`{"password":"pa\"ssword-tail-1234","user":"app"}`, '{"password":"[redacted]","user":"app"}'],
    ['JSON inside a JSON string, with an escaped quote', String.raw`{"log":"{\"password\":\"pa\\\"ss-word-1234\",\"user\":\"app\"}"}`, String.raw`{"log":"{\"password\":\"[redacted]\",\"user\":\"app\"}"}`],
    ['a number under a secret name (the text stays JSON)', '{"password": 12345678901, "port": 5432}', '{"password": "[redacted]", "port": 5432}'],
    ['--db-password value and --db-password=value', 'deploy --db-password hunter2hunter2 --host db && migrate --db-password=abc;def --dry-run', 'deploy --db-password [redacted] --host db && migrate --db-password=[redacted] --dry-run'],
    ['Cookie and Set-Cookie headers, whole', 'Cookie: session=abc123def456; theme=dark\nSet-Cookie: sid=abc123def456; Path=/; HttpOnly', 'Cookie: [redacted]\nSet-Cookie: [redacted]'],
    ['Basic credentials without their header', `proxy sent Basic ${BASIC} upstream`, 'proxy sent Basic [redacted] upstream'],
    ['a Bearer token without its header', 'retrying with Bearer ghp_abcdefghijklmnop0123456789 now', 'retrying with Bearer [redacted] now'],
    [
      'JSON members apiKey, accessToken, token, pwd, clientSecret (not NextToken)',
      '{"apiKey":"k-1234567890","accessToken":"tok-1234567890","token":"t-1234567890","pwd":"p-1234567890","clientSecret":"cs-1234567890","NextToken":"page-2"}',
      '{"apiKey":"[redacted]","accessToken":"[redacted]","token":"[redacted]","pwd":"[redacted]","clientSecret":"[redacted]","NextToken":"page-2"}',
    ],
    ['DB_PASS= and GITHUB_TOKEN= (not a paging continuation-token=)', 'DB_PASS=hunter2hunter2 GITHUB_TOKEN=ghp_abcdefghijklmnop0123456789 continuation-token=1ueGcxLPRx1Tr', 'DB_PASS=[redacted] GITHUB_TOKEN=[redacted] continuation-token=1ueGcxLPRx1Tr'],
    ['a signed JWT', `id ${JWT} ok`, 'id [redacted-jwt] ok'],
    ['a PEM private key, whole', `key:\n-----BEGIN RSA PRIVATE KEY-----\n${PEM_TAIL.join('\n')}\n-----END RSA PRIVATE KEY-----\ndone`, 'key:\n-----BEGIN RSA PRIVATE KEY----- [redacted] -----END RSA PRIVATE KEY-----\ndone'],
    ['a PEM body whose BEGIN a window cut: from its 64-character lines', `applying\n${PEM_TAIL.join('\n')}\n-----END PRIVATE KEY-----\nsynced`, 'applying\n[redacted] -----END PRIVATE KEY-----\nsynced'],
    ['a PEM body whose BEGIN was cut, lines of another width: from the start of the text', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACA\n-----END OPENSSH PRIVATE KEY-----\nsynced', '[redacted] -----END OPENSSH PRIVATE KEY-----\nsynced'],
    ['a PEM key whose END was cut: to the end of the text', 'tail: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\nAoGAQJ', 'tail: -----BEGIN EC PRIVATE KEY----- [redacted]'],
    [
      'a Kubernetes Secret as YAML: its data and stringData values, whatever their keys',
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  db-pass: aHVudGVyMi1odW50ZXIy\n  DATABASE_DSN: cG9zdGdyZXM6Ly9hcHA\nstringData:\n  config: |\n    user=app\n    pass=hunter2\ntype: Opaque',
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  db-pass: [redacted]\n  DATABASE_DSN: [redacted]\nstringData:\n  config: [redacted]\n    [redacted]\n    [redacted]\ntype: Opaque',
    ],
    ['a Kubernetes Secret as JSON', '{"kind":"Secret","data":{"DATABASE_DSN":"cG9zdGdyZXM6Ly9hcHA"},"metadata":{"name":"db"}}', '{"kind":"Secret","data":{"DATABASE_DSN":"[redacted]"},"metadata":{"name":"db"}}'],
    ['a YAML block scalar under a secret name', 'password: |\n  hunter2hunter2\nuser: app', 'password: [redacted]\nuser: app'],
    ['a password with a raw @ in a URL: to the last @ before the host', 'connecting to postgres://app:p@ss-w0rd-Zq9@db.internal:5432/shop', 'connecting to postgres://app:[redacted]@db.internal:5432/shop'],
    ['a pretty-printed private JWK whose "kty" line a window cut: its long private members', `  "e": "AQAB",\n  "d": "${JWK_D}",\n  "qi": "${JWK_D}"\n}`, '  "e": "AQAB",\n  "d": "[redacted]",\n  "qi": "[redacted]"\n}'],
    ['an OpenPGP private key block (RFC 4880 armor)', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF+1Jw0BCACy6R0xXh7Ssx6XBz8gVhBtyM2tb7of\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\nok', '-----BEGIN PGP PRIVATE KEY BLOCK----- [redacted] -----END PGP PRIVATE KEY BLOCK-----\nok'],
  ])('%s', (_what, input, redacted) => {
    expect(scrubSecrets(input)).toBe(redacted);
    // What the scrubber leaves, the scanner does not flag.
    expect(scan(redacted)).toEqual([]);
  });

  test('objects: a JWK (an object with kty) loses its private members, a public one is untouched; secret-named members go', () => {
    expect(scrubSecrets({ kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', d: JWK_D })).toEqual({ kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', d: REDACTED });
    expect(scrubSecrets({ kty: 'oct', k: 'c2VjcmV0LWtleS1ieXRlcw' })).toEqual({ kty: 'oct', k: REDACTED });
    expect(scrubSecrets({ jwk: { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy' } })).toEqual({ jwk: { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy' } });
    expect(scrubSecrets({ MasterUserPassword: PASSWORD, SecretAccessKey: SECRET, signature: HEX_SIGNATURE, d: 'not a key: no kty' })).toEqual({ MasterUserPassword: REDACTED, SecretAccessKey: REDACTED, signature: REDACTED, d: 'not a key: no kty' });
  });

  test('objects: every secret name the text rules know (apiKey, accessToken, token, passphrase, pwd, clientSecret, DB_PASS, a number too), not NextToken or bypass; a Kubernetes Secret\'s data and stringData', () => {
    expect(scrubSecrets({ apiKey: 'k-1', accessToken: 'a-1', token: 't-1', passphrase: 'p-1', pwd: 'w-1', clientSecret: 'c-1', DB_PASS: 'd-1', password: 12345678, NextToken: 'page-2', bypass: 'yes', port: 5432 })).toEqual({
      apiKey: REDACTED,
      accessToken: REDACTED,
      token: REDACTED,
      passphrase: REDACTED,
      pwd: REDACTED,
      clientSecret: REDACTED,
      DB_PASS: REDACTED,
      password: REDACTED,
      NextToken: 'page-2',
      bypass: 'yes',
      port: 5432,
    });
    expect(scrubSecrets({ kind: 'Secret', data: { 'db-pass': 'aHVu', DATABASE_DSN: 'cG9z' }, stringData: { config: 'x' }, metadata: { name: 'db' } })).toEqual({ kind: 'Secret', data: { 'db-pass': REDACTED, DATABASE_DSN: REDACTED }, stringData: { config: REDACTED }, metadata: { name: 'db' } });
    expect(scrubSecrets({ kind: 'ConfigMap', data: { mode: 'fast' } })).toEqual({ kind: 'ConfigMap', data: { mode: 'fast' } });
  });

  test('scrubbing again changes nothing more (a record scrubbed in its activity is scrubbed again before sealing)', () => {
    for (const input of [`applying\n${PEM_TAIL.join('\n')}\n-----END PRIVATE KEY-----`, 'kept\nb3BlbnNzaC1rZXktdjEAAAAABG5v\n-----END OPENSSH PRIVATE KEY-----', 'x -----BEGIN EC PRIVATE KEY-----\nMHcC', 'PGPASSWORD=abc;def Cookie: a=b']) {
      const once = scrubSecrets(input);
      expect({ input, twice: scrubSecrets(once) }).toEqual({ input, twice: once });
    }
  });

  test('leaves alone paging and idempotency tokens, names that only end in pass, a Basic that is not base64 of user:password, a JWE', () => {
    const text = 'NextToken=AbCdEfGhIjKl ClientRequestToken=abc-123 continuation-token=1ueGcxLPRx1Tr bypass=yes compass: north Basic configuration applied eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9..Ab3dEf5hIj7lMn9p.x.y';
    expect(scrubSecrets(text)).toBe(text);
  });

  test('leaves alone what only names a secret: SecretArn=, password_policy=, a URL with a port and an @ in its path', () => {
    const text = 'SecretArn=arn:aws:secretsmanager:ap-south-1:123456789012:secret:db-AbCdEf password_policy=strict https://api.example.test:8443/users/@priya';
    expect(scrubSecrets(text)).toBe(text);
  });
});

describe('the scanner is an independent detector', () => {
  test('it has its own patterns: test/harness/secrets.ts imports nothing from audit/scrub.ts', () => {
    const source = fs.readFileSync(path.join(__dirname, 'harness', 'secrets.ts'), 'utf8');
    expect(source.match(/^import .*$/gm)).toEqual([
      "import fs from 'node:fs';",
      "import path from 'node:path';",
      "import zlib from 'node:zlib';",
      "import { S3 } from '@aws-sdk/client-s3';",
      "import { Client, Connection } from '@temporalio/client';",
    ]);
  });
});

describe('kinds of secret', () => {
  test.each([
    ['an access key id', `used ${AKIA} to sign`, ['access key id']],
    ['a temporary access key id', `ASIA${'Z'.repeat(16)}`, ['access key id']],
    ['a secret key on its own', `secret ${SECRET}`, ['secret access key']],
    ['a secret key after =', `AWS_SECRET_ACCESS_KEY=${SECRET}`, ['secret access key']],
    ['a short secret key after = (not key-shaped, named)', 'aws_secret_access_key = short-but-secret', ['secret access key']],
    ['a secret key as a JSON member that is not a JWK coordinate, cut after it', `{"z":"${SECRET}`, ['secret access key']],
    ['a session token', `token ${SESSION_TOKEN}`, ['session token']],
    ['a SigV4 signature', `X-Amz-Signature=${HEX_SIGNATURE}`, ['SigV4 signature']],
    ['a JSON signature member (hex)', `{"signature":"${HEX_SIGNATURE}"}`, ['signature']],
    ['password=', `password=${PASSWORD}`, ['password']],
    ['PGPASSWORD=', `PGPASSWORD=${PASSWORD}`, ['password']],
    ['a postgres:// URL with a password', `postgres://app:${PASSWORD}@db:5432/app`, ['password']],
    ['"MasterUserPassword"', `{"MasterUserPassword":"${PASSWORD}"}`, ['password']],
    ['a private JWK', `{"kty":"EC","crv":"P-256","d":"${JWK_D}"}`, ['private key']],
    ['a PEM private key', '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----', ['private key']],
    ['an EKS token', 'k8s-aws-v1.aHR0cHM6Ly9zdHMuYXAtc291dGgtMS5hbWF6b25hd3MuY29t', ['bearer token']],
    ['Authorization: Basic (base64 of user:password)', `Authorization: Basic ${BASIC}`, ['password']],
    ['Authorization: Bearer', 'Authorization: Bearer ghp_abcdefghijklmnop0123456789', ['token']],
    ['Authorization: Token and ApiKey (the schemes that carry a credential as it is)', 'Authorization: Token ghp_abcdefghijklmnop0123456789\nAuthorization: ApiKey k-abcdefghijklmnop01', ['token']],
    ['a Cookie header', 'Cookie: session=abcdef0123456789abcdef', ['cookie']],
    ['--db-password value', `deploy --db-password ${PASSWORD}`, ['password']],
    ['a CSS custom property named like a password that holds no colour', `:root { --db-password: ${PASSWORD}; }`, ['password']],
    ['SecretString (Secrets Manager)', `{"SecretString":"${PASSWORD}"}`, ['secret']],
    ['pwd', `{"pwd":"${PASSWORD}"}`, ['password']],
    ['DB_PASS=', `DB_PASS=${PASSWORD}`, ['password']],
    ['a symmetric JWK\'s k', '{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg_abcdefghijk"}', ['private key']],
    ['api_key= and "apiKey"', 'api_key=k-1234567890 {"apiKey":"k-1234567890"}', ['api key']],
    ['access_token=, "auth_token", "token"', 'access_token=ya29.a0AfH6SMBx1234567890 {"auth_token":"tok-1234567890abcdef","token":"ghp_abcdefghijklmnop0123456789"}', ['token']],
    ['"client_secret"', '{"client_secret":"cs-1234567890abcdef"}', ['secret']],
    ['a signed JWT', `id ${JWT}`, ['JWT']],
    ['a PEM body whose BEGIN a window cut (its END line)', `${PEM_TAIL.join('\n')}\n-----END PRIVATE KEY-----`, ['private key']],
    ['a PEM body with neither BEGIN nor END (3 lines of 64)', PEM_TAIL.slice(0, 3).join('\n'), ['private key']],
    ['a PEM key scrubbed line by line (its body left between the markers)', `-----BEGIN RSA PRIVATE KEY----- [redacted]\n${PEM_TAIL[0]}\n[redacted] -----END RSA PRIVATE KEY-----`, ['private key']],
    ['a Kubernetes Secret\'s data, under any key', 'kind: Secret\ndata:\n  DATABASE_DSN: cG9zdGdyZXM6Ly9hcHA', ['secret']],
  ])('%s', (_what, text, kinds) => {
    expect([...new Set(scan(text).map((h) => h.kind))]).toEqual(kinds);
  });

  test('not secrets: AWS\'s documentation examples, redaction markers, digests, run ids, public keys, a JWE, a secret\'s ARN, a password\'s name', () => {
    for (const text of [
      'key AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY pasted by mistake',
      `${b64('AKIAIOSFODNN7EXAMPLE')} and ${hex('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')}`,
      'password=[redacted] PGPASSWORD=*** "MasterUserPassword":"[redacted]" postgres://app:[redacted]@db/app X-Amz-Signature=[redacted]',
      `sha256 ${'0a1b'.repeat(16)} sha1 3f786850e387550fdab836ed7e6dc881de23001b run 01a20245-a83c-7c09-aaa2-a9b66a7fa187`,
      '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}',
      `eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.${'Ab3dEf5hIj7lMn9pQr1tUv3xYz5bCd7fGh9jKl1n'}_rest.x`,
      // A sealed identity's JWE header cut after 40 characters (a SQLite page boundary in the raw Temporal database):
      // base64 of `{"alg":"ECDH-ES+A256KW","enc":`, public, and `eyJ` (base64 of `{"`) is never a random key's start here.
      'json/plain\u0001{"gate":"failover","sealed":{"jwe":"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6\u0000\u0003;\u0001K',
      // The same header cut inside its ephemeral public key (`epk`), 40 characters into `y`: the decoded header ends on
      // a public coordinate's first 40 characters (a full CI run found two, after an overflow page's pointer).
      `jwe\u0000\u0003${b64url('{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"x":"M8CULj3tt4F_Rpt-ElNiKbqcmmZwkjHiKVTFrCu9jkI","crv":"P-256","kty":"EC","y":"aY7WXJk6Wb52XTQ1gqpAlxptaK83kTU6GFz1b6wT')}\u0000\u0001`,
      'SecretArn=arn:aws:secretsmanager:ap-south-1:123456789012:secret:db-AbCdEf ManageMasterUserPassword=true PGPASSWORD=$PGPASSWORD',
      // Paging tokens, the shell's working directory, a word ending in pass, SNS's public signature of a delivery (base64, not hex).
      'NextToken=AbCdEfGhIjKlMnOpQrSt continuation-token=1ueGcxLPRx1Tr8Oe3vVz PWD=/work/main bypass: enabled-for-all',
      '{"Type":"Notification","SignatureVersion":"1","Signature":"EXAMPLElDMXvB8r9R83tGoNn0ecwd5UjllzsvSvbItzfaMpN2nk5HVSw7XnOn/49IkxDKz8YrlH2qJXj2iZB0Zo2O71c4qQk1fMUDi3LGpij7RCW7AW9vYYsSqIKRnFS94ilu7NFhUzLiieYr4BKHpdTmdD6c0esg="}',
      // What the scrubber leaves of keys, cookies and Kubernetes Secrets; a certificate; a ConfigMap; a pod's secret volume.
      '-----BEGIN RSA PRIVATE KEY----- [redacted] -----END RSA PRIVATE KEY-----\n[redacted] -----END PRIVATE KEY-----\nCookie: [redacted]\nkind: Secret\ndata:\n  db-pass: [redacted]',
      `-----BEGIN CERTIFICATE-----\n${PEM_TAIL.join('\n')}\n-----END CERTIFICATE-----`,
      'kind: ConfigMap\ndata:\n  mode: fast\nvolumes:\n  - name: creds\n    secret:\n      secretName: db-creds',
      // A moto recording's Authorization signed with the placeholder key, its signature left out.
      'AWS4-HMAC-SHA256 Credential=drover-test/20260110/ap-south-1/sns/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[placeholder-signed]',
      // The HTML report's palette: CSS custom properties named like a credential, holding colours.
      ':root { --fg: #0f172a; --pass: #15803d; --fail: #b91c1c; } .verdict.pass { background: var(--pass); }',
    ]) expect({ text, hits: scan(text) }).toEqual({ text, hits: [] });
  });
});

describe('every encoding, recursively', () => {
  const leak = `password=${PASSWORD}`;
  test.each([
    ['plain', `db ${leak}`, [{ kind: 'password', encoding: 'plain' }]],
    ['after =', `PGPASSWORD=${PASSWORD}`, [{ kind: 'password', encoding: 'plain' }]],
    ['a JSON field', `{"MasterUserPassword":"${PASSWORD}"}`, [{ kind: 'password', encoding: 'plain' }, { kind: 'password', encoding: 'json' }]],
    [
      'base64 nested deep (base64 JSON, in base64 JSON, at any key)',
      JSON.stringify({ a: { b: [{ c: { blob: b64(JSON.stringify({ inner: { deeper: b64(leak) } })) } }] } }),
      [{ kind: 'password', encoding: 'json > base64 > json > base64' }],
    ],
    ['base64url', `state=${b64url(`q=???&${leak}`)}`, [{ kind: 'password', encoding: 'base64url' }]],
    ['a number array (a Buffer as JSON)', JSON.stringify({ payload: [...Buffer.from(leak)] }), [{ kind: 'password', encoding: 'json > byte array' }]],
    ['{type: "Buffer", data: [...]}', JSON.stringify({ body: Buffer.from(leak) }), [{ kind: 'password', encoding: 'json > byte array' }]],
    ['hex', `trace ${hex(leak)}`, [{ kind: 'password', encoding: 'hex' }]],
    ['URL-encoded', `https://hooks.example.test/?q=${encodeURIComponent(leak)}`, [{ kind: 'password', encoding: 'url-encoded' }]],
    [
      'JSON inside a string',
      JSON.stringify({ event: JSON.stringify({ password: PASSWORD }) }),
      [{ kind: 'password', encoding: 'json' }, { kind: 'password', encoding: 'json > json' }, { kind: 'password', encoding: 'unescaped' }],
    ],
    ['a Node Buffer, printed', `got <Buffer ${[...Buffer.from(leak)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}>`, [{ kind: 'password', encoding: 'Buffer' }]],
    ['gzip, in base64', `blob ${zlib.gzipSync(new Uint8Array(Buffer.from(leak))).toString('base64')}`, [{ kind: 'password', encoding: 'base64' }]],
    ['zlib (deflate), in base64', `blob ${zlib.deflateSync(new Uint8Array(Buffer.from(leak))).toString('base64')}`, [{ kind: 'password', encoding: 'base64' }]],
    ['base64 after a path (each segment)', `s3://bucket/audit/${b64(leak)}`, [{ kind: 'password', encoding: 'base64' }]],
    ['base64 glued to a name after a path', `/runs/x${b64(leak)}`, [{ kind: 'password', encoding: 'base64' }]],
    ['hex with separators', `fingerprint ${hex(leak).replace(/(..)(?=.)/g, '$1:')}`, [{ kind: 'password', encoding: 'hex' }]],
    ['\\x escapes', `bytes b'${hex(leak).replace(/(..)/g, '\\x$1')}'`, [{ kind: 'password', encoding: 'x-escaped' }]],
    ['\\u escapes', `note \\u0070assword=${PASSWORD}`, [{ kind: 'password', encoding: 'u-escaped' }]],
    ['HTML entities', `<p>password&#61;${PASSWORD}</p>`, [{ kind: 'password', encoding: 'html entities' }]],
    ['UTF-16LE text read a byte a character', Buffer.from(leak, 'utf16le').toString('latin1'), [{ kind: 'password', encoding: 'utf-16' }]],
    ['UTF-16LE bytes, in base64', `blob ${Buffer.from(leak, 'utf16le').toString('base64')}`, [{ kind: 'password', encoding: 'base64' }]],
    ['base64 wrapped at 76 columns (MIME), the secret across a line break', `blob\n${b64(`${'x'.repeat(50)} ${leak} ${'y'.repeat(40)}`).replace(/(.{76})/g, '$1\n')}\nend`, [{ kind: 'password', encoding: 'base64' }]],
    ['base64 holding + or / glued to a name with - (run-<base64>)', `run-${b64(`\u00ff\u00fe ${leak}`)}`, [{ kind: 'password', encoding: 'base64' }]],
  ])('%s', (_what, text, hits) => {
    // Encoded, the secret is invisible to a plain search: the scanner must decode it.
    expect(scan(text)).toEqual(hits);
  });

  test('a history\'s proto: payload bytes decoded, at any depth', () => {
    const event = { eventId: '5', activityTaskScheduledEventAttributes: { input: { payloads: [{ metadata: { encoding: new Uint8Array(Buffer.from('json/plain')) }, data: new Uint8Array(Buffer.from(JSON.stringify({ env: { note: b64(`AWS_SECRET_ACCESS_KEY=${SECRET}`) } }))) }] } } };
    expect(scanValue(event, [])).toEqual([{ kind: 'secret access key', encoding: 'bytes > json > base64' }]);
  });

  test('lines of output kept as an array (a hook\'s output tail) are also scanned as one text: a PEM key or a JWK split across them', () => {
    expect(scanValue({ outputTail: ['applying', '-----BEGIN PRIVATE KEY----- [redacted]', PEM_TAIL[0], PEM_TAIL[3], '[redacted] -----END PRIVATE KEY-----'] }, [])).toEqual([{ kind: 'private key', encoding: 'lines' }]);
    expect(scanValue({ outputTail: ['{', '  "kty": "EC",', `  "d": "${JWK_D}"`, '}'] }, [])).toEqual([{ kind: 'private key', encoding: 'lines' }, { kind: 'private key', encoding: 'lines > json' }]);
    expect(scanValue({ outputTail: ['applying', 'done'] }, [])).toEqual([]);
  });

  test('every kind also base64-encoded inside a JSON payload', () => {
    for (const [text, kind] of [
      [AKIA, 'access key id'],
      [`AWS_SECRET_ACCESS_KEY=${SECRET}`, 'secret access key'],
      [SESSION_TOKEN, 'session token'],
      [`X-Amz-Signature=${HEX_SIGNATURE}`, 'SigV4 signature'],
      [`{"signature":"${HEX_SIGNATURE}"}`, 'signature'],
      [`postgres://app:${PASSWORD}@db/app`, 'password'],
      [`{"kty":"EC","d":"${JWK_D}"}`, 'private key'],
    ]) {
      expect({ text, kinds: [...new Set(scan(JSON.stringify({ data: b64(text) })).map((h) => h.kind))] }).toEqual({ text, kinds: [kind] });
    }
  });
});

describe('the harness\'s own credentials, matched exactly', () => {
  test('what the harness records is looked for in every encoding, whatever its shape; values too short to be credentials are not recorded', () => {
    const dir = plantedDir('registry-');
    const minted = 'minted-by-the-harness-7f3a9c';
    recordHarnessCredential(minted, 'a test password', dir);
    recordHarnessCredential(minted, 'the same, again', dir);
    recordHarnessCredential('x', 'too short', dir);
    expect(harnessCredentials(dir)).toEqual([minted]);
    const registry = harnessCredentials(dir);
    expect(scan(`note ${minted}`)).toEqual([]);
    expect(scan(`note ${minted}`, registry)).toEqual([{ kind: 'harness credential', encoding: 'plain' }]);
    // Split by a line break (a wrapped line, a log entry cut in two): still found.
    expect(scan(`note ${minted.slice(0, 10)}\n${minted.slice(10)} end`, registry)).toEqual([{ kind: 'harness credential', encoding: 'plain' }]);
    expect(scan(JSON.stringify({ data: b64(JSON.stringify({ v: minted })) }), registry)).toEqual([
      { kind: 'harness credential', encoding: 'json > base64' },
      { kind: 'harness credential', encoding: 'json > base64 > json' },
    ]);
    expect(scan(`x=${hex(minted)}`, registry)).toEqual([{ kind: 'harness credential', encoding: 'hex' }]);
  });

  test('outside a suite run (no DROVER_TEST_SECRETS_DIR) nothing is recorded', () => {
    // The full suite's global setup sets it for every worker; unset here, as in a unit-tier run.
    const saved = process.env.DROVER_TEST_SECRETS_DIR;
    delete process.env.DROVER_TEST_SECRETS_DIR;
    try {
      recordHarnessCredential('minted-by-the-harness-7f3a9c', 'not kept');
      expect(harnessCredentials()).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.DROVER_TEST_SECRETS_DIR = saved;
    }
  });
});

/** A Buffer's bytes as the Uint8Array some node typings want. */
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** A zip archive (deflated entries), as OpenTofu writes a plan file. */
function zip(entries: Array<[string, string]>): Buffer {
  const crc32 = (zlib as unknown as { crc32(data: Uint8Array): number }).crc32;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.from(content);
    const packed = zlib.deflateRawSync(new Uint8Array(data));
    const fileName = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc32(new Uint8Array(data)) >>> 0, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(new Uint8Array(data)) >>> 0, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, packed);
    centrals.push(central, fileName);
    offset += 30 + fileName.length + packed.length;
  }
  const directory = Buffer.concat(centrals.map(u8));
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end].map(u8));
}

describe('file stores', () => {
  test('a raw SQLite file (a Temporal server\'s) is scanned without the bare secret-key shape, which its cut pages fake; named secrets, prefixed shapes and harness credentials are still found there', () => {
    const root = plantedDir('sqlite-');
    const page = (...parts: string[]) => Buffer.from(parts.join(''), 'latin1');
    // A sealed identity's JWE header that a page boundary (4 bytes of pointer) cut: decoded, it starts on the last 40
    // characters of its public key's x coordinate, the shape of a secret key (a full CI run found two such).
    // (Encoded as base64url from the cut on: a cut at a 4-character boundary decodes exactly so.)
    const tail = b64url('ULj3tQ4FkRpt9ElNiKbqcmmZwkjHiKVTFrCu9jkI","crv":"P-256","kty":"EC"}}');
    expect(scanText(`\u0000\u0000\u0003\u0007${tail}`, [])).toEqual([{ kind: 'secret access key', encoding: expect.stringMatching(/base64/) }]);
    fs.writeFileSync(path.join(root, 'temporal.sqlite'), u8(page('SQLite format 3\u0000', '\u0010\u0000\u0001\u0001', '\u0000\u0000\u0003\u0007', tail, '\u0000\u0000')));
    fs.writeFileSync(path.join(root, 'other.sqlite'), u8(page('SQLite format 3\u0000', `\u0000 AWS_SECRET_ACCESS_KEY=${SECRET} `, '\u0000 minted-credential-123456 ', `\u0000 ${AKIA} \u0000`)));
    fs.writeFileSync(path.join(root, 'not-sqlite.bin'), u8(page('\u0000\u0001\u0002\u0003', '\u0000\u0000\u0003\u0007', tail, '\u0000\u0000')));
    const other = scanFiles(root, { registry: ['minted-credential-123456'] }).find((r) => r.store === 'files other files')!;
    expect(other.findings.map((f) => `${f.location}: ${f.kind}`).sort()).toEqual(['not-sqlite.bin: secret access key', 'other.sqlite: access key id', 'other.sqlite: harness credential', 'other.sqlite: secret access key']);
  });

  test('audit trails, OpenTofu state and plan files, reports, logs, moto\'s request recordings and any other file are scanned, decoded, and reported by store with their location', () => {
    const root = plantedDir('stores-');
    const put = (rel: string, content: string | Buffer) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), typeof content === 'string' ? content : u8(content));
    };
    put('audit/ak/failover-ak/run.jsonl', `${JSON.stringify({ seq: 0, detail: 'ok' })}\n${JSON.stringify({ seq: 1, after: { env: b64(`PGPASSWORD=${PASSWORD}`) } })}\n`);
    put('iac-state/ak/ap-south-1/terraform.tfstate', JSON.stringify({ version: 4, resources: [{ type: 'aws_db_instance', instances: [{ attributes: { identifier: 'ak', master_password: PASSWORD } }] }] }, null, 2));
    put('iac/ak/ap-south-1/run-1/drover.tfplan', zip([['tfplan', `\u0008\u0002 binary plan ${AKIA}`], ['tfstate', '{"version":4}'], ['tfconfig/m-/main.tf.json', '{}']]));
    put('reports/failover-ak.html', `<html><body><pre>${encodeURIComponent(`{"SecretAccessKey":"${SECRET}"}`)}</pre></body></html>`);
    put('reports/runs.csv', `run,note\nr1,"${JSON.stringify({ token: SESSION_TOKEN }).replace(/"/g, '""')}"\n`);
    put('temporal-x/temporal.log', `{"level":"warn","msg":"request","body":${JSON.stringify([...Buffer.from(`{"signature":"${HEX_SIGNATURE}"}`)])}}\n`);
    // moto's request recorder: every request carries its SigV4 Authorization; one made with the emulator's placeholder key is left out, the body is what was sent.
    const recorded = (body: string, key = 'drover-test') => JSON.stringify({ headers: { Authorization: `AWS4-HMAC-SHA256 Credential=${key}/20260110/ap-south-1/sns/aws4_request, SignedHeaders=host, Signature=${HEX_SIGNATURE}`, 'Content-Type': 'application/x-www-form-urlencoded' }, method: 'POST', url: 'http://127.0.0.1:5000/', body: b64(body), body_encoded: true });
    // The fourth line is cut (read while moto still wrote it): not JSON, scanned whole, its placeholder signature still left out.
    put('moto-x/moto.log.recording.jsonl', `${recorded('Action=ListTopics')}\n${recorded(`Action=Publish&Message=${encodeURIComponent(JSON.stringify({ MasterUserPassword: PASSWORD }))}`)}\n${recorded('Action=ListTopics', AKIA)}\n${recorded('Action=ListTopics%26x').slice(0, -40)}\n${recorded(`Action=Check&Url=${encodeURIComponent(`https://sts.ap-south-1.amazonaws.com/?X-Amz-Credential=drover-test/20260110/ap-south-1/sts/aws4_request&X-Amz-Signature=${HEX_SIGNATURE}`)}`)}\n${recorded(`Action=Check&Url=${encodeURIComponent(`https://sts.ap-south-1.amazonaws.com/?X-Amz-Credential=drover-test/20260110/ap-south-1/sts/aws4_request&X-Amz-Signature=${HEX_SIGNATURE}`)}`, 'minted-key')}\n${recorded(`Action=Check&Url=${encodeURIComponent(`https://sts.ap-south-1.amazonaws.com/?X-Amz-Credential=AKIAMINTEDKEY0000000/20260110/ap-south-1/sts/aws4_request&X-Amz-Signature=${HEX_SIGNATURE}`)}`)}\n`);
    put('case-1/identity.jwk', `{"kty":"EC","crv":"P-256","x":"xx","y":"yy","d":"${JWK_D}"}`);
    put('case-1/clean.txt', 'nothing to see');
    // tsx's transpile cache holds the project's compiled source (fixtures included): skipped, and only it.
    put('os-tmp/tsx-0/1234-abcd', `const KEYS = { secretAccessKey: '${SECRET}' };`);
    put('os-tmp/tsx-cache-not/env', `PGPASSWORD=${PASSWORD}`);
    fs.symlinkSync('/etc/hostname', path.join(root, 'case-1', 'linked'));

    const reports = scanFiles(root, { registry: [] });
    expect(reports.map((r) => [r.store, r.items, r.findings])).toEqual([
      ['files audit files', 1, [{ store: 'files audit files', location: path.join('audit', 'ak', 'failover-ak', 'run.jsonl:2'), kind: 'password', encoding: 'json > base64' }]],
      ['files tofu state files', 1, [{ store: 'files tofu state files', location: path.join('iac-state', 'ak', 'ap-south-1', 'terraform.tfstate'), kind: 'password', encoding: 'plain' }]],
      ['files tofu plan files', 1, [{ store: 'files tofu plan files', location: path.join('iac', 'ak', 'ap-south-1', 'run-1', 'drover.tfplan'), kind: 'access key id', encoding: 'plain' }]],
      ['files report files', 2, [
        { store: 'files report files', location: path.join('reports', 'failover-ak.html'), kind: 'secret access key', encoding: 'url-encoded' },
        { store: 'files report files', location: path.join('reports', 'runs.csv'), kind: 'session token', encoding: 'plain' },
      ]],
      ['files log files', 1, [{ store: 'files log files', location: path.join('temporal-x', 'temporal.log'), kind: 'signature', encoding: 'json > byte array' }]],
      ['files moto request recordings', 1, [
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:2'), kind: 'password', encoding: 'url-encoded' },
        // Signed with a key that is not the emulator's placeholder: the Authorization header is scanned.
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:3'), kind: 'access key id', encoding: 'plain' },
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:3'), kind: 'SigV4 signature', encoding: 'plain' },
        // A presigned URL in a body, url-encoded: left out when signed with the placeholder key (line 5), found when another key signed the request (line 6).
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:6'), kind: 'SigV4 signature', encoding: 'plain' },
        // A placeholder-signed request carrying a URL presigned with another key: that signature is found.
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:7'), kind: 'access key id', encoding: 'url-encoded' },
        { store: 'files moto request recordings', location: path.join('moto-x', 'moto.log.recording.jsonl:7'), kind: 'SigV4 signature', encoding: 'url-encoded' },
      ]],
      ['files other files', 3, [
        { store: 'files other files', location: path.join('case-1', 'identity.jwk'), kind: 'private key', encoding: 'plain' },
        { store: 'files other files', location: path.join('os-tmp', 'tsx-cache-not', 'env'), kind: 'password', encoding: 'plain' },
      ]],
    ]);
  });
});

describe('reports and failures', () => {
  test('the report names store, location, kind and encoding, never the secret; the summary has one line per store with counts', () => {
    const findings = [{ store: 'temporal 127.0.0.1:7233 histories', location: 'default/failover-x (run r1), event 7', kind: 'access key id' as const, encoding: 'bytes > json' }];
    const report = describeFindings(findings);
    expect(report).toBe('secrets found (1):\n  temporal 127.0.0.1:7233 histories: default/failover-x (run r1), event 7: access key id (bytes > json)');
    expect(summarize([{ store: 'temporal 127.0.0.1:7233 histories', items: 12, unit: 'histories', findings }, { store: 'files log files', items: 3, unit: 'files', findings: [] }])).toBe(
      '  temporal 127.0.0.1:7233 histories: 12 histories, 1 findings\n  files log files: 3 files, 0 findings',
    );
  });

  test('an unreachable Temporal server or moto is an error naming the store, not a skipped store', async () => {
    const port = await freePort();
    await expect(scanTemporal(`127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^temporal 127\\.0\\.0\\.1:${port} histories: cannot reach the server: `));
    await expect(scanMoto(`http://127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^moto http://127\\.0\\.0\\.1:${port} stores: cannot read moto's inventory \\(is http://127\\.0\\.0\\.1:${port} a running moto\\?\\): `));
  });

  test('the suite scan fails, after scanning everything else, when a store is unreachable, and when a file holds a secret', async () => {
    const port = await freePort();
    const root = plantedDir('suite-');
    fs.writeFileSync(path.join(root, 'worker.log'), `started with AWS_SESSION_TOKEN=${SESSION_TOKEN}\n`);
    const lines: string[] = [];
    const err = await scanSuite({ temporal: [{ address: `127.0.0.1:${port}` }], moto: [], tempRoot: root }, (l) => lines.push(l)).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      [
        'secrets scan could not scan 1 store(s):',
        `  temporal 127.0.0.1:${port} histories: cannot reach the server: ${((err as Error).message.split('cannot reach the server: ')[1] ?? '').split('\n')[0]}`,
        'secrets found (1):',
        '  files log files: worker.log: session token',
      ].join('\n'),
    );
    expect((err as Error).message).not.toContain(SESSION_TOKEN.slice(0, 20));
    expect(lines.join('\n')).toContain('files log files: 1 files, 1 findings');
  });

  test('with TEMPORAL_ADDRESS naming a server that cannot be reached, the global teardown fails instead of skipping the histories', async () => {
    const port = await freePort();
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-teardown-'));
    const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-teardown-secrets-'));
    harnessGlobal.__droverHarness = { tmp, secrets, startedAt: new Date() };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(globalTeardown()).rejects.toThrow(new RegExp(`temporal 127\\.0\\.0\\.1:${port} histories \\(since [0-9T:.-]+Z\\): cannot reach the server`));
    } finally {
      stderr.mockRestore();
      if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved;
    }
    expect(fs.existsSync(tmp)).toBe(false);
  });

  test('a private server is scanned before it stops (once): a finding or an unreachable store is recorded for the teardown and fails stop(), after the server is stopped', async () => {
    const records: ScanRecord[] = [];
    const stops: string[] = [];
    const server = (name: string) => ({ stop: async () => void stops.push(name) });
    const finding = { store: 'private moto http://127.0.0.1:1 sqs messages', location: 'message m1', kind: 'password' as const, encoding: 'url-encoded' };

    const leaky = scannedOnStop(server('leaky'), 'private moto http://127.0.0.1:1', async () => [{ store: finding.store, items: 1, unit: 'messages', findings: [finding] }], (r) => void records.push(r));
    await expect(leaky.stop()).rejects.toThrow('secrets scan of private moto http://127.0.0.1:1 before it stopped: secrets found (1):\n  private moto http://127.0.0.1:1 sqs messages: message m1: password (url-encoded)');

    const gone = scannedOnStop(server('gone'), 'private Temporal 127.0.0.1:2', async () => {
      throw new Error('cannot reach the server: connection refused');
    }, (r) => void records.push(r));
    await expect(gone.stop()).rejects.toThrow('secrets scan of private Temporal 127.0.0.1:2 before it stopped: cannot reach the server: connection refused');

    const clean = scannedOnStop(server('clean'), 'private moto http://127.0.0.1:3', async () => [], (r) => void records.push(r));
    await expect(clean.stop()).resolves.toBeUndefined();
    // Stopped again (an afterAll after the test's own stop): stopped, not scanned again.
    await expect(leaky.stop()).resolves.toBeUndefined();

    expect(stops).toEqual(['leaky', 'gone', 'clean', 'leaky']);
    expect(records).toEqual([
      { server: 'private moto http://127.0.0.1:1', reports: [{ store: finding.store, items: 1, unit: 'messages', findings: [finding] }], error: undefined },
      { server: 'private Temporal 127.0.0.1:2', reports: [], error: 'cannot reach the server: connection refused' },
      { server: 'private moto http://127.0.0.1:3', reports: [], error: undefined },
    ]);
  });
});

describe('histories', () => {
  const history = {
    events: [
      { eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', workflowExecutionStartedEventAttributes: { input: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ reason: 'clean' })) }] } } },
      { eventId: '7', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { input: { args: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ identity: { headers: { authorization: `AWS4-HMAC-SHA256 Credential=${AKIA}/x` } } })) }] } } } } },
      { eventId: '9', eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', activityTaskScheduledEventAttributes: { input: { payloads: [{ metadata: {}, data: new Uint8Array(Buffer.from(JSON.stringify({ token: SESSION_TOKEN }))) }] } } },
    ],
  };

  test('payloads decoded (base64 in a history\'s JSON, bytes in the proto), findings by event', () => {
    expect(JSON.stringify(history.events[1])).not.toContain(AKIA);
    expect(historyTexts(history.events[1]).join('\n')).toContain(AKIA);
    expect(scanHistory(history, [])).toEqual([
      { eventId: '7', kind: 'access key id' },
      { eventId: '9', kind: 'session token' },
    ]);
  });

  test('a database password drover reads from Secrets Manager (the test engines\' master password) is found where a run would leak it: an activity result in a history, a connection string in a log line', () => {
    expect(harnessCredentials()).toContain(ENGINE_MASTER_PASSWORD);
    const leak = { events: [{ eventId: '12', eventType: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED', activityTaskCompletedEventAttributes: { result: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ reached: true, position: { kind: 'lsn', value: '0/3000148', via: `drover_master:${ENGINE_MASTER_PASSWORD}` } })) }] } } }] };
    expect(scanHistory(leak).map((f) => f.eventId)).toEqual(['12']);
    expect(scanText(`connecting to postgres://drover_master:${ENGINE_MASTER_PASSWORD}@127.0.0.1:5432/app`).length).toBeGreaterThan(0);
    // The same run without it: nothing.
    expect(scanHistory({ events: [{ ...leak.events[0], activityTaskCompletedEventAttributes: { result: { payloads: [{ metadata: {}, data: b64(JSON.stringify({ reached: true, position: { kind: 'lsn', value: '0/3000148' } })) }] } } }] })).toEqual([]);
  });

  test('AWS\'s documentation example key, pasted on purpose by tests, is not a finding; any other key is', () => {
    const event = (key: string) => ({ events: [{ eventId: '3', input: { payloads: [{ data: b64(JSON.stringify({ reason: `key ${key} pasted by mistake` })) }] } }] });
    expect(scanHistory(event('AKIAIOSFODNN7EXAMPLE'), [])).toEqual([]);
    expect(scanHistory(event(AKIA), [])).toEqual([{ eventId: '3', kind: 'access key id' }]);
  });
});
