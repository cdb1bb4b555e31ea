import fs from 'node:fs';
import { harnessGlobal, stopHarness } from './global-setup';
import { describeFindings, harnessCredentials, readScanRecords, scanFiles, scanMoto, scanTemporal, summarize, unscannedServers, type StoreReport } from './secrets';

/** What the suite's "no secrets" scan covers. */
export interface SuiteStores {
  /** Temporal servers still running (the shared one, or an external one with `since`: only workflows started since are the suite's). */
  temporal: Array<{ address: string; since?: Date }>;
  /** moto servers still running (the shared one, or an external AWS_ENDPOINT_URL, which must be moto). */
  moto: string[];
  /** The suite's temporary root: audit trails, OpenTofu state and plans, reports, logs, private servers' data. */
  tempRoot?: string;
  /** The harness's secrets directory: its credential registry, the private servers started, and their scans, recorded as they stopped. */
  secretsDir?: string;
  /** A DROVER_HOME the caller set outside the temporary root: the files changed in it `since` the suite started, `skipDirs` left out. */
  home?: { dir: string; since: Date; skipDirs?: string[] };
}

/**
 * "No secrets": scan every store the suite wrote to (every Temporal server's histories, every moto's S3
 * objects, SNS notifications and SQS messages, every file under the temporary root) for credential
 * shapes and, exactly, the credentials the harness minted; add what private servers' scans found when
 * they stopped. Prints one line per store, with counts. Throws, naming store, location and kind (never
 * the secret), on any finding, and when a store cannot be reached: an unscanned store is not a clean one.
 */
export async function scanSuite(stores: SuiteStores, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<StoreReport[]> {
  const registry = harnessCredentials(stores.secretsDir);
  const reports: StoreReport[] = [];
  const problems: string[] = [];
  for (const t of stores.temporal) {
    try {
      reports.push(await scanTemporal(t.address, { since: t.since, registry, store: `temporal ${t.address} histories${t.since ? ` (since ${t.since.toISOString()})` : ''}` }));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  for (const endpoint of stores.moto) {
    try {
      reports.push(...(await scanMoto(endpoint, { registry })));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  for (const record of readScanRecords(stores.secretsDir)) {
    reports.push(...record.reports);
    if (record.error) problems.push(`${record.server} (scanned as it stopped): ${record.error}`);
  }
  // A private server a test started but never stopped (a crash, a timeout) was never scanned, and is gone with its worker.
  for (const server of unscannedServers(stores.secretsDir)) problems.push(`${server}: started by a test but never stopped through its scanning stop(), so never scanned`);
  if (stores.tempRoot) {
    try {
      reports.push(...scanFiles(stores.tempRoot, { registry, label: 'files' }));
    } catch (e) {
      problems.push(`files under ${stores.tempRoot}: ${(e as Error).message}`);
    }
  }
  if (stores.home) {
    try {
      reports.push(...scanFiles(stores.home.dir, { registry, label: `DROVER_HOME ${stores.home.dir} (changed since ${stores.home.since.toISOString()})`, since: stores.home.since, skipDirs: stores.home.skipDirs }));
    } catch (e) {
      problems.push(`DROVER_HOME ${stores.home.dir} (set by the caller, outside the suite's root): ${(e as Error).message}`);
    }
  }
  const findings = reports.flatMap((r) => r.findings);
  log(`\nsecrets scan (${registry.length} harness credentials looked for exactly):\n${summarize(reports)}`);
  if (problems.length > 0 || findings.length > 0) {
    const parts = [
      ...(problems.length ? [`secrets scan could not scan ${problems.length} store(s):\n  ${problems.join('\n  ')}`] : []),
      ...(findings.length ? [describeFindings(findings)] : []),
    ];
    throw new Error(parts.join('\n'));
  }
  return reports;
}

export default async function globalTeardown(): Promise<void> {
  const handles = harnessGlobal.__droverHarness;
  if (!handles) return;
  harnessGlobal.__droverHarness = undefined;
  try {
    const externalTemporal = handles.temporal ? undefined : process.env.TEMPORAL_ADDRESS;
    const externalAws = handles.moto ? undefined : process.env.AWS_ENDPOINT_URL;
    await scanSuite({
      temporal: handles.temporal ? [{ address: handles.temporal.address }] : externalTemporal ? [{ address: externalTemporal, since: handles.startedAt }] : [],
      moto: [handles.moto?.endpoint ?? externalAws].filter((e): e is string => Boolean(e)),
      tempRoot: handles.tmp,
      secretsDir: handles.secrets,
      home: handles.home && { dir: handles.home.dir, since: handles.startedAt, skipDirs: [handles.home.toolsDir] },
    });
  } finally {
    await stopHarness(handles);
    // DROVER_KEEP_TMP keeps server logs and SQLite files for a post-mortem.
    if (!process.env.DROVER_KEEP_TMP) {
      fs.rmSync(handles.tmp, { recursive: true, force: true });
      fs.rmSync(handles.secrets, { recursive: true, force: true });
    }
  }
}
