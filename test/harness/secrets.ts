/**
 * The "no secrets" scan: every workflow history on a Temporal server and every audit event on disk,
 * searched for AWS access key ids, secret access keys, STS session tokens and SigV4 signatures
 * (`findSecrets`, the audit scrubber's own patterns). Payloads are decoded first (their `data` is
 * base64 JSON), so an encoded secret is not missed. Findings name where and what, never the secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { findSecrets, type SecretKind } from '../../audit/scrub';

export interface HistoryFinding {
  workflowId?: string;
  runId?: string;
  eventId: string;
  kind: SecretKind;
}

export interface AuditFinding {
  file: string;
  line: number;
  kind: SecretKind;
}

/**
 * AWS's published documentation example credentials: not secrets. Tests paste them on purpose (a reason
 * with a key "pasted by mistake" must be redacted from notifications and the trail), and a run's input
 * keeps what was typed. Nothing else is exempt.
 */
export const DOCUMENTATION_EXAMPLES = ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];

/** `findSecrets`, with AWS's documentation examples set aside. */
export function scanText(text: string): SecretKind[] {
  return findSecrets(DOCUMENTATION_EXAMPLES.reduce((t, example) => t.split(example).join(' '), text));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Every text in a history event (or any value from a history): strings as they are, payload `data`
 * decoded (bytes as UTF-8, base64 strings as the JSON form of a history carries them).
 */
export function historyTexts(value: unknown, key?: string, out: string[] = []): string[] {
  if (typeof value === 'string') {
    out.push(key === 'data' && value.length > 0 && BASE64.test(value) ? Buffer.from(value, 'base64').toString('utf8') : value);
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(value).toString('utf8'));
  } else if (Array.isArray(value)) {
    for (const v of value) historyTexts(v, undefined, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) historyTexts(v, k, out);
  }
  return out;
}

/** The secrets in one history (the proto from `fetchHistory()`, or its JSON form), by event. */
export function scanHistory(history: { events?: unknown[] | null }): Array<{ eventId: string; kind: SecretKind }> {
  const findings: Array<{ eventId: string; kind: SecretKind }> = [];
  for (const event of history.events ?? []) {
    const eventId = String((event as { eventId?: unknown }).eventId ?? '?');
    for (const text of historyTexts(event)) for (const kind of scanText(text)) findings.push({ eventId, kind });
  }
  return findings;
}

/** List every workflow in the client's namespace, fetch each history and scan it. */
export async function scanHistoriesForSecrets(client: Client, concurrency = 8): Promise<{ histories: number; findings: HistoryFinding[] }> {
  const runs: Array<{ workflowId: string; runId: string }> = [];
  for await (const wf of client.workflow.list()) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
  const findings: HistoryFinding[] = [];
  let next = 0;
  const work = async () => {
    while (next < runs.length) {
      const run = runs[next++];
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const f of scanHistory(history)) findings.push({ ...run, ...f });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, work));
  return { histories: runs.length, findings };
}

/** Every audit event (one JSONL line) under `dir`, scanned. */
export function scanAuditDir(dir: string): { events: number; findings: AuditFinding[] } {
  const findings: AuditFinding[] = [];
  let events = 0;
  if (!fs.existsSync(dir)) return { events, findings };
  const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f));
  for (const file of files) {
    if (!fs.statSync(file).isFile()) continue;
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      events++;
      for (const kind of scanText(line)) findings.push({ file: path.relative(dir, file), line: i + 1, kind });
    });
  }
  return { events, findings };
}

/** A report of findings: where and which kind, never the secret. */
export function describeFindings(histories: HistoryFinding[], audit: AuditFinding[]): string {
  const lines = [
    ...histories.map((f) => `history of ${f.workflowId ?? '?'} (run ${f.runId ?? '?'}), event ${f.eventId}: ${f.kind}`),
    ...audit.map((f) => `audit event ${f.file}:${f.line}: ${f.kind}`),
  ];
  const unique = [...new Set(lines)];
  return `secrets found (${histories.length + audit.length}):\n  ${unique.slice(0, 200).join('\n  ')}${unique.length > 200 ? `\n  ... and ${unique.length - 200} more` : ''}`;
}
