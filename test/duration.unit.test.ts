import { formatDuration, NO_DURATION } from '../contracts/duration';
import { formatDuration as reportDuration } from '../reports/format';

describe('formatDuration', () => {
  test.each([
    [0, '0.0s'],
    [499, '0.5s'],
    [850, '0.8s'],
    [999, '1.0s'],
    [1_000, '1.0s'],
    [1_500, '1.5s'],
    [12_345, '12.3s'],
    [59_900, '59.9s'],
    [59_949, '59.9s'],
    [59_950, '1m00s'],
    [60_000, '1m00s'],
    [61_000, '1m01s'],
    [183_500, '3m04s'],
    [343_913, '5m44s'],
    [3_599_499, '59m59s'],
    [3_599_500, '1h00m'],
    [3_661_000, '1h01m'],
    [7_199_999, '2h00m'],
    [90_061_000, '25h01m'],
  ])('by default (tenths of a second, up to hours) %d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each([
    [0, '0ms'],
    [1, '1ms'],
    [850, '850ms'],
    [999, '999ms'],
    [999.4, '999ms'],
    [999.6, '1.0s'],
    [1_000, '1.0s'],
    [12_345, '12.3s'],
    [59_999, '1m00s'],
    [90_000, '1m30s'],
    [3_661_000, '1h01m'],
  ])('with precision ms, %d ms reads %s', (ms, text) => {
    expect(formatDuration(ms, { precision: 'ms' })).toBe(text);
  });

  test.each([
    [0, '0s'],
    [499, '0s'],
    [500, '1s'],
    [12_345, '12s'],
    [59_499, '59s'],
    [59_500, '1m00s'],
    [183_500, '3m04s'],
    [3_599_499, '59m59s'],
    [3_599_500, '1h00m'],
    [90_061_000, '25h01m'],
  ])('with precision seconds, %d ms reads %s', (ms, text) => {
    expect(formatDuration(ms, { precision: 'seconds' })).toBe(text);
  });

  test.each([
    [42_000, '42s'],
    [187_000, '3m07s'],
    [3_599_500, '60m00s'],
    [3_661_000, '61m01s'],
    [90_061_000, '1501m01s'],
  ])('in whole seconds and minutes at most (notifications), %d ms reads %s', (ms, text) => {
    expect(formatDuration(ms, { precision: 'seconds', largestUnit: 'm' })).toBe(text);
  });

  test('a negative duration carries a minus sign, unless it rounds to zero', () => {
    expect(formatDuration(-400)).toBe('-0.4s');
    expect(formatDuration(-61_000)).toBe('-1m01s');
    expect(formatDuration(-3_661_000)).toBe('-1h01m');
    expect(formatDuration(-40, { precision: 'ms' })).toBe('-40ms');
    expect(formatDuration(-1_500, { precision: 'seconds' })).toBe('-2s');
    expect(formatDuration(-40)).toBe('0.0s');
    expect(formatDuration(-400, { precision: 'seconds' })).toBe('0s');
    expect(formatDuration(-0.4, { precision: 'ms' })).toBe('0ms');
  });

  test('no duration, or one that is not a finite number, reads as a dash', () => {
    expect(NO_DURATION).toBe('–');
    for (const ms of [undefined, NaN, Infinity, -Infinity]) {
      expect(formatDuration(ms)).toBe('–');
      expect(formatDuration(ms, { precision: 'seconds', largestUnit: 'm' })).toBe('–');
    }
  });

  test("reports write durations in milliseconds below a second, and '–' when there is none", () => {
    expect(reportDuration(850)).toBe('850ms');
    expect(reportDuration(12_345)).toBe('12.3s');
    expect(reportDuration(343_913)).toBe('5m44s');
    expect(reportDuration(-1_500)).toBe('-1.5s');
    expect(reportDuration(undefined)).toBe('–');
  });
});
