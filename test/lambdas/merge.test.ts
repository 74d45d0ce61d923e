import { Merger } from '../../lambdas/logs/merge';
import { EventSource, Page, RawEvent } from '../../lambdas/logs/sources';

function source(name: string, pages: number[][]): EventSource & { calls: number } {
  let i = 0;
  const s = {
    describe: name,
    calls: 0,
    async nextPage(): Promise<Page> {
      s.calls += 1;
      const page = pages[i] ?? [];
      i += 1;
      return { events: page.map((t) => ev(name, t)), done: i >= pages.length };
    },
  };
  return s;
}
const ev = (stream: string, timestamp: number): RawEvent => ({
  timestamp,
  key: stream,
  stream,
  message: `${stream}@${timestamp}`,
});

async function drain(sources: EventSource[], keep: (e: RawEvent) => boolean = () => true) {
  const out: string[] = [];
  const merger = new Merger(sources, { keep, deadline: Infinity, now: () => 0 });
  for (;;) {
    const next = await merger.peek();
    if (typeof next === 'string') return { out, stop: next, merger };
    merger.take();
    out.push(next.message);
  }
}

describe('mergeSources', () => {
  it('releases events in timestamp order across paged sources', async () => {
    const a = source('a', [
      [1, 4],
      [6, 9],
    ]);
    const b = source('b', [[2, 3, 5], [7]]);
    const { out, stop } = await drain([a, b]);
    expect(out).toEqual(['a@1', 'b@2', 'b@3', 'a@4', 'b@5', 'a@6', 'b@7', 'a@9']);
    expect(stop).toBe('exhausted');
  });

  it('keeps reading through empty pages that are not the last', async () => {
    const a = source('a', [[], [], [5]]);
    const { out } = await drain([a, source('b', [[1]])]);
    expect(out).toEqual(['b@1', 'a@5']);
  });

  it('drops what keep() refuses', async () => {
    const { out } = await drain([source('a', [[1, 2, 3]])], (e) => e.timestamp !== 2);
    expect(out).toEqual(['a@1', 'a@3']);
  });

  it('stops at the deadline rather than read on', async () => {
    const merger = new Merger([source('a', [[], [1]])], { keep: () => true, deadline: 0, now: () => 1 });
    await expect(merger.peek()).resolves.toBe('deadline');
  });

  it('peeks without taking, and knows when a source is drained', async () => {
    const a = source('a', [[1, 2], [3]]);
    const merger = new Merger([a], { keep: () => true, deadline: Infinity, now: () => 0 });
    expect(await merger.peek()).toMatchObject({ timestamp: 1 });
    expect(await merger.peek()).toMatchObject({ timestamp: 1 });
    merger.take();
    expect(merger.drained(a)).toBe(false);
    await merger.peek();
    merger.take();
    expect(merger.drained(a)).toBe(true);
    expect(a.calls).toBe(1);
  });
});
