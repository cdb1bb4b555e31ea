/**
 * The test tiers in jest.config.js: every test file belongs to exactly one of them, so a new file cannot
 * silently fall out of `npm test` (or run twice), and only the integration tier starts servers.
 */
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config } from 'jest';

const ROOT = path.join(__dirname, '..');
const TIERS = ['unit', 'workflow', 'integration', 'replay'];

type Project = Config & { displayName: string; testMatch: string[] };

/* eslint-disable @typescript-eslint/no-require-imports -- the CommonJS Jest configs, as Jest loads them */
const config = require('../jest.config.js') as Config;
const chaos = require('../jest.chaos.config.js') as Config;
const provider = require('../jest.provider.config.js') as Config;
const pkg = require('../package.json') as { scripts: Record<string, string> };
/* eslint-enable @typescript-eslint/no-require-imports */

const projects = (config.projects ?? []) as Project[];

/** Every file under test/ (relative, with forward slashes). */
function files(): string[] {
  return (fs.readdirSync(path.join(ROOT, 'test'), { recursive: true }) as string[]).map((f) => `test/${f.split(path.sep).join('/')}`).filter((f) => !f.includes('node_modules/'));
}

/** The tiers whose testMatch takes `file`, as Jest matches it (absolute paths, <rootDir> the repository). */
function tiersOf(file: string, of: Project[] = projects): string[] {
  const abs = path.join(ROOT, file);
  return of.filter((p) => p.testMatch.some((glob) => picomatch(glob.replace('<rootDir>', ROOT))(abs))).map((p) => p.displayName);
}

describe('test tiers', () => {
  test('jest.config.js defines the four tiers as projects', () => {
    expect(projects.map((p) => p.displayName)).toEqual(TIERS);
  });

  test('every test file belongs to exactly one tier', () => {
    const tests = files().filter((f) => f.endsWith('.test.ts'));
    expect(tests.length).toBeGreaterThan(30);
    const wrong = tests.map((f) => ({ file: f, tiers: tiersOf(f) })).filter((x) => x.tiers.length !== 1);
    // A file listed here matches no tier (add it to one in jest.config.js) or several (make them exclusive).
    expect(wrong).toEqual([]);
  });

  test('every tier has test files, and the tiers pick them by name', () => {
    const tests = files().filter((f) => f.endsWith('.test.ts'));
    const count = (tier: string) => tests.filter((f) => tiersOf(f)[0] === tier).length;
    for (const tier of TIERS) expect([tier, count(tier) > 0]).toEqual([tier, true]);
    expect(tiersOf('test/activities.unit.test.ts')).toEqual(['unit']);
    expect(tiersOf('test/failover.integration.test.ts')).toEqual(['integration']);
    expect(tiersOf('test/gates.workflow.test.ts')).toEqual(['workflow']);
    expect(tiersOf('test/replay.test.ts')).toEqual(['replay']);
    // A new plain-named file is in no tier until it is placed in one.
    expect(tiersOf('test/some-new.test.ts')).toEqual([]);
  });

  test('the opt-in chaos and AWS-provider suites stay out of every tier and keep their own single-project configs', () => {
    const optIn = files().filter((f) => /\.(chaos|provider)\.ts$/.test(f));
    expect(optIn.length).toBeGreaterThan(0);
    for (const f of optIn) expect({ f, tiers: tiersOf(f) }).toEqual({ f, tiers: [] });
    for (const [c, glob] of [
      [chaos, '<rootDir>/test/chaos/**/*.chaos.ts'],
      [provider, '<rootDir>/test/provider/**/*.provider.ts'],
    ] as const) {
      expect(c.projects).toBeUndefined();
      expect(c.testMatch).toEqual([glob]);
      // They run against the servers the integration harness starts.
      expect(c.globalSetup).toBe('<rootDir>/test/harness/global-setup.ts');
      expect(c.transform).toEqual(projects[0].transform);
    }
  });

  test('only the integration tier starts the Temporal dev server and moto', () => {
    const byName = Object.fromEntries(projects.map((p) => [p.displayName, p]));
    expect(byName.integration.globalSetup).toBe('<rootDir>/test/harness/global-setup.ts');
    expect(byName.integration.globalTeardown).toBe('<rootDir>/test/harness/global-teardown.ts');
    expect(byName.unit.globalSetup).toBeUndefined();
    expect(byName.replay.globalSetup).toBeUndefined();
    // The workflow tier only installs the time-skipping test server; each file starts its own.
    expect(byName.workflow.globalSetup).toBe('<rootDir>/test/harness/workflow-setup.ts');
  });

  test('npm scripts run every tier together and each one alone', () => {
    expect(pkg.scripts.test).toBe('jest');
    for (const tier of TIERS) expect(pkg.scripts[`test:${tier}`]).toBe(`jest --selectProjects ${tier}`);
  });
});
