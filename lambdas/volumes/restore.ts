// Restores a backup into its volume, or a path inside it, and never leaves a half-restored
// directory:
//   1. the manifest must exist (no manifest: the backup is incomplete);
//   2. the archive and file list are read once to check their SHA-256 and size, before anything
//      on the volume is touched;
//   3. the archive is extracted into a fresh staging directory on the same volume, entry by
//      entry next to the file list, refusing what could escape or is not a file, directory or
//      in-tree symlink, and checking every file's size and SHA-256;
//   4. with the lease still held, the staged contents are swapped in (swap.ts).

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { owner, StorageDeps } from './backup';
import { backupKeys, FileRecord, FileRecordSchema, Manifest, ManifestSchema } from './manifest';
import { unsafeReason } from './safe-path';
import { recoverInterruptedSwaps, swapContents } from './swap';
import { readTar, TarEntry } from './tar/reader';

export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
}

export interface RestoreJob {
  readonly service: string;
  readonly volume: string;
  readonly backupId: string;
  /** What to restore, relative to the volume root; default: everything the backup holds. */
  readonly path?: string;
  readonly volumeRoot: string;
  readonly operationId: string;
  readonly onProgress?: (progress: { bytes: number; files: number }) => void;
  readonly commitCheck: () => Promise<void>;
}

export interface RestoreResult {
  readonly backupId: string;
  readonly path: string;
  readonly files: number;
  readonly bytes: number;
}

export async function readManifest(
  deps: StorageDeps,
  service: string,
  volume: string,
  backupId: string,
): Promise<Manifest> {
  const key = backupKeys(service, volume, backupId).manifest;
  let text: string;
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key, ...owner(deps) }));
    text = await out.Body!.transformToString();
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
      throw new RestoreRefused(
        `backup ${backupId} of ${service}/${volume} has no manifest: it is incomplete and cannot be restored`,
      );
    }
    throw error;
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new RestoreRefused(
      `the manifest of backup ${backupId} is not valid: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

export async function runRestore(deps: StorageDeps, job: RestoreJob): Promise<RestoreResult> {
  const manifest = await readManifest(deps, job.service, job.volume, job.backupId);
  const target = job.path ?? manifest.path;
  if (manifest.path && target !== manifest.path && !target.startsWith(`${manifest.path}/`)) {
    throw new RestoreRefused(`path '${target}' is not inside the backed-up path '${manifest.path}'`);
  }
  await verifyObject(deps, manifest.archive, 'archive');
  await verifyObject(deps, manifest.files, 'file list');

  await recoverInterruptedSwaps(job.volumeRoot);
  const staging = join(job.volumeRoot, `.sidekick-restore-${job.operationId}`);
  await mkdir(staging);
  try {
    const { files, bytes, targetType } = await extract(deps, manifest, target, staging, job);
    await job.commitCheck();
    const live = target ? join(job.volumeRoot, target) : job.volumeRoot;
    const incoming = target ? join(staging, target) : staging;
    if (targetType === 'directory') {
      await swapContents(live, incoming, job.volumeRoot, job.operationId);
    } else {
      // One file or symlink: a single rename replaces it atomically.
      await mkdir(dirname(live), { recursive: true });
      await rename(incoming, live);
    }
    return { backupId: job.backupId, path: target, files, bytes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Streams an object once to check its SHA-256 and size against the manifest. */
async function verifyObject(deps: StorageDeps, ref: Manifest['archive'], what: string) {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await objectStream(deps, ref, what)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== ref.bytes || sha256 !== ref.sha256) {
    throw new RestoreRefused(
      `the ${what} does not match its manifest (${bytes} bytes, sha256 ${sha256.slice(0, 12)}…; expected ${ref.bytes} bytes, ${ref.sha256.slice(0, 12)}…): corrupted or truncated`,
    );
  }
}

async function objectStream(deps: StorageDeps, ref: Manifest['archive'], what: string): Promise<Readable> {
  try {
    const out = await deps.s3.send(
      new GetObjectCommand({
        Bucket: deps.bucket,
        Key: ref.key,
        ...(ref.versionId ? { VersionId: ref.versionId } : {}),
        ...owner(deps),
      }),
    );
    return out.Body as Readable;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NoSuchVersion')
      throw new RestoreRefused(`the ${what} of this backup is missing`);
    throw error;
  }
}

async function extract(
  deps: StorageDeps,
  manifest: Manifest,
  target: string,
  staging: string,
  job: RestoreJob,
) {
  const archive = (await objectStream(deps, manifest.archive, 'archive')).pipe(createGunzip());
  const list = createInterface({
    input: (await objectStream(deps, manifest.files, 'file list')).pipe(createGunzip()),
    crlfDelay: Infinity,
  })[Symbol.asyncIterator]();
  const directories: { path: string; mode: number; mtimeMs: number }[] = [];
  const inScope = (path: string) => !target || path === target || path.startsWith(`${target}/`);
  let files = 0;
  let bytes = 0;
  let targetType: FileRecord['type'] = 'directory';
  if (target) await mkdir(join(staging, posix.dirname(target)), { recursive: true });

  try {
    for await (const entry of readTar(archive)) {
      const path = entry.path.replace(/\/$/, '');
      refuseDangerous(entry, path);
      const next = await list.next();
      if (next.done) throw new RestoreRefused(`the archive holds '${path}', which its file list does not`);
      const expected = FileRecordSchema.parse(JSON.parse(next.value));
      if (expected.path !== path || expected.type !== entry.type) {
        throw new RestoreRefused(`the archive and its file list disagree at '${path}'`);
      }
      if (!inScope(path)) continue;
      if (path === target) targetType = expected.type;
      const dest = join(staging, path);
      await requireRealParents(staging, path);
      if (entry.type === 'directory') {
        await mkdir(dest);
        directories.push({ path: dest, mode: expected.mode, mtimeMs: expected.mtimeMs });
      } else if (entry.type === 'symlink') {
        await symlink(entry.linkTarget!, dest);
        await lutimes(dest, expected.mtimeMs / 1000, expected.mtimeMs / 1000);
      } else {
        const written = await writeFile(entry, dest);
        if (written.size !== expected.size || written.sha256 !== expected.sha256) {
          throw new RestoreRefused(`'${path}' does not match its file list (size or SHA-256 differs)`);
        }
        await chmod(dest, expected.mode);
        await utimes(dest, expected.mtimeMs / 1000, expected.mtimeMs / 1000);
        files += 1;
        bytes += written.size;
        job.onProgress?.({ bytes, files });
      }
    }
  } catch (error) {
    if (error instanceof RestoreRefused) throw error;
    throw new RestoreRefused(`the archive cannot be read: ${(error as Error).message}`);
  }
  if (!(await list.next()).done)
    throw new RestoreRefused('the archive lacks entries its file list has (truncated?)');
  // Directories last, deepest first: writing their entries changed their times.
  for (const d of directories.reverse()) {
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtimeMs / 1000, d.mtimeMs / 1000);
  }
  return { files, bytes, targetType };
}

/** Entries that could write outside the restore, or are not data, stop the restore. */
function refuseDangerous(entry: TarEntry, path: string) {
  const reason = unsafeReason(path);
  if (reason) throw new RestoreRefused(`entry '${path}' ${reason}`);
  if (entry.type === 'hardlink') throw new RestoreRefused(`entry '${path}' is a hard link`);
  if (entry.type !== 'file' && entry.type !== 'directory' && entry.type !== 'symlink') {
    throw new RestoreRefused(`entry '${path}' is a ${entry.type}, which a restore never creates`);
  }
  if (entry.type === 'symlink') {
    const linkTarget = entry.linkTarget ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(path), linkTarget));
    if (
      linkTarget.startsWith('/') ||
      resolved === '..' ||
      resolved.startsWith('../') ||
      linkTarget.includes('\0')
    ) {
      throw new RestoreRefused(`symlink '${path}' points outside the volume (${linkTarget})`);
    }
  }
}

/** A symlink entry must never become a path the next entries are written through. */
async function requireRealParents(staging: string, path: string) {
  const segments = path.split('/').slice(0, -1);
  let current = staging;
  for (const segment of segments) {
    current = join(current, segment);
    const stat = await lstat(current);
    if (!stat.isDirectory())
      throw new RestoreRefused(
        `entry '${path}' would be written through '${segment}', which is not a directory`,
      );
  }
}

async function writeFile(entry: TarEntry, dest: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const body = entry.body();
  await pipeline(
    Readable.from(
      (async function* () {
        for await (const chunk of body) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      })(),
    ),
    createWriteStream(dest, { flags: 'wx', mode: 0o600 }),
  );
  return { size, sha256: hash.digest('hex') };
}
