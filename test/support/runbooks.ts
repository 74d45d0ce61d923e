// The runbooks' definitions as the stack deploys them: synthesized from the CDK app, taken out
// of the template, with each Lambda's ARN (an Fn::GetAtt) pointed at the sandbox's function of
// the same tier.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { StateMachineDefinition } from '../../lib/runbooks/definitions';
import { SidekickStack } from '../../lib/sidekick-stack';
import { SANDBOX_ACCOUNT, SANDBOX_REGION } from '../../sandbox/demo';

/** Logical id prefix of each tier's Lambda in the template → the sandbox's function name. */
const FUNCTIONS: [string, string][] = [
  ['ReadLambda', 'sandbox-read'],
  ['OperateLambda', 'sandbox-operate'],
];

export function synthesizedRunbooks(stackName = 'EcsSidekick'): Record<string, StateMachineDefinition> {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'sidekick-runbooks-')) });
  new SidekickStack(app, stackName, { env: { account: SANDBOX_ACCOUNT, region: SANDBOX_REGION } });
  const assembly = app.synth();
  const template = JSON.parse(
    readFileSync(join(assembly.directory, `${stackName}.template.json`), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const definitions: Record<string, StateMachineDefinition> = {};
  for (const [, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const name = String(resource.Properties.StateMachineName);
    definitions[name] = JSON.parse(render(resource.Properties.DefinitionString)) as StateMachineDefinition;
  }
  return definitions;
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v['Fn::Join']) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  if (v['Fn::GetAtt']) {
    const [logicalId] = v['Fn::GetAtt'] as [string, string];
    const fn = FUNCTIONS.find(([prefix]) => logicalId.startsWith(prefix));
    if (!fn) throw new Error(`a runbook refers to ${logicalId}, which the sandbox has no function for`);
    return `arn:aws:lambda:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:function:${fn[1]}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}
