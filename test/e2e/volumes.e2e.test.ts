// Backups, restores and operations end to end: requests signed as the tier identities, the
// operate handler starting real RunTask calls on moto, the sandbox's runner running the
// bundled sidekick program against a local directory, S3 and DynamoDB in moto.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { taskIdOf } from '../../lambdas/shared/ecs-lookup';
import { OperationView } from '../../lambdas/volumes/operations';
import { BackupSummary } from '../../lambdas/volumes/catalog';
import { createDemoService, DEMO } from '../../sandbox/demo';
import { volumeDir } from '../../sandbox/volumes';
import { snapshot, writeBigFile } from '../support/trees';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
let data: string;

beforeAll(async () => {
  // The service and its network, no running tasks: a backup needs no container of the service.
  t = await startTestSandbox(undefined, { seed: false });
  await createDemoService(t.seed);
  data = volumeDir(t.stateDir, 'web', 'data');
});
afterAll(async () => t?.stop());

const post = (path: string, body: object, tier: 'operate' | 'read' = 'operate') =>
  rawRequest(t, tier, 'POST', path, { body: JSON.stringify(body) });

async function waitFor(id: string, until: (op: OperationView) => boolean = finished): Promise<OperationView> {
  for (let i = 0; i < 300; i++) {
    const res = await rawRequest(t, 'operate', 'GET', `/operations/${id}`);
    expect(res.status).toBe(200);
    const op = res.body as unknown as OperationView;
    if (until(op)) return op;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operation ${id} did not get there in 30 s`);
}
const finished = (op: OperationView) => op.status === 'SUCCEEDED' || op.status === 'FAILED';

async function backup(body: object = { volume: 'data' }): Promise<OperationView> {
  const res = await post('/services/web/backups', body);
  expect(res.status).toBe(202);
  return res.body as unknown as OperationView;
}

async function listed(): Promise<string[]> {
  const res = await rawRequest(t, 'read', 'GET', '/services/web/backups?volume=data');
  expect(res.status).toBe(200);
  return (res.body.backups as BackupSummary[]).map((b) => b.backupId);
}

async function sidekickTasks(): Promise<string[]> {
  const out = await t.seed.ecs.send(
    new ListTasksCommand({ cluster: DEMO.cluster, family: 'ecs-sidekick-web-data' }),
  );
  return out.taskArns ?? [];
}

describe('backup and restore through the API', () => {
  it('backs up the data volume; after a change, a restore brings every file back byte for byte', async () => {
    await rm(data, { recursive: true, force: true });
    await mkdir(join(data, 'orders', 'ünïcode'), { recursive: true });
    await writeFile(join(data, 'orders', 'order-1.json'), '{"id":1}\n');
    await writeFile(join(data, 'orders', 'ünïcode', 'straße.txt'), 'grüße\n');
    await writeBigFile(join(data, 'blob.bin'), 3 * 1024 * 1024);
    const before = await snapshot(data);

    const started = await backup();
    expect(started).toMatchObject({
      kind: 'backup',
      status: 'PENDING',
      volume: 'data',
      taskArn: expect.stringContaining(':task/'),
    });
    const done = await waitFor(started.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { backupId: started.backupId, files: 3 } });
    expect(done.progress.bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(await listed()).toContain(started.backupId);
    const manifest = await rawRequest(t, 'read', 'GET', `/services/web/backups/${started.backupId}`);
    expect(manifest.body).toMatchObject({
      backupId: started.backupId,
      caller: expect.stringContaining('operate'),
      archive: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    await writeFile(join(data, 'orders', 'order-1.json'), '{"id":1,"changed":true}\n');
    await rm(join(data, 'blob.bin'));
    await writeFile(join(data, 'new-file.txt'), 'not in the backup\n');

    const restore = await post(`/services/web/backups/${started.backupId}/restore`, { volume: 'data' });
    expect(restore.status).toBe(202);
    const restored = await waitFor((restore.body as unknown as OperationView).id);
    expect(restored).toMatchObject({ kind: 'restore', status: 'SUCCEEDED' });
    expect(await snapshot(data)).toEqual(before);
  });

  it('answers 409 naming the holder when the volume is busy, and the same clientToken returns the same operation', async () => {
    await writeBigFile(join(data, 'big.bin'), 48 * 1024 * 1024);
    const body = { volume: 'data', clientToken: 'token-busy-0001' };
    const first = await backup(body);
    const again = await post('/services/web/backups', body);
    expect(again.status).toBe(202);
    expect((again.body as unknown as OperationView).id).toBe(first.id);

    const otherBody = await post('/services/web/backups', {
      volume: 'data',
      path: 'orders',
      clientToken: 'token-busy-0001',
    });
    expect(otherBody.status).toBe(409);
    expect(otherBody.body.error!.message).toMatch(/clientToken was already used with a different request/);

    const busy = await post('/services/web/backups', { volume: 'data' });
    expect(busy.status).toBe(409);
    expect(busy.body.error!.message).toMatch(new RegExp(`volume is busy: backup ${first.id} by .*operate`));
    expect(await waitFor(first.id)).toMatchObject({ status: 'SUCCEEDED' });
    await rm(join(data, 'big.bin'));
  });

  it('a sidekick stopped mid-backup fails its operation, frees the volume and is never listed', async () => {
    await writeBigFile(join(data, 'big.bin'), 160 * 1024 * 1024);
    const started = await backup();
    await waitFor(started.id, (op) => op.status === 'RUNNING' && op.progress.bytes > 0);
    await t.seed.ecs.send(
      new StopTaskCommand({ cluster: DEMO.cluster, task: started.taskArn!, reason: 'test' }),
    );
    const failed = await waitFor(started.id);
    expect(failed).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/SIGTERM/) });
    expect(await listed()).not.toContain(started.backupId);
    const objects = await t.sandbox.clients.s3.send(
      new ListObjectsV2Command({ Bucket: DEMO.bucket, Prefix: `backups/web/data/${started.backupId}/` }),
    );
    expect((objects.Contents ?? []).map((o) => o.Key)).not.toContain(
      `backups/web/data/${started.backupId}/manifest.json`,
    );
    const next = await backup({ volume: 'data', path: 'orders' });
    expect(await waitFor(next.id)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('a sidekick killed outright is reported failed by GET /operations, and the volume is freed', async () => {
    const started = await backup();
    await waitFor(started.id, (op) => op.status === 'RUNNING' && op.progress.bytes > 0);
    await t.sandbox.tasks.stopTask(taskIdOf(started.taskArn), 'SIGKILL');
    const failed = await waitFor(started.id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/stopped before finishing \(exit code 137/),
    });
    expect(await listed()).not.toContain(started.backupId);
    const next = await backup({ volume: 'data', path: 'orders' });
    expect(await waitFor(next.id)).toMatchObject({ status: 'SUCCEEDED' });
    await rm(join(data, 'big.bin'));
  });
});

describe('bad backup and restore requests: 4xx, and no task is started', () => {
  it.each([
    ['a path with ..', '/services/web/backups', { volume: 'data', path: '../etc' }, 400, 'path'],
    ['an absolute path', '/services/web/backups', { volume: 'data', path: '/etc' }, 400, 'path'],
    ['an unknown volume', '/services/web/backups', { volume: 'logs' }, 400, 'volume'],
    ['a malformed volume name', '/services/web/backups', { volume: 'Data;rm' }, 400, 'volume'],
    [
      'a malformed client token',
      '/services/web/backups',
      { volume: 'data', clientToken: 'x y' },
      400,
      'clientToken',
    ],
    ['an unknown field', '/services/web/backups', { volume: 'data', force: true }, 400, 'force'],
    [
      'a backup that does not exist',
      '/services/web/backups/20200101T000000Z-abcdef/restore',
      { volume: 'data' },
      404,
      undefined,
    ],
    ['a malformed backup id', '/services/web/backups/latest/restore', { volume: 'data' }, 400, 'backupId'],
  ])('%s', async (_name, path, body, status, field) => {
    const before = await sidekickTasks();
    const res = await post(path, body);
    expect(res.status).toBe(status);
    if (field) expect(res.body.error).toMatchObject({ type: 'Sidekick.ValidationError', field });
    expect(await sidekickTasks()).toEqual(before);
  });

  it('refuses a restore into another volume than the backup was taken from', async () => {
    const [backupId] = await listed();
    const res = await post(`/services/web/backups/${backupId}/restore`, { volume: 'config' });
    expect(res.status).toBe(404);
  });

  it('does not let the read tier start a backup', async () => {
    const res = await post('/services/web/backups', { volume: 'data' }, 'read');
    expect(res.status).toBe(403);
  });

  it('answers 404 for an operation that does not exist and 400 for a malformed id', async () => {
    expect((await rawRequest(t, 'operate', 'GET', '/operations/op-000000000000000000000000')).status).toBe(
      404,
    );
    expect((await rawRequest(t, 'operate', 'GET', '/operations/..%2Fetc')).status).toBe(400);
  });
});

describe('time limits', () => {
  it('stops a sidekick task past its time limit and reports it', async () => {
    const limited = await startTestSandbox(undefined, { seed: false, timeLimitMs: 300 });
    try {
      await createDemoService(limited.seed);
      const dir = volumeDir(limited.stateDir, 'web', 'data');
      await writeBigFile(join(dir, 'big.bin'), 256 * 1024 * 1024);
      const res = await rawRequest(limited, 'operate', 'POST', '/services/web/backups', {
        body: JSON.stringify({ volume: 'data' }),
      });
      expect(res.status).toBe(202);
      const id = (res.body as unknown as OperationView).id;
      let op: OperationView | undefined;
      for (let i = 0; i < 200 && !(op && finished(op)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        op = (await rawRequest(limited, 'operate', 'GET', `/operations/${id}`))
          .body as unknown as OperationView;
      }
      expect(op).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/time limit/) });
      const listing = await rawRequest(limited, 'read', 'GET', '/services/web/backups');
      expect(listing.body.backups).toEqual([]);
    } finally {
      await limited.stop();
    }
  });
});
