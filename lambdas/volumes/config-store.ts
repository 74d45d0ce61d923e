// Versioned config files on a volume. Every version is a JSON file in a history directory on
// the same volume (.sidekick/history/<hash of the path>/000001.json, ...), which makes a write
// one atomic step the volume itself arbitrates:
//   1. the new version's file is written to a temp file and fsync'd;
//   2. it is hard-linked to the next slot: link(2) fails if the slot exists, so of two writers
//      that read the same version, exactly one wins and the other gets a 409 (compare-and-swap);
//   3. the live file is replaced atomically (temp, fsync, rename).
// The slot is the commit point: a writer that dies after 2 leaves the live file one version
// behind, and the next write rolls it forward. History on the volume (not S3) keeps config
// writes to one round trip to a file system the Lambda already mounts, keeps the history with
// the data it describes (a restore of the volume restores both together), and needs no
// network path from the VPC to S3.

import { createHash } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { z } from 'zod/v3';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { syncDirectory, writeFileAtomic, writeSyncedTemp } from './durable-fs';
import { requireSafePath, resolveInside } from './safe-path';

export const MAX_CONFIG_BYTES = 256 * 1024;
export const HISTORY_DIR = '.sidekick/history';
const SLOT = /^(\d{6,})\.json$/;

const VersionRecordSchema = z.object({
  format: z.literal(1),
  path: z.string(),
  version: z.number().int().positive(),
  author: z.string(),
  time: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
  note: z.string().optional(),
  /** The version removed the file (a rollback to "did not exist"). */
  deleted: z.boolean().optional(),
  content: z.string(),
});
type VersionRecord = z.infer<typeof VersionRecordSchema>;

export type VersionInfo = Omit<VersionRecord, 'format' | 'content' | 'mode'>;

export interface ConfigFile {
  readonly path: string;
  /** The latest recorded version; 0 when the file has no history yet. */
  readonly version: number;
  readonly exists: boolean;
  readonly content: string;
  readonly sha256: string;
  readonly size: number;
  /** The live file differs from the latest version (changed outside ecs-sidekick). */
  readonly drifted: boolean;
  readonly latest?: VersionInfo;
}

export interface WriteRequest {
  readonly content: string;
  /** The version the writer last read (0: the file has no history). */
  readonly expectedVersion: number;
  readonly author: string;
  readonly note?: string;
}

export interface WriteResult {
  readonly path: string;
  readonly version: number;
  readonly sha256: string;
  readonly size: number;
  /** What was live before this write, for a caller that must put it back. */
  readonly previous: { readonly version: number; readonly exists: boolean };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const slotName = (version: number) => `${String(version).padStart(6, '0')}.json`;

/** The validated relative path of a config file; `.sidekick/` is ecs-sidekick's own. */
export function configPath(path: string): string {
  const safe = requireSafePath('path', path);
  // A path arrives decoded once; what still looks encoded was encoded twice to smuggle a '/' or '..'.
  if (/%[0-9A-Fa-f]{2}/.test(safe)) {
    throw new ValidationError(
      'path',
      'contains a percent-encoded sequence; send the path decoded (URL-encode it once)',
    );
  }
  if (safe === '.sidekick' || safe.startsWith('.sidekick/')) {
    throw new ValidationError('path', "'.sidekick/' holds ecs-sidekick's own state and cannot be edited");
  }
  return safe;
}

export function checkContent(content: string): Buffer {
  if (/[\uD800-\uDFFF]/.test(content.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new ValidationError('content', 'is not valid UTF-8 text (it has a lone surrogate)');
  }
  const bytes = Buffer.from(content, 'utf8');
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new ValidationError(
      'content',
      `is ${bytes.length} bytes; config files are limited to ${MAX_CONFIG_BYTES}`,
    );
  }
  return bytes;
}

/** One config file on one volume. */
export class ConfigStore {
  constructor(
    private readonly root: string,
    private readonly now: () => number = Date.now,
  ) {}

  async read(path: string): Promise<ConfigFile> {
    const rel = configPath(path);
    const live = await this.readLive(rel);
    const version = await this.latestVersion(rel);
    const latest = version > 0 ? await this.record(rel, version) : undefined;
    const content = live?.content ?? '';
    const liveSha = sha256(content);
    return {
      path: rel,
      version,
      exists: live !== undefined,
      content,
      sha256: liveSha,
      size: Buffer.byteLength(content),
      drifted: latest !== undefined && liveShaOf(latest) !== (live ? liveSha : undefined),
      ...(latest ? { latest: info(latest) } : {}),
    };
  }

  async write(path: string, request: WriteRequest): Promise<WriteResult> {
    const rel = configPath(path);
    const bytes = checkContent(request.content);
    const target = await resolveInside(this.root, rel, 'path');
    const current = await this.latestVersion(rel);
    if (request.expectedVersion !== current) {
      throw new ConflictError(
        `${rel} is at version ${current}, not ${request.expectedVersion}: read it again and write on top of version ${current}`,
      );
    }
    const live = await this.readLive(rel);
    const mode = live?.mode ?? 0o644;
    let next = current + 1;
    let liveVersion = current;
    if (current === 0 && live) {
      liveVersion = next;
      // The first write keeps the content that was there before ecs-sidekick managed the file.
      await this.commit(rel, {
        version: next++,
        author: 'unknown (present before ecs-sidekick)',
        content: live.content,
        mode,
        note: 'adopted',
      });
    } else if (current > 0) {
      const latest = await this.record(rel, current);
      const liveSha = live ? sha256(live.content) : undefined;
      const previous = current > 1 ? await this.record(rel, current - 1) : undefined;
      if (liveSha !== liveShaOf(latest) && !(previous && liveSha === liveShaOf(previous))) {
        // Changed outside ecs-sidekick: keep that content as a version instead of losing it.
        const adopted = await this.commit(rel, {
          version: next,
          author: 'unknown (changed outside ecs-sidekick)',
          content: live?.content ?? '',
          mode,
          note: live ? 'changed outside ecs-sidekick' : 'deleted outside ecs-sidekick',
        });
        throw new ConflictError(
          `${rel} was changed outside ecs-sidekick; that content is now version ${adopted.version}: review it and write on top of version ${adopted.version}`,
        );
      }
    }
    await mkdir(join(target, '..'), { recursive: true });
    const written = await this.commit(rel, {
      version: next,
      author: request.author,
      content: request.content,
      mode,
      note: request.note,
    });
    await writeFileAtomic(target, bytes, mode);
    return {
      path: rel,
      version: written.version,
      sha256: written.sha256,
      size: written.size,
      previous: { version: liveVersion, exists: live !== undefined },
    };
  }

  /**
   * Removes the live file, recording the removal as a new version: how a write that created
   * the file is undone.
   */
  async remove(
    path: string,
    request: { expectedVersion: number; author: string; note?: string },
  ): Promise<WriteResult> {
    const rel = configPath(path);
    const target = await resolveInside(this.root, rel, 'path');
    const current = await this.latestVersion(rel);
    if (request.expectedVersion !== current) {
      throw new ConflictError(
        `${rel} is at version ${current}, not ${request.expectedVersion}: read it again`,
      );
    }
    const live = await this.readLive(rel);
    const written = await this.commit(rel, {
      version: current + 1,
      author: request.author,
      content: '',
      mode: live?.mode ?? 0o644,
      note: request.note,
      deleted: true,
    });
    await rm(target, { force: true });
    await syncDirectory(join(target, '..'));
    return {
      path: rel,
      version: written.version,
      sha256: written.sha256,
      size: 0,
      previous: { version: current, exists: live !== undefined },
    };
  }

  /** Writes the content of an earlier version as a new version (or removes the file, if that version did). */
  async rollback(
    path: string,
    request: { version: number; expectedVersion: number; author: string; note?: string },
  ): Promise<WriteResult> {
    const rel = configPath(path);
    const old = await this.record(rel, request.version, 'version');
    const note = request.note ?? `rollback to version ${request.version}`;
    if (old.deleted)
      return this.remove(rel, { expectedVersion: request.expectedVersion, author: request.author, note });
    return this.write(rel, {
      content: old.content,
      expectedVersion: request.expectedVersion,
      author: request.author,
      note,
    });
  }

  /** Versions newest first, `limit` at most, older than `before` when given. */
  async versions(
    path: string,
    options: { limit: number; before?: number },
  ): Promise<{ versions: VersionInfo[]; next?: number }> {
    const rel = configPath(path);
    const latest = await this.latestVersion(rel);
    const from = Math.min(latest, (options.before ?? latest + 1) - 1);
    const versions: VersionInfo[] = [];
    for (let v = from; v >= 1 && versions.length < options.limit; v--)
      versions.push(info(await this.record(rel, v)));
    const last = versions.at(-1)?.version;
    return { versions, ...(last !== undefined && last > 1 ? { next: last } : {}) };
  }

  async version(path: string, version: number): Promise<VersionInfo & { content: string }> {
    const rel = configPath(path);
    const record = await this.record(rel, version, 'version');
    return { ...info(record), content: record.content };
  }

  /** A unified diff from one version to another. */
  async diff(path: string, from: number, to: number): Promise<{ from: number; to: number; diff: string }> {
    const rel = configPath(path);
    const [a, b] = [await this.record(rel, from, 'from'), await this.record(rel, to, 'to')];
    return {
      from,
      to,
      diff: createTwoFilesPatch(`${rel}@${from}`, `${rel}@${to}`, a.content, b.content, a.time, b.time),
    };
  }

  private historyDir(rel: string): string {
    return join(this.root, HISTORY_DIR, sha256(rel).slice(0, 32));
  }

  private async latestVersion(rel: string): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.historyDir(rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    return names.reduce((max, name) => Math.max(max, Number(SLOT.exec(name)?.[1] ?? 0)), 0);
  }

  private async record(rel: string, version: number, field?: string): Promise<VersionRecord> {
    let text: string;
    try {
      text = await readFile(join(this.historyDir(rel), slotName(version)), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (field) throw new NotFoundError(`${field}: ${rel} has no version ${version}`);
      throw new Error(`history of ${rel} is missing version ${version}`, { cause: error });
    }
    const record = VersionRecordSchema.parse(JSON.parse(text));
    if (record.path !== rel) throw new Error(`history slot of ${rel} holds ${record.path}`);
    return record;
  }

  private async readLive(rel: string): Promise<{ content: string; mode: number } | undefined> {
    const target = await resolveInside(this.root, rel, 'path');
    try {
      const s = await stat(target);
      if (!s.isFile()) throw new ValidationError('path', `'${rel}' is not a regular file`);
      if (s.size > MAX_CONFIG_BYTES) {
        throw new ValidationError(
          'path',
          `'${rel}' is ${s.size} bytes; config files are limited to ${MAX_CONFIG_BYTES}`,
        );
      }
      return { content: await readFile(target, 'utf8'), mode: s.mode & 0o7777 };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Claims the version's slot with link(2): EEXIST means another writer got there first. */
  private async commit(
    rel: string,
    fields: {
      version: number;
      author: string;
      content: string;
      mode: number;
      note?: string;
      deleted?: boolean;
    },
  ): Promise<VersionRecord> {
    const dir = this.historyDir(rel);
    await mkdir(dir, { recursive: true });
    const record: VersionRecord = {
      format: 1,
      path: rel,
      version: fields.version,
      author: fields.author,
      time: new Date(this.now()).toISOString(),
      sha256: sha256(fields.content),
      size: Buffer.byteLength(fields.content),
      mode: fields.mode,
      ...(fields.note ? { note: fields.note } : {}),
      ...(fields.deleted ? { deleted: true } : {}),
      content: fields.content,
    };
    const slot = join(dir, slotName(fields.version));
    const temp = await writeSyncedTemp(slot, JSON.stringify(record), 0o600);
    try {
      await link(temp, slot);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ConflictError(
          `${rel} was written by someone else at the same time (version ${fields.version} exists): read it again`,
        );
      }
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
    await syncDirectory(dir);
    return record;
  }
}

/** The checksum the live file has when it matches this version (undefined: no file). */
function liveShaOf(record: VersionRecord): string | undefined {
  return record.deleted ? undefined : record.sha256;
}

function info(record: VersionRecord): VersionInfo {
  const { format: _f, content: _c, mode: _m, ...rest } = record;
  return rest;
}
