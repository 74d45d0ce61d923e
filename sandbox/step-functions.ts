// The sandbox's Step Functions: the runbooks' state machine definitions (the same ASL the
// stack deploys) run by aws-local-stepfunctions, each Task state invoking the sandbox's
// Lambda handlers with its direct payload, as the Lambda service would. It keeps executions
// and their history, and when one is aborted, times out or fails it tells the operate Lambda
// (`executionEnded`), as the stack's EventBridge rule does.
//
// serveStepFunctions() puts the AWS Step Functions JSON API (StartExecution,
// DescribeExecution, GetExecutionHistory, StopExecution, ListStateMachines) in front of it
// on loopback, SigV4-checked, so the CLI uses the same SDK calls against it as against AWS.

import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { StateMachine as LocalStateMachine } from 'aws-local-stepfunctions';

/** One entry of an execution's event log (the package does not export its type). */
type EventLog = {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: { readonly name: string };
  readonly Error?: string;
  readonly Cause?: string;
};
import { StateMachineDefinition } from '../lib/runbooks/definitions';
import { verifySigV4 } from './sigv4-verify';

// aws-local-stepfunctions uses Node 22's Promise.withResolvers; Node 20 lacks it.
const withResolvers = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= withResolvers;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  readonly id: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly stateName?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: ExecutionStatus;
  readonly startDate: Date;
  stopDate?: Date;
  readonly input: string;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryEvent[];
  abort(): void;
  readonly done: Promise<void>;
}

export interface LocalRunbooksOptions {
  readonly region: string;
  readonly account: string;
  /** State machine name → its definition. */
  readonly definitions: Record<string, StateMachineDefinition>;
  /** Invokes the Lambda a Task state's Resource names, with the state's payload. */
  readonly invoke: (functionArn: string, payload: unknown) => Promise<unknown>;
  /** Every Wait state pauses this long instead (default: as written). */
  readonly waitMs?: number;
  /** An execution ended ABORTED, TIMED_OUT or FAILED (the stack's EventBridge rule). */
  readonly onEnded?: (execution: Execution) => Promise<void>;
}

export class LocalRunbooks {
  readonly executions = new Map<string, Execution>();

  private constructor(
    private readonly options: LocalRunbooksOptions,
    private readonly machines: ReadonlyMap<string, LocalStateMachine>,
  ) {}

  static async create(options: LocalRunbooksOptions): Promise<LocalRunbooks> {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machines = new Map<string, LocalStateMachine>();
    for (const [name, definition] of Object.entries(options.definitions)) {
      machines.set(
        name,
        new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } }),
      );
    }
    return new LocalRunbooks(options, machines);
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.options.region}:${this.options.account}:stateMachine:${name}`;
  }

  list(): { name: string; stateMachineArn: string }[] {
    return [...this.machines.keys()].map((name) => ({ name, stateMachineArn: this.stateMachineArn(name) }));
  }

  start(stateMachineArn: string, input: unknown, name: string = randomUUID()): Execution {
    const machineName = stateMachineArn.split(':').pop() ?? '';
    const machine = this.machines.get(machineName);
    if (!machine)
      throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionArn = `arn:aws:states:${this.options.region}:${this.options.account}:execution:${machineName}:${name}`;
    if (this.executions.has(executionArn))
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    const startDate = new Date();
    const definition = this.options.definitions[machineName]!;
    const handlers = Object.fromEntries(
      Object.entries(definition.States)
        .filter(([, s]) => s.Type === 'Task')
        .map(([state, s]) => [state, (payload: unknown) => this.options.invoke(String(s.Resource), payload)]),
    );
    const waits =
      this.options.waitMs === undefined
        ? {}
        : Object.fromEntries(
            Object.entries(definition.States)
              .filter(([, s]) => s.Type === 'Wait')
              .map(([state]) => [state, this.options.waitMs!]),
          );
    const run = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          StartTime: startDate.toISOString(),
          Input: input as never,
        },
        StateMachine: { Id: stateMachineArn, Name: machineName },
      } as never,
    });
    const history: HistoryEvent[] = [];
    const execution: Execution = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      startDate,
      input: JSON.stringify(input),
      history,
      abort: () => run.abort(),
      done: Promise.resolve(),
    };
    const record = (async () => {
      for await (const event of run.eventLogs)
        history.push(historyEvent(history.length + 1, event as EventLog, definition));
    })().catch(() => undefined);
    (execution as { done: Promise<void> }).done = run.result
      .then((output) => {
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output);
      })
      .catch((error: Error & { cause?: { name?: string; message?: string } }) => {
        if (error.name === 'ExecutionAbortedError') execution.status = 'ABORTED';
        else if (error.name === 'ExecutionTimeoutError') execution.status = 'TIMED_OUT';
        else execution.status = 'FAILED';
        execution.error = error.cause?.name ?? error.name;
        execution.cause = error.cause?.message ?? error.message;
      })
      .then(async () => {
        execution.stopDate = new Date();
        await record;
        if (execution.status !== 'SUCCEEDED') await this.options.onEnded?.(execution);
      });
    this.executions.set(executionArn, execution);
    return execution;
  }

  get(executionArn: string): Execution {
    const execution = this.executions.get(executionArn);
    if (!execution)
      throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return execution;
  }

  /** Aborts every running execution and waits for their clean-up. */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const e of running) e.abort();
    await Promise.allSettled(running.map((e) => e.done));
  }
}

function historyEvent(id: number, event: EventLog, definition: StateMachineDefinition): HistoryEvent {
  const timestamp = new Date(event.timestamp);
  const stateName = event.state?.name;
  const stateType = stateName ? String(definition.States[stateName]?.Type ?? '') : '';
  const types: Record<string, string> = {
    ExecutionStarted: 'ExecutionStarted',
    ExecutionSucceeded: 'ExecutionSucceeded',
    ExecutionFailed: 'ExecutionFailed',
    ExecutionAborted: 'ExecutionAborted',
    ExecutionTimeout: 'ExecutionTimedOut',
    StateEntered: `${stateType}StateEntered`,
    StateExited: `${stateType}StateExited`,
    StateFailed: `${stateType}Failed`,
    StateRetried: `${stateType}Retried`,
    StateCaught: `${stateType}Caught`,
  };
  const error = event.Error;
  const cause = event.Cause;
  return {
    id,
    timestamp,
    type: types[event.type] ?? event.type,
    ...(stateName ? { stateName } : {}),
    ...(error ? { error } : {}),
    ...(cause ? { cause } : {}),
  };
}

export class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** The Step Functions JSON API over the local runbooks, for whoever holds a sandbox identity. */
export async function serveStepFunctions(
  runbooks: LocalRunbooks,
  options: {
    region: string;
    secretOf: (accessKeyId: string) => string | undefined;
    /** What the identity's IAM policy allows (the tier policies grant states:* actions). */
    mayCall: (accessKeyId: string, action: string) => boolean;
  },
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const reply = (status: number, payload: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(payload));
        };
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
        );
        const verified = await verifySigV4(
          { method: req.method ?? 'POST', rawPath: req.url ?? '/', query: {}, headers, body },
          { region: options.region, service: 'states', secretOf: options.secretOf },
        );
        if (!verified.ok) return reply(403, { __type: 'AccessDeniedException', message: verified.message });
        const action = String(headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
        if (!options.mayCall(verified.accessKeyId, action)) {
          return reply(400, {
            __type: 'AccessDeniedException',
            message: `not authorized to perform states:${action}`,
          });
        }
        try {
          reply(
            200,
            act(runbooks, action, JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>),
          );
        } catch (error) {
          const type = error instanceof SfnError ? error.type : 'InvalidArn';
          reply(400, { __type: type, message: (error as Error).message });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const seconds = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

function act(runbooks: LocalRunbooks, action: string, body: Record<string, unknown>): unknown {
  switch (action) {
    case 'ListStateMachines':
      return {
        stateMachines: runbooks
          .list()
          .map((m) => ({ ...m, type: 'STANDARD', creationDate: seconds(new Date(0)) })),
      };
    case 'StartExecution': {
      const e = runbooks.start(
        String(body.stateMachineArn),
        JSON.parse(String(body.input ?? '{}')),
        body.name ? String(body.name) : undefined,
      );
      return { executionArn: e.executionArn, startDate: seconds(e.startDate) };
    }
    case 'DescribeExecution': {
      const e = runbooks.get(String(body.executionArn));
      return {
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: seconds(e.startDate),
        ...(e.stopDate ? { stopDate: seconds(e.stopDate) } : {}),
        input: e.input,
        ...(e.output !== undefined ? { output: e.output } : {}),
        ...(e.error ? { error: e.error } : {}),
        ...(e.cause ? { cause: e.cause } : {}),
      };
    }
    case 'GetExecutionHistory': {
      const e = runbooks.get(String(body.executionArn));
      return {
        events: e.history.map((h) => ({
          id: h.id,
          timestamp: seconds(h.timestamp),
          type: h.type,
          ...(h.stateName && h.type.endsWith('Entered')
            ? { stateEnteredEventDetails: { name: h.stateName } }
            : {}),
          ...(h.stateName && h.type.endsWith('Exited')
            ? { stateExitedEventDetails: { name: h.stateName } }
            : {}),
          ...(h.type === 'ExecutionFailed' || h.type.endsWith('Failed')
            ? { executionFailedEventDetails: { error: h.error ?? e.error, cause: h.cause ?? e.cause } }
            : {}),
        })),
      };
    }
    case 'StopExecution': {
      const e = runbooks.get(String(body.executionArn));
      e.abort();
      return { stopDate: seconds(new Date()) };
    }
    default:
      throw new SfnError('UnknownOperationException', `the sandbox does not serve ${action}`);
  }
}
