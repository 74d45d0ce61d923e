// What the Lambdas that use ECS Exec (breakglass, and the operate tier's signal Lambda) share.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import { ExecHandlerDeps } from '../exec/handler';
import { cloudWatchAuditLog } from '../shared/audit';
import { AwsClients, clientConfig } from '../shared/clients';
import { Targets } from '../shared/targets';

export function createExecDeps(
  clients: Pick<AwsClients, 'ecs' | 'kms' | 'logs'>,
  targets: Targets,
  options: { auditLogGroup: string; region: string; now?: () => number },
): ExecHandlerDeps {
  const now = options.now ?? Date.now;
  return {
    ecs: clients.ecs,
    kms: clients.kms,
    audit: cloudWatchAuditLog(clients.logs, options.auditLogGroup, now),
    targets,
    region: options.region,
    now,
  };
}

/** Settings a Lambda reads from its environment; the stack sets them next to the grants. */
export function execSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const auditLogGroup = env.SIDEKICK_AUDIT_LOG_GROUP;
  const region = env.AWS_REGION;
  if (!auditLogGroup || !region) throw new Error('SIDEKICK_AUDIT_LOG_GROUP and AWS_REGION must be set');
  return { auditLogGroup, region };
}

/** The clients an exec Lambda uses, created once per container. */
export function execClients(): Pick<AwsClients, 'ecs' | 'kms' | 'logs'> {
  const config = clientConfig();
  return { ecs: new ECSClient(config), kms: new KMSClient(config), logs: new CloudWatchLogsClient(config) };
}
