import fs from 'node:fs';
import path from 'node:path';
import { droverHome } from './home';

// The `drover dev` stack's state file: written by `drover dev up|down`, read by every command that looks
// for its servers (resolveEndpoints). Only the file lives here; the stack itself is infra/local/.

export interface DevTemporalState {
  pid: number;
  bin: string;
  port: number;
  uiPort: number;
  address: string;
  uiUrl: string;
  dbFile: string;
  logFile: string;
  startedAt: string;
}

export interface DevMotoState {
  pid: number;
  bin: string;
  port: number;
  endpoint: string;
  logFile: string;
  startedAt: string;
}

export interface DevState {
  temporal?: DevTemporalState;
  moto?: DevMotoState;
}

export function devDir(): string {
  return path.join(droverHome(), 'dev');
}

export function devStateFile(): string {
  return path.join(devDir(), 'state.json');
}

export function readDevState(): DevState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(devStateFile(), 'utf8')) as DevState;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically (temp file + rename) so a reader never sees half a file. */
export function writeDevState(state: DevState): void {
  fs.mkdirSync(devDir(), { recursive: true });
  const tmp = `${devStateFile()}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, devStateFile());
}

export function removeDevState(): void {
  fs.rmSync(devStateFile(), { force: true });
}
