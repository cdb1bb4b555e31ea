import fs from 'node:fs';
import path from 'node:path';
import { droverHome } from '../config/home';
import type { AuditEvent, AuditRunRef } from './chain';
import { AuditStoreError, byStart, decodeSegment, parseStoredEvent, planAppend, sameRun, segment, type AuditRunInfo, type AuditStore } from './store';

/** The embedded default: `$DROVER_AUDIT_DIR`, else `$DROVER_HOME/audit` (`~/.cache/drover/audit`), outside any repository. */
export function defaultAuditDir(): string {
  return process.env.DROVER_AUDIT_DIR ?? path.join(droverHome(), 'audit');
}

/** A file's text, or '' when it does not exist (a run with no events yet). */
async function readIfExists(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** The embedded store: one JSON line per event, one file per run, `<dir>/<runbook>/<workflowId>/<runId>.jsonl`. */
export class JsonlStore implements AuditStore {
  readonly location: string;
  // One append at a time per file within this process (a run's workflow appends serially anyway).
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string = defaultAuditDir()) {
    this.location = `jsonl:${dir}`;
  }

  /** The file that holds a run's trail. */
  file(run: AuditRunRef): string {
    return path.join(this.dir, segment(run.runbook, 'runbook'), segment(run.workflowId, 'workflow id'), `${segment(run.runId, 'run id')}.jsonl`);
  }

  async append(events: AuditEvent[]): Promise<{ written: number; skipped: number }> {
    if (events.length === 0) return { written: 0, skipped: 0 };
    const file = this.file(sameRun(events));
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(file, events));
    this.queues.set(file, next);
    try {
      return await next;
    } finally {
      if (this.queues.get(file) === next) this.queues.delete(file);
    }
  }

  private async appendNow(file: string, events: AuditEvent[]): Promise<{ written: number; skipped: number }> {
    const existing = await fsCall(file, 'written', async () => {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      return this.readRepairing(file);
    });
    const bySeq = new Map(existing.map((e) => [e.seq, e]));
    const fresh = planAppend(events, (seq) => bySeq.get(seq), file);
    if (fresh.length > 0) {
      await fsCall(file, 'written', async () => {
        const handle = await fs.promises.open(file, 'a');
        try {
          // One write per batch: a kill mid-write leaves at most one torn last line, repaired by the next append.
          await handle.write(fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
    }
    return { written: fresh.length, skipped: events.length - fresh.length };
  }

  /** Read the file for appending; a torn last line (a write cut short by a kill) is cut off, since it was never acknowledged. */
  private async readRepairing(file: string): Promise<AuditEvent[]> {
    let text = await readIfExists(file);
    if (text !== '' && !text.endsWith('\n')) {
      const cut = text.lastIndexOf('\n') + 1;
      const tail = text.slice(cut);
      let torn = false;
      try {
        JSON.parse(tail);
      } catch {
        torn = true;
      }
      if (torn) await fs.promises.truncate(file, Buffer.byteLength(text.slice(0, cut), 'utf8'));
      else await fs.promises.appendFile(file, '\n');
      text = torn ? text.slice(0, cut) : `${text}\n`;
    }
    return parseLines(text, file);
  }

  async list(run: AuditRunRef): Promise<AuditEvent[]> {
    const file = this.file(run);
    return parseLines(await fsCall(file, 'read', () => readIfExists(file)), file);
  }

  async runs(workflowId: string): Promise<AuditRunInfo[]> {
    const wf = segment(workflowId, 'workflow id');
    const runbooks = await readDirNames(this.dir);
    const found: AuditRunInfo[] = [];
    for (const rb of runbooks) {
      const runbook = decodeSegment(rb);
      if (runbook === undefined) continue;
      for (const name of await readDirNames(path.join(this.dir, rb, wf))) {
        const runId = name.endsWith('.jsonl') ? decodeSegment(name.slice(0, -'.jsonl'.length)) : undefined;
        if (runId === undefined) continue;
        found.push({ runbook, workflowId, runId, startedAt: await firstAt(path.join(this.dir, rb, wf, name)) });
      }
    }
    return byStart(found);
  }
}

function parseLines(text: string, file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') events.push(parseStoredEvent(line, `${file}:${i + 1}`));
  });
  return events;
}

async function readDirNames(dir: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

/** The first event's `at`, for ordering runs; undefined when the file cannot say (reading the trail reports why). */
async function firstAt(file: string): Promise<string | undefined> {
  try {
    const text = await fs.promises.readFile(file, 'utf8');
    const at = (JSON.parse(text.split('\n', 1)[0]) as { at?: unknown }).at;
    return typeof at === 'string' ? at : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Errors of the file system under a trail, named by the trail's file.
 *
 * Writing (the appendAudit activity): only a name too long (ENAMETOOLONG) is refused for good (`invalid`: the
 * activity fails non-retryably and the run ends saying so, instead of retrying forever), because the name comes
 * from the run's ids and is the same on every worker. Everything else stays a plain error, which Temporal retries
 * with backoff: the directory is on the local disk of the worker that ran the attempt, so a file where a directory
 * must be (ENOTDIR, EEXIST), a directory where the trail file must be (EISDIR), a symlink loop (ELOOP), like
 * permissions or a full or read-only disk, says nothing about another worker's disk, which a retry may land on,
 * and an operator can fix it while the run waits.
 *
 * Reading (only `drover audit`, which nothing retries): every such error is `invalid`, so the CLI reports the
 * file and why (exit 1) rather than taking it for an AWS error.
 */
const NEVER_WRITABLE = new Set(['ENAMETOOLONG']);

async function fsCall<T>(file: string, doing: 'read' | 'written', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof AuditStoreError || code === undefined) throw e;
    const message = `${file} cannot be ${doing}: ${(e as Error).message}`;
    if (doing === 'read' || NEVER_WRITABLE.has(code)) throw new AuditStoreError('invalid', message);
    throw Object.assign(new Error(message), { code });
  }
}
