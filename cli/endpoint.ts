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
}

export const DEFAULT_STACK = 'EcsSidekick';

const SandboxFile = z.object({
  apiUrl: z.string().url(),
  region: z.string(),
  identities: z.record(z.enum(TIERS), z.object({ accessKeyId: z.string(), secretAccessKey: z.string() })),
});

export async function resolveConnection(options: GlobalOptions, cwd = process.cwd()): Promise<Connection> {
  const explicit = options.endpoint ?? process.env.SIDEKICK_ENDPOINT;
  if (explicit) {
    return viaCredentialChain(
      explicit.replace(/\/$/, ''),
      options.region ?? regionOf(explicit) ?? defaultRegion(),
      options,
      'flag',
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
    };
  }
  const stack = options.stack ?? process.env.SIDEKICK_STACK ?? DEFAULT_STACK;
  const region = options.region ?? defaultRegion();
  const apiUrl = await stackApiUrl(stack, region, options.profile);
  return viaCredentialChain(apiUrl, region, options, 'stack');
}

function viaCredentialChain(
  apiUrl: string,
  region: string,
  options: GlobalOptions,
  source: Connection['source'],
): Connection {
  const chain = fromNodeProviderChain(options.profile ? { profile: options.profile } : {});
  return { apiUrl, region, source, credentialsFor: () => (options.as === 'none' ? undefined : chain) };
}

async function stackApiUrl(stack: string, region: string, profile: string | undefined): Promise<string> {
  const cfn = new CloudFormationClient({
    region,
    credentials: fromNodeProviderChain(profile ? { profile } : {}),
  });
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    const url = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'ApiUrl')?.OutputValue;
    if (!url) throw new CliError(`stack ${stack} has no ApiUrl output; is it an ecs-sidekick stack?`);
    return url.replace(/\/$/, '');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `no endpoint: pass --endpoint, start the sandbox (npm start), or deploy the stack (${stack} in ${region}: ${(error as Error).message})`,
    );
  }
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
