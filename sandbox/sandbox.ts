// The local sandbox: moto as the AWS, the demo seeded into it, and the tier Lambdas' handlers
// behind a local API that checks SigV4 and the tier policies like the deployed stack.

import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { resolveTargets, SidekickConfig } from '../lib/config';
import { AwsClients, clientConfig, createClients } from '../lambdas/shared/clients';
import { createDispatcher } from '../lambdas/shared/dispatch';
import { clearEcsLookupCache } from '../lambdas/shared/ecs-lookup';
import { createLogger, LogSink } from '../lambdas/shared/logger';
import { Tier } from '../lambdas/shared/routes';
import { createTargets } from '../lambdas/shared/targets';
import { createReadDeps, readRoutes } from '../lambdas/tiers/read-routes';
import { DEMO_CONFIG, SANDBOX_ACCOUNT, SANDBOX_REGION, SeededDemo, seedDemo } from './demo';
import { createIdentities } from './identities';
import { AccessLogLine, LocalIdentity, startLocalApi, TierDispatch } from './local-api';
import { LogProducer, startLogProducer } from './log-producer';
import { MotoServer, startMoto } from './moto-server';
import { sandboxRuntime } from './runtime';

export interface SandboxOptions {
  /** An AWS endpoint that is already running; when unset, the sandbox starts moto. */
  readonly awsEndpoint?: string;
  readonly config?: SidekickConfig;
  /** Seed the demo (default: true when the sandbox starts its own moto). */
  readonly seed?: boolean;
  /** Keep writing demo log lines every second (default: same as seed). */
  readonly produceLogs?: boolean;
  readonly port?: number;
  readonly region?: string;
  /** Where sandbox.json and the handler log go; unset: nothing is written. */
  readonly stateDir?: string;
  readonly onRequest?: (line: AccessLogLine) => void;
}

export interface SandboxInfo {
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly identities: Record<Tier, { accessKeyId: string; secretAccessKey: string; arn: string }>;
}

export interface Sandbox extends SandboxInfo {
  readonly clients: AwsClients;
  readonly seeded?: SeededDemo;
  readonly identityObjects: Record<Tier, LocalIdentity>;
  stop(): Promise<void>;
}

export const SANDBOX_FILE = 'sandbox.json';
/** The sandbox API's resource ARNs: account, a fixed API id and stage. */
export const SANDBOX_API_ARN_BASE = `arn:aws:execute-api:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:sandbox/local`;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const region = options.region ?? SANDBOX_REGION;
  let moto: MotoServer | undefined;
  const awsEndpoint = options.awsEndpoint ?? (moto = await startMoto()).endpoint;
  const seed = options.seed ?? moto !== undefined;
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'testing',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
  };
  const awsOptions = { endpoint: awsEndpoint, region, credentials };
  const clients = createClients(awsOptions);
  const stops: (() => unknown)[] = [];
  try {
    let seeded: SeededDemo | undefined;
    let producer: LogProducer | undefined;
    if (seed) {
      clearEcsLookupCache();
      const ec2 = new EC2Client(clientConfig(awsOptions));
      seeded = await seedDemo(
        { ecs: clients.ecs, ec2, logs: clients.logs },
        sandboxRuntime(awsEndpoint, region),
      );
      if (options.produceLogs ?? true) {
        const live = seeded.liveStreams;
        producer = startLogProducer(
          new CloudWatchLogsClient(clientConfig({ ...awsOptions, maxAttempts: 2 })),
          () => live,
        );
        stops.push(() => producer?.stop());
      }
    }

    const targets = createTargets(resolveTargets(options.config ?? DEMO_CONFIG));
    const sink = handlerLogSink(options.stateDir);
    const readDeps = createReadDeps(clients, targets);
    const dispatchers: Partial<Record<Tier, TierDispatch>> = {
      read: createDispatcher({
        tier: 'read',
        routes: readRoutes,
        deps: () => readDeps,
        log: createLogger({ tier: 'read' }, sink),
      }),
    };
    const identityObjects = createIdentities(SANDBOX_ACCOUNT, SANDBOX_API_ARN_BASE);
    const api = await startLocalApi({
      region,
      accountId: SANDBOX_ACCOUNT,
      apiArnBase: SANDBOX_API_ARN_BASE,
      identities: Object.values(identityObjects),
      dispatchers,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    stops.push(() => api.close());

    const info: SandboxInfo = {
      apiUrl: api.url,
      awsEndpoint,
      region,
      identities: Object.fromEntries(
        Object.entries(identityObjects).map(([tier, i]) => [
          tier,
          { accessKeyId: i.accessKeyId, secretAccessKey: i.secretAccessKey, arn: i.arn },
        ]),
      ) as SandboxInfo['identities'],
    };
    if (options.stateDir) {
      mkdirSync(options.stateDir, { recursive: true });
      writeFileSync(join(options.stateDir, SANDBOX_FILE), `${JSON.stringify(info, null, 2)}\n`, {
        mode: 0o600,
      });
    }
    return {
      ...info,
      clients,
      ...(seeded ? { seeded } : {}),
      identityObjects,
      async stop() {
        for (const stop of stops.reverse()) await stop();
        await moto?.stop();
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop();
    await moto?.stop();
    throw error;
  }
}

function handlerLogSink(stateDir: string | undefined): LogSink {
  if (!stateDir) return () => undefined;
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'handlers.log');
  return (line) => appendFileSync(file, `${line}\n`);
}
