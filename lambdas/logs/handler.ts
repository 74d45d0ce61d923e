// GET /services/{service}/logs

import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { LogsQuerySchema } from './contract';
import { fetchLogs, LogsDeps } from './fetch-logs';

export interface LogsHandlerDeps extends LogsDeps {
  readonly targets: Targets;
  readonly now: () => number;
}

export const getLogs: RouteHandler<LogsHandlerDeps> = async (input, deps, ctx) => {
  const query = parseInput(LogsQuerySchema, input);
  const target = deps.targets.get(query.service);
  return fetchLogs(deps, target, query, { now: deps.now, deadline: ctx.deadline });
};
