// The `sidekick` command line: each command calls one API route and formats the answer.

import { Command, InvalidArgumentError, Option } from 'commander';
import { TIERS } from '../lambdas/shared/routes';
import { createApiClient } from './api-client';
import { diagnoseCommand } from './commands/diagnose';
import { execCheckCommand, execCommand, shellCommand, signalCommand } from './commands/exec';
import { logsCommand } from './commands/logs';
import {
  backupCommand,
  backupsCommand,
  configDiffCommand,
  configGetCommand,
  configPutCommand,
  configRollbackCommand,
  configVersionsCommand,
  operationCommand,
  restoreCommand,
} from './commands/volumes';
import { RELOADS } from '../lambdas/volumes/contract';
import { RESTART_MODES } from '../lambdas/restart/contract';
import { restartCommand } from './commands/restart';
import { servicesCommand, statusCommand } from './commands/services';
import { Connection, resolveConnection, DEFAULT_STACK, GlobalOptions } from './endpoint';
import { runbookListCommand, runbookStartCommand, runbookStatusCommand } from './commands/runbook';
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

/** What the last command asked the process to exit with (exec passes on the remote exit code). */
let commandExitCode = 0;

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
    (
      action: (ctx: {
        api: ReturnType<typeof createApiClient>;
        out: Output;
        opts: ProgramOptions;
        connection: Connection;
      }) => Promise<unknown>,
    ) =>
    async () => {
      const opts = program.opts<ProgramOptions>();
      const connection = await resolveConnection(opts);
      const code = await action({
        api: createApiClient(connection),
        out: createOutput(opts.output),
        opts,
        connection,
      });
      commandExitCode = typeof code === 'number' ? code : 0;
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

  const target = (c: Command) =>
    c
      .option('--task <id>', 'a task of the service (id or ARN); default: the most recently started')
      .option('--container <name>', "the container; default: the service's first essential container");

  target(
    program
      .command('exec <service> [argv...]')
      .description('run a command in a container and exit with its exit code: sidekick exec web -- ls -la /')
      .option('--all-tasks', 'run it in every running task')
      .option('--timeout <seconds>', 'stop the command after this long (default 20)', integer(1, 840)),
  ).action(
    (
      service: string,
      argv: string[],
      options: { task?: string; container?: string; allTasks?: boolean; timeout?: number },
    ) => run(({ api, out }) => execCommand(api, out, service, argv, options))(),
  );

  target(
    program
      .command('signal <service> <signal>')
      .description('send HUP, USR1, USR2, TERM, INT, QUIT or WINCH to PID 1 of the container')
      .option('--all-tasks', 'send it to every running task'),
  ).action(
    (service: string, signal: string, options: { task?: string; container?: string; allTasks?: boolean }) =>
      run(({ api, out }) => signalCommand(api, out, service, signal, options))(),
  );

  target(
    program
      .command('shell <service> [argv...]')
      .description('an interactive shell (or argv) in a container, through session-manager-plugin'),
  ).action((service: string, argv: string[], options: { task?: string; container?: string }) =>
    run(({ api, opts }) =>
      shellCommand(api, service, argv, { ...options, ...(opts.profile ? { profile: opts.profile } : {}) }),
    )(),
  );

  program
    .command('restart <service>')
    .description('restart a service: a rolling deployment, or its tasks stopped one at a time')
    .addOption(
      new Option('--mode <mode>', 'rolling: a new deployment; stop-tasks: one task at a time')
        .choices([...RESTART_MODES])
        .default('rolling'),
    )
    .option('--timeout <seconds>', 'fail when not steady after this long (default 900)', integer(10, 3600))
    .option('--client-token <token>', 'makes a retry return the same operation instead of starting another')
    .option('--wait', 'follow the rollout until the service is steady; exit 1 if it failed')
    .action(
      (service: string, options: { mode: string; timeout?: number; clientToken?: string; wait?: boolean }) =>
        run(({ api, out }) => restartCommand(api, out, service, options))(),
    );

  const runbook = program
    .command('runbook')
    .description('Step Functions runbooks built from the same Lambdas');
  runbook
    .command('list')
    .description(
      'the runbooks, their state machines and what their input needs (JSON Schema with --output json)',
    )
    .action(run(({ connection, out }) => runbookListCommand(connection, out)));
  runbook
    .command('start <name>')
    .description('start a runbook and follow it state by state; exit 1 unless it succeeds')
    .requiredOption('--service <name>', 'the service it operates')
    .option('--input <file>', 'a JSON file with the rest of the input (see runbook list)')
    .option('--no-wait', 'print the execution ARN and return')
    .action((name: string, options: { service: string; input?: string; wait?: boolean }) =>
      run(({ connection, out }) => runbookStartCommand(connection, out, name, options))(),
    );
  runbook
    .command('status <executionArn>')
    .description("an execution's status, the states it went through, and its result or error")
    .action((arn: string) => run(({ connection, out }) => runbookStatusCommand(connection, out, arn))());

  const job = (c: Command) =>
    c
      .requiredOption('--volume <name>', "the volume, e.g. 'data'")
      .option('--path <path>', 'only this path in the volume')
      .option('--client-token <token>', 'makes a retry return the same operation instead of starting another')
      .option('--wait', 'follow progress until it finishes; exit 1 if it failed');

  job(
    program
      .command('backup <service>')
      .description('back up a volume (or a path in it) to S3 from a sidekick task'),
  ).action(
    (service: string, options: { volume: string; path?: string; clientToken?: string; wait?: boolean }) =>
      run(({ api, out }) => backupCommand(api, out, service, options))(),
  );

  job(
    program
      .command('restore <service> <backupId>')
      .description('verify a backup, then restore it (or a path in it) into its volume'),
  ).action(
    (
      service: string,
      backupId: string,
      options: { volume: string; path?: string; clientToken?: string; wait?: boolean },
    ) => run(({ api, out }) => restoreCommand(api, out, service, backupId, options))(),
  );

  program
    .command('backups <service>')
    .description('complete backups of a service, newest first')
    .option('--volume <name>', 'only this volume')
    .option('--limit <n>', 'at most n backups (default 20)', integer(1, 100))
    .action((service: string, options: { volume?: string; limit?: number }) =>
      run(({ api, out }) => backupsCommand(api, out, service, options))(),
    );

  program
    .command('operation <id>')
    .description('status, progress and result of a backup or restore')
    .option('--wait', 'follow it until it finishes; exit 1 if it failed')
    .action((id: string, options: { wait?: boolean }) =>
      run(({ api, out }) => operationCommand(api, out, id, options))(),
    );

  const config = program.command('config').description('versioned config files on a service volume');
  const file = (c: Command) => c.option('--volume <name>', 'the volume holding the file', 'config');
  const change = (c: Command) =>
    c
      .option(
        '--expected-version <n>',
        'the version you read (default: the current one, read just before)',
        integer(0, 999_999_999),
      )
      .addOption(
        new Option('--reload <how>', 'after writing: a signal to PID 1, or a rolling restart').choices([
          ...RELOADS,
        ]),
      )
      .option(
        '--validate <argv...>',
        'a configured validator to run in the container first; the write is undone if it fails',
      );
  file(config.command('get <service> <path>').description('print a config file (or one of its versions)'))
    .option('--version <n>', 'an earlier version', integer(1, 999_999_999))
    .action((service: string, path: string, options: { volume: string; version?: number }) =>
      run(({ api, out }) => configGetCommand(api, out, { service, path, volume: options.volume }, options))(),
    );
  change(
    file(config.command('put <service> <path> <file>').description('write a local file as the new version')),
  )
    .option('--note <text>', 'a note kept with the version')
    .action(
      (
        service: string,
        path: string,
        local: string,
        options: {
          volume: string;
          expectedVersion?: number;
          reload?: string;
          validate?: string[];
          note?: string;
        },
      ) =>
        run(({ api, out }) =>
          configPutCommand(api, out, { service, path, volume: options.volume }, local, options),
        )(),
    );
  file(config.command('versions <service> <path>').description('versions of a config file, newest first'))
    .option('--limit <n>', 'at most n versions (default 50)', integer(1, 100))
    .action((service: string, path: string, options: { volume: string; limit?: number }) =>
      run(({ api, out }) =>
        configVersionsCommand(api, out, { service, path, volume: options.volume }, options),
      )(),
    );
  file(
    config.command('diff <service> <path> <from> <to>').description('unified diff between two versions'),
  ).action((service: string, path: string, from: string, to: string, options: { volume: string }) =>
    run(({ api, out }) =>
      configDiffCommand(
        api,
        out,
        { service, path, volume: options.volume },
        integer(1, 999_999_999)(from),
        integer(1, 999_999_999)(to),
      ),
    )(),
  );
  change(
    file(
      config
        .command('rollback <service> <path> <version>')
        .description('write an earlier version as the new version'),
    ),
  ).action(
    (
      service: string,
      path: string,
      version: string,
      options: { volume: string; expectedVersion?: number; reload?: string; validate?: string[] },
    ) =>
      run(({ api, out }) =>
        configRollbackCommand(
          api,
          out,
          { service, path, volume: options.volume },
          integer(1, 999_999_999)(version),
          options,
        ),
      )(),
  );

  program
    .command('exec-check <service>')
    .description('can ECS Exec work on each running task, and what to change if not')
    .action((service: string) => run(({ api, out }) => execCheckCommand(api, out, service))());

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    commandExitCode = 0;
    await buildProgram().parseAsync(argv);
    return commandExitCode;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
