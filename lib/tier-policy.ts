// The execute-api:Invoke policy of each tier, derived from the route table. The stack turns
// it into one managed policy per tier; the sandbox evaluates the very same statements.
//
// IAM wildcards match across `/`, so `GET/services/*` would also match an operate route such
// as `GET/services/*/config/*`. Where an allowed pattern reaches a route of another tier, the
// policy denies that route explicitly; a route table where that cannot work fails here.

import { arnMatches } from '../lambdas/shared/iam-eval';
import { iamResourcePath, ROUTES, RouteSpec, Tier } from '../lambdas/shared/routes';

export { arnMatches, isAllowed } from '../lambdas/shared/iam-eval';

export type RouteTable = Readonly<Record<string, RouteSpec>>;

export interface PolicyStatementJson {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string;
  readonly Resource: string[];
}

/** `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE`, with no trailing slash. */
export type ApiArnBase = string;

export function routeResourceArn(base: ApiArnBase, route: RouteSpec): string {
  return `${base}/${route.method}/${iamResourcePath(route.path)}`;
}

/** A concrete request ARN for a route, with a sample value in every path parameter. */
export function sampleRequestArn(base: ApiArnBase, route: RouteSpec): string {
  const path = route.path
    .replace(/^\//, '')
    .replace(/\{[^}]+\+\}/g, 'a/b')
    .replace(/\{[^}]+\}/g, 'x');
  return `${base}/${route.method}/${path}`;
}

export function tierPolicyStatements(
  tier: Tier,
  base: ApiArnBase,
  routes: RouteTable = ROUTES,
): PolicyStatementJson[] {
  const all = Object.values(routes);
  const own = all.filter((r) => r.tier === tier);
  if (own.length === 0) return [];
  const allowed = own.map((r) => routeResourceArn(base, r));
  const reachedForeign = all.filter(
    (r) => r.tier !== tier && allowed.some((p) => arnMatches(p, sampleRequestArn(base, r))),
  );
  for (const foreign of reachedForeign) {
    const deny = routeResourceArn(base, foreign);
    const blockedOwn = own.find((r) => arnMatches(deny, sampleRequestArn(base, r)));
    if (blockedOwn) {
      throw new Error(
        `Route table conflict: ${foreign.method} ${foreign.path} (${foreign.tier}) and ` +
          `${blockedOwn.method} ${blockedOwn.path} (${tier}) cannot be told apart by IAM. ` +
          'Give one of them a distinct literal path segment.',
      );
    }
  }
  const statements: PolicyStatementJson[] = [
    { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: allowed },
  ];
  if (reachedForeign.length > 0) {
    statements.push({
      Effect: 'Deny',
      Action: 'execute-api:Invoke',
      Resource: reachedForeign.map((r) => routeResourceArn(base, r)),
    });
  }
  return statements;
}
