// The logs route's input and output: one schema gives the type and the parser.

import { z } from 'zod/v3';
import { ECS_NAME } from '../../lib/config';
import { integerParam, serviceKey, taskRef } from '../shared/validation';
import { MAX_CURSOR_LENGTH } from './cursor';

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 1_000;
/** CloudWatch Logs accepts filter patterns up to 1024 characters. */
export const MAX_FILTER_LENGTH = 1_024;

const timeExpression = z.string().max(40, 'is too long for a time');

export const LogsQuerySchema = z.strictObject({
  service: serviceKey,
  since: timeExpression.optional(),
  until: timeExpression.optional(),
  filter: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_FILTER_LENGTH, `must be at most ${MAX_FILTER_LENGTH} characters (CloudWatch's limit)`)

    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
    .optional(),
  task: taskRef.optional(),
  container: z.string().regex(ECS_NAME, "must be a container name (letters, digits, '-' and '_')").optional(),
  limit: integerParam(1, MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH, 'is not a cursor returned by this API').optional(),
});

export type LogsQuery = z.infer<typeof LogsQuerySchema>;

export interface LogEvent {
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly task: string;
  readonly container: string;
  readonly message: string;
}

export interface LogsPage {
  readonly service: string;
  readonly events: readonly LogEvent[];
  /** Pass as `cursor` to continue; null when a closed time range has been read to its end. */
  readonly nextCursor: string | null;
  /** More events are available right now (the page was cut by limit, size or time). */
  readonly hasMore: boolean;
  /** Containers whose logs could not be read, and why. */
  readonly notes: readonly string[];
}
