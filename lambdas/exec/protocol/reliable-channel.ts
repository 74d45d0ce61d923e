// Reliable, ordered delivery over the data channel, the same on both ends: every stream
// message we send gets the next sequence number and is resent until acknowledged; every
// stream message we receive is acknowledged (duplicates too), and handed on once, in order.
// Resend timing follows the reference client: check every 100 ms, RTO from Jacobson/Karels
// starting at 200 ms and capped at 1 s.

import { randomUUID } from 'node:crypto';
import {
  acknowledgeFor,
  AcknowledgeContent,
  decodeMessage,
  DecodedMessage,
  encodeMessage,
  Flags,
  MessageType,
} from './codec';

export const RESEND_CHECK_MS = 100;
const INITIAL_RTO_MS = 200;
const MAX_RTO_MS = 1_000;
const MIN_RTO_VARIANCE_MS = 10;
/** The reference client gives up after 3000 resends (about 5 minutes). */
export const MAX_RESENDS = 3_000;
/** Out-of-order messages kept while waiting for a gap to fill. */
const MAX_BUFFERED = 10_000;

export interface ChannelEvents {
  /** A stream message, in sequence order, exactly once. */
  onStream(message: DecodedMessage): void;
  /** channel_closed, start_publication, pause_publication. */
  onControl(message: DecodedMessage): void;
  /** A message failed its digest check or could not be decoded; it was dropped. */
  onDropped?(reason: string): void;
}

export interface ChannelOptions {
  /** Which stream messages this end sends: a client sends input, an agent output. */
  readonly sends: typeof MessageType.InputStreamData | typeof MessageType.OutputStreamData;
  readonly send: (frame: Buffer) => void;
  readonly events: ChannelEvents;
  readonly now?: () => number;
  /**
   * Decides what happens to an incoming stream message: 'ok' (acknowledge and deliver),
   * 'drop' (neither, as the agent does with input that arrives before its pty exists), or
   * 'lose-ack' (deliver, but the acknowledgement never leaves: a test knob).
   */
  readonly receiveFilter?: (message: DecodedMessage) => 'ok' | 'drop' | 'lose-ack';
}

interface Pending {
  readonly frame: Buffer;
  readonly sequenceNumber: number;
  sentAt: number;
  resends: number;
}

export class ChannelFailure extends Error {
  override readonly name = 'ChannelFailure';
}

export interface ChannelStats {
  /** Stream messages sent for the first time. */
  sent: number;
  /** Resends of messages not acknowledged in time. */
  resent: number;
  /** Stream messages received again after they were delivered (and acknowledged again). */
  duplicates: number;
  /** Stream messages that arrived ahead of a gap and waited for it. */
  early: number;
}

export class ReliableChannel {
  readonly stats: ChannelStats = { sent: 0, resent: 0, duplicates: 0, early: 0 };
  private nextOut = 0;
  private expectedIn = 0;
  private readonly unacked = new Map<number, Pending>();
  private readonly early = new Map<number, DecodedMessage>();
  private paused = false;
  private rtt = INITIAL_RTO_MS;
  private rttVariance = 0;
  private rto = INITIAL_RTO_MS;
  private readonly now: () => number;
  private readonly receives: string;

  constructor(private readonly options: ChannelOptions) {
    this.now = options.now ?? Date.now;
    this.receives =
      options.sends === MessageType.InputStreamData
        ? MessageType.OutputStreamData
        : MessageType.InputStreamData;
  }

  get pendingCount(): number {
    return this.unacked.size;
  }

  /** Sends a stream message with the next sequence number; it is resent until acknowledged. */
  sendStream(payloadType: number, payload: Buffer): number {
    const sequenceNumber = this.nextOut++;
    const frame = encodeMessage({
      messageType: this.options.sends,
      schemaVersion: 1,
      createdDate: this.now(),
      sequenceNumber,
      flags:
        sequenceNumber === 0 && this.options.sends === MessageType.OutputStreamData ? Flags.Syn : Flags.Data,
      messageId: randomUUID(),
      payloadType,
      payload,
    });
    this.unacked.set(sequenceNumber, { frame, sequenceNumber, sentAt: this.now(), resends: 0 });
    this.stats.sent += 1;
    if (!this.paused) this.options.send(frame);
    return sequenceNumber;
  }

  /** Handles one binary frame from the socket. */
  receive(frame: Buffer): void {
    let message: DecodedMessage;
    try {
      message = decodeMessage(frame);
    } catch (error) {
      this.options.events.onDropped?.(`undecodable frame: ${(error as Error).message}`);
      return;
    }
    switch (message.messageType) {
      case MessageType.Acknowledge:
        return this.handleAck(message);
      case this.receives:
        return this.handleStream(message);
      case MessageType.PausePublication:
        this.paused = true;
        return this.options.events.onControl(message);
      case MessageType.StartPublication:
        this.paused = false;
        return this.options.events.onControl(message);
      default:
        return this.options.events.onControl(message);
    }
  }

  /** Resends the oldest unacknowledged message when its RTO has passed. Call every RESEND_CHECK_MS. */
  tick(): void {
    if (this.paused || this.unacked.size === 0) return;
    const oldest = this.unacked.values().next().value!;
    if (this.now() - oldest.sentAt < this.rto) return;
    if (oldest.resends >= MAX_RESENDS) {
      throw new ChannelFailure(
        `message ${oldest.sequenceNumber} was not acknowledged after ${MAX_RESENDS} resends`,
      );
    }
    oldest.resends += 1;
    this.stats.resent += 1;
    oldest.sentAt = this.now();
    this.options.send(oldest.frame);
  }

  private handleStream(message: DecodedMessage) {
    if (message.payload.length > 0 && !message.digestValid) {
      // Not acknowledged: the sender will resend it.
      this.options.events.onDropped?.(`digest mismatch on ${message.messageType} ${message.sequenceNumber}`);
      return;
    }
    const verdict = this.options.receiveFilter?.(message) ?? 'ok';
    if (verdict === 'drop') return;
    if (verdict === 'ok') this.options.send(encodeMessage(acknowledgeFor(message, randomUUID(), this.now())));
    if (message.sequenceNumber < this.expectedIn || this.early.has(message.sequenceNumber)) {
      this.stats.duplicates += 1;
      return;
    }
    if (message.sequenceNumber > this.expectedIn) {
      if (this.early.size < MAX_BUFFERED) this.early.set(message.sequenceNumber, message);
      this.stats.early += 1;
      return;
    }
    this.options.events.onStream(message);
    this.expectedIn += 1;
    for (let next = this.early.get(this.expectedIn); next; next = this.early.get(this.expectedIn)) {
      this.early.delete(this.expectedIn);
      this.options.events.onStream(next);
      this.expectedIn += 1;
    }
  }

  private handleAck(message: DecodedMessage) {
    let ack: AcknowledgeContent;
    try {
      ack = JSON.parse(message.payload.toString('utf8')) as AcknowledgeContent;
    } catch {
      this.options.events.onDropped?.('acknowledge with a payload that is not JSON');
      return;
    }
    const pending = this.unacked.get(ack.AcknowledgedMessageSequenceNumber);
    if (!pending || ack.AcknowledgedMessageType !== this.options.sends) return;
    this.unacked.delete(pending.sequenceNumber);
    // Karn: only a message sent once gives a clean round-trip sample.
    if (pending.resends === 0) this.updateRto(this.now() - pending.sentAt);
  }

  private updateRto(sample: number) {
    this.rttVariance = 0.75 * this.rttVariance + 0.25 * Math.abs(this.rtt - sample);
    this.rtt = 0.875 * this.rtt + 0.125 * sample;
    this.rto = Math.min(MAX_RTO_MS, this.rtt + Math.max(MIN_RTO_VARIANCE_MS, 4 * this.rttVariance));
  }
}
