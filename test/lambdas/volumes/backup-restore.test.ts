// Backup and restore cores against moto's S3, with real files and real archives.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { clientConfig } from '../../../lambdas/shared/clients';
import { runBackup, StorageDeps } from '../../../lambdas/volumes/backup';
import { backupKeys, Manifest } from '../../../lambdas/volumes/manifest';
import { RestoreRefused, runRestore } from '../../../lambdas/volumes/restore';
import { MotoServer, startMoto } from '../../../sandbox/moto-server';
import { snapshot, writeBigFile, writeManySmallFiles, writeMixedTree } from '../../support/trees';

let moto: MotoServer;
let deps: StorageDeps;
let counter = 0;

beforeAll(async () => {
  moto = await startMoto();
  const s3 = new S3Client({
    ...clientConfig({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    }),
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'backups' }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: 'backups', VersioningConfiguration: { Status: 'Enabled' } }),
  );
  deps = { s3, bucket: 'backups', now: Date.now };
});
afterAll(async () => moto?.stop());

function volume(): string {
  return mkdtempSync(join(tmpdir(), 'sidekick-volume-'));
}

const nextId = () => `20261203T120000Z-${(counter++).toString(16).padStart(6, '0')}`;
const ok = async () => undefined;

async function backup(root: string, path = '', backupId = nextId()) {
  return runBackup(deps, {
    service: 'web',
    volume: 'data',
    backupId,
    path,
    volumeRoot: root,
    operationId: `op-${backupId}`,
    caller: 'arn:aws:iam::1:user/t',
    task: 'task-1',
    commitCheck: ok,
  });
}

function restore(root: string, backupId: string, path?: string) {
  return runRestore(deps, {
    service: 'web',
    volume: 'data',
    backupId,
    ...(path !== undefined ? { path } : {}),
    volumeRoot: root,
    operationId: `restore-${counter++}`,
    commitCheck: ok,
  });
}

describe('backup → restore', () => {
  it('round-trips 10,000 small files, a 200 MB file, empty dirs, in-tree symlinks, non-ASCII names, modes and mtimes byte for byte', async () => {
    const root = volume();
    await writeManySmallFiles(root, 10_000);
    await writeBigFile(join(root, 'big.bin'), 200 * 1024 * 1024);
    await writeMixedTree(root);
    const before = await snapshot(root);

    const { backupId, manifest } = await backup(root);
    expect(manifest.counts.files).toBe(10_000 + 5);
    expect(manifest.files.fileBytes).toBeGreaterThan(200 * 1024 * 1024);

    // Wreck the live data, then restore over it.
    await rm(join(root, 'many'), { recursive: true });
    await writeFile(join(root, 'big.bin'), 'overwritten');
    await writeFile(join(root, 'new-file'), 'not in the backup');
    const result = await restore(root, backupId);
    expect(result.files).toBe(10_005);
    expect(await snapshot(root)).toEqual(before);
  });

  it('restores one sub-path from a full backup and leaves the rest alone', async () => {
    const root = volume();
    await writeMixedTree(root);
    const { backupId } = await backup(root);
    await writeFile(join(root, 'docs', 'ünïcødé ✓ notes.txt'), 'changed');
    await writeFile(join(root, 'script.sh'), 'changed too');
    await restore(root, backupId, 'docs');
    const after = await snapshot(root);
    expect(after['docs/ünïcødé ✓ notes.txt']).toMatch(/^file 644 \d+ 15 /);
    expect(after['script.sh']).toMatch(/ 11 /);
  });

  it('backs up a sub-path only', async () => {
    const root = volume();
    await writeMixedTree(root);
    const { manifest } = await backup(root, 'docs');
    expect(manifest.path).toBe('docs');
    expect(manifest.counts).toEqual({ files: 2, directories: 1, symlinks: 1 });
  });

  it('writes the manifest last, with archive and file list checksums', async () => {
    const root = volume();
    await writeMixedTree(root);
    const { backupId, manifest } = await backup(root);
    const keys = backupKeys('web', 'data', backupId);
    const archive = await deps.s3.send(new GetObjectCommand({ Bucket: 'backups', Key: keys.archive }));
    const bytes = Buffer.from(await archive.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.archive.sha256);
    expect(manifest.archive.bytes).toBe(bytes.length);
    // GNU tar reads our archive: the long name, the non-ASCII name and the symlinks included.
    const listing = spawnSync('tar', ['-tvzf', '-'], { input: bytes, encoding: 'utf8' });
    expect(listing.status).toBe(0);
    expect(listing.stdout).toContain(`docs/${'long-name-'.repeat(15)}.txt`);
    expect(listing.stdout).toContain('docs/ünïcødé ✓ notes.txt');
    expect(listing.stdout).toMatch(/link-to-notes -> docs\/ünïcødé ✓ notes.txt/);
  });
});

describe('restore refuses, and the live data stays byte for byte', () => {
  async function liveAndBackup() {
    const root = volume();
    await writeMixedTree(root);
    const { backupId, manifest } = await backup(root);
    return { root, backupId, manifest, before: await snapshot(root) };
  }

  async function expectRefusal(root: string, before: unknown, run: Promise<unknown>, message: RegExp) {
    await expect(run).rejects.toThrow(RestoreRefused);
    await expect(run).rejects.toThrow(message);
    expect(await snapshot(root)).toEqual(before);
  }

  it('a corrupted archive', async () => {
    const { root, backupId, manifest, before } = await liveAndBackup();
    const bytes = Buffer.from(
      await (
        await deps.s3.send(new GetObjectCommand({ Bucket: 'backups', Key: manifest.archive.key }))
      ).Body!.transformToByteArray(),
    );
    bytes[bytes.length >> 1] ^= 0xff;
    const put = await deps.s3.send(
      new PutObjectCommand({ Bucket: 'backups', Key: manifest.archive.key, Body: bytes }),
    );
    await rewriteManifest(backupId, {
      ...manifest,
      archive: { ...manifest.archive, versionId: put.VersionId! },
    });
    await expectRefusal(root, before, restore(root, backupId), /archive does not match its manifest/);
  });

  it('a truncated upload', async () => {
    const { root, backupId, manifest, before } = await liveAndBackup();
    const bytes = Buffer.from(
      await (
        await deps.s3.send(new GetObjectCommand({ Bucket: 'backups', Key: manifest.archive.key }))
      ).Body!.transformToByteArray(),
    );
    const put = await deps.s3.send(
      new PutObjectCommand({
        Bucket: 'backups',
        Key: manifest.archive.key,
        Body: bytes.subarray(0, bytes.length - 100),
      }),
    );
    await rewriteManifest(backupId, {
      ...manifest,
      archive: { ...manifest.archive, versionId: put.VersionId! },
    });
    await expectRefusal(root, before, restore(root, backupId), /does not match its manifest/);
  });

  it('a missing manifest', async () => {
    const { root, backupId, before } = await liveAndBackup();
    await deps.s3.send(
      new DeleteObjectCommand({ Bucket: 'backups', Key: backupKeys('web', 'data', backupId).manifest }),
    );
    await expectRefusal(root, before, restore(root, backupId), /has no manifest: it is incomplete/);
  });

  // Malicious archives made by Python's tarfile (an independent implementation), with a
  // manifest and file list that match them, so only the entry checks stand in the way.
  it.each([
    ['a ".." path', `t.addfile(info("../escaped.txt", b"x"), io.BytesIO(b"x"))`, /has a "\.\." segment/],
    ['an absolute path', `t.addfile(info("/tmp/escaped.txt", b"x"), io.BytesIO(b"x"))`, /is absolute/],
    [
      'a symlink pointing out',
      `s = info("out", b""); s.type = tarfile.SYMTYPE; s.linkname = "../../etc"; t.addfile(s)`,
      /points outside the volume/,
    ],
    [
      'an absolute symlink',
      `s = info("out", b""); s.type = tarfile.SYMTYPE; s.linkname = "/etc/passwd"; t.addfile(s)`,
      /points outside the volume/,
    ],
    [
      'a hard link',
      `t.addfile(info("a", b"x"), io.BytesIO(b"x")); h = info("b", b""); h.type = tarfile.LNKTYPE; h.linkname = "a"; t.addfile(h)`,
      /is a hard link/,
    ],
    [
      'a device node',
      `d = info("dev", b""); d.type = tarfile.CHRTYPE; d.devmajor = 1; d.devminor = 3; t.addfile(d)`,
      /is a character-device/,
    ],
    ['a FIFO', `f = info("pipe", b""); f.type = tarfile.FIFOTYPE; t.addfile(f)`, /is a fifo/],
    [
      'a file written through a symlink',
      `s = info("d", b""); s.type = tarfile.SYMTYPE; s.linkname = "."; t.addfile(s); t.addfile(info("d/x", b"x"), io.BytesIO(b"x"))`,
      /written through 'd', which is not a directory/,
    ],
  ])('a malicious archive with %s', async (_name, python, message) => {
    const root = volume();
    await writeMixedTree(root);
    const before = await snapshot(root);
    const backupId = await plantCraftedBackup(python);
    await expectRefusal(root, before, restore(root, backupId), message);
  });
});

async function rewriteManifest(backupId: string, manifest: Manifest) {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: 'backups',
      Key: backupKeys('web', 'data', backupId).manifest,
      Body: JSON.stringify(manifest),
    }),
  );
}

/** Uploads a tar.gz made by Python plus a file list and manifest that agree with it. */
async function plantCraftedBackup(python: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'crafted-'));
  const script = `
import io, json, sys, tarfile, time
def info(name, data):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; i.mtime = 1700000000; return i
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    ${python}
with tarfile.open(sys.argv[1]) as t, open(sys.argv[2], "w") as out:
    kinds = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "directory", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "character-device", tarfile.FIFOTYPE: "fifo"}
    for m in t.getmembers():
        rec = {"path": m.name.rstrip("/"), "type": kinds.get(m.type, "file"), "mode": m.mode, "size": m.size, "mtimeMs": m.mtime * 1000}
        if m.type == tarfile.REGTYPE:
            import hashlib; rec["sha256"] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
        out.write(json.dumps(rec) + "\\n")
`;
  await promisify(execFile)('python3', ['-c', script, join(dir, 'a.tar'), join(dir, 'files.ndjson')]);
  const archive = gzipSync(await readFile(join(dir, 'a.tar')));
  // The file list may hold types our schema refuses: keep it as Python wrote it.
  const files = gzipSync(await readFile(join(dir, 'files.ndjson')));
  const backupId = nextId();
  const keys = backupKeys('web', 'data', backupId);
  await deps.s3.send(new PutObjectCommand({ Bucket: 'backups', Key: keys.archive, Body: archive }));
  await deps.s3.send(new PutObjectCommand({ Bucket: 'backups', Key: keys.files, Body: files }));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const manifest: Manifest = {
    format: 1,
    backupId,
    service: 'web',
    volume: 'data',
    path: '',
    operationId: 'crafted',
    caller: 'attacker',
    task: 'none',
    startedAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    archive: { key: keys.archive, bytes: archive.length, sha256: sha(archive) },
    files: { key: keys.files, bytes: files.length, sha256: sha(files), entries: 1, fileBytes: 1 },
    counts: { files: 1, directories: 0, symlinks: 0 },
    skipped: [],
  };
  await rewriteManifest(backupId, manifest);
  await rm(dir, { recursive: true });
  return backupId;
}
