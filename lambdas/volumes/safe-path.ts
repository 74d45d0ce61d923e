// Paths inside a volume: relative, '/'-separated, no '.', '..' or empty segments, no NUL, no
// backslash. Input is checked as text first; files are then opened only through directories
// that are not symlinks (a symlinked directory is how a write escapes its volume).

import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../shared/errors';

const MAX_PATH = 1024;
const MAX_SEGMENT = 255;

/** Why a relative path is not safe, or undefined when it is. */
export function unsafeReason(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute (it must be relative to the volume)';
  const segments = path.replace(/\/$/, '').split('/');
  for (const s of segments) {
    if (s === '' || s === '.') return 'has an empty or "." segment';
    if (s === '..') return 'has a ".." segment';
    if (s.length > MAX_SEGMENT) return `has a segment longer than ${MAX_SEGMENT} characters`;
    if (/[\u0000-\u001f\u007f]/.test(s)) return 'contains control characters';
  }
  return undefined;
}

/** A relative path from a request, normalised (no trailing '/'), or a 400 naming the field. */
export function requireSafePath(field: string, path: string): string {
  const reason = unsafeReason(path);
  if (reason) throw new ValidationError(field, reason);
  return path.replace(/\/$/, '');
}

/**
 * Checks that every directory between root and the target is a real directory, not a
 * symlink (and that the target itself, when it exists, is not one). Returns the absolute path.
 */
export async function resolveInside(root: string, relative: string, field: string): Promise<string> {
  const segments = relative.split('/');
  let current = root;
  for (let i = 0; i < segments.length; i++) {
    current = join(current, segments[i]!);
    let stat;
    try {
      stat = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return join(root, ...segments);
      throw error;
    }
    if (stat.isSymbolicLink()) {
      throw new ValidationError(
        field,
        `'${segments.slice(0, i + 1).join('/')}' is a symlink; ecs-sidekick does not follow symlinks`,
      );
    }
    if (i < segments.length - 1 && !stat.isDirectory()) {
      throw new ValidationError(field, `'${segments.slice(0, i + 1).join('/')}' is not a directory`);
    }
  }
  return current;
}
