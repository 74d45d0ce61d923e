// Inputs and outputs of exec, signal, sessions and exec-check.

import { z } from 'zod/v3';
import { ECS_NAME } from '../../lib/config';
import { integerParam, serviceKey, taskRef } from '../shared/validation';
import { shlexQuote } from './command';

export const MAX_ARGS = 64;
export const MAX_ARG_CHARS = 4_096;
/** The quoted command string ECS receives stays under this. */
export const MAX_COMMAND_CHARS = 8_192;
/** Through API Gateway a call has 25 s; direct invocations may run up to 14 minutes. */
export const MAX_TIMEOUT_SECONDS = 840;
export const DEFAULT_TIMEOUT_SECONDS = 20;

export const SIGNALS = ['HUP', 'USR1', 'USR2', 'TERM', 'INT', 'QUIT', 'WINCH'] as const;
export type SignalName = (typeof SIGNALS)[number];

const word = z
  .string({ invalid_type_error: 'each word must be a string' })
  .max(MAX_ARG_CHARS, `each word must be at most ${MAX_ARG_CHARS} characters`)
  .refine((w) => !w.includes('\0'), 'must not contain a NUL character');

/** A command as an argv array: the program, then its arguments. Never a shell string. */
export const argv = z
  .array(word, { invalid_type_error: 'must be an array of words (argv), not a shell string' })
  .min(1, 'must hold at least the program to run')
  .max(MAX_ARGS, `must have at most ${MAX_ARGS} words`)
  .refine((words) => words[0] !== '', 'the program (first word) must not be empty')
  .refine(
    (words) => words.map(shlexQuote).join(' ').length <= MAX_COMMAND_CHARS - 200,
    `is too long (at most about ${MAX_COMMAND_CHARS} characters in all)`,
  );

const container = z.string().regex(ECS_NAME, "must be a container name (letters, digits, '-' and '_')");

const selection = {
  service: serviceKey,
  container: container.optional(),
  task: taskRef.optional(),
  allTasks: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
};

function oneTaskOrAll<T extends { task?: unknown; allTasks?: boolean }>(value: T, ctx: z.RefinementCtx) {
  if (value.task !== undefined && value.allTasks) {
    ctx.addIssue({ code: 'custom', path: ['allTasks'], message: 'cannot be combined with task' });
  }
}

export const ExecRequestSchema = z
  .strictObject({
    ...selection,
    command: argv,
    timeoutSeconds: integerParam(1, MAX_TIMEOUT_SECONDS).optional(),
  })
  .superRefine(oneTaskOrAll);
export type ExecRequest = z.infer<typeof ExecRequestSchema>;

export const SignalRequestSchema = z
  .strictObject({
    ...selection,
    signal: z.enum(SIGNALS, {
      errorMap: () => ({ message: `must be one of ${SIGNALS.join(', ')} (a name, not a number)` }),
    }),
  })
  .superRefine(oneTaskOrAll);
export type SignalRequest = z.infer<typeof SignalRequestSchema>;

export const SessionRequestSchema = z.strictObject({
  service: serviceKey,
  container: container.optional(),
  task: taskRef.optional(),
  command: argv.optional(),
});
export type SessionRequest = z.infer<typeof SessionRequestSchema>;

export const ExecCheckQuerySchema = z.strictObject({ service: serviceKey });

export interface ExecResult {
  readonly task: string;
  readonly container: string;
  /** null when the command did not finish (time limit, cancelled) or `sh` is missing. */
  readonly exitCode: number | null;
  readonly output: string;
  readonly truncated: boolean;
  readonly outputBytes: number;
  readonly durationMs: number;
  readonly timedOut?: boolean;
  /** Set when the command could not be run on this task (fan-out only; one task throws). */
  readonly error?: string;
}

export interface SignalResult extends ExecResult {
  readonly signal: SignalName;
  readonly delivered: boolean;
}

export interface InteractiveSession {
  readonly sessionId: string;
  readonly streamUrl: string;
  /** A bearer credential for the session: keep it out of logs. */
  readonly tokenValue: string;
  /** `ecs:<cluster>_<task id>_<runtime id>`, the Target session-manager-plugin expects. */
  readonly target: string;
  readonly region: string;
  readonly cluster: string;
  readonly task: string;
  readonly container: string;
}

export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to change, when status is not OK. */
  readonly fix?: string;
}

export interface TaskExecCheck {
  readonly task: string;
  readonly ready: boolean;
  readonly checks: readonly Check[];
}

export interface ExecCheckReport {
  readonly service: string;
  readonly ready: boolean;
  readonly cluster: readonly Check[];
  readonly tasks: readonly TaskExecCheck[];
}
