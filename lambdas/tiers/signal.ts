// Lambda entry of the operate tier's signal Lambda.

import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { createTargets, loadTargets } from '../shared/targets';
import { createExecDeps, execClients, execSettingsFromEnvironment } from './exec-deps';
import { signalRoutes } from './signal-routes';

const deps = createExecDeps(execClients(), createTargets(loadTargets()), execSettingsFromEnvironment());

export const handler = createDispatcher({
  tier: 'operate',
  routes: signalRoutes,
  deps: () => deps,
  log: createLogger({ tier: 'operate', lambda: 'signal' }),
});
