// The agent's side of one ECS Exec session, as the SSM agent in a container plays it: checks
// the token, runs the KMS handshake when the cluster asks for it, runs the command on a pty,
// sends its output in ≤1 KiB messages, takes input (Ctrl-C included), and closes the channel
// when the command ends. It speaks the same binary protocol as the real agent, through the
// same codec and reliable channel as our client.

import { randomBytes, randomUUID } from 'node:crypto';
import { ChildProcessWithoutNullStreams } from 'node:child_process';
import WebSocket from 'ws';
import { z } from 'zod/v3';
import { encodeMessage, MessageType, PayloadType } from '../../lambdas/exec/protocol/codec';
import { open, seal, SessionKeys, splitDataKey } from '../../lambdas/exec/protocol/crypto';
import { ChallengeSchema, HandshakeResponseSchema, parsePayload } from '../../lambdas/exec/protocol/payloads';
import { ReliableChannel, RESEND_CHECK_MS } from '../../lambdas/exec/protocol/reliable-channel';
import { shlexSplit } from './shlex';

export interface ExecSessionInfo {
  readonly sessionId: string;
  readonly cluster: string;
  readonly taskId: string;
  readonly container: string;
  readonly runtimeId: string;
  readonly command: string;
  readonly kmsKeyId?: string;
}

export interface GatewayFaults {
  /** Send output messages in swapped pairs. */
  reorderOutput?: boolean;
  /** Send every output message twice. */
  duplicateOutput?: boolean;
  /** Lose the acknowledgement of the client's first input message, once. */
  loseFirstInputAck?: boolean;
  /** Close the channel with this error instead of running the command. */
  closeWithError?: string;
  /** Output message size (the agent reads the pty 1024 bytes at a time). */
  chunkBytes?: number;
}

export interface AgentSessionDeps {
  readonly lookup: (sessionId: string, token: string) => Promise<ExecSessionInfo | undefined>;
  readonly launch: (info: ExecSessionInfo, argv: string[]) => ChildProcessWithoutNullStreams;
  readonly decryptDataKey?: (ciphertext: Buffer, context: Record<string, string>) => Promise<Buffer>;
  readonly faults?: () => GatewayFaults;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;
const OpenDataChannelSchema = z.object({ MessageSchemaVersion: z.string(), TokenValue: z.string() });
/** After the command ends, how long the agent waits for its output to be acknowledged. */
const CLOSE_FLUSH_MS = 2_000;

export function serveAgentSession(socket: WebSocket, sessionId: string, deps: AgentSessionDeps): void {
  const faults = deps.faults?.() ?? {};
  let info: ExecSessionInfo | undefined;
  let keys: SessionKeys | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;
  let closed = false;
  let inputSeen = 0;
  const handshakeWaiters = new Map<number, (payload: Buffer) => void>();

  const sendFrame = faultySender((frame) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  }, faults);
  const channel = new ReliableChannel({
    sends: MessageType.OutputStreamData,
    send: sendFrame,
    receiveFilter: (m) => {
      // Before the pty exists the agent neither takes nor acknowledges input: the client resends.
      if ((m.payloadType === PayloadType.Output || m.payloadType === PayloadType.Size) && !child)
        return 'drop';
      inputSeen += 1;
      return faults.loseFirstInputAck && inputSeen === 1 ? 'lose-ack' : 'ok';
    },
    events: {
      onStream: (m) => {
        const waiter = handshakeWaiters.get(m.payloadType);
        if (waiter) {
          handshakeWaiters.delete(m.payloadType);
          return waiter(m.payload);
        }
        // Input before the command runs is dropped, as the agent does.
        if (m.payloadType !== PayloadType.Output || !child) return;
        child.stdin.write(keys ? open(keys.decrypt, m.payload) : m.payload);
      },
      onControl: () => undefined,
    },
  });
  const resendTimer = setInterval(() => {
    try {
      channel.tick();
    } catch {
      shutDown();
    }
  }, RESEND_CHECK_MS);

  const shutDown = () => {
    if (closed) return;
    closed = true;
    clearInterval(resendTimer);
    child?.kill('SIGHUP');
    if (socket.readyState === WebSocket.OPEN) socket.close();
  };

  const closeChannel = (output: string) => {
    const body = {
      MessageId: randomUUID(),
      CreatedDate: new Date().toISOString(),
      DestinationId: 'client',
      SessionId: sessionId,
      MessageType: 'channel_closed',
      SchemaVersion: 1,
      Output: output,
    };
    const frame = encodeMessage({
      messageType: MessageType.ChannelClosed,
      schemaVersion: 1,
      createdDate: Date.now(),
      sequenceNumber: 0,
      flags: 0,
      messageId: randomUUID(),
      payloadType: PayloadType.None,
      payload: Buffer.from(JSON.stringify(body)),
    });
    if (socket.readyState === WebSocket.OPEN) socket.send(frame);
    setTimeout(shutDown, 50);
  };

  const awaitStream = (payloadType: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              'Handshake timed out. Please ensure that you have the latest version of the session manager plugin.',
            ),
          ),
        HANDSHAKE_TIMEOUT_MS,
      );
      handshakeWaiters.set(payloadType, (payload) => {
        clearTimeout(timer);
        resolve(payload);
      });
    });

  async function handshake(session: ExecSessionInfo) {
    const started = process.hrtime.bigint();
    const request = {
      AgentVersion: '3.3.0.0-sandbox',
      RequestedClientActions: [
        {
          ActionType: 'SessionType',
          ActionParameters: { SessionType: 'InteractiveCommands', Properties: null },
        },
        {
          ActionType: 'KMSEncryption',
          ActionParameters: { KMSKeyId: session.kmsKeyId, Challenge: randomBytes(16).toString('base64') },
        },
      ],
    };
    const responded = awaitStream(PayloadType.HandshakeResponse);
    channel.sendStream(PayloadType.HandshakeRequest, Buffer.from(JSON.stringify(request)));
    const response = parsePayload(HandshakeResponseSchema, await responded);
    const kmsAction = response.ProcessedClientActions?.find((a) => a.ActionType === 'KMSEncryption');
    if (
      !kmsAction ||
      kmsAction.ActionStatus !== 1 ||
      !kmsAction.ActionResult?.KMSCipherTextKey ||
      !deps.decryptDataKey
    ) {
      throw new Error('The client did not complete the KMS encryption handshake.');
    }
    const targetId = `ecs:${session.cluster}_${session.taskId}_${session.runtimeId}`;
    const dataKey = await deps.decryptDataKey(
      Buffer.from(kmsAction.ActionResult.KMSCipherTextKey, 'base64'),
      {
        'aws:ssm:SessionId': session.sessionId,
        'aws:ssm:TargetId': targetId,
      },
    );
    keys = splitDataKey(dataKey, 'agent');
    const challenge = randomBytes(64);
    const answered = awaitStream(PayloadType.EncChallengeResponse);
    channel.sendStream(
      PayloadType.EncChallengeRequest,
      Buffer.from(JSON.stringify({ Challenge: seal(keys.encrypt, challenge).toString('base64') })),
    );
    const { Challenge } = parsePayload(ChallengeSchema, await answered);
    if (!open(keys.decrypt, Buffer.from(Challenge, 'base64')).equals(challenge))
      throw new Error('Encryption challenge failed.');
    const complete = {
      HandshakeTimeToComplete: Number(process.hrtime.bigint() - started),
      CustomerMessage: 'This session is encrypted using AWS KMS.',
    };
    channel.sendStream(PayloadType.HandshakeComplete, Buffer.from(JSON.stringify(complete)));
  }

  function run(session: ExecSessionInfo) {
    const argv = shlexSplit(session.command);
    child = deps.launch(session, argv);
    const chunk = faults.chunkBytes ?? 1024;
    child.stdout.on('data', (data: Buffer) => {
      for (let i = 0; i < data.length; i += chunk) {
        const piece = data.subarray(i, i + chunk);
        channel.sendStream(PayloadType.Output, keys ? seal(keys.encrypt, piece) : Buffer.from(piece));
      }
    });
    child.on('close', () => {
      const flushUntil = Date.now() + CLOSE_FLUSH_MS;
      const waitForAcks = setInterval(() => {
        if (channel.pendingCount === 0 || Date.now() > flushUntil || closed) {
          clearInterval(waitForAcks);
          closeChannel('');
        }
      }, 5);
    });
  }

  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return channel.receive(data);
    if (info || closed) return;
    let token: string | undefined;
    try {
      token = OpenDataChannelSchema.parse(JSON.parse(data.toString('utf8'))).TokenValue;
    } catch {
      token = undefined;
    }
    void (async () => {
      const session = token ? await deps.lookup(sessionId, token) : undefined;
      if (!session) return shutDown();
      info = session;
      if (faults.closeWithError) return closeChannel(faults.closeWithError);
      try {
        if (session.kmsKeyId) await handshake(session);
        run(session);
      } catch (error) {
        closeChannel(`----------ERROR-------\n${(error as Error).message}`);
      }
    })();
  });
  socket.on('close', shutDown);
  socket.on('error', shutDown);
}

/** Applies the reorder and duplicate faults to output messages only. */
function faultySender(send: (frame: Buffer) => void, faults: GatewayFaults): (frame: Buffer) => void {
  if (!faults.reorderOutput && !faults.duplicateOutput) return send;
  let held: Buffer | undefined;
  let releaseTimer: NodeJS.Timeout | undefined;
  return (frame) => {
    const isOutput =
      frame.subarray(4, 4 + MessageType.OutputStreamData.length).toString('ascii') ===
      MessageType.OutputStreamData;
    if (!isOutput) return send(frame);
    const times = faults.duplicateOutput ? 2 : 1;
    if (!faults.reorderOutput) {
      for (let i = 0; i < times; i++) send(frame);
      return;
    }
    if (!held) {
      held = frame;
      // A lone last frame must still go out.
      releaseTimer = setTimeout(() => {
        if (held) for (let i = 0; i < times; i++) send(held);
        held = undefined;
      }, 30);
      return;
    }
    clearTimeout(releaseTimer);
    for (let i = 0; i < times; i++) send(frame);
    for (let i = 0; i < times; i++) send(held);
    held = undefined;
  };
}
