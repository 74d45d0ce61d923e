// The read tier: its Lambda and exactly the permissions it needs to describe the configured
// services and read their log groups.

import { Annotations, Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { ServiceTarget } from '../config';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BackupStorage } from './backup-storage';
import { grantInvokeExactly } from './operate-tier';
import { TierFunction } from './tier-function';

export interface ReadTierProps {
  readonly targets: readonly ServiceTarget[];
  /** Backups are listed and their manifests read from here. */
  readonly storage: BackupStorage;
  /** The config-files readers it forwards config reads to. */
  readonly configReaders: readonly lambda.IFunction[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class ReadTier extends Construct {
  readonly lambda: TierFunction;

  constructor(scope: Construct, id: string, props: ReadTierProps) {
    super(scope, id);
    this.lambda = new TierFunction(this, 'Lambda', {
      tier: 'read',
      entry: join(__dirname, '..', '..', 'lambdas', 'tiers', 'read.ts'),
      targets: props.targets,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    grantServiceRead(this.lambda.role, props.targets);
    grantLogRead(this.lambda.role, props.targets);
    grantExecCheck(this.lambda.role, props.targets);
    const { storage } = props;
    storage.configure(this.lambda.function);
    this.lambda.function.addEnvironment('SIDEKICK_BUCKET_OWNER', this.lambda.function.env.account);
    storage.grantCatalogRead(
      this.lambda.role,
      props.targets.map((t) => t.name),
    );
    grantInvokeExactly(this.lambda.role, props.configReaders);
    acknowledgeWildcards(this.lambda.role, storage.catalogFindings(props.targets.map((t) => t.name)));
  }
}

/** What exec-check reads: cluster exec settings, the session log group, task role policies. */
export function grantExecCheck(role: iam.Role, targets: readonly ServiceTarget[]) {
  const clusters = [...new Set(targets.map((t) => t.cluster))];
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadClusterExecSettings',
      actions: ['ecs:DescribeClusters'],
      resources: clusters.map((c) => awsArn('ecs', `cluster/${c}`)),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'FindExecSessionLogGroup',
      actions: ['logs:DescribeLogGroups'],
      resources: [awsArn('logs', 'log-group:*')],
    }),
  );
  // Task roles of the configured services are not known at deploy time: any role's policies
  // may be read (read-only, no secrets in policies).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadTaskRolePolicies',
      actions: ['iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies'],
      resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/*`],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadAttachedPolicies',
      actions: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
      resources: [
        `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/*`,
        `arn:${Aws.PARTITION}:iam::aws:policy/*`,
      ],
    }),
  );
  acknowledgeWildcards(role, [
    [
      'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
      'DescribeLogGroups lists groups by prefix; it reads names and settings, never events',
    ],
    [
      'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*',
      "exec-check reads the policies of the services' task roles, which are not known at deploy time",
    ],
    [
      'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*',
      'exec-check reads the managed policies attached to those task roles',
    ],
    [
      'Resource::arn:<AWS::Partition>:iam::aws:policy/*',
      'exec-check reads the AWS managed policies attached to those task roles',
    ],
  ]);
}

/** ECS describe and list calls on the configured clusters and services only. */
export function grantServiceRead(role: iam.Role, targets: readonly ServiceTarget[]) {
  const clusters = [...new Set(targets.map((t) => t.cluster))];
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DescribeConfiguredServices',
      actions: ['ecs:DescribeServices'],
      resources: targets.map((t) => awsArn('ecs', `service/${t.cluster}/${t.service}`)),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DescribeTasksOfConfiguredClusters',
      actions: ['ecs:DescribeTasks'],
      resources: clusters.map((c) => awsArn('ecs', `task/${c}/*`)),
    }),
  );
  // ListTasks authorizes on container instances, which Fargate tasks have none of; the
  // ecs:cluster condition is what scopes it.
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ListTasksOfConfiguredClusters',
      actions: ['ecs:ListTasks'],
      resources: ['*'],
      conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => awsArn('ecs', `cluster/${c}`)) } },
    }),
  );
  // DescribeTaskDefinition has no resource-level permissions (same reference as above).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadTaskDefinitions',
      actions: ['ecs:DescribeTaskDefinition'],
      resources: ['*'],
    }),
  );
  acknowledgeWildcards(role, [
    [
      'Resource::*',
      'ecs:ListTasks (scoped by the ecs:cluster condition) and ecs:DescribeTaskDefinition have no resource-level permissions',
    ],
    ...clusters.map((c): [string, string] => [
      `Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${c}/*`,
      `task ids are not known at deploy time; the resource is limited to tasks of the configured cluster ${c}`,
    ]),
  ]);
}

/** logs:GetLogEvents/FilterLogEvents on the configured log groups. */
export function grantLogRead(role: iam.Role, targets: readonly ServiceTarget[]) {
  const unscoped = targets.filter((t) => !t.logGroups).map((t) => t.name);
  const groups = [...new Set(targets.flatMap((t) => t.logGroups ?? []))];
  const groupArn = (name: string) => awsArn('logs', `log-group:${name}`);
  const resources =
    unscoped.length > 0 ? [groupArn('*')] : groups.flatMap((g) => [groupArn(g), `${groupArn(g)}:*`]);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadServiceLogs',
      actions: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
      resources,
    }),
  );
  if (unscoped.length > 0) {
    Annotations.of(role).addWarningV2(
      'ecs-sidekick:unscoped-logs',
      `services ${unscoped.join(', ')} have no logGroups in the config, so the read tier may read every log group in the account. ` +
        'Set services.<name>.logGroups to scope it.',
    );
    acknowledgeWildcards(role, [
      [
        'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
        `no logGroups configured for ${unscoped.join(', ')} (see the synth warning)`,
      ],
    ]);
  } else {
    acknowledgeWildcards(
      role,
      groups.map((g): [string, string] => [
        `Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${g}:*`,
        `the streams of log group ${g} are named per task; the group is the configured one`,
      ]),
    );
  }
}

/**
 * An ARN in this stack's partition, Region and account. Pseudo parameters (not the concrete
 * env) keep the rendering cdk-nag reports stable, so the acknowledgements below match it.
 */
export function awsArn(service: string, resource: string): string {
  return `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
}

/** Acknowledges cdk-nag IAM5 findings on a role's default policy, one finding at a time. */
export function acknowledgeWildcards(role: iam.Role, findings: readonly (readonly [string, string])[]) {
  const policy = role.node.tryFindChild('DefaultPolicy') ?? role;
  for (const [finding, reason] of findings) {
    Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}
