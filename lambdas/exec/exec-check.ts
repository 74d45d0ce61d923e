// Exec preflight, for every running task of a service: can ECS Exec work, and if not, what to
// change. Checks what the ECS Exec docs and the exec-checker list: exec enabled on the task,
// the ExecuteCommandAgent running, the task role's ssmmessages (and kms:Decrypt)
// permissions, the Fargate platform version, read-only root filesystems, the init process,
// pidMode, credentials in the environment, and the cluster's exec logging and KMS settings.

import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeClustersCommand, ECSClient, Service, Task, TaskDefinition } from '@aws-sdk/client-ecs';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { z } from 'zod/v3';
import { ServiceTarget } from '../../lib/config';
import { describeService, getTaskDefinition, operableContainers, taskIdOf } from '../shared/ecs-lookup';
import { evaluate, Statement } from '../shared/iam-eval';
import { describeServiceTasks } from '../services/service-status';
import { Check, ExecCheckReport, TaskExecCheck } from './contract';

export interface ExecCheckDeps {
  readonly ecs: ECSClient;
  readonly iam: IAMClient;
  readonly logs: CloudWatchLogsClient;
}

const SSM_MESSAGES_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

export async function checkExec(deps: ExecCheckDeps, target: ServiceTarget): Promise<ExecCheckReport> {
  const [service, tasks, clusterChecks] = await Promise.all([
    describeService(deps.ecs, target),
    describeServiceTasks(deps.ecs, target, 'RUNNING'),
    checkCluster(deps, target.cluster),
  ]);
  const kmsKeyId = clusterChecks.kmsKeyId;
  const roleChecks = new Map<string, Promise<Check[]>>();
  const reports = await Promise.all(
    tasks.map(async (task): Promise<TaskExecCheck> => {
      const taskDefinition = await getTaskDefinition(deps.ecs, task.taskDefinitionArn ?? '');
      const role = taskDefinition.taskRoleArn;
      if (role && !roleChecks.has(role)) roleChecks.set(role, checkTaskRole(deps.iam, role, kmsKeyId));
      const checks = [
        ...checkTask(task, taskDefinition, target),
        ...(role
          ? await roleChecks.get(role)!
          : [
              fail(
                'task-role',
                'the task definition has no task role',
                'Give the task definition a taskRoleArn with the ssmmessages permissions ECS Exec needs.',
              ),
            ]),
      ];
      return { task: taskIdOf(task.taskArn), ready: checks.every((c) => c.status !== 'FAIL'), checks };
    }),
  );
  const serviceCheck = checkServiceFlag(service, target);
  const cluster = [...clusterChecks.checks, serviceCheck];
  return {
    service: target.name,
    ready: cluster.every((c) => c.status !== 'FAIL') && reports.length > 0 && reports.every((r) => r.ready),
    cluster,
    tasks: reports,
  };
}

function checkServiceFlag(service: Service, target: ServiceTarget): Check {
  return service.enableExecuteCommand
    ? ok('service-exec-enabled', 'the service starts its tasks with ECS Exec enabled')
    : fail(
        'service-exec-enabled',
        'the service starts its tasks without ECS Exec',
        `aws ecs update-service --cluster ${target.cluster} --service ${target.service} --enable-execute-command --force-new-deployment`,
      );
}

function checkTask(task: Task, taskDefinition: TaskDefinition, target: ServiceTarget): Check[] {
  const checks: Check[] = [];
  checks.push(
    task.enableExecuteCommand
      ? ok('task-exec-enabled', 'the task was started with ECS Exec enabled')
      : fail(
          'task-exec-enabled',
          'the task was started without ECS Exec; it cannot be turned on for a running task',
          'Enable it on the service and force a new deployment, so new tasks start with it.',
        ),
  );
  const names = new Set(operableContainers(taskDefinition, target).map((c) => c.name));
  for (const c of task.containers ?? []) {
    if (!names.has(c.name)) continue;
    const agent = c.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent');
    const status = agent?.lastStatus ?? 'ABSENT';
    checks.push(
      status === 'RUNNING'
        ? ok(`exec-agent:${c.name}`, 'the ECS Exec agent is running')
        : status === 'PENDING'
          ? warn(
              `exec-agent:${c.name}`,
              'the ECS Exec agent is starting',
              'Wait a few seconds after the task starts, then try again.',
            )
          : fail(
              `exec-agent:${c.name}`,
              `the ECS Exec agent is ${status}${agent?.reason ? `: ${agent.reason}` : ''}`,
              'Check the task role permissions and that the task reaches ssmmessages (NAT or a VPC endpoint), then start a new task.',
            ),
    );
  }
  if (task.launchType === 'FARGATE' || task.platformFamily) {
    const version = task.platformVersion ?? '';
    checks.push(
      /^1\.[0-3]\./.test(version)
        ? fail(
            'platform-version',
            `Fargate platform version ${version} has no ECS Exec`,
            'Use platform version 1.4.0 or LATEST on the service.',
          )
        : ok('platform-version', `Fargate platform version ${version || 'LATEST'}`),
    );
  }
  for (const c of taskDefinition.containerDefinitions ?? []) {
    if (!names.has(c.name)) continue;
    if (c.readonlyRootFilesystem) {
      checks.push(
        fail(
          `readonly-root:${c.name}`,
          'the root filesystem is read-only, but the ECS Exec agent must write to it',
          'Set readonlyRootFilesystem to false for this container.',
        ),
      );
    }
    if (!c.linuxParameters?.initProcessEnabled) {
      checks.push(
        warn(
          `init-process:${c.name}`,
          'initProcessEnabled is off: the agent leaves zombie processes, and PID 1 is the app itself (it ignores signals it has no handler for)',
          'Set linuxParameters.initProcessEnabled to true.',
        ),
      );
    }
    const credentials = (c.environment ?? []).filter((e) =>
      /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(e.name ?? ''),
    );
    if (credentials.length > 0) {
      checks.push(
        warn(
          `credentials-env:${c.name}`,
          `${credentials.map((e) => e.name).join(', ')} in the environment replace the task role for the ECS Exec agent`,
          'Use the task role instead of static keys.',
        ),
      );
    }
  }
  if (taskDefinition.pidMode === 'task') {
    checks.push(
      warn(
        'pid-mode',
        "pidMode is 'task': ECS Exec reaches only one container of the task",
        'Drop pidMode: task, or exec into that one container.',
      ),
    );
  }
  return checks;
}

interface ClusterChecks {
  readonly checks: Check[];
  readonly kmsKeyId: string | undefined;
}

async function checkCluster(deps: ExecCheckDeps, cluster: string): Promise<ClusterChecks> {
  const out = await deps.ecs.send(
    new DescribeClustersCommand({ clusters: [cluster], include: ['CONFIGURATIONS'] }),
  );
  const config = out.clusters?.[0]?.configuration?.executeCommandConfiguration;
  const checks: Check[] = [];
  const kmsKeyId = config?.kmsKeyId || undefined;
  checks.push(
    kmsKeyId
      ? ok(
          'cluster-kms',
          `sessions are encrypted with ${kmsKeyId}; callers need kms:GenerateDataKey and task roles kms:Decrypt on it`,
        )
      : ok('cluster-kms', 'sessions are not KMS-encrypted (TLS only)'),
  );
  const logging = config?.logging ?? 'DEFAULT';
  if (logging === 'NONE') {
    checks.push(
      warn(
        'cluster-logging',
        'the cluster does not log session transcripts',
        'ecs-sidekick still audits its own calls; set logging to OVERRIDE for transcripts.',
      ),
    );
  } else if (logging === 'OVERRIDE' && config?.logConfiguration?.cloudWatchLogGroupName) {
    const group = config.logConfiguration.cloudWatchLogGroupName;
    const found = await deps.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
    const logGroup = found.logGroups?.find((g) => g.logGroupName === group);
    if (!logGroup) {
      checks.push(
        fail(
          'cluster-logging',
          `the session log group ${group} does not exist`,
          'Create it, or change the cluster executeCommandConfiguration.',
        ),
      );
    } else if (config.logConfiguration.cloudWatchEncryptionEnabled && !logGroup.kmsKeyId) {
      checks.push(
        fail(
          'cluster-logging',
          `cloudWatchEncryptionEnabled is on but ${group} has no KMS key: every session fails`,
          'Associate a KMS key with the log group, or turn cloudWatchEncryptionEnabled off.',
        ),
      );
    } else {
      checks.push(
        ok(
          'cluster-logging',
          `session transcripts go to ${group}${logGroup.kmsKeyId ? ' (KMS-encrypted)' : ''}`,
        ),
      );
    }
  } else {
    checks.push(ok('cluster-logging', `session logging is ${logging}`));
  }
  return { checks, kmsKeyId };
}

async function checkTaskRole(
  iam: IAMClient,
  roleArn: string,
  kmsKeyId: string | undefined,
): Promise<Check[]> {
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  let statements: Statement[];
  try {
    statements = await rolePolicyStatements(iam, roleName);
  } catch (error) {
    return [
      warn(
        'task-role',
        `could not read the policies of ${roleName}: ${(error as Error).message}`,
        'Check the role by hand: it needs the ssmmessages actions on *.',
      ),
    ];
  }
  const checks: Check[] = [];
  const missing = SSM_MESSAGES_ACTIONS.filter((a) => !evaluate(statements, a, '*').allowed);
  const conditional = SSM_MESSAGES_ACTIONS.filter((a) => evaluate(statements, a, '*').conditional);
  checks.push(
    missing.length > 0
      ? fail(
          'task-role-ssmmessages',
          `task role ${roleName} may not ${missing.join(', ')}`,
          `Allow ${SSM_MESSAGES_ACTIONS.join(', ')} on * in the task role.`,
        )
      : conditional.length > 0
        ? warn(
            'task-role-ssmmessages',
            `task role ${roleName} allows the ssmmessages actions only under conditions`,
            'Check the conditions hold for the task.',
          )
        : ok(
            'task-role-ssmmessages',
            `task role ${roleName} allows the ssmmessages actions (identity policies; SCPs and boundaries not evaluated)`,
          ),
  );
  if (kmsKeyId) {
    const decision = evaluate(statements, 'kms:Decrypt', kmsKeyId);
    checks.push(
      decision.allowed
        ? ok('task-role-kms', `task role ${roleName} may kms:Decrypt with the session key`)
        : fail(
            'task-role-kms',
            `task role ${roleName} may not kms:Decrypt with ${kmsKeyId}: encrypted sessions fail`,
            'Allow kms:Decrypt on the cluster exec key in the task role.',
          ),
    );
  }
  return checks;
}

async function rolePolicyStatements(iam: IAMClient, roleName: string): Promise<Statement[]> {
  const statements: Statement[] = [];
  const inline = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
  for (const name of inline.PolicyNames ?? []) {
    const doc = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    statements.push(...parseDocument(doc.PolicyDocument));
  }
  const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
  for (const policy of attached.AttachedPolicies ?? []) {
    const meta = await iam.send(new GetPolicyCommand({ PolicyArn: policy.PolicyArn }));
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policy.PolicyArn, VersionId: meta.Policy?.DefaultVersionId }),
    );
    statements.push(...parseDocument(version.PolicyVersion?.Document));
  }
  return statements;
}

const names = z.union([z.string(), z.array(z.string())]).optional();
const StatementSchema = z.object({
  Effect: z.enum(['Allow', 'Deny']),
  Action: names,
  NotAction: names,
  Resource: names,
  NotResource: names,
  Condition: z.unknown().optional(),
});
const PolicyDocumentSchema = z.object({
  Statement: z.union([StatementSchema, z.array(StatementSchema)]).optional(),
});

/** IAM returns policy documents URL-encoded. */
function parseDocument(document: string | undefined): Statement[] {
  if (!document) return [];
  let text = document;
  try {
    text = decodeURIComponent(document);
  } catch {
    // already plain JSON
  }
  const { Statement } = PolicyDocumentSchema.parse(JSON.parse(text));
  return Statement === undefined ? [] : Array.isArray(Statement) ? Statement : [Statement];
}

const ok = (name: string, detail: string): Check => ({ name, status: 'OK', detail });
const warn = (name: string, detail: string, fix: string): Check => ({ name, status: 'WARN', detail, fix });
const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'FAIL', detail, fix });
