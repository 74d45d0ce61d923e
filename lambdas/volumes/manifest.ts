// Where a backup lives in S3 and what its manifest says. A backup is three objects under
// backups/<service>/<volume>/<backup id>/: the archive, the per-file list, and manifest.json,
// written last. Without manifest.json a backup is incomplete and never listed or restored.

import { z } from 'zod/v3';

export const MANIFEST_FORMAT = 1;

export function backupPrefix(service: string, volume?: string): string {
  return volume ? `backups/${service}/${volume}/` : `backups/${service}/`;
}

export function backupKeys(service: string, volume: string, backupId: string) {
  const base = `${backupPrefix(service, volume)}${backupId}/`;
  return {
    archive: `${base}archive.tar.gz`,
    files: `${base}files.ndjson.gz`,
    manifest: `${base}manifest.json`,
  };
}

/** Sortable by time: 20261203T151500Z-1a2b3c. */
export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now: number, random: string): string {
  return `${new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${random}`;
}

const ObjectRef = z.object({
  key: z.string(),
  versionId: z.string().optional(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const FileRecordSchema = z.object({
  path: z.string(),
  type: z.enum(['file', 'directory', 'symlink']),
  mode: z.number().int(),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  linkTarget: z.string().optional(),
});
export type FileRecord = z.infer<typeof FileRecordSchema>;

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  backupId: z.string().regex(BACKUP_ID),
  service: z.string(),
  volume: z.string(),
  /** The backed-up path, relative to the volume root ('' for all of it). */
  path: z.string(),
  operationId: z.string(),
  caller: z.string(),
  task: z.string(),
  startedAt: z.string(),
  completedAt: z.string(),
  archive: ObjectRef,
  files: ObjectRef.extend({
    entries: z.number().int().nonnegative(),
    fileBytes: z.number().int().nonnegative(),
  }),
  counts: z.object({ files: z.number().int(), directories: z.number().int(), symlinks: z.number().int() }),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
});
export type Manifest = z.infer<typeof ManifestSchema>;
