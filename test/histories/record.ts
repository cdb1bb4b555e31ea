/**
 * Record workflow histories for the replay tests to guard (failover with its promotion child, and
 * failback), writing new files next to this one:
 *   npx tsx test/histories/record.ts
 * failover-planned.json predates the promote-as-child patch and is kept to prove old runs still replay.
 * Run it only for an intended, compatible workflow change (and say so in the commit); an
 * incompatible change needs workflow versioning (patched()) instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createAwsClients } from '../../activities/aws/clients';
import { pointProbesAt, startLagFeeder, startRegionApps } from '../../infra/local/apps';
import { seedRunbook } from '../../infra/local/seed';
import { startMoto, startTemporal } from '../../infra/local/stack';
import { loadRunbookFile } from '../../runbooks/load';
import { approveUpdate } from '../../workflows/gates';
import type { RunStatus } from '../../workflows/regionFailover';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-record-'));
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  const moto = await startMoto();
  const apps = await startRegionApps(['ap-south-1', 'ap-southeast-1']);
  try {
    const loaded = loadRunbookFile(path.join(__dirname, '../../runbooks/apnakart.yaml'));
    if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
    const rb = pointProbesAt(loaded.runbook, apps.apps);
    const config = { endpoint: moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
    await seedRunbook(rb, config);
    // moto does not replicate: publish ReplicaLag 0 for both database names, as RDS would.
    const feeders = [rb.regions.standby, rb.regions.primary].map((region) =>
      startLagFeeder({ endpoint: moto.endpoint, region, identifier: () => (region === rb.regions.primary ? rb.database.primary.identifier : rb.database.replica.identifier), lagSeconds: () => 0 }),
    );
    const connection = await NativeConnection.connect({ address: temporal.address });
    const worker = await Worker.create({ connection, taskQueue: 'record', workflowsPath: require.resolve('../../workflows'), activities: createActivities({ aws: createAwsClients(config) }) });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
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
      await client.workflow.start('regionFailover', {
        taskQueue: 'record',
        workflowId: 'failover-apnakart',
        args: [{ runbook: rb, targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options }],
      });
      await approveAndWait('failover-apnakart', 'failover');
      await save('failover-apnakart', 'failover-planned-child.json');
      await save('failover-apnakart-promote', 'promote-planned.json');
      await client.workflow.start('failback', { taskQueue: 'record', workflowId: 'failback-apnakart', args: [{ runbook: rb, reason: 'recorded for replay tests', requestedBy: 'ic-record', options }] });
      await approveAndWait('failback-apnakart', 'failback');
      await save('failback-apnakart', 'failback.json');
    });
    await connection.close();
    feeders.forEach((f) => f.stop());
  } finally {
    await apps.stop();
    await moto.stop();
    await temporal.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
