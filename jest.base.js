/* global module, __dirname */
/**
 * What every Jest configuration of drover shares: the transform, the run options, and the global setup
 * that starts the shared Temporal dev server and moto. jest.config.js builds its tiers from it; the opt-in
 * suites (jest.chaos.config.js, jest.provider.config.js) are one project with the servers.
 */
const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'], '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  // jose is an ES module only: compiled to CommonJS for Jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // npm run build's output (compiled copies of the sources, and its own package.json; tests build into .scratch/) is
  // not the code under test.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.scratch/'],
  clearMocks: true,
};

/** What every run shares, whatever it selects. */
const runOptions = {
  randomize: true,
  testTimeout: 120000,
  maxWorkers: 2,
};

const serversHarness = {
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
};

module.exports = { shared, runOptions, serversHarness, serversProject: { ...shared, ...serversHarness, ...runOptions } };
