// The versioned config store on a real directory: compare-and-swap, history, diff, rollback,
// and paths that must be refused with nothing written.

import { mkdtempSync } from 'node:fs';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore, HISTORY_DIR, MAX_CONFIG_BYTES } from '../../../lambdas/volumes/config-store';
import { snapshot } from '../../support/trees';

const alice = 'arn:aws:iam::111122223333:user/alice';
const bob = 'arn:aws:iam::111122223333:user/bob';

function volume(): string {
  return mkdtempSync(join(tmpdir(), 'sidekick-config-'));
}

describe('ConfigStore', () => {
  it('writes a new file as version 1 and reads it back with author and checksum', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    const written = await store.write('app.conf', {
      content: 'greeting=hello\n',
      expectedVersion: 0,
      author: alice,
    });
    expect(written).toMatchObject({ version: 1, previous: { version: 0, exists: false } });
    expect(await readFile(join(root, 'app.conf'), 'utf8')).toBe('greeting=hello\n');
    const read = await store.read('app.conf');
    expect(read).toMatchObject({
      version: 1,
      content: 'greeting=hello\n',
      drifted: false,
      latest: { author: alice },
    });
    expect(read.sha256).toBe(written.sha256);
  });

  it('refuses a stale write with 409 and leaves the file as it was', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    await store.write('app.conf', { content: 'v1\n', expectedVersion: 0, author: alice });
    await store.write('app.conf', { content: 'v2\n', expectedVersion: 1, author: bob });
    await expect(
      store.write('app.conf', { content: 'stale\n', expectedVersion: 1, author: alice }),
    ).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/at version 2, not 1/),
    });
    expect(await readFile(join(root, 'app.conf'), 'utf8')).toBe('v2\n');
    expect((await store.versions('app.conf', { limit: 10 })).versions.map((v) => v.version)).toEqual([2, 1]);
  });

  it('lets exactly one of two writers on the same version win', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    await store.write('app.conf', { content: 'base\n', expectedVersion: 0, author: alice });
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((c) =>
        new ConfigStore(root).write('app.conf', { content: `${c}\n`, expectedVersion: 1, author: alice }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 409 });
    const live = await readFile(join(root, 'app.conf'), 'utf8');
    expect((await store.read('app.conf')).content).toBe(live);
    expect((await store.read('app.conf')).version).toBe(2);
  });

  it('keeps the content that was there before the first write as a version', async () => {
    const root = volume();
    await writeFile(join(root, 'app.conf'), 'original\n', { mode: 0o640 });
    const store = new ConfigStore(root);
    expect(await store.read('app.conf')).toMatchObject({ version: 0, exists: true, content: 'original\n' });
    const written = await store.write('app.conf', { content: 'new\n', expectedVersion: 0, author: alice });
    expect(written.version).toBe(2);
    expect((await store.version('app.conf', 1)).content).toBe('original\n');
    expect((await store.versions('app.conf', { limit: 5 })).versions[1]).toMatchObject({
      author: expect.stringMatching(/before ecs-sidekick/),
    });
  });

  it('keeps a change made outside ecs-sidekick as a version and asks the writer to look at it', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    await store.write('app.conf', { content: 'v1\n', expectedVersion: 0, author: alice });
    await writeFile(join(root, 'app.conf'), 'edited by hand\n');
    expect(await store.read('app.conf')).toMatchObject({
      version: 1,
      drifted: true,
      content: 'edited by hand\n',
    });
    await expect(
      store.write('app.conf', { content: 'v2\n', expectedVersion: 1, author: alice }),
    ).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/changed outside ecs-sidekick; that content is now version 2/),
    });
    expect(await readFile(join(root, 'app.conf'), 'utf8')).toBe('edited by hand\n');
    const next = await store.write('app.conf', { content: 'v3\n', expectedVersion: 2, author: alice });
    expect(next.version).toBe(3);
  });

  it('rolls the live file forward when a writer died after committing its version', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    await store.write('app.conf', { content: 'v1\n', expectedVersion: 0, author: alice });
    await store.write('app.conf', { content: 'v2\n', expectedVersion: 1, author: alice });
    // Put the live file back to v1, as if the process died between the history link and the rename.
    await writeFile(join(root, 'app.conf'), 'v1\n');
    const written = await store.write('app.conf', { content: 'v3\n', expectedVersion: 2, author: alice });
    expect(written.version).toBe(3);
    expect(await readFile(join(root, 'app.conf'), 'utf8')).toBe('v3\n');
  });

  it('rolls back by writing an earlier version as a new one, and diffs versions', async () => {
    const root = volume();
    const store = new ConfigStore(root);
    await store.write('conf.d/site.conf', {
      content: 'port=80\nhost=a\n',
      expectedVersion: 0,
      author: alice,
    });
    await store.write('conf.d/site.conf', {
      content: 'port=8080\nhost=a\n',
      expectedVersion: 1,
      author: bob,
    });
    const diff = await store.diff('conf.d/site.conf', 1, 2);
    expect(diff.diff).toContain('-port=80\n+port=8080');
    const rolled = await store.rollback('conf.d/site.conf', {
      version: 1,
      expectedVersion: 2,
      author: alice,
    });
    expect(rolled.version).toBe(3);
    expect(await readFile(join(root, 'conf.d/site.conf'), 'utf8')).toBe('port=80\nhost=a\n');
    expect((await store.versions('conf.d/site.conf', { limit: 1 })).versions[0]).toMatchObject({
      note: 'rollback to version 1',
    });
    await expect(
      store.rollback('conf.d/site.conf', { version: 9, expectedVersion: 3, author: alice }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('pages through versions newest first', async () => {
    const store = new ConfigStore(volume());
    for (let v = 0; v < 5; v++)
      await store.write('a.conf', { content: `${v}\n`, expectedVersion: v, author: alice });
    const first = await store.versions('a.conf', { limit: 2 });
    expect(first.versions.map((v) => v.version)).toEqual([5, 4]);
    const second = await store.versions('a.conf', { limit: 2, before: first.next });
    expect(second.versions.map((v) => v.version)).toEqual([3, 2]);
    const last = await store.versions('a.conf', { limit: 2, before: second.next });
    expect(last).toEqual({ versions: [expect.objectContaining({ version: 1 })] });
  });

  it('refuses content over the size limit', async () => {
    const store = new ConfigStore(volume());
    await expect(
      store.write('big.conf', {
        content: 'x'.repeat(MAX_CONFIG_BYTES + 1),
        expectedVersion: 0,
        author: alice,
      }),
    ).rejects.toMatchObject({
      status: 400,
      field: 'content',
    });
  });
});

describe('config paths that must be refused with 400 and nothing written', () => {
  const cases: [string, string, RegExp][] = [
    ['a parent segment', '../outside.conf', /".." segment/],
    ['a parent segment deeper in', 'conf.d/../../outside.conf', /".." segment/],
    ['an absolute path', '/etc/passwd', /absolute/],
    ['a percent-encoded parent', '%2e%2e/outside.conf', /percent-encoded/],
    ['a percent-encoded slash', 'conf.d%2F..%2F..%2Foutside.conf', /percent-encoded/],
    ['a NUL byte', 'app.conf\0.bak', /NUL/],
    ['a path through a symlinked directory', 'linked/app.conf', /is a symlink/],
    ['a symlinked file', 'link.conf', /is a symlink/],
    ["ecs-sidekick's own state", `${HISTORY_DIR}/x/000001.json`, /own state/],
  ];

  it.each(cases)('%s', async (_name, path, message) => {
    const root = volume();
    const outside = volume();
    await mkdir(join(root, 'conf.d'));
    await symlink(outside, join(root, 'linked'));
    await writeFile(join(outside, 'target.conf'), 'outside\n');
    await symlink(join(outside, 'target.conf'), join(root, 'link.conf'));
    const before = { root: await snapshot(root), outside: await snapshot(outside) };
    const store = new ConfigStore(root);
    await expect(
      store.write(path, { content: 'pwned\n', expectedVersion: 0, author: alice }),
    ).rejects.toMatchObject({
      status: 400,
      field: 'path',
      message: expect.stringMatching(message),
    });
    await expect(store.read(path)).rejects.toMatchObject({ status: 400 });
    expect({ root: await snapshot(root), outside: await snapshot(outside) }).toEqual(before);
  });

  it('a hard link elsewhere is written by replacing the name, never through the link', async () => {
    const root = volume();
    await writeFile(join(root, 'shared.txt'), 'shared\n');
    await link(join(root, 'shared.txt'), join(root, 'app.conf'));
    await new ConfigStore(root).write('app.conf', { content: 'new\n', expectedVersion: 0, author: alice });
    expect(await readFile(join(root, 'shared.txt'), 'utf8')).toBe('shared\n');
  });
});
