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

/**
 * The request was carried out and then undone because a check failed (a config validator
 * exited non-zero: the previous version is back). The details say what failed.
 */
export class CheckFailedError extends SidekickError {
  override readonly name = 'Sidekick.CheckFailedError';
  readonly status = 422;
  constructor(
    message: string,
    readonly facts: Record<string, unknown>,
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
  override details() {
    return this.facts;
  }
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
  'Sidekick.CheckFailedError',
  'Sidekick.ThrottledError',
  'Sidekick.UpstreamError',
] as const;

/**
 * Rebuilds an error that another ecs-sidekick Lambda threw, from the errorType and
 * errorMessage Lambda reports, so it keeps its HTTP status on the way back to the caller.
 */
export function errorFromInvocation(errorType: string, message: string): SidekickError {
  switch (errorType) {
    case 'Sidekick.ValidationError': {
      const split = message.indexOf(': ');
      return split > 0
        ? new ValidationError(message.slice(0, split), message.slice(split + 2))
        : new ValidationError('input', message);
    }
    case 'Sidekick.ForbiddenError':
      return new ForbiddenError(message);
    case 'Sidekick.NotFoundError':
      return new NotFoundError(message);
    case 'Sidekick.ConflictError':
      return new ConflictError(message);
    case 'Sidekick.ThrottledError':
      return new ThrottledError(message, 5);
    default:
      return new UpstreamError(`an ecs-sidekick function failed: ${errorType}: ${message}`);
  }
}
