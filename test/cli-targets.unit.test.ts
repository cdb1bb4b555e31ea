/**
 * Every command that touches Temporal or AWS says where, once per system, before its first call
 * (`drover → …` on stderr, the note channel); one that touches neither says nothing. Each invocation says it
 * again. Unreachable loopback ports stand in for the servers: the line comes before the call that fails.
 */
import os from 'node:os';
import path from 'node:path';
import { exec } from '../cli/main';
import { withoutUserinfo } from '../config/endpoints';
import { captureIO } from './harness/fixtures';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

// A loopback port nothing listens on (port 1 needs root to bind).
const CLOSED = '127.0.0.1:1';

describe('target lines', () => {
  test('a Temporal command names the address and namespace, then fails to reach it (exit 5)', async () => {
    process.env.TEMPORAL_ADDRESS = CLOSED;
    process.env.TEMPORAL_NAMESPACE = 'drills';
    const io = captureIO();
    expect(await exec(['status', 'failover-shop'], io)).toBe(5);
    expect(io.notes).toEqual([`drover → Temporal at ${CLOSED}, namespace drills (plain text)`]);
    expect(io.stderr[0]).toMatch(/^drover: cannot reach Temporal at 127\.0\.0\.1:1: /);
  });

  test('an AWS command names the endpoint and why it was chosen, then fails to read the account (exit 5)', async () => {
    process.env.AWS_ENDPOINT_URL = `http://${CLOSED}`;
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_MAX_ATTEMPTS = '1';
    const out = path.join(os.tmpdir(), `drover-targets-${process.pid}.yaml`);
    // Said again by each invocation.
    for (let i = 0; i < 2; i++) {
      const io = captureIO();
      expect(await exec(['init', '--name', 'shop', '--primary', 'ap-south-1', '--standby', 'ap-southeast-1', '--zone', 'shop.example', '--out', out], io)).toBe(5);
      expect(io.notes).toEqual([`drover → AWS at http://${CLOSED} (AWS_ENDPOINT_URL)`]);
      expect(io.stderr[0]).toMatch(/^drover: cannot read the account: /);
    }
  });

  test('the AWS line never shows a user and password in the endpoint, and names the variables that send some calls elsewhere', async () => {
    process.env.AWS_ENDPOINT_URL = `http://drover:hunter2@${CLOSED}`;
    process.env.DROVER_ENDPOINT_AP_SOUTH_1 = 'http://127.0.0.1:2';
    process.env.AWS_ENDPOINT_URL_STS = 'http://127.0.0.1:3';
    process.env.AWS_ENDPOINT_URL_RDS = 'http://127.0.0.1:4';
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_MAX_ATTEMPTS = '1';
    const io = captureIO();
    const out = path.join(os.tmpdir(), `drover-targets-${process.pid}.yaml`);
    expect(await exec(['init', '--name', 'shop', '--primary', 'ap-south-1', '--standby', 'ap-southeast-1', '--zone', 'shop.example', '--out', out], io)).toBe(5);
    expect(io.notes).toEqual([`drover → AWS at http://${CLOSED} (AWS_ENDPOINT_URL); overridden by AWS_ENDPOINT_URL_RDS, AWS_ENDPOINT_URL_STS, DROVER_ENDPOINT_AP_SOUTH_1`]);
  });

  test.each([
    ['http://u:p@127.0.0.1:4566', 'http://127.0.0.1:4566'],
    ['http://u:p/ss@h:4566/path', 'http://h:4566/path'],
    ['http://u:1234/x@h', 'http://h'],
    ['user:pass@host:4566', 'host:4566'],
    ['https://a@b@proxy.internal', 'https://proxy.internal'],
    ['http://127.0.0.1:4566', 'http://127.0.0.1:4566'],
  ])('%s is shown as %s', (endpoint, shown) => {
    expect(withoutUserinfo(endpoint)).toBe(shown);
  });

  test('a command that touches neither says nothing about targets', async () => {
    const io = captureIO();
    expect(await exec(['validate', path.join(__dirname, '..', 'runbooks', 'apnakart.yaml')], io)).toBe(0);
    expect(io.notes).toEqual([]);
  });
});
