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

  describe('on daylight-saving nights (2026), a window opens when its clock first reaches from and lasts exactly to - from', () => {
    const london: DrillWindow[] = [{ days: ['sun'], from: '01:00', to: '02:00', timezone: 'Europe/London' }];
    const newYorkSpring: DrillWindow[] = [{ days: ['sun'], from: '02:00', to: '03:00', timezone: 'America/New_York' }];
    const newYorkAutumn: DrillWindow[] = [{ days: ['sun'], from: '01:00', to: '02:00', timezone: 'America/New_York' }];

    test.each([
      // London springs forward at 01:00 GMT on 29 March: 01:00-01:59 never happens, so the window opens at the jump.
      ['london', '2026-03-29T00:59:00Z', '00:59 GMT, before the jump', false],
      ['london', '2026-03-29T01:00:00Z', '02:00 BST, the jump: the window opens', true],
      ['london', '2026-03-29T01:59:00Z', '02:59 BST, 59 minutes later', true],
      ['london', '2026-03-29T02:00:00Z', '03:00 BST, one hour after it opened', false],
      // London falls back at 02:00 BST on 25 October: 01:00-01:59 happens twice; the window is the first hour only.
      ['london', '2026-10-24T23:59:00Z', '00:59 BST', false],
      ['london', '2026-10-25T00:00:00Z', '01:00 BST, the first 01:00', true],
      ['london', '2026-10-25T00:59:00Z', '01:59 BST', true],
      ['london', '2026-10-25T01:00:00Z', '01:00 GMT, the second 01:00: the hour is over', false],
      ['london', '2026-10-25T01:30:00Z', '01:30 GMT', false],
      // New York springs forward at 02:00 EST on 8 March: 02:00-02:59 never happens.
      ['newYorkSpring', '2026-03-08T06:59:00Z', '01:59 EST', false],
      ['newYorkSpring', '2026-03-08T07:00:00Z', '03:00 EDT, the jump: the window opens', true],
      ['newYorkSpring', '2026-03-08T07:59:00Z', '03:59 EDT', true],
      ['newYorkSpring', '2026-03-08T08:00:00Z', '04:00 EDT', false],
      // New York falls back at 02:00 EDT on 1 November: 01:00-01:59 happens twice.
      ['newYorkAutumn', '2026-11-01T04:59:00Z', '00:59 EDT', false],
      ['newYorkAutumn', '2026-11-01T05:00:00Z', '01:00 EDT, the first 01:00', true],
      ['newYorkAutumn', '2026-11-01T05:59:00Z', '01:59 EDT', true],
      ['newYorkAutumn', '2026-11-01T06:30:00Z', '01:30 EST, the second 01:30', false],
    ])('%s window at %s (%s): %s', (name, at, _why, expected) => {
      const windows = { london, newYorkSpring, newYorkAutumn }[name as 'london' | 'newYorkSpring' | 'newYorkAutumn'];
      expect(inDrillWindow(windows, new Date(at as string))).toBe(expected);
    });

    test('a window that spans the jump keeps its length in elapsed time: Sunday 00:00-06:00 London on 29 March closes at 07:00 BST', () => {
      const night: DrillWindow[] = [{ days: ['sun'], from: '00:00', to: '06:00', timezone: 'Europe/London' }];
      expect(inDrillWindow(night, new Date('2026-03-29T05:59:00Z'))).toBe(true);
      expect(inDrillWindow(night, new Date('2026-03-29T06:00:00Z'))).toBe(false);
      // The day before and after the transition, 00:00-06:00 is six hours of the local clock as usual.
      expect(inDrillWindow(night, new Date('2026-04-05T04:59:00Z'))).toBe(true);
      expect(inDrillWindow(night, new Date('2026-04-05T05:00:00Z'))).toBe(false);
    });
  });
});
