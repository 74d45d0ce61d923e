// One entry point per tier Lambda. It accepts an API Gateway REST proxy event, or a direct
// payload `{"route": "<routeId>", "input": {...}}` from Step Functions or `aws lambda invoke`,
// runs the route's handler and logs one audit line with the caller.
//
// The tier is the Lambda: whoever may invoke it directly holds that tier. Caller identity is
// only taken from API Gateway's request context, never from a payload field; direct
// invocations are attributed by CloudTrail's Lambda data events.

import { randomUUID } from 'node:crypto';
import { z } from 'zod/v3';
import { fromAwsError } from './aws-errors';
import { ValidationError } from './errors';
import { ApiGatewayEvent, errorResponse, HttpResponse, isApiGatewayEvent, jsonResponse } from './http';
import { Logger } from './logger';
import { InternalRouteId, RouteId, ROUTES, Tier } from './routes';
import { parseInput } from './validation';

export interface RequestContext {
  /** IAM ARN of the signed caller, or `lambda:invoke` for direct invocations. */
  readonly caller: string;
  readonly via: 'apigateway' | 'invoke';
  readonly requestId: string;
  readonly log: Logger;
  /** Epoch ms by which the handler must have returned its response. */
  readonly deadline: number;
}

export type RouteHandler<Deps> = (
  input: Record<string, unknown>,
  deps: Deps,
  ctx: RequestContext,
) => Promise<unknown>;

export type TierRoutes<Deps> = Partial<Record<RouteId | InternalRouteId, RouteHandler<Deps>>>;

/** The subset of the Lambda context the dispatcher uses (the sandbox passes its own). */
export interface InvocationContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

export interface DispatcherOptions<Deps> {
  readonly tier: Tier;
  readonly routes: TierRoutes<Deps>;
  readonly deps: () => Deps;
  readonly log: Logger;
  readonly now?: () => number;
}

/** API Gateway gives up after 29 s; leave room to serialise and return the response. */
const API_BUDGET_MS = 25_000;
const LAMBDA_MARGIN_MS = 1_500;

const DirectInvocation = z.strictObject({
  route: z.string().max(64),
  input: z.record(z.string(), z.unknown()).optional(),
});

export function createDispatcher<Deps>(options: DispatcherOptions<Deps>) {
  const now = options.now ?? Date.now;
  const served = Object.keys(options.routes) as (RouteId | InternalRouteId)[];
  const servedApi = served.filter((id): id is RouteId => id in ROUTES);

  function handlerFor(routeId: string): RouteHandler<Deps> {
    const handler = options.routes[routeId as RouteId | InternalRouteId];
    if (!handler) {
      throw new ValidationError(
        'route',
        `'${routeId}' is not served by the ${options.tier} tier (serves: ${served.join(', ')})`,
      );
    }
    return handler;
  }

  function deadlineOf(context: InvocationContext, started: number, api: boolean): number {
    const lambdaLeft = context.getRemainingTimeInMillis?.();
    const lambdaDeadline = lambdaLeft === undefined ? Infinity : started + lambdaLeft - LAMBDA_MARGIN_MS;
    return Math.min(lambdaDeadline, api ? started + API_BUDGET_MS : Infinity, started + 14 * 60_000);
  }

  async function handleApi(event: ApiGatewayEvent, context: InvocationContext): Promise<HttpResponse> {
    const started = now();
    const requestId = event.requestContext.requestId || context.awsRequestId || randomUUID();
    const caller = event.requestContext.identity?.userArn || 'unknown';
    const routeId = servedApi.find(
      (id) => ROUTES[id].method === event.httpMethod && ROUTES[id].path === event.resource,
    );
    const log = options.log.child({ requestId, caller, via: 'apigateway', route: routeId ?? event.resource });
    let response: HttpResponse;
    try {
      if (!routeId)
        throw new ValidationError('route', `${event.httpMethod} ${event.resource} is not served here`);
      const input = inputFromApiEvent(event);
      const ctx: RequestContext = {
        caller,
        via: 'apigateway',
        requestId,
        log,
        deadline: deadlineOf(context, started, true),
      };
      const result = await handlerFor(routeId)(input, options.deps(), ctx);
      response = jsonResponse(ROUTES[routeId].successStatus, result);
    } catch (error) {
      response = errorResponse(error, requestId);
      logFailure(log, error, response.statusCode);
    }
    log.info('request', {
      path: event.path,
      query: event.queryStringParameters ?? {},
      sourceIp: event.requestContext.identity?.sourceIp,
      status: response.statusCode,
      durationMs: now() - started,
    });
    return response;
  }

  async function handleDirect(event: unknown, context: InvocationContext): Promise<unknown> {
    const started = now();
    const requestId = context.awsRequestId ?? randomUUID();
    let log = options.log.child({ requestId, caller: 'lambda:invoke', via: 'invoke' });
    try {
      const call = parseInput(DirectInvocation, event);
      log = log.child({ route: call.route });
      const ctx: RequestContext = {
        caller: 'lambda:invoke',
        via: 'invoke',
        requestId,
        log,
        deadline: deadlineOf(context, started, false),
      };
      const result = await handlerFor(call.route)(call.input ?? {}, options.deps(), ctx);
      log.info('request', { input: call.input ?? {}, status: 'ok', durationMs: now() - started });
      return result;
    } catch (error) {
      const known = fromAwsError(error);
      logFailure(log, error, known?.status ?? 500);
      log.info('request', { status: known?.name ?? 'error', durationMs: now() - started });
      throw known ?? error;
    }
  }

  return async function dispatch(event: unknown, context: InvocationContext = {}): Promise<unknown> {
    return isApiGatewayEvent(event) ? handleApi(event, context) : handleDirect(event, context);
  };
}

/**
 * Path parameters, query string and JSON body become one flat input object. A name that
 * appears twice (in two places, or repeated in the query string) is refused, not guessed.
 */
export function inputFromApiEvent(event: ApiGatewayEvent): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const put = (key: string, value: unknown, where: string) => {
    if (Object.prototype.hasOwnProperty.call(input, key)) {
      throw new ValidationError(key, `is given more than once (again in the ${where})`);
    }
    // defineProperty: a "__proto__" key from a JSON body must stay a plain field.
    Object.defineProperty(input, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) put(key, value, 'path');
  }
  for (const [key, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if (values && values.length > 1)
      throw new ValidationError(key, 'is given more than once in the query string');
  }
  for (const [key, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) put(key, value, 'query string');
  }
  if (event.body) {
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ValidationError('body', 'must be a JSON object');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationError('body', 'must be a JSON object');
    }
    for (const [key, value] of Object.entries(body)) put(key, value, 'body');
  }
  return input;
}

function logFailure(log: Logger, error: unknown, status: number) {
  const fields = {
    status,
    errorType: error instanceof Error ? error.name : typeof error,
    error: String(error),
  };
  if (status >= 500)
    log.error('request failed', { ...fields, stack: error instanceof Error ? error.stack : undefined });
  else log.warn('request refused', fields);
}
