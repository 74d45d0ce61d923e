// GET /services/{service}/exec-check (read tier: no ECS Exec code in its bundle)

import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { ExecCheckQuerySchema } from './contract';
import { checkExec, ExecCheckDeps } from './exec-check';

export interface ExecCheckHandlerDeps extends ExecCheckDeps {
  readonly targets: Targets;
}

export const execCheckRoute: RouteHandler<ExecCheckHandlerDeps> = async (input, deps) => {
  const { service } = parseInput(ExecCheckQuerySchema, input);
  return checkExec(deps, deps.targets.get(service));
};
