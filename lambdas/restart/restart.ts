// Restarts of a service, as operations:
//   - rolling: a new deployment of the same task definition (UpdateService forceNewDeployment);
//     ECS replaces the tasks within the service's deployment limits, the operation watches
//     the deployment's rollout state (and the circuit breaker's rollback).
//   - stop-tasks: the tasks running at the start are stopped one at a time; the next one only
//     when the replacement of the last is running and healthy, and never when stopping it
//     would leave fewer healthy tasks than the service's minimum healthy percent allows.
// advanceRestart takes one step and is safe to call from several places at once (the
// driver, GET /operations, the schedule): a step is claimed with a conditional write first.

import { randomBytes } from 'node:crypto';
import { ECSClient, Service, StopTaskCommand, Task } from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { DiagnoseDeps, diagnoseService } from '../diagnose/diagnose';
import { StoppedTaskReport } from '../diagnose/contract';
import { isFailure } from '../diagnose/causes';
import { describeServiceTasks } from '../services/service-status';
import { describeService, getTaskDefinition, taskIdOf } from '../shared/ecs-lookup';
import { CheckFailedError } from '../shared/errors';
import { Targets } from '../shared/targets';
import { StateTable } from '../volumes/lease';
import {
  claimClientToken,
  createOperation,
  getOperation,
  Operation,
  OperationView,
  operationView,
  requestHash,
  TERMINAL,
  updateOperation,
} from '../volumes/operations';
import { startRollingRestart } from '../volumes/reload';
import { RestartMode, StartRestartRequest } from './contract';

export interface RestartProgress {
  readonly mode: RestartMode;
  /** Claimed before each action, so two drivers never take the same step. */
  readonly step: number;
  readonly deploymentId?: string;
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  readonly desiredCount: number;
  readonly runningCount?: number;
  /** stop-tasks: fewest healthy tasks allowed while stopping (the minimum healthy percent). */
  readonly minimumHealthy?: number;
  readonly remaining: readonly string[];
  readonly stopped: readonly string[];
  /** stop-tasks: the task stopped last, whose replacement is awaited. */
  readonly waitingFor?: string;
  /** Tasks of the service that stopped while it ran, with what the diagnosis says of them. */
  readonly failedTasks?: readonly FailedTask[];
}

export type FailedTask = Pick<
  StoppedTaskReport,
  'id' | 'stopCode' | 'stoppedReason' | 'cause' | 'hint' | 'nextStep' | 'containers'
>;

export interface RestartDeps {
  readonly ecs: ECSClient;
  readonly state: StateTable;
  readonly targets: Targets;
  readonly now: () => number;
  readonly diagnose: DiagnoseDeps;
  /** Starts the driver of an operation in the background (an asynchronous invocation). */
  readonly kick: (operationId: string) => Promise<void>;
}

export async function startRestart(
  deps: RestartDeps,
  request: StartRestartRequest,
  caller: string,
  execution?: string,
): Promise<OperationView> {
  const target = deps.targets.get(request.service);
  const now = deps.now();
  const operationId = `op-${randomBytes(12).toString('hex')}`;
  if (request.clientToken) {
    const hash = requestHash({ ...request, clientToken: undefined, kind: 'restart' });
    const { existing } = await claimClientToken(deps.state, request.clientToken, hash, operationId, now);
    if (existing) return operationView(await getOperation(deps.state, existing));
  }
  const restart =
    request.mode === 'rolling' ? await beginRolling(deps, target) : await planStopTasks(deps, target);
  const op: Operation = {
    id: operationId,
    kind: 'restart',
    service: target.name,
    status: 'RUNNING',
    progress: { bytes: 0, files: 0 },
    caller,
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    deadline: now + request.timeoutSeconds * 1000,
    restart,
    ...(execution ? { execution } : {}),
  };
  await createOperation(deps.state, op);
  await deps.kick(operationId);
  return operationView(op);
}

async function beginRolling(deps: RestartDeps, target: ServiceTarget): Promise<RestartProgress> {
  const started = await startRollingRestart(deps.ecs, target);
  const service = await describeService(deps.ecs, target);
  return {
    mode: 'rolling',
    step: 0,
    ...(started.deploymentId ? { deploymentId: started.deploymentId } : {}),
    rolloutState: 'IN_PROGRESS',
    desiredCount: service.desiredCount ?? 0,
    remaining: [],
    stopped: [],
  };
}

/** The tasks to stop, and a refusal when stopping even one would go below the floor. */
async function planStopTasks(deps: RestartDeps, target: ServiceTarget): Promise<RestartProgress> {
  const [service, tasks] = await Promise.all([
    describeService(deps.ecs, target),
    describeServiceTasks(deps.ecs, target, 'RUNNING'),
  ]);
  const desired = service.desiredCount ?? 0;
  const minimumHealthy = minimumHealthyTasks(service);
  const healthy = await healthyTasks(deps.ecs, tasks);
  if (healthy.length - 1 < minimumHealthy) {
    throw new CheckFailedError(
      `stopping a task of ${target.name} would leave ${healthy.length - 1} healthy task(s), below its minimum healthy percent (${minimumPercent(service)}% of ${desired} = ${minimumHealthy}); use mode 'rolling', which starts replacements first`,
      { healthy: healthy.length, desiredCount: desired, minimumHealthy },
    );
  }
  return {
    mode: 'stop-tasks',
    step: 0,
    desiredCount: desired,
    minimumHealthy,
    remaining: tasks.map((t) => taskIdOf(t.taskArn)),
    stopped: [],
  };
}

/**
 * One look at the service, and at most one action. Returns the operation as it now stands.
 */
export async function advanceRestart(deps: RestartDeps, op: Operation): Promise<Operation> {
  if (TERMINAL.includes(op.status) || op.kind !== 'restart' || !op.restart) return op;
  const target = deps.targets.get(op.service);
  const now = deps.now();
  const restart = op.restart;
  const [service, running] = await Promise.all([
    describeService(deps.ecs, target),
    describeServiceTasks(deps.ecs, target, 'RUNNING'),
  ]);
  const failedTasks = await failedSince(deps, target, Date.parse(op.createdAt));
  const observed: RestartProgress = {
    ...restart,
    desiredCount: service.desiredCount ?? restart.desiredCount,
    runningCount: service.runningCount ?? 0,
    ...(failedTasks.length ? { failedTasks } : {}),
  };

  if (restart.mode === 'rolling') {
    const outcome = rollingOutcome(service, restart.deploymentId);
    const progress = { ...observed, ...outcome.rollout };
    if (outcome.status !== 'RUNNING' || now > op.deadline) {
      return finish(deps, op, progress, outcome.status === 'RUNNING' ? timeoutError(op) : outcome.error);
    }
    await updateOperation(deps.state, op.id, { restart: progress }, now);
    return { ...op, restart: progress };
  }

  const healthy = await healthyTasks(deps.ecs, running);
  const healthyIds = new Set(healthy.map((t) => taskIdOf(t.taskArn)));
  // A replacement is in when as many healthy tasks run as are desired, the stopped one aside.
  const replaced =
    !restart.waitingFor ||
    [...healthyIds].filter((id) => id !== restart.waitingFor).length >= observed.desiredCount;
  if (failedTasks.some((t) => !restart.stopped.includes(t.id))) {
    return finish(deps, op, observed, 'a replacement task stopped; see failedTasks');
  }
  if (!replaced) {
    if (now > op.deadline) return finish(deps, op, observed, timeoutError(op));
    await updateOperation(deps.state, op.id, { restart: observed }, now);
    return { ...op, restart: observed };
  }
  // Tasks of the plan that have gone away meanwhile need no stopping.
  const runningIds = new Set(running.map((t) => taskIdOf(t.taskArn)));
  const next = restart.remaining.find((id) => runningIds.has(id));
  if (!next) return finish(deps, op, { ...observed, remaining: [] }, undefined);
  if (now > op.deadline) return finish(deps, op, observed, timeoutError(op));
  if (healthy.length - 1 < (restart.minimumHealthy ?? 0)) {
    // Another task went away meanwhile: wait for the service to recover before stopping more.
    await updateOperation(deps.state, op.id, { restart: observed }, now);
    return { ...op, restart: observed };
  }
  const progress: RestartProgress = {
    ...observed,
    step: restart.step + 1,
    remaining: restart.remaining.filter((id) => id !== next),
    stopped: [...restart.stopped, next],
    waitingFor: next,
  };
  if (!(await updateOperation(deps.state, op.id, { restart: progress }, now, restart.step))) {
    return getOperation(deps.state, op.id);
  }
  await deps.ecs.send(
    new StopTaskCommand({
      cluster: target.cluster,
      task: next,
      reason: `ecs-sidekick restart ${op.id} by ${op.caller}`,
    }),
  );
  return { ...op, restart: progress };
}

async function finish(
  deps: RestartDeps,
  op: Operation,
  restart: RestartProgress,
  error: string | undefined,
): Promise<Operation> {
  const { waitingFor: _w, ...final } = restart;
  const fields = error
    ? { status: 'FAILED' as const, error, restart: final }
    : {
        status: 'SUCCEEDED' as const,
        restart: final,
        result: {
          mode: final.mode,
          ...(final.deploymentId ? { deploymentId: final.deploymentId } : {}),
          stoppedTasks: final.stopped.length,
          runningCount: final.runningCount ?? 0,
          desiredCount: final.desiredCount,
        },
      };
  await updateOperation(deps.state, op.id, fields, deps.now());
  return getOperation(deps.state, op.id);
}

function timeoutError(op: Operation): string {
  return `the service did not become steady before ${new Date(op.deadline).toISOString()}; ECS may still be deploying (see failedTasks and GET /services/${op.service}/diagnose)`;
}

interface RollingOutcome {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  readonly error?: string;
  readonly rollout: Pick<RestartProgress, 'rolloutState' | 'rolloutStateReason'>;
}

/** Where the restart's deployment stands; gone means the circuit breaker rolled it back. */
export function rollingOutcome(service: Service, deploymentId: string | undefined): RollingOutcome {
  const deployments = service.deployments ?? [];
  const mine = deploymentId
    ? deployments.find((d) => d.id === deploymentId)
    : deployments.find((d) => d.status === 'PRIMARY');
  if (!mine) {
    return {
      status: 'FAILED',
      error: `deployment ${deploymentId} is gone: it was rolled back or replaced by another deployment`,
      rollout: { rolloutState: 'FAILED' },
    };
  }
  const rollout = {
    ...(mine.rolloutState ? { rolloutState: mine.rolloutState } : {}),
    ...(mine.rolloutStateReason ? { rolloutStateReason: mine.rolloutStateReason } : {}),
  };
  if (mine.rolloutState === 'FAILED') {
    return {
      status: 'FAILED',
      error: `deployment failed: ${mine.rolloutStateReason ?? 'no reason given'}`,
      rollout,
    };
  }
  if (mine.status !== 'PRIMARY') {
    return {
      status: 'FAILED',
      error: `deployment ${mine.id} is no longer the primary one (${mine.status})`,
      rollout,
    };
  }
  const steady =
    mine.rolloutState === 'COMPLETED' &&
    deployments.length === 1 &&
    (mine.runningCount ?? 0) >= (mine.desiredCount ?? 0);
  return { status: steady ? 'SUCCEEDED' : 'RUNNING', rollout };
}

/** ECS defaults to 100% for services without a setting. */
function minimumPercent(service: Service): number {
  return service.deploymentConfiguration?.minimumHealthyPercent ?? 100;
}

export function minimumHealthyTasks(service: Service): number {
  return Math.ceil(((service.desiredCount ?? 0) * minimumPercent(service)) / 100);
}

/** Running tasks that are healthy, or that have no health check to pass. */
async function healthyTasks(ecs: ECSClient, tasks: readonly Task[]): Promise<Task[]> {
  const checked = new Map<string, boolean>();
  for (const arn of new Set(tasks.map((t) => t.taskDefinitionArn ?? ''))) {
    const definition = arn ? await getTaskDefinition(ecs, arn) : undefined;
    checked.set(
      arn,
      (definition?.containerDefinitions ?? []).some((c) => c.healthCheck),
    );
  }
  return tasks.filter(
    (t) =>
      t.lastStatus === 'RUNNING' &&
      t.desiredStatus === 'RUNNING' &&
      (t.healthStatus === 'HEALTHY' ||
        (!checked.get(t.taskDefinitionArn ?? '') && t.healthStatus !== 'UNHEALTHY')),
  );
}

/**
 * Tasks of the service that failed since the restart began (not those a deployment or a
 * user stopped), diagnosed. The diagnosis (log lines included) runs only when there are some.
 */
export async function failedSince(
  deps: Pick<RestartDeps, 'ecs' | 'diagnose'>,
  target: ServiceTarget,
  since: number,
): Promise<FailedTask[]> {
  const stopped = await describeServiceTasks(deps.ecs, target, 'STOPPED', 100);
  const recent = stopped.filter(
    (t) => t.stopCode !== 'UserInitiated' && (t.stoppedAt ?? t.createdAt ?? new Date(0)).getTime() >= since,
  );
  if (recent.length === 0) return [];
  const diagnosis = await diagnoseService(deps.diagnose, target, {
    service: target.name,
    tasks: 5,
    lines: 10,
  });
  return diagnosis.stoppedTasks
    .filter((t) => isFailure(t.cause) && Date.parse(t.stoppedAt ?? t.createdAt ?? '') >= since)
    .map((t) => ({
      id: t.id,
      ...(t.stopCode ? { stopCode: t.stopCode } : {}),
      ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
      cause: t.cause,
      hint: t.hint,
      nextStep: t.nextStep,
      containers: t.containers,
    }));
}
