// Backs up a volume (or a path in it) to S3 as it reads it: a gzip'd tar uploaded by multipart
// with SHA-256 part checksums, no temporary copy, memory bounded whatever the size. Each file's
// SHA-256 goes into the per-file list as its bytes pass; the archive's own SHA-256 and size go
// into the manifest, which is written last, after the lease is checked.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { backupKeys, FileRecord, Manifest, MANIFEST_FORMAT } from './manifest';
import { END_OF_ARCHIVE, headerBlocks } from './tar/writer';
import { pad } from './tar/format';
import { walkTree } from './tree';

export interface StorageDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Every S3 call names the account that must own the bucket. */
  readonly bucketOwner?: string;
  readonly now: () => number;
}

export interface BackupJob {
  readonly service: string;
  readonly volume: string;
  readonly backupId: string;
  /** Relative to the volume root; '' for the whole volume. */
  readonly path: string;
  readonly volumeRoot: string;
  readonly operationId: string;
  readonly caller: string;
  readonly task: string;
  readonly onProgress?: (progress: { bytes: number; files: number }) => void;
  /** Throws when the lease is lost: nothing may be committed then. */
  readonly commitCheck: () => Promise<void>;
}

export interface BackupResult {
  readonly backupId: string;
  readonly manifest: Manifest;
}

/** 8 MiB parts, 2 in flight: the upload buffers at most ~24 MiB whatever the volume's size. */
const PART_SIZE = 8 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
/** Larger deflate output chunks: fewer hops through the hash tap and the upload queue. */
const GZIP_CHUNK = 256 * 1024;

export async function runBackup(deps: StorageDeps, job: BackupJob): Promise<BackupResult> {
  const keys = backupKeys(job.service, job.volume, job.backupId);
  const startedAt = new Date(deps.now()).toISOString();
  const counts = { files: 0, directories: 0, symlinks: 0 };
  const skipped: { path: string; reason: string }[] = [];
  let fileBytes = 0;
  let entries = 0;

  const filesOut = new PassThrough();
  const filesGzip = createGzip();
  const filesTap = tap();
  const filesUpload = upload(deps, keys.files, 'application/x-ndjson', filesGzip.pipe(filesTap.stream));
  filesOut.pipe(filesGzip);

  async function* archiveChunks(): AsyncGenerator<Buffer> {
    for await (const entry of walkTree(job.volumeRoot, job.path)) {
      if ('skipped' in entry) {
        skipped.push({ path: entry.skipped, reason: entry.reason });
        continue;
      }
      const record: FileRecord = {
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        size: entry.size,
        mtimeMs: entry.mtimeMs,
        ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
      };
      yield headerBlocks({ ...entry });
      if (entry.type === 'file') {
        const hash = createHash('sha256');
        let read = 0;
        if (entry.size > 0) {
          for await (const chunk of createReadStream(join(job.volumeRoot, entry.path), {
            start: 0,
            end: entry.size - 1,
            highWaterMark: READ_CHUNK,
          })) {
            hash.update(chunk as Buffer);
            read += (chunk as Buffer).length;
            job.onProgress?.({ bytes: fileBytes + read, files: counts.files });
            yield chunk as Buffer;
          }
        }
        if (read < entry.size) {
          // The file shrank while it was read: keep the archive well-formed; the hash tells.
          const filler = Buffer.alloc(entry.size - read);
          hash.update(filler);
          yield filler;
          skipped.push({
            path: entry.path,
            reason: `changed while it was read (${read} of ${entry.size} bytes)`,
          });
        }
        yield Buffer.alloc(pad(entry.size));
        counts.files += 1;
        fileBytes += entry.size;
        job.onProgress?.({ bytes: fileBytes, files: counts.files });
        await writeLine(filesOut, { ...record, sha256: hash.digest('hex') });
      } else {
        if (entry.type === 'directory') counts.directories += 1;
        else counts.symlinks += 1;
        await writeLine(filesOut, record);
      }
      entries += 1;
    }
    yield END_OF_ARCHIVE;
    filesOut.end();
  }

  const archiveTap = tap();
  const archiveBody = new PassThrough();
  const archiveUpload = upload(deps, keys.archive, 'application/gzip', archiveBody);
  let archiveResult: { VersionId?: string };
  let filesResult: { VersionId?: string };
  try {
    [, archiveResult, filesResult] = await Promise.all([
      pipeline(
        Readable.from(archiveChunks(), { objectMode: false }),
        createGzip({ level: 6, chunkSize: GZIP_CHUNK }),
        archiveTap.stream,
        archiveBody,
      ),
      archiveUpload.done(),
      filesUpload.done(),
    ]);
  } catch (error) {
    await Promise.allSettled([archiveUpload.abort(), filesUpload.abort()]);
    throw error;
  }

  await job.commitCheck();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    backupId: job.backupId,
    service: job.service,
    volume: job.volume,
    path: job.path,
    operationId: job.operationId,
    caller: job.caller,
    task: job.task,
    startedAt,
    completedAt: new Date(deps.now()).toISOString(),
    archive: {
      key: keys.archive,
      ...versionOf(archiveResult),
      bytes: archiveTap.bytes(),
      sha256: archiveTap.sha256(),
    },
    files: {
      key: keys.files,
      ...versionOf(filesResult),
      bytes: filesTap.bytes(),
      sha256: filesTap.sha256(),
      entries,
      fileBytes,
    },
    counts,
    skipped: skipped.slice(0, 1000),
  };
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.bucket,
      Key: keys.manifest,
      Body: JSON.stringify(manifest, null, 2),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      ...owner(deps),
    }),
  );
  return { backupId: job.backupId, manifest };
}

function upload(deps: StorageDeps, key: string, contentType: string, body: Readable) {
  return new Upload({
    client: deps.s3,
    queueSize: 2,
    partSize: PART_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: deps.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ChecksumAlgorithm: 'SHA256',
      ...owner(deps),
    },
  });
}

export function owner(deps: StorageDeps): { ExpectedBucketOwner?: string } {
  return deps.bucketOwner ? { ExpectedBucketOwner: deps.bucketOwner } : {};
}

function versionOf(result: { VersionId?: string }): { versionId?: string } {
  return result.VersionId ? { versionId: result.VersionId } : {};
}

/** Waits when the list's upload lags, so it never piles up in memory. */
async function writeLine(out: PassThrough, record: FileRecord) {
  if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
}

/** A pass-through that hashes and counts what flows through it. */
function tap() {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, sha256: () => (digest ??= hash.digest('hex')) };
}
