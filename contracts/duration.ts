/**
 * drover's one way of writing a duration for people: 850ms, 12.3s, 42s, 3m04s, 1h02m. Pure and
 * deterministic (no clock, no Node), so workflow code may use it as well as the CLI and the reports.
 */

/**
 * How precisely a duration under a minute is written: `ms` as 850ms below a second and 12.3s above it
 * (reports); `tenths` as 0.9s and 12.3s (the CLI's status); `seconds` in whole seconds, 1s and 12s
 * (notifications, the runs table). From a minute on, every precision rounds to whole seconds.
 */
export type DurationPrecision = 'ms' | 'tenths' | 'seconds';

export interface DurationFormat {
  /** Below a minute; `tenths` unless told. */
  precision?: DurationPrecision;
  /**
   * The largest unit: `h` writes an hour or more as 1h02m (its seconds dropped, not rounded); `m` keeps
   * counting minutes, 62m05s (notifications: a subject keeps its seconds). `h` unless told.
   */
  largestUnit?: 'h' | 'm';
}

/** What a missing (or non-finite) duration reads as. */
export const NO_DURATION = '–';

/**
 * A duration in milliseconds as 850ms, 12.3s, 3m04s or 1h02m (see DurationFormat); `–` when there is
 * none. A negative one carries a minus sign, unless it rounds to zero.
 */
export function formatDuration(ms: number | undefined, format: DurationFormat = {}): string {
  if (ms === undefined || !Number.isFinite(ms)) return NO_DURATION;
  const precision = format.precision ?? 'tenths';
  const largestUnit = format.largestUnit ?? 'h';
  const text = magnitude(Math.abs(ms), precision, largestUnit);
  return ms < 0 && text !== magnitude(0, precision, largestUnit) ? `-${text}` : text;
}

function magnitude(ms: number, precision: DurationPrecision, largestUnit: 'h' | 'm'): string {
  if (precision === 'ms' && Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  if (precision !== 'seconds') {
    // 59.95s and up would read 60.0s: they are written as the minute they round to.
    const tenths = (ms / 1000).toFixed(1);
    if (Number(tenths) < 60) return `${tenths}s`;
  }
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600 || largestUnit === 'm') return `${Math.floor(s / 60)}m${twoDigits(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${twoDigits(Math.floor((s % 3600) / 60))}m`;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}
