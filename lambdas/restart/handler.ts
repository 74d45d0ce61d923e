// POST /services/{service}/restart, and the driver that carries a restart through: invoked
// asynchronously, it advances the operation every few seconds until it ends or the
// invocation's time is nearly up, then hands over to a fresh invocation of itself.

import { setTimeout as sleep } from 'node:timers/promises';
import { RouteHandler } from '../shared/dispatch';
import { parseInput, refuseRunbookFields } from '../shared/validation';
import { getOperation, operationView, TERMINAL, unfinishedOperations } from '../volumes/operations';
import { DriveRestartSchema, StartRestartSchema } from './contract';
import { advanceRestart, RestartDeps, startRestart } from './restart';

export interface RestartHandlerDeps extends RestartDeps {
  /** Pause between two looks at the service. */
  readonly restartPollMs: number;
}

/** Room left for the hand-over call before the invocation's own deadline. */
const HANDOVER_MARGIN_MS = 10_000;

export const startRestartRoute: RouteHandler<RestartHandlerDeps> = async (input, deps, ctx) => {
  const { execution, ...req } = parseInput(StartRestartSchema, input);
  refuseRunbookFields({ execution }, ctx.via);
  return startRestart(deps, req, ctx.caller, execution);
};

export const driveRestartRoute: RouteHandler<RestartHandlerDeps> = async (input, deps, ctx) => {
  const { operationId } = parseInput(DriveRestartSchema, input);
  let op = await getOperation(deps.state, operationId);
  while (!TERMINAL.includes(op.status)) {
    op = await advanceRestart(deps, op);
    if (TERMINAL.includes(op.status)) break;
    if (deps.now() + deps.restartPollMs + HANDOVER_MARGIN_MS > ctx.deadline) {
      await deps.kick(operationId);
      break;
    }
    await sleep(deps.restartPollMs);
    op = await getOperation(deps.state, operationId);
  }
  return operationView(op);
};

/** A restart nobody has advanced for this long lost its driver (a failed hand-over). */
const STALLED_MS = 2 * 60_000;

/** The schedule's part: restarts whose driver stopped are driven again. */
export async function resumeStalledRestarts(deps: RestartHandlerDeps): Promise<number> {
  const stalled = (await unfinishedOperations(deps.state)).filter(
    (op) => op.kind === 'restart' && deps.now() - Date.parse(op.updatedAt) > STALLED_MS,
  );
  for (const op of stalled) await deps.kick(op.id);
  return stalled.length;
}
