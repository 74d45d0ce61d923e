// Where every command sent into a container is recorded: its own log group, encrypted with
// its own KMS key and kept for a year. Lambdas that run commands get write access and the
// group's name in one call, so the two never drift.

import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface ExecAuditProps {
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly retention?: logs.RetentionDays;
}

export class ExecAudit extends Construct {
  readonly logGroup: logs.LogGroup;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ExecAuditProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'ecs-sidekick exec audit log',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    allowLogsToUseKey(this.key);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/ecs-sidekick/${Stack.of(this).stackName}/audit`,
      encryptionKey: this.key,
      retention: props.retention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Lets the function write audit records, and tells it where. */
  attach(fn: lambda.Function): void {
    this.logGroup.grantWrite(fn);
    fn.addEnvironment('SIDEKICK_AUDIT_LOG_GROUP', this.logGroup.logGroupName);
  }
}

/** CloudWatch Logs encrypts a log group with a customer key only when the key policy lets it. */
export function allowLogsToUseKey(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
        },
      },
    }),
  );
}
