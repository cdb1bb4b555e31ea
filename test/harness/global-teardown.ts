import fs from 'node:fs';
import { harnessGlobal, stopHarness } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const handles = harnessGlobal.__droverHarness;
  if (!handles) return;
  harnessGlobal.__droverHarness = undefined;
  await stopHarness(handles);
  // DROVER_KEEP_TMP keeps server logs and SQLite files for a post-mortem.
  if (!process.env.DROVER_KEEP_TMP) fs.rmSync(handles.tmp, { recursive: true, force: true });
}
