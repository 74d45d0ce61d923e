// Writes that survive a crash whole or not at all: a temp file in the same directory, fsync,
// rename over the target, fsync of the directory (so the rename itself is on disk).

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes to a synced temp file next to `path` and returns it; the caller renames or links it. */
export async function writeSyncedTemp(path: string, data: Buffer | string, mode = 0o644): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

export async function writeFileAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
  const temp = await writeSyncedTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}
