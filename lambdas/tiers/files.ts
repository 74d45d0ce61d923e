// Lambda entry of a config-files Lambda: one volume, mounted at SIDEKICK_FILES_ROOT, read-only
// routes or read and write routes depending on SIDEKICK_FILES_ACCESS.

import { createDispatcher } from '../shared/dispatch';
import { createLogger } from '../shared/logger';
import { filesReadRoutes, filesWriteRoutes } from '../volumes/files-handler';

const {
  SIDEKICK_FILES_SERVICE: service,
  SIDEKICK_FILES_VOLUME: volume,
  SIDEKICK_FILES_ROOT: root,
  SIDEKICK_FILES_ACCESS: access,
} = process.env;
if (!service || !volume || !root || (access !== 'read' && access !== 'write')) {
  throw new Error(
    'SIDEKICK_FILES_SERVICE, SIDEKICK_FILES_VOLUME, SIDEKICK_FILES_ROOT and SIDEKICK_FILES_ACCESS (read|write) must be set',
  );
}
const deps = { service, volume, root, now: Date.now };

export const handler = createDispatcher({
  tier: access === 'write' ? 'operate' : 'read',
  routes: access === 'write' ? filesWriteRoutes : filesReadRoutes,
  deps: () => deps,
  log: createLogger({ tier: access === 'write' ? 'operate' : 'read', lambda: `files-${volume}-${access}` }),
});
