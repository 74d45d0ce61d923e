// Turns a caller's argv into the ExecuteCommand command string, and the session's raw pty
// output back into {output, exitCode}.
//
// ECS Exec splits the command with google/shlex and execs it with no shell, so the argv is
// passed as single-quoted words to a fixed `sh -c` script that runs it as "$@": the caller's
// words are never parsed by a shell. The script prints the exit status behind a marker with a
// random nonce, which command output cannot forge.

import { randomBytes } from 'node:crypto';

/** Quotes one word for google/shlex (and POSIX sh): single quotes, with ' written as '"'"'. */
export function shlexQuote(word: string): string {
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

export interface WrappedCommand {
  readonly command: string;
  readonly nonce: string;
}

export function markerOf(nonce: string): string {
  return `__SIDEKICK_RC_${nonce}__:`;
}

/** The wrapper's $0, shown in `ps` inside the container. */
const SCRIPT_NAME = 'sidekick-exec';

export function wrapArgv(
  argv: readonly string[],
  nonce: string = randomBytes(12).toString('hex'),
): WrappedCommand {
  // stdin from /dev/null: the pty would otherwise leave a reading command waiting forever.
  // The INT trap keeps the wrapper alive through a Ctrl-C (the command still gets it), so
  // a stopped command still reports its status.
  const script = `trap : INT; export TERM=dumb NO_COLOR=1 PAGER=cat; "$@" </dev/null; printf '\\n${markerOf(nonce)}%s\\n' "$?"`;
  return { command: ['sh', '-c', script, SCRIPT_NAME, ...argv].map(shlexQuote).join(' '), nonce };
}

/**
 * Keeps the first `headBytes` and the last `tailBytes` of a stream in bounded memory,
 * whatever its size.
 */
export class OutputCollector {
  private readonly head: Buffer[] = [];
  private headSize = 0;
  private tail = Buffer.alloc(0);
  private total = 0;

  constructor(
    private readonly headBytes: number,
    private readonly tailBytes: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  add(chunk: Buffer): void {
    this.total += chunk.length;
    const toHead = Math.min(chunk.length, this.headBytes - this.headSize);
    if (toHead > 0) {
      this.head.push(chunk.subarray(0, toHead));
      this.headSize += toHead;
    }
    const rest = chunk.subarray(toHead);
    if (rest.length === 0) return;
    this.tail = Buffer.concat([this.tail, rest]);
    if (this.tail.length > this.tailBytes) this.tail = this.tail.subarray(this.tail.length - this.tailBytes);
  }

  /** The kept bytes, and whether anything between head and tail was dropped. */
  result(): { head: Buffer; tail: Buffer; truncated: boolean } {
    return {
      head: Buffer.concat(this.head),
      tail: this.tail,
      truncated: this.total > this.headSize + this.tail.length,
    };
  }
}

export interface CommandResult {
  /** null when the marker never came: the command was cut short or `sh` is missing. */
  readonly exitCode: number | null;
  readonly output: string;
  readonly truncated: boolean;
  readonly outputBytes: number;
}

/**
 * The pty merges stdout and stderr and turns \n into \r\n. Undo the line endings, take the
 * exit status from the last marker and remove the marker (and the newline printed before it).
 */
export function parseOutput(collected: OutputCollector, nonce: string): CommandResult {
  const { head, tail, truncated } = collected.result();
  const normalize = (b: Buffer) => b.toString('utf8').replace(/\r\n/g, '\n');
  const marker = new RegExp(`\\n?${markerOf(nonce)}(\\d{1,3})\\n?$`);
  // Uncut output is parsed whole; cut output keeps at least the last tailBytes, which hold the marker.
  const ending = normalize(truncated ? tail : Buffer.concat([head, tail]));
  const found = marker.exec(ending);
  const rest = found ? ending.slice(0, found.index) : ending;
  const output = truncated
    ? `${normalize(head)}\n… [${collected.bytes - head.length - tail.length} bytes cut] …\n${rest}`
    : rest;
  return { exitCode: found ? Number(found[1]) : null, output, truncated, outputBytes: collected.bytes };
}
