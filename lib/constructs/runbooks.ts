// The runbooks as Step Functions standard state machines, built from the same Lambdas as the
// API: logging ALL without execution data (inputs hold config contents), X-Ray tracing, a
// timeout on the whole execution. An execution that is aborted or times out has no failure
// path of its own, so a rule hands it to the operate Lambda, which stops its sidekick tasks
// and releases its leases.

import { CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUNBOOK_ACTIONS, RUNBOOKS, RunbookName } from '../../lambdas/runbooks/inputs';
import { RUNBOOK_DEFINITIONS } from '../runbooks/definitions';
import { grantInvokeExactly } from './operate-tier';
import { awsArn } from './read-tier';

export interface RunbooksProps {
  readonly read: lambda.IFunction;
  readonly operate: lambda.IFunction;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** `config-change` → `ConfigChange`. */
export function runbookId(name: RunbookName): string {
  return name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

export class Runbooks extends Construct {
  readonly machines: Record<RunbookName, sfn.StateMachine>;

  constructor(scope: Construct, id: string, props: RunbooksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const functions = { read: props.read.functionArn, operate: props.operate.functionArn };
    this.machines = {} as Record<RunbookName, sfn.StateMachine>;
    for (const name of RUNBOOKS) {
      const role = new iam.Role(this, `${runbookId(name)}Role`, {
        assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
        description: `ecs-sidekick runbook ${name}`,
      });
      grantInvokeExactly(
        role,
        name === 'diagnose-failed-start' ? [props.read, props.operate] : [props.operate],
      );
      const machine = new sfn.StateMachine(this, runbookId(name), {
        stateMachineName: `${stack.stackName}-${name}`,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(
          stack.toJsonString(RUNBOOK_DEFINITIONS[name](functions)),
        ),
        role,
        tracingEnabled: true,
        logs: {
          destination: new logs.LogGroup(this, `${runbookId(name)}Logs`, {
            retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
          level: sfn.LogLevel.ALL,
          includeExecutionData: false,
        },
      });
      this.machines[name] = machine;
      // X-Ray and log delivery have no resource-level permissions: what CDK grants for them.
      Validations.of(role.node.tryFindChild('DefaultPolicy') ?? role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'xray:PutTraceSegments and logs:*LogDelivery for tracing and logging ALL have no resource-level permissions',
      });
      new CfnOutput(this, `Runbook${runbookId(name)}Arn`, {
        key: `Runbook${runbookId(name)}Arn`,
        value: machine.stateMachineArn,
        description: `ecs-sidekick runbook ${name}`,
      });
    }

    new events.Rule(this, 'ExecutionEnded', {
      description: 'ecs-sidekick: clean up after a runbook execution that was aborted or timed out',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
          stateMachineArn: Object.values(this.machines).map((m) => m.stateMachineArn),
        },
      },
      targets: [
        new targets.LambdaFunction(props.operate, {
          event: events.RuleTargetInput.fromObject({
            route: 'executionEnded',
            input: {
              executionArn: events.EventField.fromPath('$.detail.executionArn'),
              status: events.EventField.fromPath('$.detail.status'),
            },
          }),
        }),
      ],
    });
  }

  /** Start, stop and follow the runbooks (the operate tier), or only follow them (read). */
  grantUse(policy: iam.ManagedPolicy, tier: keyof typeof RUNBOOK_ACTIONS): void {
    const actions = RUNBOOK_ACTIONS[tier];
    const machines = Object.values(this.machines);
    // execution:<state machine name>:<execution name>; every runbook's name starts with the stack's.
    const executions = [awsArn('states', `execution:${Stack.of(this).stackName}-*`)];
    policy.addStatements(
      new iam.PolicyStatement({
        sid: 'UseRunbooks',
        actions: actions.machines.map((a) => `states:${a}`),
        resources: machines.map((m) => m.stateMachineArn),
      }),
      new iam.PolicyStatement({
        sid: 'FollowRunbookExecutions',
        actions: actions.executions.map((a) => `states:${a}`),
        resources: executions,
      }),
    );
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${Stack.of(this).stackName}-*]`,
      reason:
        'execution names are chosen at start; the resource is limited to executions of this stack’s runbooks',
    });
  }
}
