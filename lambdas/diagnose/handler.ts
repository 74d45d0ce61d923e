// GET /services/{service}/diagnose

import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { DiagnoseQuerySchema } from './contract';
import { DiagnoseDeps, diagnoseService } from './diagnose';

export interface DiagnoseHandlerDeps extends DiagnoseDeps {
  readonly targets: Targets;
}

export const diagnoseRoute: RouteHandler<DiagnoseHandlerDeps> = async (input, deps) => {
  const query = parseInput(DiagnoseQuerySchema, input);
  return diagnoseService(deps, deps.targets.get(query.service), query);
};
