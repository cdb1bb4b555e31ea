/* global module, require */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS config, as Jest loads it */
/**
 * The test tiers, as Jest projects (`npm test` runs all four; `npm run test:<tier>` one):
 * - unit: no server at all (temporary directories only; test/harness/unit-env.ts gives each file its own);
 * - workflow: the real workflows on the Temporal time-skipping test server with stub activities
 *   (its global setup installs the server from Maven Central, infra/local/testserver.ts);
 * - integration: the shared Temporal dev server and moto that test/harness/global-setup.ts starts
 *   (the only tier that starts them), drover's real activities, CLI and tools;
 * - replay: recorded histories replayed against today's workflow code (no server).
 * Each test/*.test.ts belongs to exactly one tier: test/tiers.unit.test.ts fails when a file matches
 * none or several, so a new file is placed on purpose. Plain-named files are listed by name.
 * The chaos and AWS-provider suites stay opt-in (jest.chaos.config.js, jest.provider.config.js).
 */
const { shared, runOptions, serversHarness } = require('./jest.base.js');

const projects = [
  {
    ...shared,
    displayName: 'unit',
    testMatch: [
      '<rootDir>/test/*.unit.test.ts',
      // Plain-named files that need no server.
      '<rootDir>/test/eks-stack.test.ts',
      '<rootDir>/test/report.test.ts',
      '<rootDir>/test/runbook.test.ts',
    ],
    setupFilesAfterEnv: ['<rootDir>/test/harness/unit-env.ts'],
  },
  {
    ...shared,
    displayName: 'workflow',
    testMatch: ['<rootDir>/test/*.workflow.test.ts'],
    globalSetup: '<rootDir>/test/harness/workflow-setup.ts',
    setupFilesAfterEnv: ['<rootDir>/test/harness/unit-env.ts'],
  },
  {
    ...shared,
    displayName: 'integration',
    testMatch: [
      '<rootDir>/test/*.integration.test.ts',
      // Plain-named files that start their own moto or Temporal server or use the shared ones.
      '<rootDir>/test/audit-store.test.ts',
      '<rootDir>/test/dblifecycle.test.ts',
      '<rootDir>/test/faults.test.ts',
      '<rootDir>/test/stack.test.ts',
      // No server, but real external programs, minutes of them, so not in unit: OpenTofu built from Go
      // modules on first use (with a local HTTP state backend), Debian's Chromium (apt-get on first use),
      // and the ESLint CLI type-checking the whole program five times (about 35 s of CPU each).
      '<rootDir>/test/iac-executor.test.ts',
      // No server either, but a minute of generated runbooks and histories: `npm run test:unit` stays seconds.
      '<rootDir>/test/fuzz.test.ts',
      '<rootDir>/test/lint.test.ts',
      '<rootDir>/test/report-html.test.ts',
    ],
    ...serversHarness,
  },
  {
    ...shared,
    displayName: 'replay',
    testMatch: ['<rootDir>/test/replay.test.ts'],
    setupFilesAfterEnv: ['<rootDir>/test/harness/unit-env.ts'],
  },
];

/** @type {import('jest').Config} */
module.exports = { projects, ...runOptions };
