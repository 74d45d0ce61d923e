// Reads a configured service and its task definition from ECS, and works out where each
// container's awslogs output lands. Task definition revisions never change, so they are
// cached for the life of the Lambda container; a service's current revision for a minute.

import {
  ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  Service,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { NotFoundError, UpstreamError } from './errors';

export async function describeService(ecs: ECSClient, target: ServiceTarget): Promise<Service> {
  const out = await ecs.send(
    new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }),
  );
  const service = out.services?.find((s) => s.serviceName === target.service);
  if (!service || service.status === 'INACTIVE') {
    const reason = out.failures?.[0]?.reason ?? 'MISSING';
    throw new NotFoundError(
      `ECS service '${target.service}' was not found in cluster '${target.cluster}' (${reason}); check the deployed config`,
    );
  }
  return service;
}

const taskDefinitions = new Map<string, TaskDefinition>();
const TASK_DEFINITION_CACHE_SIZE = 200;

export async function getTaskDefinition(ecs: ECSClient, arn: string): Promise<TaskDefinition> {
  const cached = taskDefinitions.get(arn);
  if (cached) return cached;
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
  if (!out.taskDefinition) throw new UpstreamError(`ECS returned no task definition for ${arn}`);
  if (taskDefinitions.size >= TASK_DEFINITION_CACHE_SIZE) taskDefinitions.clear();
  taskDefinitions.set(arn, out.taskDefinition);
  return out.taskDefinition;
}

const currentRevision = new Map<string, { arn: string; until: number }>();
const CURRENT_REVISION_TTL_MS = 60_000;

/** The task definition the service deploys now (cached for a minute). */
export async function currentTaskDefinition(
  ecs: ECSClient,
  target: ServiceTarget,
  now: number,
): Promise<TaskDefinition> {
  const key = `${target.cluster}/${target.service}`;
  const cached = currentRevision.get(key);
  if (cached && cached.until > now) return getTaskDefinition(ecs, cached.arn);
  const service = await describeService(ecs, target);
  if (!service.taskDefinition)
    throw new UpstreamError(`ECS service '${target.service}' has no task definition`);
  currentRevision.set(key, { arn: service.taskDefinition, until: now + CURRENT_REVISION_TTL_MS });
  return getTaskDefinition(ecs, service.taskDefinition);
}

/** Forget cached lookups (tests, and the sandbox after it re-seeds). */
export function clearEcsLookupCache(): void {
  taskDefinitions.clear();
  currentRevision.clear();
}

export type ContainerLogs =
  | { readonly container: string; readonly logGroup: string; readonly streamPrefix: string }
  | { readonly container: string; readonly unavailable: string };

/** The containers ecs-sidekick may operate: the configured list, else all of the task definition. */
export function operableContainers(
  taskDefinition: TaskDefinition,
  target: ServiceTarget,
): ContainerDefinition[] {
  const all = taskDefinition.containerDefinitions ?? [];
  return target.containers ? all.filter((c) => c.name && target.containers!.includes(c.name)) : all;
}

/**
 * Where each operable container's logs are. awslogs streams are named
 * `<awslogs-stream-prefix>/<container>/<task id>`; a container without a prefix, with another
 * log driver, or writing to a log group outside the configured ones cannot be read.
 */
export function containerLogs(taskDefinition: TaskDefinition, target: ServiceTarget): ContainerLogs[] {
  return operableContainers(taskDefinition, target).map((c): ContainerLogs => {
    const container = c.name ?? '(unnamed)';
    const config = c.logConfiguration;
    if (!config || config.logDriver !== 'awslogs') {
      return { container, unavailable: `log driver is ${config?.logDriver ?? 'not set'}, not awslogs` };
    }
    const logGroup = config.options?.['awslogs-group'];
    const streamPrefix = config.options?.['awslogs-stream-prefix'];
    if (!logGroup) return { container, unavailable: 'awslogs-group is not set' };
    if (!streamPrefix) {
      return {
        container,
        unavailable: 'awslogs-stream-prefix is not set, so streams cannot be tied to tasks',
      };
    }
    if (target.logGroups && !target.logGroups.includes(logGroup)) {
      return { container, unavailable: `log group ${logGroup} is not in the configured logGroups` };
    }
    return { container, logGroup, streamPrefix };
  });
}

export function streamName(prefix: string, container: string, taskId: string): string {
  return `${prefix}/${container}/${taskId}`;
}

/** Splits `<prefix>/<container>/<task id>` from the right, since prefixes may contain '/'. */
export function parseStreamName(stream: string): { container: string; task: string } {
  const parts = stream.split('/');
  return { task: parts.at(-1) ?? stream, container: parts.at(-2) ?? '' };
}

export function taskIdOf(taskArn: string | undefined): string {
  return taskArn ? taskArn.slice(taskArn.lastIndexOf('/') + 1) : '';
}
