import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', 'dist/**', '.scratch/**', '.stryker-tmp/**', 'mutation-report/**', 'eslint.config.mjs', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflows are workflow code, nothing else: what several sides share lives in contracts/ (and the
    // runbook language in runbooks/), so nothing outside workflows/ imports a value from it (types are fine).
    files: ['**/*.ts'],
    ignores: ['workflows/**', 'test/fixtures/changed-workflows/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/workflows', '**/workflows/*'], message: 'import shared values from contracts/ (or runbooks/), not from workflows/; workflows/ may be imported as types only', allowTypeImports: true }] },
      ],
    },
  },
  {
    // The contracts layer is the leaf every side imports: it imports nothing of drover's.
    files: ['contracts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['../*', '../**'], message: 'contracts/ imports nothing of drover\'s (only its own files and packages)' }] }],
    },
  },
  {
    // Workflow code is replayed deterministically inside Temporal's sandbox: no Node, no AWS.
    files: ['workflows/**/*.ts'],
    rules: {
      // The typescript-eslint variant understands `import type`, which workflows may use for activities.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not allowed in workflows/ (they break determinism)' })),
          patterns: [{ group: ['@aws-sdk/*', '../activities', '../activities/*', '../aws/*', '../config/*', '../processes/*', '../tools/*', '../infra/*', '../cli/*'], message: 'workflows import activities as types only, and nothing with side effects', allowTypeImports: true }],
        },
      ],
    },
  },
  // A team's own CDK for Terraform app (CommonJS, as such apps are), a test fixture: not drover's code.
  { files: ['test/fixtures/iac/**/*.js'], languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly' } }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
