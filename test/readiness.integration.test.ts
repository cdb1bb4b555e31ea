/**
 * Readiness (docs/readiness.md) on the real Temporal dev server and moto: `drover check` evaluated by a worker, each
 * kind of drift injected into the emulator and reported by the next evaluation (naming the check and the fix), then
 * undone; scheduled evaluations that publish one SNS message per change of verdict (read back through SQS), none
 * when nothing changed; `drover readiness` listing them. The worker's permissions are checked on the IAM-enforcing
 * moto (test/iam-policy.integration.test.ts): this moto cannot simulate, which the check says (degraded).
 */
import fs from 'node:fs';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EKS } from '@aws-sdk/client-eks';
import { RDS } from '@aws-sdk/client-rds';
import { Route53 } from '@aws-sdk/client-route-53';
import { exec } from '../cli/main';
import { EXIT } from '../cli/io';
import { readinessScheduleId, type CheckResult, type ReadinessRun } from '../contracts/readiness';
import { seedRunbook } from '../infra/local/seed';
import type { Runbook } from '../runbooks/schema';
import { captureIO, eventually, onlyDatabase, prepareRunbook, testRunbooks } from './harness/fixtures';
import { DRILLS_ANY_TIME, drillOutcome, startDrill, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { subscribedTopic } from './harness/sns-queue';
import { recordHistory } from './harness/timeskipping';

const env = new IntegrationEnv();
const saved = { ...process.env };
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
const sdk = (region: string) => ({ region, endpoint: env.moto.endpoint, credentials: CREDS });

beforeAll(async () => {
  await env.start();
}, 120_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

/** `drover check FILE --json`: its exit code and evaluation. */
async function check(file: string, ...extra: string[]): Promise<{ code: number; run: ReadinessRun; text: string }> {
  const io = captureIO();
  const code = await exec(['check', file, '--json', ...extra], io);
  if (io.stdout.length === 0) throw new Error(`drover check printed nothing (exit ${code}): ${io.all()}`);
  return { code, run: JSON.parse(io.stdout.join('\n')) as ReadinessRun, text: io.all() };
}

const checkOf = (run: ReadinessRun, id: string): CheckResult => {
  const c = run.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${run.checks.map((x) => x.id).join(', ')}`);
  return c;
};

/** Every check's verdict, by id. */
const verdicts = (run: ReadinessRun) => Object.fromEntries(run.checks.map((c) => [c.id, c.verdict]));

/** The verdicts of a prepared ApnaKart variant on this moto: ready, but for the permissions moto cannot simulate and the EC2 quota it does not serve. */
function baseline(rb: Runbook): Record<string, string> {
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)?.name;
  return {
    [`alarms:${STANDBY}`]: 'ready',
    [`capacity:${cluster}`]: 'ready',
    [`controls:${PRIMARY}`]: 'ready',
    'drill-freshness': 'ready',
    permissions: 'degraded',
    [`probes:${STANDBY}`]: 'ready',
    // moto (5.2) serves Service Quotas for VPC only: EC2's quota is not read, which the check says.
    [`quotas:${STANDBY}`]: 'degraded',
    records: 'ready',
    'replica:main': 'ready',
    'runbook-drift': 'ready',
    'writer-record:main': 'ready',
  };
}

test('drover check: each kind of drift (replica deleted, node group max lowered, alarm removed, weight edited, runbook changed) is reported by the next evaluation with its fix; undone, the check is ready again', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-ready');
  await prepareRunbook(rb, env.moto.endpoint);
  useCli(env.moto.endpoint, taskQueue);
  const db = onlyDatabase(rb);
  const cluster = rb.compute.clusters.find((c) => c.region === STANDBY)!;
  const group = cluster.nodeGroups[0];
  await env.withWorker(taskQueue, async () => {
    const first = await check(file);
    expect(verdicts(first.run)).toEqual(baseline(rb));
    expect(first.run).toMatchObject({ runbook: rb.name, direction: 'failover', verdict: 'degraded' });
    expect(first.code).toBe(EXIT.DEGRADED);
    expect(checkOf(first.run, 'permissions').reasons.join(' ')).toMatch(/worker permissions not checked/);
    expect(checkOf(first.run, `quotas:${STANDBY}`).reasons).toEqual([expect.stringMatching(/^L-1216C47A not read: /)]);
    // The standby's zones were asked which offer the node groups' instance types (moto answers from AWS's own lists).
    expect(checkOf(first.run, `capacity:${cluster.name}`).reasons).toContainEqual(expect.stringMatching(new RegExp(`^instance type \\S+ offered in \\d+ zones? \\(${STANDBY}[a-z]`)));

    /** Inject a drift, check that the named check reports it with its fix, undo it, and check it is ready again. */
    const drift = async (what: string, id: string, inject: () => Promise<unknown>, undo: () => Promise<unknown>, expected: { verdict: string; reason: RegExp; fix: RegExp; code: number }) => {
      await inject();
      const after = await check(file);
      expect({ what, verdicts: verdicts(after.run) }).toEqual({ what, verdicts: { ...baseline(rb), [id]: expected.verdict } });
      const c = checkOf(after.run, id);
      expect(c.reasons.join('\n')).toMatch(expected.reason);
      expect(c.fix).toMatch(expected.fix);
      expect(after.code).toBe(expected.code);
      // The people's form names the check, its reason and its fix.
      const human = captureIO();
      expect(await exec(['check', file], human)).toBe(expected.code);
      expect(human.stdout.join('\n')).toMatch(new RegExp(`${expected.verdict === 'not-ready' ? 'NOT READY' : 'DEGRADED'} +${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(human.stdout.join('\n')).toContain(`fix: ${c.fix}`);
      await undo();
      expect({ what, undone: verdicts((await check(file)).run) }).toEqual({ what, undone: baseline(rb) });
    };

    await drift(
      'the replica deleted',
      'replica:main',
      () => deleteReplica(db.replica.identifier),
      () => seedRunbook(rb, env.config()),
      { verdict: 'not-ready', reason: new RegExp(`${db.replica.identifier} does not exist in ${STANDBY}`), fix: /CreateDBInstanceReadReplica/, code: EXIT.FAILED },
    );

    const eks = new EKS(sdk(STANDBY));
    // An update leaves the group UPDATING for a while (the fidelity rules, as EKS): the change is made once it is ACTIVE again.
    const scaling = async (maxSize: number) => {
      await eks.updateNodegroupConfig({ clusterName: cluster.name, nodegroupName: group.name, scalingConfig: { minSize: group.standby, desiredSize: group.standby, maxSize } });
      await eventually(async () => (await eks.describeNodegroup({ clusterName: cluster.name, nodegroupName: group.name })).nodegroup?.status === 'ACTIVE', `${group.name} ACTIVE again`);
    };
    const wanted = Math.max(group.active, group.max ?? 0);
    await drift('a standby node group\'s max lowered below active', `capacity:${cluster.name}`, () => scaling(group.active - 1), () => scaling(wanted), {
      verdict: 'degraded',
      reason: new RegExp(`node group ${group.name}'s maximum is ${group.active - 1}, below`),
      fix: new RegExp(`raise ${cluster.name}/${group.name}'s maxSize to ${wanted}`),
      code: EXIT.DEGRADED,
    });

    const alarm = rb.health.alarms[STANDBY][0];
    await drift('an alarm removed', `alarms:${STANDBY}`, () => new CloudWatch(sdk(STANDBY)).deleteAlarms({ AlarmNames: [alarm] }), () => seedRunbook(rb, env.config()), {
      verdict: 'not-ready',
      reason: new RegExp(`alarm ${alarm} in ${STANDBY} is MISSING`),
      fix: /create the alarm/,
      code: EXIT.FAILED,
    });

    // Judged as a failback while no failover is in effect: the standby is no writer.
    const back = await check(file, '--direction', 'failback');
    expect(back.code).toBe(EXIT.FAILED);
    expect(checkOf(back.run, 'writer:main')).toMatchObject({ verdict: 'not-ready', reasons: [expect.stringMatching(new RegExp(`^${db.replica.identifier} is still a read replica of \\S*${db.primary.identifier}: no failover of this database is in effect$`))] });

    const record = rb.dns.records.find((r) => r.routing === 'weighted')!;
    await drift('a weight edited by hand', 'records', () => setWeight(rb, record.name, record.targets[STANDBY].setIdentifier, 50), () => setWeight(rb, record.name, record.targets[STANDBY].setIdentifier, 0), {
      verdict: 'degraded',
      reason: new RegExp(`${record.name.replace(/\./g, '\\.')} sends 33% to ${STANDBY} \\(weights ${PRIMARY}=100, ${STANDBY}=50\\)`),
      fix: /put .* back/,
      code: EXIT.DEGRADED,
    });

    // The workers' copy changed (edited and deployed there) since this file was validated.
    const text = fs.readFileSync(file, 'utf8');
    await drift(
      'the workers\' runbook changed',
      'runbook-drift',
      async () => testRunbooks.put(rb.name, `${text}\n# edited on the workers\n`),
      async () => testRunbooks.put(rb.name, text),
      { verdict: 'degraded', reason: /the workers' copy .* is not the file this evaluation was asked for/, fix: /deploy the runbook to the workers/, code: EXIT.DEGRADED },
    );
  });
});

/**
 * Delete a database's standby replica, as someone cleaning up by hand might. moto answers 500 to deleting a cross-region
 * replica never promoted (test/failback-config.integration.test.ts), so it is promoted first, then deleted once the
 * fidelity rules have passed it through modifying and rebooting.
 */
async function deleteReplica(identifier: string): Promise<void> {
  const rds = new RDS(sdk(STANDBY));
  await rds.promoteReadReplica({ DBInstanceIdentifier: identifier });
  const busy = (e: unknown) => (/InvalidDBInstanceState/.test((e as Error).name) ? false : Promise.reject(e));
  await eventually(() => rds.deleteDBInstance({ DBInstanceIdentifier: identifier, SkipFinalSnapshot: true }).then(() => true, busy), `${identifier} deleted`);
}

/** Set the weight of one weighted record set, as someone editing it by hand in the console would. */
async function setWeight(rb: Runbook, name: string, setIdentifier: string, weight: number): Promise<void> {
  const route53 = new Route53(sdk('us-east-1'));
  const zoneId = (await route53.listHostedZonesByName({ DNSName: rb.dns.hostedZone })).HostedZones?.[0]?.Id;
  const set = ((await route53.listResourceRecordSets({ HostedZoneId: zoneId })).ResourceRecordSets ?? []).find((s) => s.Name?.replace(/\.$/, '') === name && s.SetIdentifier === setIdentifier);
  if (!set) throw new Error(`test fixture: no set ${setIdentifier} of ${name}`);
  await route53.changeResourceRecordSets({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { ...set, Weight: weight } }] } });
}

test('drill freshness against drills.maxAge; a drill refuses while a check is not ready, naming the check and its fix', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-ready-drill', [[['drills'], { ...(DRILLS_ANY_TIME[1] as object), maxAge: '1h' }]]);
  await prepareRunbook(rb, env.moto.endpoint);
  useCli(env.moto.endpoint, taskQueue);
  const db = onlyDatabase(rb);
  await env.withWorker(taskQueue, async () => {
    const none = checkOf((await check(file)).run, 'drill-freshness');
    expect(none).toMatchObject({ verdict: 'degraded', reasons: ['no successful drill on record; drills.maxAge is 1h'] });
    expect(none.fix).toMatch(/run a drill \(drover drill run RUNBOOK\)/);

    // The replica gone: the drill refuses before it changes anything, with the check and its fix.
    await deleteReplica(db.replica.identifier);
    const refusedId = await startDrill(file);
    const refused = await drillOutcome(env.client, refusedId);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/readiness.integration.test.ts -t 'drill freshness'` records both drills for the replay tests.
    await recordHistory(env.client.workflow.getHandle(refusedId), 'drill-readiness-refused.json');
    expect(refused.phase).toBe('refused');
    expect(refused.refusals).toEqual([expect.stringMatching(new RegExp(`^readiness: replica:main is not ready \\(${db.replica.identifier} does not exist in ${STANDBY}\\); fix: re-create the cross-region read replica`))]);
    expect(refused.failover).toBeUndefined();
    await seedRunbook(rb, env.config());

    const passedId = await startDrill(file);
    const passed = await drillOutcome(env.client, passedId);
    await recordHistory(env.client.workflow.getHandle(passedId), 'drill-readiness.json');
    expect(passed.phase).toBe('completed');
    const fresh = checkOf((await check(file)).run, 'drill-freshness');
    expect(fresh.verdict).toBe('ready');
    expect(fresh.reasons[0]).toMatch(/^the last successful drill ended \S+ \(\d+(ms|s|m) ago\), within drills\.maxAge 1h$/);

    // The same drill, now older than a maxAge of 1 s (the file and the workers' copy both say so: no drift).
    const text = fs.readFileSync(file, 'utf8').replace(/maxAge: 1h/, 'maxAge: 1s');
    expect(text).toContain('maxAge: 1s');
    fs.writeFileSync(file, text);
    testRunbooks.put(rb.name, text);
    await new Promise((r) => setTimeout(r, 1100));
    const old = await check(file);
    expect(checkOf(old.run, 'drill-freshness')).toMatchObject({ verdict: 'degraded', reasons: [expect.stringMatching(/^the last successful drill ended \S+ \(\d+(s|m) ago\); drills\.maxAge is 1s$/)] });
    expect(checkOf(old.run, 'runbook-drift').verdict).toBe('ready');
  });
});

interface ReadinessMessage {
  event: string;
  runbook: string;
  workflowId: string;
  at: string;
  verdict: string;
  changed: string[];
  overall?: { from: string; to: string };
  checks: Array<{ id: string; verdict: string; reasons: string[]; fix?: string }>;
}

test('scheduled evaluations publish one message per change of verdict and none when nothing changed; drover readiness lists them and when each check last changed', async () => {
  const topic = await subscribedTopic<ReadinessMessage>(env.moto.endpoint, STANDBY, (a, b) => a.at.localeCompare(b.at));
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-ready-sched', [[['notifications'], { snsTopicArn: topic.topicArn }]]);
  await prepareRunbook(rb, env.moto.endpoint);
  useCli(env.moto.endpoint, taskQueue);
  const alarm = rb.health.alarms[STANDBY][0];
  const scheduleId = readinessScheduleId(rb.name);
  await env.withWorker(taskQueue, async () => {
    const created = captureIO();
    expect(await exec(['readiness', 'schedule', file, '--every', '1h'], created)).toBe(0);
    expect(created.stdout[0]).toBe(`created schedule ${scheduleId}: every 1h, overlap SKIP`);
    let done = 0;
    let latest = { workflowId: '', firstExecutionRunId: '' };
    /** Trigger the schedule and wait for that evaluation to complete. */
    const evaluate = async () => {
      await env.client.schedule.getHandle(scheduleId).trigger();
      done++;
      return eventually(async () => {
        const d = await env.client.schedule.getHandle(scheduleId).describe();
        if (d.info.runningActions.length > 0) return undefined;
        const recent = d.info.recentActions.map((a) => a.action.workflow);
        if (recent.length < done) return undefined;
        const last = recent[recent.length - 1];
        latest = last;
        return (await env.client.workflow.getHandle(last.workflowId, last.firstExecutionRunId).result()) as ReadinessRun;
      }, `scheduled evaluation ${done}`);
    };
    // The first: degraded (moto cannot simulate the worker's permissions), so said.
    const first = await evaluate();
    expect(first).toMatchObject({ trigger: 'schedule', verdict: 'degraded', change: { notified: true } });
    // Nothing changed: nothing published.
    const second = await evaluate();
    expect(second.change).toMatchObject({ changed: [], notified: false, why: 'no verdict changed' });
    await new CloudWatch(sdk(STANDBY)).deleteAlarms({ AlarmNames: [alarm] });
    const broken = await evaluate();
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/readiness.integration.test.ts -t 'scheduled evaluations'` records it for the replay tests.
    await recordHistory(env.client.workflow.getHandle(latest.workflowId, latest.firstExecutionRunId), 'readiness-scheduled-change.json');
    expect(broken.change).toMatchObject({ changed: [`alarms:${STANDBY}: ready -> not-ready`], overall: { from: 'degraded', to: 'not-ready' }, notified: true });
    await seedRunbook(rb, env.config());
    const mended = await evaluate();
    expect(mended.change).toMatchObject({ changed: [`alarms:${STANDBY}: not-ready -> ready`], overall: { from: 'not-ready', to: 'degraded' }, notified: true });

    // A workflow started by hand under the schedule's name, claiming to be scheduled, with a direction that changes every
    // check's id: the schedule did not start it, so it is a check, compared with nothing and published nowhere.
    const forged = await env.client.workflow.execute('readiness', { taskQueue, workflowId: `readiness-${rb.name}-scheduled-forged`, args: [{ runbookRef: { name: rb.name, digest: 'sha256:0' }, trigger: 'schedule', direction: 'failback' }] });
    expect(forged).toMatchObject({ trigger: 'check', direction: 'failback' });
    expect(forged).not.toHaveProperty('change');

    const messages = await topic.receive(3);
    expect(messages.map((m) => [m.subject, m.body.changed])).toEqual([
      [`drover readiness ${rb.name}: none -> degraded`, expect.arrayContaining([`permissions: none -> degraded`])],
      [`drover readiness ${rb.name}: degraded -> not-ready`, [`alarms:${STANDBY}: ready -> not-ready`]],
      [`drover readiness ${rb.name}: not-ready -> degraded`, [`alarms:${STANDBY}: not-ready -> ready`]],
    ]);
    expect(messages[1].body.checks).toContainEqual(expect.objectContaining({ id: `alarms:${STANDBY}`, verdict: 'not-ready', fix: expect.stringContaining('create the alarm') }));

    const listed = captureIO();
    expect(await exec(['readiness', rb.name, '--history', '10', '--json'], listed)).toBe(EXIT.DEGRADED);
    const history = JSON.parse(listed.stdout.join('\n')) as { checks: Record<string, { verdict: string; since?: string }>; evaluations: ReadinessRun[] };
    expect(history.evaluations.map((e) => e.verdict)).toEqual(['degraded', 'not-ready', 'degraded', 'degraded']);
    // The alarms check is ready since the last evaluation; the records have been ready since before the first shown.
    expect(history.checks[`alarms:${STANDBY}`]).toEqual({ verdict: 'ready', since: mended.evaluatedAt });
    expect(history.checks.records).toEqual({ verdict: 'ready' });
    const human = captureIO();
    expect(await exec(['readiness', file], human)).toBe(EXIT.DEGRADED);
    expect(human.stdout).toContain(`  alarms:${STANDBY}: READY since ${mended.evaluatedAt}`);

    expect(await exec(['readiness', 'unschedule', rb.name], captureIO())).toBe(0);
    const gone = captureIO();
    expect(await exec(['readiness', 'unschedule', rb.name], gone)).toBe(EXIT.NOT_FOUND);
  });
});
