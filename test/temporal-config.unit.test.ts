import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeTemporal, TemporalConfigError, temporalConnection, temporalNamespace } from '../config/temporal';

// config/temporal.ts: Temporal's environment configuration (envconfig) as drover reads it, and drover's own refusals.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-config-'));
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA');
  fs.writeFileSync(path.join(dir, 'client.pem'), 'CERT');
  fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
  fs.writeFileSync(
    path.join(dir, 'temporal.toml'),
    ['[profile.default]', 'address = "default.example:7233"', '[profile.prod]', 'address = "prod.tmprl.cloud:7233"', 'namespace = "drover.acct"', 'api_key = "from-the-file"', ''].join('\n'),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An environment with no Temporal configuration of the machine's own (no file is found under this HOME). */
const env = (vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: path.join(dir, 'home'), ...vars });
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemporalConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a TemporalConfigError');
};

test('nothing configured: the fallback address (the dev stack), namespace default, plain text', () => {
  expect(temporalConnection(env(), '127.0.0.1:7999')).toEqual({ address: '127.0.0.1:7999', namespace: 'default' });
  expect(temporalConnection(env())).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
});

test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE win over the fallback; an empty variable counts as unset', () => {
  expect(temporalConnection(env({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'dr' }), '127.0.0.1:7999')).toEqual({ address: 'temporal.internal:7233', namespace: 'dr' });
  expect(temporalConnection(env({ TEMPORAL_ADDRESS: '' }), '127.0.0.1:7999').address).toBe('127.0.0.1:7999');
  expect(temporalNamespace(env({ TEMPORAL_NAMESPACE: 'dr' }))).toBe('dr');
});

test('an API key turns TLS on (system CAs), and the description names it without printing it', () => {
  const c = temporalConnection(env({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'sekret-key' }));
  expect(c).toMatchObject({ tls: true, apiKey: 'sekret-key' });
  expect(describeTemporal(c)).toBe('Temporal at ns.acct.tmprl.cloud:7233, namespace default (TLS, API key)');
  expect(describeTemporal(c)).not.toContain('sekret');
});

test('an API key with TLS turned off is refused: drover never sends a credential in plain text', () => {
  expect(problems(() => temporalConnection(env({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' })))).toEqual([expect.stringContaining('TEMPORAL_API_KEY: an API key is configured with TLS turned off')]);
});

test('TEMPORAL_TLS must say true or false: envconfig reads any other value as off', () => {
  expect(problems(() => temporalConnection(env({ TEMPORAL_TLS: 'TRUE', TEMPORAL_ADDRESS: 'temporal.internal:7233' })))).toEqual(['TEMPORAL_TLS: expected true or false (or 1 or 0), got "TRUE"']);
  expect(temporalConnection(env({ TEMPORAL_TLS: '1' })).tls).toEqual({ serverNameOverride: undefined, serverRootCACertificate: undefined, clientCertPair: undefined });
});

test('TLS turned off with TLS material, or with an authorization header, is refused rather than sent in plain text', () => {
  expect(problems(() => temporalConnection(env({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'ca.pem') })))).toEqual([
    'TEMPORAL_TLS: TLS is turned off (TEMPORAL_TLS=false or profile tls.disabled), but a server CA is configured: drover does not guess which you meant, remove one',
  ]);
  expect(problems(() => temporalConnection(env({ TEMPORAL_TLS: 'false', TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer x' })))).toEqual([
    'TEMPORAL_GRPC_META_AUTHORIZATION: a credential is configured with TLS turned off: drover never sends a credential in plain text',
  ]);
});

test('mTLS from the variables: the files are read, the server name kept', () => {
  const c = temporalConnection(env({ TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'), TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }));
  expect(c.tls).toEqual({ serverNameOverride: 'temporal.internal', serverRootCACertificate: new TextEncoder().encode('CA'), clientCertPair: { crt: new TextEncoder().encode('CERT'), key: new TextEncoder().encode('KEY') } });
  expect(describeTemporal(c)).toContain('(mTLS)');
});

test('a certificate without its key, or a path that does not exist, is refused naming the variable', () => {
  expect(problems(() => temporalConnection(env({ TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem') })))).toEqual(['TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate is configured without its key']);
  expect(problems(() => temporalConnection(env({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'absent.pem') })))).toEqual([`TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read ${path.join(dir, 'absent.pem')}: ENOENT`]);
});

test('TEMPORAL_PROFILE picks a profile of TEMPORAL_CONFIG_FILE; the default profile otherwise; a variable overrides the file', () => {
  const file = path.join(dir, 'temporal.toml');
  expect(temporalConnection(env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }))).toEqual({ address: 'prod.tmprl.cloud:7233', namespace: 'drover.acct', tls: true, apiKey: 'from-the-file' });
  expect(temporalConnection(env({ TEMPORAL_CONFIG_FILE: file })).address).toBe('default.example:7233');
  expect(temporalConnection(env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' })).namespace).toBe('other');
});

test('the default file is ~/.config/temporalio/temporal.toml (XDG_CONFIG_HOME when set)', () => {
  const xdg = path.join(dir, 'xdg');
  fs.mkdirSync(path.join(xdg, 'temporalio'), { recursive: true });
  fs.copyFileSync(path.join(dir, 'temporal.toml'), path.join(xdg, 'temporalio', 'temporal.toml'));
  expect(temporalConnection(env({ XDG_CONFIG_HOME: xdg, TEMPORAL_PROFILE: 'prod' })).address).toBe('prod.tmprl.cloud:7233');
});

test('a missing profile, a missing TEMPORAL_CONFIG_FILE and a malformed file are refused with where', () => {
  const file = path.join(dir, 'temporal.toml');
  expect(problems(() => temporalConnection(env({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })))).toEqual([`${file}: Profile 'staging' not found in config data`]);
  expect(problems(() => temporalConnection(env({ TEMPORAL_CONFIG_FILE: path.join(dir, 'nope.toml') })))).toEqual([`TEMPORAL_CONFIG_FILE: ${path.join(dir, 'nope.toml')} does not exist`]);
  const bad = path.join(dir, 'bad.toml');
  fs.writeFileSync(bad, '[profile.prod\naddress = 1\n');
  expect(problems(() => temporalConnection(env({ TEMPORAL_CONFIG_FILE: bad })))[0]).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
});
