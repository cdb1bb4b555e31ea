/**
 * `drover init` on a seeded account (a private moto holding one seeded ApnaKart): the runbook it writes
 * finds the record pairs, the database pair and its writer record, the clusters and node groups and the
 * alarms, marks its guesses, validates, and, once its guessed probes are pointed at real endpoints (what
 * the file tells its reader to do), fails over on Temporal.
 */
import fs from 'node:fs';
import { workerSinks } from '../cli/worker';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from '../aws/clients';
import { exec } from '../cli/main';
import { pointProbesAt, startLagFeeders, startRegionApps, type RegionApps } from '../infra/local/apps';
import { seedRunbook } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import type { RunStatus } from '../contracts/run';
import { loadRunbookFile } from '../runbooks/load';
import { captureIO, emulatorConfig, onlyDatabase, testRunbooks, workflowBundle, writeRunbook } from './harness/fixtures';
import { startOwnMoto, testTemporalAddress, testTempDir } from './harness/servers';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
let moto: MotoServer;
let apps: RegionApps;
let connection: Connection;
let native: NativeConnection;
const saved = { ...process.env };
const feeders: Array<{ stop(): void }> = [];

beforeAll(async () => {
  moto = await startOwnMoto();
  apps = await startRegionApps([PRIMARY, STANDBY]);
  connection = await Connection.connect({ address: testTemporalAddress() });
  native = await NativeConnection.connect({ address: testTemporalAddress() });
});

afterAll(async () => {
  process.env = saved;
  feeders.forEach((f) => f.stop());
  await connection?.close();
  await native?.close();
  await apps?.stop();
  await moto?.stop();
});

test('drover init on a seeded account writes a runbook that finds what is there, marks its guesses, validates, and fails over', async () => {
  const { runbook: seeded } = writeRunbook({ name: `ak-init-${process.pid}`, unique: true });
  await seedRunbook(seeded, emulatorConfig(moto.endpoint));
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  const out = path.join(testTempDir('init-'), 'shop.yaml');
  const io = captureIO();
  const prefix = seeded.health.alarms[PRIMARY][0].split('-').slice(0, 1).join('-');
  expect(await exec(['init', '--name', 'shop', '--primary', PRIMARY, '--standby', STANDBY, '--zone', seeded.dns.hostedZone, '--alarm-prefix', prefix, '--out', out], io)).toBe(0);
  expect(io.stderr).toEqual([]);
  expect(io.notes).toEqual([`drover → AWS at ${moto.endpoint} (AWS_ENDPOINT_URL)`]);
  const alarms = [...seeded.health.alarms[PRIMARY], ...seeded.health.alarms[STANDBY]].length;
  expect(io.stdout[0]).toBe(`wrote ${out}: 3 record pairs, 1 database, 2 clusters, ${alarms} alarms found in the account`);
  expect(io.stdout[2]).toBe(`next: drover validate ${out}`);

  const loaded = loadRunbookFile(out);
  if (!loaded.ok) throw new Error(`init wrote an invalid runbook: ${JSON.stringify(loaded.problems)}`);
  const rb = loaded.runbook;
  // What the account holds, found: each record pair with its set identifiers per region, the database pair, its writer record.
  expect(rb.dns.records.map((r) => [r.name, r.routing, r.targets[PRIMARY].setIdentifier, r.targets[STANDBY].setIdentifier]).sort()).toEqual(
    seeded.dns.records.map((r) => [r.name, r.routing, r.targets[PRIMARY].setIdentifier, r.targets[STANDBY].setIdentifier]).sort(),
  );
  const db = onlyDatabase(rb);
  const want = onlyDatabase(seeded);
  expect([db.primary.identifier, db.replica.identifier, db.writerRecord.name]).toEqual([want.primary.identifier, want.replica.identifier, want.writerRecord.name]);
  // Node groups as sized now: in the primary at their active size, in the standby at their standby size (the active one is the primary's).
  const groups = (clusters: typeof rb.compute.clusters, size: (region: string, g: { standby: number; active: number }) => string) =>
    clusters.flatMap((c) => c.nodeGroups.map((g) => `${c.region}/${c.name}/${g.name} ${size(c.region, g)}`)).sort();
  expect(groups(rb.compute.clusters, (_r, g) => `${g.standby}/${g.active}`)).toEqual(groups(seeded.compute.clusters, (r, g) => `${r === PRIMARY ? g.active : g.standby}/${g.active}`));
  expect(rb.health.alarms).toEqual(seeded.health.alarms);
  // Every guess is marked in the file.
  const text = fs.readFileSync(out, 'utf8');
  expect(text.split('\n').filter((l) => l.includes('# GUESSED')).length).toBeGreaterThanOrEqual(6);
  expect(text).toMatch(/probes: {3}# GUESSED: point these at a health endpoint served in each region/);

  // A second init to the same file is refused; --force overwrites it.
  const again = captureIO();
  expect(await exec(['init', '--name', 'shop', '--primary', PRIMARY, '--standby', STANDBY, '--zone', seeded.dns.hostedZone, '--out', out], again)).toBe(2);
  expect(again.stderr[1]).toBe(`  --out: ${out} exists; give --force to overwrite it`);

  // With its probes on real endpoints and its gate decided (the file's guesses to check), it fails over.
  const ready = { ...pointProbesAt(rb, apps.apps), approvals: { ...rb.approvals, gates: [] } };
  const ref = testRunbooks.putRunbook(ready);
  feeders.push(startLagFeeders({ endpoint: moto.endpoint, rb: ready, lagSeconds: 0, everyMs: 300 }));
  const client = new Client({ connection });
  const taskQueue = `tq-init-${process.pid}`;
  const worker = await Worker.create({ sinks: workerSinks(), connection: native, taskQueue, workflowBundle: await workflowBundle(), activities: createActivities({ aws: createAwsClients(emulatorConfig(moto.endpoint)), temporal: () => client, runbooks: testRunbooks }) });
  const status = (await worker.runUntil(
    client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-shop-${process.pid}`, args: [{ runbookRef: ref, targetRegion: STANDBY, mode: 'planned', reason: 'init test', requestedBy: 'ic-test', options: { timeScale: 0.01 } }] }),
  )) as RunStatus;
  expect(status.phase).toBe('completed');
  expect(status.trafficPercent).toBe(100);
  expect(status.databases?.map((d) => [d.identifier, d.promoted])).toEqual([[want.replica.identifier, true]]);
});
