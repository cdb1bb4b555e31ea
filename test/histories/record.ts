/**
 * Record workflow histories for the replay tests to guard (a drill with its failover and failback
 * children; a real failover with its promotion child; a failback), writing new files next to this one:
 *   npx tsx test/histories/record.ts
 * Older histories are kept, never re-recorded, to prove old runs still replay: failover-planned.json
 * predates the promote-as-child patch; failover-planned-child.json, promote-planned.json and
 * failback.json predate drills (the preempt-drills and shift-from-current-v1 patches).
 *   npx tsx test/histories/record.ts multi-database
 * records only a failover and a failback of ApnaKart with three databases (failover-multi-database.json,
 * failback-multi-database.json), leaving every other file as it is.
 *   npx tsx test/histories/record.ts worker-runbooks
 * records only a drill (its failover and failback children) and a failover since worker-owned runbooks and
 * approvals-v2 (runbook by reference, resolved by the worker; drill link from the parent; the requester
 * step): drill-worker-runbooks*.json and failover-worker-runbooks.json.
 *   npx tsx test/histories/record.ts preflight-endpoints
 * records only a failover since its preflight checks the target's probes and the writer records
 * (preflight-endpoints-v1): failover-preflight-endpoints.json.
 *   npx tsx test/histories/record.ts cleanup
 * records only a drill whose failback deletes what it replaced (drill-retention-v1):
 * drill-retention-failback.json; then a real failover and failback, which keep what they replace, and a
 * cleanup, approved at its gate, that deletes those (cleanup.json).
 *   npx tsx test/histories/record.ts cancel
 * records only a drill cancelled during its failover (drill-cancelled*.json: its rollback checks for a fence
 * left behind, drill-unfences-v1), then a real failover's promotion (promote-fence-compensation.json,
 * fence-compensation-v1 and resume-promoted-v1) and a failback (failback-undo-before-scale.json, undo-before-scale-v1).
 *   npx tsx test/histories/record.ts negative-lag
 * records only a planned failover refused at preflight because the replica reports ReplicaLag -1
 * (replication not running, negative-lag-v1): failover-negative-lag.json.
 *   npx tsx test/histories/record.ts answer-like-aws
 * records only a planned failover and a failback since issue 24's patches: the writer record's change on `long`
 * (upsert-on-long-v1), alarms read under the INSUFFICIENT_DATA policy (alarm-insufficient-data-v1), a primary
 * passing through a state noted at preflight (rds-passing-states-v1: a snapshot just taken leaves it backing-up):
 * failover-answer-like-aws.json, failback-answer-like-aws.json.
 *   npx tsx test/histories/record.ts region-loss
 * records only drover prepare's controls, an unplanned failover through them (data-plane-unplanned-v1) and a failback
 * that restores them (restore-controls-v1): failover-region-loss.json, failback-region-loss.json.
 *   npx tsx test/histories/record.ts restore-by-data
 * records the same, the control made by the primary-only prepare, and the failback's restore under
 * restore-controls-v2 (it follows the alarm's data): failover-restore-by-data.json, failback-restore-by-data.json.
 *   npx tsx test/histories/record.ts replica-kms
 * records only a failover and a failback since the failback reads the writer's key and fence at its assessment
 * (replica-kms-v1, failback-refuses-switched-v1): failback-replica-kms.json.
 *   npx tsx test/histories/record.ts lock
 * records only a drill, a real failover and a failback since each takes the runbook's lock (runbook-lock-v1):
 * drill-lock*.json, failover-lock.json, failback-lock.json, and the lock's own history (runbook-lock.json).
 * Run it only for an intended, compatible workflow change (and say so in the commit); an
 * incompatible change needs workflow versioning (patched()) instead.
 */
import fs from 'node:fs';
import { workerSinks } from '../../cli/worker';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createAwsClients } from '../../aws/clients';
import { MemoryRunbookSource } from '../../runbooks/source';
import { pointProbesAt, startLagFeeders, startRegionApps } from '../../infra/local/apps';
import { seedRunbook } from '../../infra/local/seed';
import { behindFidelityProxy, startMoto, startTemporal } from '../../infra/local/stack';
import { AWS_FIDELITY_RULES, rdsInstanceStates } from '../../infra/faults/fidelity';
import { loadRunbookFile } from '../../runbooks/load';
import { databasesOf, dbIn } from '../../runbooks/databases';
import { createDbLifecycleActivities } from '../../activities/dblifecycle';
import { prepareControls } from '../../activities/controls';
import { DAYS, type Runbook } from '../../runbooks/schema';
import { approveUpdate } from '../../contracts/messages';

/** The recording worker's runbooks: runs name them, the worker runs its copy. */
const recorded = new MemoryRunbookSource('record');
import type { RunStatus } from '../../contracts/run';

/** ApnaKart with three databases (orders, payments, catalog) in place of its one, writer records in its zone. */
function threeDatabases(rb: Runbook): Runbook {
  const [db] = databasesOf(rb);
  const databases = ['orders', 'payments', 'catalog'].map((name) => ({
    ...db,
    name,
    primary: { identifier: `apnakart-${name}-mumbai` },
    replica: { identifier: `apnakart-${name}-singapore` },
    writerRecord: { ...db.writerRecord, name: `${name}-db.apnakart.com` },
  }));
  return { ...rb, database: undefined, databases };
}

async function main(which: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-record-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  // Behind the fidelity rules, as the tests' moto: drover reads a promotion as RDS answers it (moto keeps the source).
  // For answer-like-aws, RDS's passing states last 3 s (not 250 ms), so the preflight surely reads one.
  const rules = which === 'answer-like-aws' ? AWS_FIDELITY_RULES.map((r) => (r.id === 'rds-instance-states' ? rdsInstanceStates({ phaseMs: 3000 }) : r)) : AWS_FIDELITY_RULES;
  const moto = await behindFidelityProxy(await startMoto(), rules);
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  try {
    const loaded = loadRunbookFile(path.join(__dirname, '../../runbooks/apnakart.yaml'));
    if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
    const pointed = pointProbesAt(loaded.runbook, apps.apps);
    const rb = which === 'multi-database' ? threeDatabases(pointed) : pointed;
    const config = { endpoint: moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
    await seedRunbook(rb, config);
    // moto does not replicate: publish ReplicaLag 0 for both names of every database, as RDS would.
    const replicas = new Set(databasesOf(rb).map((d) => d.replica.identifier));
    const lagOf = (id: string) => (which === 'negative-lag' && replicas.has(id) ? -1 : 0);
    const feeders = startLagFeeders({ endpoint: moto.endpoint, rb, regions: [rb.regions.standby, rb.regions.primary], lagSeconds: lagOf });
    const connection = await NativeConnection.connect({ address: temporal.address });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    const worker = await Worker.create({ sinks: workerSinks(), connection, taskQueue: 'record', workflowsPath: require.resolve('../../workflows'), activities: createActivities({ aws: createAwsClients(config), temporal: () => client, runbooks: recorded }) });
    const save = async (workflowId: string, file: string) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      fs.writeFileSync(path.join(__dirname, file), historyToJSON(history));
    };
    const approveAndWait = async (workflowId: string, gate: string) => {
      const handle = client.workflow.getHandle(workflowId);
      for (;;) {
        const s = await handle.query<RunStatus>('status');
        if (s.pendingGate) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.executeUpdate(approveUpdate, { args: [{ gate, approver: 'ic-priya', comment: 'recorded' }] });
      await handle.result();
    };
    await worker.runUntil(async () => {
      const options = { timeScale: 0.01 };
      /** A real planned failover, then a failback, of `runbook`, each approved at its gate and run to its end. */
      const failover = async (runbook: Runbook) => {
        await client.workflow.start('regionFailover', { taskQueue: 'record', workflowId: 'failover-apnakart', args: [{ runbookRef: recorded.putRunbook(runbook), targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
        await approveAndWait('failover-apnakart', 'failover');
      };
      const failback = async (runbook: Runbook) => {
        await client.workflow.start('failback', { taskQueue: 'record', workflowId: 'failback-apnakart', args: [{ runbookRef: recorded.putRunbook(runbook), reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
        await approveAndWait('failback-apnakart', 'failback');
      };
      if (which === 'multi-database') {
        await failover(rb);
        await save('failover-apnakart', 'failover-multi-database.json');
        await failback(rb);
        await save('failback-apnakart', 'failback-multi-database.json');
        return;
      }
      if (which === 'negative-lag') {
        // Wait until the seed's datapoint (2 s) has left the newest one-minute period: preflight reads its Maximum.
        await new Promise((r) => setTimeout(r, 65_000));
        const handle = await client.workflow.start('regionFailover', { taskQueue: 'record', workflowId: 'failover-apnakart', args: [{ runbookRef: recorded.putRunbook(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
        const status = await handle.result().then(
          () => undefined,
          async () => handle.query<RunStatus>('status'),
        );
        if (!status?.error?.message.includes('ReplicaLag -1')) throw new Error(`expected a preflight refusal naming ReplicaLag -1, got ${JSON.stringify(status?.error)}`);
        await save('failover-apnakart', 'failover-negative-lag.json');
        return;
      }
      if (which === 'answer-like-aws') {
        // A snapshot just taken: the primary is backing-up (3 s here) when the preflight reads it, and the fence waits.
        for (const d of databasesOf(rb)) {
          await createAwsClients(config).rds(rb.regions.primary).createDBSnapshot({ DBInstanceIdentifier: d.primary.identifier, DBSnapshotIdentifier: `${d.primary.identifier}-before-recording` });
        }
        await failover(rb);
        await save('failover-apnakart', 'failover-answer-like-aws.json');
        await failback(rb);
        await save('failback-apnakart', 'failback-answer-like-aws.json');
        return;
      }
      if (which === 'region-loss' || which === 'restore-by-data') {
        const tag = which;
        // drover prepare, then an unplanned failover through the data plane, then a failback that restores the control.
        const aws = createAwsClients(config);
        const prepared = await prepareControls(rb, { route53: aws.route53, cloudwatch: aws.cloudwatch, rds: aws.rds }, { apply: true });
        if (prepared.problems.length > 0) throw new Error(`drover prepare refused: ${JSON.stringify(prepared.problems)}`);
        await client.workflow.start('regionFailover', { taskQueue: 'record', workflowId: 'failover-apnakart', args: [{ runbookRef: recorded.putRunbook(rb), targetRegion: 'ap-southeast-1', mode: 'unplanned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
        await approveAndWait('failover-apnakart', 'failover');
        await save('failover-apnakart', `failover-${tag}.json`);
        await failback(rb);
        await save('failback-apnakart', `failback-${tag}.json`);
        return;
      }
      if (which === 'replica-kms') {
        // Since replica-kms-v1 and failback-refuses-switched-v1: the failback reads the writer's fence tag and key at its
        // assessment (the seeded pair is unencrypted: no key is passed).
        await failover(rb);
        await failback(rb);
        await save('failback-apnakart', 'failback-replica-kms.json');
        return;
      }
      if (which === 'preflight-endpoints') {
        await failover(rb);
        await save('failover-apnakart', 'failover-preflight-endpoints.json');
        return;
      }
      // First a drill (any time of day for the recording; before the real runs, whose cooldown would refuse it).
      const drillRb = { ...rb, drills: { ...rb.drills, windows: [{ days: [...DAYS], from: '00:00', to: '24:00', timezone: 'UTC' }] } };
      if (which === 'cleanup') {
        const d = await client.workflow.start('drill', { taskQueue: 'record', workflowId: 'drill-apnakart-v3', args: [{ runbookRef: recorded.putRunbook(drillRb), trigger: 'manual', requestedBy: 'sre-record', options }], memo: { runbook: rb.name } });
        console.log('recording: drill');
        await d.result();
        await save('drill-apnakart-v3-failback', 'drill-retention-failback.json');
        console.log('recording: failover, failback');
        // A real failover and failback after the drill (no cooldown for the recording): they keep what they replace.
        const real = { ...rb, drills: { ...rb.drills, cooldown: 0 } };
        await failover(real);
        await failback(real);
        console.log('recording: cleanup');
        // What `drover cleanup` would show: the instances the failback kept.
        const aws = createAwsClients(config);
        const lifecycle = createDbLifecycleActivities(aws.rds, aws.ec2);
        const selected: Array<{ region: string; identifier: string }> = [];
        for (const db of databasesOf(real)) {
          for (const region of [real.regions.primary, real.regions.standby]) {
            for (const r of await lifecycle.listRetained({ region, identifiers: [dbIn(real, db, region)] })) selected.push({ region, identifier: r.identifier });
          }
        }
        await client.workflow.start('cleanupRetained', { taskQueue: 'record', workflowId: 'cleanup-apnakart', args: [{ runbookRef: recorded.putRunbook(real), reason: 'recorded for replay tests', requestedBy: 'ic-record', olderThanMs: 0, selected }] });
        await approveAndWait('cleanup-apnakart', 'cleanup');
        await save('cleanup-apnakart', 'cleanup.json');
        return;
      }
      if (which === 'cancel') {
        // A drill cancelled while its failover runs (as a real failover preempts it): it rolls back, and checks
        // the primary for a fence left behind (drill-unfences-v1).
        await client.workflow.start('drill', { taskQueue: 'record', workflowId: 'drill-apnakart-v4', args: [{ runbookRef: recorded.putRunbook(drillRb), trigger: 'manual', requestedBy: 'sre-record', options }], memo: { runbook: rb.name } });
        const drillFailover = client.workflow.getHandle('drill-apnakart-v4-failover');
        for (;;) {
          const s = await drillFailover.query<RunStatus>('status').catch(() => undefined);
          if (s?.steps.some((x) => x.id.startsWith('scale-compute') && x.status !== 'pending')) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        console.log('recording: cancelled drill');
        await client.workflow.getHandle('drill-apnakart-v4').cancel();
        await client.workflow.getHandle('drill-apnakart-v4').result().catch(() => undefined);
        await save('drill-apnakart-v4', 'drill-cancelled.json');
        await save('drill-apnakart-v4-failover', 'drill-cancelled-failover.json');
        // A real failover (its promotion compensates from the fence's request: fence-compensation-v1) and a failback
        // whose scale-up reads the sizes before the change (undo-before-scale-v1).
        console.log('recording: failover, failback');
        const real = { ...rb, drills: { ...rb.drills, cooldown: 0 } };
        await failover(real);
        await save('failover-apnakart-promote', 'promote-fence-compensation.json');
        await failback(real);
        await save('failback-apnakart', 'failback-undo-before-scale.json');
        return;
      }
      if (which === 'lock') {
        // Since runbook-lock-v1: a drill takes the runbook's lock and its failover checks it before each step; a real
        // failover takes it in its preempt-drills step and a failback at its start; each gives it back as it ends.
        const d = await client.workflow.start('drill', { taskQueue: 'record', workflowId: 'drill-apnakart-v5', args: [{ runbookRef: recorded.putRunbook(drillRb), trigger: 'manual', requestedBy: 'sre-record', options }], memo: { runbook: rb.name } });
        console.log('recording: drill');
        await d.result();
        await save('drill-apnakart-v5', 'drill-lock.json');
        await save('drill-apnakart-v5-failover', 'drill-lock-failover.json');
        console.log('recording: failover, failback');
        const real = { ...rb, drills: { ...rb.drills, cooldown: 0 } };
        await failover(real);
        await save('failover-apnakart', 'failover-lock.json');
        await failback(real);
        await save('failback-apnakart', 'failback-lock.json');
        await save('lock-apnakart', 'runbook-lock.json');
        return;
      }
      if (which === 'worker-runbooks') {
        const d = await client.workflow.start('drill', { taskQueue: 'record', workflowId: 'drill-apnakart-v2', args: [{ runbookRef: recorded.putRunbook(drillRb), trigger: 'manual', requestedBy: 'sre-record', options }], memo: { runbook: rb.name } });
        await d.result();
        await save('drill-apnakart-v2', 'drill-worker-runbooks.json');
        await save('drill-apnakart-v2-failover', 'drill-worker-runbooks-failover.json');
        await save('drill-apnakart-v2-failback', 'drill-worker-runbooks-failback.json');
        await failover(rb);
        await save('failover-apnakart', 'failover-worker-runbooks.json');
        return;
      }
      const drill = await client.workflow.start('drill', { taskQueue: 'record', workflowId: 'drill-apnakart-recorded', args: [{ runbookRef: recorded.putRunbook(drillRb), trigger: 'manual', requestedBy: 'sre-record', options }], memo: { runbook: rb.name } });
      await drill.result();
      await save('drill-apnakart-recorded', 'drill.json');
      await save('drill-apnakart-recorded-failover', 'drill-failover.json');
      await save('drill-apnakart-recorded-failback', 'drill-failback.json');
      await client.workflow.start('regionFailover', {
        taskQueue: 'record',
        workflowId: 'failover-apnakart',
        args: [{ runbookRef: recorded.putRunbook(rb), targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options }],
      });
      await approveAndWait('failover-apnakart', 'failover');
      await save('failover-apnakart', 'failover-preempt-drills.json');
      await client.workflow.start('failback', { taskQueue: 'record', workflowId: 'failback-apnakart', args: [{ runbookRef: recorded.putRunbook(rb), reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
      await approveAndWait('failback-apnakart', 'failback');
      await save('failback-apnakart', 'failback-shift-from-current.json');
    });
    await connection.close();
    feeders.stop();
  } finally {
    await apps.stop();
    await moto.stop();
    await temporal.stop();
  }
}

main(process.argv[2] ?? 'apnakart').catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
