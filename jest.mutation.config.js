/* global module, require */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS config, as Jest loads it */
/**
 * The Jest run Stryker uses (`npm run test:mutation`, stryker.config.mjs): unit-tier test files only, the
 * ones that exercise the mutated modules, with the unit tier's setup (no Temporal, no moto). One project,
 * not the tiers of jest.config.js, so Stryker's per-test coverage analysis sees every test. Not randomized:
 * a mutant's run must select the same tests as the dry run that measured coverage.
 */
const { shared } = require('./jest.base.js');

/** @type {import('jest').Config} */
module.exports = {
  ...shared,
  displayName: 'mutation',
  // Files that call the mutated code only inside their tests: a call made while a file loads (a describe-level
  // parseRunbook in test/runbook.test.ts, a describe-level sealEvents in test/audit.unit.test.ts) makes every
  // mutant it reaches "static", which Stryker can only test by re-running every file (an hour more here). Those
  // suites, and approvals.unit.test.ts, security.unit.test.ts and activities.unit.test.ts, keep covering the
  // same code in `npm test`.
  testMatch: [
    // The report: RTO, RPO, gate waits, checks, the summary.
    '<rootDir>/test/report.test.ts',
    '<rootDir>/test/report-rto.unit.test.ts',
    // Gate policy and principals.
    '<rootDir>/test/gate-policy.unit.test.ts',
    '<rootDir>/test/principals.unit.test.ts',
    // The runbook's cross-field rules.
    '<rootDir>/test/runbook-rules.unit.test.ts',
    // The traffic desired state.
    '<rootDir>/test/traffic-plan.unit.test.ts',
    // Drill windows and the cooldown.
    '<rootDir>/test/drill-window.unit.test.ts',
    // The audit chain.
    '<rootDir>/test/audit-chain.unit.test.ts',
  ],
  setupFilesAfterEnv: ['<rootDir>/test/harness/unit-env.ts'],
  testTimeout: 120000,
  maxWorkers: 1,
};
