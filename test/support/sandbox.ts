// A sandbox for one test file: its own moto, the local API, and counters of every AWS call
// the handlers make (through SDK middleware on the very clients the handlers use).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SidekickConfig } from '../../lib/config';
import { Tier } from '../../lambdas/shared/routes';
import { clientConfig } from '../../lambdas/shared/clients';
import { clearEcsLookupCache } from '../../lambdas/shared/ecs-lookup';
import { createApiClient } from '../../cli/api-client';
import { Connection } from '../../cli/endpoint';
import { DEMO_CONFIG, SANDBOX_REGION } from '../../sandbox/demo';
import { MotoServer, resetMoto, startMoto } from '../../sandbox/moto-server';
import { sandboxRuntime, SandboxRuntime } from '../../sandbox/runtime';
import { Sandbox, startSandbox } from '../../sandbox/sandbox';
import { StateMachineDefinition } from '../../lib/runbooks/definitions';

export interface TestSandbox {
  readonly moto: MotoServer;
  readonly sandbox: Sandbox;
  /** AWS operations the handlers called, in order (e.g. 'FilterLogEventsCommand'). */
  readonly awsCalls: string[];
  /** Clients for seeding, separate from the handlers' (their calls are not counted). */
  readonly seed: {
    ecs: ECSClient;
    logs: CloudWatchLogsClient;
    ec2: EC2Client;
    kms: KMSClient;
    iam: IAMClient;
    runtime: SandboxRuntime;
  };
  readonly stateDir: string;
  api(tier: Tier | 'none'): ReturnType<typeof createApiClient>;
  connection(tier: Tier | 'none'): Connection;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestSandbox(
  config: SidekickConfig = DEMO_CONFIG,
  options: {
    seed?: boolean;
    timeLimitMs?: number;
    runbookDefinitions?: Record<string, StateMachineDefinition>;
    runbookWaitMs?: number;
  } = {},
): Promise<TestSandbox> {
  const moto = await startMoto();
  const stateDir = mkdtempSync(join(tmpdir(), 'sidekick-test-'));
  const sandbox = await startSandbox({
    awsEndpoint: moto.endpoint,
    seed: options.seed ?? false,
    config,
    stateDir,
    ...(options.timeLimitMs !== undefined ? { timeLimitMs: options.timeLimitMs } : {}),
    ...(options.runbookDefinitions ? { runbookDefinitions: options.runbookDefinitions } : {}),
    ...(options.runbookWaitMs !== undefined ? { runbookWaitMs: options.runbookWaitMs } : {}),
  });
  const awsCalls: string[] = [];
  const count: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    awsCalls.push(context.commandName ?? 'unknown');
    return next(args);
  };
  sandbox.clients.ecs.middlewareStack.add(count, { step: 'initialize', name: 'countAwsCalls' });
  sandbox.clients.logs.middlewareStack.add(count, { step: 'initialize', name: 'countAwsCalls' });
  const clientOptions = clientConfig({
    endpoint: moto.endpoint,
    region: SANDBOX_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const connection = (tier: Tier | 'none'): Connection => ({
    apiUrl: sandbox.apiUrl,
    region: sandbox.region,
    source: 'sandbox',
    credentialsFor: (routeTier) =>
      tier === 'none' ? undefined : (sandbox.identities[tier] ?? sandbox.identities[routeTier]),
    runbooks: async () => ({ endpoint: sandbox.stepFunctionsEndpoint, machines: sandbox.runbooks }),
  });
  return {
    moto,
    sandbox,
    awsCalls,
    stateDir,
    seed: {
      ecs: new ECSClient(clientOptions),
      logs: new CloudWatchLogsClient(clientOptions),
      ec2: new EC2Client(clientOptions),
      kms: new KMSClient(clientOptions),
      iam: new IAMClient(clientOptions),
      runtime: sandboxRuntime(moto.endpoint, SANDBOX_REGION),
    },
    connection,
    api: (tier) => createApiClient(connection(tier)),
    async reset() {
      await resetMoto(moto.endpoint);
      clearEcsLookupCache();
      awsCalls.length = 0;
    },
    async stop() {
      await sandbox.stop();
      await moto.stop();
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly body: { error?: { type: string; message: string; field?: string }; message?: string } & Record<
    string,
    unknown
  >;
}

/** Sends a request exactly as given (raw path and query), signed as a tier identity or not at all. */
export async function rawRequest(
  t: TestSandbox,
  tier: Tier | 'none',
  method: string,
  pathAndQuery: string,
  options: {
    secretOverride?: string;
    signingDate?: Date;
    mutate?: (url: string) => string;
    body?: string;
  } = {},
): Promise<RawResponse> {
  const base = new URL(t.sandbox.apiUrl);
  const [path, search = ''] = pathAndQuery.split('?');
  const query: Record<string, string | string[]> = {};
  for (const part of search.split('&').filter(Boolean)) {
    const [k, v = ''] = part.split('=').map(decodeURIComponent) as [string, string?];
    const prev = query[k!];
    query[k!] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  let headers: Record<string, string> = { host: base.host };
  if (tier !== 'none') {
    const id = t.sandbox.identities[tier];
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: id.accessKeyId,
        secretAccessKey: options.secretOverride ?? id.secretAccessKey,
      },
      region: t.sandbox.region,
      service: 'execute-api',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'http:',
        hostname: base.hostname,
        port: Number(base.port),
        path: path!,
        query,
        headers,
        ...(options.body ? { body: options.body } : {}),
      }),
      options.signingDate ? { signingDate: options.signingDate } : {},
    );
    headers = signed.headers;
  }
  const { host: _host, ...send } = headers;
  let url = `${base.origin}${pathAndQuery}`;
  if (options.mutate) url = options.mutate(url);
  const res = await fetch(url, { method, headers: send, ...(options.body ? { body: options.body } : {}) });
  return { status: res.status, body: (await res.json()) as RawResponse['body'] };
}
