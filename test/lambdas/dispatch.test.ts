import { createDispatcher, inputFromApiEvent, RouteHandler } from '../../lambdas/shared/dispatch';
import { NotFoundError, ValidationError } from '../../lambdas/shared/errors';
import { ApiGatewayEvent, HttpResponse } from '../../lambdas/shared/http';
import { createLogger } from '../../lambdas/shared/logger';

const apiEvent = (over: Partial<ApiGatewayEvent> = {}): ApiGatewayEvent => ({
  httpMethod: 'GET',
  resource: '/services/{service}/logs',
  path: '/services/web/logs',
  pathParameters: { service: 'web' },
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  body: null,
  isBase64Encoded: false,
  requestContext: {
    requestId: 'r1',
    identity: { userArn: 'arn:aws:iam::111122223333:user/alice', sourceIp: '10.0.0.1' },
  },
  ...over,
});

function setup(handler: RouteHandler<object>) {
  const lines: string[] = [];
  const dispatch = createDispatcher({
    tier: 'read',
    routes: { getLogs: handler },
    deps: () => ({}),
    log: createLogger({}, (l) => lines.push(l)),
  });
  return { dispatch, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('dispatcher with API Gateway events', () => {
  it('passes path, query and body as one input and returns the route status', async () => {
    const seen: unknown[] = [];
    const { dispatch } = setup(async (input) => {
      seen.push(input);
      return { ok: true };
    });
    const res = (await dispatch(apiEvent({ queryStringParameters: { since: '5m' } }))) as HttpResponse;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(seen).toEqual([{ service: 'web', since: '5m' }]);
  });

  it('logs one audit line with the caller ARN from the request context', async () => {
    const { dispatch, lines } = setup(async () => ({}));
    await dispatch(apiEvent());
    expect(lines()).toContainEqual(
      expect.objectContaining({
        message: 'request',
        caller: 'arn:aws:iam::111122223333:user/alice',
        status: 200,
        route: 'getLogs',
      }),
    );
  });

  it.each([
    ['a name given in path and query', apiEvent({ queryStringParameters: { service: 'x' } }), 'service'],
    [
      'a repeated query parameter',
      apiEvent({
        multiValueQueryStringParameters: { limit: ['1', '2'] },
        queryStringParameters: { limit: '2' },
      }),
      'limit',
    ],
    ['a body that is not JSON', apiEvent({ body: '{nope' }), 'body'],
    ['a JSON body that is an array', apiEvent({ body: '[1]' }), 'body'],
  ])('answers 400 for %s and never runs the handler', async (_name, event, field) => {
    const handler = jest.fn();
    const { dispatch } = setup(handler);
    const res = (await dispatch(event)) as HttpResponse;
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ type: 'Sidekick.ValidationError', field });
    expect(handler).not.toHaveBeenCalled();
  });

  it('keeps a "__proto__" body key as a plain field', () => {
    const input = inputFromApiEvent(apiEvent({ body: '{"__proto__": {"polluted": 1}}' }));
    expect(Object.keys(input)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    [new NotFoundError('nope'), 404],
    [new ValidationError('limit', 'bad'), 400],
    [Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }), 429],
    [Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }), 502],
    [new TypeError('boom'), 500],
  ])('maps %s to HTTP %d without leaking a stack', async (error, status) => {
    const { dispatch } = setup(async () => {
      throw error;
    });
    const res = (await dispatch(apiEvent())) as HttpResponse;
    expect(res.statusCode).toBe(status);
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    if (status === 500) expect(JSON.parse(res.body).error.message).toMatch(/request id r1/);
  });
});

describe('dispatcher with direct invocations', () => {
  it('returns the result itself for {route, input}', async () => {
    const { dispatch } = setup(async (input) => ({ echo: input }));
    await expect(dispatch({ route: 'getLogs', input: { service: 'web' } })).resolves.toEqual({
      echo: { service: 'web' },
    });
  });

  it('throws errors by their fixed name so Step Functions can catch them', async () => {
    const { dispatch } = setup(async () => {
      throw new NotFoundError('service x is not configured');
    });
    await expect(dispatch({ route: 'getLogs', input: {} })).rejects.toMatchObject({
      name: 'Sidekick.NotFoundError',
    });
  });

  it('refuses a route of another tier naming the field', async () => {
    const { dispatch } = setup(async () => ({}));
    await expect(dispatch({ route: 'exec', input: {} })).rejects.toThrow(
      /^route: 'exec' is not served by the read tier/,
    );
  });

  it('refuses an unknown top-level field', async () => {
    const { dispatch } = setup(async () => ({}));
    await expect(dispatch({ route: 'getLogs', input: {}, caller: 'arn:forged' })).rejects.toThrow(
      /^caller: is not a known field/,
    );
  });
});
