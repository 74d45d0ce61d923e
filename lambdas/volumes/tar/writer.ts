// Writes tar archives: a header (and a PAX header when needed) per entry, the file's bytes
// padded to 512, and two zero blocks at the end.

import { BLOCK, checksumOf, flagOfType, pad, paxRecord, TarEntryHeader, writeOctal } from './format';

const USTAR_NAME = 100;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export type WritableEntry = TarEntryHeader & { readonly type: 'file' | 'directory' | 'symlink' };

/** The header block(s) of one entry. */
export function headerBlocks(entry: WritableEntry): Buffer {
  const name = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const pax: Buffer[] = [];
  const fitsUstar = (s: string, width: number) => /^[\x20-\x7e]*$/.test(s) && Buffer.byteLength(s) <= width;
  if (!fitsUstar(name, USTAR_NAME)) pax.push(paxRecord('path', name));
  if (entry.linkTarget !== undefined && !fitsUstar(entry.linkTarget, USTAR_NAME))
    pax.push(paxRecord('linkpath', entry.linkTarget));
  if (entry.size > MAX_OCTAL_SIZE) pax.push(paxRecord('size', String(entry.size)));
  const seconds = Math.floor(entry.mtimeMs / 1000);
  if (entry.mtimeMs % 1000 !== 0) pax.push(paxRecord('mtime', (entry.mtimeMs / 1000).toFixed(3)));

  const main = ustar({
    name: fitsUstar(name, USTAR_NAME) ? name : asciiStub(name),
    mode: entry.mode & 0o7777,
    size: entry.type === 'file' ? entry.size : 0,
    mtime: seconds,
    flag: flagOfType(entry.type),
    linkname:
      entry.linkTarget === undefined
        ? ''
        : fitsUstar(entry.linkTarget, USTAR_NAME)
          ? entry.linkTarget
          : asciiStub(entry.linkTarget),
  });
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const paxHeader = ustar({
    name: 'PaxHeader',
    mode: 0o644,
    size: data.length,
    mtime: seconds,
    flag: 'x',
    linkname: '',
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(pad(data.length)), main]);
}

export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

function ustar(h: {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  flag: string;
  linkname: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, USTAR_NAME, 'utf8');
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, Math.min(h.size, MAX_OCTAL_SIZE));
  writeOctal(block, 136, 12, h.mtime);
  block.write(h.flag, 156, 1, 'ascii');
  block.write(h.linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  writeOctal(block, 148, 8, checksumOf(block));
  return block;
}

/** What ustar holds when the real name lives in the PAX header (kept short and printable). */
function asciiStub(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(-USTAR_NAME);
}
