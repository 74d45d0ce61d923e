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

export interface OperateDeps extends JobDeps, ConfigWriteDeps {}

export const operateRoutes: TierRoutes<OperateDeps> = {
  startBackup: startBackupRoute,
  startRestore: startRestoreRoute,
  getOperation: getOperationRoute,
  putConfig: putConfigRoute,
  rollbackConfig: rollbackConfigRoute,
  reapOperations: reapOperationsRoute,
};

export function createOperateDeps(
  clients: { ecs: ECSClient; s3: S3Client; ddb: DynamoDBClient },
  targets: Targets,
  invoke: Invoke,
  settings: StorageSettings & { signalFunction: string },
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
  };
}
