import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { SNS } from '@aws-sdk/client-sns';
import { exec } from '../cli/main';
import type { SeedAction } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import fs from 'node:fs';
import path from 'node:path';
import { loadRunbookFile } from '../runbooks/load';
import { captureIO, describeTopology, latestReplicaLag, writeRunbook } from './harness/fixtures';
import { testTempDir } from './harness/servers';
import { waitFor } from './harness/wait';
import { startOwnMoto } from './harness/servers';

let moto: MotoServer;
const saved = { ...process.env };

beforeAll(async () => {
  moto = await startOwnMoto();
});

afterAll(async () => {
  process.env = saved;
  await moto?.stop();
});

describe('drover demo seed', () => {
  test('given an empty emulator, seeding creates the seeded topology, and a second seed changes nothing', async () => {
    const { file, runbook: rb } = writeRunbook({ name: 'ak-seed' });
    process.env.AWS_ENDPOINT_URL = moto.endpoint;

    const first = captureIO();
    expect(await exec(['demo', 'seed', file, '--json'], first)).toBe(0);
    const created = JSON.parse(first.stdout.join('\n')) as SeedAction[];
    expect(created.filter((a) => a.action === 'created').length).toBeGreaterThanOrEqual(20);

    const topology = await describeTopology(rb, moto.endpoint);
    expect(topology.weights['api.apnakart.com']).toEqual({ 'ap-south-1': 100, 'ap-southeast-1': 0 });
    expect(topology.weights['static.apnakart.com']).toEqual({ 'ap-south-1': 'PRIMARY', 'ap-southeast-1': 'SECONDARY' });
    expect(topology.replica.source).toMatch(/^arn:aws:rds:ap-south-1:\d+:db:apnakart-pg-mumbai$/);
    expect(topology.nodeGroups).toEqual({
      'ap-south-1/apnakart-mumbai/general': 12,
      'ap-south-1/apnakart-mumbai/checkout': 6,
      'ap-southeast-1/apnakart-singapore/general': 2,
      'ap-southeast-1/apnakart-singapore/checkout': 1,
    });
    expect(topology.writer).toMatch(/^apnakart-pg-mumbai\./);
    // Alarms as CloudWatch creates them: INSUFFICIENT_DATA until evaluated (the seed no longer forces them OK), and
    // missing data notBreaching (event metrics: no note at preflight).
    for (const [region, names] of Object.entries(rb.health.alarms)) {
      const described = await new CloudWatch({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }).describeAlarms({ AlarmNames: names });
      expect((described.MetricAlarms ?? []).map((a) => [a.AlarmName, a.StateValue, a.TreatMissingData])).toEqual(names.map((n) => [n, 'INSUFFICIENT_DATA', 'notBreaching']));
    }

    const second = captureIO();
    expect(await exec(['demo', 'seed', file, '--json'], second)).toBe(0);
    const again = JSON.parse(second.stdout.join('\n')) as SeedAction[];
    expect(again.filter((a) => a.action !== 'unchanged')).toEqual([]);
    expect(await describeTopology(rb, moto.endpoint)).toEqual(topology);
  });

  test('given no emulator endpoint, seeding refuses rather than touch a real account', async () => {
    delete process.env.AWS_ENDPOINT_URL;
    process.env.DROVER_HOME = `${process.env.DROVER_TEST_TMP}/no-dev-stack`;
    const { file } = writeRunbook({ name: 'ak-seed-refused' });
    const io = captureIO();
    expect(await exec(['demo', 'seed', file], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('no AWS emulator endpoint configured; the demo only seeds emulators');
  });

  test('--serve: stand-ins answer the probes of a copy of the runbook written for the workers, ReplicaLag is published, and all of it stops on SIGINT', async () => {
    const { file, runbook: rb } = writeRunbook({ name: 'ak-serve', unique: true });
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    const runbooks = testTempDir('serve-runbooks-');
    process.env.DROVER_RUNBOOKS = runbooks;
    const io = captureIO();
    const serving = exec(['demo', 'seed', file, '--serve'], io);
    const copy = path.join(runbooks, `${rb.name}.yaml`);
    await waitFor(() => io.stdout.includes('serving; Ctrl-C stops the stand-ins, the feeder and the fidelity rules'), { what: 'the stand-ins to serve' });
    const servedAt = Date.now();
    expect(io.stdout).toContain(`runbook with its probes on the stand-ins: ${copy} (the workers' runbook directory)`);
    const rules = /^the emulator as AWS answers \(the fidelity rules\): (http:\/\/127\.0\.0\.1:\d+)$/.exec(io.stdout.find((l) => l.startsWith('the emulator as AWS answers')) ?? '')?.[1];
    expect(rules).toBeDefined();
    expect(io.stdout).toContain(`next: AWS_ENDPOINT_URL=${rules} drover worker (another terminal), then drover failover ${copy} --to ap-southeast-1 --reason "..."`);
    // The rules' endpoint answers as AWS does: an SNS subject of 100 characters is refused there.
    const refused = await new SNS({ region: 'ap-south-1', endpoint: rules, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 }).publish({ TopicArn: 'arn:aws:sns:ap-south-1:123456789012:none', Subject: 's'.repeat(100), Message: 'm' }).catch((e: Error) => e);
    expect((refused as Error).name).toBe('InvalidParameterException');

    // The copy is the runbook with only its probe URLs changed: each on a stand-in, path kept, answering 200.
    const loaded = loadRunbookFile(copy);
    if (!loaded.ok) throw new Error(`the copy does not validate: ${JSON.stringify(loaded.problems)}`);
    const probes = Object.values(loaded.runbook.health.probes).flat();
    expect(probes.length).toBeGreaterThan(0);
    const original = Object.values(rb.health.probes).flat();
    expect(probes.map((p) => new URL(p.url).pathname)).toEqual(original.map((p) => new URL(p.url).pathname));
    for (const p of probes) {
      expect(new URL(p.url).hostname).toBe('127.0.0.1');
      expect((await fetch(p.url)).status).toBe(200);
    }
    expect({ ...loaded.runbook, health: { ...loaded.runbook.health, probes: {} } }).toEqual({ ...rb, health: { ...rb.health, probes: {} } });
    // ReplicaLag 0 for the replica, as RDS would publish it. Only the feeder's datapoints count, from a
    // whole second after the stand-ins served (the emulator keeps timestamps to the second): the seed's own
    // datapoint (2 s) would hold the newest one-minute bucket's Maximum at 2 for a minute.
    const replica = rb.database?.replica.identifier ?? '';
    const feederOnly = new Date(servedAt + 1000);
    await waitFor(async () => (await latestReplicaLag(moto.endpoint, 'ap-southeast-1', replica, feederOnly)) === 0, { what: 'ReplicaLag 0 published for the replica' });

    process.emit('SIGINT');
    expect(await serving).toBe(0);
    expect(io.stdout[io.stdout.length - 1]).toBe('stopped');
    await expect(fetch(probes[0].url)).rejects.toThrow();
    await expect(fetch(`${rules}/moto-api/`)).rejects.toThrow();
    expect(fs.existsSync(copy)).toBe(true);
  });
});
