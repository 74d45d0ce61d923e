// `sidekick logs <service>`: prints the time range page by page, then stops, or with
// --follow keeps polling for new lines.
//
// Following polls the API every --interval seconds (default 2) once it has caught up, and at
// most twice a second while pages are full. A service-wide poll costs one FilterLogEvents call
// when caught up, so one follower uses at most 0.5 of the account's 5 calls/s; with --task the
// API reads the known streams with GetLogEvents instead. A 429 waits Retry-After, doubling.

import { LogEvent, LogsPage, MAX_LIMIT } from '../../lambdas/logs/contract';
import { ApiClient } from '../api-client';
import { ApiError } from '../errors';
import { shortTask, timeOf } from '../format';
import { Output } from '../output';

export interface LogsOptions {
  readonly since?: string;
  readonly until?: string;
  readonly filter?: string;
  readonly task?: string;
  readonly container?: string;
  /** Most events to print in all. */
  readonly limit?: number;
  readonly cursor?: string;
  readonly follow?: boolean;
  /** Seconds between polls once caught up. */
  readonly interval?: number;
  readonly signal?: AbortSignal;
}

const FULL_PAGE_GAP_MS = 500;
const MAX_BACKOFF_MS = 60_000;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const sleepFor: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Returns the cursor to resume from (null when a closed range was read to its end). */
export async function logsCommand(
  api: ApiClient,
  out: Output,
  service: string,
  options: LogsOptions,
  sleep: Sleep = sleepFor,
) {
  const intervalMs = Math.max(1, options.interval ?? 2) * 1000;
  let remaining = options.limit ?? Infinity;
  let cursor = options.cursor;
  let backoffMs = 1000;
  let first = true;
  while (!options.signal?.aborted) {
    let page: LogsPage;
    try {
      page = await api.call<LogsPage>(
        'getLogs',
        { service },
        {
          since: cursor ? undefined : options.since,
          until: options.until,
          filter: options.filter,
          task: options.task,
          container: options.container,
          limit: Math.min(remaining, MAX_LIMIT),
          cursor,
        },
      );
      backoffMs = 1000;
    } catch (error) {
      if (options.follow && error instanceof ApiError && error.status === 429) {
        await sleep(Math.max((error.retryAfterSeconds ?? 0) * 1000, backoffMs), options.signal);
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        continue;
      }
      throw error;
    }
    if (first) for (const note of page.notes) process.stderr.write(`note: ${note}\n`);
    first = false;
    for (const event of page.events) out.print(out.json ? JSON.stringify(event) : formatEvent(event));
    remaining -= page.events.length;
    if (remaining <= 0 || !page.nextCursor) return page.nextCursor;
    cursor = page.nextCursor;
    if (page.hasMore) {
      await sleep(FULL_PAGE_GAP_MS, options.signal);
    } else if (options.follow) {
      await sleep(intervalMs, options.signal);
    } else {
      return cursor;
    }
  }
  return cursor ?? null;
}

export function formatEvent(e: LogEvent): string {
  return `${timeOf(e.timestamp)}  ${e.container}/${shortTask(e.task)}  ${e.message}`;
}
