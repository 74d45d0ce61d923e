// The `sidekick` command line: each command calls one API route and formats the answer.

import { Command, InvalidArgumentError, Option } from 'commander';
import { TIERS } from '../lambdas/shared/routes';
import { createApiClient } from './api-client';
import { diagnoseCommand } from './commands/diagnose';
import { logsCommand } from './commands/logs';
import { servicesCommand, statusCommand } from './commands/services';
import { resolveConnection, DEFAULT_STACK, GlobalOptions } from './endpoint';
import { CliError } from './errors';
import { createOutput, Output } from './output';

interface ProgramOptions extends GlobalOptions {
  readonly output: 'table' | 'json';
}

function integer(min: number, max: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  };
}

export function buildProgram(): Command {
  const program = new Command()
    .name('sidekick')
    .description('ecs-sidekick: ops for ECS/Fargate services over an IAM-signed API, no ssh')
    .option(
      '--endpoint <url>',
      'API URL (default: SIDEKICK_ENDPOINT, the running sandbox, or the stack output)',
    )
    .option('--stack <name>', `CloudFormation stack to read the API URL from (default ${DEFAULT_STACK})`)
    .option('--region <region>', 'AWS Region (default: AWS_REGION or the endpoint)')
    .option('--profile <name>', 'AWS profile for signing')
    .addOption(
      new Option('--as <tier>', 'sandbox only: sign as this tier identity, or none').choices([
        ...TIERS,
        'none',
      ]),
    )
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .showHelpAfterError()
    // Set before the subcommands exist, so they inherit it: usage errors reach main() and exit 2.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  const run =
    (action: (ctx: { api: ReturnType<typeof createApiClient>; out: Output }) => Promise<unknown>) =>
    async () => {
      const opts = program.opts<ProgramOptions>();
      const connection = await resolveConnection(opts);
      await action({ api: createApiClient(connection), out: createOutput(opts.output) });
    };

  program
    .command('services')
    .description('configured services with their task counts and deployments')
    .action(run(({ api, out }) => servicesCommand(api, out)));

  program
    .command('status <service>')
    .description("a service's tasks, deployments and recent events")
    .action((service: string) => run(({ api, out }) => statusCommand(api, out, service))());

  program
    .command('logs <service>')
    .description('CloudWatch Logs of a service, task or container')
    .option('--since <time>', "start: ISO time, epoch ms, or a duration back such as '15m' (default 15m)")
    .option('--until <time>', 'end (exclusive); without it the range runs up to now')
    .option('--filter <pattern>', 'CloudWatch Logs filter pattern')
    .option('--task <id>', 'only this task (id or ARN)')
    .option('--container <name>', 'only this container')
    .option('--limit <n>', 'print at most n events', integer(1, 1_000_000_000))
    .option('--cursor <cursor>', 'resume from a cursor printed earlier')
    .option('-f, --follow', 'keep printing new lines as they arrive')
    .option('--interval <seconds>', 'seconds between polls when following (default 2)', integer(1, 300))
    .action((service: string, options: Record<string, unknown>) =>
      run(async ({ api, out }) => {
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        await logsCommand(api, out, service, { ...options, signal: abort.signal });
      })(),
    );

  program
    .command('diagnose <service>')
    .description('why tasks stopped or never started, with a hint and the next step')
    .option('--tasks <n>', 'how many recently stopped tasks to examine (default 5)', integer(1, 10))
    .option('--lines <n>', 'last log lines per container (default 50)', integer(0, 50))
    .action((service: string, options: { tasks?: number; lines?: number }) =>
      run(({ api, out }) => diagnoseCommand(api, out, service, options))(),
    );

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
