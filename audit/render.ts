import { stringify } from 'csv-stringify/sync';
import { mdCell } from '../reports/format';
import { actorLabel, type AuditEvent } from './chain';
import type { ChainVerdict } from './hash';

/** What an export or a timeline is about. */
export interface AuditTrail {
  workflowId: string;
  runId: string;
  runbook: string;
  events: AuditEvent[];
  verdict: ChainVerdict;
}

function state(value: unknown, max = 160): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function verdictLine(t: AuditTrail): string {
  // Hashes alone: what the chain proves without its anchor, which only `drover audit verify` checks.
  return t.verdict.ok ? `chain intact: ${t.verdict.count} events, head ${t.verdict.head} (not checked against the run's anchor: drover audit verify does)` : `DOES NOT VERIFY: ${t.verdict.firstBad.reason}`;
}

/** A readable timeline for a terminal: one line per event, evidence indented below it. */
export function renderTimeline(t: AuditTrail): string[] {
  const out = [`audit of ${t.workflowId} (run ${t.runId}, runbook ${t.runbook}): ${t.events.length} events`, verdictLine(t), ''];
  const badIndex = t.verdict.ok ? -1 : t.verdict.firstBad.index;
  t.events.forEach((e, i) => {
    const mark = i === badIndex ? '!!' : '  ';
    out.push(`${mark}#${String(e.seq).padEnd(4)} ${e.at}  ${e.action.padEnd(24)} ${actorLabel(e.actor)}`);
    if (e.target) out.push(`        target   ${e.target}`);
    if (e.detail) out.push(`        detail   ${e.detail}`);
    if (e.before !== undefined || e.after !== undefined) out.push(`        change   ${state(e.before) || '–'} → ${state(e.after) || '–'}`);
    if (e.requestId) out.push(`        request  ${e.requestId}`);
  });
  return out;
}

/** The whole trail as JSON: run identity, the verdict, and every event as stored. */
export function renderAuditJson(t: AuditTrail): string {
  return JSON.stringify({ workflowId: t.workflowId, runId: t.runId, runbook: t.runbook, count: t.events.length, verdict: t.verdict, events: t.events }, null, 2);
}

/** The trail as a Markdown document with one table row per event. */
export function renderAuditMarkdown(t: AuditTrail): string {
  const out = [`# Audit trail of ${mdCell(t.workflowId)}`, '', `Run \`${t.runId}\`, runbook \`${mdCell(t.runbook)}\`. ${mdCell(verdictLine(t))}.`, ''];
  out.push('| seq | time (UTC) | actor | action | target | before | after | request id | detail | hash |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const e of t.events) {
    const cells = [String(e.seq), e.at, actorLabel(e.actor), e.action, e.target, state(e.before, 80), state(e.after, 80), e.requestId, e.detail, `\`${e.hash.slice(0, 12)}\``];
    out.push(`| ${cells.map((c) => (c?.startsWith('`') ? c : mdCell(c))).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

const CSV_COLUMNS = ['seq', 'at', 'actor', 'actorVerified', 'action', 'target', 'before', 'after', 'requestId', 'detail', 'runId', 'workflowId', 'runbook', 'prevHash', 'hash'] as const;

/** The trail as CSV (RFC 4180), one row per event, before/after as JSON text. */
export function renderAuditCsv(t: AuditTrail): string {
  const rows = t.events.map((e) => ({
    ...e,
    actor: e.actor.id,
    actorVerified: e.actor.verified ? 'true' : 'false',
    before: e.before === undefined ? '' : JSON.stringify(e.before),
    after: e.after === undefined ? '' : JSON.stringify(e.after),
  }));
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS] });
}
