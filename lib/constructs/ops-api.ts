// The REST API: every route of the route table as an AWS_IAM method on its tier's Lambda,
// a request validator, JSON access logs with the caller's ARN, stage throttling, and one
// managed policy per tier that callers attach to use exactly that tier's routes.

import { Aws, CfnElement, CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  functionOf,
  FunctionName,
  pathParameterNames,
  ROUTES,
  ROUTE_IDS,
  Tier,
  TIERS,
} from '../../lambdas/shared/routes';
import { PolicyStatementJson, tierPolicyStatements } from '../tier-policy';

export interface OpsApiProps {
  /** The Lambda serving each tier's routes (and the operate tier's signal Lambda). */
  readonly functions: Partial<Record<FunctionName, lambda.IFunction>>;
  /** @default 'v1' */
  readonly stageName?: string;
  /** Steady-state requests per second for the whole stage. @default 20 */
  readonly rateLimit?: number;
  /** @default 40 */
  readonly burstLimit?: number;
  /** @default logs.RetentionDays.ONE_YEAR - access logs are the audit trail of who called what */
  readonly accessLogRetention?: logs.RetentionDays;
}

export class OpsApi extends Construct {
  readonly api: apigw.RestApi;
  readonly stageName: string;
  readonly tierPolicies: Partial<Record<Tier, iam.ManagedPolicy>> = {};

  constructor(scope: Construct, id: string, props: OpsApiProps) {
    super(scope, id);
    this.stageName = props.stageName ?? 'v1';
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${Aws.STACK_NAME}-ops`,
      description: 'ecs-sidekick: ops for ECS/Fargate services over IAM-signed HTTPS',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // Execution logs (ERROR level) need API Gateway's account-wide CloudWatch role.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: this.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigw.AccessLogField.contextRequestId(),
            time: apigw.AccessLogField.contextRequestTime(),
            caller: apigw.AccessLogField.contextIdentityUserArn(),
            sourceIp: apigw.AccessLogField.contextIdentitySourceIp(),
            method: apigw.AccessLogField.contextHttpMethod(),
            resource: apigw.AccessLogField.contextResourcePath(),
            path: apigw.AccessLogField.contextPath(),
            status: apigw.AccessLogField.contextStatus(),
            latencyMs: apigw.AccessLogField.contextResponseLatency(),
            error: apigw.AccessLogField.contextErrorMessage(),
          }),
        ),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Off: data traces would copy bodies (command output, config) into the logs.
        dataTraceEnabled: false,
        tracingEnabled: true,
        metricsEnabled: true,
        throttlingRateLimit: props.rateLimit ?? 20,
        throttlingBurstLimit: props.burstLimit ?? 40,
      },
    });
    const validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    for (const id of ROUTE_IDS) {
      const route = ROUTES[id];
      const fn = props.functions[functionOf(id)];
      if (!fn) continue;
      const resource = this.api.root.resourceForPath(route.path);
      const method = resource.addMethod(
        route.method,
        new apigw.LambdaIntegration(fn, { allowTestInvoke: false }),
        {
          authorizationType: apigw.AuthorizationType.IAM,
          requestValidator: validator,
          requestParameters: {
            ...Object.fromEntries(
              pathParameterNames(route.path).map((p) => [`method.request.path.${p}`, true]),
            ),
            ...Object.fromEntries(route.query.map((q) => [`method.request.querystring.${q}`, false])),
          },
          operationName: id,
        },
      );
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: 'Callers authenticate with IAM (SigV4) by design; tier policies decide who may call what.',
      });
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'IAM-only API with stage throttling; a WAF web ACL can be attached per deployment if wanted.',
    });
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account-level logging role uses AWS's managed policy made for it.",
      });
    }

    const arnBase = `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${this.api.restApiId}/${this.stageName}`;
    for (const tier of TIERS) {
      const statements = tierPolicyStatements(tier, arnBase);
      if (
        statements.length === 0 ||
        !ROUTE_IDS.some((id) => ROUTES[id].tier === tier && props.functions[functionOf(id)])
      )
        continue;
      const policy = new iam.ManagedPolicy(this, `${capitalize(tier)}Policy`, {
        description: `ecs-sidekick ${tier} tier: execute-api:Invoke on exactly the ${tier} routes`,
        statements: statements.map(toStatement),
      });
      this.tierPolicies[tier] = policy;
      this.acknowledgePathParameters(policy, statements);
    }

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      key: 'ApiUrl',
      description: 'ecs-sidekick API URL',
    });
    for (const [tier, policy] of Object.entries(this.tierPolicies)) {
      new CfnOutput(this, `${capitalize(tier)}PolicyArn`, {
        key: `${capitalize(tier)}PolicyArn`,
        value: policy.managedPolicyArn,
        description: `Attach to callers of the ${tier} tier`,
      });
    }
  }

  /** Each `*` in a tier policy stands for a path parameter such as {service}. */
  private acknowledgePathParameters(policy: iam.ManagedPolicy, statements: readonly PolicyStatementJson[]) {
    const stack = Stack.of(this);
    const apiLogicalId = stack.resolve(
      stack.getLogicalId(this.api.node.defaultChild as CfnElement),
    ) as string;
    const rendered = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${this.stageName}/`;
    const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Resource);
    for (const resource of allowed) {
      const suffix = resource.slice(resource.indexOf(`/${this.stageName}/`) + this.stageName.length + 2);
      if (!suffix.includes('*')) continue;
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${rendered}${suffix}]`,
        reason:
          'Each * is one path parameter of the route (e.g. {service}); the policy lists the routes one by one.',
      });
    }
  }
}

function toStatement(s: PolicyStatementJson): iam.PolicyStatement {
  return new iam.PolicyStatement({
    effect: s.Effect === 'Allow' ? iam.Effect.ALLOW : iam.Effect.DENY,
    actions: [s.Action],
    resources: s.Resource,
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
