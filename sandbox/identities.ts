// The sandbox's three callers, one per tier, each holding exactly its tier's policy.

import { randomBytes } from 'node:crypto';
import { ApiArnBase, tierPolicyStatements } from '../lib/tier-policy';
import { Tier, TIERS } from '../lambdas/shared/routes';
import { LocalIdentity } from './local-api';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function accessKeyId(): string {
  return `AKIA${[...randomBytes(16)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
}

export function createIdentities(accountId: string, apiArnBase: ApiArnBase): Record<Tier, LocalIdentity> {
  const entries = TIERS.map((tier): [Tier, LocalIdentity] => [
    tier,
    {
      name: `sidekick-${tier}`,
      arn: `arn:aws:iam::${accountId}:user/sidekick-sandbox-${tier}`,
      accessKeyId: accessKeyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
      statements: tierPolicyStatements(tier, apiArnBase),
    },
  ]);
  return Object.fromEntries(entries) as Record<Tier, LocalIdentity>;
}
