// Reads a service's CloudWatch Logs by time range, task, container and filter pattern, one
// page at a time, with a cursor that resumes exactly (see cursor.ts).
//
// Known streams (a task was named, no filter) are read in parallel with GetLogEvents; anything
// wider goes through FilterLogEvents with a stream prefix, rate limited per Lambda container.
// Paging through settled history, a FilterLogEvents read goes on from its own page token, so
// each API page costs one call per source and re-reads nothing.
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
import {
  ContainerLogs,
  containerLogs,
  currentTaskDefinition,
  parseStreamName,
  streamName,
} from '../shared/ecs-lookup';
import { RateLimiter } from '../shared/rate-limiter';
import { requireTaskInCluster } from '../shared/validation';
import { LogEvent, LogsPage, LogsQuery } from './contract';
import { decodeCursor, encodeCursor, LogCursor, queryFingerprint, StreamPosition } from './cursor';
import { Merger } from './merge';
import {
  Continuation,
  EventSource,
  ExpiredContinuationError,
  filterLogEventsSource,
  FilterSourceOptions,
  filterSourceKey,
  getLogEventsSource,
  MAX_API_PAGE,
  RawEvent,
} from './sources';
import { parseInstant, parseTimeRange, TimeRange } from './time-range';

/** How late an event may be ingested after its timestamp and still be delivered. */
export const SETTLE_MS = 60_000;
/** Events of one page, serialised, stay under this: a third of Lambda's 6 MB response limit. */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;
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

type Readable = Extract<ContainerLogs, { logGroup: string }>;

export async function fetchLogs(
  deps: LogsDeps,
  target: ServiceTarget,
  query: LogsQuery,
  run: LogsRun,
): Promise<LogsPage> {
  const readAt = run.now();
  const taskId = query.task ? requireTaskInCluster(query.task, target.cluster) : undefined;
  const fingerprint = queryFingerprint({
    service: target.name,
    task: taskId,
    container: query.container,
    filter: query.filter,
  });
  const resumed = query.cursor ? decodeCursor(query.cursor, fingerprint) : undefined;
  // With a cursor, the cursor says where to start: `since` is not used.
  const range: TimeRange = resumed
    ? {
        since: resumed.floor,
        ...(query.until !== undefined ? { until: parseInstant('until', query.until, readAt) } : {}),
      }
    : parseTimeRange(query, readAt, DEFAULT_SINCE_MS);
  const cursor: LogCursor = resumed ?? { query: fingerprint, floor: range.since, positions: new Map() };

  const all = containerLogs(await currentTaskDefinition(deps.ecs, target, readAt), target);
  const selected = query.container ? all.filter((c) => c.container === query.container) : all;
  if (query.container && selected.length === 0) {
    const names = all.map((c) => c.container).join(', ');
    throw new ValidationError(
      'container',
      `'${query.container}' is not a container of ${target.name} (containers: ${names})`,
    );
  }
  const readable = selected.filter((c): c is Readable => 'logGroup' in c);
  const notes = selected.flatMap((c) => ('unavailable' in c ? [`${c.container}: ${c.unavailable}`] : []));

  const sources = planSources(
    deps,
    readable,
    all,
    { taskId, filter: query.filter, limit: query.limit },
    cursor,
    range.until,
  );
  const page = await readPage(sources, cursor, range.until, query.limit, run).catch((error: unknown) => {
    if (error instanceof ExpiredContinuationError) {
      throw new ValidationError('cursor', 'has expired (page tokens last 24 hours); start again with since', {
        cause: error,
      });
    }
    throw error;
  });
  for (const s of sources)
    if (s.missing) notes.push(`${s.describe}: not found (nothing was logged there yet)`);

  const floor = nextFloor(cursor.floor, page.events, page.exhausted, readAt, range.until);
  const finished = page.exhausted && range.until !== undefined && floor >= range.until;
  const positions = new Map([...page.positions].filter(([, pos]) => pos.timestamp >= floor));
  // A source may go on from its token only when what it read is settled history.
  const lastRead = page.events.at(-1)?.timestamp ?? floor;
  const continuations = lastRead < readAt - SETTLE_MS ? page.continuations : [];
  return {
    service: target.name,
    events: page.events,
    nextCursor: finished ? null : encodeCursor({ query: fingerprint, floor, positions, continuations }),
    hasMore: !page.exhausted,
    notes,
  };
}

interface ReadResult {
  readonly events: LogEvent[];
  readonly positions: Map<string, StreamPosition>;
  readonly continuations: Continuation[];
  readonly exhausted: boolean;
}

/** Takes events in timestamp order until the page is full (count or bytes), time is up, or none are left. */
async function readPage(
  sources: readonly EventSource[],
  cursor: LogCursor,
  until: number | undefined,
  limit: number,
  run: LogsRun,
): Promise<ReadResult> {
  const merger = new Merger(sources, {
    keep: undeliveredFilter(cursor, until),
    deadline: run.deadline,
    now: run.now,
  });
  const positions = new Map<string, StreamPosition>(cursor.positions);
  const events: LogEvent[] = [];
  let bytes = 0;
  let exhausted = false;
  while (events.length < limit) {
    const next = await merger.peek();
    if (next === 'exhausted' || next === 'deadline') {
      exhausted = next === 'exhausted';
      break;
    }
    const event = toLogEvent(next);
    const size = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (bytes + size > MAX_PAGE_BYTES && events.length > 0) break;
    merger.take();
    bytes += size;
    events.push(event);
    const pos = positions.get(next.key);
    positions.set(next.key, {
      timestamp: event.timestamp,
      count: pos && pos.timestamp === event.timestamp ? pos.count + 1 : 1,
    });
  }
  const continuations = sources.flatMap((s) => {
    const c = merger.drained(s) ? s.continuation?.() : undefined;
    return c ? [c] : [];
  });
  return { events, positions, continuations, exhausted };
}

interface Plan {
  readonly taskId: string | undefined;
  readonly filter: string | undefined;
  readonly limit: number;
}

function planSources(
  deps: LogsDeps,
  readable: readonly Readable[],
  all: readonly ContainerLogs[],
  plan: Plan,
  cursor: LogCursor,
  until: number | undefined,
): EventSource[] {
  const end = until !== undefined ? { endTime: until } : {};
  const { taskId } = plan;
  if (taskId && !plan.filter) {
    // The streams are known: read each from its own position, in parallel.
    return readable.map((c) => {
      const stream = streamName(c.streamPrefix, c.container, taskId);
      const pos = cursor.positions.get(`${c.logGroup}:${stream}`);
      return getLogEventsSource(deps.logs, deps.getLimiter, {
        logGroup: c.logGroup,
        stream,
        startTime: Math.max(cursor.floor, pos?.timestamp ?? 0),
        ...end,
        pageSize: Math.min(MAX_API_PAGE, plan.limit + (pos?.count ?? 0)),
      });
    });
  }
  const filterSource = (o: Omit<FilterSourceOptions, 'startTime' | 'pageSize' | 'resume'>) => {
    const resume = cursor.continuations?.find((c) => c.source === filterSourceKey(o));
    return filterLogEventsSource(deps.logs, deps.filterLimiter, {
      ...o,
      ...end,
      startTime: cursor.floor,
      // Ask for what fits the page (plus the events skipped at the cursor's positions), so
      // the page ends where the call's page ends and the next one can go on from its token.
      pageSize: Math.min(MAX_API_PAGE, plan.limit + (resume ? 0 : skippedAtPositions(cursor))),
      ...(resume ? { resume } : {}),
      ...(plan.filter ? { filterPattern: plan.filter } : {}),
    });
  };
  if (taskId) {
    return groupBy(readable, (c) => c.logGroup).map(([logGroup, cs]) =>
      filterSource({ logGroup, streamNames: cs.map((c) => streamName(c.streamPrefix, c.container, taskId)) }),
    );
  }
  // No task: one prefix per log group and awslogs prefix when every container writing there
  // is selected (one call covers them all), else one prefix per container.
  return groupBy(readable, (c) => `${c.logGroup}\n${c.streamPrefix}`).flatMap(([, cs]) => {
    const { logGroup, streamPrefix } = cs[0]!;
    const sharing = all.filter(
      (c) => 'logGroup' in c && c.logGroup === logGroup && c.streamPrefix === streamPrefix,
    );
    const prefixes =
      sharing.length === cs.length ? [`${streamPrefix}/`] : cs.map((c) => `${streamPrefix}/${c.container}/`);
    return prefixes.map((prefix) => filterSource({ logGroup, streamPrefix: prefix }));
  });
}

function skippedAtPositions(cursor: LogCursor): number {
  let n = 0;
  for (const pos of cursor.positions.values()) n += pos.count;
  return n;
}

/**
 * A filter that keeps the events the cursor has not delivered yet (inside the time range).
 * At a stream's last delivered millisecond it skips the first `count` events, which the
 * stream returns in the same order every time. A read that went on from a page token
 * returns only events after the ones delivered, so it is not filtered by position.
 */
function undeliveredFilter(cursor: LogCursor, until: number | undefined) {
  const seenAtPosition = new Map<string, number>();
  return (event: RawEvent, source: EventSource): boolean => {
    if (until !== undefined && event.timestamp >= until) return false;
    // After a page token everything is new; positions describe what came before it.
    if (source.resumed) return true;
    if (event.timestamp < cursor.floor) return false;
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
function nextFloor(
  floor: number,
  events: readonly LogEvent[],
  exhausted: boolean,
  readAt: number,
  until: number | undefined,
) {
  const settled = readAt - SETTLE_MS;
  const reached = exhausted
    ? Math.min(settled, until ?? Infinity)
    : Math.min(settled, events.at(-1)?.timestamp ?? floor);
  return Math.max(floor, reached);
}

function toLogEvent(e: RawEvent): LogEvent {
  const { task, container } = parseStreamName(e.stream);
  return { timestamp: e.timestamp, task, container, message: e.message };
}
