// How the ECS/SSM agent splits an ExecuteCommand command (google/shlex, modern behaviour):
// blanks (space, tab, CR, LF) separate words; '...' keeps everything literally; "..." keeps
// everything but lets \ take the next character literally; \ outside quotes does the same; a
// word starting with # starts a comment to the end of the line; quoted pieces next to each
// other join into one word, and '' is an empty word.

export class ShlexError extends Error {
  override readonly name = 'ShlexError';
}

export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  const chars = [...input];
  let i = 0;
  const blank = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (i < chars.length) {
    if (blank(chars[i]!)) {
      i++;
      continue;
    }
    if (chars[i] === '#') {
      while (i < chars.length && chars[i] !== '\n') i++;
      continue;
    }
    let word = '';
    while (i < chars.length && !blank(chars[i]!)) {
      const c = chars[i++]!;
      if (c === "'") {
        const close = chars.indexOf("'", i);
        if (close < 0) throw new ShlexError('EOF found when expecting closing quote');
        word += chars.slice(i, close).join('');
        i = close + 1;
      } else if (c === '"') {
        for (;;) {
          if (i >= chars.length) throw new ShlexError('EOF found when expecting closing quote');
          const d = chars[i++]!;
          if (d === '"') break;
          if (d === '\\') {
            if (i >= chars.length) throw new ShlexError('EOF found after escape character');
            word += chars[i++];
          } else {
            word += d;
          }
        }
      } else if (c === '\\') {
        if (i >= chars.length) throw new ShlexError('EOF found after escape character');
        word += chars[i++];
      } else {
        word += c;
      }
    }
    words.push(word);
  }
  return words;
}
