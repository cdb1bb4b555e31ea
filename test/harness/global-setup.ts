import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMoto, startTemporal, type MotoServer, type TemporalServer } from '../../infra/local/stack';
import { ensureTools } from '../../infra/local/tools';

/** Handles the teardown (same process) stops; workers only see the DROVER_TEST_* variables. */
export interface HarnessHandles {
  temporal?: TemporalServer;
  moto?: MotoServer;
  tmp: string;
}

/** Jest runs global setup and teardown in the same process, so a global carries the handles across. */
export const harnessGlobal = globalThis as typeof globalThis & { __droverHarness?: HarnessHandles };

/**
 * Starts one Temporal dev server and one moto server shared by every test file, unless
 * TEMPORAL_ADDRESS / AWS_ENDPOINT_URL name external ones. Workers inherit process.env.
 */
export default async function globalSetup(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-test-'));
  const handles: HarnessHandles = { tmp };
  harnessGlobal.__droverHarness = handles;
  process.env.DROVER_TEST_TMP = tmp;
  // Runs' local audit trails go to the suite's temporary directory, not the user's ~/.cache/drover.
  process.env.DROVER_AUDIT_DIR = path.join(tmp, 'audit');
  // Workers' identity key (what approvers seal their signed requests to): the suite's own, shared by every test file.
  process.env.DROVER_IDENTITY_KEY_FILE = path.join(tmp, 'keys', 'identity.jwk');

  const externalTemporal = process.env.TEMPORAL_ADDRESS;
  const externalAws = process.env.AWS_ENDPOINT_URL;
  const log = (line: string) => process.stderr.write(`[drover harness] ${line}\n`);

  let tools: Awaited<ReturnType<typeof ensureTools>> | undefined;
  try {
    tools = await ensureTools({ log });
    process.env.DROVER_TEST_TEMPORAL_BIN = tools.temporal;
    process.env.DROVER_TEST_MOTO_BIN = tools.motoServer;
  } catch (e) {
    // With both servers external the suite can still run; only tests that start their own server need the tools.
    if (!externalTemporal || !externalAws) throw e;
    log(`tools unavailable (${(e as Error).message}); tests that start their own servers will fail`);
  }

  const [temporal, moto] = await Promise.all([
    externalTemporal ? undefined : startTemporal({ bin: tools!.temporal, dbFile: path.join(tmp, 'temporal.sqlite'), logFile: path.join(tmp, 'temporal.log') }),
    externalAws ? undefined : startMoto({ bin: tools!.motoServer, logFile: path.join(tmp, 'moto.log') }),
  ]).catch(async (e: unknown) => {
    await stopHarness(handles);
    throw e;
  });
  handles.temporal = temporal;
  handles.moto = moto;
  process.env.DROVER_TEST_TEMPORAL_ADDRESS = externalTemporal ?? temporal!.address;
  process.env.DROVER_TEST_AWS_ENDPOINT = externalAws ?? moto!.endpoint;
}

export async function stopHarness(handles: HarnessHandles): Promise<void> {
  await Promise.allSettled([handles.temporal?.stop(), handles.moto?.stop()]);
}
