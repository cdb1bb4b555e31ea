import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The unit and replay projects' setup (setupFilesAfterEnv, once per test file): no server, only a
 * private temporary directory standing in for what the integration global setup gives every worker
 * (global-setup.ts), so nothing a unit test runs writes to the user's ~/.cache/drover:
 * - DROVER_TEST_TMP: testTempDir() and the tests that make directories under it;
 * - DROVER_AUDIT_DIR: local audit trails;
 * - DROVER_IDENTITY_KEY_FILE: the worker identity key the identity activities create on first use.
 * The variables live in this test file's own process.env (Jest gives each file a copy), and the
 * directory is removed after the file's last test (kept with DROVER_KEEP_TMP, like the integration one).
 * DROVER_TEST_TEMPORAL_ADDRESS / DROVER_TEST_AWS_ENDPOINT are never set here: a unit test that asks for
 * a shared server fails at once with servers.ts's message instead of reaching for one.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-unit-'));
process.env.DROVER_TEST_TMP = tmp;
process.env.DROVER_AUDIT_DIR = path.join(tmp, 'audit');
process.env.DROVER_IDENTITY_KEY_FILE = path.join(tmp, 'keys', 'identity.jwk');
delete process.env.DROVER_TEST_TEMPORAL_ADDRESS;
delete process.env.DROVER_TEST_AWS_ENDPOINT;

afterAll(() => {
  if (!process.env.DROVER_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});
