import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateIdentityKey } from '../../activities/sealing';
import { toolsDir } from '../../config/home';
import { behindFidelityProxy, startMoto, startTemporal, type MotoServer, type TemporalServer } from '../../infra/local/stack';
import { ensureTools } from '../../infra/local/tools';
import { recordFixturePasswords } from './fixture-credentials';
import { recordHarnessCredential } from './secrets';
import { motoScanEnv } from './servers';

/** Handles the teardown (same process) stops; workers only see the DROVER_TEST_* variables. */
export interface HarnessHandles {
  temporal?: TemporalServer;
  moto?: MotoServer;
  /** The suite's temporary root: everything tests write, scanned for secrets by the teardown. */
  tmp: string;
  /** Where secrets belong (the identity key, the harness's credential registry, private servers' scan records): outside `tmp`. */
  secrets: string;
  /** When the suite started: on an external Temporal server only the workflows started since are the suite's. */
  startedAt: Date;
  /**
   * A DROVER_HOME the caller set outside `tmp` (per-run stacks, OpenTofu state and plans, redeploy dirs land
   * there): the teardown scans what changed in it since `startedAt`, the pinned tools (`toolsDir`) left out.
   */
  home?: { dir: string; toolsDir: string };
}

/** Jest runs global setup and teardown in the same process, so a global carries the handles across. */
export const harnessGlobal = globalThis as typeof globalThis & { __droverHarness?: HarnessHandles };

/**
 * Starts one Temporal dev server and one moto server shared by every test file, unless
 * TEMPORAL_ADDRESS / AWS_ENDPOINT_URL name external ones. Workers inherit process.env.
 */
export default async function globalSetup(): Promise<void> {
  const startedAt = new Date();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-test-'));
  const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-test-secrets-'));
  fs.chmodSync(secrets, 0o700);
  const handles: HarnessHandles = { tmp, secrets, startedAt };
  harnessGlobal.__droverHarness = handles;
  process.env.DROVER_TEST_TMP = tmp;
  process.env.DROVER_TEST_SECRETS_DIR = secrets;
  // Runs' local audit trails go to the suite's temporary directory, not the user's ~/.cache/drover.
  process.env.DROVER_AUDIT_DIR = path.join(tmp, 'audit');
  // Workers' identity key (what approvers seal their signed requests to): the suite's own, shared by every test
  // file. It is where a secret belongs, so it lives outside the scanned root; its private part is recorded, so the
  // scan finds it anywhere else.
  process.env.DROVER_IDENTITY_KEY_FILE = path.join(secrets, 'keys', 'identity.jwk');
  recordHarnessCredential(loadOrCreateIdentityKey(process.env.DROVER_IDENTITY_KEY_FILE).d, 'worker identity key (JWK d)', secrets);
  // The passwords the tests hand to drover and the emulator (fixture-credentials.ts): looked for exactly too.
  recordFixturePasswords(secrets);
  // Whatever a test or drover writes to a temporary directory or to drover's home (per-run stacks, OpenTofu
  // state and plans, reports) lands under the suite's root too, where the teardown's scan reads it. The pinned
  // tools stay where they are installed (DROVER_TOOLS_DIR), and a DROVER_HOME the caller set is kept: when it
  // lies outside the root, the teardown scans the files changed in it since the suite started (tools left out).
  process.env.DROVER_TOOLS_DIR ??= toolsDir();
  const callerHome = process.env.DROVER_HOME;
  process.env.DROVER_HOME ??= path.join(tmp, 'home');
  if (callerHome && path.relative(tmp, path.resolve(callerHome)).startsWith('..')) {
    // Made now if missing (drover would make it on first use), so a home gone at teardown is an error, not an empty scan.
    fs.mkdirSync(callerHome, { recursive: true });
    handles.home = { dir: path.resolve(callerHome), toolsDir: process.env.DROVER_TOOLS_DIR };
  }
  process.env.TMPDIR = path.join(tmp, 'os-tmp');
  fs.mkdirSync(process.env.TMPDIR, { recursive: true });

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
    // The suite's moto answers through the fidelity rules, as its private ones do (startOwnMoto).
    externalAws ? undefined : startMoto({ bin: tools!.motoServer, logFile: path.join(tmp, 'moto.log'), env: motoScanEnv() }).then(behindFidelityProxy),
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
