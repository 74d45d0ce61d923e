// `sidekick runbook list|start|status`: the runbooks' Step Functions executions, with the same
// SDK calls against AWS and against the sandbox (its local Step Functions API).

import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { jsonSchemaOf, RUNBOOK_INPUTS, RUNBOOKS, RunbookName } from '../../lambdas/runbooks/inputs';
import { Tier } from '../../lambdas/shared/routes';
import { Connection } from '../endpoint';
import { CliError } from '../errors';
import { table } from '../format';
import { Output } from '../output';

const POLL_MS = 1_000;

async function client(
  connection: Connection,
  tier: Tier,
): Promise<{ sfn: SFNClient; machines: Record<string, string> }> {
  if (!connection.runbooks) throw new CliError('this endpoint has no runbooks');
  const runbooks = await connection.runbooks();
  const credentials = connection.credentialsFor(tier);
  const sfn = new SFNClient({
    region: connection.region,
    ...(runbooks.endpoint ? { endpoint: runbooks.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  return { sfn, machines: runbooks.machines };
}

export async function runbookListCommand(connection: Connection, out: Output): Promise<number> {
  const { machines } = await client(connection, 'read');
  const rows = RUNBOOKS.map((name) => {
    const schema = RUNBOOK_INPUTS[name];
    return {
      name,
      stateMachineArn: machines[name] ?? '(not deployed)',
      description: schema.description ?? '',
      input: jsonSchemaOf(schema),
    };
  });
  if (out.json) out.print(rows);
  else
    out.print(
      table(
        ['RUNBOOK', 'REQUIRED INPUT', 'WHAT IT DOES'],
        rows.map((r) => [r.name, (r.input.required as string[]).join(', '), r.description]),
      ),
    );
  return 0;
}

export async function runbookStartCommand(
  connection: Connection,
  out: Output,
  name: string,
  options: { service: string; input?: string; wait?: boolean },
): Promise<number> {
  if (!(RUNBOOKS as readonly string[]).includes(name))
    throw new CliError(`no runbook '${name}' (runbooks: ${RUNBOOKS.join(', ')})`);
  const { sfn, machines } = await client(connection, 'operate');
  const stateMachineArn = machines[name as RunbookName];
  if (!stateMachineArn) throw new CliError(`runbook ${name} is not deployed with this stack`);
  const fromFile = options.input ? await readJson(options.input) : {};
  const input = { ...fromFile, service: options.service };
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      name: `cli-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`,
      input: JSON.stringify(input),
    }),
  );
  const executionArn = started.executionArn!;
  process.stderr.write(`runbook ${name} started: ${executionArn}\n`);
  if (options.wait === false) {
    out.print(out.json ? { executionArn } : executionArn);
    return 0;
  }
  return follow(sfn, out, executionArn);
}

export async function runbookStatusCommand(
  connection: Connection,
  out: Output,
  executionArn: string,
): Promise<number> {
  const { sfn } = await client(connection, 'read');
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const states = entered(await history(sfn, executionArn));
  if (out.json) out.print({ ...summary(execution), states: states.map((s) => s.name) });
  else {
    out.print(
      `${execution.name}: ${execution.status}${states.length ? ` (${states.map((s) => s.name).join(' > ')})` : ''}`,
    );
    printEnd(out, execution);
  }
  return exitCodeOf(execution);
}

/** Prints each state as it is entered, then the result. */
async function follow(sfn: SFNClient, out: Output, executionArn: string): Promise<number> {
  let shown = 0;
  let startedAt: number | undefined;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    startedAt ??= execution.startDate?.getTime() ?? Date.now();
    const states = entered(await history(sfn, executionArn));
    for (const state of states.slice(shown)) {
      process.stderr.write(`  ${((state.at - startedAt) / 1000).toFixed(1).padStart(6)}s  ${state.name}\n`);
    }
    shown = states.length;
    if (execution.status !== 'RUNNING') {
      const took = ((execution.stopDate?.getTime() ?? Date.now()) - startedAt) / 1000;
      process.stderr.write(`runbook ${execution.status} after ${took.toFixed(1)}s\n`);
      if (out.json) out.print(summary(execution));
      else printEnd(out, execution);
      return exitCodeOf(execution);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function history(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

function entered(events: readonly HistoryEvent[]): { name: string; at: number }[] {
  return events
    .filter((e) => e.type?.endsWith('StateEntered') && e.stateEnteredEventDetails?.name)
    .map((e) => ({ name: e.stateEnteredEventDetails!.name!, at: e.timestamp?.getTime() ?? 0 }));
}

function summary(e: DescribeExecutionCommandOutput) {
  return {
    executionArn: e.executionArn,
    status: e.status,
    startDate: e.startDate?.toISOString(),
    ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
    ...(e.output ? { output: JSON.parse(e.output) as unknown } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.cause ? { cause: e.cause } : {}),
  };
}

function printEnd(out: Output, e: DescribeExecutionCommandOutput) {
  if (e.status === 'SUCCEEDED' && e.output) out.print(JSON.stringify(JSON.parse(e.output), null, 2));
  else if (e.status !== 'RUNNING') out.print(`${e.error ?? e.status}: ${e.cause ?? 'no cause given'}`);
}

function exitCodeOf(e: DescribeExecutionCommandOutput): number {
  return e.status === 'SUCCEEDED' || e.status === 'RUNNING' ? 0 : 1;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`--input ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(`--input ${file}: must hold a JSON object`);
  return parsed as Record<string, unknown>;
}
