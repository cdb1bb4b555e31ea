import { readFileSync } from 'node:fs';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { runbookSchema, type Runbook } from './schema';
import { didYouMean } from './suggest';

/** One problem in a runbook: a path such as dns.records[1].routing, a message, and where it is in the file. */
export interface RunbookProblem {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export type LoadResult = { ok: true; runbook: Runbook } | { ok: false; problems: RunbookProblem[] };

// YAML aliases beyond this count are refused, which stops "billion laughs" alias bombs early.
const MAX_ALIAS_COUNT = 200;
const MAX_BYTES = 2 * 1024 * 1024;

/** Render a zod path as dns.records[1].routing. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    const k = String(key);
    return out === '' ? k : `${out}.${k}`;
  }, '');
}

const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required';
    const got = iss.input === null ? 'null' : Array.isArray(iss.input) ? 'array' : typeof iss.input;
    return `expected ${iss.expected}, got ${got}`;
  }
  if (iss.code === 'invalid_key') return iss.issues[0]?.message ?? 'invalid key';
  if (iss.code === 'unrecognized_keys') {
    const known = Object.keys((iss.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape ?? {});
    return `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"${didYouMean(k, known)}`).join(', ')}`;
  }
  return undefined;
};

/** Where the key `key` of the mapping at `path` is written, if it is. */
function keyPosition(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key: string | undefined): { line: number; col: number } | undefined {
  const map = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (key === undefined || !isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  const range = isScalar(pair?.key) ? pair.key.range : undefined;
  return range ? lines.linePos(range[0]) : undefined;
}

function position(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): { line?: number; col?: number } {
  // Walk up the path until a node with a source range is found (a missing key points at its parent).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { line, col };
    }
  }
  return {};
}

/** Parse and validate runbook YAML text; every problem is reported, none is thrown. */
export function parseRunbook(text: string): LoadResult {
  if (Buffer.byteLength(text) > MAX_BYTES) {
    return { ok: false, problems: [{ path: '', message: `runbook is larger than ${MAX_BYTES} bytes` }] };
  }
  const lines = new LineCounter();
  let doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const syntax: RunbookProblem[] = doc.errors.map((e) => {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    return { path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, line: pos?.line, col: pos?.col };
  });
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { ok: false, problems: syntax };
  // Only duplicate keys: reported, and the rest of the file is still checked (as read with each key's last value).
  if (syntax.length > 0) doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false, merge: true });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { ok: false, problems: [{ path: '', message: `YAML: ${(e as Error).message}` }] };
  }
  let parsed: ReturnType<typeof runbookSchema.safeParse>;
  try {
    parsed = runbookSchema.safeParse(data, { error: errorMap });
  } catch (e) {
    // Validation itself must never crash the CLI, whatever shape the YAML produced.
    return { ok: false, problems: [{ path: '', message: `YAML: cannot validate this document: ${(e as Error).message}` }] };
  }
  if (parsed.success && syntax.length === 0) return { ok: true, runbook: parsed.data };
  const problems = [...syntax, ...(parsed.error?.issues ?? []).map((iss) => ({
    path: formatPath(iss.path),
    message: iss.message,
    // An unknown key is shown where it is written, not at the start of the object that holds it.
    ...((iss.code === 'unrecognized_keys' && keyPosition(doc, lines, iss.path, iss.keys[0])) || position(doc, lines, iss.path)),
  }))];
  // In file order, as an editor shows them (a stable sort: problems at one place keep the schema's order).
  return { ok: false, problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)) };
}

/** Read a runbook file; an unreadable file is a problem like any other. */
export function loadRunbookFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, problems: [{ path: '', message: `cannot read ${file}: ${code ?? (e as Error).message}` }] };
  }
  return parseRunbook(text);
}

/** One line per problem: `file:line:col path: message`. */
export function formatProblems(file: string, problems: RunbookProblem[]): string[] {
  return problems.map((p) => {
    const where = p.line !== undefined ? `${file}:${p.line}:${p.col}` : file;
    return `${where} ${p.path === '' ? '(root)' : p.path}: ${p.message}`;
  });
}
