// Task history: ECS forgets a stopped task about an hour after it stopped, so an EventBridge
// rule sends every "ECS Task State Change" to STOPPED of a configured service here, and
// diagnose reads them back when DescribeTasks no longer can. One item per stopped task,
// keyed by service and stop time, expiring after the configured retention.

import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Task } from '@aws-sdk/client-ecs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod/v3';
import { taskIdOf } from '../shared/ecs-lookup';
import { Targets } from '../shared/targets';
import { RouteHandler } from '../shared/dispatch';
import { parseInput } from '../shared/validation';

export interface TaskHistory {
  readonly ddb: DynamoDBClient;
  readonly table: string;
  readonly retentionDays: number;
}

/** The part of an ECS task state change event's detail (a task, times as ISO strings) kept. */
export const TaskStopDetailSchema = z
  .object({
    taskArn: z.string().max(2048),
    clusterArn: z.string().max(2048),
    group: z.string().max(255).optional(),
    lastStatus: z.string().max(32),
    taskDefinitionArn: z.string().max(2048).optional(),
    stopCode: z.string().max(64).optional(),
    stoppedReason: z.string().max(4096).optional(),
    createdAt: z.string().max(64).optional(),
    pullStartedAt: z.string().max(64).optional(),
    pullStoppedAt: z.string().max(64).optional(),
    startedAt: z.string().max(64).optional(),
    stoppingAt: z.string().max(64).optional(),
    stoppedAt: z.string().max(64).optional(),
    containers: z
      .array(
        z.object({
          name: z.string().max(255),
          lastStatus: z.string().max(32).optional(),
          exitCode: z.number().int().optional(),
          reason: z.string().max(4096).optional(),
        }),
      )
      .max(20)
      .default([]),
  })
  .passthrough();
export type TaskStopDetail = z.infer<typeof TaskStopDetailSchema>;

const TIMES = [
  'createdAt',
  'pullStartedAt',
  'pullStoppedAt',
  'startedAt',
  'stoppingAt',
  'stoppedAt',
] as const;

/** Records a stopped task of a configured service; other tasks and states are ignored. */
export async function recordTaskStop(
  history: TaskHistory,
  targets: Targets,
  detail: TaskStopDetail,
  now: number,
): Promise<{ recorded: boolean; service?: string }> {
  const cluster = detail.clusterArn.split('/').pop();
  const target = targets.list().find((t) => t.cluster === cluster && detail.group === `service:${t.service}`);
  if (!target || detail.lastStatus !== 'STOPPED') return { recorded: false };
  const stoppedAt = detail.stoppedAt ?? detail.stoppingAt ?? new Date(now).toISOString();
  const item = {
    service: target.name,
    sk: `${stoppedAt}#${taskIdOf(detail.taskArn)}`,
    taskArn: detail.taskArn,
    group: detail.group,
    lastStatus: detail.lastStatus,
    taskDefinitionArn: detail.taskDefinitionArn,
    stopCode: detail.stopCode,
    stoppedReason: detail.stoppedReason,
    ...Object.fromEntries(TIMES.map((k) => [k, detail[k]])),
    containers: detail.containers.map((c) => ({
      name: c.name,
      lastStatus: c.lastStatus,
      exitCode: c.exitCode,
      reason: c.reason,
    })),
    ttl: Math.ceil(now / 1000) + history.retentionDays * 86_400,
  };
  await history.ddb.send(
    new PutItemCommand({ TableName: history.table, Item: marshall(item, { removeUndefinedValues: true }) }),
  );
  return { recorded: true, service: target.name };
}

/** The service's most recently stopped tasks, newest first, as DescribeTasks would give them. */
export async function recentStops(history: TaskHistory, service: string, limit: number): Promise<Task[]> {
  const out = await history.ddb.send(
    new QueryCommand({
      TableName: history.table,
      KeyConditionExpression: 'service = :s',
      ExpressionAttributeValues: marshall({ ':s': service }),
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((raw) => {
    const item = unmarshall(raw) as Record<string, unknown> & { containers?: Task['containers'] };
    const task: Record<string, unknown> = {
      taskArn: item.taskArn,
      group: item.group,
      lastStatus: item.lastStatus,
      desiredStatus: 'STOPPED',
      taskDefinitionArn: item.taskDefinitionArn,
      stopCode: item.stopCode,
      stoppedReason: item.stoppedReason,
      containers: item.containers ?? [],
    };
    for (const k of TIMES) if (typeof item[k] === 'string') task[k] = new Date(item[k]);
    return task as Task;
  });
}

/** The EventBridge rule's target: `{route: 'recordTaskStop', input: <the event's detail>}`. */
export const recordTaskStopRoute: RouteHandler<{
  readonly history?: TaskHistory;
  readonly targets: Targets;
  readonly now: () => number;
}> = async (input, deps) => {
  if (!deps.history) return { recorded: false, reason: 'no task history table is configured' };
  return recordTaskStop(deps.history, deps.targets, parseInput(TaskStopDetailSchema, input), deps.now());
};

/** The history table from the Lambda's environment, when the stack made one. */
export function taskHistoryFromEnvironment(ddb: DynamoDBClient, env = process.env): TaskHistory | undefined {
  const table = env.SIDEKICK_HISTORY_TABLE;
  return table ? { ddb, table, retentionDays: Number(env.SIDEKICK_HISTORY_DAYS ?? '30') } : undefined;
}

/** `{history}` when there is one, for spreading into deps. */
export function withHistory(history: TaskHistory | undefined): { history?: TaskHistory } {
  return history ? { history } : {};
}
