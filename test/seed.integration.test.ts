import { exec } from '../cli/main';
import type { SeedAction } from '../infra/local/seed';
import type { MotoServer } from '../infra/local/stack';
import { captureIO, describeTopology, writeRunbook } from './harness/fixtures';
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
});
