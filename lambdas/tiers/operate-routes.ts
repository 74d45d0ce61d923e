// The operate tier's main Lambda: backups, restores, operations and config writes. It never
// touches a volume itself: sidekick tasks and the config-files Lambdas do, and ECS Exec
// (validators, reload signals) goes through the signal Lambda.

import { ECSClient } from '@aws-sdk/client-ecs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { TierRoutes } from '../shared/dispatch';
import { Invoke } from '../shared/invoke';
import { Targets } from '../shared/targets';
import { ConfigWriteDeps, putConfigRoute, rollbackConfigRoute } from '../volumes/config-handler';
import {
  getOperationRoute,
  reapOperationsRoute,
  startBackupRoute,
  startRestoreRoute,
} from '../volumes/jobs-handler';
import { JobDeps } from '../volumes/jobs';
import { createReloader } from '../volumes/reload';
import { StorageSettings } from './storage-settings';
import * as steps from '../runbooks/steps';
import { recordTaskStopRoute, TaskHistory } from '../diagnose/history';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  driveRestartRoute,
  resumeStalledRestarts,
  RestartHandlerDeps,
  startRestartRoute,
} from '../restart/handler';
import { createRateLimiter, GET_LOG_EVENTS_PER_SECOND } from '../shared/rate-limiter';

export interface OperateDeps extends JobDeps, ConfigWriteDeps, RestartHandlerDeps {
  readonly history?: TaskHistory;
}

export const operateRoutes: TierRoutes<OperateDeps> = {
  startBackup: startBackupRoute,
  startRestore: startRestoreRoute,
  getOperation: getOperationRoute,
  putConfig: putConfigRoute,
  rollbackConfig: rollbackConfigRoute,
  reapOperations: async (input, deps, ctx) => ({
    ...((await reapOperationsRoute(input, deps, ctx)) as object),
    restartsResumed: await resumeStalledRestarts(deps),
  }),
  restart: startRestartRoute,
  driveRestart: driveRestartRoute,
  checkRunbookInput: steps.checkRunbookInputRoute,
  takeVolumeLease: steps.takeVolumeLeaseRoute,
  releaseVolumeLease: steps.releaseVolumeLeaseRoute,
  scaleService: steps.scaleServiceRoute,
  checkSteady: steps.checkSteadyRoute,
  reloadService: steps.reloadServiceRoute,
  runCheck: steps.runCheckRoute,
  verifyService: steps.verifyServiceRoute,
  undoConfigChange: steps.undoConfigChangeRoute,
  saveDiagnosis: steps.saveDiagnosisRoute,
  executionEnded: steps.executionEndedRoute,
  recordTaskStop: recordTaskStopRoute,
};

export function createOperateDeps(
  clients: { ecs: ECSClient; s3: S3Client; ddb: DynamoDBClient; logs: CloudWatchLogsClient },
  targets: Targets,
  invoke: Invoke,
  settings: StorageSettings & {
    signalFunction: string;
    /** Starts a restart's driver in the background. */
    kick: (operationId: string) => Promise<void>;
    restartPollMs?: number;
    history?: TaskHistory;
  },
  now: () => number = Date.now,
): OperateDeps {
  return {
    ecs: clients.ecs,
    state: { ddb: clients.ddb, table: settings.table },
    storage: {
      s3: clients.s3,
      bucket: settings.bucket,
      ...(settings.bucketOwner ? { bucketOwner: settings.bucketOwner } : {}),
      now,
    },
    targets,
    invoke,
    reloader: createReloader({ invoke, signalFunction: settings.signalFunction, ecs: clients.ecs }),
    now,
    timeLimitMs: settings.timeLimitMs,
    diagnose: {
      ecs: clients.ecs,
      logs: clients.logs,
      getLimiter: createRateLimiter({
        perSecond: GET_LOG_EVENTS_PER_SECOND,
        burst: GET_LOG_EVENTS_PER_SECOND,
      }),
    },
    kick: settings.kick,
    ...(settings.history ? { history: settings.history } : {}),
    restartPollMs: settings.restartPollMs ?? 5_000,
  };
}
