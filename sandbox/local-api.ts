// The sandbox's stand-in for API Gateway: matches a request to a route of the route table,
// checks its SigV4 signature and the caller's tier policy (the statements the stack deploys),
// then hands the tier Lambda's dispatcher the same REST proxy event API Gateway would.

import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { isAllowed, PolicyStatementJson } from '../lib/tier-policy';
import { ApiGatewayEvent, HttpResponse } from '../lambdas/shared/http';
import { functionOf, FunctionName, RouteId, ROUTES, ROUTE_IDS } from '../lambdas/shared/routes';
import { verifySigV4 } from './sigv4-verify';

export interface LocalIdentity {
  readonly name: string;
  readonly arn: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The identity's IAM policy: the tier policy statements. */
  readonly statements: readonly PolicyStatementJson[];
}

export type TierDispatch = (
  event: ApiGatewayEvent,
  context: { awsRequestId: string; getRemainingTimeInMillis(): number },
) => Promise<unknown>;

export interface LocalApiOptions {
  readonly region: string;
  readonly accountId: string;
  /** `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE`, the base of the resource ARNs. */
  readonly apiArnBase: string;
  readonly identities: readonly LocalIdentity[];
  /** The handler of each Lambda of the stack, by name. */
  readonly dispatchers: Partial<Record<FunctionName, TierDispatch>>;
  readonly onRequest?: (line: AccessLogLine) => void;
  readonly port?: number;
  readonly host?: string;
}

export interface AccessLogLine {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly caller: string;
  readonly durationMs: number;
}

export interface LocalApi {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's default integration timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;

interface RouteMatch {
  readonly id: RouteId;
  readonly params: Record<string, string>;
}

const ROUTE_PATTERNS = ROUTE_IDS.map((id) => {
  const names: string[] = [];
  const source = ROUTES[id].path.replace(/\{([A-Za-z0-9_]+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { id, names, regex: new RegExp(`^${source}$`) };
});

export function matchRoute(method: string, path: string): RouteMatch | undefined {
  for (const p of ROUTE_PATTERNS) {
    if (ROUTES[p.id].method !== method) continue;
    const m = p.regex.exec(path);
    if (m)
      return {
        id: p.id,
        params: Object.fromEntries(p.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])),
      };
  }
  return undefined;
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const byKey = new Map(options.identities.map((i) => [i.accessKeyId, i]));
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, { message: `sandbox API error: ${String(error)}` });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox');
    let caller = '-';
    const finish = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      send(res, status, body, headers);
      options.onRequest?.({ method, path: url.pathname, status, caller, durationMs: Date.now() - started });
    };

    const body = await readBody(req);
    if (body === undefined) return finish(413, { message: 'Request Too Long' });
    let route: RouteMatch | undefined;
    try {
      route = matchRoute(method, url.pathname);
    } catch {
      return finish(400, { message: 'Malformed percent-encoding in the path' });
    }
    const headers = lowerCaseHeaders(req);
    const query = parseQuery(url.search);
    const verified = await verifySigV4(
      { method, rawPath: url.pathname, query: query.all, headers, body },
      { region: options.region, service: 'execute-api', secretOf: (key) => byKey.get(key)?.secretAccessKey },
    );
    if (!verified.ok) return finish(403, { message: verified.message });
    const identity = byKey.get(verified.accessKeyId)!;
    caller = identity.name;
    if (!route) return finish(404, { message: `No route ${method} ${url.pathname}` });

    const resourceArn = `${options.apiArnBase}/${method}${url.pathname}`;
    if (!isAllowed(identity.statements, 'execute-api:Invoke', resourceArn)) {
      return finish(403, {
        message: `User: ${identity.arn} is not authorized to perform: execute-api:Invoke on resource: ${resourceArn}`,
      });
    }
    const dispatch = options.dispatchers[functionOf(route.id)];
    if (!dispatch) return finish(502, { message: `No handler deployed for ${functionOf(route.id)}` });

    const requestId = randomUUID();
    // The full REST proxy event shape; the dispatcher reads the ApiGatewayEvent part of it.
    const event = {
      resource: ROUTES[route.id].path,
      path: url.pathname,
      httpMethod: method,
      headers,
      pathParameters: Object.keys(route.params).length ? route.params : null,
      queryStringParameters: Object.keys(query.last).length ? query.last : null,
      multiValueQueryStringParameters: Object.keys(query.multi).length ? query.multi : null,
      body: body.length ? body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        requestId,
        accountId: options.accountId,
        apiId: 'sandbox',
        stage: 'local',
        resourcePath: ROUTES[route.id].path,
        httpMethod: method,
        identity: {
          userArn: identity.arn,
          caller: identity.arn,
          accessKey: identity.accessKeyId,
          sourceIp: req.socket.remoteAddress ?? null,
        },
      },
    };
    const deadline = started + INTEGRATION_TIMEOUT_MS;
    const result = (await dispatch(event, {
      awsRequestId: requestId,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    })) as HttpResponse;
    res.writeHead(result.statusCode, result.headers);
    res.end(result.body);
    options.onRequest?.({
      method,
      path: url.pathname,
      status: result.statusCode,
      caller,
      durationMs: Date.now() - started,
    });
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Query string as API Gateway sees it: decoded, '+' kept literally, last value wins. */
function parseQuery(search: string) {
  const all: Record<string, string | string[]> = {};
  const multi: Record<string, string[]> = {};
  const last: Record<string, string> = {};
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = safeDecode(eq < 0 ? '' : part.slice(eq + 1));
    multi[key] = [...(multi[key] ?? []), value];
    last[key] = value;
    all[key] = multi[key]!.length > 1 ? multi[key]! : value;
  }
  return { all, multi, last };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
