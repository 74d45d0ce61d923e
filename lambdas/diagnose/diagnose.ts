// "Why did my task stop, or never start?" Collects the recently stopped tasks of a service
// with their stop codes, exit codes, the service events around them and each container's
// last log lines, classifies each stop (causes.ts), and adds service-level findings.

import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, Service, Task, TaskDefinition } from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { serviceEvent, describeServiceTasks } from '../services/service-status';
import { ServiceEvent } from '../services/contract';
import { isoField } from '../shared/collections';
import {
  containerLogs,
  describeService,
  getTaskDefinition,
  streamName,
  taskIdOf,
} from '../shared/ecs-lookup';
import { RateLimiter } from '../shared/rate-limiter';
import { recentStops, TaskHistory } from './history';
import { Classification, classifyStoppedTask, isFailure, placementFailure } from './causes';
import {
  ContainerLogTail,
  DiagnoseQuery,
  Diagnosis,
  Finding,
  StoppedContainer,
  StoppedTaskReport,
} from './contract';

export interface DiagnoseDeps {
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  readonly getLimiter: RateLimiter;
  /** Stopped tasks recorded from ECS events, for those DescribeTasks has forgotten. */
  readonly history?: TaskHistory;
}

/** Events this long before a task's creation and after its stop are "around" it. */
const EVENT_WINDOW_MS = 2 * 60_000;
const EVENTS_PER_TASK = 10;
const RECENT_EVENTS = 10;
/** One log line is cut here so a diagnosis stays small enough for a Step Functions state. */
const MAX_LINE_CHARS = 2_000;

export async function diagnoseService(
  deps: DiagnoseDeps,
  target: ServiceTarget,
  query: DiagnoseQuery,
): Promise<Diagnosis> {
  const [service, described, remembered] = await Promise.all([
    describeService(deps.ecs, target),
    describeServiceTasks(deps.ecs, target, 'STOPPED', 100),
    deps.history ? recentStops(deps.history, target.name, query.tasks) : Promise.resolve([]),
  ]);
  const known = new Set(described.map((t) => t.taskArn));
  const fromHistory = new Set(remembered.filter((t) => !known.has(t.taskArn)).map((t) => t.taskArn));
  const stopped = [...described, ...remembered.filter((t) => fromHistory.has(t.taskArn))];
  const latest = stopped
    .sort((a, b) => time(b.stoppedAt ?? b.createdAt) - time(a.stoppedAt ?? a.createdAt))
    .slice(0, query.tasks);
  const reports = await Promise.all(
    latest.map(async (task) => ({
      ...(await reportStoppedTask(deps, target, service, task, query.lines)),
      ...(fromHistory.has(task.taskArn) ? { fromHistory: true } : {}),
    })),
  );
  const findings = serviceFindings(target, service, reports.length);
  const failure = reports.find((r) => isFailure(r.cause));
  const lead = failure
    ? { summary: `Task ${failure.id}: ${failure.hint}`, nextStep: failure.nextStep }
    : findings[0] && { summary: findings[0].message, nextStep: findings[0].nextStep };
  return {
    service: target.name,
    summary: lead?.summary ?? 'No failures found.',
    ...(lead ? { nextStep: lead.nextStep } : {}),
    stoppedTasks: reports,
    findings,
    recentEvents: (service.events ?? []).slice(0, RECENT_EVENTS).map(serviceEvent),
  };
}

async function reportStoppedTask(
  deps: DiagnoseDeps,
  target: ServiceTarget,
  service: Service,
  task: Task,
  lines: number,
): Promise<StoppedTaskReport> {
  const taskDefinition = task.taskDefinitionArn
    ? await getTaskDefinition(deps.ecs, task.taskDefinitionArn)
    : undefined;
  const essential = new Set(
    (taskDefinition?.containerDefinitions ?? [])
      .filter((c) => c.essential !== false)
      .map((c) => c.name ?? ''),
  );
  const classification: Classification = classifyStoppedTask(task, essential);
  const id = taskIdOf(task.taskArn);
  const containers = await Promise.all(
    (task.containers ?? []).map(async (c): Promise<StoppedContainer> => ({
      name: c.name ?? '',
      essential: essential.has(c.name ?? ''),
      ...(c.lastStatus ? { lastStatus: c.lastStatus } : {}),
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
      logs: await lastLogLines(
        deps,
        {
          target,
          taskDefinition,
          container: c.name ?? '',
          taskId: id,
          ran: c.exitCode !== undefined || !!task.startedAt,
        },
        lines,
      ),
    })),
  );
  return {
    id,
    taskDefinition: task.taskDefinitionArn?.split('/').pop() ?? '',
    ...(task.stopCode ? { stopCode: task.stopCode } : {}),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
    ...isoField('createdAt', task.createdAt),
    ...isoField('startedAt', task.startedAt),
    ...isoField('stoppedAt', task.stoppedAt),
    neverStarted: !task.startedAt || task.stopCode === 'TaskFailedToStart',
    ...classification,
    containers,
    events: eventsAround(service, task, id),
  };
}

interface ContainerRef {
  readonly target: ServiceTarget;
  readonly taskDefinition: TaskDefinition | undefined;
  readonly container: string;
  readonly taskId: string;
  /** The container's process ran (it has an exit code, or the task started). */
  readonly ran: boolean;
}

async function lastLogLines(deps: DiagnoseDeps, ref: ContainerRef, lines: number): Promise<ContainerLogTail> {
  const { target, taskDefinition, container, taskId } = ref;
  const where =
    taskDefinition && containerLogs(taskDefinition, target).find((c) => c.container === container);
  if (!where || 'unavailable' in where) {
    return {
      status: 'UNAVAILABLE',
      lines: [],
      note: where ? where.unavailable : 'container is not in the task definition',
    };
  }
  if (lines === 0) return { status: 'OK', lines: [] };
  const stream = streamName(where.streamPrefix, container, taskId);
  await deps.getLimiter.acquire();
  try {
    const out = await deps.logs.send(
      new GetLogEventsCommand({
        logGroupName: where.logGroup,
        logStreamName: stream,
        startFromHead: false,
        limit: lines,
      }),
    );
    const text = (out.events ?? []).map((e) => cut(e.message ?? ''));
    return text.length > 0
      ? { status: 'OK', lines: text }
      : { status: 'OK', lines: [], note: `log stream ${stream} exists but holds no lines` };
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    const missing = `no stream ${stream} in ${where.logGroup}`;
    return {
      status: 'NO_STREAM',
      lines: [],
      note: ref.ran
        ? `the container never wrote a log line (${missing})`
        : `the container never wrote a log line (${missing}): it stopped before its process ran, so the stopped reason is the evidence`,
    };
  }
}

function eventsAround(service: Service, task: Task, taskId: string): ServiceEvent[] {
  const from = time(task.createdAt) - EVENT_WINDOW_MS;
  const to = time(task.stoppedAt ?? new Date()) + EVENT_WINDOW_MS;
  return (service.events ?? [])
    .filter(
      (e) => (e.message ?? '').includes(taskId) || (time(e.createdAt) >= from && time(e.createdAt) <= to),
    )
    .slice(0, EVENTS_PER_TASK)
    .map(serviceEvent);
}

function serviceFindings(target: ServiceTarget, service: Service, stoppedCount: number): Finding[] {
  const findings: Finding[] = [];
  const placement = (service.events ?? [])
    .slice(0, RECENT_EVENTS)
    .find((e) => placementFailure(e.message ?? ''));
  if (placement) {
    findings.push({
      kind: 'NO_CAPACITY',
      message: `ECS could not place tasks: ${placement.message}`,
      nextStep:
        "Check free IPs in the service's subnets, the Fargate vCPU quota, and capacity provider settings; retry in more AZs.",
    });
  }
  const failed = (service.deployments ?? []).find((d) => d.rolloutState === 'FAILED');
  if (failed) {
    findings.push({
      kind: 'DEPLOYMENT_FAILED',
      message: `Deployment ${failed.id} failed: ${failed.rolloutStateReason ?? 'no reason given'}`,
      nextStep:
        'Fix the cause shown for its stopped tasks, then deploy again; with the circuit breaker on, ECS rolled back.',
    });
  }
  if (!service.enableExecuteCommand) {
    findings.push({
      kind: 'EXEC_DISABLED',
      message:
        'ECS Exec is not enabled on this service: exec, signals and interactive sessions cannot reach its tasks.',
      nextStep: `aws ecs update-service --cluster ${target.cluster} --service ${target.service} --enable-execute-command --force-new-deployment (the task role also needs the ssmmessages permissions).`,
    });
  }
  if (stoppedCount === 0) {
    findings.push({
      kind: 'NO_STOPPED_TASKS',
      message: 'No stopped tasks: ECS keeps stopped tasks for about an hour, and none stopped in that time.',
      nextStep:
        'If a task failed earlier, read the service events above, or the task state history once it is enabled.',
    });
  }
  return findings;
}

function time(date: Date | undefined): number {
  return date ? date.getTime() : 0;
}

function cut(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… [cut]` : line;
}
