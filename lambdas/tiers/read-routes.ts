// The read tier: status, logs and diagnosis. Its Lambda role can describe the configured
// services and read their log groups, nothing more.

import { diagnoseRoute, DiagnoseHandlerDeps } from '../diagnose/handler';
import { getLogs, LogsHandlerDeps } from '../logs/handler';
import { getServiceRoute, listServicesRoute, ServicesHandlerDeps } from '../services/handler';
import { AwsClients } from '../shared/clients';
import { TierRoutes } from '../shared/dispatch';
import { createRateLimiter } from '../shared/rate-limiter';
import { Targets } from '../shared/targets';

export interface ReadDeps extends ServicesHandlerDeps, LogsHandlerDeps, DiagnoseHandlerDeps {}

export const readRoutes: TierRoutes<ReadDeps> = {
  listServices: listServicesRoute,
  getService: getServiceRoute,
  getLogs,
  diagnose: diagnoseRoute,
};

/** FilterLogEvents allows 5 requests/s per account and Region; keep one for everyone else. */
export const FILTER_LOG_EVENTS_PER_SECOND = 4;
/** GetLogEvents allows 10 requests/s per account and Region (some accounts have more). */
export const GET_LOG_EVENTS_PER_SECOND = 10;

export function createReadDeps(
  clients: AwsClients,
  targets: Targets,
  now: () => number = Date.now,
): ReadDeps {
  return {
    ecs: clients.ecs,
    logs: clients.logs,
    targets,
    now,
    filterLimiter: createRateLimiter({
      perSecond: FILTER_LOG_EVENTS_PER_SECOND,
      burst: FILTER_LOG_EVENTS_PER_SECOND,
    }),
    getLimiter: createRateLimiter({ perSecond: GET_LOG_EVENTS_PER_SECOND, burst: GET_LOG_EVENTS_PER_SECOND }),
  };
}
