// Small helpers for shaping AWS responses.

/** `{ [key]: ISO string }` when the date is set, `{}` otherwise: for optional output fields. */
export function isoField<K extends string>(key: K, date: Date | undefined): Partial<Record<K, string>> {
  return date ? ({ [key]: date.toISOString() } as Record<K, string>) : {};
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function groupBy<T>(items: readonly T[], key: (item: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups];
}
