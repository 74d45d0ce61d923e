// The tar format as ecs-sidekick writes and reads it: POSIX ustar headers, with PAX extended
// headers for what ustar cannot hold (long or non-ASCII names, sizes of 8 GiB and more,
// sub-second modification times). Only regular files, directories and symlinks are written;
// the reader recognises every standard type so that it can refuse the dangerous ones by name.

export const BLOCK = 512;

export type EntryType =
  'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo' | 'other';

export interface TarEntryHeader {
  readonly path: string;
  readonly type: EntryType;
  readonly mode: number;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** Symlink or hardlink target. */
  readonly linkTarget?: string;
}

const TYPE_FLAGS: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

export function typeOfFlag(flag: string): EntryType {
  return TYPE_FLAGS[flag] ?? 'other';
}

export function flagOfType(type: 'file' | 'directory' | 'symlink'): string {
  return type === 'file' ? '0' : type === 'directory' ? '5' : '2';
}

export function pad(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Octal field, NUL-terminated, zero-padded to the width. */
export function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** Octal, or GNU base-256 (high bit set) for values too large for octal. */
export function readNumber(block: Buffer, offset: number, width: number): number {
  const field = block.subarray(offset, offset + width);
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < width; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

export function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** One PAX record: "<length> <key>=<value>\n", where length counts the whole record. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`);
}

export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const length = Number(data.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0 || i + length > data.length)
      throw new Error('malformed PAX record');
    const record = data.subarray(space + 1, i + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += length;
  }
  return out;
}
