// Where command output goes, and in which format.

export interface Output {
  readonly json: boolean;
  print(value: unknown): void;
}

export function createOutput(
  format: 'table' | 'json',
  write: (text: string) => void = (t) => process.stdout.write(t),
): Output {
  const json = format === 'json';
  return {
    json,
    print: (value) =>
      write(`${typeof value === 'string' ? value : JSON.stringify(value, null, json ? 2 : 0)}\n`),
  };
}
