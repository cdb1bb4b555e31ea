import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { exec } from '../cli/main';
import type { CliIO } from '../cli/io';
import { resolveEndpoints } from '../config/endpoints';
import { freePort, motoHealthy, resetMoto, startMoto, startTemporal, temporalHealthy, type TemporalServer } from '../infra/local/stack';
import { processAlive } from '../processes/supervisor';
import { startOwnMoto, testAwsEndpoint, testTemporalAddress, testTempDir } from './harness/servers';

const temporalBin = () => process.env.DROVER_TEST_TEMPORAL_BIN!;
const motoBin = () => process.env.DROVER_TEST_MOTO_BIN!;

function captureIO(): CliIO & { lines: string[]; errors: string[]; text(): string } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), text: () => [...lines, ...errors].join('\n') };
}

/** Run `fn` with some environment variables set (undefined: unset), restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe('harness', () => {
  it('exposes the shared servers to workers', async () => {
    expect(await temporalHealthy(testTemporalAddress())).toBe(true);
    expect(await motoHealthy(testAwsEndpoint())).toBe(true);
  });
});

describe('startTemporal', () => {
  let server: TemporalServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('keeps workflow history in its SQLite file across a restart', async () => {
    const dir = testTempDir('persist-');
    const dbFile = path.join(dir, 'temporal.sqlite');
    server = await startTemporal({ bin: temporalBin(), dbFile, logFile: path.join(dir, 'temporal.log') });
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(server.uiUrl)).status).toBeLessThan(500);

    const workflowId = `persist-${Date.now()}`;
    let connection = await Connection.connect({ address: server.address });
    // No worker polls this queue: the execution stays RUNNING, which is all persistence needs.
    await new Client({ connection }).workflow.start('noSuchWorkflow', { taskQueue: `nobody-${workflowId}`, workflowId, args: [] });
    await connection.close();
    const firstPid = server.pid;
    await server.stop();
    expect(processAlive(firstPid)).toBe(false);

    server = await startTemporal({ bin: temporalBin(), dbFile, logFile: path.join(dir, 'temporal.log') });
    connection = await Connection.connect({ address: server.address });
    try {
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.type).toBe('noSuchWorkflow');
    } finally {
      await connection.close();
    }
  });

  it('rejects with the log tail when the server exits early', async () => {
    const dbFile = path.join(testTempDir('garbage-'), 'temporal.sqlite');
    fs.writeFileSync(dbFile, 'this is not a SQLite database, only some text long enough to have a header\n');
    await expect(startTemporal({ bin: temporalBin(), dbFile })).rejects.toThrow(/Temporal dev server exited with code 1; last log lines[\s\S]*not a database/);
  });
});

describe('startMoto', () => {
  it('answers /moto-api/ and resets its state', async () => {
    const moto = await startMoto({ bin: motoBin(), logFile: path.join(testTempDir('moto-'), 'moto.log') });
    try {
      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await motoHealthy(moto.endpoint)).toBe(true);
      // Create a bucket through the plain S3 REST API, then check that reset drops it.
      const put = await fetch(`${moto.endpoint}/drover-reset-probe`, { method: 'PUT' });
      expect(put.status).toBe(200);
      const before = await (await fetch(`${moto.endpoint}/`)).text();
      expect(before).toContain('drover-reset-probe');
      await resetMoto(moto.endpoint);
      const after = await (await fetch(`${moto.endpoint}/`)).text();
      expect(after).not.toContain('drover-reset-probe');
    } finally {
      await moto.stop();
    }
    expect(processAlive(moto.pid)).toBe(false);
    expect(await motoHealthy(moto.endpoint, 500)).toBe(false);
  });

  it('refuses a port that is already taken', async () => {
    const first = await startOwnMoto();
    try {
      await expect(startMoto({ bin: motoBin(), port: first.port })).rejects.toThrow(`port ${first.port} for the moto is already in use`);
    } finally {
      await first.stop();
    }
  });
});

describe('drover dev', () => {
  const homes: string[] = [];
  afterAll(async () => {
    // Never leave detached servers behind, whatever failed above.
    for (const home of homes) await withEnv({ DROVER_HOME: home }, () => exec(['dev', 'down'], captureIO()));
  });

  interface Stack {
    env: Record<string, string | undefined>;
    flags: string[];
    ports: number[];
  }

  function stackEnv(): Stack {
    const home = testTempDir('home-');
    homes.push(home);
    return {
      env: { DROVER_HOME: home, DROVER_TEMPORAL_BIN: temporalBin(), DROVER_MOTO_BIN: motoBin(), TEMPORAL_ADDRESS: undefined, AWS_ENDPOINT_URL: undefined },
      flags: [],
      ports: [],
    };
  }

  /** `dev up` on fresh free ports; other servers on this machine may grab a port between freePort() and bind, so retry that case. */
  async function up(s: Stack, io: ReturnType<typeof captureIO>, env: Record<string, string | undefined> = {}): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      s.ports = [await freePort(), await freePort(), await freePort()];
      s.flags = ['--temporal-port', String(s.ports[0]), '--ui-port', String(s.ports[1]), '--moto-port', String(s.ports[2])];
      const code = await withEnv({ ...s.env, ...env }, () => exec(['dev', 'up', ...s.flags], io));
      if (code !== 5 || attempt === 3 || !/already in use/.test(io.text())) return code;
      io.lines.length = 0;
      io.errors.length = 0;
    }
  }

  it('brings two independent stacks up, reports status, and takes them down idempotently', async () => {
    const a = stackEnv();
    const b = stackEnv();

    for (const s of [a, b]) {
      const io = captureIO();
      expect({ code: await up(s, io), output: io.text() }).toMatchObject({ code: 0 });
      expect(io.text()).toContain(`export TEMPORAL_ADDRESS=127.0.0.1:${s.ports[0]}`);
      expect(io.text()).toContain(`export AWS_ENDPOINT_URL=http://127.0.0.1:${s.ports[2]}`);
      expect(io.text()).toContain(`http://127.0.0.1:${s.ports[1]}`);
    }

    const again = captureIO();
    expect(await withEnv(a.env, () => exec(['dev', 'up', ...a.flags], again))).toBe(0);
    expect(again.text()).toMatch(/temporal: already up/);
    expect(again.text()).toMatch(/moto already up/);

    const statusA = captureIO();
    expect(await withEnv(a.env, () => exec(['dev', 'status', '--json'], statusA))).toBe(0);
    const jsonA = JSON.parse(statusA.lines.join('\n')) as { temporal: { state: string; address: string; pid: number }; moto: { state: string; endpoint: string; pid: number } };
    expect(jsonA.temporal).toMatchObject({ state: 'up', address: `127.0.0.1:${a.ports[0]}` });
    expect(jsonA.moto).toMatchObject({ state: 'up', endpoint: `http://127.0.0.1:${a.ports[2]}` });
    expect(await withEnv(a.env, async () => resolveEndpoints())).toEqual({ temporalAddress: `127.0.0.1:${a.ports[0]}`, awsEndpoint: `http://127.0.0.1:${a.ports[2]}` });

    const downA = captureIO();
    expect(await withEnv(a.env, () => exec(['dev', 'down'], downA))).toBe(0);
    expect(downA.text()).toMatch(/temporal: stopped/);
    expect(downA.text()).toMatch(/moto: stopped/);
    expect(processAlive(jsonA.temporal.pid)).toBe(false);
    expect(processAlive(jsonA.moto.pid)).toBe(false);
    expect(fs.existsSync(path.join(a.env.DROVER_HOME!, 'dev', 'temporal.sqlite'))).toBe(true);

    const statusDown = captureIO();
    expect(await withEnv(a.env, () => exec(['dev', 'status'], statusDown))).toBe(1);
    expect(statusDown.text()).toMatch(/temporal: down/);
    expect(statusDown.text()).toMatch(/moto:\s+down/);
    expect(await withEnv(a.env, () => exec(['dev', 'down'], captureIO()))).toBe(0);
    expect(await withEnv(a.env, async () => resolveEndpoints())).toEqual({ temporalAddress: '127.0.0.1:7233' });

    // Stack B is untouched by A's shutdown.
    const statusB = captureIO();
    expect(await withEnv(b.env, () => exec(['dev', 'status'], statusB))).toBe(0);
    expect(statusB.text()).toMatch(/temporal: up/);
    expect(await withEnv(b.env, () => exec(['dev', 'down'], captureIO()))).toBe(0);
  });

  it('uses an external Temporal from TEMPORAL_ADDRESS and starts none of its own', async () => {
    const s = stackEnv();
    const io = captureIO();
    expect({ code: await up(s, io, { TEMPORAL_ADDRESS: testTemporalAddress() }), output: io.text() }).toMatchObject({ code: 0 });
    expect(io.text()).toContain(`temporal: using external ${testTemporalAddress()}`);
    expect(await temporalHealthy(`127.0.0.1:${s.ports[0]}`, 1000)).toBe(false);
    expect(await withEnv(s.env, () => exec(['dev', 'down'], captureIO()))).toBe(0);
  });

  it('fails with exit code 5 and no stack trace when a port is taken', async () => {
    const s = stackEnv();
    const flags = ['--temporal-port', testTemporalAddress().split(':')[1]!, '--ui-port', String(await freePort()), '--moto-port', String(await freePort())];
    const io = captureIO();
    expect(await withEnv(s.env, () => exec(['dev', 'up', ...flags], io))).toBe(5);
    expect(io.errors[0]).toMatch(/^drover: port \d+ for the Temporal gRPC is already in use/);
    expect(io.text()).not.toMatch(/\n\s+at /);
  });
});
