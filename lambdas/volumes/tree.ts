// Walks a directory tree in a fixed order (each directory before its entries, names sorted),
// without following symlinks. Backup writes the archive and the manifest in this order, and
// restore reads both in it, side by side.

import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  /** Relative to the volume root, '/'-separated. */
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly linkTarget?: string;
}

export interface SkippedEntry {
  readonly skipped: string;
  readonly reason: string;
}

/** ecs-sidekick's own scratch space at a volume's root: never backed up, never swapped. */
export function isScratch(name: string): boolean {
  return (
    /^\.sidekick-(restore|previous)-/.test(name) ||
    /^\.sidekick-swap-.*\.json$/.test(name) ||
    name === '.sidekick-tmp'
  );
}

export async function* walkTree(volumeRoot: string, start: string): AsyncGenerator<TreeEntry | SkippedEntry> {
  const startAbs = start ? join(volumeRoot, start) : volumeRoot;
  const startStat = await lstat(startAbs);
  if (start) {
    const first = await entryOf(volumeRoot, start, startStat);
    yield first;
    if (!('type' in first) || first.type !== 'directory') return;
  }
  yield* walkDirectory(volumeRoot, start);
}

async function* walkDirectory(
  volumeRoot: string,
  relative: string,
): AsyncGenerator<TreeEntry | SkippedEntry> {
  const names = (await readdir(relative ? join(volumeRoot, relative) : volumeRoot)).sort();
  for (const name of names) {
    if (!relative && isScratch(name)) continue;
    const path = relative ? `${relative}/${name}` : name;
    const stat = await lstat(join(volumeRoot, path));
    const entry = await entryOf(volumeRoot, path, stat);
    yield entry;
    if ('type' in entry && entry.type === 'directory') yield* walkDirectory(volumeRoot, path);
  }
}

async function entryOf(
  volumeRoot: string,
  path: string,
  stat: Awaited<ReturnType<typeof lstat>>,
): Promise<TreeEntry | SkippedEntry> {
  const common = { path, mode: Number(stat.mode) & 0o7777, mtimeMs: Math.round(Number(stat.mtimeMs)) };
  if (stat.isFile()) return { ...common, type: 'file', size: Number(stat.size) };
  if (stat.isDirectory()) return { ...common, type: 'directory', size: 0 };
  if (stat.isSymbolicLink())
    return { ...common, type: 'symlink', size: 0, linkTarget: await readlink(join(volumeRoot, path)) };
  return { skipped: path, reason: 'not a regular file, directory or symlink (socket, FIFO or device)' };
}
