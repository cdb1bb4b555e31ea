import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { behindFidelityProxy, startMoto, startTemporal, type MotoServer, type TemporalServer } from '../../infra/local/stack';
import { ensureTools } from '../../infra/local/tools';
import { PLANTED_PREFIX, describeFindings, recordServerStarted, scanMoto, scanTemporal, writeScanRecord, type StoreReport } from './secrets';
import type { FidelityRule } from '../../infra/faults/fidelity';

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

/**
 * A fresh directory for secrets a test plants on purpose (a scanner's fixtures): under the temporary root,
 * named `planted-<prefix>…`, the one place the unit and workflow tiers' scan of a file's temporary root
 * (unit-env.ts) leaves out. Anything a test or drover writes anywhere else under the root is scanned. The
 * integration tier's teardown scans everything under its root, planted directories too: a test there
 * plants outside the root (secrets-scan.integration.test.ts).
 */
export function plantedDir(prefix = 'case-'): string {
  return testTempDir(`${PLANTED_PREFIX}${prefix}`);
}

async function bins(): Promise<{ temporal: string; motoServer: string }> {
  const temporal = process.env.DROVER_TEST_TEMPORAL_BIN;
  const motoServer = process.env.DROVER_TEST_MOTO_BIN;
  return temporal && motoServer ? { temporal, motoServer } : ensureTools();
}

/**
 * `server` whose stop() first scans what it holds for secrets (test/harness/secrets.ts), then stops it,
 * then fails (after recording the scan for the suite's teardown) when the scan found a secret or could
 * not reach the server: a private server's stores are scanned like the shared ones, before they vanish.
 * Only the first stop() scans.
 */
export function scannedOnStop<T extends { stop(): Promise<void> }>(server: T, name: string, scan: () => Promise<StoreReport[]>, record: typeof writeScanRecord = writeScanRecord): T {
  const stop = server.stop.bind(server);
  let scanned = false;
  server.stop = async () => {
    // A second stop() has nothing left to scan (and nothing running to reach).
    if (scanned) return stop();
    scanned = true;
    let reports: StoreReport[] = [];
    let error: string | undefined;
    try {
      reports = await scan();
    } catch (e) {
      error = (e as Error).message;
    }
    await stop();
    record({ server: name, reports, error });
    if (error) throw new Error(`secrets scan of ${name} before it stopped: ${error}`);
    const findings = reports.flatMap((r) => r.findings);
    if (findings.length > 0) throw new Error(`secrets scan of ${name} before it stopped: ${describeFindings(findings)}`);
  };
  return server;
}

/**
 * A private Temporal dev server on free ports (default: a fresh SQLite file); the caller must stop() it.
 * stop() scans its histories first and fails on a secret (`scannedOnStop`); its start is recorded, so the
 * suite's teardown fails when it was never stopped (never scanned).
 */
export async function startOwnTemporal(opts: { dbFile?: string; port?: number; uiPort?: number } = {}): Promise<TemporalServer> {
  const dir = testTempDir('temporal-');
  const server = await startTemporal({
    bin: (await bins()).temporal,
    dbFile: opts.dbFile ?? path.join(dir, 'temporal.sqlite'),
    port: opts.port,
    uiPort: opts.uiPort,
    logFile: path.join(dir, 'temporal.log'),
  });
  recordServerStarted(`private Temporal ${server.address}`);
  return scannedOnStop(server, `private Temporal ${server.address}`, async () => [await scanTemporal(server.address, { store: `private temporal ${server.address} histories` })]);
}

/**
 * The environment the harness's moto servers run with: moto-site/sitecustomize.py on PYTHONPATH, so moto's
 * inventory (`/moto-api/data.json`), which the secrets scan reads, answers once a database exists.
 */
export function motoScanEnv(env: Record<string, string> = {}): Record<string, string> {
  const site = path.join(__dirname, 'moto-site');
  const inherited = env.PYTHONPATH ?? process.env.PYTHONPATH;
  return { ...env, PYTHONPATH: inherited ? `${site}${path.delimiter}${inherited}` : site };
}

/**
 * A private moto server on a free port (its own empty state), behind the fidelity rules (its endpoint is the
 * rules' proxy, `direct` moto itself); the caller must stop() it. stop() scans its S3 objects, SNS
 * notifications and SQS messages first and fails on a secret (`scannedOnStop`); its start is recorded, so
 * the suite's teardown fails when it was never stopped (never scanned).
 */
export async function startOwnMoto(opts: { env?: Record<string, string>; port?: number; fidelity?: readonly FidelityRule[] } = {}): Promise<MotoServer & { direct: string }> {
  const dir = testTempDir('moto-');
  const server = await behindFidelityProxy(await startMoto({ bin: (await bins()).motoServer, port: opts.port, env: motoScanEnv(opts.env), logFile: path.join(dir, 'moto.log') }), opts.fidelity);
  recordServerStarted(`private moto ${server.endpoint}`);
  return scannedOnStop(server, `private moto ${server.endpoint}`, () => scanMoto(server.endpoint));
}
