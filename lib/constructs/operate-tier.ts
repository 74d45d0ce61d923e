// The operate tier's main Lambda: starts backups and restores as sidekick tasks, reports and
// reconciles operations (a schedule reconciles the ones nobody asks about), and writes config
// through the volumes' config-files Lambdas, validating and reloading through the signal
// Lambda. It may run only the pinned sidekick task definitions, on their clusters, and pass
// only their roles, only to ECS tasks.

import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { ServiceTarget } from '../config';
import { BackupStorage } from './backup-storage';
import { acknowledgeWildcards, awsArn, grantLogRead, grantServiceRead } from './read-tier';
import { SidekickTask } from './sidekick-task';
import { TierFunction } from './tier-function';

export interface OperateTierProps {
  readonly targets: readonly ServiceTarget[];
  readonly storage: BackupStorage;
  /** The sidekick task of each volume, with the cluster it runs on. */
  readonly sidekicks: readonly { readonly cluster: string; readonly task: SidekickTask }[];
  /** The config-files writers (and readers) it forwards config writes to. */
  readonly configFunctions: readonly lambda.IFunction[];
  /** Runs validators and reload signals. */
  readonly signal: lambda.IFunction;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** How often unfinished operations are reconciled. @default Duration.minutes(5) */
  readonly reconcileEvery?: Duration;
}

export class OperateTier extends Construct {
  readonly lambda: TierFunction;

  constructor(scope: Construct, id: string, props: OperateTierProps) {
    super(scope, id);
    this.lambda = new TierFunction(this, 'Lambda', {
      tier: 'operate',
      entry: join(__dirname, '..', '..', 'lambdas', 'tiers', 'operate.ts'),
      targets: props.targets,
      timeout: Duration.minutes(1),
      description: 'ecs-sidekick operate tier: backups, restores, operations, config writes',
      environment: { SIDEKICK_SIGNAL_FUNCTION: props.signal.functionName },
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    const fn = this.lambda.function;
    const role = this.lambda.role;
    props.storage.configure(fn);
    fn.addEnvironment('SIDEKICK_BUCKET_OWNER', fn.env.account);
    grantServiceRead(role, props.targets);
    this.grantSidekickTasks(role, props);
    this.grantServiceUpdates(role, props.targets);
    props.storage.table.grant(
      role,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
    );
    props.storage.grantCatalogRead(
      role,
      props.targets.map((t) => t.name),
    );
    grantInvokeExactly(role, [...props.configFunctions, props.signal]);
    grantLogRead(role, props.targets);
    this.grantRestarts(fn, props.targets);
    const services = props.targets.map((t) => t.name);
    acknowledgeWildcards(role, [
      ...props.storage.catalogFindings(services),
      ...props.storage.grantDiagnosesWrite(role, services),
    ]);

    new events.Rule(this, 'Reconcile', {
      description: 'ecs-sidekick: fail and stop sidekick tasks that died or passed their time limit',
      schedule: events.Schedule.rate(props.reconcileEvery ?? Duration.minutes(5)),
      targets: [
        new targets.LambdaFunction(fn, {
          event: events.RuleTargetInput.fromObject({ route: 'reapOperations', input: {} }),
        }),
      ],
    });
  }

  private grantSidekickTasks(role: iam.Role, props: OperateTierProps) {
    const clusters = [...new Set(props.sidekicks.map((s) => s.cluster))];
    if (props.sidekicks.length === 0) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunPinnedSidekickTasks',
        actions: ['ecs:RunTask'],
        resources: props.sidekicks.map((s) => s.task.taskDefinition.taskDefinitionArn),
        conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => awsArn('ecs', `cluster/${c}`)) } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StopSidekickTasks',
        actions: ['ecs:StopTask'],
        resources: clusters.map((c) => awsArn('ecs', `task/${c}/*`)),
        conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => awsArn('ecs', `cluster/${c}`)) } },
      }),
    );
    const roles = props.sidekicks.flatMap((s) => [
      s.task.taskDefinition.taskRole.roleArn,
      s.task.taskDefinition.obtainExecutionRole().roleArn,
    ]);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassSidekickRolesToEcsTasksOnly',
        actions: ['iam:PassRole'],
        resources: roles,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /**
   * stop-tasks restarts stop the services' own tasks, and a restart's driver is this function
   * invoked asynchronously. That grant is a policy of its own: in the role's default policy it
   * would make the function depend on its own ARN.
   */
  private grantRestarts(fn: lambda.Function, services: readonly ServiceTarget[]) {
    const clusters = [...new Set(services.map((t) => t.cluster))];
    const policy = new iam.Policy(this, 'RestartDriver', {
      roles: [this.lambda.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DriveRestartsAsynchronously',
          actions: ['lambda:InvokeFunction'],
          resources: [fn.functionArn],
        }),
        new iam.PolicyStatement({
          sid: 'StopServiceTasksForRestarts',
          actions: ['ecs:StopTask'],
          resources: clusters.map((c) => awsArn('ecs', `task/${c}/*`)),
          conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => awsArn('ecs', `cluster/${c}`)) } },
        }),
      ],
    });
    for (const c of clusters) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${c}/*]`,
        reason: `task ids are not known at deploy time; StopTask is limited to tasks of the configured cluster ${c}`,
      });
    }
  }

  /** A rolling restart (config reload) is an UpdateService with forceNewDeployment. */
  private grantServiceUpdates(role: iam.Role, services: readonly ServiceTarget[]) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RestartConfiguredServices',
        actions: ['ecs:UpdateService'],
        resources: services.map((t) => awsArn('ecs', `service/${t.cluster}/${t.service}`)),
      }),
    );
  }
}

/** lambda:InvokeFunction on the functions themselves (not on `:*`, their versions and aliases). */
export function grantInvokeExactly(role: iam.Role, functions: readonly lambda.IFunction[]) {
  if (functions.length === 0) return;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'InvokeSidekickFunctions',
      actions: ['lambda:InvokeFunction'],
      resources: functions.map((f) => f.functionArn),
    }),
  );
}
