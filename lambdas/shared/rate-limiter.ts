// A token bucket per Lambda container, so one invocation's fan-out stays inside an API's
// account-wide rate (FilterLogEvents: 5 requests/s, not raisable). Other callers in the
// account share that budget, so SDK retries with backoff still handle the rest.

export interface RateLimiter {
  /** Resolves when a request may be sent. */
  acquire(): Promise<void>;
}

export interface RateLimiterOptions {
  readonly perSecond: number;
  readonly burst: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let tokens = options.burst;
  let refilledAt = now();
  let queue: Promise<void> = Promise.resolve();

  const take = async () => {
    for (;;) {
      const t = now();
      tokens = Math.min(options.burst, tokens + ((t - refilledAt) / 1000) * options.perSecond);
      refilledAt = t;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - tokens) / options.perSecond) * 1000));
    }
  };

  return {
    acquire() {
      // Callers are served in order; each waits for the previous one's token.
      const turn = queue.then(take);
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}

/** FilterLogEvents allows 5 requests/s per account and Region; keep one for everyone else. */
export const FILTER_LOG_EVENTS_PER_SECOND = 4;
/** GetLogEvents allows 10 requests/s per account and Region (some accounts have more). */
export const GET_LOG_EVENTS_PER_SECOND = 10;
