// Where the CLI sends requests and with which credentials: --endpoint (or SIDEKICK_ENDPOINT)
// with the default AWS credential chain; else a running sandbox's .sidekick/sandbox.json;
// else the ApiUrl output of the deployed stack.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { z } from 'zod/v3';
import { Tier, TIERS } from '../lambdas/shared/routes';
import { CliError } from './errors';

export interface GlobalOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly stack?: string;
  /** Sandbox only: the tier identity to sign as, or 'none' to send unsigned. */
  readonly as?: Tier | 'none';
}

export interface Connection {
  readonly apiUrl: string;
  readonly region: string;
  /** Credentials for a route's tier; undefined = send unsigned. */
  credentialsFor(tier: Tier): AwsCredentialIdentityProvider | AwsCredentialIdentity | undefined;
  readonly source: 'flag' | 'sandbox' | 'stack';
  /** The runbooks' state machines, and the Step Functions endpoint when it is not AWS's. */
  runbooks?(): Promise<Runbooks>;
}

export interface Runbooks {
  readonly endpoint?: string;
  /** Runbook name → state machine ARN. */
  readonly machines: Record<string, string>;
}

export const DEFAULT_STACK = 'EcsSidekick';

const SandboxFile = z.object({
  apiUrl: z.string().url(),
  region: z.string(),
  identities: z.record(z.enum(TIERS), z.object({ accessKeyId: z.string(), secretAccessKey: z.string() })),
  stepFunctionsEndpoint: z.string().url().optional(),
  runbooks: z.record(z.string()).optional(),
});

export async function resolveConnection(options: GlobalOptions, cwd = process.cwd()): Promise<Connection> {
  const explicit = options.endpoint ?? process.env.SIDEKICK_ENDPOINT;
  if (explicit) {
    const region = options.region ?? regionOf(explicit) ?? defaultRegion();
    return viaCredentialChain(explicit.replace(/\/$/, ''), region, options, 'flag', () =>
      stackRunbooks(options.stack ?? process.env.SIDEKICK_STACK ?? DEFAULT_STACK, region, options.profile),
    );
  }
  const sandboxFile = findUp(cwd, join('.sidekick', 'sandbox.json'));
  if (sandboxFile && !options.stack) {
    const parsed = SandboxFile.safeParse(JSON.parse(readFileSync(sandboxFile, 'utf8')));
    if (!parsed.success)
      throw new CliError(`${sandboxFile} is not a sandbox file; delete it or pass --endpoint`);
    const sandbox = parsed.data;
    return {
      apiUrl: sandbox.apiUrl,
      region: sandbox.region,
      source: 'sandbox',
      credentialsFor: (tier) => {
        const as = options.as ?? tier;
        return as === 'none' ? undefined : sandbox.identities[as];
      },
      runbooks: async () => ({
        ...(sandbox.stepFunctionsEndpoint ? { endpoint: sandbox.stepFunctionsEndpoint } : {}),
        machines: sandbox.runbooks ?? {},
      }),
    };
  }
  const stack = options.stack ?? process.env.SIDEKICK_STACK ?? DEFAULT_STACK;
  const region = options.region ?? defaultRegion();
  const outputs = await stackOutputs(stack, region, options.profile);
  const apiUrl = outputs.ApiUrl;
  if (!apiUrl) throw new CliError(`stack ${stack} has no ApiUrl output; is it an ecs-sidekick stack?`);
  return viaCredentialChain(apiUrl.replace(/\/$/, ''), region, options, 'stack', async () => ({
    machines: runbooksOf(outputs),
  }));
}

function viaCredentialChain(
  apiUrl: string,
  region: string,
  options: GlobalOptions,
  source: Connection['source'],
  runbooks: () => Promise<Runbooks>,
): Connection {
  const chain = fromNodeProviderChain(options.profile ? { profile: options.profile } : {});
  return {
    apiUrl,
    region,
    source,
    credentialsFor: () => (options.as === 'none' ? undefined : chain),
    runbooks,
  };
}

async function stackOutputs(
  stack: string,
  region: string,
  profile: string | undefined,
): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient({
    region,
    credentials: fromNodeProviderChain(profile ? { profile } : {}),
  });
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    return Object.fromEntries(
      (out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    throw new CliError(
      `no endpoint: pass --endpoint, start the sandbox (npm start), or deploy the stack (${stack} in ${region}: ${(error as Error).message})`,
    );
  }
}

async function stackRunbooks(stack: string, region: string, profile: string | undefined): Promise<Runbooks> {
  return { machines: runbooksOf(await stackOutputs(stack, region, profile)) };
}

/** Outputs `Runbook<Name>Arn` → `{ '<name>': arn }` (`RunbookConfigChangeArn` → `config-change`). */
function runbooksOf(outputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(outputs)
      .filter(([key]) => /^Runbook[A-Za-z]+Arn$/.test(key))
      .map(([key, arn]) => [
        key
          .slice('Runbook'.length, -'Arn'.length)
          .replace(/[A-Z]/g, (c, i: number) => `${i ? '-' : ''}${c.toLowerCase()}`),
        arn,
      ]),
  );
}

/** `https://abc.execute-api.eu-west-1.amazonaws.com/v1` → eu-west-1 */
function regionOf(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1];
}

function defaultRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

function findUp(from: string, relative: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
