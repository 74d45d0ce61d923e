// One tier's Lambda: bundled with local esbuild, Node 24 on arm64, its own log group and a
// role with no managed policy. The configured targets ship inside the bundle as targets.json;
// deploy-time values (tokens) become environment variables, set here next to the file that
// refers to them.

import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
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
      environment: { SIDEKICK_TIER: props.tier, ...environment },
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
