// Swaps a directory's contents for restored ones without ever leaving a mix of the two: the old
// entries move aside, then the new ones move in, each by rename on the same file system, and a
// journal written before each phase says what moved where. If the process dies in between,
// recoverInterruptedSwaps() (run before any later job on the volume) puts the old contents back.
// The old contents are deleted only once the new ones are all in place.

import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './durable-fs';
import { isScratch } from './tree';

interface Journal {
  readonly target: string;
  readonly incoming: string;
  readonly previous: string;
  readonly phase: 'moving-out' | 'moving-in' | 'done';
  readonly oldNames: string[];
  readonly newNames: string[];
}

export function journalPath(scratchRoot: string, id: string): string {
  return join(scratchRoot, `.sidekick-swap-${id}.json`);
}

export async function swapContents(
  target: string,
  incoming: string,
  scratchRoot: string,
  id: string,
): Promise<void> {
  const previous = join(scratchRoot, `.sidekick-previous-${id}`);
  const journalFile = journalPath(scratchRoot, id);
  await mkdir(target, { recursive: true });
  await mkdir(previous);
  const oldNames = (await readdir(target)).filter((n) => !(target === scratchRoot && isScratch(n)));
  const newNames = await readdir(incoming);
  const journal: Journal = { target, incoming, previous, phase: 'moving-out', oldNames, newNames };
  await writeJournal(journalFile, journal);
  for (const name of oldNames) await rename(join(target, name), join(previous, name));
  await writeJournal(journalFile, { ...journal, phase: 'moving-in' });
  for (const name of newNames) await rename(join(incoming, name), join(target, name));
  await writeJournal(journalFile, { ...journal, phase: 'done' });
  await rm(previous, { recursive: true, force: true });
  await rm(incoming, { recursive: true, force: true });
  await rm(journalFile, { force: true });
}

/** Rolls back any swap that did not finish, and clears finished ones' leftovers. Returns how many it found. */
export async function recoverInterruptedSwaps(scratchRoot: string): Promise<number> {
  const journals = (await readdir(scratchRoot)).filter((n) => /^\.sidekick-swap-.*\.json$/.test(n));
  for (const name of journals) {
    const file = join(scratchRoot, name);
    const journal = JSON.parse(await readFile(file, 'utf8')) as Journal;
    if (journal.phase !== 'done') {
      // New entries that made it in go back out; old entries come back.
      for (const n of journal.newNames)
        await moveIfPresent(join(journal.target, n), join(journal.incoming, n));
      for (const n of journal.oldNames)
        await moveIfPresent(join(journal.previous, n), join(journal.target, n));
    }
    await rm(journal.previous, { recursive: true, force: true });
    await rm(journal.incoming, { recursive: true, force: true });
    await rm(file, { force: true });
  }
  // Staging left by a restore that died before it swapped.
  for (const n of await readdir(scratchRoot)) {
    if (/^\.sidekick-(restore|previous)-/.test(n))
      await rm(join(scratchRoot, n), { recursive: true, force: true });
  }
  return journals.length;
}

async function moveIfPresent(from: string, to: string) {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Journals are replaced atomically: a crash leaves the old one or the new one. */
async function writeJournal(file: string, journal: Journal) {
  await writeFileAtomic(file, JSON.stringify(journal), 0o600);
}
