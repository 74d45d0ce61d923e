// The breakglass tier: commands and interactive sessions in containers. Its Lambda role may
// call ecs:ExecuteCommand on the configured clusters (and containers), and write the audit log.

import { execRoute, ExecHandlerDeps, sessionsRoute } from '../exec/handler';
import { TierRoutes } from '../shared/dispatch';

export const breakglassRoutes: TierRoutes<ExecHandlerDeps> = { exec: execRoute, sessions: sessionsRoute };
