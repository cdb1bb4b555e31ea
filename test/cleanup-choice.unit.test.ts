/**
 * What a cleanup deletes (contracts/cleanup.ts chooseRetained): by age against --older-than, else the
 * database's retainFor; the exact boundary deletes; no limit, an unknown age or deletion protection keep.
 */
import { chooseRetained, formatAge } from '../contracts/cleanup';
import type { RetainedInstance } from '../contracts/cleanup';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 12);
const retained = (identifier: string, ageMs: number | undefined, extra: Partial<RetainedInstance> = {}): RetainedInstance => ({
  region: 'ap-south-1',
  identifier,
  status: 'available',
  instanceClass: 'db.r6g.large',
  retainedAt: ageMs === undefined ? undefined : NOW - ageMs,
  reason: 'old primary replaced by failback failback-shop',
  deletionProtection: false,
  readReplicas: [],
  ...extra,
});

describe('chooseRetained', () => {
  test('retainFor: exactly as old deletes, a millisecond younger keeps', () => {
    const [old, young] = chooseRetained([retained('shop-db-old-a', 7 * DAY), retained('shop-db-old-b', 7 * DAY - 1)], NOW, undefined, 7 * DAY);
    expect(old).toEqual({ ...retained('shop-db-old-a', 7 * DAY), action: 'delete', why: 'retained 7d00h ago, at least 7d00h (retainFor)' });
    expect(young).toEqual({ ...retained('shop-db-old-b', 7 * DAY - 1), action: 'keep', why: 'retained 6d23h ago, younger than 7d00h (retainFor)' });
  });

  test('--older-than wins over retainFor, either way', () => {
    expect(chooseRetained([retained('a', 2 * DAY)], NOW, DAY, 30 * DAY)[0]).toMatchObject({ action: 'delete', why: 'retained 2d00h ago, at least 1d00h (--older-than)' });
    expect(chooseRetained([retained('a', 2 * DAY)], NOW, 3 * DAY, 0)[0]).toMatchObject({ action: 'keep', why: 'retained 2d00h ago, younger than 3d00h (--older-than)' });
    expect(chooseRetained([retained('a', 0)], NOW, 0, undefined)[0].action).toBe('delete');
  });

  test('keeps what RDS cannot snapshot or must not delete: any status but available, read replicas', () => {
    expect(chooseRetained([retained('a', 9 * DAY, { status: 'stopped' })], NOW, DAY, undefined)[0]).toMatchObject({ action: 'keep', why: 'it is stopped: only an available instance can be snapshotted before its deletion' });
    expect(chooseRetained([retained('a', 9 * DAY, { readReplicas: ['shop-db-reader'] })], NOW, DAY, undefined)[0]).toMatchObject({ action: 'keep', why: 'it has read replicas (shop-db-reader): deleting it would promote them' });
  });

  test('ages are floored, so a limit never reads as reached a moment early', () => {
    expect([DAY - 1, 3_600_000 - 1, 60_000 - 1, 59_999, 4 * 60_000 + 9_999, 0].map(formatAge)).toEqual(['23h59m', '59m59s', '59s', '59s', '4m09s', '0s']);
  });

  test('keeps, saying why: no limit at all, an unknown retirement time, deletion protection', () => {
    expect(chooseRetained([retained('a', 400 * DAY)], NOW, undefined, undefined)[0]).toMatchObject({ action: 'keep', why: 'no retainFor in the runbook and no --older-than' });
    expect(chooseRetained([retained('a', undefined)], NOW, 0, undefined)[0]).toMatchObject({ action: 'keep', why: 'when it was retained is unknown' });
    expect(chooseRetained([retained('a', 9 * DAY, { deletionProtection: true })], NOW, DAY, undefined)[0]).toMatchObject({ action: 'keep', why: 'deletion protection is on' });
  });

  test('ages under a day in hours, minutes and seconds', () => {
    expect(chooseRetained([retained('a', 3 * 3_600_000 + 5 * 60_000)], NOW, 4 * 3_600_000, undefined)[0].why).toBe('retained 3h05m ago, younger than 4h00m (--older-than)');
  });

  test('a retirement time in the future (clock skew) counts as just retained', () => {
    expect(chooseRetained([retained('a', -DAY)], NOW, DAY, undefined)[0]).toMatchObject({ action: 'keep', why: 'retained 0s ago, younger than 1d00h (--older-than)' });
  });
});
