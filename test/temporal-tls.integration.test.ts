/**
 * drover's Temporal connection through a real TLS terminator (HAProxy from Debian's packages, started here) in front
 * of the suite's Temporal server, requiring a client certificate: configured the way Temporal users configure any
 * SDK (`TEMPORAL_*` variables, or a profile in a TOML file, read by @temporalio/envconfig).
 *
 * - With the right client certificate and CA, the CLI answers and a worker polls through it.
 * - Without a client certificate, with a CA that did not sign the server's certificate, with a name the
 *   certificate does not hold, or with a certificate from a CA the server does not trust, the CLI and the worker
 *   exit 5 with a message naming what to check.
 * - A refused API key (a gRPC server over TLS that answers UNAUTHENTICATED) is said as such, and the key is sent
 *   over TLS but never printed.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { createAwsClients } from '../aws/clients';
import { exec } from '../cli/main';
import { EXIT } from '../cli/io';
import { createWorker } from '../cli/worker';
import { temporalConnection } from '../config/temporal';
import { MemoryRunbookSource } from '../runbooks/source';
import { captureIO, emulatorConfig, eventually, workflowBundle } from './harness/fixtures';
import { TestPki, type Issued, type TestCa } from './harness/pki';
import { recordHarnessCredential } from './harness/secrets';
import { testTemporalAddress } from './harness/servers';
import { startTlsTerminator, type TlsTerminator } from './harness/tls-terminator';
import { Client, Connection } from '@temporalio/client';

const SERVER_NAME = 'temporal.drover.test';
let dir: string;
let pki: TestPki;
let ca: TestCa;
let otherCa: TestCa;
let client: Issued;
let strangerClient: Issued;
let terminator: TlsTerminator;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  pki = new TestPki(path.join(dir, 'pki'));
  ca = pki.ca('drover');
  otherCa = pki.ca('other');
  const server = pki.issue(ca, 'server', { cn: SERVER_NAME, usage: 'server', names: `DNS:${SERVER_NAME}` });
  client = pki.issue(ca, 'worker', { cn: 'drover-worker', usage: 'client' });
  strangerClient = pki.issue(otherCa, 'stranger', { cn: 'drover-worker', usage: 'client' });
  terminator = await startTlsTerminator({ backend: testTemporalAddress(), cert: server.cert, key: server.key, clientCa: ca.cert, dir: path.join(dir, 'haproxy') });
}, 5 * 60_000);

afterAll(async () => {
  await terminator?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The variables of a team's mTLS setup, with `edits` applied (undefined removes one). */
function mtlsEnv(edits: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    TEMPORAL_ADDRESS: terminator.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.cert,
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    TEMPORAL_TLS_CLIENT_CERT_PATH: client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: client.key,
    ...edits,
  };
}

/** The CLI in-process with `vars` set for this call only (every other TEMPORAL_* variable removed). */
async function cli(args: string[], vars: Record<string, string | undefined>): Promise<{ code: number; out: string; err: string }> {
  const before = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('TEMPORAL_')) delete process.env[k];
  process.env.XDG_CONFIG_HOME = path.join(dir, 'xdg'); // never the developer's own temporal.toml
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const io = captureIO();
  try {
    const code = await exec(args, io);
    return { code, out: io.stdout.join('\n'), err: [...io.stderr, ...io.notes].join('\n') };
  } finally {
    process.env = before;
  }
}

describe('the CLI through the mTLS terminator', () => {
  test('with the right client certificate and CA it answers, and says it connected with mTLS', async () => {
    const r = await cli(['runs', 'list', '--json', '--limit', '1'], mtlsEnv());
    expect(r.err).toContain(`Temporal at ${terminator.address}, namespace default (mTLS)`);
    expect(r.code).toBe(EXIT.OK);
    expect(Array.isArray(JSON.parse(r.out))).toBe(true);
  });

  test('a profile in a TOML file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) works the same, a variable overriding it', async () => {
    const file = path.join(dir, 'temporal.toml');
    fs.writeFileSync(
      file,
      [
        '[profile.prod]',
        `address = "${terminator.address}"`,
        'namespace = "default"',
        '[profile.prod.tls]',
        `client_cert_path = "${client.cert}"`,
        `client_key_path = "${client.key}"`,
        `server_ca_cert_path = "${ca.cert}"`,
        `server_name = "${SERVER_NAME}"`,
        '',
      ].join('\n'),
    );
    const r = await cli(['runs', 'list', '--json', '--limit', '1'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    expect(r.code).toBe(EXIT.OK);
    expect(r.err).toContain('(mTLS)');
    // The variable wins over the profile: a wrong CA by variable is used, and refused.
    const overridden = await cli(['runs', 'list', '--json'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_TLS_SERVER_CA_CERT_PATH: otherCa.cert });
    expect(overridden.code).toBe(EXIT.UNAVAILABLE);
    expect(overridden.err).toContain('does not trust the certificate');
  });

  test('without a client certificate: exit 5, and the message says the server requires one and which variables to set', async () => {
    const r = await cli(['runs', 'list', '--json'], mtlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined }));
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toContain('the TLS connection failed');
    expect(r.err).toMatch(/requires a client certificate \(mTLS\) and none is configured .*set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
  });

  test('with a CA that did not sign the server certificate: exit 5, naming TEMPORAL_TLS_SERVER_CA_CERT_PATH', async () => {
    const r = await cli(['runs', 'list', '--json'], mtlsEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: otherCa.cert }));
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/drover does not trust the certificate of Temporal at .*TEMPORAL_TLS_SERVER_CA_CERT_PATH must name the CA that signed the server's certificate/);
  });

  test('with a server name the certificate does not hold: exit 5, naming TEMPORAL_TLS_SERVER_NAME', async () => {
    const r = await cli(['runs', 'list', '--json'], mtlsEnv({ TEMPORAL_TLS_SERVER_NAME: 'elsewhere.drover.test' }));
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/does not name the host drover asked for .*set TEMPORAL_TLS_SERVER_NAME/);
  });

  test('with a client certificate from a CA the server does not trust: exit 5, said as a refused client certificate', async () => {
    const r = await cli(['runs', 'list', '--json'], mtlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: strangerClient.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: strangerClient.key }));
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/refused drover's client certificate .*check that TEMPORAL_TLS_CLIENT_CERT_PATH is signed by a CA the server trusts/);
  });

  test('in plain text to the TLS endpoint: exit 5, saying the server speaks TLS', async () => {
    const r = await cli(['runs', 'list', '--json'], { TEMPORAL_ADDRESS: terminator.address });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/speaks TLS, but drover connects in plain text: set TEMPORAL_TLS=true and TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
  });

  test('a certificate path that does not exist is a usage error naming the variable, before any connection', async () => {
    const r = await cli(['runs', 'list', '--json'], mtlsEnv({ TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'absent.key') }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read ${path.join(dir, 'absent.key')}: ENOENT`);
  });
});

describe('the worker through the mTLS terminator', () => {
  test('with the right certificate it polls its task queue through the terminator', async () => {
    const target = temporalConnection(mtlsEnv() as NodeJS.ProcessEnv);
    const taskQueue = `tls-worker-${process.pid}`;
    const worker = await createWorker({
      address: target.address,
      connection: target,
      namespace: target.namespace,
      taskQueue,
      deps: { aws: createAwsClients(emulatorConfig('http://127.0.0.1:1')), runbooks: new MemoryRunbookSource('tls') },
      workflowBundle: await workflowBundle(),
      queues: 'core',
    });
    const connection = await Connection.connect({ address: target.address, tls: target.tls });
    try {
      await worker.runUntil(
        eventually(
          async () => {
            const d = await new Client({ connection }).workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
            return d.pollers.length > 0;
          },
          'the worker to poll through the terminator',
          60_000,
        ),
      );
    } finally {
      await connection.close();
      await worker.close();
    }
  }, 120_000);

  test('without a client certificate `drover worker` exits 5 with the same advice', async () => {
    const runbooks = fs.mkdtempSync(path.join(dir, 'runbooks-'));
    const r = await cli(['worker', '--runbooks', runbooks, '--queues', 'core'], { ...mtlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined }), AWS_ENDPOINT_URL: 'http://127.0.0.1:1', DROVER_WORKFLOW_BUNDLE: undefined });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/requires a client certificate \(mTLS\) and none is configured/);
  }, 120_000);
});

describe('an API key the server refuses', () => {
  let server: http2.Http2SecureServer;
  let address: string;
  const seen: string[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const KEY = 'drover-test-api-key-not-a-secret';
  // The suite's secrets scan looks for it in every history, log and audit record the suite writes.
  recordHarnessCredential(KEY, 'Temporal API key of the TLS test');

  beforeAll(async () => {
    const issued = pki.issue(ca, 'grpc-refuser', { cn: SERVER_NAME, usage: 'server', names: `DNS:${SERVER_NAME}` });
    // A gRPC server as Temporal Cloud answers a wrong key: UNAUTHENTICATED, in a trailers-only response.
    server = http2.createSecureServer({ cert: issued.certPem, key: issued.keyPem, ALPNProtocols: ['h2'] });
    server.on('session', (session) => sessions.add(session.on('close', () => sessions.delete(session))));
    server.on('stream', (stream, headers) => {
      seen.push(String(headers.authorization ?? ''));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'Request unauthorized.' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const session of sessions) session.destroy(); // the client keeps its session open; close waits for none
    await new Promise((resolve) => server.close(resolve));
  });

  test('exit 5, said as a refused API key; the key went over TLS as a bearer token and is never printed', async () => {
    const r = await cli(['runs', 'list', '--json'], { TEMPORAL_ADDRESS: address, TEMPORAL_API_KEY: KEY, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.cert, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.err).toMatch(/refused drover's API key .*check TEMPORAL_API_KEY is current and not revoked/);
    expect(seen).toContain(`Bearer ${KEY}`);
    expect(`${r.out}\n${r.err}`).not.toContain(KEY);
  });
});
