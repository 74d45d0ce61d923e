// Which task(s) and container a command goes to: a named task of the service, every running
// task, or by default the most recently started one; the container the caller named (if ECS
// Exec may reach it), else the service's first essential container.

import { DescribeTasksCommand, ECSClient, Task } from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { currentTaskDefinition, operableContainers, taskIdOf } from '../shared/ecs-lookup';
import { describeServiceTasks } from '../services/service-status';
import { requireTaskInCluster, TaskRef } from '../shared/validation';

export interface ExecTarget {
  readonly cluster: string;
  readonly taskArn: string;
  readonly taskId: string;
  readonly container: string;
  /** Part of the session's KMS encryption context and of session-manager-plugin's Target. */
  readonly runtimeId: string;
  /** Why ECS Exec cannot reach this container, if it cannot. */
  readonly notReady?: string;
}

export interface Selection {
  readonly task?: TaskRef;
  readonly allTasks?: boolean;
  readonly container?: string;
}

export async function selectTargets(
  ecs: ECSClient,
  target: ServiceTarget,
  selection: Selection,
  now: number,
): Promise<ExecTarget[]> {
  const container = await chooseContainer(ecs, target, selection.container, now);
  let tasks: Task[];
  if (selection.task) {
    const id = requireTaskInCluster(selection.task, target.cluster);
    const out = await ecs.send(new DescribeTasksCommand({ cluster: target.cluster, tasks: [id] }));
    const task = out.tasks?.[0];
    if (!task)
      throw new NotFoundError(
        `task ${id} was not found in cluster ${target.cluster} (ECS keeps stopped tasks for about an hour)`,
      );
    if (task.group !== `service:${target.service}`) {
      throw new ValidationError('task', `${id} is not a task of service ${target.name}`);
    }
    if (task.lastStatus !== 'RUNNING')
      throw new ConflictError(`task ${id} is ${task.lastStatus}, not RUNNING`);
    tasks = [task];
  } else {
    const running = (await describeServiceTasks(ecs, target, 'RUNNING')).filter(
      (t) => t.lastStatus === 'RUNNING',
    );
    if (running.length === 0) throw new ConflictError(`service ${target.name} has no running task`);
    running.sort((a, b) => (b.startedAt?.getTime() ?? 0) - (a.startedAt?.getTime() ?? 0));
    tasks = selection.allTasks ? running : [running[0]!];
  }
  return tasks.map((task) => toTarget(target, task, container));
}

async function chooseContainer(
  ecs: ECSClient,
  target: ServiceTarget,
  asked: string | undefined,
  now: number,
): Promise<string> {
  const containers = operableContainers(await currentTaskDefinition(ecs, target, now), target);
  const names = containers.map((c) => c.name ?? '');
  if (asked !== undefined) {
    if (!names.includes(asked)) {
      throw new ValidationError(
        'container',
        `'${asked}' is not a container ecs-sidekick may reach in ${target.name} (containers: ${names.join(', ')})`,
      );
    }
    return asked;
  }
  const first = containers.find((c) => c.essential !== false) ?? containers[0];
  if (!first?.name)
    throw new ValidationError('container', `service ${target.name} has no container ecs-sidekick may reach`);
  return first.name;
}

function toTarget(target: ServiceTarget, task: Task, container: string): ExecTarget {
  const taskId = taskIdOf(task.taskArn);
  const c = task.containers?.find((x) => x.name === container);
  const agent = c?.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent');
  const notReady = !task.enableExecuteCommand
    ? 'ECS Exec was not enabled when this task started (enable it on the service and redeploy; see exec-check)'
    : !c
      ? `the task has no container ${container}`
      : agent?.lastStatus !== 'RUNNING'
        ? `the ECS Exec agent in ${container} is ${agent?.lastStatus ?? 'not running'} (see exec-check)`
        : undefined;
  return {
    cluster: target.cluster,
    taskArn: task.taskArn ?? '',
    taskId,
    container,
    runtimeId: c?.runtimeId ?? '',
    ...(notReady ? { notReady } : {}),
  };
}
