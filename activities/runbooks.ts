import { ApplicationFailure } from '@temporalio/common';
import { parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { RUNBOOK_NAME, runbookDigest, type RunbookRef, type RunbookSource } from '../runbooks/source';
import { FailureType } from '../contracts/failures';

const refuse = (message: string) => ApplicationFailure.create({ type: FailureType.RunbookRefused, message, nonRetryable: true });

/** The runbook activities: a run's runbook comes from the worker's own source, never from the run's input. */
export function createRunbookActivities(source: RunbookSource | undefined) {
  return {
    /**
     * The worker's copy of the runbook `ref` names, validated, when its digest is the one the starter
     * validated; refused (RunbookRefused, nothing changed) when the worker has no such runbook, its copy
     * differs, or its copy is invalid. Reading and parsing only: safe to retry.
     */
    async resolveRunbook(ref: RunbookRef): Promise<Runbook> {
      const name = typeof ref?.name === 'string' ? ref.name : '';
      if (!RUNBOOK_NAME.test(name)) throw refuse(`"${name.slice(0, 80)}" is not a runbook name (lower-case letters, digits and dashes, starting with a letter)`);
      if (typeof ref.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(ref.digest)) throw refuse(`the run names runbook ${name} without a digest (sha256:<64 hex>) of the copy its starter validated`);
      if (!source) throw refuse(`this worker has no runbook source configured (drover worker --runbooks DIR), so it runs no runbook`);
      const found = await source.read(name);
      if (!found) throw refuse(`the workers have no runbook ${name} in ${source.location} (looked for ${name}.yaml and ${name}.yml): deploy the runbook to the workers' runbook directory`);
      const digest = 'text' in found ? runbookDigest(found.text) : found.digest;
      if (digest !== ref.digest) {
        throw refuse(`the workers' copy of runbook ${name} (${found.where}, ${digest}) is not the one you validated (${ref.digest}); nothing was changed. Deploy the runbook you validated to the workers, or validate theirs`);
      }
      if (!('text' in found)) return found.runbook;
      const parsed = parseRunbook(found.text);
      if (!parsed.ok) throw refuse(`the workers' copy of runbook ${name} (${found.where}) is invalid: ${parsed.problems.slice(0, 5).map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`);
      if (parsed.runbook.name !== name) throw refuse(`${found.where} holds runbook ${parsed.runbook.name}, not ${name}: a runbook file is named after its runbook`);
      return parsed.runbook;
    },
  };
}
