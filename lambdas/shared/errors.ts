// Error classes shared by every handler. Each `name` is a fixed string: Step Functions
// Retry/Catch match on it, and `toHttpError` maps it to one HTTP status.

export interface ErrorOptions {
  readonly cause?: unknown;
}

export abstract class SidekickError extends Error {
  abstract readonly status: number;
  /** Extra fields a client may act on (the bad field, the lease holder, a retry delay). */
  details(): Record<string, unknown> {
    return {};
  }
}

/** Bad input: the message names the field and what is allowed. Nothing was executed. */
export class ValidationError extends SidekickError {
  override readonly name = 'Sidekick.ValidationError';
  readonly status = 400;
  constructor(
    readonly field: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(`${field}: ${message}`, options);
  }
  override details() {
    return { field: this.field };
  }
}

export class ForbiddenError extends SidekickError {
  override readonly name = 'Sidekick.ForbiddenError';
  readonly status = 403;
}

export class NotFoundError extends SidekickError {
  override readonly name = 'Sidekick.NotFoundError';
  readonly status = 404;
}

export class ConflictError extends SidekickError {
  override readonly name = 'Sidekick.ConflictError';
  readonly status = 409;
}

/** AWS kept throttling after the bounded retries; the caller may try again later. */
export class ThrottledError extends SidekickError {
  override readonly name = 'Sidekick.ThrottledError';
  readonly status = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
  override details() {
    return { retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** An AWS call failed in a way the caller cannot fix by changing the request. */
export class UpstreamError extends SidekickError {
  override readonly name = 'Sidekick.UpstreamError';
  readonly status = 502;
}

/** The name of an error class, for Step Functions Catch clauses and documentation. */
export const ERROR_NAMES = [
  'Sidekick.ValidationError',
  'Sidekick.ForbiddenError',
  'Sidekick.NotFoundError',
  'Sidekick.ConflictError',
  'Sidekick.ThrottledError',
  'Sidekick.UpstreamError',
] as const;
