import { execFileSync } from 'node:child_process';
import { markerOf, OutputCollector, parseOutput, shlexQuote, wrapArgv } from '../../../lambdas/exec/command';
import { shlexSplit } from '../../../sandbox/exec-gateway/shlex';

const TRICKY = [
  'plain',
  'two words',
  "it's",
  '"quoted"',
  '$(reboot)',
  '`id`',
  'a;b|c&d',
  '#not-a-comment',
  'back\\slash',
  'new\nline',
  'tab\there',
  '',
  '* ? [x]',
  'ünïcødé ✓',
  "'",
  "''",
  '--',
  '-rf',
];

describe('shlexQuote', () => {
  it('round-trips every word through the agent splitter as one word', () => {
    expect(shlexSplit(TRICKY.map(shlexQuote).join(' '))).toEqual(TRICKY);
  });

  it('round-trips through POSIX sh the same way (what sh -c receives as "$@")', () => {
    const script = `for a in "$@"; do printf '%s\\0' "$a"; done`;
    const out = execFileSync('sh', [
      '-c',
      `${['sh', '-c', script, 'x', ...TRICKY].map(shlexQuote).join(' ')}`,
    ]);
    expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(TRICKY);
  });
});

describe('shlexSplit (the agent side)', () => {
  it.each([
    ['one two', ['one', 'two']],
    ['"a b" c', ['a b', 'c']],
    ["a'b c'd", ['ab cd']],
    ['a\\ b', ['a b']],
    ['x #comment\ny', ['x', 'y']],
    ['x#y', ['x#y']],
    ['"a\\"b"', ['a"b']],
    ["''", ['']],
  ])('splits %j', (input, words) => {
    expect(shlexSplit(input)).toEqual(words);
  });

  it('refuses an unclosed quote', () => {
    expect(() => shlexSplit("'open")).toThrow(/closing quote/);
  });
});

describe('wrapArgv', () => {
  it('runs the argv as "$@" of a fixed script that reports the status behind the nonce', () => {
    const { command, nonce } = wrapArgv(['echo', 'hi; rm -rf /'], 'abc123');
    const words = shlexSplit(command);
    expect(words.slice(0, 2)).toEqual(['sh', '-c']);
    expect(words[2]).toContain(markerOf('abc123'));
    expect(words[2]).not.toContain('rm -rf');
    expect(words.slice(3)).toEqual(['sidekick-exec', 'echo', 'hi; rm -rf /']);
    expect(nonce).toBe('abc123');
  });

  it('uses a new nonce every time', () => {
    expect(wrapArgv(['true']).nonce).not.toBe(wrapArgv(['true']).nonce);
  });
});

describe('parseOutput', () => {
  const collect = (text: string, head = 1000, tail = 1000) => {
    const c = new OutputCollector(head, tail);
    for (let i = 0; i < text.length; i += 7) c.add(Buffer.from(text.slice(i, i + 7)));
    return c;
  };

  it('strips the marker, turns \\r\\n into \\n and reads the status', () => {
    const text = `hello\r\nworld\r\n\r\n${markerOf('n1')}42\r\n`;
    const r = parseOutput(collect(text), 'n1');
    expect(r).toEqual({
      exitCode: 42,
      output: 'hello\nworld\n',
      truncated: false,
      outputBytes: Buffer.byteLength(text),
    });
  });

  it('ignores a forged marker with another nonce in the output', () => {
    const r = parseOutput(collect(`${markerOf('evil')}0\r\nreal\r\n\r\n${markerOf('n1')}1\r\n`), 'n1');
    expect(r.exitCode).toBe(1);
    expect(r.output).toBe(`${markerOf('evil')}0\nreal\n`);
  });

  it('reports no status when the marker never came', () => {
    expect(parseOutput(collect('cut short\r\n'), 'n1')).toMatchObject({
      exitCode: null,
      output: 'cut short\n',
    });
  });

  it('keeps head and tail of long output in bounded memory and says it cut', () => {
    const body = 'x'.repeat(100_000);
    const r = parseOutput(collect(`START${body}END\r\n${markerOf('n1')}0\r\n`, 100, 300), 'n1');
    expect(r.truncated).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.output.startsWith('START')).toBe(true);
    expect(r.output.endsWith('END')).toBe(true);
    expect(r.output).toMatch(/… \[\d+ bytes cut\] …/);
    expect(r.output.length).toBeLessThan(500);
  });

  it('finds a marker that straddles the head/tail boundary of uncut output', () => {
    const text = `${'a'.repeat(95)}\r\n${markerOf('n1')}7\r\n`;
    expect(parseOutput(collect(text, 100, 1000), 'n1')).toMatchObject({
      exitCode: 7,
      truncated: false,
      output: 'a'.repeat(95),
    });
  });
});
