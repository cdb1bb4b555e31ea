/**
 * Benchmark: how long a planned promotion holds writes fenced before it promotes (its `fence` and `wait-lag-zero`
 * steps), with the ReplicaLag proof (before engine-fence-v1) against the engines' proof (after), in the same run:
 * a real PostgreSQL pair per promotion (infra/engines), moto behind the fidelity rules, a real Temporal dev server.
 * ReplicaLag is published once a minute, as RDS publishes it, read with the runbook's default 60-s period. The
 * application writes through a pooled connection meanwhile (the engine fence ends it).
 *
 *   npm run bench:failover -- --fence [--runs 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretsManager } from '@aws-sdk/client-secrets-manager';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createActivities, type Activities } from '../activities';
import { createAwsClients, type AwsConfig } from '../aws/clients';
import { quietRuntime, WORKFLOW_INTERCEPTOR_MODULES, workerSinks } from '../cli/worker';
import type { RunStatus } from '../contracts/run';
import { appStream, startConntrackProxy, type ConntrackProxy } from '../infra/engines/conntrack';
import { ensureEngines } from '../infra/engines/install';
import { startPostgresPair, type EnginePair } from '../infra/engines/servers';
import { startLagFeeders } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import { behindFidelityProxy, resetMoto, startMoto, startTemporal } from '../infra/local/stack';
import { loadRunbookFile } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { arg, benchRef, benchRunbooks, machine, median, uniqueVariant } from './common';

const RUNS = arg('runs', 5);
/** The benchmark's own engines' password: loopback servers it starts and stops. */
const PASSWORD = `bench-${process.pid}-${Date.now().toString(36)}`;
const SECRET = 'bench/db-master';

interface Current {
  pair: EnginePair;
  proxy: ConntrackProxy;
  rb: Runbook;
}

export async function fenceMain(): Promise<void> {
  quietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-fence-'));
  const bins = await ensureEngines();
  const temporal = await startTemporal({ dbFile: path.join(dir, 'temporal.sqlite') });
  const moto = await behindFidelityProxy(await startMoto());
  const loaded = loadRunbookFile(path.join(__dirname, '../runbooks/apnakart.yaml'));
  if (!loaded.ok) throw new Error('apnakart.yaml is invalid');
  const base: Runbook = { ...loaded.runbook, approvals: { ...loaded.runbook.approvals, gates: [] } };
  const db = base.database;
  if (!db) throw new Error('apnakart.yaml has no database');
  // The same database, with the ReplicaLag proof (RDS's 60-s period) and with the engines' proof.
  const lagOnly = uniqueVariant({ ...base, database: { ...db, lagPeriod: 60_000, lagZeroTimeout: 5 * 60_000 } }, 'fence-lag');
  const engines = uniqueVariant({ ...base, database: { ...db, lagPeriod: 60_000, lagZeroTimeout: 5 * 60_000, access: { secretId: SECRET, tls: 'off', quietWindow: 1000, proofTimeout: 30_000 } } }, 'fence-engine');
  const config: AwsConfig = { endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  // RDS publishes ReplicaLag once a minute.
  const feeders = [lagOnly, engines].map((rb) => startLagFeeders({ endpoint: moto.endpoint, rb, regions: [rb.regions.standby], lagSeconds: 0, everyMs: 60_000 }));
  let current: Current | undefined;
  const mirrored = (a: Activities): Activities => ({
    ...a,
    fenceInstance: async (input) => {
      const out = await a.fenceInstance(input);
      current?.proxy.fence();
      return out;
    },
    promoteReplica: async (input) => {
      const out = await a.promoteReplica(input);
      await current?.pair.promoteReplica();
      return out;
    },
  });
  const endpoint = (_region: string, identifier: string) => {
    const d = current?.rb.database;
    if (!current || !d) return undefined;
    return identifier === d.primary.identifier ? current.proxy : identifier === d.replica.identifier ? current.pair.replica : undefined;
  };
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: silent });
  const worker = await Worker.create({ sinks: workerSinks(), connection, taskQueue: 'bench-fence', workflowBundle, activities: mirrored(createActivities({ aws: createAwsClients(config), temporal: () => client, runbooks: benchRunbooks, engines: { endpoint } })) });

  const rows: Array<{ variant: 'lag' | 'engine'; fence: number; wait: number; held: number }> = [];
  try {
    await worker.runUntil(async () => {
      for (let i = 0; i < RUNS; i++) {
        for (const rb of [lagOnly, engines]) {
          await resetMoto(moto.endpoint);
          await seedRunbook(rb, config);
          for (const region of [rb.regions.primary, rb.regions.standby]) {
            await new SecretsManager({ region, ...config }).createSecret({ Name: SECRET, SecretString: JSON.stringify({ username: 'drover_master', password: PASSWORD }) });
          }
          const pair = await startPostgresPair({ masterPassword: PASSWORD, engines: bins });
          const proxy = await startConntrackProxy(pair.primary);
          current = { pair, proxy, rb };
          // The application's pooled connection, writing until the fence ends it.
          const app = new pg.Client({ user: 'drover_master', password: PASSWORD, database: 'app', stream: appStream(proxy) });
          app.on('error', () => undefined);
          await app.connect();
          await app.query('CREATE TABLE IF NOT EXISTS writes (id serial PRIMARY KEY)');
          let writing = true;
          const writes = (async () => {
            while (writing) await app.query('INSERT INTO writes DEFAULT VALUES').catch(() => (writing = false));
          })();
          try {
            const r = (await client.workflow.execute('promoteReplica', { taskQueue: 'bench-fence', workflowId: `bench-fence-${rb.name}-${i}`, args: [{ runbookRef: benchRef(rb), toRegion: rb.regions.standby, mode: 'planned', reason: 'benchmark', requestedBy: 'bench' }] })) as RunStatus;
            const ms = (id: string) => {
              const s = r.steps.find((x) => x.id === id);
              return (s?.endedAt ?? 0) - (s?.startedAt ?? 0);
            };
            const variant = rb === engines ? 'engine' : 'lag';
            if (variant === 'engine' && r.rpo?.evidence?.kind !== 'engine') throw new Error(`the engine run's evidence is ${JSON.stringify(r.rpo?.evidence)}`);
            rows.push({ variant, fence: ms('fence'), wait: ms('wait-lag-zero'), held: ms('fence') + ms('wait-lag-zero') });
            process.stderr.write(`run ${i + 1}/${RUNS} ${variant}: fence ${ms('fence')} ms, wait ${ms('wait-lag-zero')} ms\n`);
          } finally {
            writing = false;
            await writes;
            await app.end().catch(() => undefined);
            await proxy.close();
            await pair.stop();
            current = undefined;
          }
        }
      }
    });
  } finally {
    feeders.forEach((f) => f.stop());
    await connection.close().catch(() => undefined);
    await moto.stop();
    await temporal.stop();
  }

  const med = (variant: 'lag' | 'engine', f: (r: (typeof rows)[number]) => number) => Math.round(median(rows.filter((r) => r.variant === variant).map(f)));
  const lag = med('lag', (r) => r.held);
  const engine = med('engine', (r) => r.held);
  const lines = [
    `## bench:failover --fence — planned promotion, writes held fenced, ${RUNS} runs each (median)`,
    '',
    `machine: ${machine()}`,
    '',
    '| proof | fence step (ms) | wait step (ms) | writes held fenced before the promotion (ms) |',
    '|---|---:|---:|---:|',
    `| ReplicaLag, 60-s period, published once a minute (before) | ${med('lag', (r) => r.fence)} | ${med('lag', (r) => r.wait)} | ${lag} |`,
    `| the engines: sessions ended, none for 1 s, final position replayed (after) | ${med('engine', (r) => r.fence)} | ${med('engine', (r) => r.wait)} | ${engine} |`,
    `| ratio after / before | | | ${(engine / lag).toFixed(3)} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
