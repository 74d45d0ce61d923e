// GET/PUT /services/{service}/config/{volume}/{path+}, /config-versions, /config-diff and
// /config-rollback. The read and operate Lambdas hold no file system: they forward to the
// volume's config-files reader or writer.

import { RouteHandler } from '../shared/dispatch';
import { Invoke } from '../shared/invoke';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import { applyConfigChange, filesOf } from './config-change';
import { configPath } from './config-store';
import {
  ConfigDiffSchema,
  ConfigVersionsSchema,
  GetConfigSchema,
  PutConfigSchema,
  RollbackConfigSchema,
} from './contract';
import { Reloader } from './reload';

export interface ConfigReadDeps {
  readonly targets: Targets;
  readonly invoke: Invoke;
}

export interface ConfigWriteDeps extends ConfigReadDeps {
  readonly reloader: Reloader;
}

/** Checks the request here too, so a bad path is a 400 before any Lambda is invoked. */
function forward(route: string, schema: Parameters<typeof parseInput>[0]): RouteHandler<ConfigReadDeps> {
  return async (input, deps) => {
    const req = parseInput(schema, input) as { service: string; volume: string; path: string };
    const target = deps.targets.get(req.service);
    const files = filesOf(target, req.volume);
    return deps.invoke(files.read, route, { ...req, path: configPath(req.path) });
  };
}

export const getConfigRoute = forward('readConfigFile', GetConfigSchema);
export const configVersionsRoute = forward('configFileVersions', ConfigVersionsSchema);
export const configDiffRoute = forward('configFileDiff', ConfigDiffSchema);

export const putConfigRoute: RouteHandler<ConfigWriteDeps> = async (input, deps, ctx) => {
  const req = parseInput(PutConfigSchema, input);
  const target = deps.targets.get(req.service);
  return applyConfigChange(
    deps,
    target,
    {
      volume: req.volume,
      path: configPath(req.path),
      expectedVersion: req.expectedVersion,
      change: { content: req.content, ...(req.note ? { note: req.note } : {}) },
      ...(req.validate ? { validate: req.validate } : {}),
      ...(req.reload ? { reload: req.reload } : {}),
    },
    ctx.caller,
  );
};

export const rollbackConfigRoute: RouteHandler<ConfigWriteDeps> = async (input, deps, ctx) => {
  const req = parseInput(RollbackConfigSchema, input);
  const target = deps.targets.get(req.service);
  return applyConfigChange(
    deps,
    target,
    {
      volume: req.volume,
      path: configPath(req.path),
      expectedVersion: req.expectedVersion,
      change: { rollbackTo: req.version },
      ...(req.validate ? { validate: req.validate } : {}),
      ...(req.reload ? { reload: req.reload } : {}),
    },
    ctx.caller,
  );
};
