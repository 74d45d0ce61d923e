// A steady flow of log lines for the demo's running tasks, written with PutLogEvents the way
// the awslogs driver writes them: one stream per container per task.

import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';

export interface LogTarget {
  readonly logGroup: string;
  readonly stream: string;
  readonly container: string;
}

export type LineMaker = (container: string, at: number, n: number) => string;

const PATHS = ['/', '/health', '/api/orders', '/api/orders/42', '/api/users/me', '/static/app.js'];

/** Plausible lines: an access log for `web`, job lines for `worker`, now and then a warning. */
export const demoLine: LineMaker = (container, at, n) => {
  if (container === 'worker') {
    return n % 37 === 0
      ? `WARN job ${n} retried: upstream timeout after 2000ms`
      : `INFO job ${n} done in ${((n * 7) % 90) + 5}ms`;
  }
  const path = PATHS[n % PATHS.length];
  const status = n % 53 === 0 ? 500 : n % 11 === 0 ? 404 : 200;
  const level = status >= 500 ? 'ERROR' : 'INFO';
  return `${level} 10.0.1.${n % 250} "GET ${path} HTTP/1.1" ${status} ${(n * 13) % 900} ${new Date(at).toISOString()}`;
};

export async function ensureStream(logs: CloudWatchLogsClient, target: LogTarget): Promise<void> {
  try {
    await logs.send(
      new CreateLogStreamCommand({ logGroupName: target.logGroup, logStreamName: target.stream }),
    );
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
}

/** Writes `count` lines spread evenly over [from, to). */
export async function backfill(
  logs: CloudWatchLogsClient,
  target: LogTarget,
  from: number,
  to: number,
  count: number,
  line: LineMaker = demoLine,
) {
  await ensureStream(logs, target);
  const step = (to - from) / count;
  const events = Array.from({ length: count }, (_, i) => {
    const at = Math.floor(from + i * step);
    return { timestamp: at, message: line(target.container, at, i) };
  });
  for (let i = 0; i < events.length; i += 10_000) {
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: target.logGroup,
        logStreamName: target.stream,
        logEvents: events.slice(i, i + 10_000),
      }),
    );
  }
}

export interface LogProducer {
  stop(): void;
}

/** Every interval, writes a few new lines to each target (the set may change while it runs). */
export function startLogProducer(
  logs: CloudWatchLogsClient,
  targets: () => readonly LogTarget[],
  intervalMs = 1_000,
  line: LineMaker = demoLine,
): LogProducer {
  let n = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const now = Date.now();
    Promise.all(
      targets().map(async (target) => {
        await ensureStream(logs, target);
        const count = 1 + (n % 3);
        const logEvents = Array.from({ length: count }, (_, i) => ({
          timestamp: now - (count - i),
          message: line(target.container, now, n * 3 + i),
        }));
        await logs.send(
          new PutLogEventsCommand({ logGroupName: target.logGroup, logStreamName: target.stream, logEvents }),
        );
      }),
    )
      .catch((error: unknown) => process.stderr.write(`log producer: ${String(error)}\n`))
      .finally(() => {
        n += 1;
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
