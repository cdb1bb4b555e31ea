/**
 * The worker's health endpoint (cli/health.ts) over a real worker on the suite's Temporal: /readyz answers 200 only
 * while the worker polls (not before it runs, not once it is shutting down), /livez 200 until a worker fails.
 */
import { createAwsClients } from '../aws/clients';
import { parseHealthAddress, startHealthServer, type HealthServer } from '../cli/health';
import { createWorker, type DroverWorker } from '../cli/worker';
import { MemoryRunbookSource } from '../runbooks/source';
import { emulatorConfig, eventually, workflowBundle } from './harness/fixtures';
import { testTemporalAddress } from './harness/servers';

let drover: DroverWorker;
let health: HealthServer;
const get = async (path: string) => {
  const r = await fetch(`http://${health.address}${path}`);
  return { status: r.status, body: (await r.json().catch(() => undefined)) as { ok: boolean; workers: Array<{ taskQueue: string; state: string }> } | undefined };
};

beforeAll(async () => {
  drover = await createWorker({
    address: testTemporalAddress(),
    taskQueue: `health-${process.pid}`,
    deps: { aws: createAwsClients(emulatorConfig('http://127.0.0.1:1')), runbooks: new MemoryRunbookSource('health') },
    workflowBundle: await workflowBundle(),
    queues: 'all',
  });
  health = await startHealthServer({ states: () => drover.workers.map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() })) }, { host: '127.0.0.1', port: 0 });
}, 120_000);
afterAll(async () => {
  await health?.close();
  await drover?.close();
});

test('before, while and after the workers poll: /readyz follows their states, /livez stays 200', async () => {
  const before = await get('/readyz');
  expect(before.status).toBe(503);
  expect(before.body?.workers.map((w) => w.state)).toEqual(['INITIALIZED', 'INITIALIZED']);
  expect((await get('/livez')).status).toBe(200);
  expect((await get('/healthz')).status).toBe(200);

  let release!: () => void;
  const running = drover.runUntil(() => new Promise<void>((resolve) => (release = resolve)));
  const ready = await eventually(async () => {
    const r = await get('/readyz');
    return r.status === 200 ? r : undefined;
  }, '/readyz to answer 200 once the workers poll');
  // Both queues are served: the runs' and its IaC lane, each polling.
  expect(ready.body).toEqual({ ok: true, workers: [{ taskQueue: `health-${process.pid}`, state: 'RUNNING' }, { taskQueue: `health-${process.pid}-iac`, state: 'RUNNING' }] });

  release(); // runUntil shuts the workers down once its promise settles
  await running;
  const after = await get('/readyz');
  expect(after.status).toBe(503);
  expect(after.body?.workers.every((w) => w.state === 'STOPPED')).toBe(true);
  expect((await get('/livez')).status).toBe(200);
  expect((await fetch(`http://${health.address}/metrics`)).status).toBe(404);
}, 120_000);

test('DROVER_HEALTH_ADDRESS must be host:port', () => {
  expect(parseHealthAddress('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
  expect(parseHealthAddress('[::]:8080')).toEqual({ host: '::', port: 8080 });
  expect(parseHealthAddress('8080')).toEqual({ problem: 'DROVER_HEALTH_ADDRESS: expected host:port ([::]:8080, 0.0.0.0:8080), got "8080"' });
  expect(parseHealthAddress('localhost:99999')).toHaveProperty('problem');
});
