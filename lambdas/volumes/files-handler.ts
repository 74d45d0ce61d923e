// The internal routes of a config-files Lambda: it mounts one volume and reads or writes its
// config files. Only the read and operate Lambdas invoke it; each volume has a reader and a
// writer, so holding the read tier never lets anyone write.

import { RouteHandler, TierRoutes } from '../shared/dispatch';
import { ValidationError } from '../shared/errors';
import { parseInput } from '../shared/validation';
import { ConfigStore } from './config-store';
import { ConfigDiffSchema, ConfigVersionsSchema, GetConfigSchema, WriteFileSchema } from './contract';

export interface FilesDeps {
  readonly service: string;
  readonly volume: string;
  /** Where the volume is mounted (/mnt/<volume> in Lambda). */
  readonly root: string;
  readonly now: () => number;
}

function storeFor(deps: FilesDeps, input: { service: string; volume: string }): ConfigStore {
  if (input.service !== deps.service)
    throw new ValidationError('service', `this function serves ${deps.service}, not ${input.service}`);
  if (input.volume !== deps.volume)
    throw new ValidationError('volume', `this function serves volume ${deps.volume}, not ${input.volume}`);
  return new ConfigStore(deps.root, deps.now);
}

export const readConfigFile: RouteHandler<FilesDeps> = async (input, deps) => {
  const req = parseInput(GetConfigSchema, input);
  const store = storeFor(deps, req);
  return req.version === undefined ? store.read(req.path) : store.version(req.path, req.version);
};

export const configFileVersions: RouteHandler<FilesDeps> = async (input, deps) => {
  const req = parseInput(ConfigVersionsSchema, input);
  return storeFor(deps, req).versions(req.path, {
    limit: req.limit ?? 50,
    ...(req.before ? { before: req.before } : {}),
  });
};

export const configFileDiff: RouteHandler<FilesDeps> = async (input, deps) => {
  const req = parseInput(ConfigDiffSchema, input);
  return storeFor(deps, req).diff(req.path, req.from, req.to);
};

export const writeConfigFile: RouteHandler<FilesDeps> = async (input, deps) => {
  const req = parseInput(WriteFileSchema, input);
  const store = storeFor(deps, req);
  const base = { expectedVersion: req.expectedVersion, author: req.author };
  if (req.remove) return store.remove(req.path, { ...base, ...(req.note ? { note: req.note } : {}) });
  if (req.rollbackTo !== undefined)
    return store.rollback(req.path, {
      ...base,
      version: req.rollbackTo,
      ...(req.note ? { note: req.note } : {}),
    });
  if (req.content === undefined) throw new ValidationError('content', 'is required');
  return store.write(req.path, { ...base, content: req.content, ...(req.note ? { note: req.note } : {}) });
};

export const filesReadRoutes: TierRoutes<FilesDeps> = { readConfigFile, configFileVersions, configFileDiff };
export const filesWriteRoutes: TierRoutes<FilesDeps> = { ...filesReadRoutes, writeConfigFile };
