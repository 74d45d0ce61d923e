// Config files end to end on the seeded sandbox: the web containers read app.conf from the
// config volume and reload it on SIGHUP; writes go through the config-files "Lambda", the
// validator and the reload signal go through ECS Exec into those containers.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DEMO } from '../../sandbox/demo';
import { volumeDir } from '../../sandbox/volumes';
import { snapshot } from '../support/trees';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
let configDir: string;
const FILE = '/services/web/config/config/app.conf';

beforeAll(async () => {
  t = await startTestSandbox(undefined, { seed: true });
  configDir = volumeDir(t.stateDir, 'web', 'config');
});
afterAll(async () => t?.stop());

const put = (body: object, path = FILE, tier: 'operate' | 'read' = 'operate') =>
  rawRequest(t, tier, 'PUT', path, { body: JSON.stringify(body) });
const get = (path = FILE) => rawRequest(t, 'read', 'GET', path);
const live = () => readFile(join(configDir, 'app.conf'), 'utf8');

async function webLogged(pattern: RegExp, since: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const out = await t.seed.logs.send(
      new FilterLogEventsCommand({
        logGroupName: DEMO.logGroup,
        startTime: since,
        filterPattern: '"received SIGHUP"',
      }),
    );
    if ((out.events ?? []).some((e) => pattern.test(e.message ?? ''))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('config files through the API', () => {
  it('reads, writes with validation and a HUP reload the service logs, and refuses a stale write with 409', async () => {
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      version: 0,
      exists: true,
      content: expect.stringContaining('greeting='),
    });

    const since = Date.now();
    const written = await put({
      content: 'greeting=hello from a test\nworkers=4\n',
      expectedVersion: 0,
      validate: ['validate-config'],
      reload: 'HUP',
    });
    expect(written.status).toBe(200);
    expect(written.body).toMatchObject({
      version: 2,
      validation: { exitCode: 0 },
      reload: { signal: 'HUP', delivered: 2 },
    });
    expect(await live()).toBe('greeting=hello from a test\nworkers=4\n');
    expect(await webLogged(/reloaded config: greeting=hello from a test, workers=4/, since)).toBe(true);

    const stale = await put({ content: 'greeting=stale\n', expectedVersion: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body.error!.message).toMatch(/at version 2, not 0/);
    expect(await live()).toBe('greeting=hello from a test\nworkers=4\n');
  });

  it('puts the previous version back and answers 422 when the validator fails', async () => {
    const current = (await get()).body as { version: number; content: string };
    const res = await put({
      content: 'workers=many\n',
      expectedVersion: current.version,
      validate: ['validate-config'],
      reload: 'HUP',
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      type: 'Sidekick.CheckFailedError',
      validation: { exitCode: 1, output: expect.stringMatching(/workers must be a whole number/) },
      rejectedVersion: current.version + 1,
      version: current.version + 2,
    });
    expect(await live()).toBe(current.content);
    const versions = await rawRequest(
      t,
      'read',
      'GET',
      '/services/web/config-versions/config/app.conf?limit=2',
    );
    expect(versions.body.versions).toEqual([
      expect.objectContaining({
        version: current.version + 2,
        note: expect.stringMatching(/validation failed/),
      }),
      expect.objectContaining({ version: current.version + 1 }),
    ]);
  });

  it('diffs two versions and rolls back to one', async () => {
    const diff = await rawRequest(t, 'read', 'GET', '/services/web/config-diff/config/app.conf?from=1&to=2');
    expect(diff.status).toBe(200);
    expect(diff.body.diff).toMatch(/\+greeting=hello from a test/);
    const current = (await get()).body as { version: number };
    const rolled = await rawRequest(t, 'operate', 'POST', '/services/web/config-rollback/config/app.conf', {
      body: JSON.stringify({ version: 1, expectedVersion: current.version }),
    });
    expect(rolled.status).toBe(200);
    expect(await live()).toMatch(/^greeting=hello from the sandbox/);
  });

  it('creates a new file in a new directory, and reads an earlier version', async () => {
    const res = await put(
      { content: 'a=1\n', expectedVersion: 0 },
      '/services/web/config/config/conf.d/extra.conf',
    );
    expect(res.status).toBe(200);
    expect(await readFile(join(configDir, 'conf.d', 'extra.conf'), 'utf8')).toBe('a=1\n');
    const v1 = await rawRequest(t, 'read', 'GET', '/services/web/config/config/conf.d/extra.conf?version=1');
    expect(v1.body).toMatchObject({ version: 1, content: 'a=1\n' });
  });
});

describe('bad config requests: 4xx and nothing written', () => {
  it.each([
    ['a parent segment', '/services/web/config/config/..%2F..%2Fdata%2Fx.conf', 400, 'path'],
    ['a double-encoded parent', '/services/web/config/config/%252e%252e/x.conf', 400, 'path'],
    ['a NUL byte', '/services/web/config/config/x%00.conf', 400, 'path'],
    ["ecs-sidekick's history", '/services/web/config/config/.sidekick/history/x', 400, 'path'],
    ['a volume without config files', '/services/web/config/data/x.conf', 400, 'volume'],
    ['an unknown volume', '/services/web/config/nope/x.conf', 400, 'volume'],
  ])('%s', async (_name, path, status, field) => {
    const before = await snapshot(join(t.stateDir, 'volumes'));
    const res = await put({ content: 'pwned\n', expectedVersion: 0 }, path);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ field });
    expect(await snapshot(join(t.stateDir, 'volumes'))).toEqual(before);
  });

  it('refuses a validator the config does not list, before writing', async () => {
    const before = await snapshot(configDir);
    const res = await put({ content: 'x=1\n', expectedVersion: 99, validate: ['sh', '-c', 'id'] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      field: 'validate',
      message: expect.stringMatching(/not one of the validators configured for web/),
    });
    expect(await snapshot(configDir)).toEqual(before);
  });

  it('does not let the read tier write', async () => {
    const res = await put({ content: 'x=1\n', expectedVersion: 0 }, FILE, 'read');
    expect(res.status).toBe(403);
  });
});
