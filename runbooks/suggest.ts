import { closest, distance } from 'fastest-levenshtein';

/**
 * ` (did you mean "x"?)` when a known key is near enough to `key` to be what was meant: at most a third of
 * its characters different (2 at least, so a short key's transposition counts), case ignored; else ''.
 */
export function didYouMean(key: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const lower = key.toLowerCase();
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  const nearest = closest(lower, [...byLower.keys()]);
  return distance(lower, nearest) <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${byLower.get(nearest)}"?)` : '';
}
