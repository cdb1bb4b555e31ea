import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { approveUpdate, rejectUpdate } from '../../workflows/gates';
import { withClient } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { parseOptions } from '../options';
import { answeredByWorker } from '../runs';
import type { SetExit } from './index';

const approveOptions = z.object({
  gate: z.string({ error: 'required: the gate to approve (shown by drover status)' }).min(1),
  as: z.string({ error: 'required: your approver id' }).min(1),
  comment: z.string().optional(),
});
const rejectOptions = approveOptions.omit({ comment: true }).extend({
  reason: z.string({ error: 'required: why the run is rejected' }).trim().min(3, { error: 'give a reason of at least 3 characters' }),
});

async function decide(io: CliIO, run: string, send: (handle: WorkflowHandle) => Promise<string>): Promise<void> {
  await withClient(async (client) => {
    try {
      io.out(await answeredByWorker(client, run, () => send(client.workflow.getHandle(run))));
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${(e.cause as Error | undefined)?.message ?? e.message}`, EXIT.REFUSED);
      if (e instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.NOT_FOUND);
      if (/workflow execution already completed/i.test((e as Error).message)) throw new CliError(`run ${run} has already ended`, EXIT.REFUSED);
      throw e;
    }
  });
}

/** `drover approve RUN --gate GATE --as ID`: approve the run's pending gate. */
export function approveCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('approve')
    .description('approve the pending gate of a run')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--gate <gate>', 'the pending gate')
    .option('--as <id>', 'approver id, as listed in the runbook')
    .option('--comment <text>', 'comment recorded with the approval')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(approveOptions, raw);
      await decide(io, run, (h) => h.executeUpdate(approveUpdate, { args: [{ gate: o.gate, approver: o.as, comment: o.comment }] }));
      setExit(EXIT.OK);
    });
}

/** `drover reject RUN --gate GATE --as ID --reason TEXT`: reject the pending gate; final. */
export function rejectCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('reject')
    .description('reject the pending gate of a run; the run ends and nothing after the gate changes')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--gate <gate>', 'the pending gate')
    .option('--as <id>', 'approver id, as listed in the runbook')
    .option('--reason <text>', 'why; recorded')
    .action(async (run: string, raw: unknown) => {
      const o = parseOptions(rejectOptions, raw);
      await decide(io, run, (h) => h.executeUpdate(rejectUpdate, { args: [{ gate: o.gate, approver: o.as, reason: o.reason }] }));
      setExit(EXIT.OK);
    });
}
