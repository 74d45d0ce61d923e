// The local sandbox: moto as the AWS, the demo seeded into it with its containers running as
// local processes, an exec gateway answering ECS Exec sessions, and the tier Lambdas'
// handlers behind a local API that checks SigV4 and the tier policies like the deployed stack.

import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { resolveTargets, SidekickConfig } from '../lib/config';
import { AwsClients, clientConfig, createClients } from '../lambdas/shared/clients';
import { createDispatcher } from '../lambdas/shared/dispatch';
import { clearEcsLookupCache, streamName } from '../lambdas/shared/ecs-lookup';
import { clearExecCaches } from '../lambdas/exec/run-exec';
import { createLogger, LogSink } from '../lambdas/shared/logger';
import { FunctionName, Tier } from '../lambdas/shared/routes';
import { createTargets } from '../lambdas/shared/targets';
import { breakglassRoutes } from '../lambdas/tiers/breakglass-routes';
import { createExecDeps } from '../lambdas/tiers/exec-deps';
import { createReadDeps, readRoutes } from '../lambdas/tiers/read-routes';
import { signalRoutes } from '../lambdas/tiers/signal-routes';
import { createOperateDeps, operateRoutes } from '../lambdas/tiers/operate-routes';
import { errorFromInvocation } from '../lambdas/shared/errors';
import { Invoke } from '../lambdas/shared/invoke';
import { filesReadRoutes, filesWriteRoutes } from '../lambdas/volumes/files-handler';
import { SandboxEcsAgent } from './ecs-agent';
import { createStorage, provisionVolumes, SandboxStorage, SIGNAL_FUNCTION, volumeDir } from './volumes';
import { DEMO, DEMO_CONFIG, SANDBOX_ACCOUNT, SANDBOX_REGION, SeededDemo, seedDemo } from './demo';
import { ExecGateway, startExecGateway } from './exec-gateway/gateway';
import { createIdentities } from './identities';
import { AccessLogLine, LocalIdentity, startLocalApi, TierDispatch } from './local-api';
import { startLogProducer } from './log-producer';
import { MotoServer, startMoto } from './moto-server';
import { sandboxRuntime } from './runtime';
import { TaskRuntime } from './task-runtime';
import { SandboxServiceScheduler } from './service-scheduler';
import { forwardTaskStops } from './task-events';
import { LocalRunbooks, serveStepFunctions } from './step-functions';
import { RUNBOOK_ACTIONS, RUNBOOKS } from '../lambdas/runbooks/inputs';
import { RUNBOOK_DEFINITIONS, StateMachineDefinition } from '../lib/runbooks/definitions';

export interface SandboxOptions {
  /** An AWS endpoint that is already running; when unset, the sandbox starts moto. */
  readonly awsEndpoint?: string;
  readonly config?: SidekickConfig;
  /** Seed the demo (default: true when the sandbox starts its own moto). */
  readonly seed?: boolean;
  readonly port?: number;
  readonly region?: string;
  /** Where sandbox.json, handler logs and the containers' files go (default: a temp dir). */
  readonly stateDir?: string;
  /** Write sandbox.json into stateDir (the CLI finds it there). */
  readonly writeStateFile?: boolean;
  /** The audit log group of exec and signal (default: the demo's). */
  readonly auditLogGroup?: string;
  readonly onRequest?: (line: AccessLogLine) => void;
  /** Backup and restore tasks are stopped after this long (default 120 minutes). */
  readonly timeLimitMs?: number;
  /** The runbooks' definitions by state machine name (default: built as the stack builds them). */
  readonly runbookDefinitions?: Record<string, StateMachineDefinition>;
  /** Every Wait state of a runbook pauses this long (default 500 ms). */
  readonly runbookWaitMs?: number;
}

export interface SandboxInfo {
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  /** The Step Functions API of the sandbox's runbooks. */
  readonly stepFunctionsEndpoint: string;
  /** Runbook name → state machine ARN. */
  readonly runbooks: Record<string, string>;
  readonly region: string;
  readonly identities: Record<Tier, { accessKeyId: string; secretAccessKey: string; arn: string }>;
}

export interface Sandbox extends SandboxInfo {
  readonly clients: AwsClients;
  readonly seeded?: SeededDemo;
  readonly identityObjects: Record<Tier, LocalIdentity>;
  readonly tasks: TaskRuntime;
  readonly agent: SandboxEcsAgent;
  readonly storage: SandboxStorage;
  /** Recreates the bucket, table and sidekick task definitions (after a moto reset). */
  provisionStorage(): Promise<void>;
  /** Undefined when the AWS endpoint is not the sandbox's moto (no ExecuteCommand there). */
  readonly execGateway?: ExecGateway;
  readonly stepFunctions: LocalRunbooks;
  /** The demo service's scheduler (when the demo runs as local containers). */
  readonly scheduler?: SandboxServiceScheduler;
  readonly stateDir: string;
  stop(): Promise<void>;
}

export const SANDBOX_FILE = 'sandbox.json';
/** The operate Lambda's name in the sandbox (it invokes itself to drive restarts). */
const OPERATE_FUNCTION = 'sandbox-operate';
const READ_FUNCTION = 'sandbox-read';
/** The sandbox's runbooks are named as the stack names them, with this stack name. */
export const SANDBOX_STACK = 'EcsSidekick';
/** The sandbox API's resource ARNs: account, a fixed API id and stage. */
export const SANDBOX_API_ARN_BASE = `arn:aws:execute-api:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:sandbox/local`;
const DEMO_APP = join(__dirname, 'demo-app');

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const region = options.region ?? SANDBOX_REGION;
  const stateDir = resolve(options.stateDir ?? join(tmpdir(), `ecs-sidekick-${process.pid}`));
  mkdirSync(stateDir, { recursive: true });
  let moto: MotoServer | undefined;
  const awsEndpoint = options.awsEndpoint ?? (moto = await startMoto()).endpoint;
  const seed = options.seed ?? moto !== undefined;
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'testing',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
  };
  const awsOptions = { endpoint: awsEndpoint, region, credentials };
  const clients = createClients(awsOptions);
  const tasks = new TaskRuntime({
    logs: clients.logs,
    runtime: sandboxRuntime(awsEndpoint, region),
    stateDir,
  });
  const stops: (() => unknown)[] = [() => tasks.stopAll()];
  try {
    clearEcsLookupCache();
    clearExecCaches();
    const execGateway = await startExecGateway({
      awsEndpoint,
      region,
      kms: clients.kms,
      launch: (info, argv) => tasks.launchExec(info.taskId, info.container, argv),
    }).catch(() => undefined);
    if (execGateway) stops.push(() => execGateway.close());

    let seeded: SeededDemo | undefined;
    let scheduler: SandboxServiceScheduler | undefined;
    if (seed) {
      const ec2 = new EC2Client(clientConfig(awsOptions));
      seeded = await seedDemo({ ...clients, ec2 }, sandboxRuntime(awsEndpoint, region));
      scheduler = await startDemoContainers(tasks, seeded, stateDir, awsOptions, stops);
    }

    const storage: SandboxStorage = {
      bucket: DEMO.bucket,
      table: DEMO.table,
      logGroup: DEMO.sidekickLogGroup,
      historyTable: DEMO.historyTable,
    };
    const history = { ddb: clients.ddb, table: storage.historyTable, retentionDays: 30 };
    const configured = resolveTargets(options.config ?? DEMO_CONFIG);
    const provisionStorage = async () => {
      await createStorage(clients, storage).catch(ignoreExists);
      return provisionVolumes(clients.ecs, configured, stateDir, storage);
    };
    const provisioned = await provisionStorage();
    const targets = createTargets(provisioned.targets);
    const agent = new SandboxEcsAgent({
      clusters: [...new Set(configured.map((t) => t.cluster))],
      // Its own client: the runner stands for ECS itself, not for a handler's calls.
      ecs: new ECSClient(clientConfig(awsOptions)),
      tasks,
      runtime: sandboxRuntime(awsEndpoint, region),
      volumes: provisioned.volumes,
      storage,
      stateDir,
      awsEnv: {
        AWS_ENDPOINT_URL: awsEndpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
    agent.start();
    stops.push(() => agent.stop());
    const sink = handlerLogSink(stateDir);
    // The config-files Lambdas and the signal Lambda, invoked by name like lambda:InvokeFunction.
    const invocable: Record<string, ReturnType<typeof createDispatcher>> = {};
    const invoke: Invoke = async (name, route, input) => {
      const fn = invocable[name];
      if (!fn) throw new Error(`sandbox: no function named ${name}`);
      try {
        return JSON.parse(JSON.stringify((await fn({ route, input }, {})) ?? null)) as unknown;
      } catch (error) {
        // What lambda:InvokeFunction hands back: the error's name and message, nothing else.
        throw errorFromInvocation((error as Error).name, (error as Error).message);
      }
    };
    const storageDeps = { s3: clients.s3, bucket: storage.bucket, now: Date.now };
    const readDeps = createReadDeps(clients, targets, { storage: storageDeps, invoke, history });
    // A restart's driver runs in the background, as an asynchronous invocation would; it is
    // abandoned when the sandbox stops, as Lambda would when its function is deleted.
    let running = true;
    stops.push(() => (running = false));
    const operateDeps = createOperateDeps(clients, targets, invoke, {
      bucket: storage.bucket,
      table: storage.table,
      signalFunction: SIGNAL_FUNCTION,
      timeLimitMs: options.timeLimitMs ?? 120 * 60_000,
      restartPollMs: 300,
      history,
      kick: async (operationId) => {
        if (!running) return;
        invoke(OPERATE_FUNCTION, 'driveRestart', { operationId }).catch((error: unknown) => {
          if (running)
            sink(
              JSON.stringify({
                level: 'ERROR',
                message: 'restart driver failed',
                operationId,
                error: String(error),
              }),
            );
        });
      },
    });
    const execDeps = createExecDeps(clients, targets, {
      auditLogGroup: options.auditLogGroup ?? DEMO.auditLogGroup,
      region,
    });
    const signalDispatcher = createDispatcher({
      tier: 'operate',
      routes: signalRoutes,
      deps: () => execDeps,
      log: createLogger({ tier: 'operate', lambda: 'signal' }, sink),
    });
    const dispatchers: Record<FunctionName, TierDispatch> = {
      read: createDispatcher({
        tier: 'read',
        routes: readRoutes,
        deps: () => readDeps,
        log: createLogger({ tier: 'read' }, sink),
      }),
      breakglass: createDispatcher({
        tier: 'breakglass',
        routes: breakglassRoutes,
        deps: () => execDeps,
        log: createLogger({ tier: 'breakglass' }, sink),
      }),
      signal: signalDispatcher,
      operate: createDispatcher({
        tier: 'operate',
        routes: operateRoutes,
        deps: () => operateDeps,
        log: createLogger({ tier: 'operate' }, sink),
      }),
    };
    invocable[SIGNAL_FUNCTION] = signalDispatcher;
    invocable[OPERATE_FUNCTION] = dispatchers.operate as ReturnType<typeof createDispatcher>;
    invocable[READ_FUNCTION] = dispatchers.read as ReturnType<typeof createDispatcher>;
    const taskEvents = forwardTaskStops({
      ecs: new ECSClient(clientConfig(awsOptions)),
      clusters: [...new Set(configured.map((t) => t.cluster))],
      deliver: (detail) => invoke(OPERATE_FUNCTION, 'recordTaskStop', detail),
    });
    stops.push(() => taskEvents.stop());
    for (const target of provisioned.targets) {
      for (const [volume, v] of Object.entries(target.volumes ?? {})) {
        if (!v.files) continue;
        const files = {
          service: target.name,
          volume,
          root: volumeDir(stateDir, target.name, volume),
          now: Date.now,
        };
        for (const access of ['read', 'write'] as const) {
          invocable[v.files[access]] = createDispatcher({
            tier: access === 'write' ? 'operate' : 'read',
            routes: access === 'write' ? filesWriteRoutes : filesReadRoutes,
            deps: () => files,
            log: createLogger(
              { tier: access === 'write' ? 'operate' : 'read', lambda: v.files[access] },
              sink,
            ),
          });
        }
      }
    }
    const identityObjects = createIdentities(SANDBOX_ACCOUNT, SANDBOX_API_ARN_BASE);
    const functionArn = (name: string) => `arn:aws:lambda:${region}:${SANDBOX_ACCOUNT}:function:${name}`;
    const runbooks = await LocalRunbooks.create({
      region,
      account: SANDBOX_ACCOUNT,
      definitions:
        options.runbookDefinitions ??
        Object.fromEntries(
          RUNBOOKS.map((name) => [
            `${SANDBOX_STACK}-${name}`,
            RUNBOOK_DEFINITIONS[name]({
              read: functionArn(READ_FUNCTION),
              operate: functionArn(OPERATE_FUNCTION),
            }),
          ]),
        ),
      // A Task state invokes the function its Resource names; its error keeps its type name.
      invoke: async (arn, payload) => {
        const fn = invocable[arn.split(':').pop() ?? ''];
        if (!fn) throw new Error(`sandbox: no function ${arn}`);
        return JSON.parse(JSON.stringify((await fn(payload as never, {})) ?? null)) as unknown;
      },
      waitMs: options.runbookWaitMs ?? 500,
      onEnded: async (execution) => {
        await invoke(OPERATE_FUNCTION, 'executionEnded', {
          executionArn: execution.executionArn,
          status: execution.status,
        }).catch(() => undefined);
      },
    });
    stops.push(() => runbooks.stopAll());
    const tierOfKey = new Map(Object.entries(identityObjects).map(([tier, i]) => [i.accessKeyId, tier]));
    const stepFunctions = await serveStepFunctions(runbooks, {
      region,
      secretOf: (key) => Object.values(identityObjects).find((i) => i.accessKeyId === key)?.secretAccessKey,
      mayCall: (key, action) => {
        const actions = RUNBOOK_ACTIONS[tierOfKey.get(key) as keyof typeof RUNBOOK_ACTIONS];
        return (
          action === 'ListStateMachines' ||
          (!!actions && [...actions.machines, ...actions.executions].includes(action as never))
        );
      },
    });
    stops.push(() => stepFunctions.close());
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
      stepFunctionsEndpoint: stepFunctions.url,
      runbooks: Object.fromEntries(
        runbooks.list().map((m) => [m.name.replace(`${SANDBOX_STACK}-`, ''), m.stateMachineArn]),
      ),
      region,
      identities: Object.fromEntries(
        Object.entries(identityObjects).map(([tier, i]) => [
          tier,
          { accessKeyId: i.accessKeyId, secretAccessKey: i.secretAccessKey, arn: i.arn },
        ]),
      ) as SandboxInfo['identities'],
    };
    if (options.writeStateFile ?? true) {
      writeFileSync(join(stateDir, SANDBOX_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    }
    return {
      ...info,
      clients,
      ...(seeded ? { seeded } : {}),
      identityObjects,
      tasks,
      agent,
      storage,
      provisionStorage: async () => {
        await provisionStorage();
      },
      ...(execGateway ? { execGateway } : {}),
      ...(scheduler ? { scheduler } : {}),
      stepFunctions: runbooks,
      stateDir,
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

/** The demo's `config` volume, as a local directory (the web container reads app.conf there). */
export function demoConfigDir(stateDir: string): string {
  return join(stateDir, 'volumes', DEMO.service, 'config');
}

/** Runs the demo's running tasks as local containers, or (without PID namespaces) writes their lines. */
async function startDemoContainers(
  tasks: TaskRuntime,
  seeded: SeededDemo,
  stateDir: string,
  awsOptions: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  },
  stops: (() => unknown)[],
): Promise<SandboxServiceScheduler | undefined> {
  if (!tasks.canIsolate) {
    process.stderr.write(
      'sandbox: this machine cannot make PID namespaces (unshare); containers are simulated and exec is off\n',
    );
    const producer = startLogProducer(
      new CloudWatchLogsClient(clientConfig({ ...awsOptions, maxAttempts: 2 })),
      () => seeded.liveStreams,
    );
    stops.push(() => producer.stop());
    return undefined;
  }
  const configDir = demoConfigDir(stateDir);
  mkdirSync(configDir, { recursive: true });
  const appConfig = join(configDir, 'app.conf');
  if (!existsSync(appConfig)) writeFileSync(appConfig, 'greeting=hello from the sandbox\nworkers=2\n');
  for (const task of seeded.runningTasks) await launchDemoTask(tasks, stateDir, task);
  const scheduler = new SandboxServiceScheduler({
    // Its own client: it stands for ECS itself.
    ecs: new ECSClient(clientConfig(awsOptions)),
    runtime: sandboxRuntime(awsOptions.endpoint, awsOptions.region),
    cluster: DEMO.cluster,
    service: DEMO.service,
    launch: (task) => launchDemoTask(tasks, stateDir, task),
  });
  scheduler.start();
  stops.push(() => scheduler.stop());
  return scheduler;
}

/** The demo task's containers, as local processes: `web` reads app.conf, writes to `data`. */
async function launchDemoTask(tasks: TaskRuntime, stateDir: string, task: string): Promise<void> {
  for (const container of DEMO.containers) {
    await tasks.start({
      cluster: DEMO.cluster,
      taskId: task,
      container,
      essential: container === 'web',
      argv: [process.execPath, join(DEMO_APP, `${container}.cjs`)],
      env: {
        APP_CONFIG: join(demoConfigDir(stateDir), 'app.conf'),
        APP_DATA: volumeDir(stateDir, DEMO.service, 'data'),
        // The demo's tools (validate-config) are on the container's PATH, as in its image.
        PATH: `${join(DEMO_APP, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      },
      logs: { logGroup: DEMO.logGroup, stream: streamName(DEMO.streamPrefix, container, task), container },
    });
  }
}

/** The bucket and table survive a sandbox restart on the same moto. */
function ignoreExists(error: unknown) {
  const name = (error as Error).name;
  if (
    name !== 'BucketAlreadyOwnedByYou' &&
    name !== 'ResourceInUseException' &&
    name !== 'ResourceAlreadyExistsException'
  )
    throw error;
}

function handlerLogSink(stateDir: string): LogSink {
  const file = join(stateDir, 'handlers.log');
  return (line) => appendFileSync(file, `${line}\n`);
}
