/**
 * Re-record the committed workflow histories that the replay tests guard:
 *   npx tsx test/histories/record.ts
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
import { startRegionApps, pointProbesAt } from '../../infra/local/apps';
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
    const connection = await NativeConnection.connect({ address: temporal.address });
    const worker = await Worker.create({ connection, taskQueue: 'record', workflowsPath: require.resolve('../../workflows'), activities: createActivities({ aws: createAwsClients(config) }) });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    await worker.runUntil(async () => {
      const handle = await client.workflow.start('regionFailover', {
        taskQueue: 'record',
        workflowId: 'failover-apnakart',
        args: [{ runbook: rb, targetRegion: 'ap-southeast-1', mode: 'planned', reason: 'recorded for replay tests', requestedBy: 'ic-record', options: { timeScale: 0.01 } }],
      });
      for (;;) {
        const s = await handle.query<RunStatus>('status');
        if (s.pendingGate) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', comment: 'recorded' }] });
      await handle.result();
      const history = await handle.fetchHistory();
      fs.writeFileSync(path.join(__dirname, 'failover-planned.json'), historyToJSON(history));
    });
    await connection.close();
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
