// The JSON payloads of the handshake and of channel_closed, parsed with one schema each.

import { z } from 'zod/v3';

export const HandshakeRequestSchema = z.object({
  RequestedClientActions: z
    .array(
      z.object({
        ActionType: z.string(),
        ActionParameters: z
          .object({ KMSKeyId: z.string().optional(), Challenge: z.string().optional() })
          .passthrough()
          .nullable()
          .optional(),
      }),
    )
    .optional(),
});

export const HandshakeResponseSchema = z.object({
  ProcessedClientActions: z
    .array(
      z.object({
        ActionType: z.string(),
        ActionStatus: z.number(),
        ActionResult: z
          .object({ KMSCipherTextKey: z.string().nullable().optional() })
          .passthrough()
          .nullable()
          .optional(),
      }),
    )
    .nullable()
    .optional(),
});

export const ChallengeSchema = z.object({ Challenge: z.string() });

export const ChannelClosedSchema = z.object({ Output: z.string().optional() });

export function parsePayload<S extends z.ZodTypeAny>(schema: S, payload: Buffer): z.output<S> {
  return schema.parse(JSON.parse(payload.toString('utf8')));
}
