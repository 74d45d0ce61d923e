// Service status from ECS: counts and deployments of every configured service, and the tasks
// and recent events of one.

import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  Service,
  Task,
} from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { chunk, isoField } from '../shared/collections';
import { describeService, taskIdOf } from '../shared/ecs-lookup';
import { DeploymentSummary, ServiceDetail, ServiceEvent, ServiceSummary, TaskStatus } from './contract';

/** DescribeServices takes at most 10 services per call; DescribeTasks 100 tasks. */
const DESCRIBE_SERVICES_BATCH = 10;
const DESCRIBE_TASKS_BATCH = 100;
/** Enough for any service a person reads in a terminal; the counts say when there are more. */
const MAX_TASKS = 300;
const RECENT_EVENTS = 20;

export async function listServices(
  ecs: ECSClient,
  targets: readonly ServiceTarget[],
): Promise<ServiceSummary[]> {
  const byCluster = new Map<string, ServiceTarget[]>();
  for (const t of targets) byCluster.set(t.cluster, [...(byCluster.get(t.cluster) ?? []), t]);
  const batches = [...byCluster].flatMap(([cluster, ts]) =>
    chunk(ts, DESCRIBE_SERVICES_BATCH).map((batch) => ({ cluster, batch })),
  );
  const described = await Promise.all(
    batches.map(({ cluster, batch }) =>
      ecs.send(new DescribeServicesCommand({ cluster, services: batch.map((t) => t.service) })),
    ),
  );
  const found = new Map<string, Service>();
  described.forEach((out, i) => {
    for (const s of out.services ?? []) found.set(`${batches[i]!.cluster}/${s.serviceName}`, s);
  });
  return targets.map((t) => {
    const service = found.get(`${t.cluster}/${t.service}`);
    return service && service.status !== 'INACTIVE' ? summarize(t, service) : missing(t);
  });
}

export async function getServiceDetail(ecs: ECSClient, target: ServiceTarget): Promise<ServiceDetail> {
  const service = await describeService(ecs, target);
  const tasks = await describeServiceTasks(ecs, target, 'RUNNING');
  return {
    ...summarize(target, service),
    tasks: tasks.map(taskStatus),
    events: (service.events ?? []).slice(0, RECENT_EVENTS).map(serviceEvent),
  };
}

/** Tasks of the service with the given desired status (RUNNING includes PENDING ones). */
export async function describeServiceTasks(
  ecs: ECSClient,
  target: ServiceTarget,
  desiredStatus: 'RUNNING' | 'STOPPED',
  max = MAX_TASKS,
): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({
        cluster: target.cluster,
        serviceName: target.service,
        desiredStatus,
        nextToken,
      }),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken && arns.length < max);
  const described = await Promise.all(
    chunk(arns.slice(0, max), DESCRIBE_TASKS_BATCH).map((batch) =>
      ecs.send(new DescribeTasksCommand({ cluster: target.cluster, tasks: batch })),
    ),
  );
  return described.flatMap((out) => out.tasks ?? []);
}

export function summarize(target: ServiceTarget, s: Service): ServiceSummary {
  return {
    name: target.name,
    cluster: target.cluster,
    service: target.service,
    status: s.status ?? 'UNKNOWN',
    desiredCount: s.desiredCount ?? 0,
    runningCount: s.runningCount ?? 0,
    pendingCount: s.pendingCount ?? 0,
    ...(s.taskDefinition ? { taskDefinition: s.taskDefinition } : {}),
    execEnabled: s.enableExecuteCommand ?? false,
    deployments: (s.deployments ?? []).map((d): DeploymentSummary => ({
      id: d.id ?? '',
      status: d.status ?? 'UNKNOWN',
      ...(d.rolloutState ? { rolloutState: d.rolloutState } : {}),
      ...(d.rolloutStateReason ? { rolloutStateReason: d.rolloutStateReason } : {}),
      taskDefinition: d.taskDefinition ?? '',
      desiredCount: d.desiredCount ?? 0,
      runningCount: d.runningCount ?? 0,
      pendingCount: d.pendingCount ?? 0,
      failedTasks: d.failedTasks ?? 0,
      ...isoField('createdAt', d.createdAt),
      ...isoField('updatedAt', d.updatedAt),
    })),
  };
}

function missing(target: ServiceTarget): ServiceSummary {
  return {
    name: target.name,
    cluster: target.cluster,
    service: target.service,
    status: 'MISSING',
    desiredCount: 0,
    runningCount: 0,
    pendingCount: 0,
    execEnabled: false,
    deployments: [],
  };
}

export function taskStatus(t: Task): TaskStatus {
  return {
    id: taskIdOf(t.taskArn),
    status: t.lastStatus ?? 'UNKNOWN',
    desiredStatus: t.desiredStatus ?? 'UNKNOWN',
    ...(t.healthStatus ? { health: t.healthStatus } : {}),
    taskDefinition: t.taskDefinitionArn?.split('/').pop() ?? '',
    ...isoField('createdAt', t.createdAt),
    ...isoField('startedAt', t.startedAt),
    execEnabled: t.enableExecuteCommand ?? false,
    containers: (t.containers ?? []).map((c) => {
      const agent = c.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent');
      return {
        name: c.name ?? '',
        status: c.lastStatus ?? 'UNKNOWN',
        ...(c.healthStatus ? { health: c.healthStatus } : {}),
        ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
        ...(c.reason ? { reason: c.reason } : {}),
        ...(agent?.lastStatus ? { execAgent: agent.lastStatus } : {}),
      };
    }),
  };
}

export function serviceEvent(e: { createdAt?: Date; message?: string }): ServiceEvent {
  return { ...isoField('at', e.createdAt), message: e.message ?? '' };
}
