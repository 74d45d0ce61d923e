// Reads a tar stream entry by entry, with bounded memory: each entry's body is handed on in
// chunks and must be consumed (or skipped) before the next header is read. Headers are
// checked (checksum, sizes); PAX and GNU long-name headers are applied to the entry they
// precede, so the entry's real path is what callers check.

import {
  BLOCK,
  checksumOf,
  EntryType,
  pad,
  parsePax,
  readNumber,
  TarEntryHeader,
  typeOfFlag,
} from './format';

export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
}

export interface TarEntry extends TarEntryHeader {
  /** The entry's bytes (files only); read it to the end before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
}

const MAX_META_BYTES = 1024 * 1024;

/** Hands out exactly the number of bytes asked for from a stream of chunks. */
class ByteReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Up to `max` bytes (fewer only at the end of the stream). */
  async readUpTo(max: number): Promise<Buffer> {
    while (this.size === 0 && !this.done) await this.fill();
    const take = Math.min(max, this.size);
    return this.take(take);
  }

  async readExactly(n: number): Promise<Buffer> {
    while (this.size < n && !this.done) await this.fill();
    if (this.size < n) throw new TarFormatError('archive ends in the middle of an entry (truncated?)');
    return this.take(n);
  }

  async atEnd(): Promise<boolean> {
    while (this.size === 0 && !this.done) await this.fill();
    return this.size === 0;
  }

  private async fill() {
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    if (chunk.length > 0) {
      this.buffered.push(chunk);
      this.size += chunk.length;
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}

export async function* readTar(chunks: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(chunks[Symbol.asyncIterator]());
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (await reader.atEnd())
      throw new TarFormatError('archive ends without its end-of-archive marker (truncated?)');
    const block = await reader.readExactly(BLOCK);
    if (block.every((b) => b === 0)) return;
    if (readNumber(block, 148, 8) !== checksumOf(block))
      throw new TarFormatError('header checksum mismatch (corrupted archive)');
    const flag = String.fromCharCode(block[156]!);
    const meta = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K';
    const size = Number(meta ? readNumber(block, 124, 12) : (pax.size ?? readNumber(block, 124, 12)));
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError('entry size is not a valid number');

    if (meta) {
      if (size > MAX_META_BYTES) throw new TarFormatError('extended header is too large');
      const data = await reader.readExactly(size);
      await reader.readExactly(pad(size));
      if (flag === 'x') pax = { ...pax, ...parsePax(data) };
      if (flag === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      if (flag === 'K') longLink = data.toString('utf8').replace(/\0+$/, '');
      // 'g' (global) headers carry nothing ecs-sidekick uses.
      continue;
    }

    const prefix = cString(block, 345, 155);
    const name = cString(block, 0, 100);
    const type: EntryType = typeOfFlag(flag);
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkTarget = pax.linkpath ?? longLink ?? cString(block, 157, 100);
    const mtimeMs =
      pax.mtime !== undefined ? Math.round(Number(pax.mtime) * 1000) : readNumber(block, 136, 12) * 1000;
    pax = {};
    longName = undefined;
    longLink = undefined;

    let remaining = size;
    const body = async function* (): AsyncGenerator<Buffer> {
      while (remaining > 0) {
        const chunk = await reader.readUpTo(Math.min(remaining, 1024 * 1024));
        if (chunk.length === 0)
          throw new TarFormatError('archive ends in the middle of an entry (truncated?)');
        remaining -= chunk.length;
        yield chunk;
      }
    };
    yield {
      path,
      type,
      mode: readNumber(block, 100, 8),
      size,
      mtimeMs,
      ...(type === 'symlink' || type === 'hardlink' ? { linkTarget } : {}),
      body,
    };
    // Whatever the caller did not read is skipped, then the padding.
    for await (const _ of body()) {
      // discard
    }
    await reader.readExactly(pad(size));
  }
}

function cString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? width : end).toString('utf8');
}
