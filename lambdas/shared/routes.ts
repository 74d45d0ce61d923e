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
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof ROUTES;

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
