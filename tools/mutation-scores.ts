/**
 * The mutation score per module (`npm run test:mutation`, after Stryker): Stryker's own `thresholds.break`
 * is one score over every mutated file, so a module at 60% could hide behind others at 95%. This reads
 * Stryker's JSON report (mutation-report/mutation.json), prints each module's score and exits 1 when any
 * module is under the floor. Scores are computed as Stryker does: detected (killed, timed out) over valid
 * mutants (detected, survived, not covered); mutants that do not compile or crash the runner are not valid.
 */
import fs from 'node:fs';

/** The modules issue 27 names, each the files (as Stryker reports them) it is made of. */
export const MUTATION_MODULES: Record<string, string[]> = {
  'report RTO/RPO and checks': ['reports/report.ts', 'reports/summary.ts'],
  'gate policy and principals': ['runbooks/gate-policy.ts', 'runbooks/principals.ts'],
  'runbook cross-field checks': ['runbooks/schema.ts'],
  'traffic desired state': ['activities/route53.ts'],
  'drill windows and cooldown': ['activities/drills.ts'],
  'audit chain': ['audit/chain.ts', 'audit/hash.ts'],
};

export const MUTATION_FLOOR = 85;

type Status = 'Killed' | 'Timeout' | 'Survived' | 'NoCoverage' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
export interface StrykerReport {
  files: Record<string, { mutants: Array<{ status: Status }> }>;
}
export interface ModuleScore {
  module: string;
  killed: number;
  survived: number;
  noCoverage: number;
  valid: number;
  /** Percent, two decimals; NaN when the module has no valid mutant. */
  score: number;
}

export function scoresByModule(report: StrykerReport, modules: Record<string, string[]> = MUTATION_MODULES): ModuleScore[] {
  const known = new Set(Object.values(modules).flat());
  const stray = Object.keys(report.files).filter((f) => !known.has(f.replace(/\\/g, '/')));
  if (stray.length > 0) throw new Error(`mutated files that belong to no module: ${stray.join(', ')} (tools/mutation-scores.ts MUTATION_MODULES)`);
  return Object.entries(modules).map(([module, files]) => {
    const mutants = Object.entries(report.files)
      .filter(([f]) => files.includes(f.replace(/\\/g, '/')))
      .flatMap(([, f]) => f.mutants);
    const count = (...s: Status[]) => mutants.filter((m) => s.includes(m.status)).length;
    const killed = count('Killed', 'Timeout');
    const survived = count('Survived');
    const noCoverage = count('NoCoverage');
    const valid = killed + survived + noCoverage;
    return { module, killed, survived, noCoverage, valid, score: valid === 0 ? NaN : Math.round((killed / valid) * 10000) / 100 };
  });
}

/** The modules under the floor (a module without any valid mutant counts as under it: nothing was tested). */
export function underFloor(scores: ModuleScore[], floor = MUTATION_FLOOR): ModuleScore[] {
  return scores.filter((s) => !(s.score >= floor));
}

const pct = (s: ModuleScore) => (Number.isNaN(s.score) ? 'no mutant tested' : `${s.score.toFixed(2)}%`);

if (require.main === module) {
  const file = process.argv[2] ?? 'mutation-report/mutation.json';
  let report: StrykerReport;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8')) as StrykerReport;
  } catch (e) {
    process.stderr.write(`mutation-scores: cannot read ${file}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const scores = scoresByModule(report);
  process.stdout.write(['| module | score | killed | survived | no coverage |', '|---|---|---|---|---|', ...scores.map((s) => `| ${s.module} | ${pct(s)} | ${s.killed} | ${s.survived} | ${s.noCoverage} |`)].join('\n') + '\n');
  const low = underFloor(scores);
  if (low.length > 0) {
    process.stderr.write(`mutation score under ${MUTATION_FLOOR}%: ${low.map((s) => `${s.module} (${pct(s)})`).join(', ')}\n`);
    process.exit(1);
  }
}
