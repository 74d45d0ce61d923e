// Builds and compares directory trees for the backup and restore tests.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

export interface TreeSnapshot {
  [path: string]: string;
}

/** Every entry's type, mode, mtime (ms) and content hash or link target, keyed by path. */
export async function snapshot(root: string, relative = ''): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const dir = relative ? join(root, relative) : root;
  for (const name of (await readdir(dir)).sort()) {
    if (!relative && name.startsWith('.sidekick-')) continue;
    const path = relative ? `${relative}/${name}` : name;
    const stat = await lstat(join(root, path));
    const mode = (stat.mode & 0o7777).toString(8);
    const mtime = Math.round(stat.mtimeMs);
    if (stat.isSymbolicLink()) out[path] = `symlink ${mode} ${mtime} -> ${await readlink(join(root, path))}`;
    else if (stat.isDirectory()) {
      out[path] = `dir ${mode} ${mtime}`;
      Object.assign(out, await snapshot(root, path));
    } else out[path] = `file ${mode} ${mtime} ${stat.size} ${await sha256(join(root, path))}`;
  }
  return out;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeBigFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const block = randomBytes(1024 * 1024);
  for (let written = 0; written < bytes; written += block.length) {
    block[0] = written & 0xff;
    if (!out.write(block.subarray(0, Math.min(block.length, bytes - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Small files spread over directories, with varied modes and times. */
export async function writeManySmallFiles(root: string, count: number): Promise<void> {
  for (let d = 0; d < Math.ceil(count / 500); d++) {
    const dir = join(root, 'many', `d${String(d).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: Math.min(500, count - d * 500) }, async (_, i) => {
        const file = join(dir, `f${i}.txt`);
        await writeFile(file, `file ${d}/${i}\n`.repeat(1 + (i % 5)));
        await chmod(file, i % 3 === 0 ? 0o600 : 0o644);
        await utimes(file, 1_700_000_000 + i, 1_700_000_000 + i + 0.123);
      }),
    );
  }
}

export async function writeMixedTree(root: string): Promise<void> {
  await mkdir(join(root, 'empty', 'nested-empty'), { recursive: true });
  await mkdir(join(root, 'docs'), { recursive: true });
  await writeFile(join(root, 'docs', 'ünïcødé ✓ notes.txt'), 'non-ASCII name\n');
  await writeFile(join(root, 'docs', `${'long-name-'.repeat(15)}.txt`), 'a name longer than 100 bytes\n');
  await writeFile(join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'script.sh'), 0o750);
  await writeFile(join(root, 'empty-file'), '');
  await symlink('docs/ünïcødé ✓ notes.txt', join(root, 'link-to-notes'));
  await symlink('../script.sh', join(root, 'docs', 'link-up-inside'));
  await utimes(join(root, 'docs'), 1_600_000_000, 1_600_000_000.5);
}
