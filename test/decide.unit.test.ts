/**
 * Approvals while the worker is slow (cli/runs.ts decideThroughWorker, cli/commands/decide.ts decisionId): a
 * decision is an Update with an id fixed by the decision, accepted within 15 s and applied within 2 minutes, and
 * each stage's deadline says what happened: no worker, a busy worker, or accepted and still being applied. The
 * client here is a stand-in answering as the Temporal client does when a deadline passes (gRPC DEADLINE_EXCEEDED);
 * what a real server does with the same update id is Temporal's documented behaviour (see decideThroughWorker).
 */
import type { Client, WorkflowUpdateHandle } from '@temporalio/client';
import { decideThroughWorker } from '../cli/runs';
import { decisionId } from '../cli/commands/decide';
import { CliError, EXIT } from '../cli/io';
import type { SealedIdentity } from '../contracts/identity';

const DEADLINE = Object.assign(new Error('deadline exceeded'), { code: 4 });

function client(pollersSeenAgoMs: number | undefined): Client {
  const seconds = pollersSeenAgoMs === undefined ? undefined : Math.floor((Date.now() - pollersSeenAgoMs) / 1000);
  return {
    options: { namespace: 'default' },
    withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn(),
    workflowService: {
      describeTaskQueue: async () => ({ pollers: seconds === undefined ? [] : [{ identity: 'worker@host', lastAccessTime: { seconds } }] }),
    },
  } as unknown as Client;
}

const handle = (result: () => Promise<string>) => ({ updateId: 'approve-abc', result } as unknown as WorkflowUpdateHandle<string>);

async function refusal(p: Promise<unknown>): Promise<CliError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof CliError)) throw new Error(`expected a CliError, got ${String(e)}`);
  return e;
}

describe('a decision sent through the worker', () => {
  test('given the worker accepts and applies it, the CLI prints what the run answered', async () => {
    await expect(decideThroughWorker(client(1000), 'failover-x', 'drover', async () => handle(async () => 'approved gate failover as ic-priya'))).resolves.toBe('approved gate failover as ic-priya');
  });

  test('given no acceptance within its deadline and no worker polling the queue, it says no worker is running, with how to start one', async () => {
    const e = await refusal(decideThroughWorker(client(undefined), 'failover-x', 'drover', () => Promise.reject(DEADLINE)));
    expect(e.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(e.message).toBe('run failover-x is running, but no drover worker answered within 15s');
    expect(e.lines).toEqual(['start one with: drover worker   (task queue drover)']);
  });

  test('given no acceptance within its deadline while a worker polls the queue, it says the worker is busy and that the decision may still be applied', async () => {
    const e = await refusal(decideThroughWorker(client(2000), 'failover-x', 'drover', () => Promise.reject(DEADLINE)));
    expect(e.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(e.message).toBe("run failover-x's worker is busy: it did not take up the decision within 15s");
    expect(e.lines?.[0]).toContain('check drover status failover-x before sending it again');
    // A signed resend carries a new nonce (a new update): the hint does not promise it is the same update.
    expect(e.lines?.[0]).toContain('a signed one sent again is a new request, and the gate counts each approver once');
  });

  test('given a poller last seen over a minute ago, the worker counts as gone', async () => {
    const e = await refusal(decideThroughWorker(client(90_000), 'failover-x', 'drover', () => Promise.reject(DEADLINE)));
    expect(e.message).toContain('no drover worker answered');
  });

  test('given an accepted decision not applied within its deadline, it says so (accepted, being applied), not that it failed', async () => {
    const e = await refusal(decideThroughWorker(client(1000), 'failover-x', 'drover', async () => handle(() => Promise.reject(DEADLINE))));
    expect(e.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(e.message).toBe('run failover-x accepted the decision (update approve-abc), but its worker did not finish applying it within 120s');
    expect(e.lines).toEqual(['it is being applied: check drover status failover-x']);
  });

  test('given any other error, it is passed on unchanged (the command maps refusals itself)', async () => {
    const other = new Error('refused by validator');
    await expect(decideThroughWorker(client(1000), 'failover-x', 'drover', () => Promise.reject(other))).rejects.toBe(other);
  });
});

describe('the update id of a decision', () => {
  test('given the same unsigned decision twice, the same id (a resend is the same update); any difference, another id', () => {
    const id = decisionId('run-1', 'failover', 'approve', { approver: 'ic-priya' }, 'go');
    expect(decisionId('run-1', 'failover', 'approve', { approver: 'ic-priya' }, 'go')).toBe(id);
    expect(id).toMatch(/^approve-[0-9a-f]{32}$/);
    for (const other of [
      decisionId('run-2', 'failover', 'approve', { approver: 'ic-priya' }, 'go'),
      decisionId('run-1', 'failback', 'approve', { approver: 'ic-priya' }, 'go'),
      decisionId('run-1', 'failover', 'reject', { approver: 'ic-priya' }, 'go'),
      decisionId('run-1', 'failover', 'approve', { approver: 'ic-arjun' }, 'go'),
      decisionId('run-1', 'failover', 'approve', { approver: 'ic-priya' }, 'go now'),
    ]) expect(other).not.toBe(id);
  });

  test('given a signed decision, its id is its nonce (each signed request is one decision)', () => {
    const sealed = { jwe: 'x', binding: { run: 'run-1', gate: 'failover', decision: 'approve', nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' } } as unknown as SealedIdentity;
    expect(decisionId('run-1', 'failover', 'approve', { sealed }, 'go')).toBe('approve-a1b2c3d4e5f60718293a4b5c6d7e8f90');
  });
});
