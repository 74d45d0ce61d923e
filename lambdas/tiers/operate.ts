// Lambda entry of the operate tier's main Lambda.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, s3Config } from '../shared/clients';
import { createDispatcher } from '../shared/dispatch';
import { lambdaEventInvoker, lambdaInvoker } from '../shared/invoke';
import { taskHistoryFromEnvironment, withHistory } from '../diagnose/history';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { createOperateDeps, operateRoutes } from './operate-routes';
import { storageSettingsFromEnvironment } from './storage-settings';

const config = clientConfig();
const signalFunction = process.env.SIDEKICK_SIGNAL_FUNCTION;
if (!signalFunction) throw new Error('SIDEKICK_SIGNAL_FUNCTION must be set');
const lambda = new LambdaClient(config);
const ddb = new DynamoDBClient(config);
const invokeLater = lambdaEventInvoker(lambda);
// A restart's driver is this same function, invoked asynchronously.
const self = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'operate';
const deps = createOperateDeps(
  {
    ecs: new ECSClient(config),
    s3: new S3Client(s3Config()),
    ddb,
    logs: new CloudWatchLogsClient(config),
  },
  createTargets(loadTargets()),
  lambdaInvoker(lambda),
  {
    ...storageSettingsFromEnvironment(),
    signalFunction,
    ...withHistory(taskHistoryFromEnvironment(ddb)),
    kick: async (operationId) => {
      await invokeLater(self, 'driveRestart', { operationId });
    },
  },
);

export const handler = createDispatcher({
  tier: 'operate',
  routes: operateRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'operate' }),
});
