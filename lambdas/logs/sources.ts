// Event sources for a log query, each yielding pages in timestamp order: GetLogEvents for one
// known stream, FilterLogEvents for a stream prefix or a filter pattern.

import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { RateLimiter } from '../shared/rate-limiter';

export interface RawEvent {
  readonly timestamp: number;
  /** `<log group>:<stream>`: unique across the query's log groups. */
  readonly key: string;
  readonly stream: string;
  readonly message: string;
}

export interface Page {
  readonly events: readonly RawEvent[];
  readonly done: boolean;
}

export interface EventSource {
  readonly describe: string;
  nextPage(): Promise<Page>;
  /** Set after a read found the stream or group missing. */
  readonly missing?: boolean;
  /** Where a FilterLogEvents read goes on, when it has more: see Continuation. */
  continuation?(): Continuation | undefined;
  /** True when the read went on from a page token: all it returns is new to the reader. */
  readonly resumed?: boolean;
}

/**
 * A FilterLogEvents read that can go on where its last page ended: its source, the page
 * token and the start time the token belongs to. The next API page then costs one call and
 * re-reads nothing.
 */
export interface Continuation {
  readonly source: string;
  readonly token: string;
  readonly startTime: number;
}

/** The most a GetLogEvents or FilterLogEvents page holds. */
export const MAX_API_PAGE = 10_000;
/**
 * A page is cut at 1 MB or 10,000 events. A shorter page that is also well under 1 MB can
 * only mean the stream has nothing more yet, which saves the confirming call.
 */
const SHORT_PAGE_BYTES = 512 * 1024;

export function streamKey(logGroup: string, stream: string): string {
  return `${logGroup}:${stream}`;
}

export interface StreamSourceOptions {
  readonly logGroup: string;
  readonly stream: string;
  readonly startTime: number;
  /** Exclusive. */
  readonly endTime?: number;
  readonly pageSize: number;
}

export function getLogEventsSource(logs: CloudWatchLogsClient, limiter: RateLimiter, o: StreamSourceOptions) {
  let token: string | undefined;
  const source = {
    describe: `GetLogEvents ${o.logGroup} ${o.stream}`,
    missing: false,
    async nextPage(): Promise<Page> {
      await limiter.acquire();
      let out;
      try {
        out = await logs.send(
          new GetLogEventsCommand({
            logGroupName: o.logGroup,
            logStreamName: o.stream,
            startFromHead: true,
            startTime: o.startTime,
            ...(o.endTime !== undefined ? { endTime: o.endTime } : {}),
            limit: o.pageSize,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof ResourceNotFoundException) {
          source.missing = true;
          return { events: [], done: true };
        }
        throw error;
      }
      const events = (out.events ?? []).map((e) => ({
        timestamp: e.timestamp ?? 0,
        key: streamKey(o.logGroup, o.stream),
        stream: o.stream,
        message: e.message ?? '',
      }));
      const bytes = events.reduce((sum, e) => sum + e.message.length + 26, 0);
      const done =
        out.nextForwardToken === undefined ||
        out.nextForwardToken === token ||
        (events.length < o.pageSize && bytes < SHORT_PAGE_BYTES);
      token = out.nextForwardToken;
      return { events, done };
    },
  };
  return source;
}

export interface FilterSourceOptions {
  readonly logGroup: string;
  readonly streamPrefix?: string;
  readonly streamNames?: readonly string[];
  readonly filterPattern?: string;
  readonly startTime: number;
  /** Exclusive. */
  readonly endTime?: number;
  readonly pageSize: number;
  /** Go on from a page token instead of reading from startTime. */
  readonly resume?: Continuation;
}

/** Names what a FilterLogEvents source reads, so a continuation cannot be used on another. */
export function filterSourceKey(
  o: Pick<FilterSourceOptions, 'logGroup' | 'streamPrefix' | 'streamNames' | 'filterPattern'>,
): string {
  return JSON.stringify([o.logGroup, o.streamPrefix ?? null, o.streamNames ?? null, o.filterPattern ?? null]);
}

export class ExpiredContinuationError extends Error {
  override readonly name = 'ExpiredContinuationError';
}

export function filterLogEventsSource(
  logs: CloudWatchLogsClient,
  limiter: RateLimiter,
  o: FilterSourceOptions,
) {
  const key = filterSourceKey(o);
  const startTime = o.resume?.startTime ?? o.startTime;
  let token = o.resume?.token;
  let done = false;
  const source = {
    describe: `FilterLogEvents ${o.logGroup} ${o.streamPrefix ?? o.streamNames?.join(',') ?? ''}`,
    missing: false,
    resumed: o.resume !== undefined,
    continuation: (): Continuation | undefined =>
      !done && token ? { source: key, token, startTime } : undefined,
    async nextPage(): Promise<Page> {
      await limiter.acquire();
      let out;
      try {
        out = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: o.logGroup,
            ...(o.streamPrefix !== undefined ? { logStreamNamePrefix: o.streamPrefix } : {}),
            ...(o.streamNames ? { logStreamNames: [...o.streamNames] } : {}),
            ...(o.filterPattern ? { filterPattern: o.filterPattern } : {}),
            startTime,
            // FilterLogEvents' endTime is inclusive.
            ...(o.endTime !== undefined ? { endTime: o.endTime - 1 } : {}),
            // Ignored by AWS, which always interleaves; some emulators still need it.
            interleaved: true,
            limit: o.pageSize,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof ResourceNotFoundException) {
          source.missing = true;
          done = true;
          return { events: [], done: true };
        }
        if (token && error instanceof InvalidParameterException) {
          throw new ExpiredContinuationError('the page token in the cursor was refused', { cause: error });
        }
        throw error;
      }
      const events = (out.events ?? []).map((e) => ({
        timestamp: e.timestamp ?? 0,
        key: streamKey(o.logGroup, e.logStreamName ?? ''),
        stream: e.logStreamName ?? '',
        message: e.message ?? '',
      }));
      token = out.nextToken;
      done = !token;
      return { events, done };
    },
  };
  return source;
}
