import { parseInstant, parseTimeRange } from '../../lambdas/logs/time-range';

const NOW = Date.parse('2026-12-03T12:00:00Z');

describe('time expressions', () => {
  it.each([
    ['15m', NOW - 15 * 60_000],
    ['2h', NOW - 2 * 3_600_000],
    ['7d', NOW - 7 * 86_400_000],
    ['30s', NOW - 30_000],
    ['2026-12-03T10:00:00Z', Date.parse('2026-12-03T10:00:00Z')],
    ['2026-12-03T10:00:00.250+01:00', Date.parse('2026-12-03T09:00:00.250Z')],
    ['1796292000000', 1796292000000],
  ])('%s is %d', (text, expected) => {
    expect(parseInstant('since', text, NOW)).toBe(expected);
  });

  it.each(['15 minutes', 'yesterday', '-5m', '1e3', '2026-13-45T99:00:00Z', '5y'])(
    'refuses %s naming the field',
    (text) => {
      expect(() => parseInstant('since', text, NOW)).toThrow(/^since: /);
    },
  );

  it('refuses until before since', () => {
    expect(() => parseTimeRange({ since: '1h', until: '2h' }, NOW, 60_000)).toThrow(
      /until: must be later than since/,
    );
  });

  it('refuses a time in the future beyond clock skew', () => {
    expect(() => parseInstant('until', '2026-12-03T13:00:00Z', NOW)).toThrow(/until: is in the future/);
  });

  it('defaults since and leaves until open', () => {
    expect(parseTimeRange({}, NOW, 15 * 60_000)).toEqual({ since: NOW - 15 * 60_000 });
  });
});
