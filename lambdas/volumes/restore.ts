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
import { chmod, lutimes, mkdir, open, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { owner, StorageDeps } from './backup';
import { backupKeys, FileRecord, FileRecordSchema, Manifest, ManifestSchema } from './manifest';
import { unsafeReason } from './safe-path';
import { recoverInterruptedSwaps, swapContents } from './swap';
import { readTar, TarEntry } from './tar/reader';

/** Large inflate chunks: zlib's default 16 KiB makes the tar reader's per-chunk work dominate. */
const GUNZIP_CHUNK = 512 * 1024;

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
  // The file list is small: verified first. The archive is verified as it is extracted into a
  // new staging directory (one download, one pass); nothing live changes unless it matches.
  await verifyObject(deps, manifest.files, 'file list');

  await recoverInterruptedSwaps(job.volumeRoot);
  const staging = join(job.volumeRoot, `.sidekick-restore-${job.operationId}`);
  await mkdir(staging);
  try {
    const archive = new VerifiedObject(await objectStream(deps, manifest.archive, 'archive'));
    const extraction = await extract(deps, manifest, target, staging, job, archive.stream).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    // A checksum mismatch explains any extraction error, so it is reported first.
    await archive.verify(manifest.archive, 'archive');
    if ('error' in extraction) throw extraction.error;
    const { files, bytes, targetType } = extraction.value;
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

/**
 * An object's bytes on their way to gunzip, hashed as they pass. verify() reads whatever the
 * consumer left (the gzip trailer, or everything after a failure) so the checksum always covers
 * the whole object.
 */
class VerifiedObject {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private readonly tap: Transform;
  readonly stream: Readable;

  constructor(raw: Readable) {
    this.tap = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        done(null, chunk);
      },
    });
    this.stream = raw.pipe(this.tap).pipe(createGunzip({ chunkSize: GUNZIP_CHUNK }));
    // The reader sees inflate errors through its iterator; one emitted after it stopped
    // reading must not surface as an unhandled 'error' event.
    this.stream.on('error', () => undefined);
  }

  async verify(ref: Manifest['archive'], what: string): Promise<void> {
    this.tap.unpipe();
    this.stream.destroy();
    this.tap.resume();
    await finished(this.tap).catch((error: unknown) => {
      throw new RestoreRefused(`the ${what} could not be read to its end: ${(error as Error).message}`);
    });
    checkDigest(this.bytes, this.hash.digest('hex'), ref, what);
  }
}

function checkDigest(bytes: number, sha256: string, ref: Manifest['archive'], what: string) {
  if (bytes !== ref.bytes || sha256 !== ref.sha256) {
    throw new RestoreRefused(
      `the ${what} does not match its manifest (${bytes} bytes, sha256 ${sha256.slice(0, 12)}…; expected ${ref.bytes} bytes, ${ref.sha256.slice(0, 12)}…): corrupted or truncated`,
    );
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
  checkDigest(bytes, hash.digest('hex'), ref, what);
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
  archive: Readable,
) {
  const list = createInterface({
    input: (await objectStream(deps, manifest.files, 'file list')).pipe(
      createGunzip({ chunkSize: GUNZIP_CHUNK }),
    ),
    crlfDelay: Infinity,
  })[Symbol.asyncIterator]();
  const directories: { path: string; mode: number; mtimeMs: number }[] = [];
  // Every directory made in staging: an entry is only ever written into one of them, never
  // through a symlink an earlier entry made.
  const made = new Set<string>(['']);
  const inScope = (path: string) => !target || path === target || path.startsWith(`${target}/`);
  let files = 0;
  let bytes = 0;
  let targetType: FileRecord['type'] = 'directory';
  if (target) {
    await mkdir(join(staging, posix.dirname(target)), { recursive: true });
    const parts = target.split('/');
    for (let i = 1; i < parts.length; i++) made.add(parts.slice(0, i).join('/'));
  }

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
      if (!made.has(posix.dirname(path) === '.' ? '' : posix.dirname(path))) {
        throw new RestoreRefused(
          `entry '${path}' would be written through '${posix.dirname(path)}', which is not a directory`,
        );
      }
      if (entry.type === 'directory') {
        await mkdir(dest);
        made.add(path);
        directories.push({ path: dest, mode: expected.mode, mtimeMs: expected.mtimeMs });
      } else if (entry.type === 'symlink') {
        await symlink(entry.linkTarget!, dest);
        await lutimes(dest, expected.mtimeMs / 1000, expected.mtimeMs / 1000);
      } else {
        const written = await writeFile(entry, dest, expected);
        if (written.size !== expected.size || written.sha256 !== expected.sha256) {
          throw new RestoreRefused(`'${path}' does not match its file list (size or SHA-256 differs)`);
        }
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

/** Writes one file, then sets its mode and times on the open descriptor (no path lookups). */
async function writeFile(
  entry: TarEntry,
  dest: string,
  expected: FileRecord,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(dest, 'wx', 0o600);
  try {
    for await (const chunk of entry.body()) {
      hash.update(chunk);
      size += chunk.length;
      await handle.write(chunk);
    }
    await handle.chmod(expected.mode);
    await handle.utimes(expected.mtimeMs / 1000, expected.mtimeMs / 1000);
  } finally {
    await handle.close();
  }
  return { size, sha256: hash.digest('hex') };
}
