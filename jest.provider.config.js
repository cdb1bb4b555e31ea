/* global module, require */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS config extending the base config */
/**
 * The opt-in AWS provider suite (`npm run test:aws-provider`): `drover rebuild` applies the real EKS
 * stack (aws_eks_cluster, node groups, IAM roles) to moto with the Terraform AWS provider built from Go
 * modules. The first run builds the provider (25-45 min, 9 GB peak memory, see docs/testing.md), so the
 * normal `npm test` never picks these `*.provider.ts` files up.
 * @type {import('jest').Config}
 */
module.exports = {
  ...require('./jest.base.js').serversProject,
  testMatch: ['<rootDir>/test/provider/**/*.provider.ts'],
  randomize: false,
  testTimeout: 600000,
  maxWorkers: 1,
  verbose: true,
};
