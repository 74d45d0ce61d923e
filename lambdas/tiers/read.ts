// Lambda entry of the read tier. Clients and config are set up once, during INIT.

import { createClients } from '../shared/clients';
import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { createReadDeps, readRoutes } from './read-routes';

const deps = createReadDeps(createClients(), createTargets(loadTargets()));

export const handler = createDispatcher({
  tier: 'read',
  routes: readRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'read' }),
});
