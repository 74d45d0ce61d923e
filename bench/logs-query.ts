// A 25,000-event query over 6 streams on moto: AWS calls and wall time through the
// ecs-sidekick API (paged, limit 10000), next to `aws logs filter-log-events` paginating the
// same data on the same moto in the same run.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { LogsPage } from '../lambdas/logs/contract';
import { clientConfig } from '../lambdas/shared/clients';
import { streamName } from '../lambdas/shared/ecs-lookup';
import { createApiClient } from '../cli/api-client';
import { createDemoService, DEMO, DEMO_CONFIG, runServiceTask } from '../sandbox/demo';
import { ensureStream } from '../sandbox/log-producer';
import { startMoto } from '../sandbox/moto-server';
import { startSandbox } from '../sandbox/sandbox';
import { median, round } from './stats';

const run = promisify(execFile);
export const QUERY_RUNS = 3;

export interface QueryResult {
  readonly events: number;
  readonly streams: number;
  readonly sidekick: {
    readonly apiRequests: number;
    readonly awsCalls: number;
    readonly filterLogEventsCalls: number;
    readonly wallMs: number;
  };
  readonly awsCli: {
    readonly filterLogEventsCalls: number;
    readonly wallMs: number;
    readonly events: number;
  };
  readonly wallRatio: number;
  readonly callRatio: number;
}

export async function benchQuery(): Promise<QueryResult> {
  const moto = await startMoto();
  const sandbox = await startSandbox({ awsEndpoint: moto.endpoint, seed: false, config: DEMO_CONFIG });
  try {
    const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    const ec2 = new EC2Client(
      clientConfig({ endpoint: moto.endpoint, region: sandbox.region, credentials: creds }),
    );
    const { ecs, logs } = sandbox.clients;
    const { network, taskDefinition: td } = await createDemoService({ ecs, logs, ec2 }, { desiredCount: 3 });
    const base = Date.now() - 3_600_000;
    let total = 0;
    for (let i = 0; i < 3; i++) {
      const task = await runServiceTask(ecs, network, td);
      for (const container of DEMO.containers) {
        const stream = streamName(DEMO.streamPrefix, container, task);
        await ensureStream(logs, { logGroup: DEMO.logGroup, stream, container });
        const logEvents = Array.from({ length: 4167 }, (_, j) => ({
          timestamp: base + Math.floor(j / 8),
          message: `${container} ${j} ${'x'.repeat(60)}`,
        }));
        await logs.send(
          new PutLogEventsCommand({ logGroupName: DEMO.logGroup, logStreamName: stream, logEvents }),
        );
        total += logEvents.length;
      }
    }

    const calls: string[] = [];
    const count: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
      calls.push(context.commandName ?? '');
      return next(args);
    };
    ecs.middlewareStack.add(count, { step: 'initialize' });
    logs.middlewareStack.add(count, { step: 'initialize' });
    const api = createApiClient({
      apiUrl: sandbox.apiUrl,
      region: sandbox.region,
      source: 'sandbox',
      credentialsFor: () => sandbox.identities.read,
    });
    const query = { since: String(base), until: String(base + 600_000), limit: 10_000 };

    const walls: number[] = [];
    let apiRequests = 0;
    let got = 0;
    for (let r = 0; r < QUERY_RUNS; r++) {
      calls.length = 0;
      apiRequests = 0;
      got = 0;
      const started = performance.now();
      let cursor: string | undefined;
      for (;;) {
        const page: LogsPage = await api.call(
          'getLogs',
          { service: 'web' },
          cursor ? { ...query, since: undefined, cursor } : query,
        );
        apiRequests += 1;
        got += page.events.length;
        if (!page.hasMore || !page.nextCursor) break;
        cursor = page.nextCursor;
      }
      walls.push(performance.now() - started);
    }
    if (got !== total) throw new Error(`sidekick returned ${got} of ${total} events`);
    // The first run also looked up the task definition; report the warm (steady) call count.
    const sidekick = {
      apiRequests,
      awsCalls: calls.length,
      filterLogEventsCalls: calls.filter((c) => c === 'FilterLogEventsCommand').length,
      wallMs: round(median(walls)),
    };

    const cliArgs = [
      'logs',
      'filter-log-events',
      '--log-group-name',
      DEMO.logGroup,
      '--log-stream-name-prefix',
      `${DEMO.streamPrefix}/`,
      '--start-time',
      String(base),
      '--end-time',
      String(base + 600_000),
      '--endpoint-url',
      moto.endpoint,
      '--region',
      sandbox.region,
      '--output',
      'json',
    ];
    const cliEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    const cliWalls: number[] = [];
    let cliEvents = 0;
    for (let r = 0; r < QUERY_RUNS; r++) {
      const started = performance.now();
      const { stdout } = await run('aws', cliArgs, { env: cliEnv, maxBuffer: 512 * 1024 * 1024 });
      cliWalls.push(performance.now() - started);
      cliEvents = (JSON.parse(stdout) as { events: unknown[] }).events.length;
    }
    const debug = await run('aws', [...cliArgs, '--debug'], { env: cliEnv, maxBuffer: 512 * 1024 * 1024 });
    const cliCalls = (debug.stderr.match(/Making request for OperationModel\(name=FilterLogEvents\)/g) ?? [])
      .length;
    const awsCli = { filterLogEventsCalls: cliCalls, wallMs: round(median(cliWalls)), events: cliEvents };
    return {
      events: total,
      streams: 6,
      sidekick,
      awsCli,
      wallRatio: round(sidekick.wallMs / awsCli.wallMs, 2),
      callRatio: round(sidekick.awsCalls / Math.max(1, awsCli.filterLogEventsCalls), 2),
    };
  } finally {
    await sandbox.stop();
    await moto.stop();
  }
}
