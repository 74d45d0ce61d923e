// A client session on an ECS Exec data channel: opens the WebSocket with the token frame,
// answers the KMS handshake when the cluster encrypts sessions, hands every Output payload to
// onOutput in order, and ends on channel_closed, a dropped socket, a time limit or a cancel.
// The session token is a bearer credential: it goes into the first frame and nowhere else.

import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { DecodedMessage, MessageType, PayloadType } from './codec';
import { open, seal, SessionKeys, splitDataKey } from './crypto';
import { ChallengeSchema, ChannelClosedSchema, HandshakeRequestSchema, parsePayload } from './payloads';
import { ChannelFailure, ChannelStats, ReliableChannel, RESEND_CHECK_MS } from './reliable-channel';
import { z } from 'zod/v3';

export const CLIENT_VERSION = '1.2.0.0';
/** The byte a terminal sends for Ctrl-C: the pty turns it into SIGINT for the command. */
const CTRL_C = Buffer.from([0x03]);
/** After Ctrl-C, how long to wait for the agent to close the channel before closing the socket. */
const CANCEL_GRACE_MS = 1_500;

export interface DataKeySource {
  /** kms:GenerateDataKey with NumberOfBytes 64 and the session's encryption context. */
  generateDataKey(
    keyId: string,
    context: Record<string, string>,
  ): Promise<{ ciphertext: Uint8Array; plaintext: Uint8Array }>;
}

export interface ClientSessionOptions {
  readonly streamUrl: string;
  readonly tokenValue: string;
  readonly sessionId: string;
  /** `ecs:<cluster>_<task id>_<container runtime id>`: part of the KMS encryption context. */
  readonly targetId: string;
  readonly onOutput: (chunk: Buffer) => void;
  /** Needed when the cluster encrypts exec sessions with KMS. */
  readonly kms?: DataKeySource;
  /** The whole session, from connect to close. */
  readonly timeoutMs: number;
  /** No message from the agent for this long ends the session. */
  readonly idleTimeoutMs?: number;
  /** Sent (and resent until acknowledged) as the session's first input. */
  readonly terminal?: { readonly cols: number; readonly rows: number };
  readonly signal?: AbortSignal;
  readonly connect?: (url: string) => WebSocket;
  readonly now?: () => number;
}

export type SessionEnd = 'closed' | 'timeout' | 'idle' | 'cancelled' | 'dropped' | 'failed';

export interface ClientSessionResult {
  readonly ended: SessionEnd;
  /** The agent's text in channel_closed (an error, when not empty), or why the session failed. */
  readonly message?: string;
  readonly stats: ChannelStats;
}

export function runClientSession(o: ClientSessionOptions): Promise<ClientSessionResult> {
  const now = o.now ?? Date.now;
  const socket = (o.connect ?? ((url) => new WebSocket(url)))(o.streamUrl);
  return new Promise<ClientSessionResult>((resolve) => {
    let keys: SessionKeys | undefined;
    let encrypted = false;
    let handshakeDone = false;
    let lastHeard = now();
    const queuedInput: [number, Buffer][] = [];
    let finished = false;
    /** Why the client is ending the session, once it has started to. */
    let stopping: 'cancelled' | 'timeout' | undefined;

    const finish = (result: Omit<ClientSessionResult, 'stats'>) => {
      if (finished) return;
      finished = true;
      clearInterval(resendTimer);
      clearTimeout(overallTimer);
      o.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)
        socket.terminate();
      resolve({ ...result, stats: { ...channel.stats } });
    };

    const channel = new ReliableChannel({
      sends: MessageType.InputStreamData,
      send: (frame) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(frame);
      },
      now,
      events: {
        onStream: (m) => {
          handleStream(m).catch((error: unknown) =>
            finish({ ended: 'failed', message: String((error as Error).message ?? error) }),
          );
        },
        onControl: (m) => {
          if (m.messageType !== MessageType.ChannelClosed) return;
          finish({ ended: stopping ?? 'closed', message: channelClosedText(m) });
        },
      },
    });

    /** Input waits until a KMS handshake is complete: the agent drops it before that. */
    const sendInput = (payloadType: number, payload: Buffer) => {
      if (encrypted && !handshakeDone) return void queuedInput.push([payloadType, payload]);
      const body = keys && payloadType === PayloadType.Output ? seal(keys.encrypt, payload) : payload;
      channel.sendStream(payloadType, body);
    };

    async function handleStream(m: DecodedMessage) {
      switch (m.payloadType) {
        case PayloadType.HandshakeRequest:
          encrypted = true;
          return answerHandshake(parsePayload(HandshakeRequestSchema, m.payload));
        case PayloadType.EncChallengeRequest: {
          if (!keys) throw new Error('the agent sent an encryption challenge before any key was agreed');
          const { Challenge } = parsePayload(ChallengeSchema, m.payload);
          const challenge = open(keys.decrypt, Buffer.from(Challenge, 'base64'));
          const answer = { Challenge: seal(keys.encrypt, challenge).toString('base64') };
          return void channel.sendStream(
            PayloadType.EncChallengeResponse,
            Buffer.from(JSON.stringify(answer)),
          );
        }
        case PayloadType.HandshakeComplete:
          handshakeDone = true;
          for (const [type, payload] of queuedInput.splice(0)) sendInput(type, payload);
          return;
        case PayloadType.Output:
        case PayloadType.StdErr:
        case PayloadType.ExitCode:
          return o.onOutput(keys ? open(keys.decrypt, m.payload) : m.payload);
        default:
          return;
      }
    }

    async function answerHandshake(request: z.infer<typeof HandshakeRequestSchema>) {
      const processed = [];
      for (const action of request.RequestedClientActions ?? []) {
        if (action.ActionType === 'KMSEncryption') {
          const keyId = action.ActionParameters?.KMSKeyId;
          if (!o.kms || !keyId) {
            processed.push({
              ActionType: action.ActionType,
              ActionStatus: 3,
              ActionResult: null,
              Error: 'KMS is not available to this client',
            });
            continue;
          }
          const context = { 'aws:ssm:SessionId': o.sessionId, 'aws:ssm:TargetId': o.targetId };
          const dataKey = await o.kms.generateDataKey(keyId, context);
          keys = splitDataKey(dataKey.plaintext, 'client');
          processed.push({
            ActionType: action.ActionType,
            ActionStatus: 1,
            ActionResult: {
              KMSCipherTextKey: Buffer.from(dataKey.ciphertext).toString('base64'),
              KMSCipherTextHash: null,
            },
            Error: '',
          });
        } else if (action.ActionType === 'SessionType') {
          processed.push({ ActionType: action.ActionType, ActionStatus: 1, ActionResult: null, Error: '' });
        } else {
          processed.push({
            ActionType: action.ActionType,
            ActionStatus: 3,
            ActionResult: null,
            Error: 'unsupported action',
          });
        }
      }
      const response = { ClientVersion: CLIENT_VERSION, ProcessedClientActions: processed, Errors: null };
      channel.sendStream(PayloadType.HandshakeResponse, Buffer.from(JSON.stringify(response)));
    }

    /** Asks the command to stop (SIGINT through the pty), then gives up on the channel. */
    const stop = (reason: 'cancelled' | 'timeout') => {
      if (stopping) return;
      stopping = reason;
      sendInput(PayloadType.Output, CTRL_C);
      setTimeout(() => finish({ ended: reason }), CANCEL_GRACE_MS);
    };
    const onAbort = () => stop('cancelled');

    const resendTimer = setInterval(() => {
      try {
        channel.tick();
      } catch (error) {
        if (error instanceof ChannelFailure) finish({ ended: 'failed', message: error.message });
      }
      if (o.idleTimeoutMs !== undefined && now() - lastHeard > o.idleTimeoutMs) {
        finish({
          ended: 'idle',
          message: `no output from the agent for ${Math.round(o.idleTimeoutMs / 1000)} s`,
        });
      }
    }, RESEND_CHECK_MS);
    const overallTimer = setTimeout(() => stop('timeout'), o.timeoutMs);

    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    socket.binaryType = 'nodebuffer';
    socket.on('open', () => {
      socket.send(
        JSON.stringify({
          MessageSchemaVersion: '1.0',
          RequestId: randomUUID(),
          TokenValue: o.tokenValue,
          ClientId: randomUUID(),
          ClientVersion: CLIENT_VERSION,
        }),
      );
      if (o.terminal) sendInput(PayloadType.Size, Buffer.from(JSON.stringify(o.terminal)));
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      lastHeard = now();
      channel.receive(data);
    });
    socket.on('close', () =>
      finish({ ended: 'dropped', message: 'the WebSocket closed before the agent closed the channel' }),
    );
    socket.on('error', (error) => finish({ ended: 'dropped', message: `WebSocket error: ${error.message}` }));
  });
}

function channelClosedText(m: DecodedMessage): string | undefined {
  try {
    return parsePayload(ChannelClosedSchema, m.payload).Output || undefined;
  } catch {
    return undefined;
  }
}
