import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { approveUpdate, rejectUpdate, type SignedIdentity } from '../../workflows/gates';
import { withClient } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { parseOptions } from '../options';
import { answeredByWorker } from '../runs';
import { signAsCaller } from '../sign';
import type { SetExit } from './index';

const approveOptions = z.object({
  gate: z.string({ error: 'required: the gate to approve (shown by drover status)' }).trim().min(1, { error: 'required: the gate to approve (shown by drover status)' }),
  as: z.string().trim().min(1, { error: 'give an id, or leave --as out to sign with your AWS credentials' }).optional(),
  comment: z.string().max(2000, { error: 'at most 2000 characters' }).optional(),
});
const rejectOptions = approveOptions.omit({ comment: true }).extend({
  reason: z.string({ error: 'required: why the run is rejected' }).trim().min(3, { error: 'give a reason of at least 3 characters' }).max(2000, { error: 'at most 2000 characters' }),
});

type Decide = (handle: WorkflowHandle, who: { approver?: string; identity?: SignedIdentity }) => Promise<string>;

/**
 * Send a decision to the run's current execution. Without --as, the caller's identity is a signed
 * STS GetCallerIdentity bound to that execution (workflow id and run id), the gate, the decision and the text.
 */
async function decide(io: CliIO, run: string, o: { gate: string; as?: string }, decision: 'approve' | 'reject', text: string | undefined, send: Decide): Promise<void> {
  await withClient(async (client: Client) => {
    try {
      const description = await client.workflow.getHandle(run).describe();
      if (description.status.name !== 'RUNNING') throw new CliError(`run ${run} has already ended (${description.status.name.toLowerCase()})`, EXIT.REFUSED);
      const handle = client.workflow.getHandle(run, description.runId);
      const who = o.as ? { approver: o.as } : { identity: await signAsCaller({ run: `${run}/${description.runId}`, gate: o.gate, decision, comment: text }) };
      io.out(await answeredByWorker(client, run, () => send(handle, who)));
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${(e.cause as Error | undefined)?.message ?? e.message}`, EXIT.REFUSED);
      if (e instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.NOT_FOUND);
      if (/workflow execution already completed/i.test((e as Error).message)) throw new CliError(`run ${run} has already ended`, EXIT.REFUSED);
      throw e;
    }
  });
}

/** `drover approve RUN --gate GATE [--as ID] [--comment TEXT]`: approve the run's pending gate, signed with your AWS credentials unless --as. */
export function approveCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('approve')
    .description('approve the pending gate of a run (your identity: a signed STS GetCallerIdentity, or --as ID where the runbook trusts client identities)')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--gate <gate>', 'the pending gate')
    .option('--as <id>', 'an unverified approver id (only where the runbook sets approvals.trustClientIdentity: local development)')
    .option('--comment <text>', 'comment recorded with the approval')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(approveOptions, raw);
      await decide(io, run, o, 'approve', o.comment, (h, who) => h.executeUpdate(approveUpdate, { args: [{ gate: o.gate, ...who, comment: o.comment }] }));
      setExit(EXIT.OK);
    });
}

/** `drover reject RUN --gate GATE [--as ID] --reason TEXT`: reject the pending gate; final. */
export function rejectCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('reject')
    .description('reject the pending gate of a run; the run ends and nothing after the gate changes')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--gate <gate>', 'the pending gate')
    .option('--as <id>', 'an unverified approver id (only where the runbook sets approvals.trustClientIdentity: local development)')
    .option('--reason <text>', 'why; recorded')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(rejectOptions, raw);
      await decide(io, run, o, 'reject', o.reason, (h, who) => h.executeUpdate(rejectUpdate, { args: [{ gate: o.gate, ...who, reason: o.reason }] }));
      setExit(EXIT.OK);
    });
}
