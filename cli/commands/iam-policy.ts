import { Command } from 'commander';
import { z } from 'zod';
import { parseOptions } from '../options';
import { CliError, type CliIO, type SetExit, EXIT } from '../io';

const options = z.strictObject({
  role: z.enum(['worker', 'approver'], { error: 'expected "worker" or "approver"' }),
  account: z.string().regex(/^\d{12}$/, { error: 'expected a 12-digit AWS account id' }).optional(),
  workerRole: z.string().regex(/^(\/[\w+=,.@-]+)*\/?[\w+=,.@-]{1,64}$/, { error: 'expected an IAM role name (with its path, if any)' }).optional(),
});

/**
 * `drover iam-policy FILE --role worker|approver [--account ID] [--worker-role NAME]`: print the IAM policy document (JSON) the role needs
 * for this runbook, scoped to its resources where AWS supports resource-level permissions (docs/iam.md). What the
 * runbook cannot pin down (an id only run time knows) is said on stderr. Exit 0, or 2 for a bad runbook or option.
 */
export function iamPolicyCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('iam-policy')
    .description("print the IAM policy (JSON) drover's worker or an approver needs for this runbook, scoped to its resources")
    .argument('<file>', 'runbook YAML file')
    .requiredOption('--role <role>', 'worker (the principal the worker runs as) or approver (who approves runs)')
    .option('--account <id>', "the account the runbook's resources are in (default: any account, *)")
    .option('--worker-role <name>', "the worker's own role (its preflight checks its permissions on it; default: any role)")
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      // Loaded here, not at the top: registering the command must stay cheap (cli/main.ts builds every command).
      const [{ loadRunbookOrThrow }, { policyFor, PolicyScopeError }] = await Promise.all([import('../context'), import('../../aws/iam-policy')]);
      const rb = loadRunbookOrThrow(file);
      let out: ReturnType<typeof policyFor>;
      try {
        out = policyFor(rb, opts.role, { account: opts.account, workerRole: opts.workerRole });
      } catch (e) {
        if (e instanceof PolicyScopeError) throw new CliError(e.message, EXIT.USAGE, e.problems);
        throw e;
      }
      io.out(JSON.stringify(out.policy, null, 2));
      for (const note of out.notes) io.err(`note: ${note}`);
      setExit(EXIT.OK);
    });
}
