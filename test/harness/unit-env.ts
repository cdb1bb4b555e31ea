import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordFixturePasswords } from './fixture-credentials';
import { finishTempRoot } from './temp-root';

/**
 * The unit and replay projects' setup (setupFilesAfterEnv, once per test file): no server, only a
 * private temporary directory standing in for what the integration global setup gives every worker
 * (global-setup.ts), so nothing a unit test runs writes to the user's ~/.cache/drover:
 * - DROVER_TEST_TMP: testTempDir() and the tests that make directories under it;
 * - DROVER_AUDIT_DIR: local audit trails;
 * - DROVER_IDENTITY_KEY_FILE: the worker identity key the identity activities create on first use (in the secrets directory);
 * - DROVER_TEST_SECRETS_DIR: the harness's credential registry (recordHarnessCredential), outside the root.
 * The variables live in this test file's own process.env (Jest gives each file a copy). After the file's
 * last test the directory is scanned for secrets (the registry's credentials exactly, and every shape), like
 * the integration tier's root, then removed (kept with DROVER_KEEP_TMP), and a finding fails the file:
 * secrets a test plants on purpose go in `plantedDir()` (servers.ts), the one place the scan leaves out.
 * DROVER_TEST_TEMPORAL_ADDRESS / DROVER_TEST_AWS_ENDPOINT are never set here: a unit test that asks for
 * a shared server fails at once with servers.ts's message instead of reaching for one.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-unit-'));
const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-unit-secrets-'));
fs.chmodSync(secrets, 0o700);
process.env.DROVER_TEST_TMP = tmp;
process.env.DROVER_TEST_SECRETS_DIR = secrets;
recordFixturePasswords(secrets);
process.env.DROVER_AUDIT_DIR = path.join(tmp, 'audit');
// A private key belongs outside the scanned root (as in global-setup.ts).
process.env.DROVER_IDENTITY_KEY_FILE = path.join(secrets, 'keys', 'identity.jwk');
delete process.env.DROVER_TEST_TEMPORAL_ADDRESS;
delete process.env.DROVER_TEST_AWS_ENDPOINT;

afterAll(() => finishTempRoot(tmp, { keep: Boolean(process.env.DROVER_KEEP_TMP), secretsDir: secrets }));
