import { scoresByModule, underFloor, type StrykerReport } from '../tools/mutation-scores';

const mutants = (spec: Record<string, number>) => Object.entries(spec).flatMap(([status, n]) => Array.from({ length: n }, () => ({ status }))) as StrykerReport['files'][string]['mutants'];

describe('mutation score per module', () => {
  const modules = { report: ['reports/report.ts', 'reports/summary.ts'], chain: ['audit/chain.ts'] };

  test('each module is scored on its own files: detected (killed, timed out) over valid (detected, survived, not covered)', () => {
    const report: StrykerReport = {
      files: {
        'reports/report.ts': { mutants: mutants({ Killed: 80, Timeout: 3, Survived: 10, NoCoverage: 2, CompileError: 40, RuntimeError: 1, Ignored: 5 }) },
        'reports/summary.ts': { mutants: mutants({ Killed: 9, Survived: 1 }) },
        'audit/chain.ts': { mutants: mutants({ Killed: 17, Survived: 3 }) },
      },
    };
    expect(scoresByModule(report, modules)).toEqual([
      { module: 'report', killed: 92, survived: 11, noCoverage: 2, valid: 105, score: 87.62 },
      { module: 'chain', killed: 17, survived: 3, noCoverage: 0, valid: 20, score: 85 },
    ]);
  });

  test('a module under the floor is named even when the total is above it; exactly the floor passes; a module with nothing tested fails', () => {
    const scores = scoresByModule({ files: { 'reports/report.ts': { mutants: mutants({ Killed: 999, Survived: 1 }) }, 'audit/chain.ts': { mutants: mutants({ Killed: 84, Survived: 16 }) } } }, modules);
    expect(underFloor(scores).map((s) => s.module)).toEqual(['chain']);
    expect(underFloor(scores, 84).map((s) => s.module)).toEqual([]);
    expect(underFloor(scoresByModule({ files: { 'reports/report.ts': { mutants: mutants({ CompileError: 3 }) } } }, modules)).map((s) => s.module)).toEqual(['report', 'chain']);
  });

  test('a mutated file that belongs to no module is an error, not left out', () => {
    expect(() => scoresByModule({ files: { 'cli/main.ts': { mutants: mutants({ Killed: 1 }) } } }, modules)).toThrow('mutated files that belong to no module: cli/main.ts (tools/mutation-scores.ts MUTATION_MODULES)');
  });
});
