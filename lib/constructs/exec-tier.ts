// The Lambdas that may use ECS Exec: the breakglass tier's (exec, interactive sessions) and
// the operate tier's signal Lambda (sends only allowlisted signals to PID 1). Both may call
// ecs:ExecuteCommand only on the configured clusters, and only into the configured containers
// when the config lists them; kms:GenerateDataKey only on the configured exec session keys;
// and both write the exec audit log.

import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { ServiceTarget } from '../config';
import { groupBy } from '../../lambdas/shared/collections';
import { ExecAudit } from './exec-audit';
import { awsArn, grantServiceRead } from './read-tier';
import { TierFunction } from './tier-function';

export interface ExecFunctionsProps {
  readonly targets: readonly ServiceTarget[];
  readonly audit: ExecAudit;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const LAMBDAS = join(__dirname, '..', '..', 'lambdas', 'tiers');

export class ExecFunctions extends Construct {
  /** exec and sessions. */
  readonly breakglass: TierFunction;
  /** signal (operate tier). */
  readonly signal: TierFunction;

  constructor(scope: Construct, id: string, props: ExecFunctionsProps) {
    super(scope, id);
    const common = {
      targets: props.targets,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    };
    // Up to 14 minutes for direct invocations (Step Functions); API Gateway stops at 29 s.
    this.breakglass = new TierFunction(this, 'Breakglass', {
      tier: 'breakglass',
      entry: join(LAMBDAS, 'breakglass.ts'),
      timeout: Duration.minutes(15),
      ...common,
    });
    this.signal = new TierFunction(this, 'Signal', {
      tier: 'operate',
      entry: join(LAMBDAS, 'signal.ts'),
      timeout: Duration.minutes(1),
      description: 'ecs-sidekick operate tier: signals to PID 1 (allowlisted) through ECS Exec',
      ...common,
    });
    for (const fn of [this.breakglass, this.signal]) {
      grantServiceRead(fn.role, props.targets);
      grantExecuteCommand(fn.role, props.targets);
      props.audit.attach(fn.function);
    }
  }
}

/** ecs:ExecuteCommand on the configured clusters (and containers), kms:GenerateDataKey on their session keys. */
export function grantExecuteCommand(role: iam.Role, targets: readonly ServiceTarget[]) {
  for (const [cluster, ts] of groupBy(targets, (t) => t.cluster)) {
    // A container condition only when every service on the cluster lists its containers.
    const containers = ts.every((t) => t.containers)
      ? [...new Set(ts.flatMap((t) => t.containers ?? []))]
      : undefined;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:ExecuteCommand'],
        resources: [awsArn('ecs', `cluster/${cluster}`), awsArn('ecs', `task/${cluster}/*`)],
        conditions: {
          ArnEquals: { 'ecs:cluster': awsArn('ecs', `cluster/${cluster}`) },
          ...(containers ? { StringEquals: { 'ecs:container-name': containers } } : {}),
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeClusters'],
        resources: [awsArn('ecs', `cluster/${cluster}`)],
      }),
    );
  }
  const keys = [...new Set(targets.flatMap((t) => (t.execKmsKeyArn ? [t.execKmsKeyArn] : [])))];
  if (keys.length > 0) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: keys }));
  }
}
