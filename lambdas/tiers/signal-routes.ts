// The operate tier's signal Lambda: the only operate Lambda that may use ECS Exec, and its
// code sends nothing but `kill -s <allowlisted signal> 1` and the validators the config lists.

import { ExecHandlerDeps, signalRoute, validateConfigRoute } from '../exec/handler';
import { TierRoutes } from '../shared/dispatch';

export const signalRoutes: TierRoutes<ExecHandlerDeps> = {
  signal: signalRoute,
  validateConfig: validateConfigRoute,
};
