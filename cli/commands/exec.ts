// `sidekick exec`, `sidekick signal`, `sidekick shell` and `sidekick exec-check`.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  ExecCheckReport,
  ExecResult,
  InteractiveSession,
  SignalName,
  SignalResult,
} from '../../lambdas/exec/contract';
import { ApiClient } from '../api-client';
import { CliError } from '../errors';
import { shortTask, table } from '../format';
import { Output } from '../output';

export interface TargetOptions {
  readonly task?: string;
  readonly container?: string;
  readonly allTasks?: boolean;
}

/** Exit code of a command that ran out of time, as `timeout(1)` reports it. */
export const TIMED_OUT_EXIT = 124;

/** Runs argv in the service and returns the exit code the CLI should exit with. */
export async function execCommand(
  api: ApiClient,
  out: Output,
  service: string,
  argv: string[],
  options: TargetOptions & { timeout?: number },
): Promise<number> {
  if (argv.length === 0)
    throw new CliError('give the command after --, e.g. sidekick exec web -- ls -la /', 2);
  const body = {
    command: argv,
    ...(options.task ? { task: options.task } : {}),
    ...(options.container ? { container: options.container } : {}),
    ...(options.allTasks ? { allTasks: true } : {}),
    ...(options.timeout ? { timeoutSeconds: options.timeout } : {}),
  };
  const response = await api.call<ExecResult | { results: ExecResult[] }>('exec', { service }, {}, body);
  const results = 'results' in response ? response.results : [response];
  if (out.json) {
    out.print(response);
  } else {
    for (const r of results) {
      if (results.length > 1)
        process.stdout.write(`== task ${shortTask(r.task)} (${r.container}): ${describeEnd(r)}\n`);
      process.stdout.write(r.output);
      if (r.output && !r.output.endsWith('\n')) process.stdout.write('\n');
      if (r.truncated)
        process.stderr.write(`note: output cut to ${r.output.length} of ${r.outputBytes} bytes\n`);
      if (r.error) process.stderr.write(`error: task ${shortTask(r.task)}: ${r.error}\n`);
      if (r.timedOut) process.stderr.write(`error: task ${shortTask(r.task)}: timed out\n`);
    }
  }
  return exitCodeOf(results);
}

function describeEnd(r: ExecResult): string {
  if (r.timedOut) return 'timed out';
  if (r.error) return `error: ${r.error}`;
  return `exit ${r.exitCode ?? '?'}`;
}

export function exitCodeOf(results: readonly ExecResult[]): number {
  for (const r of results) {
    if (r.timedOut) return TIMED_OUT_EXIT;
    if (r.exitCode === null) return 1;
    if (r.exitCode !== 0) return r.exitCode;
  }
  return 0;
}

export async function signalCommand(
  api: ApiClient,
  out: Output,
  service: string,
  signal: string,
  options: TargetOptions,
): Promise<number> {
  const response = await api.call<{ signal: SignalName; results: SignalResult[] }>(
    'signal',
    { service },
    {},
    {
      signal: signal.toUpperCase().replace(/^SIG/, ''),
      ...(options.task ? { task: options.task } : {}),
      ...(options.container ? { container: options.container } : {}),
      ...(options.allTasks ? { allTasks: true } : {}),
    },
  );
  if (out.json) {
    out.print(response);
  } else {
    for (const r of response.results) {
      const outcome = r.delivered
        ? 'delivered'
        : `not delivered (${r.error ?? r.output.trim() ?? `exit ${r.exitCode}`})`;
      out.print(`${response.signal} → task ${shortTask(r.task)} (${r.container}) PID 1: ${outcome}`);
    }
  }
  return response.results.every((r) => r.delivered) ? 0 : 1;
}

const PLUGIN = 'session-manager-plugin';
const INSTALL_HINT =
  `${PLUGIN} is not installed (or not on PATH). Install it from ` +
  'https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html, then run this again.';

export async function shellCommand(
  api: ApiClient,
  service: string,
  argv: string[],
  options: TargetOptions & { profile?: string },
): Promise<number> {
  const plugin = findOnPath(PLUGIN);
  if (!plugin) throw new CliError(INSTALL_HINT);
  const session = await api.call<InteractiveSession>(
    'sessions',
    { service },
    {},
    {
      ...(argv.length ? { command: argv } : {}),
      ...(options.task ? { task: options.task } : {}),
      ...(options.container ? { container: options.container } : {}),
    },
  );
  process.stderr.write(
    `Starting session ${session.sessionId} in task ${shortTask(session.task)} (${session.container})…\n`,
  );
  // The same arguments the AWS CLI passes for `aws ecs execute-command`.
  const args = [
    JSON.stringify({
      SessionId: session.sessionId,
      StreamUrl: session.streamUrl,
      TokenValue: session.tokenValue,
    }),
    session.region,
    'StartSession',
    options.profile ?? '',
    JSON.stringify({ Target: session.target }),
    `https://ecs.${session.region}.amazonaws.com`,
  ];
  return new Promise((resolve) => {
    const child = spawn(plugin, args, { stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', (error) => {
      process.stderr.write(`error: ${PLUGIN}: ${error.message}\n`);
      resolve(1);
    });
  });
}

export async function execCheckCommand(api: ApiClient, out: Output, service: string): Promise<number> {
  const report = await api.call<ExecCheckReport>('execCheck', { service });
  if (out.json) {
    out.print(report);
    return report.ready ? 0 : 1;
  }
  out.print(
    `${report.service}: ECS Exec ${report.ready ? 'can work on every running task' : 'cannot work everywhere yet'}\n`,
  );
  const rows = [
    ...report.cluster.map((c) => ['cluster', c.status, c.name, c.detail, c.fix ?? '']),
    ...report.tasks.flatMap((t) =>
      t.checks.map((c) => [`task ${shortTask(t.task)}`, c.status, c.name, c.detail, c.fix ?? '']),
    ),
  ];
  out.print(table(['WHERE', 'STATUS', 'CHECK', 'DETAIL', 'FIX'], rows));
  if (report.tasks.length === 0) out.print('\n(no running tasks to check)');
  return report.ready ? 0 : 1;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
