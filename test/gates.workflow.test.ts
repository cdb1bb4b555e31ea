/**
 * Approval gates and their policies, in the real regionFailover workflow on the time-skipping test server
 * with stub activities: who may approve (self-approval, unlisted approvers, M of N), rejections, and what
 * a gate's timeout does. Timeouts and escalations are hours of workflow time, skipped.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { approveUpdate, rejectUpdate, type RequesterChallenge } from '../contracts/messages';
import type { FailoverInput } from '../workflows/regionFailover';
import type { RunStatus } from '../contracts/run';
import { refOf, writeRunbook } from './harness/fixtures';
import { StubWorld } from './harness/stubs';
import { runFailure, statusWhen, withRun, timeSkippingPerFile } from './harness/timeskipping';

const STANDBY = 'ap-southeast-1';
const MINUTE = 60_000;

const env = timeSkippingPerFile();

let seq = 0;
/** An ApnaKart variant of its own (its own workflow id), with `set` applied (YAML paths). */
function runbook(set: Array<[Array<string | number>, unknown]> = []) {
  return writeRunbook({ name: `wf-gates-${process.pid}-${++seq}`, set }).runbook;
}

function input(rb: { name: string }, extra: Partial<FailoverInput> = {}): FailoverInput {
  return { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'workflow test', requestedBy: 'ic-test', ...extra };
}

/** Start a failover of `rb` against `world`, run `fn` with its handle while the stub worker serves it. */
function failover<T>(rb: { name: string }, world: StubWorld, fn: (h: WorkflowHandle) => Promise<T>, extra: Partial<FailoverInput> = {}): Promise<T> {
  return withRun(env(), world, { workflowType: 'regionFailover', workflowId: `failover-${rb.name}`, args: [input(rb, extra)] }, fn);
}

const gatePending = (h: WorkflowHandle) => statusWhen(h, (s) => s.pendingGate?.name === 'failover', 'the failover gate');

/** An Update the workflow refused: its failure type, the refusal kind and the message. */
async function refusal(p: Promise<unknown>): Promise<{ type?: string | null; kind?: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
  return { type: cause.type, kind: (cause.details?.[0] as { kind?: string } | undefined)?.kind, message: cause.message };
}

describe('gate timeout', () => {
  test('given no decision, the failover gate times out after its policy timeout in workflow time: the run aborts and nothing after the gate is changed', async () => {
    const rb = runbook([[['approvals', 'policies'], { failover: { timeout: '30m' } }]]);
    const world = new StubWorld(rb);
    const f = await failover(rb, world, async (h) => {
      await gatePending(h);
      return runFailure(h.result());
    });

    expect(f.type).toBe('ApprovalTimedOut');
    expect(f.message).toBe('gate failover was not approved within 1800s (0 of 1 approvals); nothing after it was changed');
    expect(f.record.phase).toBe('aborted');
    const gate = f.record.steps.find((s) => s.id === 'gate:failover');
    expect(gate?.status).toBe('failed');
    // Thirty minutes passed on the workflow's clock (skipped by the test server, not waited).
    expect((gate?.endedAt ?? 0) - (gate?.startedAt ?? 0)).toBeGreaterThanOrEqual(30 * MINUTE);
    expect(f.record.steps.filter((s) => s.status === 'done').map((s) => s.id)).toEqual(['preempt-drills', 'preflight']);
    for (const s of f.record.steps.filter((x) => !['preempt-drills', 'preflight', 'gate:failover'].includes(x.id))) {
      expect({ id: s.id, status: s.status, notes: s.notes }).toEqual({ id: s.id, status: 'pending', notes: ['not run'] });
    }
    expect(world.mutations()).toEqual([]);
  });

  test('given an escalation policy and a topic, the gate escalates part-way through its wait, then aborts at its timeout', async () => {
    const rb = runbook([
      [['approvals', 'policies'], { failover: { timeout: '30m', escalateAfter: '10m' } }],
      [['notifications'], { snsTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:drover-wf-test' }],
    ]);
    const world = new StubWorld(rb);
    const f = await failover(rb, world, (h) => runFailure(h.result()));

    expect(f.type).toBe('ApprovalTimedOut');
    const messages = world.callsTo('notify').map((c) => JSON.parse(String(c.message)) as { event: string; at: string; waitedMs?: number; missing?: number; phase?: string });
    expect(messages.map((m) => m.event)).toEqual(['approval.requested', 'gate.escalated', 'run.finished']);
    const [requested, escalated, finished] = messages;
    // Ten minutes into the wait (plus the moments the workflow took to handle the timer), long before the timeout.
    const escalatedAfter = Date.parse(escalated.at) - Date.parse(requested.at);
    expect(escalatedAfter).toBeGreaterThanOrEqual(10 * MINUTE);
    expect(escalatedAfter).toBeLessThan(11 * MINUTE);
    expect(escalated).toMatchObject({ waitedMs: 10 * MINUTE, missing: 1 });
    expect(Date.parse(finished.at) - Date.parse(requested.at)).toBeGreaterThanOrEqual(30 * MINUTE);
    expect(finished.phase).toBe('aborted');
    expect(world.mutations()).toEqual([]);
  });
});

describe('gate policy', () => {
  test('given the requester approving their own gate, the approval is refused and the gate keeps waiting; another approver opens it', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const result = await failover(
      rb,
      world,
      async (h) => {
        const pending = await gatePending(h);
        expect(pending.pendingGate).toMatchObject({ selfApproval: false, requestedBy: { id: 'ic-priya', verified: false }, approvals: [] });

        expect(await refusal(h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] }))).toEqual({
          type: 'ApprovalRefused',
          kind: 'self-approval',
          message: 'ic-priya requested this run, and gate failover does not allow self-approval',
        });
        const still = await h.query<RunStatus>('status');
        expect(still.pendingGate?.approvals).toEqual([]);
        expect(still.decisions).toEqual([]);
        expect(world.mutations()).toEqual([]);

        expect(await h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-arjun', comment: 'go' }] })).toBe('approved gate failover as ic-arjun (unverified); 1 of 1 approvals, the gate is open');
        return (await h.result()) as RunStatus;
      },
      { requestedBy: 'ic-priya' },
    );

    expect(result.phase).toBe('completed');
    expect(result.decisions).toEqual([expect.objectContaining({ gate: 'failover', approver: 'ic-arjun', decision: 'approved', comment: 'go', verified: false })]);
    expect(result.steps.find((s) => s.id === 'gate:failover')?.notes).toEqual(['approved by ic-arjun (unverified): go']);
  });

  test('given a policy that allows self-approval, the same approval by the requester opens the gate', async () => {
    const rb = runbook([[['approvals', 'policies'], { failover: { selfApproval: true } }]]);
    const world = new StubWorld(rb);
    const result = await failover(
      rb,
      world,
      async (h) => {
        await gatePending(h);
        expect(await h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] })).toContain('approved gate failover as ic-priya (unverified)');
        return (await h.result()) as RunStatus;
      },
      { requestedBy: 'ic-priya' },
    );
    expect(result.phase).toBe('completed');
    expect(result.decisions.map((d) => d.approver)).toEqual(['ic-priya']);
  });

  test('given an approver the runbook does not list, or a gate that is not pending, the decision is refused; a listed approver\'s rejection ends the run rejected', async () => {
    const rb = runbook();
    const world = new StubWorld(rb);
    const f = await failover(rb, world, async (h) => {
      await gatePending(h);
      const stranger = await refusal(h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'mallory' }] }));
      expect(stranger).toMatchObject({ type: 'ApprovalRefused', kind: 'not-allowed' });
      expect(stranger.message).toContain('"mallory" is not an approver of gate failover');
      const strangerRejects = await refusal(h.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'mallory', reason: 'no' }] }));
      expect(strangerRejects.kind).toBe('not-allowed');

      // Refused by the validator: never recorded in the history.
      const wrongGate = await h.executeUpdate(approveUpdate, { args: [{ gate: 'failback', approver: 'ic-arjun' }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(wrongGate).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((wrongGate as WorkflowUpdateFailedError).cause as Error).message).toContain('gate "failback" is not pending; the pending gate is "failover"');
      expect((await h.query<RunStatus>('status')).decisions).toEqual([]);

      expect(await h.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'sre-meera', reason: 'primary recovered' }] })).toBe('rejected gate failover as sre-meera (unverified)');
      return runFailure(h.result());
    });

    expect(f.type).toBe('ApprovalRejected');
    expect(f.record.phase).toBe('rejected');
    expect(f.message).toContain('gate failover rejected by sre-meera: primary recovered');
    expect(f.record.decisions).toEqual([expect.objectContaining({ approver: 'sre-meera', decision: 'rejected' })]);
    expect(world.mutations()).toEqual([]);
  });

  test('given a gate that needs two approvers, one approval leaves it pending, the same approver again counts once, a second approver opens it', async () => {
    const rb = runbook([[['approvals', 'policies'], { failover: { required: 2 } }]]);
    const world = new StubWorld(rb);
    const result = await failover(rb, world, async (h) => {
      await gatePending(h);
      expect(await h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] })).toBe('approved gate failover as ic-priya (unverified); 1 of 2 approvals, 1 more needed');
      const half = await h.query<RunStatus>('status');
      expect(half.pendingGate?.approvals?.map((a) => a.approver)).toEqual(['ic-priya']);
      expect(half.phase).toBe('waiting-approval');
      expect(world.mutations()).toEqual([]);

      const again = await refusal(h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] }));
      expect(again.kind).toBe('duplicate');
      expect((await h.query<RunStatus>('status')).pendingGate?.approvals).toHaveLength(1);

      expect(await h.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'sre-meera' }] })).toBe('approved gate failover as sre-meera (unverified); 2 of 2 approvals, the gate is open');
      return (await h.result()) as RunStatus;
    });
    expect(result.phase).toBe('completed');
    expect(result.steps.find((s) => s.id === 'gate:failover')?.notes).toEqual(['approved by ic-priya (unverified), sre-meera (unverified)']);
    // The gate opened before anything changed: the first change came after the second approval.
    expect(world.mutations()[0]).toBe('scaleNodeGroups');
  });

  test('given a runbook that trusts no client identity, a run whose requester never proves who they are ends before preflight, after its wait in workflow time', async () => {
    const rb = runbook([
      [['approvals', 'trustClientIdentity'], false],
      [['approvals', 'approvers'], ['arn:aws:iam::123456789012:user/priya', 'arn:aws:iam::123456789012:user/arjun']],
    ]);
    const world = new StubWorld(rb);
    const f = await failover(rb, world, async (h) => {
      const challenge = await waitFor(() => h.query<RequesterChallenge | undefined>('requesterChallenge'), 'the requester challenge');
      const { runId } = await h.describe();
      expect(challenge).toMatchObject({ run: `${h.workflowId}/${runId}`, stsRegion: STANDBY, identityKey: { kid: 'stub-kid' } });
      return runFailure(h.result());
    });
    expect(f.type).toBe('RequesterUnverified');
    expect(f.message).toContain('no proof arrived within 120s of the start');
    expect(f.record.phase).toBe('failed');
    // Nothing was read or changed: preflight never ran.
    expect(world.callsTo('describeDb')).toEqual([]);
    expect(world.mutations()).toEqual([]);
  });
});

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
