import { describeWindows, inDrillWindow } from '../activities/drills';
import type { DrillWindow } from '../runbooks/schema';

const weekendMumbai: DrillWindow[] = [{ days: ['sat', 'sun'], from: '02:00', to: '06:00', timezone: 'Asia/Kolkata' }];

describe('drill windows', () => {
  test.each([
    ['2026-11-20T20:30:00Z', 'Saturday 02:00 in Kolkata (Friday 20:30 UTC): the window opens', true],
    ['2026-11-21T00:29:00Z', 'Saturday 05:59 in Kolkata', true],
    ['2026-11-21T00:30:00Z', 'Saturday 06:00 in Kolkata: the window has closed (to is exclusive)', false],
    ['2026-11-21T02:30:00Z', 'Saturday 02:30 UTC is 08:00 in Kolkata', false],
    ['2026-11-20T20:29:00Z', 'Saturday 01:59 in Kolkata', false],
    ['2026-11-22T22:00:00Z', 'Monday 03:30 in Kolkata: not a weekend day there', false],
  ])('at %s (%s) the answer is %s', (at, _why, expected) => {
    expect(inDrillWindow(weekendMumbai, new Date(at))).toBe(expected);
  });

  test('24:00 closes a window at the end of the day, and any of several windows admits', () => {
    const windows: DrillWindow[] = [
      { days: ['mon'], from: '22:00', to: '24:00', timezone: 'UTC' },
      { days: ['tue'], from: '00:00', to: '01:00', timezone: 'UTC' },
    ];
    expect(inDrillWindow(windows, new Date('2026-11-23T23:59:00Z'))).toBe(true);
    expect(inDrillWindow(windows, new Date('2026-11-24T00:30:00Z'))).toBe(true);
    expect(inDrillWindow(windows, new Date('2026-11-24T01:00:00Z'))).toBe(false);
    expect(describeWindows(windows)).toBe('mon 22:00-24:00 UTC; tue 00:00-01:00 UTC');
  });
});
