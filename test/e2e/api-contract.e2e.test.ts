// The API's guard rails end to end: SigV4 and tier policies at the door, then input
// validation that answers 400 naming the field before any AWS call is made.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { encodeCursor, queryFingerprint } from '../../lambdas/logs/cursor';
import { createDemoService } from '../../sandbox/demo';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox();
  await createDemoService(t.seed, { desiredCount: 1 });
});
afterAll(async () => t?.stop());
beforeEach(() => {
  t.awsCalls.length = 0;
});

const foreignCursor = encodeCursor({
  query: queryFingerprint({ service: 'web', task: undefined, container: 'worker', filter: undefined }),
  floor: Date.now() - 60_000,
  positions: new Map(),
});
const otherClusterTask = `arn:aws:ecs:us-east-1:123456789012:task/other-cluster/${'a'.repeat(32)}`;

const BAD_INPUTS: [string, string, string][] = [
  ['limit not a number', '/services/web/logs?limit=abc', 'limit'],
  ['negative limit', '/services/web/logs?limit=-1', 'limit'],
  ['zero limit', '/services/web/logs?limit=0', 'limit'],
  ['huge limit', '/services/web/logs?limit=10001', 'limit'],
  ['limit in exponent form', '/services/web/logs?limit=1e3', 'limit'],
  ['limit given twice', '/services/web/logs?limit=1&limit=2', 'limit'],
  ['since in words', '/services/web/logs?since=yesterday', 'since'],
  ['since far too long', `/services/web/logs?since=${'1'.repeat(41)}`, 'since'],
  ['until before since', '/services/web/logs?since=10m&until=20m', 'until'],
  ['until in the future', '/services/web/logs?until=2099-01-01T00:00:00Z', 'until'],
  ['oversize filter', `/services/web/logs?filter=${'a'.repeat(1025)}`, 'filter'],
  ['filter with a newline', '/services/web/logs?filter=a%0Ab', 'filter'],
  ['malformed cursor', '/services/web/logs?cursor=not-a-cursor', 'cursor'],
  ['cursor of another query', `/services/web/logs?cursor=${foreignCursor}`, 'cursor'],
  ['task with path traversal', '/services/web/logs?task=..%2F..%2Fetc%2Fpasswd', 'task'],
  ['task with shell metacharacters', '/services/web/logs?task=abc%3Brm%20-rf%20%2F', 'task'],
  ['task of another cluster', `/services/web/logs?task=${encodeURIComponent(otherClusterTask)}`, 'task'],
  ['container with $(...)', '/services/web/logs?container=%24(id)', 'container'],
  ['container with a backtick', '/services/web/logs?container=%60id%60', 'container'],
  ['container starting with a dash', '/services/web/logs?container=-rf', 'container'],
  ['unknown query field', '/services/web/logs?verbose=1', 'verbose'],
  ['service with path traversal', '/services/..%2F..%2Fetc/logs', 'service'],
  ['service with shell metacharacters', '/services/web%3Bls/logs', 'service'],
  ['unknown field on status', '/services/web?x=1', 'x'],
  ['too many diagnose tasks', '/services/web/diagnose?tasks=11', 'tasks'],
  ['too many diagnose lines', '/services/web/diagnose?lines=51', 'lines'],
  ['diagnose lines as a float', '/services/web/diagnose?lines=2.5', 'lines'],
];

describe('bad input', () => {
  it.each(BAD_INPUTS)('%s → 400 naming the field, no AWS call', async (_name, pathAndQuery, field) => {
    const res = await rawRequest(t, 'read', 'GET', pathAndQuery);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'Sidekick.ValidationError', field });
    expect(res.body.error!.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
    expect(t.awsCalls).toEqual([]);
  });

  it('answers 404 for a well-formed service that is not configured, with no AWS call', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services/payments/logs');
    expect(res.status).toBe(404);
    expect(res.body.error!.message).toMatch(/service 'payments' is not configured.*configured: web/);
    expect(t.awsCalls).toEqual([]);
  });

  it('accepts the same request when it is well formed', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services/web/logs?since=5m&limit=10');
    expect(res.status).toBe(200);
  });
});

describe('authentication and tiers', () => {
  it('answers 403 to an unsigned request and runs nothing', async () => {
    const res = await rawRequest(t, 'none', 'GET', '/services/web/logs');
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('Missing Authentication Token');
    expect(t.awsCalls).toEqual([]);
  });

  it('answers 403 to a request signed with the wrong secret', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services', { secretOverride: 'not-the-secret' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/signature we calculated does not match/);
  });

  it('answers 403 when the query string is changed after signing', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services/web/logs?limit=5', {
      mutate: (u) => u.replace('limit=5', 'limit=6'),
    });
    expect(res.status).toBe(403);
  });

  it('answers 403 to a signature older than five minutes', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services', {
      signingDate: new Date(Date.now() - 10 * 60_000),
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/Signature expired/);
  });

  it.each(['operate', 'breakglass'] as const)(
    'answers 403 to the %s identity on a read route (tiers are not cumulative)',
    async (tier) => {
      const res = await rawRequest(t, tier, 'GET', '/services');
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/is not authorized to perform: execute-api:Invoke/);
      expect(t.awsCalls).toEqual([]);
    },
  );

  it('lets the read identity call a read route', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services');
    expect(res.status).toBe(200);
    expect(res.body.services).toEqual([expect.objectContaining({ name: 'web', status: 'ACTIVE' })]);
  });

  it('accepts a request signed by an independent SigV4 implementation (botocore)', async () => {
    const id = t.sandbox.identities.read;
    const script = `
import sys, json, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url = sys.argv[1] + "/services/web/logs?since=5m&limit=3&filter=%22GET%20%2Fhealth%22"
req = AWSRequest(method="GET", url=url)
SigV4Auth(Credentials(sys.argv[2], sys.argv[3]), "execute-api", "us-east-1").add_auth(req)
r = urllib.request.Request(url, headers=dict(req.headers), method="GET")
try:
    print(urllib.request.urlopen(r).status)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
`;
    // Asynchronous: the sandbox API answers from this very process.
    const { stdout } = await promisify(execFile)(process.env.SIDEKICK_PYTHON ?? 'python3', [
      '-c',
      script,
      t.sandbox.apiUrl,
      id.accessKeyId,
      id.secretAccessKey,
    ]);
    expect(stdout.trim()).toBe('200');
  });
});
