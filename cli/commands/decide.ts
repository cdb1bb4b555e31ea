import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client, type WorkflowHandle, type WorkflowUpdateHandle } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { localPublicIdentityKey } from '../../activities/sealing';
import { approveUpdate, rejectUpdate } from '../../contracts/messages';
import { type SealedIdentity } from '../../contracts/identity';
import type { RunStatus } from '../../contracts/run';
import { withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions } from '../options';
import { answeredByWorker, decideThroughWorker } from '../runs';
import { sealAsCaller } from '../sign';

const approveOptions = z.object({
  gate: z.string({ error: 'required: the gate to approve (shown by drover status)' }).trim().min(1, { error: 'required: the gate to approve (shown by drover status)' }),
  as: z.string().trim().min(1, { error: 'give an id, or leave --as out to sign with your AWS credentials' }).optional(),
  comment: z.string().max(2000, { error: 'at most 2000 characters' }).optional(),
});
const rejectOptions = approveOptions.omit({ comment: true }).extend({
  reason: z.string({ error: 'required: why the run is rejected' }).trim().min(3, { error: 'give a reason of at least 3 characters' }).max(2000, { error: 'at most 2000 characters' }),
});

type Decide = (handle: WorkflowHandle, who: { approver?: string; sealed?: SealedIdentity }, updateId: string) => Promise<WorkflowUpdateHandle<string>>;

/** The options of a decision's update: its id, and accepted (the validator ran) as the stage to wait for. */
const accepting = (updateId: string) => ({ updateId, waitForStage: WorkflowUpdateStage.ACCEPTED });

/**
 * The decision's update id: the signed request's nonce (each signed request is one decision), or, unsigned (--as),
 * a digest of the run, gate, decision, approver and text, so the same decision sent again is the same update.
 */
export function decisionId(runId: string, gate: string, decision: 'approve' | 'reject', who: { approver?: string; sealed?: SealedIdentity }, text: string | undefined): string {
  if (who.sealed) return `${decision}-${who.sealed.binding.nonce}`;
  return `${decision}-${createHash('sha256').update(JSON.stringify([runId, gate, decision, who.approver ?? '', text ?? ''])).digest('hex').slice(0, 32)}`;
}

/**
 * The caller's identity for a decision: a signed STS GetCallerIdentity bound to the execution, the gate,
 * the decision and the text, sealed to the identity key the run's pending gate publishes (a run started
 * before sealed identities publishes none: then a local key file, on a worker's host, will do).
 */
async function sealedFor(client: Client, handle: WorkflowHandle, run: string, runId: string, gate: string, decision: 'approve' | 'reject', text: string | undefined): Promise<SealedIdentity> {
  const pending = (await answeredByWorker(client, run, () => handle.query<RunStatus>('status'))).pendingGate;
  if (!pending) throw new CliError(`no gate of run ${run} is pending approval (asked for "${gate}")`, EXIT.REFUSED);
  const key = pending.identityKey ?? (await localPublicIdentityKey());
  if (!key) {
    throw new CliError(`run ${run} publishes no identity key to seal your signed identity to${pending.identityKeyError ? `: ${pending.identityKeyError}` : ''}`, EXIT.UNAVAILABLE, [
      'the signed request carries your access key id, so drover sends it only sealed for the worker;',
      'check the worker\'s identity key (DROVER_IDENTITY_KEY_FILE, shared by every worker), or, where the runbook trusts client identities, pass --as ID',
    ]);
  }
  // Signed for the STS region the worker verifies at (runs before approvals-v2 name none: the CLI's region).
  return sealAsCaller({ run: `${run}/${runId}`, gate, decision, comment: text }, key, pending.stsRegion);
}

/**
 * Send a decision to the run's current execution. Without --as, the caller's identity is a signed
 * STS GetCallerIdentity bound to that execution, sealed for the worker (see sealedFor).
 */
async function decide(io: CliIO, run: string, o: { gate: string; as?: string }, decision: 'approve' | 'reject', text: string | undefined, send: Decide): Promise<void> {
  await withClient(async (client: Client) => {
    try {
      const description = await client.workflow.getHandle(run).describe();
      if (description.status.name !== 'RUNNING') throw new CliError(`run ${run} has already ended (${description.status.name.toLowerCase()})`, EXIT.REFUSED);
      const handle = client.workflow.getHandle(run, description.runId);
      const who = o.as ? { approver: o.as } : { sealed: await sealedFor(client, handle, run, description.runId, o.gate, decision, text) };
      io.out(await decideThroughWorker(client, run, description.taskQueue, () => send(handle, who, decisionId(description.runId, o.gate, decision, who, text))));
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
      await decide(io, run, o, 'approve', o.comment, (h, who, id) => h.startUpdate(approveUpdate, { args: [{ gate: o.gate, ...who, comment: o.comment }], ...accepting(id) }));
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
      await decide(io, run, o, 'reject', o.reason, (h, who, id) => h.startUpdate(rejectUpdate, { args: [{ gate: o.gate, ...who, reason: o.reason }], ...accepting(id) }));
      setExit(EXIT.OK);
    });
}
