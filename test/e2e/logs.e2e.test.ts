// GET /services/{service}/logs end to end: moto as CloudWatch Logs and ECS, the sandbox API
// with real SigV4, the same handlers the Lambda runs.

import { PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { LogsPage } from '../../lambdas/logs/contract';
import { MAX_PAGE_BYTES, SETTLE_MS } from '../../lambdas/logs/fetch-logs';
import { streamName } from '../../lambdas/shared/ecs-lookup';
import { createDemoService, DEMO, runServiceTask } from '../../sandbox/demo';
import { ensureStream } from '../../sandbox/log-producer';
import { startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
let tasks: string[];

beforeAll(async () => {
  t = await startTestSandbox();
});
afterAll(async () => t?.stop());

beforeEach(async () => {
  await t.reset();
  const { network, taskDefinition: td } = await createDemoService(t.seed, { desiredCount: 3 });
  tasks = [];
  for (let i = 0; i < 3; i++) tasks.push(await runServiceTask(t.seed.ecs, network, td));
});

/** Six streams (3 tasks × web/worker), `perStream` events each, `perMs` of them in every millisecond. */
async function writeEvents(base: number, perStream: number, perMs: number): Promise<Set<string>> {
  const all = new Set<string>();
  for (const task of tasks) {
    for (const container of DEMO.containers) {
      const stream = streamName(DEMO.streamPrefix, container, task);
      await ensureStream(t.seed.logs, { logGroup: DEMO.logGroup, stream, container });
      const events = Array.from({ length: perStream }, (_, j) => {
        const message = `${container}/${task.slice(0, 6)}/${j}`;
        all.add(message);
        return { timestamp: base + Math.floor(j / perMs), message };
      });
      for (let i = 0; i < events.length; i += 10_000) {
        await t.seed.logs.send(
          new PutLogEventsCommand({
            logGroupName: DEMO.logGroup,
            logStreamName: stream,
            logEvents: events.slice(i, i + 10_000),
          }),
        );
      }
    }
  }
  return all;
}

async function readAll(query: Record<string, string | number | undefined>, maxPages = 200) {
  const api = t.api('read');
  const pages: LogsPage[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page: LogsPage = await api.call(
      'getLogs',
      { service: 'web' },
      { ...query, cursor, since: cursor ? undefined : query.since },
    );
    pages.push(page);
    if (!page.hasMore || !page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return { pages, events: pages.flatMap((p) => p.events) };
}

describe('logs pagination', () => {
  it('returns every one of 25,000 events in 6 streams exactly once, also across shared milliseconds', async () => {
    const base = Date.now() - 3_600_000;
    const written = await writeEvents(base, 4167, 8); // 25,002 events, 48 in every millisecond
    const { pages, events } = await readAll({
      since: String(base),
      until: String(base + 600_000),
      limit: 1000,
    });

    const messages = events.map((e) => e.message);
    expect(messages.length).toBe(written.size);
    expect(new Set(messages)).toEqual(written);
    // Every page boundary falls inside a millisecond shared by 48 events.
    expect(pages.length).toBeGreaterThanOrEqual(26);
    const timestamps = events.map((e) => e.timestamp);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(pages.at(-1)!.nextCursor).toBeNull();
    expect(events[0]).toEqual({
      timestamp: base,
      task: expect.stringMatching(/^[0-9a-f]{32}$/),
      container: expect.stringMatching(/^(web|worker)$/),
      message: expect.any(String),
    });
  });

  it('reads 25,000 events in 3 pages of 10,000 with one FilterLogEvents call per page', async () => {
    const base = Date.now() - 3_600_000;
    await writeEvents(base, 4167, 8);
    t.awsCalls.length = 0;
    const { pages, events } = await readAll({
      since: String(base),
      until: String(base + 3_600_000),
      limit: 10_000,
    });
    expect(events.length).toBe(25_002);
    expect(new Set(events.map((e) => e.message)).size).toBe(25_002);
    expect(pages.length).toBe(3);
    expect(t.awsCalls.filter((c) => c === 'FilterLogEventsCommand').length).toBe(3);
  });

  it('reads one task through its known streams with GetLogEvents, exactly once', async () => {
    const base = Date.now() - 3_600_000;
    await writeEvents(base, 1500, 4);
    t.awsCalls.length = 0;
    const { events } = await readAll({
      since: String(base),
      until: String(base + 3_600_000),
      task: tasks[1],
      limit: 700,
    });
    expect(events.length).toBe(3000);
    expect(new Set(events.map((e) => e.message)).size).toBe(3000);
    expect(events.every((e) => e.task === tasks[1])).toBe(true);
    expect(t.awsCalls).not.toContain('FilterLogEventsCommand');
    expect(t.awsCalls).toContain('GetLogEventsCommand');
  });

  it('reads one container across tasks', async () => {
    const base = Date.now() - 3_600_000;
    await writeEvents(base, 100, 3);
    const { events } = await readAll({ since: String(base), container: 'worker', limit: 1000 });
    expect(events.length).toBe(300);
    expect(events.every((e) => e.container === 'worker')).toBe(true);
  });

  it('applies a CloudWatch filter pattern', async () => {
    const base = Date.now() - 3_600_000;
    await writeEvents(base, 200, 1);
    const { events } = await readAll({ since: String(base), filter: '"/199"', limit: 1000 });
    expect(events.map((e) => e.message).sort()).toEqual(
      tasks.flatMap((task) => DEMO.containers.map((c) => `${c}/${task.slice(0, 6)}/199`)).sort(),
    );
  });

  it('cuts a page far below the Lambda response limit when lines are long', async () => {
    const base = Date.now() - 600_000;
    const stream = streamName(DEMO.streamPrefix, 'web', tasks[0]!);
    await ensureStream(t.seed.logs, { logGroup: DEMO.logGroup, stream, container: 'web' });
    const line = 'x'.repeat(200_000);
    await t.seed.logs.send(
      new PutLogEventsCommand({
        logGroupName: DEMO.logGroup,
        logStreamName: stream,
        logEvents: Array.from({ length: 12 }, (_, i) => ({ timestamp: base + i, message: `${i}:${line}` })),
      }),
    );
    const api = t.api('read');
    const page: LogsPage = await api.call('getLogs', { service: 'web' }, { since: String(base), limit: 100 });
    expect(page.events.length).toBeLessThan(12);
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(MAX_PAGE_BYTES + 4096);
    expect(MAX_PAGE_BYTES).toBeLessThanOrEqual((6 * 1024 * 1024) / 3);
    expect(page.hasMore).toBe(true);
    const rest = await readAll({ since: String(base), limit: 100 });
    expect(rest.events.map((e) => Number(e.message.split(':')[0]))).toEqual([...Array(12).keys()]);
  });
});

describe('following', () => {
  it('delivers a late event (older than the last one read) and new events once, and nothing twice', async () => {
    const base = Date.now() - 30_000;
    const written = await writeEvents(base, 50, 2);
    const api = t.api('read');
    const seen: string[] = [];
    let page: LogsPage = await api.call(
      'getLogs',
      { service: 'web' },
      { since: String(base - 1000), limit: 10_000 },
    );
    seen.push(...page.events.map((e) => e.message));
    expect(page.hasMore).toBe(false);
    expect(page.nextCursor).not.toBeNull();
    const lastTs = page.events.at(-1)!.timestamp;

    // Late: a stream that was behind ingests an event older than the newest one delivered.
    const lateStream = streamName(DEMO.streamPrefix, 'worker', tasks[2]!);
    await t.seed.logs.send(
      new PutLogEventsCommand({
        logGroupName: DEMO.logGroup,
        logStreamName: lateStream,
        logEvents: [{ timestamp: lastTs, message: 'late-same-ms' }],
      }),
    );
    const otherStream = streamName(DEMO.streamPrefix, 'web', tasks[0]!);
    await t.seed.logs.send(
      new PutLogEventsCommand({
        logGroupName: DEMO.logGroup,
        logStreamName: otherStream,
        logEvents: [{ timestamp: lastTs + 5, message: 'new' }],
      }),
    );
    // A task that started late: its first stream shows up with events older than lastTs.
    const newTaskStream = streamName(DEMO.streamPrefix, 'web', 'f'.repeat(32));
    await ensureStream(t.seed.logs, { logGroup: DEMO.logGroup, stream: newTaskStream, container: 'web' });
    await t.seed.logs.send(
      new PutLogEventsCommand({
        logGroupName: DEMO.logGroup,
        logStreamName: newTaskStream,
        logEvents: [{ timestamp: lastTs - 10, message: 'late-new-stream' }],
      }),
    );
    page = await api.call('getLogs', { service: 'web' }, { cursor: page.nextCursor!, limit: 10_000 });
    seen.push(...page.events.map((e) => e.message));
    page = await api.call('getLogs', { service: 'web' }, { cursor: page.nextCursor!, limit: 10_000 });
    seen.push(...page.events.map((e) => e.message));

    for (const late of ['late-same-ms', 'new', 'late-new-stream'])
      expect(seen.filter((m) => m === late)).toHaveLength(1);
    expect(seen.length).toBe(written.size + 3);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('keeps its cursor floor within the settle window, so re-reads stay bounded', async () => {
    const base = Date.now() - 10 * 60_000;
    await writeEvents(base, 20, 1);
    const api = t.api('read');
    const page: LogsPage = await api.call(
      'getLogs',
      { service: 'web' },
      { since: String(base), limit: 10_000 },
    );
    expect(page.events.length).toBe(120);
    // Caught up on an open range: the next read starts at most SETTLE_MS back.
    t.awsCalls.length = 0;
    const next: LogsPage = await api.call(
      'getLogs',
      { service: 'web' },
      { cursor: page.nextCursor!, limit: 10 },
    );
    expect(next.events).toEqual([]);
    expect(t.awsCalls.filter((c) => c === 'FilterLogEventsCommand')).toHaveLength(1);
    expect(SETTLE_MS).toBeLessThanOrEqual(60_000);
  });
});
