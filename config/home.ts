import os from 'node:os';
import path from 'node:path';

/** drover's own cache directory (tools, dev stack state, audit trail, keys): `$DROVER_HOME` or `~/.cache/drover`. */
export function droverHome(): string {
  return process.env.DROVER_HOME ?? path.join(os.homedir(), '.cache', 'drover');
}

/** Where pinned tools are installed; `$DROVER_TOOLS_DIR` lets several homes share one install. */
export function toolsDir(): string {
  return process.env.DROVER_TOOLS_DIR ?? path.join(droverHome(), 'tools');
}
