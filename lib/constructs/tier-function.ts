// One tier's Lambda: bundled with local esbuild, Node 24 on arm64, its own log group and a
// role with no managed policy. The configured targets ship inside the bundle as targets.json;
// deploy-time values (tokens) become environment variables, set here next to the file that
// refers to them.

import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ServiceTarget } from '../config';
import { bundleLambda } from '../bundling';
import { TARGETS_FILE } from '../../lambdas/shared/targets';
import { Tier } from '../../lambdas/shared/routes';

export interface TierFunctionProps {
  readonly tier: Tier;
  /** Path of the handler module (exports `handler`). */
  readonly entry: string;
  readonly targets: readonly ServiceTarget[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default Duration.seconds(30) - API Gateway stops waiting at 29 s */
  readonly timeout?: Duration;
  /** @default 512 - more memory also means more CPU during cold start */
  readonly memorySize?: number;
  /** @default - names the tier */
  readonly description?: string;
  /** Runs the function in these subnets (a config-files Lambda reaching EFS). @default - no VPC */
  readonly network?: FunctionNetwork;
  /** An EFS access point to mount. @default - none */
  readonly filesystem?: lambda.FileSystem;
  /** @default - only the targets' deploy-time values */
  readonly environment?: Record<string, string>;
}

export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

export class TierFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TierFunctionProps) {
    super(scope, id);
    const { json, environment } = externalizeTokens(props.targets);
    const bundle = bundleLambda(props.entry, { [TARGETS_FILE]: json });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `ecs-sidekick ${props.tier} tier Lambda`,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new lambda.Function(this, 'Function', {
      description: props.description ?? `ecs-sidekick ${props.tier} tier`,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(bundle.dir),
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { SIDEKICK_TIER: props.tier, ...environment, ...props.environment },
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnets: [...props.network.subnets] },
            securityGroups: [...props.network.securityGroups],
            // The functions reach only EFS in their own VPC, never the internet.
            allowPublicSubnet: true,
          }
        : {}),
      ...(props.filesystem ? { filesystem: props.filesystem } : {}),
    });
  }
}

/**
 * Serialises the targets; every string that is a deploy-time token becomes `${env:NAME}` and
 * its value an environment variable, so the file needs no resolution at deploy time.
 */
export function externalizeTokens(targets: readonly ServiceTarget[]): {
  json: string;
  environment: Record<string, string>;
} {
  const environment: Record<string, string> = {};
  const json = JSON.stringify(targets, (_, value: unknown) => {
    if (typeof value === 'string' && Token.isUnresolved(value)) {
      const name = `SIDEKICK_REF_${Object.keys(environment).length}`;
      environment[name] = value;
      return `\${env:${name}}`;
    }
    return value;
  });
  return { json, environment };
}
