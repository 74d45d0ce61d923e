// The runbooks and their inputs. Each runbook's first state checks its input against these
// schemas (and against the deployed config); `sidekick runbook list` and the README show
// them as JSON Schema, converted from the same definitions.

import { z } from 'zod/v3';
import { VOLUME_NAME } from '../../lib/config';
import { argv } from '../exec/contract';
import { serviceKey } from '../shared/validation';
import { BACKUP_ID } from '../volumes/manifest';
import { RELOADS } from '../volumes/contract';

export const RUNBOOKS = ['backup-then-restart', 'config-change', 'restore', 'diagnose-failed-start'] as const;
export type RunbookName = (typeof RUNBOOKS)[number];

const volume = z.string().regex(VOLUME_NAME, "must be a volume name from the config, e.g. 'data'");
const path = z.string().max(1024).describe('a path in the volume; empty for all of it');
const seconds = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

export const RUNBOOK_INPUTS = {
  'backup-then-restart': z
    .strictObject({
      service: serviceKey,
      volume,
      path: path.default(''),
      quiesce: argv
        .optional()
        .describe('a configured command run before the backup (e.g. flush and pause writes)'),
      resume: argv.optional().describe('a configured command run after the backup, also when it failed'),
      restartTimeoutSeconds: seconds(10, 3600, 900),
    })
    .describe('Quiesce, back up a volume, resume, then a rolling restart until the service is steady.'),
  'config-change': z
    .strictObject({
      service: serviceKey,
      volume: volume.default('config'),
      path: z.string().min(1).max(1024).describe('the config file, relative to the volume'),
      content: z
        .string()
        .max(256 * 1024)
        .describe('the whole new file'),
      expectedVersion: z.number().int().min(0).optional().describe('default: the current version'),
      validate: argv.optional().describe('a configured validator run in a running container'),
      reload: z.enum(RELOADS).default('HUP').describe('a signal to PID 1, or rolling'),
      healthCommand: argv.optional().describe('a configured command that must exit 0 after the reload'),
      maxErrorLines: z.number().int().min(0).max(10_000).default(10),
      errorPattern: z
        .string()
        .min(1)
        .max(256)
        .default('?ERROR ?FATAL ?panic')
        .describe('CloudWatch filter pattern'),
      settleSeconds: seconds(0, 600, 10),
      restartTimeoutSeconds: seconds(10, 3600, 900),
    })
    .describe(
      'Write a config version, validate, reload, verify; on any failure put the previous version back and reload.',
    ),
  restore: z
    .strictObject({
      service: serviceKey,
      backupId: z.string().regex(BACKUP_ID, 'must be a backup id'),
      volume,
      path: path.default(''),
      stopWriters: z.enum(['scale-to-zero', 'none']).default('scale-to-zero'),
      steadyTimeoutSeconds: seconds(60, 3600, 600),
    })
    .describe(
      'Hold the volume lease, stop the writers, restore, start the service, verify, release the lease.',
    ),
  'diagnose-failed-start': z
    .strictObject({
      service: serviceKey,
      tasks: z.number().int().min(1).max(10).default(5),
      lines: z.number().int().min(0).max(50).default(50),
    })
    .describe('Collect the diagnosis of a service and keep it in the backup bucket.'),
} as const satisfies Record<RunbookName, z.ZodTypeAny>;

export type RunbookInput<N extends RunbookName> = z.infer<(typeof RUNBOOK_INPUTS)[N]>;

type JsonSchema = Record<string, unknown>;

/** JSON Schema of a runbook input, for documentation (the subset of zod the inputs use). */
export function jsonSchemaOf(schema: z.ZodTypeAny): JsonSchema {
  const def = schema._def as { typeName: string; description?: string } & Record<string, unknown>;
  const described = (s: JsonSchema): JsonSchema =>
    def.description ? { ...s, description: def.description } : s;
  switch (def.typeName) {
    case 'ZodObject': {
      const shape = (schema as z.AnyZodObject).shape as Record<string, z.ZodTypeAny>;
      const required = Object.entries(shape)
        .filter(([, s]) => !s.isOptional())
        .map(([k]) => k);
      return described({
        type: 'object',
        properties: Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, jsonSchemaOf(s)])),
        required,
        additionalProperties: false,
      });
    }
    case 'ZodString': {
      const out: JsonSchema = { type: 'string' };
      for (const check of (def.checks as { kind: string; value?: number; regex?: RegExp }[]) ?? []) {
        if (check.kind === 'regex') out.pattern = check.regex!.source;
        if (check.kind === 'min') out.minLength = check.value;
        if (check.kind === 'max') out.maxLength = check.value;
      }
      return described(out);
    }
    case 'ZodNumber': {
      const out: JsonSchema = { type: 'number' };
      for (const check of (def.checks as { kind: string; value?: number }[]) ?? []) {
        if (check.kind === 'int') out.type = 'integer';
        if (check.kind === 'min') out.minimum = check.value;
        if (check.kind === 'max') out.maximum = check.value;
      }
      return described(out);
    }
    case 'ZodEnum':
      return described({ type: 'string', enum: def.values });
    case 'ZodArray': {
      const out: JsonSchema = { type: 'array', items: jsonSchemaOf(def.type as z.ZodTypeAny) };
      if (def.minLength) out.minItems = (def.minLength as { value: number }).value;
      if (def.maxLength) out.maxItems = (def.maxLength as { value: number }).value;
      return described(out);
    }
    case 'ZodOptional':
      return described(jsonSchemaOf(def.innerType as z.ZodTypeAny));
    case 'ZodDefault':
      return described({
        ...jsonSchemaOf(def.innerType as z.ZodTypeAny),
        default: (def.defaultValue as () => unknown)(),
      });
    case 'ZodEffects':
      return described(jsonSchemaOf(def.schema as z.ZodTypeAny));
    default:
      return described({});
  }
}

/** Step Functions actions each tier's policy allows on the runbooks (the stack and the sandbox). */
export const RUNBOOK_ACTIONS = {
  operate: {
    machines: ['StartExecution', 'DescribeStateMachine', 'ListExecutions'],
    executions: ['DescribeExecution', 'GetExecutionHistory', 'StopExecution'],
  },
  read: {
    machines: ['DescribeStateMachine', 'ListExecutions'],
    executions: ['DescribeExecution', 'GetExecutionHistory'],
  },
} as const;
