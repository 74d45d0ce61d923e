// Lambda entry of the read tier. Clients and config are set up once, during INIT.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { clientConfig } from '../shared/clients';
import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { createReadDeps, readRoutes } from './read-routes';

const config = clientConfig();
const clients = {
  ecs: new ECSClient(config),
  logs: new CloudWatchLogsClient(config),
  iam: new IAMClient(config),
};
const deps = createReadDeps(clients, createTargets(loadTargets()));

export const handler = createDispatcher({
  tier: 'read',
  routes: readRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'read' }),
});
