// Keeps operations honest when their sidekick task cannot: a task that stopped without
// finishing its operation, one past its time limit (stopped here), one that never started.
// GET /operations/{id} reconciles the operation it returns; a schedule reconciles them all.

import { DescribeTasksCommand, ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { releaseLease, StateTable } from './lease';
import { getOperation, Operation, TERMINAL, unfinishedOperations, updateOperation } from './operations';
import { SIDEKICK_CONTAINER } from './jobs';

export interface ReconcileDeps {
  readonly ecs: ECSClient;
  readonly state: StateTable;
  readonly now: () => number;
}

/** A task that RunTask accepted but ECS has not reported for this long is given up on. */
const NEVER_STARTED_MS = 10 * 60_000;

export async function reconcileOperation(
  deps: ReconcileDeps,
  op: Operation,
  cluster: string,
): Promise<Operation> {
  if (TERMINAL.includes(op.status) || op.kind === 'restart') return op;
  const now = deps.now();
  const failure = await whyFailed(deps, op, cluster, now);
  if (!failure) return op;
  if (await updateOperation(deps.state, op.id, { status: 'FAILED', error: failure }, now)) {
    if (op.lease && !op.lease.keep) await releaseLease(deps.state, op.lease);
  }
  return getOperation(deps.state, op.id);
}

async function whyFailed(
  deps: ReconcileDeps,
  op: Operation,
  cluster: string,
  now: number,
): Promise<string | undefined> {
  if (!op.taskArn) {
    return now - Date.parse(op.createdAt) > NEVER_STARTED_MS
      ? 'the sidekick task was never started'
      : undefined;
  }
  if (now > op.deadline) {
    await deps.ecs.send(
      new StopTaskCommand({
        cluster,
        task: op.taskArn,
        reason: `ecs-sidekick: ${op.kind} ${op.id} passed its time limit`,
      }),
    );
    return `passed its time limit (${new Date(op.deadline).toISOString()}); the sidekick task was stopped`;
  }
  const out = await deps.ecs.send(new DescribeTasksCommand({ cluster, tasks: [op.taskArn] }));
  const task = out.tasks?.[0];
  if (!task) {
    return now - Date.parse(op.updatedAt) > NEVER_STARTED_MS
      ? 'the sidekick task is gone and never reported back'
      : undefined;
  }
  if (task.lastStatus !== 'STOPPED') return undefined;
  const container = task.containers?.find((c) => c.name === SIDEKICK_CONTAINER);
  const exit = container?.exitCode !== undefined ? `exit code ${container.exitCode}` : 'no exit code';
  const reason = [task.stoppedReason, container?.reason].filter(Boolean).join('; ');
  return `the sidekick task stopped before finishing (${exit}${reason ? `: ${reason}` : ''})`;
}

/** Reconciles every unfinished operation; returns how many it closed. */
export async function reconcileAll(
  deps: ReconcileDeps,
  clusterOf: (service: string) => string | undefined,
): Promise<{ checked: number; failed: number }> {
  const open = await unfinishedOperations(deps.state);
  let failed = 0;
  for (const op of open) {
    const cluster = clusterOf(op.service);
    if (!cluster) continue;
    const after = await reconcileOperation(deps, op, cluster);
    if (after.status === 'FAILED') failed++;
  }
  return { checked: open.length, failed };
}
