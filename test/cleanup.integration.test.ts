/**
 * `drover cleanup` end to end on the Temporal dev server and moto: it lists what failbacks and drills kept
 * (and only that), selects by age, refuses a deletion that says no age, and deletes in an audited run, each
 * instance after a final snapshot that stays; what is younger, or not drover's, is left alone.
 */
import { RDS } from '@aws-sdk/client-rds';
import { exec } from '../cli/main';
import { RETAINED_AT_TAG, RETAINED_TAG } from '../activities/dblifecycle';
import type { RunStatus } from '../contracts/run';
import { captureIO, eventually, onlyDatabase, refOf } from './harness/fixtures';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { testTemporalAddress } from './harness/servers';

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

beforeAll(() => env.start());
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

async function cli(args: string[]) {
  const io = captureIO();
  const code = await exec(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

const rds = (region: string) => new RDS({ region, endpoint: env.moto.endpoint, credentials: CREDS });

/** A seeded ApnaKart variant the in-process CLI points at, and its one database. */
async function seededForCli(prefix: string, set?: Array<[Array<string | number>, unknown]>) {
  const seeded = await env.seeded(prefix, set);
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.DROVER_TASK_QUEUE = seeded.taskQueue;
  return { ...seeded, db: onlyDatabase(seeded.runbook) };
}

/** An instance as a failback leaves it, in the emulator: named and tagged as given. */
function seed(region: string, identifier: string, tags: Record<string, string>) {
  return rds(region).createDBInstance({ DBInstanceIdentifier: identifier, DBInstanceClass: 'db.t3.micro', Engine: 'postgres', MasterUsername: 'apnakart', MasterUserPassword: 'not-a-secret-1', AllocatedStorage: 20, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
}

describe('drover cleanup', () => {
  test('lists the retained instances with their ages and reasons, selects by --older-than, and deletes only those, each after a final snapshot, in an audited run', async () => {
    // Without ApnaKart's retainFor: only --older-than selects.
    const { file, runbook: rb, taskQueue, db } = await seededForCli('ak-cl', [[['database', 'retainFor'], undefined]]);
    const now = Date.now();
    const old = `${db.primary.identifier}-old-202611010000-aa11`;
    const young = `${db.replica.identifier}-old-202612040000-bb22`;
    const lookalike = `${db.primary.identifier}-old-202610010000-cc33`;
    await seed(PRIMARY, old, { [RETAINED_TAG]: `old primary replaced by failback failback-${rb.name} split-brain forensics`, [RETAINED_AT_TAG]: new Date(now - 10 * 86_400_000).toISOString() });
    await seed(STANDBY, young, { [RETAINED_TAG]: `writer replaced by failback failback-${rb.name}`, [RETAINED_AT_TAG]: new Date(now - 27 * 3_600_000).toISOString() });
    await seed(PRIMARY, lookalike, {});
    const exists = async (region: string, id: string) => ((await rds(region).describeDBInstances({})).DBInstances ?? []).some((d) => d.DBInstanceIdentifier === id);

    const oldLine = `  ${old} (${PRIMARY}) db.t3.micro available, retained 10d00h ago: old primary replaced by failback failback-${rb.name} split-brain forensics`;
    const youngLine = `  ${young} (${STANDBY}) db.t3.micro available, retained 1d03h ago: writer replaced by failback failback-${rb.name}`;
    const listed = await cli(['cleanup', file]);
    expect(listed).toEqual({
      code: 0,
      out: [`${rb.name}: 2 retained instances (each costs as a running instance until deleted)`, oldLine, '    keep: no retainFor in the runbook and no --older-than', youngLine, '    keep: no retainFor in the runbook and no --older-than'],
      err: [],
    });

    const selected = await cli(['cleanup', file, '--older-than', '7d']);
    expect(selected.out).toEqual([
      `${rb.name}: 2 retained instances (each costs as a running instance until deleted)`,
      oldLine,
      '    delete, after a final snapshot: retained 10d00h ago, at least 7d00h (--older-than)',
      youngLine,
      '    keep: retained 1d03h ago, younger than 7d00h (--older-than)',
      `to delete it (each after a final snapshot): drover cleanup ${file} --older-than 7d --delete --reason TEXT`,
    ]);

    // A deletion that says no age, or no reason, is refused before anything is read.
    expect(await cli(['cleanup', file, '--delete', '--reason', 'tidy up'])).toEqual({
      code: 2,
      out: [],
      err: ['drover: invalid options', `  --older-than: required with --delete: no database of ${rb.name} sets retainFor, so nothing says how old is old enough (--older-than 0s selects all)`],
    });
    expect((await cli(['cleanup', file, '--older-than', '7d', '--delete'])).err).toEqual(['drover: invalid options', '  --reason: required with --delete (at least 3 characters): why (recorded in the audit trail)']);
    expect([await exists(PRIMARY, old), await exists(STANDBY, young)]).toEqual([true, true]);

    // ApnaKart's approvals list the cleanup gate: the run waits for an approver other than its requester.
    const deleted = await env.withWorker(taskQueue, async () => {
      const started = await cli(['cleanup', file, '--older-than', '7d', '--delete', '--reason', 'quarterly cleanup', '--requested-by', 'sre-meera', '--detach']);
      expect(started.code).toBe(0);
      const handle = env.client.workflow.getHandle(`cleanup-${rb.name}`);
      await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate?.name === 'cleanup', 'the cleanup gate');
      expect([await exists(PRIMARY, old), await exists(STANDBY, young)]).toEqual([true, true]);
      expect((await cli(['approve', `cleanup-${rb.name}`, '--gate', 'cleanup', '--as', 'ic-priya'])).code).toBe(0);
      return (await handle.result()) as RunStatus;
    });
    expect(deleted.phase).toBe('completed');
    const tag = deleted.runId.replace(/-/g, '').slice(-8);
    expect([await exists(PRIMARY, old), await exists(STANDBY, young), await exists(PRIMARY, lookalike)]).toEqual([false, true, true]);
    const snapshots = (await rds(PRIMARY).describeDBSnapshots({ DBSnapshotIdentifier: `${old}-final-${tag}` })).DBSnapshots ?? [];
    expect(snapshots.map((s) => [s.DBSnapshotIdentifier, s.DBInstanceIdentifier, s.Status])).toEqual([[`${old}-final-${tag}`, old, 'available']]);

    const status = await cli(['status', `cleanup-${rb.name}`, '--json']);
    const run = JSON.parse(status.out.join('\n')) as RunStatus;
    expect({ kind: run.kind, phase: run.phase, reason: run.reason }).toEqual({ kind: 'cleanup', phase: 'completed', reason: 'quarterly cleanup' });
    expect(run.steps.map((s) => [s.id, s.status, s.notes])).toEqual([
      ['find', 'done', [`${old} (${PRIMARY}): delete, retained 10d00h ago, at least 7d00h (--older-than)`, `${young} (${STANDBY}): keep, retained 1d03h ago, younger than 7d00h (--older-than)`]],
      ['gate:cleanup', 'done', ['approved by ic-priya (unverified)']],
      ['delete', 'done', [`${old}: final snapshot ${old}-final-${tag} (available)`, `${old}: deletion requested`, `${old}: deleted; snapshot ${old}-final-${tag} stays`]],
    ]);
    // The run's audit trail verifies against its Temporal record.
    const verified = await cli(['audit', 'verify', `cleanup-${rb.name}`]);
    expect(verified.code).toBe(0);
    expect(verified.out[0]).toMatch(new RegExp(`^audit of cleanup-${rb.name} verified: \\d+ events, head [0-9a-f]{64}$`));

    // With a retainFor (ApnaKart's 14d), a listing judges by it.
    const { file: withTtl, runbook: ttl } = await env.seeded('ak-clt');
    const ttlDb = onlyDatabase(ttl);
    await seed(PRIMARY, `${ttlDb.primary.identifier}-old-202611010000-dd44`, { [RETAINED_TAG]: 'failback', [RETAINED_AT_TAG]: new Date(now - 15 * 86_400_000).toISOString() });
    await seed(PRIMARY, `${ttlDb.primary.identifier}-old-202611020000-ee55`, { [RETAINED_TAG]: 'failback', [RETAINED_AT_TAG]: new Date(now - 13 * 86_400_000).toISOString() });
    expect((await cli(['cleanup', withTtl])).out.filter((l) => l.startsWith('    '))).toEqual([
      '    delete, after a final snapshot: retained 15d00h ago, at least 14d00h (retainFor)',
      '    keep: retained 13d00h ago, younger than 14d00h (retainFor)',
    ]);

    // The run deletes only what its requester was shown: an instance old enough but not in that list stays.
    const other = `${db.primary.identifier}-old-202611050000-ff66`;
    await seed(PRIMARY, other, { [RETAINED_TAG]: 'failback', [RETAINED_AT_TAG]: new Date(now - 9 * 86_400_000).toISOString() });
    const shown = await env.withWorker(taskQueue, () =>
      env.client.workflow.execute('cleanupRetained', {
        taskQueue,
        workflowId: `cleanup-${rb.name}`,
        args: [{ runbookRef: refOf(rb), reason: 'shown list only', requestedBy: 'sre-meera', olderThanMs: 0, selected: [{ region: STANDBY, identifier: young }, { region: STANDBY, identifier: `${young}-gone` }], options: { approvalTimeoutMs: 1 } }],
      }),
    ).catch((e: unknown) => e);
    // The gate asked (and timed out: nobody approved), so nothing was deleted; what it chose is in its record.
    expect([await exists(PRIMARY, other), await exists(STANDBY, young)]).toEqual([true, true]);
    const record = await cli(['status', `cleanup-${rb.name}`, '--json']);
    const chose = (JSON.parse(record.out.join('\n')) as RunStatus).steps.find((x) => x.id === 'find')?.notes;
    expect(chose).toEqual([
      `${young}-gone (${STANDBY}): shown to the requester, not found retained by this run: left alone`,
      `${other} (${PRIMARY}): keep, not in the list the requester was shown (retained 9d00h ago, at least 0s (--older-than))`,
      `${young} (${STANDBY}): delete, retained 1d03h ago, at least 0s (--older-than)`,
    ]);
    expect(shown).toBeInstanceOf(Error);

    // Nothing old enough is left: no run is started.
    expect(await cli(['cleanup', file, '--older-than', '10d', '--delete', '--reason', 'quarterly cleanup'])).toEqual({
      code: 0,
      out: [
        `${rb.name}: 2 retained instances (each costs as a running instance until deleted)`,
        `  ${other} (${PRIMARY}) db.t3.micro available, retained 9d00h ago: failback`,
        '    keep: retained 9d00h ago, younger than 10d00h (--older-than)',
        youngLine,
        '    keep: retained 1d03h ago, younger than 10d00h (--older-than)',
        'nothing to delete: no run was started',
      ],
      err: [],
    });
  });

  test('one instance refused at its deletion (protection turned on while the run waited at its gate) leaves the other to be deleted; the run fails naming it, and records what it deleted', async () => {
    const { file, runbook: rb, taskQueue, db } = await seededForCli('ak-clp');
    const ids = [`${db.primary.identifier}-old-202611010000-aa11`, `${db.primary.identifier}-old-202611020000-bb22`];
    for (const id of ids) await seed(PRIMARY, id, { [RETAINED_TAG]: 'failback', [RETAINED_AT_TAG]: new Date(Date.now() - 30 * 86_400_000).toISOString() });
    const record = await env.withWorker(taskQueue, async () => {
      expect((await cli(['cleanup', file, '--delete', '--reason', 'monthly cleanup', '--requested-by', 'sre-meera', '--detach'])).code).toBe(0);
      const handle = env.client.workflow.getHandle(`cleanup-${rb.name}`);
      await eventually(async () => (await handle.query<RunStatus>('status')).pendingGate?.name === 'cleanup', 'the cleanup gate');
      await rds(PRIMARY).modifyDBInstance({ DBInstanceIdentifier: ids[0], DeletionProtection: true, ApplyImmediately: true });
      expect((await cli(['approve', `cleanup-${rb.name}`, '--gate', 'cleanup', '--as', 'ic-priya'])).code).toBe(0);
      return (await cli(['status', `cleanup-${rb.name}`, '--watch', '--json'])).out;
    });
    const final = JSON.parse(record.join('\n')) as RunStatus;
    const tag = final.runId.replace(/-/g, '').slice(-8);
    expect(final.phase).toBe('failed');
    expect(final.error).toEqual({ type: 'InvalidState', message: `1 of 2 not deleted: ${ids[0]} (${PRIMARY}): DB instance ${ids[0]} in ${PRIMARY} has deletion protection: turn it off to let cleanup delete it` });
    expect(final.compensations).toEqual([`deleted ${ids[1]} (${PRIMARY}); snapshot ${ids[1]}-final-${tag} stays`]);
    const left = ((await rds(PRIMARY).describeDBInstances({})).DBInstances ?? []).map((d) => d.DBInstanceIdentifier).filter((id) => ids.includes(id as string));
    expect(left).toEqual([ids[0]]);
  });

  test('a cleanup is not started while a drill of the runbook runs (exit 3), and nothing is deleted', async () => {
    const { file, runbook: rb, taskQueue, db } = await seededForCli('ak-cld');
    const id = `${db.primary.identifier}-old-202611010000-aa11`;
    await seed(PRIMARY, id, { [RETAINED_TAG]: 'failback' });
    // A drill no worker runs: open in Temporal's visibility, as a drill mid-failback is.
    const drillId = `drill-${rb.name}-held`;
    await env.client.workflow.start('drill', { taskQueue: `${taskQueue}-nobody`, workflowId: drillId, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-meera' }], memo: { runbook: rb.name } });
    try {
      await eventually(async () => {
        for await (const w of env.client.workflow.list({ query: `WorkflowId = '${drillId}' AND ExecutionStatus = 'Running'` })) return w.workflowId === drillId;
        return false;
      }, 'the drill in visibility');
      expect(await cli(['cleanup', file, '--older-than', '0s', '--delete', '--reason', 'during a drill'])).toEqual({
        code: 3,
        out: [],
        err: [
          `${rb.name}: 1 retained instance (each costs as a running instance until deleted)`,
          expect.stringMatching(new RegExp(`^ {2}${id} \\(${PRIMARY}\\) db\\.t3\\.micro available, retained \\S+ ago: failback$`)),
          expect.stringMatching(/^ {4}delete, after a final snapshot: retained \S+ ago, at least 0s \(--older-than\)$/),
          `drover: a drill of ${rb.name} is running (${drillId}); one run per runbook at a time, so this cleanup was not started`,
        ],
      });
      expect(((await rds(PRIMARY).describeDBInstances({})).DBInstances ?? []).some((d) => d.DBInstanceIdentifier === id)).toBe(true);
    } finally {
      await env.client.workflow.getHandle(drillId).terminate('test over');
    }
  });
});
