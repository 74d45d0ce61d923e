// GET /services and GET /services/{service}

import { ECSClient } from '@aws-sdk/client-ecs';
import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { GetServiceSchema, ListServicesSchema } from './contract';
import { getServiceDetail, listServices } from './service-status';

export interface ServicesHandlerDeps {
  readonly ecs: ECSClient;
  readonly targets: Targets;
}

export const listServicesRoute: RouteHandler<ServicesHandlerDeps> = async (input, deps) => {
  parseInput(ListServicesSchema, input);
  return { services: await listServices(deps.ecs, deps.targets.list()) };
};

export const getServiceRoute: RouteHandler<ServicesHandlerDeps> = async (input, deps) => {
  const { service } = parseInput(GetServiceSchema, input);
  return getServiceDetail(deps.ecs, deps.targets.get(service));
};
