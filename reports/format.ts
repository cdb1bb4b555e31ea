import { formatDuration as duration } from '../contracts/duration';

/** A duration as reports write it: 850ms, 12.3s, 3m04s or 1h02m; '–' when there is none. */
export function formatDuration(ms: number | undefined): string {
  return duration(ms, { precision: 'ms' });
}

/** A timestamp as `2025-03-01 10:02:03` (UTC). */
export function formatTime(ms: number | undefined): string {
  return ms === undefined ? '–' : new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Seconds of replica lag, as the RPO is stated. */
export function formatLag(seconds: number | undefined): string {
  return seconds === undefined ? '–' : `${seconds}s`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Text for a Markdown table cell: one line, no column breaks, no raw HTML (an escaped `<` opens no tag). */
export function mdCell(text: string | undefined): string {
  return (text ?? '').replace(/</g, '&lt;').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}
