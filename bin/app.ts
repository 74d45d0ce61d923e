// The CDK app: config → stack, with the cdk-nag AwsSolutions checks.

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, findConfig } from '../lib/config';
import { SidekickStack } from '../lib/sidekick-stack';

const app = new App();
let config;
try {
  config = findConfig(
    (app.node.tryGetContext('config') as string | undefined) ?? process.env.SIDEKICK_CONFIG,
  );
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
new SidekickStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'EcsSidekick', {
  ...(config ? { config } : {}),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description:
    'ecs-sidekick: IAM-scoped ops API for ECS/Fargate (logs, diagnosis, exec, signals, backups, config)',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
