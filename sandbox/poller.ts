// A loop that runs one tick at a time (never two at once) every intervalMs, for the parts of
// the sandbox that stand for AWS's own control loops (the ECS agent, the service scheduler).

export interface Poller {
  stop(): Promise<void>;
}

export function startPolling(label: string, intervalMs: number, tick: () => Promise<void>): Poller {
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(tick).catch((error: unknown) => {
      process.stderr.write(`${label}: ${String(error)}\n`);
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
