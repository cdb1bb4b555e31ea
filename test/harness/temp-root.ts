import fs from 'node:fs';
import { describeFindings, harnessCredentials, scanFiles } from './secrets';

/**
 * The end of a unit or workflow tier file's temporary root (unit-env.ts's afterAll): every file under it
 * is scanned for secrets (`scanFiles`, the `planted-*` directories of `plantedDir()` left out), then the
 * root is removed (kept with `keep`, DROVER_KEEP_TMP), then this throws, failing the file, on a finding or
 * when the root could not be scanned. What product code wrote there (hook kubeconfigs and HOMEs, audit
 * trails, reports) is scanned before it vanishes, as the integration tier's teardown scans its root.
 */
export function finishTempRoot(root: string, opts: { keep?: boolean; registry?: string[]; secretsDir?: string } = {}): void {
  let problem: string | undefined;
  try {
    const reports = scanFiles(root, { registry: opts.registry ?? harnessCredentials(opts.secretsDir), label: 'temporary root', skipPlanted: true });
    const findings = reports.flatMap((r) => r.findings);
    if (findings.length > 0) problem = describeFindings(findings);
  } catch (e) {
    problem = `cannot scan it: ${(e as Error).message}`;
  } finally {
    if (!opts.keep) {
      fs.rmSync(root, { recursive: true, force: true });
      if (opts.secretsDir) fs.rmSync(opts.secretsDir, { recursive: true, force: true });
    }
  }
  if (problem) throw new Error(`secrets scan of this test file's temporary root ${root} (planted-* directories left out): ${problem}`);
}
