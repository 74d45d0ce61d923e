// The sandbox demo: the same shape as the stack's demo (a cluster whose exec sessions are
// KMS-encrypted and logged, a Fargate service `web` with ECS Exec on, a `web` and a `worker`
// container logging with awslogs, a task role with the ssmmessages permissions), seeded into
// moto with running tasks (the oldest started before exec was turned on), history in its log
// group, and two tasks that failed for known reasons (an image that cannot be pulled, and an
// out-of-memory kill).

import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  ContainerDefinition,
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { SidekickConfig } from '../lib/config';
import { streamName, taskIdOf } from '../lambdas/shared/ecs-lookup';
import { backfill, LogTarget } from './log-producer';
import { SandboxRuntime, TaskState } from './runtime';

export const SANDBOX_REGION = 'us-east-1';
/** moto's default account. */
export const SANDBOX_ACCOUNT = '123456789012';

export const DEMO = {
  cluster: 'sidekick-demo',
  service: 'web',
  family: 'sidekick-demo-web',
  logGroup: '/ecs-sidekick/demo/web',
  streamPrefix: 'web',
  containers: ['web', 'worker'],
  auditLogGroup: '/ecs-sidekick/demo/audit',
  execLogGroup: '/ecs-sidekick/demo/exec-sessions',
  taskRole: 'sidekick-demo-web-task',
  /** Backups, and the operations/leases table (the stack's bucket and table). */
  bucket: 'ecs-sidekick-sandbox-backups',
  table: 'ecs-sidekick-sandbox-state',
  historyTable: 'ecs-sidekick-sandbox-task-history',
  sidekickLogGroup: '/ecs-sidekick/demo/sidekick',
} as const;

/** The demo's EFS file system and access points, as the sandbox names them. */
const DEMO_FS = 'fs-0a11ce5a4d0b0001';

export const DEMO_CONFIG: SidekickConfig = {
  services: {
    web: {
      cluster: DEMO.cluster,
      service: DEMO.service,
      logGroups: [DEMO.logGroup],
      volumes: {
        data: {
          fileSystemId: DEMO_FS,
          accessPointId: 'fsap-0a11ce5a4d0b0001',
          containerPath: '/data',
          iamAuthorization: true,
          transitEncryption: true,
        },
        config: {
          fileSystemId: DEMO_FS,
          accessPointId: 'fsap-0a11ce5a4d0b0002',
          containerPath: '/config',
          iamAuthorization: true,
          transitEncryption: true,
          configFiles: true,
        },
      },
      network: {
        vpcId: 'vpc-0a11ce5a4d0b0001',
        subnetIds: ['subnet-0a11ce5a4d0b0001'],
        securityGroupIds: ['sg-0a11ce5a4d0b0001'],
      },
      // The demo app ships a checker for its config format (sandbox/demo-app/bin/validate-config)
      // and a control command the runbooks use to quiesce it and check its health.
      validators: [['validate-config'], ['app-ctl', 'pause'], ['app-ctl', 'resume'], ['app-ctl', 'health']],
    },
  },
};

export interface Network {
  readonly subnets: string[];
  readonly securityGroups: string[];
}

export interface DemoClients {
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
  readonly logs: CloudWatchLogsClient;
  /** With these two, the cluster encrypts exec sessions with a KMS key and the tasks get a role. */
  readonly kms?: KMSClient;
  readonly iam?: IAMClient;
}

export interface SeededDemo {
  readonly network: Network;
  readonly goodTaskDefinition: string;
  /** Newest first; the last one runs without ECS Exec. */
  readonly runningTasks: readonly string[];
  readonly failedTasks: readonly { readonly id: string; readonly cause: string }[];
  /** The streams the log producer should keep writing to. */
  readonly liveStreams: readonly LogTarget[];
}

export async function createNetwork(ec2: EC2Client): Promise<Network> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets = await Promise.all(
    ['10.0.1.0/24', '10.0.2.0/24'].map((cidr) =>
      ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr })),
    ),
  );
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: 'sidekick-demo-web',
      Description: 'demo service',
      VpcId: vpcId,
    }),
  );
  return { subnets: subnets.map((s) => s.Subnet!.SubnetId!), securityGroups: [sg.GroupId!] };
}

export function demoContainer(
  name: string,
  image: string,
  options: Partial<ContainerDefinition> = {},
): ContainerDefinition {
  return {
    name,
    image,
    memory: 256,
    essential: name === 'web',
    linuxParameters: { initProcessEnabled: true },
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': DEMO.logGroup,
        'awslogs-stream-prefix': DEMO.streamPrefix,
        'awslogs-region': SANDBOX_REGION,
      },
    },
    ...options,
  };
}

export async function registerDemoTaskDefinition(
  ecs: ECSClient,
  webImage: string,
  taskRoleArn?: string,
): Promise<string> {
  const out = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: DEMO.family,
      ...(taskRoleArn ? { taskRoleArn } : {}),
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        demoContainer('web', webImage),
        demoContainer('worker', 'public.ecr.aws/docker/library/busybox:stable'),
      ],
    }),
  );
  return out.taskDefinition!.taskDefinitionArn!;
}

export interface DemoService {
  readonly network: Network;
  readonly taskDefinition: string;
  /** The cluster's exec session key, when the clients could make one. */
  readonly kmsKeyArn?: string;
}

/**
 * The demo's cluster, log groups, task definition and service `web`, with no tasks yet. With
 * KMS and IAM clients, exec sessions are encrypted and logged and the tasks get a role.
 */
export async function createDemoService(
  clients: DemoClients,
  options: { desiredCount?: number; execEnabled?: boolean; image?: string } = {},
): Promise<DemoService> {
  const network = await createNetwork(clients.ec2);
  await clients.logs.send(new CreateLogGroupCommand({ logGroupName: DEMO.logGroup }));
  await clients.logs.send(new CreateLogGroupCommand({ logGroupName: DEMO.auditLogGroup }));
  const kmsKeyArn = clients.kms
    ? (await clients.kms.send(new CreateKeyCommand({ Description: 'demo exec sessions' }))).KeyMetadata?.Arn
    : undefined;
  if (kmsKeyArn)
    await clients.logs.send(
      new CreateLogGroupCommand({ logGroupName: DEMO.execLogGroup, kmsKeyId: kmsKeyArn }),
    );
  await clients.ecs.send(
    new CreateClusterCommand({
      clusterName: DEMO.cluster,
      ...(kmsKeyArn
        ? {
            configuration: {
              executeCommandConfiguration: {
                kmsKeyId: kmsKeyArn,
                logging: 'OVERRIDE',
                logConfiguration: {
                  cloudWatchLogGroupName: DEMO.execLogGroup,
                  cloudWatchEncryptionEnabled: true,
                },
              },
            },
          }
        : {}),
    }),
  );
  const taskRoleArn = clients.iam ? await createTaskRole(clients.iam, kmsKeyArn) : undefined;
  const taskDefinition = await registerDemoTaskDefinition(
    clients.ecs,
    options.image ?? 'public.ecr.aws/nginx/nginx:1.27',
    taskRoleArn,
  );
  await clients.ecs.send(
    new CreateServiceCommand({
      cluster: DEMO.cluster,
      serviceName: DEMO.service,
      taskDefinition,
      desiredCount: options.desiredCount ?? 2,
      launchType: 'FARGATE',
      enableExecuteCommand: options.execEnabled ?? true,
      // One of three tasks may be down at a time: `restart --mode stop-tasks` can work.
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
      networkConfiguration: {
        awsvpcConfiguration: { subnets: network.subnets, securityGroups: network.securityGroups },
      },
    }),
  );
  return { network, taskDefinition, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
}

/** The task role ECS Exec needs: the ssmmessages channels, and kms:Decrypt on the session key. */
async function createTaskRole(iam: IAMClient, kmsKeyArn: string | undefined): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
  const role = await iam.send(
    new CreateRoleCommand({ RoleName: DEMO.taskRole, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  const statements: object[] = [
    {
      Effect: 'Allow',
      Action: [
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
      Resource: '*',
    },
  ];
  if (kmsKeyArn) statements.push({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: kmsKeyArn });
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: DEMO.taskRole,
      PolicyName: 'ecs-exec',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
  return role.Role!.Arn!;
}

/** Starts a task the way the service scheduler does: group `service:<name>`. */
export async function runServiceTask(
  ecs: ECSClient,
  network: Network,
  taskDefinition: string,
  options: { cluster?: string; service?: string; execEnabled?: boolean } = {},
): Promise<string> {
  const out = await ecs.send(
    new RunTaskCommand({
      cluster: options.cluster ?? DEMO.cluster,
      taskDefinition,
      launchType: 'FARGATE',
      group: `service:${options.service ?? DEMO.service}`,
      startedBy: 'ecs-svc/0000000000000000001',
      enableExecuteCommand: options.execEnabled ?? true,
      platformVersion: '1.4.0',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: network.subnets, securityGroups: network.securityGroups },
      },
    }),
  );
  return taskIdOf(out.tasks![0]!.taskArn);
}

/** Reports a task as stopped, with what ECS would say about it. */
export async function reportStopped(
  runtime: SandboxRuntime,
  state: Omit<TaskState, 'lastStatus' | 'desiredStatus'>,
) {
  const at = state.stoppedAt ?? Date.now();
  await runtime.setTaskState({
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stoppingAt: at,
    stoppedAt: at,
    executionStoppedAt: at,
    ...state,
  });
}

export async function seedDemo(
  clients: DemoClients,
  runtime: SandboxRuntime,
  now = Date.now(),
): Promise<SeededDemo> {
  const { network, taskDefinition: good } = await createDemoService(clients);
  const say = (event: string, eventAt: number) =>
    runtime.setServiceState({ cluster: DEMO.cluster, service: DEMO.service, event, eventAt });

  // A deploy of a mistyped image tag: the task never starts and never writes a log line.
  const bad = await registerDemoTaskDefinition(clients.ecs, 'public.ecr.aws/nginx/nginx:1.27-typo');
  const pullFailed = await runServiceTask(clients.ecs, network, bad);
  const pullError =
    'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref public.ecr.aws/nginx/nginx:1.27-typo: public.ecr.aws/nginx/nginx:1.27-typo: not found';
  await say(`(service ${DEMO.service}) has started 1 tasks: (task ${pullFailed}).`, now - 21 * 60_000);
  await reportStopped(runtime, {
    cluster: DEMO.cluster,
    task: pullFailed,
    stopCode: 'TaskFailedToStart',
    stoppedReason: pullError,
    createdAt: now - 21 * 60_000,
    startedAt: null,
    pullStartedAt: now - 21 * 60_000,
    pullStoppedAt: null,
    stoppedAt: now - 20 * 60_000,
    containers: [
      { name: 'web', lastStatus: 'STOPPED', reason: pullError },
      { name: 'worker', lastStatus: 'STOPPED' },
    ],
  });
  await say(
    `(service ${DEMO.service}) deployment ecs-svc/0000000000000000002 deployment failed: tasks failed to start.`,
    now - 19 * 60_000,
  );
  await say(
    `(service ${DEMO.service}) rolling back to deployment ecs-svc/0000000000000000001.`,
    now - 19 * 60_000 + 1000,
  );

  // A task of the good revision that ran, logged, and was killed for its memory use.
  const oomKilled = await runServiceTask(clients.ecs, network, good);
  const oomStream: LogTarget = {
    logGroup: DEMO.logGroup,
    stream: streamName(DEMO.streamPrefix, 'web', oomKilled),
    container: 'web',
  };
  await backfill(clients.logs, oomStream, now - 12 * 60_000, now - 10 * 60_000, 40, (_, at, n) =>
    n < 39
      ? `INFO warming cache: ${(n + 1) * 12} MiB loaded ${new Date(at).toISOString()}`
      : 'WARN cache at 470 MiB of 512 MiB',
  );
  const oomWorker: LogTarget = {
    ...oomStream,
    stream: streamName(DEMO.streamPrefix, 'worker', oomKilled),
    container: 'worker',
  };
  await backfill(clients.logs, oomWorker, now - 12 * 60_000, now - 10 * 60_000, 20);
  await reportStopped(runtime, {
    cluster: DEMO.cluster,
    task: oomKilled,
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    createdAt: now - 13 * 60_000,
    startedAt: now - 12 * 60_000,
    stoppedAt: now - 10 * 60_000,
    containers: [
      {
        name: 'web',
        lastStatus: 'STOPPED',
        exitCode: 137,
        reason: 'OutOfMemoryError: Container killed due to memory usage',
      },
      { name: 'worker', lastStatus: 'STOPPED', exitCode: 143 },
    ],
  });
  await say(`(service ${DEMO.service}) has stopped 1 running tasks: (task ${oomKilled}).`, now - 10 * 60_000);

  // The oldest running task started before ECS Exec was turned on for the service.
  const withoutExec = await runServiceTask(clients.ecs, network, good, { execEnabled: false });
  const withExec = [
    await runServiceTask(clients.ecs, network, good),
    await runServiceTask(clients.ecs, network, good),
  ];
  const runningTasks = [...withExec, withoutExec];
  const liveStreams = runningTasks.flatMap((task) =>
    DEMO.containers.map((container) => ({
      logGroup: DEMO.logGroup,
      stream: streamName(DEMO.streamPrefix, container, task),
      container,
    })),
  );
  for (const target of liveStreams) await backfill(clients.logs, target, now - 15 * 60_000, now - 1000, 450);
  const startedMinutesAgo = new Map([...withExec.map((t) => [t, 9] as const), [withoutExec, 40] as const]);
  for (const [task, minutes] of startedMinutesAgo) {
    await runtime.setTaskState({
      cluster: DEMO.cluster,
      task,
      createdAt: now - minutes * 60_000,
      startedAt: now - minutes * 60_000 + 20_000,
      healthStatus: 'HEALTHY',
    });
  }
  await say(
    `(service ${DEMO.service}) has started 2 tasks: (task ${withExec[0]}) (task ${withExec[1]}).`,
    now - 9 * 60_000,
  );
  await runtime.setServiceState({
    cluster: DEMO.cluster,
    service: DEMO.service,
    desiredCount: 3,
    runningCount: 3,
    pendingCount: 0,
    rolloutState: 'COMPLETED',
  });
  await say(`(service ${DEMO.service}) has reached a steady state.`, now - 8 * 60_000);

  return {
    network,
    goodTaskDefinition: good,
    runningTasks,
    failedTasks: [
      { id: pullFailed, cause: 'IMAGE_PULL' },
      { id: oomKilled, cause: 'OOM' },
    ],
    liveStreams,
  };
}
