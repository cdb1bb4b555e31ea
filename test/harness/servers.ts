import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMoto, startTemporal, type MotoServer, type TemporalServer } from '../../infra/local/stack';
import { ensureTools } from '../../infra/local/tools';

export type { MotoServer, TemporalServer };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its global setup starts the servers)`);
  return value;
}

/** The shared Temporal server's gRPC address (`host:port`). */
export function testTemporalAddress(): string {
  return required('DROVER_TEST_TEMPORAL_ADDRESS');
}

/** The shared moto (or external AWS-compatible) endpoint, for AWS_ENDPOINT_URL. */
export function testAwsEndpoint(): string {
  return required('DROVER_TEST_AWS_ENDPOINT');
}

/** A fresh directory under the run's temp dir (removed by the global teardown). */
export function testTempDir(prefix = 'case-'): string {
  const base = process.env.DROVER_TEST_TMP ?? os.tmpdir();
  return fs.mkdtempSync(path.join(base, prefix));
}

async function bins(): Promise<{ temporal: string; motoServer: string }> {
  const temporal = process.env.DROVER_TEST_TEMPORAL_BIN;
  const motoServer = process.env.DROVER_TEST_MOTO_BIN;
  return temporal && motoServer ? { temporal, motoServer } : ensureTools();
}

/** A private Temporal dev server on free ports (default: a fresh SQLite file); the caller must stop() it. */
export async function startOwnTemporal(opts: { dbFile?: string; port?: number; uiPort?: number } = {}): Promise<TemporalServer> {
  const dir = testTempDir('temporal-');
  return startTemporal({
    bin: (await bins()).temporal,
    dbFile: opts.dbFile ?? path.join(dir, 'temporal.sqlite'),
    port: opts.port,
    uiPort: opts.uiPort,
    logFile: path.join(dir, 'temporal.log'),
  });
}

/** A private moto server on a free port (its own empty state); the caller must stop() it. */
export async function startOwnMoto(opts: { env?: Record<string, string>; port?: number } = {}): Promise<MotoServer> {
  const dir = testTempDir('moto-');
  return startMoto({ bin: (await bins()).motoServer, port: opts.port, env: opts.env, logFile: path.join(dir, 'moto.log') });
}
