// Merges event sources into one timestamp-ordered stream. An event is only released when every
// source that is not finished has a buffered event, so an unread page can never hold an
// earlier event than the one released. All refills of one round run in parallel.

import { EventSource, RawEvent } from './sources';

export type StopReason = 'exhausted' | 'deadline';

interface Buffer {
  readonly source: EventSource;
  events: readonly RawEvent[];
  index: number;
  done: boolean;
}

export interface MergeOptions {
  /** Drops events already delivered by an earlier page (see cursor.ts). */
  readonly keep: (event: RawEvent) => boolean;
  readonly deadline: number;
  readonly now: () => number;
}

export async function* mergeSources(
  sources: readonly EventSource[],
  options: MergeOptions,
): AsyncGenerator<RawEvent, StopReason> {
  const buffers: Buffer[] = sources.map((source) => ({ source, events: [], index: 0, done: false }));
  const refill = async (b: Buffer) => {
    const page = await b.source.nextPage();
    b.events = page.events.filter(options.keep);
    b.index = 0;
    b.done = page.done;
  };
  for (;;) {
    const starving = buffers.filter((b) => b.index >= b.events.length && !b.done);
    if (starving.length > 0) {
      if (options.now() >= options.deadline) return 'deadline';
      await Promise.all(starving.map(refill));
      continue;
    }
    let next: Buffer | undefined;
    for (const b of buffers) {
      if (b.index < b.events.length && (!next || b.events[b.index]!.timestamp < next.events[next.index]!.timestamp)) {
        next = b;
      }
    }
    if (!next) return 'exhausted';
    yield next.events[next.index++]!;
  }
}
