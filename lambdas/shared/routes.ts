// The route table: one entry per API route. The stack builds API Gateway methods and the
// tier policies from it, the sandbox matches requests and enforces tiers with it, and the
// tier Lambdas dispatch on its ids. Plain data: no handler code is imported here.

export const TIERS = ['read', 'operate', 'breakglass'] as const;
export type Tier = (typeof TIERS)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` is a path parameter. */
  readonly path: string;
  readonly tier: Tier;
  /** Query string parameters the route accepts (API Gateway declares them; the schema validates them). */
  readonly query: readonly string[];
  /** HTTP status of a successful response. */
  readonly successStatus: 200 | 202;
  readonly summary: string;
  /** The Lambda that serves it, when not the tier's own (e.g. the operate tier's signal Lambda). */
  readonly fn?: FunctionName;
}

/** Each tier has its Lambda; `signal` is the operate tier's only Lambda that may use ECS Exec. */
export type FunctionName = Tier | 'signal';

export const ROUTES = {
  listServices: {
    method: 'GET',
    path: '/services',
    tier: 'read',
    query: [],
    successStatus: 200,
    summary: 'Configured services with desired, running and pending counts and their deployments.',
  },
  getService: {
    method: 'GET',
    path: '/services/{service}',
    tier: 'read',
    query: [],
    successStatus: 200,
    summary: 'Tasks with health and container states, deployments and recent service events.',
  },
  getLogs: {
    method: 'GET',
    path: '/services/{service}/logs',
    tier: 'read',
    query: ['since', 'until', 'filter', 'task', 'container', 'limit', 'cursor'],
    successStatus: 200,
    summary: 'CloudWatch Logs of the service, a task or a container, paginated by an exact cursor.',
  },
  diagnose: {
    method: 'GET',
    path: '/services/{service}/diagnose',
    tier: 'read',
    query: ['tasks', 'lines'],
    successStatus: 200,
    summary: 'Why tasks stopped or never started: stop codes, exit codes, events, last log lines and a hint.',
  },
  execCheck: {
    method: 'GET',
    path: '/services/{service}/exec-check',
    tier: 'read',
    query: [],
    successStatus: 200,
    summary: 'Per task: can ECS Exec work, and what to change when it cannot.',
  },
  signal: {
    method: 'POST',
    path: '/services/{service}/signal',
    tier: 'operate',
    query: [],
    successStatus: 200,
    summary: "Sends an allowlisted signal to PID 1 of the service's container(s) through ECS Exec.",
    fn: 'signal',
  },
  exec: {
    method: 'POST',
    path: '/services/{service}/exec',
    tier: 'breakglass',
    query: [],
    successStatus: 200,
    summary: 'Runs an argv in a container; returns its output and exit code.',
  },
  sessions: {
    method: 'POST',
    path: '/services/{service}/sessions',
    tier: 'breakglass',
    query: [],
    successStatus: 200,
    summary: 'Starts an interactive ECS Exec session and returns what session-manager-plugin needs.',
  },
  listBackups: {
    method: 'GET',
    path: '/services/{service}/backups',
    tier: 'read',
    query: ['volume', 'limit'],
    successStatus: 200,
    summary:
      'Complete backups of the service volumes, newest first (a backup without its manifest is never listed).',
  },
  getBackup: {
    method: 'GET',
    path: '/services/{service}/backups/{backupId}',
    tier: 'read',
    query: ['volume'],
    successStatus: 200,
    summary: 'The manifest of one backup: what it holds, its checksums, who took it and when.',
  },
  startBackup: {
    method: 'POST',
    path: '/services/{service}/backups',
    tier: 'operate',
    query: [],
    successStatus: 202,
    summary: 'Backs up a volume (or a path in it) to S3 from a sidekick task; returns the operation.',
  },
  startRestore: {
    method: 'POST',
    path: '/services/{service}/backups/{backupId}/restore',
    tier: 'operate',
    query: [],
    successStatus: 202,
    summary: 'Verifies a backup, then restores it (or a path in it) into the volume; returns the operation.',
  },
  restart: {
    method: 'POST',
    path: '/services/{service}/restart',
    tier: 'operate',
    query: [],
    successStatus: 202,
    summary:
      'Rolling restart (a new deployment) or stop-tasks (one at a time, never below the minimum healthy percent); returns the operation.',
  },
  getOperation: {
    method: 'GET',
    path: '/operations/{operationId}',
    tier: 'operate',
    query: [],
    successStatus: 200,
    summary:
      'Status, progress, result or error of a backup, restore or restart; stops a task past its time limit.',
  },
  getConfig: {
    method: 'GET',
    path: '/services/{service}/config/{volume}/{path+}',
    tier: 'read',
    query: ['version'],
    successStatus: 200,
    summary: 'A config file (or one of its versions) with its version number, checksum and author.',
  },
  putConfig: {
    method: 'PUT',
    path: '/services/{service}/config/{volume}/{path+}',
    tier: 'operate',
    query: [],
    successStatus: 200,
    summary:
      'Writes a config file as a new version if expectedVersion is current; validates, reloads, rolls back.',
  },
  configVersions: {
    method: 'GET',
    path: '/services/{service}/config-versions/{volume}/{path+}',
    tier: 'read',
    query: ['limit', 'before'],
    successStatus: 200,
    summary: 'Versions of a config file, newest first: number, author, time, checksum.',
  },
  configDiff: {
    method: 'GET',
    path: '/services/{service}/config-diff/{volume}/{path+}',
    tier: 'read',
    query: ['from', 'to'],
    successStatus: 200,
    summary: 'A unified diff between two versions of a config file.',
  },
  rollbackConfig: {
    method: 'POST',
    path: '/services/{service}/config-rollback/{volume}/{path+}',
    tier: 'operate',
    query: [],
    successStatus: 200,
    summary:
      'Writes an earlier version of a config file as a new version, then validates and reloads like a PUT.',
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof ROUTES;

/**
 * Routes with no API: only other ecs-sidekick Lambdas invoke them. The config-files Lambdas
 * serve the file operations; the signal Lambda runs a configured validator.
 */
export const INTERNAL_ROUTES = [
  'readConfigFile',
  'writeConfigFile',
  'configFileVersions',
  'configFileDiff',
  'validateConfig',
  'reapOperations',
  'driveRestart',
  // The runbooks' steps (operate Lambda), see lambdas/runbooks/steps.ts.
  'checkRunbookInput',
  'takeVolumeLease',
  'releaseVolumeLease',
  'scaleService',
  'checkSteady',
  'reloadService',
  'runCheck',
  'verifyService',
  'undoConfigChange',
  'saveDiagnosis',
  'executionEnded',
  'recordTaskStop',
] as const;
export type InternalRouteId = (typeof INTERNAL_ROUTES)[number];

export const ROUTE_IDS = Object.keys(ROUTES) as RouteId[];

export function routesOfTier(tier: Tier): RouteId[] {
  return ROUTE_IDS.filter((id) => ROUTES[id].tier === tier);
}

/** The Lambda that serves a route. */
export function functionOf(id: RouteId): FunctionName {
  const route: RouteSpec = ROUTES[id];
  return route.fn ?? route.tier;
}

/** Path parameter names of a route, in order: `/services/{service}/logs` → `['service']`. */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((m) => m[1]!);
}

/**
 * The execute-api resource path of a route, as used in IAM: every path parameter
 * becomes `*`. `/services/{service}/logs` → `services/*\/logs`.
 */
export function iamResourcePath(path: string): string {
  return path.replace(/^\//, '').replace(/\{[^}]+\}/g, '*');
}
