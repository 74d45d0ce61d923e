import { deflateRawSync } from 'node:zlib';
import { decodeCursor, encodeCursor, queryFingerprint } from '../../lambdas/logs/cursor';
import { ValidationError } from '../../lambdas/shared/errors';

const query = queryFingerprint({ service: 'web', task: undefined, container: 'web', filter: undefined });

describe('logs cursor', () => {
  it('round-trips floor and per-stream positions', () => {
    const positions = new Map([
      ['/g:web/web/abc', { timestamp: 1_700_000_000_123, count: 3 }],
      ['/g:web/worker/abc', { timestamp: 1_700_000_000_200, count: 1 }],
    ]);
    const decoded = decodeCursor(encodeCursor({ query, floor: 1_700_000_000_000, positions }), query);
    expect(decoded.floor).toBe(1_700_000_000_000);
    expect([...decoded.positions]).toEqual([...positions]);
  });

  it('refuses a cursor of another query', () => {
    const other = queryFingerprint({
      service: 'web',
      task: undefined,
      container: 'worker',
      filter: undefined,
    });
    const text = encodeCursor({ query: other, floor: 1, positions: new Map() });
    expect(() => decodeCursor(text, query)).toThrow(/cursor: belongs to a different query/);
  });

  it.each([
    ['not base64url', 'abc$%'],
    ['random bytes', Buffer.from('hello world').toString('base64url')],
    ['valid deflate, wrong JSON shape', deflateRawSync(JSON.stringify({ v: 2 })).toString('base64url')],
    [
      'negative count',
      deflateRawSync(JSON.stringify({ v: 1, q: query, f: 1, p: [['s', 1, -1]] })).toString('base64url'),
    ],
    ['too long', 'A'.repeat(9000)],
  ])('refuses %s with a ValidationError on field cursor', (_name, text) => {
    expect(() => decodeCursor(text, query)).toThrow(ValidationError);
    expect(() => decodeCursor(text, query)).toThrow(/^cursor: /);
  });

  it('refuses a cursor that inflates beyond its limit (a zip bomb)', () => {
    const bomb = deflateRawSync(Buffer.alloc(2_000_000, 0x20)).toString('base64url');
    expect(bomb.length).toBeLessThan(8192);
    expect(() => decodeCursor(bomb, query)).toThrow(/cursor: is not a cursor/);
  });
});
