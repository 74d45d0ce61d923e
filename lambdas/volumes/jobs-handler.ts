// POST /services/{service}/backups, POST /services/{service}/backups/{backupId}/restore,
// GET /operations/{operationId}, and the scheduled reconciliation.

import { RouteHandler } from '../shared/dispatch';
import { parseInput, refuseRunbookFields } from '../shared/validation';
import { GetOperationSchema, StartBackupSchema, StartRestoreSchema } from './contract';
import { JobDeps, startJob } from './jobs';
import { getOperation, operationView } from './operations';
import { reconcileAll, reconcileOperation } from './reconcile';

export const startBackupRoute: RouteHandler<JobDeps> = async (input, deps, ctx) => {
  const req = parseInput(StartBackupSchema, input);
  refuseRunbookFields(req, ctx.via);
  return startJob(deps, { kind: 'backup', ...req }, ctx.caller);
};

export const startRestoreRoute: RouteHandler<JobDeps> = async (input, deps, ctx) => {
  const req = parseInput(StartRestoreSchema, input);
  refuseRunbookFields(req, ctx.via);
  return startJob(deps, { kind: 'restore', ...req }, ctx.caller);
};

export const getOperationRoute: RouteHandler<JobDeps> = async (input, deps) => {
  const req = parseInput(GetOperationSchema, input);
  const op = await getOperation(deps.state, req.operationId);
  const cluster = deps.targets.list().find((t) => t.name === op.service)?.cluster;
  return operationView(cluster ? await reconcileOperation(deps, op, cluster) : op);
};

export const reapOperationsRoute: RouteHandler<JobDeps> = async (_input, deps) =>
  reconcileAll(deps, (service) => deps.targets.list().find((t) => t.name === service)?.cluster);
