// A small IAM evaluator for identity-policy statements: Action/NotAction, Resource/NotResource,
// explicit Deny over Allow over the implicit deny. Conditions are not evaluated; callers are
// told when a deciding statement had one. Used by the sandbox's API (tier policies) and by
// exec-check (a task role's ssmmessages and kms permissions).

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: unknown;
}

export type Decision = { readonly allowed: boolean; readonly conditional: boolean };

/** IAM ARN matching: `*` matches any run of characters (including `/`), `?` one character. */
export function arnMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const regex = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`, ignoreCase ? 'is' : 's').test(value);
}

const list = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

function applies(s: Statement, action: string, resource: string): boolean {
  const actionHit = s.NotAction
    ? !list(s.NotAction).some((a) => arnMatches(a, action, true))
    : list(s.Action).some((a) => arnMatches(a, action, true));
  const resourceHit = s.NotResource
    ? !list(s.NotResource).some((r) => arnMatches(r, resource))
    : list(s.Resource).some((r) => arnMatches(r, resource));
  return actionHit && resourceHit;
}

export function evaluate(statements: readonly Statement[], action: string, resource: string): Decision {
  const hits = statements.filter((s) => applies(s, action, resource));
  const deny = hits.find((s) => s.Effect === 'Deny' && !s.Condition);
  if (deny) return { allowed: false, conditional: false };
  const allow = hits.filter((s) => s.Effect === 'Allow');
  if (allow.length === 0) return { allowed: false, conditional: hits.some((s) => s.Effect === 'Deny') };
  return {
    allowed: true,
    conditional: allow.every((s) => !!s.Condition) || hits.some((s) => s.Effect === 'Deny'),
  };
}

export function isAllowed(statements: readonly Statement[], action: string, resource: string): boolean {
  const d = evaluate(statements, action, resource);
  return d.allowed && !d.conditional;
}
