// Throttling, which moto cannot produce: a loopback HTTP server answers the AWS JSON protocol
// with ThrottlingException, and the real SDK clients (with their real retry strategy) call it.

import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createClients, MAX_ATTEMPTS } from '../../lambdas/shared/clients';
import { createDispatcher } from '../../lambdas/shared/dispatch';
import { clearEcsLookupCache } from '../../lambdas/shared/ecs-lookup';
import { HttpResponse } from '../../lambdas/shared/http';
import { silentLogger } from '../../lambdas/shared/logger';
import { createTargets } from '../../lambdas/shared/targets';
import { createReadDeps, readRoutes } from '../../lambdas/tiers/read-routes';

const TASK = 'a'.repeat(32);

/** Answers ECS lookups, and throttles CloudWatch Logs `throttles` times before answering. */
function fakeAws(throttles: number) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.split('.').pop() ?? '';
    seen.push(op);
    req.resume();
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    if (op === 'DescribeServices') {
      return reply(200, {
        services: [
          {
            serviceName: 'web',
            status: 'ACTIVE',
            taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
          },
        ],
        failures: [],
      });
    }
    if (op === 'DescribeTaskDefinition') {
      return reply(200, {
        taskDefinition: {
          containerDefinitions: [
            {
              name: 'web',
              logConfiguration: {
                logDriver: 'awslogs',
                options: { 'awslogs-group': '/g', 'awslogs-stream-prefix': 'p' },
              },
            },
          ],
        },
      });
    }
    if (seen.filter((o) => o === op).length <= throttles) {
      return reply(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
    }
    return reply(200, {
      events: [{ timestamp: Date.now() - 60_000, message: 'hello', ingestionTime: 1 }],
      nextForwardToken: 'f/1',
      nextBackwardToken: 'b/1',
    });
  });
  return {
    seen,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function getLogsThrough(endpoint: string) {
  clearEcsLookupCache();
  const clients = createClients({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const volumes = {
    storage: { s3: clients.s3, bucket: 'unused', now: Date.now },
    invoke: () => Promise.reject(new Error('no Lambda is invoked for logs')),
  };
  const deps = createReadDeps(
    clients,
    createTargets([{ name: 'web', cluster: 'c', service: 'web' }]),
    volumes,
  );
  const dispatch = createDispatcher({
    tier: 'read',
    routes: readRoutes,
    deps: () => deps,
    log: silentLogger,
  });
  return (await dispatch({
    httpMethod: 'GET',
    resource: '/services/{service}/logs',
    path: '/services/web/logs',
    pathParameters: { service: 'web' },
    queryStringParameters: { task: TASK, since: '1h' },
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'r', identity: { userArn: 'arn:aws:iam::1:user/u' } },
  })) as HttpResponse;
}

describe('AWS throttling', () => {
  it('is retried with backoff and the request succeeds', async () => {
    const aws = fakeAws(2);
    const endpoint = await aws.start();
    try {
      const res = await getLogsThrough(endpoint);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body).events).toEqual([
        expect.objectContaining({ message: 'hello', task: TASK }),
      ]);
      expect(aws.seen.filter((o) => o === 'GetLogEvents')).toHaveLength(3);
    } finally {
      await aws.stop();
    }
  });

  it(`stops after ${MAX_ATTEMPTS} attempts and answers 429 with Retry-After`, async () => {
    const aws = fakeAws(1_000);
    const endpoint = await aws.start();
    try {
      const res = await getLogsThrough(endpoint);
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('5');
      expect(JSON.parse(res.body).error.type).toBe('Sidekick.ThrottledError');
      expect(aws.seen.filter((o) => o === 'GetLogEvents')).toHaveLength(MAX_ATTEMPTS);
    } finally {
      await aws.stop();
    }
  });
});
