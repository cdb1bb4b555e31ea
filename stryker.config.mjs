// Mutation testing of drover's pure, critical rules (`npm run test:mutation`, docs/testing.md#mutation-testing).
// Stryker changes one operator, condition or literal at a time in the files below and runs the unit tests
// that cover it (jest.mutation.config.js); a change no test notices is a surviving mutant. The run fails
// (exit 1) when the score falls under thresholds.break.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * `file:start-end`: the lines from the one matching `from` to the end (the first line that is a lone closing
 * brace at the margin) of the declaration matching `last`: the pure part of a file that also does I/O.
 * Found by their text, so the range follows the code when lines above it move; a marker that is gone stops
 * the run here rather than mutating the wrong lines.
 */
function range(file, from, last) {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => from.test(l));
  const lastDecl = start < 0 ? -1 : lines.findIndex((l, i) => i >= start && last.test(l));
  const end = lastDecl < 0 ? -1 : lines.findIndex((l, i) => i >= lastDecl && /^}\)?;?$/.test(l));
  if (end < 0) throw new Error(`stryker.config.mjs: ${file} has no lines from ${from} to the end of ${last}: update the mutate range`);
  return `${file}:${start + 1}-${end + 1}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    // The report: RTO (its end, its verdict, gate waits), RPO (the `<=` boundary, several databases), checks.
    'reports/report.ts',
    'reports/summary.ts',
    // Gate policy and who counts as which approver.
    'runbooks/gate-policy.ts',
    'runbooks/principals.ts',
    // Runbook validation: the cross-field checks only (the field shapes are zod's own).
    range('runbooks/schema.ts', /^function formatAt\(/, /^export const runbookSchema\b/),
    // The traffic desired state: weights and failover roles per region, and when a record set needs a change.
    range('activities/route53.ts', /^export type DesiredState\b/, /^export function shareOf\(/),
    // Drill windows and the cooldown after a real run (not the Temporal queries around them).
    range('activities/drills.ts', /^const DAY_MS\b/, /^export function cooldownRefusal\(/),
    // The audit chain: canonical form, sealing, verification.
    'audit/chain.ts',
    'audit/hash.ts',
  ],
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.mutation.config.js', enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  concurrency: 2,
  // The machine is shared: a mutant is a timeout only well past the dry run's time.
  timeoutMS: 10000,
  thresholds: { high: 90, low: 85, break: 85 },
  reporters: ['clear-text', 'json', 'progress'],
  clearTextReporter: { reportScoreTable: true, reportMutants: true, reportTests: false, allowColor: false },
  jsonReporter: { fileName: 'mutation-report/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
