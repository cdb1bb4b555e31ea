/**
 * Where a worker's runbooks come from. The worker owns the runbooks: a run names one by name and the
 * content digest its starter validated, and the worker runs its own copy, refusing a run whose digest
 * differs. So the approval policy, the audit targets and the drill settings come from the source the
 * worker was deployed with, never from the person being gated (see docs/security.md).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RunbookRef } from './ref';
import type { Runbook } from './schema';

export type { RunbookRef } from './ref';

/** `sha256:<hex>` of a runbook file's bytes: what `drover validate` prints and a run names. */
export function runbookDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** A runbook name as the schema allows it (and so a safe file name). */
export const RUNBOOK_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The reference a run carries for the runbook text it validated. */
export function runbookRef(name: string, text: string): RunbookRef {
  return { name, digest: runbookDigest(text) };
}

/** One runbook as the worker's source holds it: its text (validated when a run names it) and where it was read, or (programmatic sources) a runbook validated already and its digest. */
export type SourcedRunbook = { text: string; where: string } | { runbook: Runbook; digest: string; where: string };

/** Runbooks held in memory by their text: the embedded demo's, tests' and benchmarks' workers. */
export class MemoryRunbookSource implements RunbookSource {
  readonly location: string;
  private readonly held = new Map<string, { text: string } | { runbook: Runbook; digest: string }>();

  constructor(location = 'memory') {
    this.location = location;
  }

  /** Hold `text` as runbook `name` (replacing what was there); returns the reference a run names. */
  put(name: string, text: string): RunbookRef {
    this.held.set(name, { text });
    return runbookRef(name, text);
  }

  /** Hold a runbook built in code (validated already, e.g. a benchmark's variant); its digest is that of its JSON. */
  putRunbook(runbook: Runbook): RunbookRef {
    const digest = runbookDigest(JSON.stringify(runbook));
    this.held.set(runbook.name, { runbook, digest });
    return { name: runbook.name, digest };
  }

  /** The reference of the runbook held as `name`. */
  ref(name: string): RunbookRef {
    const held = this.held.get(name);
    if (!held) throw new Error(`no runbook ${name} in ${this.location}`);
    return 'text' in held ? runbookRef(name, held.text) : { name, digest: held.digest };
  }

  async read(name: string): Promise<SourcedRunbook | undefined> {
    const held = this.held.get(name);
    return held && { ...held, where: `${this.location}:${name}` };
  }
}

/** A source the worker trusts for its runbooks. */
export interface RunbookSource {
  /** e.g. `/etc/drover/runbooks`: named in refusals. */
  readonly location: string;
  /** The runbook named `name`, or undefined when the source has none. `name` matches RUNBOOK_NAME. */
  read(name: string): Promise<SourcedRunbook | undefined>;
}

/**
 * Runbooks as files in one directory, `<name>.yaml` (or `.yml`), read at each run's start, so a
 * redeployed file (a ConfigMap, a git checkout) is picked up without restarting the worker.
 */
export class DirectoryRunbookSource implements RunbookSource {
  readonly location: string;

  constructor(readonly dir: string) {
    this.location = dir;
  }

  async read(name: string): Promise<SourcedRunbook | undefined> {
    if (!RUNBOOK_NAME.test(name)) return undefined;
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(this.dir, `${name}${ext}`);
      try {
        return { text: await fs.promises.readFile(file, 'utf8'), where: file };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return undefined;
  }
}
