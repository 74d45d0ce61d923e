// GET /services/{service}/backups and /services/{service}/backups/{backupId}

import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { StorageDeps } from './backup';
import { getBackup, listBackups } from './catalog';
import { GetBackupSchema, ListBackupsSchema } from './contract';

export interface BackupsHandlerDeps {
  readonly targets: Targets;
  readonly storage: StorageDeps;
}

export const listBackupsRoute: RouteHandler<BackupsHandlerDeps> = async (input, deps) => {
  const req = parseInput(ListBackupsSchema, input);
  const target = deps.targets.get(req.service);
  const backups = await listBackups(deps.storage, target, {
    ...(req.volume ? { volume: req.volume } : {}),
    limit: req.limit ?? 20,
  });
  return { service: target.name, backups };
};

export const getBackupRoute: RouteHandler<BackupsHandlerDeps> = async (input, deps) => {
  const req = parseInput(GetBackupSchema, input);
  return getBackup(deps.storage, deps.targets.get(req.service), req.backupId, req.volume);
};
