import fs from 'node:fs';
import path from 'node:path';
import { formatProblems, loadRunbookFile } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { identityKeyProblem } from '../activities/sealing';
import { isExecutable } from '../tools/install';

/** A runbook file a worker holds, as loaded at its start. */
export interface HeldRunbook {
  file: string;
  runbook?: Runbook;
  problems: string[];
}

/** Every `<name>.yaml` / `.yml` in the worker's runbook directory, loaded (a broken one keeps its problems). */
export function heldRunbooks(dir: string): HeldRunbook[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const loaded = loadRunbookFile(file);
      return loaded.ok ? { file, runbook: loaded.runbook, problems: [] } : { file, problems: formatProblems(file, loaded.problems) };
    });
}

/**
 * The IaC lane's shutdown grace: the longest an OpenTofu command or a redeploy hook of a held runbook may run, and
 * the 30 s an interrupted tofu gets to write its state; 30 s when no runbook rebuilds.
 */
export function iacGraceMs(held: HeldRunbook[]): number {
  const code = (rb: NonNullable<HeldRunbook['runbook']>) => (rb.rebuild?.code && 'cdktf' in rb.rebuild.code ? rb.rebuild.code.cdktf.timeout : 0);
  const longest = Math.max(0, ...held.flatMap((h) => (h.runbook?.rebuild ? [h.runbook.rebuild.timeout, h.runbook.rebuild.redeploy?.timeout ?? 0, code(h.runbook)] : [])));
  return longest + 30_000;
}

/**
 * What a production worker (`drover worker --production`) refuses to start with: a workflow bundle built at start
 * (not the prebuilt, replay-checked one), a runbook that does not load, a rebuild whose OpenTofu state stays on one
 * host (several workers, or a pod replaced between plan and apply, would not share it), and an audit trail kept only
 * in this worker's JSONL directory (several workers would each hold part of a run's trail).
 */
export function productionProblems(held: HeldRunbook[], env: NodeJS.ProcessEnv, queues: 'all' | 'core' | 'iac' = 'all'): string[] {
  const problems: string[] = [];
  if (!env.DROVER_WORKFLOW_BUNDLE) problems.push('DROVER_WORKFLOW_BUNDLE is not set: production workers run the prebuilt workflow bundle that `drover bundle` checked against the recorded histories');
  else if (!fs.existsSync(env.DROVER_WORKFLOW_BUNDLE)) problems.push(`DROVER_WORKFLOW_BUNDLE: ${env.DROVER_WORKFLOW_BUNDLE} does not exist`);
  // Every worker of a deployment verifies approvals with the same key: one a worker made for itself (the default
  // when the file is absent) would refuse the approvals sealed by the others, at the first gate of a real run.
  if (!env.DROVER_IDENTITY_KEY_FILE) problems.push('DROVER_IDENTITY_KEY_FILE is not set: production workers share one identity key, mounted from your secrets manager (docs/approvals.md); a worker never makes its own');
  else {
    const keyProblem = identityKeyProblem(env.DROVER_IDENTITY_KEY_FILE);
    if (keyProblem) problems.push(`DROVER_IDENTITY_KEY_FILE: ${keyProblem}`);
  }
  // A worker serving the IaC lane runs OpenTofu: without one it would try to build it at the first rebuild step.
  if (queues !== 'core') {
    const rebuilding = held.filter((h) => h.runbook?.rebuild && !h.runbook.rebuild.binary).map((h) => h.file);
    if (env.DROVER_TOFU && !isExecutable(env.DROVER_TOFU)) problems.push(`DROVER_TOFU: ${env.DROVER_TOFU} is not an executable file`);
    else if (rebuilding.length > 0 && !env.DROVER_TOFU) {
      // Never the pinned build a development worker makes on first use: minutes of `go build` in the middle of a rebuild.
      problems.push(`${rebuilding.join(', ')} rebuild: this worker serves the IaC lane and names no OpenTofu: set DROVER_TOFU to the tofu binary in its image (or the runbook's rebuild.binary), or serve --queues core and run the IaC lane on workers that have one`);
    }
  }
  if (held.length === 0) problems.push('the runbook directory holds no <name>.yaml: this worker would refuse every run');
  for (const h of held) {
    problems.push(...h.problems, ...keptOnOneHost(h));
  }
  return problems;
}

/**
 * What a held runbook keeps on this worker's host alone: a rebuild's local OpenTofu state, and a trail only in the
 * JSONL directory. One worker on one host is fine; several (or a pod replaced mid-run) split them. A production
 * worker refuses these; any other worker says them at its start (`drover worker`), so no one runs several unwarned.
 */
export function keptOnOneHost(h: HeldRunbook): string[] {
  const rb = h.runbook;
  if (!rb) return [];
  const kept: string[] = [];
  // The team's own code (rebuild.code) keeps its state in the team's backend, not drover's.
  if (rb.rebuild && !rb.rebuild.code && rb.rebuild.backend.type !== 's3') kept.push(`${h.file} rebuild.backend: type ${rb.rebuild.backend.type} keeps the OpenTofu state on one host; production workers share it: use type s3`);
  if (!rb.audit?.s3) kept.push(`${h.file} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`);
  return kept;
}
