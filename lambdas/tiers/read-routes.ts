// The read tier: status, logs, diagnosis and the exec preflight. Its Lambda role can describe
// the configured services, read their log groups and their task roles' policies, nothing more.

import { diagnoseRoute, DiagnoseHandlerDeps } from '../diagnose/handler';
import { TaskHistory } from '../diagnose/history';
import { execCheckRoute, ExecCheckHandlerDeps } from '../exec/check-handler';
import { getLogs, LogsHandlerDeps } from '../logs/handler';
import { getServiceRoute, listServicesRoute, ServicesHandlerDeps } from '../services/handler';
import { AwsClients } from '../shared/clients';
import { TierRoutes } from '../shared/dispatch';
import {
  createRateLimiter,
  FILTER_LOG_EVENTS_PER_SECOND,
  GET_LOG_EVENTS_PER_SECOND,
} from '../shared/rate-limiter';
import { Targets } from '../shared/targets';
import { Invoke } from '../shared/invoke';
import { BackupsHandlerDeps, getBackupRoute, listBackupsRoute } from '../volumes/backups-handler';
import {
  ConfigReadDeps,
  configDiffRoute,
  configVersionsRoute,
  getConfigRoute,
} from '../volumes/config-handler';
import { StorageDeps } from '../volumes/backup';

export interface ReadDeps
  extends
    ServicesHandlerDeps,
    LogsHandlerDeps,
    DiagnoseHandlerDeps,
    ExecCheckHandlerDeps,
    BackupsHandlerDeps,
    ConfigReadDeps {}

export const readRoutes: TierRoutes<ReadDeps> = {
  listServices: listServicesRoute,
  getService: getServiceRoute,
  getLogs,
  diagnose: diagnoseRoute,
  execCheck: execCheckRoute,
  listBackups: listBackupsRoute,
  getBackup: getBackupRoute,
  getConfig: getConfigRoute,
  configVersions: configVersionsRoute,
  configDiff: configDiffRoute,
};

export { FILTER_LOG_EVENTS_PER_SECOND, GET_LOG_EVENTS_PER_SECOND } from '../shared/rate-limiter';

export function createReadDeps(
  clients: Pick<AwsClients, 'ecs' | 'logs' | 'iam'>,
  targets: Targets,
  volumes: { storage: StorageDeps; invoke: Invoke; history?: TaskHistory },
  now: () => number = Date.now,
): ReadDeps {
  return {
    storage: volumes.storage,
    invoke: volumes.invoke,
    ...(volumes.history ? { history: volumes.history } : {}),
    ecs: clients.ecs,
    logs: clients.logs,
    iam: clients.iam,
    targets,
    now,
    filterLimiter: createRateLimiter({
      perSecond: FILTER_LOG_EVENTS_PER_SECOND,
      burst: FILTER_LOG_EVENTS_PER_SECOND,
    }),
    getLimiter: createRateLimiter({ perSecond: GET_LOG_EVENTS_PER_SECOND, burst: GET_LOG_EVENTS_PER_SECOND }),
  };
}
