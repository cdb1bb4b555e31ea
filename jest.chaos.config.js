/* global module */
/**
 * The chaos suite (`npm run test:chaos`): worker kills, a Temporal server restart, throttling, a region
 * outage and permanent errors, against the real Temporal dev server and moto. Its files are
 * `*.chaos.ts`, so the normal `npm test` never picks them up.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'], '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  // jose is an ES module only: compiled to CommonJS for Jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  clearMocks: true,
  testTimeout: 600000,
  maxWorkers: 2,
  verbose: true,
};
