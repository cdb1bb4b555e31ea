/**
 * The readiness workflow's notifications (workflows/readiness.ts) on the time-skipping test server, its activities
 * stubbed: a run its schedule does not confirm publishes nothing; a change is published once; a publish that fails
 * keeps what the topic last heard, so the next evaluation tells the change again; a first publish that fails leaves
 * nothing heard.
 */
import type { Activities } from '../activities';
import type { CheckResult, ReadinessResult, ReadinessRun, Verdict } from '../contracts/readiness';
import { StubWorld } from './harness/stubs';
import { timeSkippingPerFile, withRun, workflowTestRunbook } from './harness/timeskipping';

const env = timeSkippingPerFile();
const TOPIC = 'arn:aws:sns:ap-southeast-1:123456789012:drover-readiness';

/** A world whose evaluations answer `verdicts`, whose schedule confirms `confirmed`, and whose notify fails `failing` times. */
class ReadinessWorld extends StubWorld {
  verdicts: Record<string, Verdict> = {};
  confirmed = true;
  failing = 0;
  previous: { workflowId: string; result: ReadinessRun } | null = null;
  published: Array<{ subject: string; message: Record<string, unknown> }> = [];
  override activities(): Partial<Activities> {
    const result = (): ReadinessResult => {
      const checks: CheckResult[] = Object.entries(this.verdicts).map(([id, verdict]) => ({ id, title: id, verdict, reasons: [`${id} ${verdict}`] }));
      const order: Verdict[] = ['ready', 'degraded', 'not-ready'];
      const verdict = checks.reduce<Verdict>((w, c) => (order.indexOf(c.verdict) > order.indexOf(w) ? c.verdict : w), 'ready');
      return { runbook: this.rb.name, digest: 'sha256:0', direction: 'failover', directionReason: 'stub', evaluatedAt: new Date().toISOString(), verdict, checks };
    };
    return {
      ...super.activities(),
      confirmScheduled: async () => this.confirmed,
      evaluateReadiness: async () => result(),
      previousReadiness: async () => this.previous,
      readinessTopic: async () => TOPIC,
      notify: async (input) => {
        if (this.failing > 0) {
          this.failing--;
          throw new Error('SNS is down');
        }
        this.published.push({ subject: input.subject, message: JSON.parse(input.message) as Record<string, unknown> });
        return { messageId: `m-${this.published.length}` };
      },
    };
  }
}

let seq = 0;
async function evaluate(world: ReadinessWorld, trigger: 'check' | 'schedule' = 'schedule'): Promise<ReadinessRun> {
  const run = (await withRun(env(), world, { workflowType: 'readiness', workflowId: `readiness-${world.rb.name}-scheduled-${++seq}`, args: [{ runbookRef: { name: world.rb.name, digest: 'sha256:0' }, trigger }] }, (h) => h.result())) as ReadinessRun;
  // The schedule's next evaluation finds this one as its predecessor.
  world.previous = { workflowId: `readiness-${world.rb.name}-scheduled-${seq}`, result: run };
  return run;
}

test('a change is published once; a publish that fails keeps what was heard, and the next evaluation tells the change again', async () => {
  const world = new ReadinessWorld(workflowTestRunbook('wf-ready'));
  world.verdicts = { alarms: 'ready', records: 'ready' };
  // The schedule's first evaluation, ready: nothing to tell, and ready is what is heard.
  expect((await evaluate(world)).change).toEqual({ changed: ['alarms: none -> ready', 'records: none -> ready'], notified: false, why: 'the first evaluation, and ready', told: { alarms: 'ready', records: 'ready' } });

  world.verdicts = { alarms: 'not-ready', records: 'ready' };
  world.failing = 5; // every attempt the notifications proxy makes (workflows/proxies.ts: 5)
  const lost = await evaluate(world);
  expect(lost.change).toMatchObject({ changed: ['alarms: ready -> not-ready'], notified: false, why: expect.stringMatching(/^the publish failed: .*SNS is down/), told: { alarms: 'ready', records: 'ready' } });
  expect(world.published).toEqual([]);

  // Still not ready: the change nobody heard is told now.
  const told = await evaluate(world);
  expect(told.change).toMatchObject({ changed: ['alarms: ready -> not-ready'], overall: { from: 'ready', to: 'not-ready' }, notified: true, told: { alarms: 'not-ready', records: 'ready' } });
  expect(world.published.map((p) => [p.subject, p.message.changed])).toEqual([[`drover readiness ${world.rb.name}: ready -> not-ready`, ['alarms: ready -> not-ready']]]);

  // Nothing changed since: nothing published.
  expect((await evaluate(world)).change).toMatchObject({ changed: [], notified: false, why: 'no verdict changed' });
  expect(world.published).toHaveLength(1);
});

test('a run its schedule did not start is a check: compared with nothing, publishing nothing; a failed first publish leaves nothing heard', async () => {
  const world = new ReadinessWorld(workflowTestRunbook('wf-ready-forged'));
  world.verdicts = { alarms: 'not-ready' };
  world.confirmed = false;
  const forged = await evaluate(world);
  expect(forged.trigger).toBe('check');
  expect(forged).not.toHaveProperty('change');
  expect(world.published).toEqual([]);

  world.confirmed = true;
  world.previous = null;
  world.failing = 5; // every attempt the notifications proxy makes (workflows/proxies.ts: 5)
  const first = await evaluate(world);
  expect(first.change).toMatchObject({ notified: false, why: expect.stringMatching(/^the publish failed/) });
  expect(first.change).not.toHaveProperty('told');
  // The next is then the first heard: it publishes (not ready), as the schedule's first would.
  const again = await evaluate(world);
  expect(again.change).toMatchObject({ changed: ['alarms: none -> not-ready'], notified: true });
  expect(world.published.map((p) => p.subject)).toEqual([`drover readiness ${world.rb.name}: none -> not-ready`]);
});
