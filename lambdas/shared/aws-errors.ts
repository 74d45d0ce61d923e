// Turns an AWS SDK failure that escaped the core into a SidekickError with a message an
// operator can act on. Expected outcomes (a missing log stream, a stopped task) are handled
// in the cores as values; this is only for faults.

import { SidekickError, ThrottledError, UpstreamError } from './errors';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);

interface SdkErrorShape {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}

export function isSdkError(error: unknown): error is SdkErrorShape {
  return error instanceof Error && '$metadata' in error;
}

export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING.has(error.name);
}

/** Returns a SidekickError for an AWS failure, or undefined when `error` is not one. */
export function fromAwsError(error: unknown): SidekickError | undefined {
  if (error instanceof SidekickError) return error;
  if (!isSdkError(error)) return undefined;
  if (THROTTLING.has(error.name)) {
    return new ThrottledError(
      `AWS is throttling ecs-sidekick (${error.name}) after retries; try again shortly`,
      5,
      {
        cause: error,
      },
    );
  }
  if (ACCESS_DENIED.has(error.name)) {
    return new UpstreamError(
      `ecs-sidekick's role was denied by AWS: ${error.message}. Check that the service is in the deployed config`,
      { cause: error },
    );
  }
  return new UpstreamError(`AWS call failed: ${error.name}: ${error.message}`, { cause: error });
}
