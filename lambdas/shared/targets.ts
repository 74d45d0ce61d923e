// The services a deployment may operate. Synth writes them to `targets.json` inside each
// Lambda bundle; values only known at deploy time (a generated file system id) are written as
// `${env:NAME}` and arrive as environment variables, so the config size is not bound by the
// 4 KB Lambda environment limit.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceTarget, TargetsSchema } from '../../lib/config';
import { NotFoundError } from './errors';

export interface Targets {
  list(): readonly ServiceTarget[];
  /** The target named in an API path, or a 404 that lists the configured names. */
  get(name: string): ServiceTarget;
}

export function createTargets(targets: readonly ServiceTarget[]): Targets {
  const byName = new Map(targets.map((t) => [t.name, t]));
  return {
    list: () => targets,
    get(name) {
      const target = byName.get(name);
      if (!target) {
        const known = [...byName.keys()].join(', ') || '(none)';
        throw new NotFoundError(`service '${name}' is not configured in ecs-sidekick (configured: ${known})`);
      }
      return target;
    },
  };
}

export const TARGETS_FILE = 'targets.json';

export function loadTargets(env: NodeJS.ProcessEnv = process.env, bundleDir = __dirname): ServiceTarget[] {
  const file = env.SIDEKICK_TARGETS_FILE ?? join(bundleDir, TARGETS_FILE);
  const text = readFileSync(file, 'utf8').replace(/\$\{env:([A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) throw new Error(`${file} refers to \${env:${name}}, which is not set`);
    return JSON.stringify(value).slice(1, -1);
  });
  return TargetsSchema.parse(JSON.parse(text));
}
