// One way to validate input: a zod schema per route. The first problem becomes a
// ValidationError that names the field, so the caller gets a 400 and nothing runs.

import { z } from 'zod/v3';
import { SERVICE_KEY } from '../../lib/config';
import { ValidationError } from './errors';

export function parseInput<S extends z.ZodTypeAny>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
    return fail(`${prefix}${issue.keys[0]}`, 'is not a known field');
  }
  const field = issue.path.length ? issue.path.map(String).join('.') : 'input';
  const message =
    issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
  return fail(field, message);
}

function fail(field: string, message: string): never {
  throw new ValidationError(field, message);
}

/** A service name from the path: checked before any lookup so odd bytes never reach AWS. */
export const serviceKey = z
  .string()
  .regex(SERVICE_KEY, "must be a configured service name (letters, digits, '-' and '_')");

/**
 * An integer that may arrive as a query-string digit string or as a JSON number
 * (Step Functions, direct invoke). "12abc", "1e3" and "-1" are rejected.
 */
/** Fields only ecs-sidekick's own runbooks set: an API caller naming one gets a 400. */
export function refuseRunbookFields(req: object, via: 'apigateway' | 'invoke'): void {
  if (via !== 'apigateway') return;
  for (const field of ['execution', 'lease']) {
    if (field in req && (req as Record<string, unknown>)[field] !== undefined)
      throw new ValidationError(field, 'is set only by ecs-sidekick runbooks');
  }
}

export function integerParam(min: number, max: number) {
  return z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\d{1,9}$/, 'must be a whole number')
        .transform(Number),
    ])
    .pipe(
      z
        .number()
        .int('must be a whole number')
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    );
}

export const ECS_TASK_ID = /^[a-f0-9]{32}$/;
const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/([A-Za-z0-9_-]{1,255})\/([a-f0-9]{32})$/;

export interface TaskRef {
  readonly id: string;
  /** Set when the caller gave a task ARN, which names its cluster. */
  readonly cluster?: string;
}

/** A task id (32 hex characters) or a task ARN; the ARN's cluster is kept for checking. */
export const taskRef = z
  .string()
  .max(400, 'is too long for a task id or ARN')
  .transform((value, ctx): TaskRef => {
    if (ECS_TASK_ID.test(value)) return { id: value };
    const arn = TASK_ARN.exec(value);
    if (arn) return { id: arn[2]!, cluster: arn[1]! };
    ctx.addIssue({ code: 'custom', message: 'must be an ECS task id (32 hex characters) or a task ARN' });
    return z.NEVER;
  });

/** Refuses a task ARN that names another cluster than the service's. */
export function requireTaskInCluster(task: TaskRef, cluster: string, field = 'task'): string {
  if (task.cluster !== undefined && task.cluster !== cluster) {
    throw new ValidationError(
      field,
      `belongs to cluster '${task.cluster}', not to this service's cluster '${cluster}'`,
    );
  }
  return task.id;
}
