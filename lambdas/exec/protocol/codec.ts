// The Session Manager data-channel message: a 120-byte big-endian header and a payload, one
// message per WebSocket binary frame. Both ends (our client, the sandbox's agent) use this.
// Layout and quirks: ../../../../shared/reference/ssm-data-channel.md §2.3 (kept in README).

import { createHash } from 'node:crypto';

export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
} as const;

export const PayloadType = {
  None: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const;

export const Flags = { Data: 0, Syn: 1, Fin: 2, Ack: 3 } as const;

/** Writers put 116 here: the offset of PayloadLength. */
export const HEADER_LENGTH = 116;
const TYPE_FIELD_BYTES = 32;

export interface Message {
  readonly messageType: string;
  readonly schemaVersion: number;
  /** Epoch milliseconds; never 0. */
  readonly createdDate: number;
  readonly sequenceNumber: number;
  readonly flags: number;
  /** Canonical UUID text. */
  readonly messageId: string;
  readonly payloadType: number;
  readonly payload: Buffer;
}

export interface DecodedMessage extends Message {
  readonly headerLength: number;
  /** SHA-256 of the payload matches the header's digest. */
  readonly digestValid: boolean;
}

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export function encodeMessage(m: Message): Buffer {
  if (m.payload.length === 0) throw new CodecError('a message needs a payload (the agent drops empty ones)');
  if (m.createdDate <= 0) throw new CodecError('createdDate must be set');
  const out = Buffer.alloc(HEADER_LENGTH + 4 + m.payload.length);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.fill(0x20, 4, 4 + TYPE_FIELD_BYTES);
  out.write(m.messageType, 4, TYPE_FIELD_BYTES, 'ascii');
  out.writeUInt32BE(m.schemaVersion, 36);
  out.writeBigUInt64BE(BigInt(m.createdDate), 40);
  out.writeBigInt64BE(BigInt(m.sequenceNumber), 48);
  out.writeBigUInt64BE(BigInt(m.flags), 56);
  uuidToWire(m.messageId).copy(out, 64);
  sha256(m.payload).copy(out, 80);
  out.writeUInt32BE(m.payloadType, 112);
  out.writeUInt32BE(m.payload.length, 116);
  m.payload.copy(out, 120);
  return out;
}

/**
 * Decodes by the header length the frame carries: the payload starts at HL+4, and a frame
 * with HL 112 (as `channel_closed` is reported to arrive) has no PayloadType field.
 * The message type may be padded with spaces or NULs, on either side.
 */
export function decodeMessage(frame: Buffer): DecodedMessage {
  if (frame.length < 116) throw new CodecError(`frame of ${frame.length} bytes is shorter than a header`);
  const headerLength = frame.readUInt32BE(0);
  if (headerLength < 112 || headerLength + 4 > frame.length) {
    throw new CodecError(`header length ${headerLength} does not fit a ${frame.length}-byte frame`);
  }
  const messageType = frame
    .subarray(4, 4 + TYPE_FIELD_BYTES)
    .toString('ascii')
    .replace(/^[\0 ]+|[\0 ]+$/g, '');
  const payload = Buffer.from(frame.subarray(headerLength + 4));
  const digest = frame.subarray(80, 112);
  return {
    headerLength,
    messageType,
    schemaVersion: frame.readUInt32BE(36),
    createdDate: Number(frame.readBigUInt64BE(40)),
    sequenceNumber: Number(frame.readBigInt64BE(48)),
    flags: Number(frame.readBigUInt64BE(56)),
    messageId: uuidFromWire(frame.subarray(64, 80)),
    payloadType: headerLength >= 116 ? frame.readUInt32BE(112) : PayloadType.None,
    payload,
    digestValid: sha256(payload).equals(digest),
  };
}

/** The wire form swaps the UUID's two 8-byte halves. */
export function uuidToWire(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new CodecError(`not a UUID: ${uuid}`);
  const bytes = Buffer.from(hex, 'hex');
  return Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8)]);
}

export function uuidFromWire(wire: Buffer): string {
  const hex = Buffer.concat([wire.subarray(8, 16), wire.subarray(0, 8)]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The JSON an `acknowledge` message carries. */
export interface AcknowledgeContent {
  readonly AcknowledgedMessageType: string;
  readonly AcknowledgedMessageId: string;
  readonly AcknowledgedMessageSequenceNumber: number;
  readonly IsSequentialMessage: boolean;
}

export function acknowledgeFor(
  m: Pick<Message, 'messageType' | 'messageId' | 'sequenceNumber'>,
  messageId: string,
  now: number,
): Message {
  const content: AcknowledgeContent = {
    AcknowledgedMessageType: m.messageType,
    AcknowledgedMessageId: m.messageId,
    AcknowledgedMessageSequenceNumber: m.sequenceNumber,
    IsSequentialMessage: true,
  };
  return {
    messageType: MessageType.Acknowledge,
    schemaVersion: 1,
    createdDate: now,
    sequenceNumber: 0,
    flags: Flags.Ack,
    messageId,
    payloadType: PayloadType.None,
    payload: Buffer.from(JSON.stringify(content)),
  };
}
