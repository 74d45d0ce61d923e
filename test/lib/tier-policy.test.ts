import {
  arnMatches,
  isAllowed,
  RouteTable,
  sampleRequestArn,
  tierPolicyStatements,
} from '../../lib/tier-policy';
import { ROUTES, TIERS } from '../../lambdas/shared/routes';
import { simulateInvoke } from '../support/iam';

const BASE = 'arn:aws:execute-api:us-east-1:123456789012:abc123/v1';

const route = (method: 'GET' | 'POST', path: string, tier: 'read' | 'operate' | 'breakglass') =>
  ({ method, path, tier, query: [], successStatus: 200, summary: '' }) as const;

describe('arnMatches', () => {
  it.each([
    ['a/*', 'a/b/c', true],
    ['a/*/d', 'a/b/c/d', true],
    ['a/?', 'a/b', true],
    ['a/?', 'a/bc', false],
    ['a.b', 'axb', false],
    ['GET/services', 'GET/services/web', false],
  ])('%s against %s is %s', (pattern, arn, expected) => {
    expect(arnMatches(pattern, arn)).toBe(expected);
  });
});

describe('tierPolicyStatements', () => {
  it("denies another tier's route that an allowed wildcard would reach", () => {
    const routes: RouteTable = {
      status: route('GET', '/services/{service}', 'read'),
      config: route('GET', '/services/{service}/config/{volume}/{path+}', 'operate'),
    };
    const statements = tierPolicyStatements('read', BASE, routes);
    expect(isAllowed(statements, 'execute-api:Invoke', `${BASE}/GET/services/web`)).toBe(true);
    expect(isAllowed(statements, 'execute-api:Invoke', `${BASE}/GET/services/web/config/data/app.conf`)).toBe(
      false,
    );
    expect(statements.find((s) => s.Effect === 'Deny')?.Resource).toEqual([
      `${BASE}/GET/services/*/config/*/*`,
    ]);
  });

  it('refuses a route table where IAM cannot tell two tiers apart', () => {
    const routes: RouteTable = {
      a: route('GET', '/services/{service}', 'read'),
      b: route('GET', '/services/{name}', 'operate'),
    };
    expect(() => tierPolicyStatements('read', BASE, routes)).toThrow(/Route table conflict/);
  });

  it('gives a tier without routes no statements', () => {
    expect(tierPolicyStatements('breakglass', BASE, { a: route('GET', '/x', 'read') })).toEqual([]);
  });
});

describe('the real route table', () => {
  const cases = TIERS.flatMap((tier) => Object.entries(ROUTES).map(([id, r]) => [tier, id, r] as const));

  it.each(cases)(
    "the %s policy allows %s exactly when it is that tier's route (independent IAM evaluator)",
    async (tier, _id, r) => {
      const statements = tierPolicyStatements(tier, BASE);
      const arn = sampleRequestArn(BASE, r);
      const expected = r.tier === tier;
      expect(isAllowed(statements, 'execute-api:Invoke', arn)).toBe(expected);
      expect(statements.length === 0 ? false : await simulateInvoke(statements, arn)).toBe(expected);
    },
  );
});
