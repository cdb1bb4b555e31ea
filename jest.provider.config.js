/* global module */
/**
 * The opt-in AWS provider suite (`npm run test:aws-provider`): `drover rebuild` applies the real EKS
 * stack (aws_eks_cluster, node groups, IAM roles) to moto with the Terraform AWS provider built from Go
 * modules. The first run builds the provider (25-45 min, 9 GB peak memory, see README), so the
 * normal `npm test` never picks these `*.provider.ts` files up.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest'], '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  // jose is an ES module only: compiled to CommonJS for Jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testMatch: ['<rootDir>/test/provider/**/*.provider.ts'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  clearMocks: true,
  testTimeout: 600000,
  maxWorkers: 1,
  verbose: true,
};
