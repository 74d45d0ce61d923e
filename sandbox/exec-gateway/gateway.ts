// The sandbox's exec gateway: the WebSocket endpoint that moto's ExecuteCommand hands out as
// the session's streamUrl. Each connection is an agent session (agent-session.ts); the token
// and the session's target come from moto, the KMS data key is decrypted by moto's KMS, and
// the command runs as a local process in the task's container (see task-runtime.ts).

import { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, IncomingMessage } from 'node:http';
import { AddressInfo } from 'node:net';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { WebSocketServer } from 'ws';
import { AgentSessionDeps, ExecSessionInfo, GatewayFaults, serveAgentSession } from './agent-session';

export interface ExecGateway {
  readonly url: string;
  /** Test knobs for the sessions that start from now on. */
  faults: GatewayFaults;
  close(): Promise<void>;
}

export interface ExecGatewayOptions {
  /** The AWS endpoint (moto) that issued the sessions. */
  readonly awsEndpoint: string;
  readonly region: string;
  readonly kms: KMSClient;
  readonly launch: (info: ExecSessionInfo, argv: string[]) => ChildProcessWithoutNullStreams;
}

export async function startExecGateway(options: ExecGatewayOptions): Promise<ExecGateway> {
  const server = createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  const wss = new WebSocketServer({ noServer: true });
  const gateway: ExecGateway = {
    url: '',
    faults: {},
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const deps: AgentSessionDeps = {
    lookup: (sessionId, token) => lookupSession(options, sessionId, token),
    launch: options.launch,
    decryptDataKey: async (ciphertext, context) => {
      const out = await options.kms.send(
        new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }),
      );
      return Buffer.from(out.Plaintext!);
    },
    faults: () => ({ ...gateway.faults }),
  };
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const m = /^\/v1\/data-channel\/([A-Za-z0-9_-]+)(\?|$)/.exec(req.url ?? '');
    if (!m) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => serveAgentSession(ws, m[1]!, deps));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(gateway, { url });
  // Tell moto where its ExecuteCommand sessions stream.
  const res = await fetch(`${options.awsEndpoint}/_sandbox/exec/gateway`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  });
  if (!res.ok) throw new Error(`moto did not take the exec gateway: ${res.status} ${await res.text()}`);
  return gateway;
}

async function lookupSession(
  options: ExecGatewayOptions,
  sessionId: string,
  token: string,
): Promise<ExecSessionInfo | undefined> {
  const res = await fetch(`${options.awsEndpoint}/_sandbox/exec/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, token }),
  });
  if (!res.ok) return undefined;
  return (await res.json()) as ExecSessionInfo;
}
