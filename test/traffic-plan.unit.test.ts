/**
 * The traffic desired state (activities/route53.ts): the weight or failover role each region's record set
 * must have for a step of the shift, whether a record set needs an UPSERT, and how a record set reads back
 * as a share of traffic. Route 53 sends a weighted record's traffic in proportion to its weight over the sum
 * of the group's weights, a weight of 0 sending none
 * (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html): so percent and
 * 100 - percent are the shares. A failover record answers with its PRIMARY while that is healthy, and with
 * the SECONDARY otherwise (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-failover.html,
 * ResourceRecordSet.Failover): it carries no weight, so it moves whole, at 100%.
 */
import { desiredState, needsChange, shareOf } from '../activities/route53';

const FROM = 'us-east-1';
const TO = 'us-west-2';
const weighted = { routing: 'weighted' as const };
const failover = { routing: 'failover' as const };

describe('desiredState', () => {
  test.each([
    [0, 0, 100],
    [10, 10, 90],
    [50, 50, 50],
    [99, 99, 1],
    [100, 100, 0],
  ])('a weighted record at %i%%: weight %i on the target region, %i on the other', (percent, to, from) => {
    expect(desiredState(weighted, TO, { toRegion: TO, percent })).toEqual({ Weight: to });
    expect(desiredState(weighted, FROM, { toRegion: TO, percent })).toEqual({ Weight: from });
  });

  test('a failover record keeps its roles below 100% (even at 99) and swaps them at 100%', () => {
    expect(desiredState(failover, TO, { toRegion: TO, percent: 99 })).toEqual({ Failover: 'SECONDARY' });
    expect(desiredState(failover, FROM, { toRegion: TO, percent: 99 })).toEqual({ Failover: 'PRIMARY' });
    expect(desiredState(failover, TO, { toRegion: TO, percent: 0 })).toEqual({ Failover: 'SECONDARY' });
    expect(desiredState(failover, TO, { toRegion: TO, percent: 100 })).toEqual({ Failover: 'PRIMARY' });
    expect(desiredState(failover, FROM, { toRegion: TO, percent: 100 })).toEqual({ Failover: 'SECONDARY' });
  });

  test('a revert to 0% puts all the weight and the PRIMARY role back on the region traffic left', () => {
    expect([desiredState(weighted, FROM, { toRegion: TO, percent: 0 }), desiredState(failover, FROM, { toRegion: TO, percent: 0 })]).toEqual([{ Weight: 100 }, { Failover: 'PRIMARY' }]);
  });
});

describe('needsChange', () => {
  test('a weight that differs needs a change; the same weight does not, whatever else the set holds', () => {
    expect(needsChange({ Weight: 90 }, { Weight: 50 })).toBe(true);
    expect(needsChange({}, { Weight: 0 })).toBe(true);
    expect(needsChange({ Weight: 50 }, { Weight: 50 })).toBe(false);
    expect(needsChange({ Weight: 50, Failover: 'PRIMARY' }, { Weight: 50 })).toBe(false);
  });

  test('a role that differs needs a change; the same role does not, whatever weight the set holds', () => {
    expect(needsChange({ Failover: 'SECONDARY' }, { Failover: 'PRIMARY' })).toBe(true);
    expect(needsChange({}, { Failover: 'SECONDARY' })).toBe(true);
    expect(needsChange({ Failover: 'PRIMARY' }, { Failover: 'PRIMARY' })).toBe(false);
    expect(needsChange({ Failover: 'PRIMARY', Weight: 7 }, { Failover: 'PRIMARY' })).toBe(false);
  });

  test('nothing wanted, nothing to change', () => {
    expect(needsChange({ Weight: 1, Failover: 'PRIMARY' }, {})).toBe(false);
  });
});

describe('shareOf', () => {
  test('a weighted set reads its weight, 0 when it has none, whatever role it carries', () => {
    expect(shareOf('weighted', { Weight: 37 })).toBe(37);
    expect(shareOf('weighted', {})).toBe(0);
    expect(shareOf('weighted', { Failover: 'PRIMARY' })).toBe(0);
  });

  test('a failover set reads 100 as PRIMARY and 0 otherwise, whatever weight it carries', () => {
    expect(shareOf('failover', { Failover: 'PRIMARY' })).toBe(100);
    expect(shareOf('failover', { Failover: 'SECONDARY' })).toBe(0);
    expect(shareOf('failover', { Weight: 100 })).toBe(0);
  });

  test('the desired state reads back as the shift\'s own percent', () => {
    const shares = (percent: number) => [TO, FROM].map((region) => shareOf('weighted', desiredState(weighted, region, { toRegion: TO, percent })));
    expect([shares(0), shares(10), shares(100)]).toEqual([
      [0, 100],
      [10, 90],
      [100, 0],
    ]);
    expect([TO, FROM].map((region) => shareOf('failover', desiredState(failover, region, { toRegion: TO, percent: 100 })))).toEqual([100, 0]);
  });
});
