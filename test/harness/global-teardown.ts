import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { harnessGlobal, stopHarness } from './global-setup';
import { describeFindings, scanAuditDir, scanHistoriesForSecrets } from './secrets';

/**
 * "No secrets": every workflow history on the suite's Temporal server and every audit event the suite
 * wrote are scanned for AWS credentials and SigV4 signatures; any finding fails the run.
 */
async function scanForSecrets(address: string | undefined, auditDir: string | undefined): Promise<void> {
  let histories = { histories: 0, findings: [] as Awaited<ReturnType<typeof scanHistoriesForSecrets>>['findings'] };
  if (address) {
    const connection = await Connection.connect({ address });
    try {
      histories = await scanHistoriesForSecrets(new Client({ connection }));
    } finally {
      await connection.close();
    }
  }
  const audit = auditDir ? scanAuditDir(auditDir) : { events: 0, findings: [] };
  const found = histories.findings.length + audit.findings.length;
  process.stderr.write(`\nsecrets scan: ${histories.histories} histories, ${audit.events} audit events, ${found} findings${address ? '' : ' (external Temporal server: histories not scanned)'}\n`);
  if (found > 0) throw new Error(describeFindings(histories.findings, audit.findings));
}

export default async function globalTeardown(): Promise<void> {
  const handles = harnessGlobal.__droverHarness;
  if (!handles) return;
  harnessGlobal.__droverHarness = undefined;
  try {
    // Only the suite's own server: an external one holds histories that are not the suite's.
    await scanForSecrets(handles.temporal?.address, process.env.DROVER_AUDIT_DIR);
  } finally {
    await stopHarness(handles);
    // DROVER_KEEP_TMP keeps server logs and SQLite files for a post-mortem.
    if (!process.env.DROVER_KEEP_TMP) fs.rmSync(handles.tmp, { recursive: true, force: true });
  }
}
