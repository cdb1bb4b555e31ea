/* global module, require */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS config extending the base config */
/**
 * The chaos suite (`npm run test:chaos`): worker kills, a Temporal server restart, throttling, a region
 * outage and permanent errors, against the real Temporal dev server and moto. Its files are
 * `*.chaos.ts`, so the normal `npm test` never picks them up.
 * @type {import('jest').Config}
 */
module.exports = {
  ...require('./jest.base.js').serversProject,
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts'],
  randomize: false,
  testTimeout: 600000,
  maxWorkers: 2,
  verbose: true,
};
