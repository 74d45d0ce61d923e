// Lambda entry of the breakglass tier. Clients and config are set up once, during INIT.

import { createClients } from '../shared/clients';
import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { breakglassRoutes } from './breakglass-routes';
import { createExecDeps, execSettingsFromEnvironment } from './exec-deps';

const deps = createExecDeps(createClients(), createTargets(loadTargets()), execSettingsFromEnvironment());

export const handler = createDispatcher({
  tier: 'breakglass',
  routes: breakglassRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'breakglass' }),
});
