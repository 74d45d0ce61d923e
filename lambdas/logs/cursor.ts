// The logs cursor: where a paginated or followed query resumes, exactly.
//
// `floor`: every event with an earlier timestamp has been delivered (or was not yet ingested
// more than SETTLE_MS after it happened, see fetch-logs.ts). `positions`: for each stream that
// delivered events at or after the floor, the timestamp of its last delivered event and how
// many events of that stream at that very millisecond were delivered. Streams are read in
// timestamp order, so this marks each stream's delivered prefix exactly, also when many
// events share a millisecond.

import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod/v3';
import { ValidationError } from '../shared/errors';
import { Continuation } from './sources';

export interface StreamPosition {
  readonly timestamp: number;
  readonly count: number;
}

export interface LogCursor {
  readonly query: string;
  readonly floor: number;
  readonly positions: ReadonlyMap<string, StreamPosition>;
  /** FilterLogEvents reads of settled history that go on from their page token. */
  readonly continuations?: readonly Continuation[];
}

export const MAX_CURSOR_LENGTH = 8_192;
const MAX_INFLATED_BYTES = 65_536;

const CursorJson = z.strictObject({
  v: z.literal(1),
  q: z.string().regex(/^[0-9a-f]{16}$/),
  f: z.number().int().nonnegative(),
  p: z
    .array(
      z.tuple([z.string().min(1).max(1100), z.number().int().nonnegative(), z.number().int().positive()]),
    )
    .max(2000),
  c: z
    .array(
      z.tuple([
        z.string().min(1).max(4000),
        z
          .string()
          .min(1)
          .max(2048)
          .regex(/^[\x21-\x7e]+$/),
        z.number().int().nonnegative(),
      ]),
    )
    .max(20)
    .optional(),
});

/** Identifies what a query selects, so a cursor cannot be replayed against another query. */
export function queryFingerprint(selection: Record<string, string | undefined>): string {
  const canonical = JSON.stringify(
    Object.keys(selection)
      .sort()
      .map((k) => [k, selection[k] ?? null]),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function encodeCursor(cursor: LogCursor): string {
  const json = {
    v: 1,
    q: cursor.query,
    f: cursor.floor,
    p: [...cursor.positions].map(([stream, pos]) => [stream, pos.timestamp, pos.count]),
    ...(cursor.continuations?.length
      ? { c: cursor.continuations.map((c) => [c.source, c.token, c.startTime]) }
      : {}),
  };
  return deflateRawSync(JSON.stringify(json)).toString('base64url');
}

export function decodeCursor(text: string, expectedQuery: string): LogCursor {
  const invalid = () =>
    new ValidationError('cursor', 'is not a cursor returned by this API (copy nextCursor exactly)');
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let parsed: z.infer<typeof CursorJson>;
  try {
    const inflated = inflateRawSync(Buffer.from(text, 'base64url'), { maxOutputLength: MAX_INFLATED_BYTES });
    parsed = CursorJson.parse(JSON.parse(inflated.toString('utf8')));
  } catch {
    throw invalid();
  }
  if (parsed.q !== expectedQuery) {
    throw new ValidationError(
      'cursor',
      'belongs to a different query (service, task, container or filter changed)',
    );
  }
  return {
    query: parsed.q,
    floor: parsed.f,
    positions: new Map(parsed.p.map(([stream, timestamp, count]) => [stream, { timestamp, count }])),
    ...(parsed.c
      ? { continuations: parsed.c.map(([source, token, startTime]) => ({ source, token, startTime })) }
      : {}),
  };
}
