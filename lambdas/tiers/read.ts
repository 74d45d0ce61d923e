// Lambda entry of the read tier. Clients and config are set up once, during INIT.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, s3Config } from '../shared/clients';
import { createDispatcher } from '../shared/dispatch';
import { lambdaInvoker } from '../shared/invoke';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { createReadDeps, readRoutes } from './read-routes';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { taskHistoryFromEnvironment, withHistory } from '../diagnose/history';

const config = clientConfig();
const clients = {
  ecs: new ECSClient(config),
  logs: new CloudWatchLogsClient(config),
  iam: new IAMClient(config),
};
const bucket = process.env.SIDEKICK_BUCKET;
if (!bucket) throw new Error('SIDEKICK_BUCKET must be set');
const deps = createReadDeps(clients, createTargets(loadTargets()), {
  storage: {
    s3: new S3Client(s3Config()),
    bucket,
    ...(process.env.SIDEKICK_BUCKET_OWNER ? { bucketOwner: process.env.SIDEKICK_BUCKET_OWNER } : {}),
    now: Date.now,
  },
  invoke: lambdaInvoker(new LambdaClient(config)),
  ...withHistory(taskHistoryFromEnvironment(new DynamoDBClient(config))),
});

export const handler = createDispatcher({
  tier: 'read',
  routes: readRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'read' }),
});
