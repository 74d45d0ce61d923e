// Lambda entry of the breakglass tier. Clients and config are set up once, during INIT.

import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { breakglassRoutes } from './breakglass-routes';
import { createExecDeps, execClients, execSettingsFromEnvironment } from './exec-deps';

const deps = createExecDeps(execClients(), createTargets(loadTargets()), execSettingsFromEnvironment());

export const handler = createDispatcher({
  tier: 'breakglass',
  routes: breakglassRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'breakglass' }),
});
