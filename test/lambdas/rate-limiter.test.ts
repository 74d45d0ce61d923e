import { createRateLimiter } from '../../lambdas/shared/rate-limiter';

describe('createRateLimiter', () => {
  it('lets a burst through, then spaces requests at the rate', async () => {
    let clock = 0;
    const sleeps: number[] = [];
    const limiter = createRateLimiter({
      perSecond: 4,
      burst: 2,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => limiter.acquire().then(() => granted.push(clock))));
    expect(granted).toEqual([0, 0, 250, 500, 750, 1000]);
    // 6 requests at 4/s with a burst of 2: never faster than the rate after the burst.
    expect(sleeps.every((ms) => ms <= 250)).toBe(true);
  });
});
