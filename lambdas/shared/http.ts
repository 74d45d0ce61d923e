// API Gateway REST proxy events in and out, and the one mapping from errors to HTTP statuses.

import { fromAwsError } from './aws-errors';
import { SidekickError, ThrottledError } from './errors';

/** The part of an API Gateway REST proxy event ecs-sidekick reads. */
export interface ApiGatewayEvent {
  readonly httpMethod: string;
  readonly resource: string;
  readonly path: string;
  readonly pathParameters: Record<string, string | undefined> | null;
  readonly queryStringParameters: Record<string, string | undefined> | null;
  readonly multiValueQueryStringParameters: Record<string, string[] | undefined> | null;
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
  readonly requestContext: {
    readonly requestId: string;
    readonly identity: { readonly userArn?: string | null; readonly sourceIp?: string | null };
  };
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function isApiGatewayEvent(event: unknown): event is ApiGatewayEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return (
    typeof e.httpMethod === 'string' && typeof e.resource === 'string' && typeof e.requestContext === 'object'
  );
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export interface ErrorBody {
  readonly error: { readonly type: string; readonly message: string; readonly [key: string]: unknown };
}

/** Maps any thrown value to a status and a body that never carries a stack or AWS internals. */
export function errorResponse(error: unknown, requestId: string): HttpResponse {
  const known = fromAwsError(error);
  if (!known) {
    return jsonResponse(500, {
      error: { type: 'Sidekick.InternalError', message: `internal error; quote request id ${requestId}` },
    });
  }
  return jsonResponse(
    known.status,
    { error: { type: known.name, message: known.message, ...known.details() } },
    retryHeaders(known),
  );
}

function retryHeaders(error: SidekickError): Record<string, string> {
  return error instanceof ThrottledError ? { 'retry-after': String(error.retryAfterSeconds) } : {};
}
