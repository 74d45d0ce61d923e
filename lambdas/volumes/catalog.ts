// What backups exist: complete backups only (their manifest.json is there), newest first.

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ServiceTarget } from '../../lib/config';
import { NotFoundError, ValidationError } from '../shared/errors';
import { owner, StorageDeps } from './backup';
import { BACKUP_ID, backupPrefix, Manifest } from './manifest';
import { readManifest, RestoreRefused } from './restore';

export interface BackupSummary {
  readonly backupId: string;
  readonly service: string;
  readonly volume: string;
  readonly path: string;
  readonly completedAt: string;
  readonly caller: string;
  readonly archiveBytes: number;
  readonly files: number;
  readonly fileBytes: number;
}

export function volumesToSearch(target: ServiceTarget, volume: string | undefined): string[] {
  const names = Object.keys(target.volumes ?? {});
  if (volume === undefined) return names;
  if (!names.includes(volume)) {
    throw new ValidationError(
      'volume',
      `'${volume}' is not a volume of ${target.name} (configured: ${names.join(', ') || '(none)'})`,
    );
  }
  return [volume];
}

export async function listBackups(
  deps: StorageDeps,
  target: ServiceTarget,
  options: { volume?: string; limit: number },
): Promise<BackupSummary[]> {
  const candidates: { volume: string; backupId: string }[] = [];
  for (const volume of volumesToSearch(target, options.volume)) {
    for (const backupId of await backupIds(deps, target.name, volume)) candidates.push({ volume, backupId });
  }
  // Ids start with their UTC time, so a string sort is a time sort.
  candidates.sort((a, b) => b.backupId.localeCompare(a.backupId));
  const found: BackupSummary[] = [];
  for (const c of candidates) {
    if (found.length >= options.limit) break;
    const manifest = await manifestOrUndefined(deps, target.name, c.volume, c.backupId);
    if (manifest) found.push(summarize(manifest));
  }
  return found;
}

export async function getBackup(
  deps: StorageDeps,
  target: ServiceTarget,
  backupId: string,
  volume?: string,
): Promise<Manifest> {
  for (const v of volumesToSearch(target, volume)) {
    const manifest = await manifestOrUndefined(deps, target.name, v, backupId);
    if (manifest) return manifest;
  }
  throw new NotFoundError(
    `backup ${backupId} of ${target.name} was not found, or is incomplete (it has no manifest)`,
  );
}

async function backupIds(deps: StorageDeps, service: string, volume: string): Promise<string[]> {
  const prefix = backupPrefix(service, volume);
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const out = await deps.s3.send(
      new ListObjectsV2Command({
        Bucket: deps.bucket,
        Prefix: prefix,
        Delimiter: '/',
        ContinuationToken: token,
        ...owner(deps),
      }),
    );
    for (const p of out.CommonPrefixes ?? []) {
      const id = p.Prefix?.slice(prefix.length, -1);
      if (id && BACKUP_ID.test(id)) ids.push(id);
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return ids;
}

async function manifestOrUndefined(deps: StorageDeps, service: string, volume: string, backupId: string) {
  try {
    return await readManifest(deps, service, volume, backupId);
  } catch (error) {
    if (error instanceof RestoreRefused) return undefined;
    throw error;
  }
}

function summarize(m: Manifest): BackupSummary {
  return {
    backupId: m.backupId,
    service: m.service,
    volume: m.volume,
    path: m.path,
    completedAt: m.completedAt,
    caller: m.caller,
    archiveBytes: m.archive.bytes,
    files: m.counts.files,
    fileBytes: m.files.fileBytes,
  };
}
