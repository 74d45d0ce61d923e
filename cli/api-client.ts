// Calls the ecs-sidekick API with SigV4-signed requests (service execute-api).

import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { RouteId, ROUTES } from '../lambdas/shared/routes';
import { Connection } from './endpoint';
import { ApiError, CliError } from './errors';

export type Query = Record<string, string | number | undefined>;

export interface ApiClient {
  call<T>(route: RouteId, params: Record<string, string>, query?: Query, body?: unknown): Promise<T>;
}

export function createApiClient(connection: Connection, fetchImpl: typeof fetch = fetch): ApiClient {
  return {
    async call<T>(
      routeId: RouteId,
      params: Record<string, string>,
      query: Query = {},
      body?: unknown,
    ): Promise<T> {
      const route = ROUTES[routeId];
      const base = new URL(connection.apiUrl);
      const routePath = route.path.replace(/\{([A-Za-z0-9_]+)(\+?)\}/g, (_, name: string, greedy: string) => {
        const value = params[name];
        if (value === undefined) throw new CliError(`missing ${name}`, 2);
        // A greedy parameter ({path+}) keeps its '/' separators; each segment is encoded.
        return greedy ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
      });
      const path = `${base.pathname.replace(/\/$/, '')}${routePath}`;
      const queryEntries = Object.entries(query).filter(
        (e): e is [string, string | number] => e[1] !== undefined,
      );
      const search = queryEntries
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&');
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { host: base.host, accept: 'application/json' };
      if (payload !== undefined) headers['content-type'] = 'application/json';

      const credentials = connection.credentialsFor(route.tier);
      let signedHeaders = headers;
      if (credentials) {
        const signer = new SignatureV4({
          credentials,
          region: connection.region,
          service: 'execute-api',
          sha256: Hash.bind(null, 'sha256'),
        });
        const signed = await signer.sign(
          new HttpRequest({
            method: route.method,
            protocol: base.protocol,
            hostname: base.hostname,
            ...(base.port ? { port: Number(base.port) } : {}),
            path,
            query: Object.fromEntries(queryEntries.map(([k, v]) => [k, String(v)])),
            headers,
            ...(payload !== undefined ? { body: payload } : {}),
          }),
        );
        signedHeaders = signed.headers;
      }
      const { host: _host, ...sendHeaders } = signedHeaders;
      let res: Response;
      try {
        res = await fetchImpl(`${base.origin}${path}${search ? `?${search}` : ''}`, {
          method: route.method,
          headers: sendHeaders,
          ...(payload !== undefined ? { body: payload } : {}),
        });
      } catch (error) {
        const hint = connection.source === 'sandbox' ? ' (is the sandbox running? npm start)' : '';
        throw new CliError(
          `cannot reach ${connection.apiUrl}${hint}: ${(error as Error).cause ?? (error as Error).message}`,
        );
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        throw new ApiError(res.status, '', `the API answered with non-JSON: ${text.slice(0, 200)}`);
      }
      if (!res.ok) throw toApiError(res, json);
      return json as T;
    },
  };
}

function toApiError(res: Response, json: unknown): ApiError {
  const body = json as { error?: { type?: string; message?: string }; message?: string; Message?: string };
  const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
  return new ApiError(
    res.status,
    body.error?.type ?? '',
    body.error?.message ?? body.message ?? body.Message ?? res.statusText,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}
