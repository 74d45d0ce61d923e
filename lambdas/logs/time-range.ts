// Time expressions for log queries: an ISO 8601 instant, epoch milliseconds, or a duration
// back from now such as `15m`, `2h`, `7d`.

import { ValidationError } from '../shared/errors';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const RELATIVE = /^(\d{1,6})([smhdw])$/;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EPOCH_MS = /^\d{13}$/;

/** CloudWatch Logs keeps nothing older than 10 years; anything before that is a typo. */
const OLDEST_MS = 10 * 366 * UNIT_MS.d;
/** Tolerated clock skew for an `until` in the future. */
const FUTURE_SLACK_MS = 5 * UNIT_MS.m;

export function parseInstant(field: string, value: string, now: number): number {
  let ms: number;
  const relative = RELATIVE.exec(value);
  if (relative) {
    ms = now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  } else if (EPOCH_MS.test(value)) {
    ms = Number(value);
  } else if (ISO.test(value)) {
    ms = Date.parse(value);
  } else {
    throw new ValidationError(
      field,
      "must be an ISO 8601 time (2026-12-03T10:00:00Z), epoch milliseconds, or a duration back from now such as '15m', '2h' or '7d'",
    );
  }
  if (!Number.isFinite(ms)) throw new ValidationError(field, `'${value}' is not a valid time`);
  if (ms < now - OLDEST_MS) throw new ValidationError(field, 'is more than 10 years ago');
  if (ms > now + FUTURE_SLACK_MS) throw new ValidationError(field, 'is in the future');
  return ms;
}

export interface TimeRange {
  readonly since: number;
  /** Exclusive end; undefined means "up to now, and keep following". */
  readonly until?: number;
}

export function parseTimeRange(
  raw: { since?: string; until?: string },
  now: number,
  defaultSinceMs: number,
): TimeRange {
  const since = raw.since === undefined ? now - defaultSinceMs : parseInstant('since', raw.since, now);
  const until = raw.until === undefined ? undefined : parseInstant('until', raw.until, now);
  if (until !== undefined && until <= since) {
    throw new ValidationError('until', 'must be later than since');
  }
  return until === undefined ? { since } : { since, until };
}
