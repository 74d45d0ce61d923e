// An independent IAM evaluator (@cloud-copilot/iam-simulate) for checking our policies.

import { runSimulation } from '@cloud-copilot/iam-simulate';
import { PolicyStatementJson } from '../../lib/tier-policy';

export async function simulateInvoke(statements: readonly unknown[], resourceArn: string): Promise<boolean> {
  const accountId = resourceArn.split(':')[4]!;
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${accountId}:user/tester`,
        action: 'execute-api:Invoke',
        resource: { resource: resourceArn, accountId },
        contextVariables: {},
      },
      identityPolicies: [
        { name: 'tier', policy: { Version: '2012-10-17', Statement: statements as PolicyStatementJson[] } },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType !== 'single') throw new Error(`unexpected simulation result ${result.resultType}`);
  return result.overallResult === 'Allowed';
}
