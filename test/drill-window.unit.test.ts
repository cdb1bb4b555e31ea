import { cooldownRefusal, describeWindows, inDrillWindow } from '../activities/drills';
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

describe('the exact instants a window opens and closes', () => {
  const at = (iso: string, windows: DrillWindow[]) => inDrillWindow(windows, new Date(iso));

  test('Saturday 02:00-06:00 in Kolkata opens at 20:30:00.000 UTC on Friday and is closed from 00:30:00.000 UTC', () => {
    expect([at('2026-11-20T20:29:59.999Z', weekendMumbai), at('2026-11-20T20:30:00.000Z', weekendMumbai), at('2026-11-21T00:29:59.999Z', weekendMumbai), at('2026-11-21T00:30:00.000Z', weekendMumbai)]).toEqual([false, true, true, false]);
  });

  test('a window opened the local day before is still open: Sunday 00:00-24:00 in London on the 23-hour 29 March 2026 ends at 01:00 BST on Monday', () => {
    const sunday: DrillWindow[] = [{ days: ['sun'], from: '00:00', to: '24:00', timezone: 'Europe/London' }];
    expect([at('2026-03-28T23:59:59.999Z', sunday), at('2026-03-29T00:00:00.000Z', sunday), at('2026-03-29T23:30:00.000Z', sunday), at('2026-03-29T23:59:59.999Z', sunday), at('2026-03-30T00:00:00.000Z', sunday)]).toEqual([false, true, true, true, false]);
  });

  test('a zone whose offset has seconds (Monrovia, -0:44:30 until 1972): Tuesday 02:00-03:00 there opens at 02:44:30 UTC', () => {
    const monrovia: DrillWindow[] = [{ days: ['tue'], from: '02:00', to: '03:00', timezone: 'Africa/Monrovia' }];
    expect([at('1971-06-01T02:44:29.999Z', monrovia), at('1971-06-01T02:44:30.000Z', monrovia), at('1971-06-01T03:44:29.999Z', monrovia), at('1971-06-01T03:44:30.000Z', monrovia)]).toEqual([false, true, true, false]);
  });

  test.each([
    ['sun', '2026-11-22'],
    ['mon', '2026-11-23'],
    ['tue', '2026-11-24'],
    ['wed', '2026-11-25'],
    ['thu', '2026-11-26'],
    ['fri', '2026-11-27'],
    ['sat', '2026-11-28'],
  ] as const)('a window on %s only is open at noon UTC on %s and not the day before', (day, date) => {
    const windows: DrillWindow[] = [{ days: [day], from: '00:00', to: '24:00', timezone: 'UTC' }];
    const before = new Date(Date.parse(`${date}T12:00:00.000Z`) - 86_400_000).toISOString();
    expect([at(`${date}T12:00:00.000Z`, windows), at(before, windows)]).toEqual([true, false]);
  });

  test('minutes count: Wednesday 02:30-03:15 UTC opens at 02:30:00.000 and closes at 03:15:00.000', () => {
    const windows: DrillWindow[] = [{ days: ['wed'], from: '02:30', to: '03:15', timezone: 'UTC' }];
    expect([at('2026-11-25T02:29:59.999Z', windows), at('2026-11-25T02:30:00.000Z', windows), at('2026-11-25T03:14:59.999Z', windows), at('2026-11-25T03:15:00.000Z', windows)]).toEqual([false, true, true, false]);
  });

  test('no window, no drill; a window on other days only, no drill', () => {
    expect(at('2026-11-21T00:00:00.000Z', [])).toBe(false);
    expect(at('2026-11-21T00:00:00.000Z', [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sun'], from: '00:00', to: '24:00', timezone: 'UTC' }])).toBe(false);
  });

  test('describeWindows names every day, the times and the zone, window by window', () => {
    expect(describeWindows([...weekendMumbai, { days: ['mon', 'wed'], from: '01:00', to: '02:30', timezone: 'UTC' }])).toBe('sat,sun 02:00-06:00 Asia/Kolkata; mon,wed 01:00-02:30 UTC');
    expect(describeWindows([])).toBe('');
  });
});

describe('cooldownRefusal', () => {
  const closed = new Date('2026-03-01T10:00:00.000Z');
  const DAY = 86_400_000;

  test('one millisecond before the cooldown ends, the drill is refused, saying when it may run', () => {
    expect(cooldownRefusal('failover', 'failover-shop', closed, new Date('2026-03-02T09:59:59.999Z'), DAY)).toBe(
      'a real failover (failover-shop) ended at 2026-03-01T10:00:00.000Z, less than the cooldown of 1d ago; drills are allowed again from 2026-03-02T10:00:00.000Z',
    );
  });

  test('at the instant the cooldown ends, and after, the drill may run', () => {
    expect(cooldownRefusal('failover', 'failover-shop', closed, new Date('2026-03-02T10:00:00.000Z'), DAY)).toBeUndefined();
    expect(cooldownRefusal('failover', 'failover-shop', closed, new Date('2026-03-09T10:00:00.000Z'), DAY)).toBeUndefined();
  });

  test('a run that never closed has no cooldown; a run closed "later" than now (a skewed clock) is still cooling down', () => {
    expect(cooldownRefusal('failback', 'failback-shop', undefined, new Date('2026-03-01T10:00:00.000Z'), DAY)).toBeUndefined();
    expect(cooldownRefusal('failback', 'failback-shop', closed, new Date('2026-03-01T09:00:00.000Z'), 2 * 3_600_000)).toBe(
      'a real failback (failback-shop) ended at 2026-03-01T10:00:00.000Z, less than the cooldown of 2h ago; drills are allowed again from 2026-03-01T12:00:00.000Z',
    );
  });

  test('a cooldown of 0 refuses nothing, not even at the instant of the close', () => {
    expect(cooldownRefusal('failover', 'failover-shop', closed, closed, 0)).toBeUndefined();
  });
});
