// Task history: ECS describes a stopped task for about an hour. A rule sends each task of a
// configured service that stops to the operate Lambda, which keeps it in a table for the
// configured retention; diagnose (read Lambda) reads it back.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ServiceTarget } from '../config';
import { awsArn } from './read-tier';

export interface TaskHistoryProps {
  readonly targets: readonly ServiceTarget[];
  /** Records the stops. */
  readonly recorder: lambda.Function;
  /** Read the history (diagnose). */
  readonly readers: readonly lambda.Function[];
  /** @default 30 */
  readonly retentionDays?: number;
}

export class TaskHistory extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: TaskHistoryProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'service', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const days = String(props.retentionDays ?? 30);
    this.table.grant(props.recorder, 'dynamodb:PutItem');
    props.recorder.addEnvironment('SIDEKICK_HISTORY_TABLE', this.table.tableName);
    props.recorder.addEnvironment('SIDEKICK_HISTORY_DAYS', days);
    for (const reader of props.readers) {
      this.table.grant(reader, 'dynamodb:Query');
      reader.addEnvironment('SIDEKICK_HISTORY_TABLE', this.table.tableName);
      reader.addEnvironment('SIDEKICK_HISTORY_DAYS', days);
    }

    const clusters = [...new Set(props.targets.map((t) => t.cluster))];
    new events.Rule(this, 'TaskStopped', {
      description: 'ecs-sidekick: keep the stopped tasks of the configured services for diagnose',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: clusters.map((c) => awsArn('ecs', `cluster/${c}`)),
          lastStatus: ['STOPPED'],
          group: props.targets.map((t) => `service:${t.service}`),
        },
      },
      targets: [
        new targets.LambdaFunction(props.recorder, {
          event: events.RuleTargetInput.fromObject({
            route: 'recordTaskStop',
            input: events.EventField.fromPath('$.detail'),
          }),
        }),
      ],
    });
  }
}
