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
  readonly keep: (event: RawEvent, source: EventSource) => boolean;
  readonly deadline: number;
  readonly now: () => number;
}

export class Merger {
  private readonly buffers: Buffer[];
  private head: Buffer | undefined;

  constructor(
    sources: readonly EventSource[],
    private readonly options: MergeOptions,
  ) {
    this.buffers = sources.map((source) => ({ source, events: [], index: 0, done: false }));
  }

  /** The next event in timestamp order, without taking it; or why there is none. */
  async peek(): Promise<RawEvent | StopReason> {
    for (;;) {
      const starving = this.buffers.filter((b) => b.index >= b.events.length && !b.done);
      if (starving.length > 0) {
        if (this.options.now() >= this.options.deadline) return 'deadline';
        await Promise.all(starving.map((b) => this.refill(b)));
        continue;
      }
      this.head = undefined;
      for (const b of this.buffers) {
        if (
          b.index < b.events.length &&
          (!this.head || b.events[b.index]!.timestamp < this.head.events[this.head.index]!.timestamp)
        ) {
          this.head = b;
        }
      }
      return this.head ? this.head.events[this.head.index]! : 'exhausted';
    }
  }

  /** Takes the event the last peek() returned. */
  take(): void {
    if (!this.head) throw new Error('take() without a peeked event');
    this.head.index += 1;
    this.head = undefined;
  }

  /** True when everything a source has returned so far was taken (or dropped). */
  drained(source: EventSource): boolean {
    const b = this.buffers.find((x) => x.source === source);
    return !!b && b.index >= b.events.length;
  }

  private async refill(b: Buffer) {
    const page = await b.source.nextPage();
    b.events = page.events.filter((e) => this.options.keep(e, b.source));
    b.index = 0;
    b.done = page.done;
  }
}
