// Reads a service's CloudWatch Logs by time range, task, container and filter pattern, one
// page at a time, with a cursor that resumes exactly (see cursor.ts).
//
// Known streams (a task was named, no filter) are read in parallel with GetLogEvents; anything
// wider goes through FilterLogEvents with a stream prefix, rate limited per Lambda container.
//
// Late events: CloudWatch can show an event some seconds after its timestamp (the awslogs
// driver flushes every 5 s, ingestion adds 5-20 s). The cursor's floor never passes
// "read time - SETTLE_MS", and the streams read since the floor keep exact positions, so an
// event that shows up late (up to SETTLE_MS) is delivered once, on the next page.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { groupBy } from '../shared/collections';
import { ValidationError } from '../shared/errors';
import { ContainerLogs, containerLogs, currentTaskDefinition, parseStreamName, streamName } from '../shared/ecs-lookup';
import { requireTaskInCluster } from '../shared/validation';
import { RateLimiter } from '../shared/rate-limiter';
import { LogEvent, LogsPage, LogsQuery } from './contract';
import { decodeCursor, encodeCursor, LogCursor, queryFingerprint, StreamPosition } from './cursor';
import { mergeSources, StopReason } from './merge';
import { EventSource, filterLogEventsSource, getLogEventsSource, MAX_API_PAGE, RawEvent } from './sources';
import { parseTimeRange } from './time-range';

/** How late an event may be ingested after its timestamp and still be delivered. */
export const SETTLE_MS = 60_000;
/** Events of one page, serialised, stay under this: far below Lambda's 6 MB response limit. */
export const MAX_PAGE_BYTES = 1024 * 1024;
export const DEFAULT_SINCE_MS = 15 * 60_000;

export interface LogsDeps {
  readonly logs: CloudWatchLogsClient;
  readonly ecs: ECSClient;
  readonly filterLimiter: RateLimiter;
  readonly getLimiter: RateLimiter;
}

export interface LogsRun {
  readonly now: () => number;
  readonly deadline: number;
}

export async function fetchLogs(deps: LogsDeps, target: ServiceTarget, query: LogsQuery, run: LogsRun): Promise<LogsPage> {
  const readAt = run.now();
  const range = parseTimeRange(query, readAt, DEFAULT_SINCE_MS);
  const taskId = query.task ? requireTaskInCluster(query.task, target.cluster) : undefined;
  const fingerprint = queryFingerprint({
    service: target.name,
    task: taskId,
    container: query.container,
    filter: query.filter,
  });
  const cursor: LogCursor = query.cursor
    ? decodeCursor(query.cursor, fingerprint)
    : { query: fingerprint, floor: range.since, positions: new Map() };

  const taskDefinition = await currentTaskDefinition(deps.ecs, target, readAt);
  const all = containerLogs(taskDefinition, target);
  const selected = query.container ? all.filter((c) => c.container === query.container) : all;
  if (query.container && selected.length === 0) {
    throw new ValidationError(
      'container',
      `'${query.container}' is not a container of ${target.name} (containers: ${all.map((c) => c.container).join(', ')})`,
    );
  }
  const readable = selected.filter((c): c is Extract<ContainerLogs, { logGroup: string }> => 'logGroup' in c);
  const notes = selected.filter((c) => 'unavailable' in c).map((c) => `${c.container}: ${'unavailable' in c ? c.unavailable : ''}`);

  const sources = planSources(deps, readable, all, { ...query, taskId }, cursor, range.until, query.limit);
  const positions = new Map<string, StreamPosition>(cursor.positions);
  const keep = undeliveredFilter(cursor, range.until);

  const events: LogEvent[] = [];
  let bytes = 0;
  let stop: StopReason | 'full' = 'full';
  const merged = mergeSources(sources, { keep, deadline: run.deadline, now: run.now });
  for (;;) {
    if (events.length >= query.limit) break;
    const next = await merged.next();
    if (next.done) {
      stop = next.value;
      break;
    }
    const event = toLogEvent(next.value);
    const size = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (bytes + size > MAX_PAGE_BYTES && events.length > 0) break;
    bytes += size;
    events.push(event);
    const pos = positions.get(next.value.key);
    positions.set(
      next.value.key,
      pos && pos.timestamp === event.timestamp ? { timestamp: pos.timestamp, count: pos.count + 1 } : { timestamp: event.timestamp, count: 1 },
    );
  }
  for (const s of sources) if (s.missing) notes.push(`${s.describe}: not found (nothing was logged there yet)`);

  const exhausted = stop === 'exhausted';
  const floor = nextFloor(cursor.floor, events, exhausted, readAt, range.until);
  const finished = exhausted && range.until !== undefined && floor >= range.until;
  const kept = new Map([...positions].filter(([, pos]) => pos.timestamp >= floor));
  return {
    service: target.name,
    events,
    nextCursor: finished ? null : encodeCursor({ query: fingerprint, floor, positions: kept }),
    hasMore: !exhausted,
    notes,
  };
}

type PlanQuery = LogsQuery & { taskId: string | undefined };
type Readable = Extract<ContainerLogs, { logGroup: string }>;

function planSources(
  deps: LogsDeps,
  readable: readonly Readable[],
  all: readonly ContainerLogs[],
  query: PlanQuery,
  cursor: LogCursor,
  until: number | undefined,
  limit: number,
): EventSource[] {
  if (query.taskId) {
    const taskId = query.taskId;
    if (!query.filter) {
      // The streams are known: read each from its own position, in parallel.
      return readable.map((c) => {
        const stream = streamName(c.streamPrefix, c.container, taskId);
        const pos = cursor.positions.get(`${c.logGroup}:${stream}`);
        return getLogEventsSource(deps.logs, deps.getLimiter, {
          logGroup: c.logGroup,
          stream,
          startTime: Math.max(cursor.floor, pos?.timestamp ?? 0),
          ...(until !== undefined ? { endTime: until } : {}),
          pageSize: Math.min(MAX_API_PAGE, limit + (pos?.count ?? 0)),
        });
      });
    }
    return groupBy(readable, (c) => c.logGroup).map(([logGroup, cs]) =>
      filterLogEventsSource(deps.logs, deps.filterLimiter, {
        logGroup,
        streamNames: cs.map((c) => streamName(c.streamPrefix, c.container, taskId)),
        ...(query.filter ? { filterPattern: query.filter } : {}),
        startTime: cursor.floor,
        ...(until !== undefined ? { endTime: until } : {}),
      }),
    );
  }
  // No task: one prefix per log group and awslogs prefix when every container writing there
  // is selected (one call covers them all), else one prefix per container.
  return groupBy(readable, (c) => `${c.logGroup}\n${c.streamPrefix}`).flatMap(([, cs]) => {
    const { logGroup, streamPrefix } = cs[0]!;
    const sharing = all.filter((c) => 'logGroup' in c && c.logGroup === logGroup && c.streamPrefix === streamPrefix);
    const prefixes = sharing.length === cs.length ? [`${streamPrefix}/`] : cs.map((c) => `${streamPrefix}/${c.container}/`);
    return prefixes.map((prefix) =>
      filterLogEventsSource(deps.logs, deps.filterLimiter, {
        logGroup,
        streamPrefix: prefix,
        ...(query.filter ? { filterPattern: query.filter } : {}),
        startTime: cursor.floor,
        ...(until !== undefined ? { endTime: until } : {}),
      }),
    );
  });
}

/**
 * A filter that keeps the events the cursor has not delivered yet (inside the time range).
 * At a stream's last delivered millisecond it skips the first `count` events, which the
 * stream returns in the same order every time.
 */
function undeliveredFilter(cursor: LogCursor, until: number | undefined): (event: RawEvent) => boolean {
  const seenAtPosition = new Map<string, number>();
  return (event) => {
    if (event.timestamp < cursor.floor) return false;
    if (until !== undefined && event.timestamp >= until) return false;
    const pos = cursor.positions.get(event.key);
    if (!pos || event.timestamp > pos.timestamp) return true;
    if (event.timestamp < pos.timestamp) return false;
    const seen = (seenAtPosition.get(event.key) ?? 0) + 1;
    seenAtPosition.set(event.key, seen);
    return seen > pos.count;
  };
}

/**
 * Everything before the returned floor has been delivered. A page cut short stops at its
 * last timestamp; a fully read range may move up to "now - SETTLE_MS" (and never past until).
 */
function nextFloor(floor: number, events: readonly LogEvent[], exhausted: boolean, readAt: number, until: number | undefined) {
  const settled = readAt - SETTLE_MS;
  const reached = exhausted ? Math.min(settled, until ?? Infinity) : Math.min(settled, events.at(-1)?.timestamp ?? floor);
  return Math.max(floor, reached);
}

function toLogEvent(e: RawEvent): LogEvent {
  const { task, container } = parseStreamName(e.stream);
  return { timestamp: e.timestamp, task, container, message: e.message };
}
