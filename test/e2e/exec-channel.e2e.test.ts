// Our data-channel client against the sandbox's agent side, over a real WebSocket: sessions
// come from moto's ExecuteCommand, commands run on a real pty, KMS keys come from moto's KMS.

import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ExecuteCommandCommand, UpdateClusterCommand } from '@aws-sdk/client-ecs';
import { CreateKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { OutputCollector, parseOutput, wrapArgv } from '../../lambdas/exec/command';
import {
  ClientSessionOptions,
  ClientSessionResult,
  runClientSession,
} from '../../lambdas/exec/protocol/client-session';
import { createDemoService, DEMO, runServiceTask } from '../../sandbox/demo';
import { ExecGateway, startExecGateway } from '../../sandbox/exec-gateway/gateway';
import { startTestSandbox, TestSandbox } from '../support/sandbox';

const PTY_RUN = join(__dirname, '..', '..', 'sandbox', 'exec-gateway', 'pty_run.py');

let t: TestSandbox;
let gateway: ExecGateway;
let task: string;

beforeAll(async () => {
  t = await startTestSandbox();
  // The commands here are harmless and touch no PID 1, so they run straight on a pty.
  gateway = await startExecGateway({
    awsEndpoint: t.moto.endpoint,
    region: 'us-east-1',
    kms: t.sandbox.clients.kms,
    launch: (_info, argv) => spawn('python3', [PTY_RUN, ...argv]) as ChildProcessWithoutNullStreams,
  });
  // Without a KMS client: sessions are plain unless a test turns the cluster's key on.
  const { network, taskDefinition } = await createDemoService({
    ecs: t.seed.ecs,
    ec2: t.seed.ec2,
    logs: t.seed.logs,
  });
  task = await runServiceTask(t.seed.ecs, network, taskDefinition);
});
afterAll(async () => {
  await gateway?.close();
  await t?.stop();
});
beforeEach(() => {
  gateway.faults = {};
});

interface Run {
  readonly end: ClientSessionResult;
  readonly exitCode: number | null;
  readonly output: string;
  readonly raw: Buffer;
}

async function run(
  argv: string[],
  options: Partial<ClientSessionOptions> & { cluster?: string; kms?: boolean } = {},
): Promise<Run> {
  const wrapped = wrapArgv(argv);
  const out = await t.seed.ecs.send(
    new ExecuteCommandCommand({
      cluster: options.cluster ?? DEMO.cluster,
      task,
      container: 'web',
      command: wrapped.command,
      interactive: true,
    }),
  );
  const chunks: Buffer[] = [];
  const collector = new OutputCollector(4 * 1024 * 1024, 4 * 1024 * 1024);
  const end = await runClientSession({
    streamUrl: out.session!.streamUrl!,
    tokenValue: out.session!.tokenValue!,
    sessionId: out.session!.sessionId!,
    targetId: `ecs:${DEMO.cluster}_${task}_${task}-web`,
    onOutput: (c) => {
      chunks.push(c);
      collector.add(c);
    },
    timeoutMs: 20_000,
    kms: {
      async generateDataKey(keyId, context) {
        const key = await t.sandbox.clients.kms.send(
          new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64, EncryptionContext: context }),
        );
        return { ciphertext: key.CiphertextBlob!, plaintext: key.Plaintext! };
      },
    },
    ...options,
  });
  const parsed = parseOutput(collector, wrapped.nonce);
  return { end, exitCode: parsed.exitCode, output: parsed.output, raw: Buffer.concat(chunks) };
}

describe('ECS Exec data channel', () => {
  it.each([
    [['sh', '-c', 'echo fine'], 0, 'fine\n'],
    [['sh', '-c', 'echo oops >&2; exit 1'], 1, 'oops\n'],
    [['sh', '-c', 'kill -9 $$'], 137, 'Killed\n'],
  ])('returns the exit code and output of %j', async (argv, exitCode, output) => {
    const r = await run(argv);
    expect(r.end.ended).toBe('closed');
    expect(r.exitCode).toBe(exitCode);
    expect(r.output).toBe(output);
  });

  it("turns the pty's \\r\\n back into \\n and passes stdout and stderr merged, in order", async () => {
    const r = await run(['sh', '-c', 'echo one; echo two >&2; printf "three"']);
    expect(r.raw.toString()).toContain('one\r\ntwo\r\nthree');
    expect(r.output).toBe('one\ntwo\nthree');
  });

  it('delivers 1 MB of output split over many frames exactly', async () => {
    const r = await run([
      'python3',
      '-c',
      'import sys\nfor i in range(16384): sys.stdout.write("%063d\\n" % i)',
    ]);
    const expected = Array.from({ length: 16384 }, (_, i) => `${String(i).padStart(63, '0')}\n`).join('');
    expect(r.exitCode).toBe(0);
    expect(r.output.length).toBe(1024 * 1024);
    expect(r.output).toBe(expected);
  });

  it('keeps the output exact when frames arrive out of order and twice', async () => {
    gateway.faults = { reorderOutput: true, duplicateOutput: true, chunkBytes: 100 };
    const r = await run(['python3', '-c', 'print("\\n".join(str(i) for i in range(3000)))']);
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe(`${Array.from({ length: 3000 }, (_, i) => String(i)).join('\n')}\n`);
    expect(r.end.stats.duplicates).toBeGreaterThan(100);
    expect(r.end.stats.early).toBeGreaterThan(50);
  });

  it('resends input whose acknowledgement was lost, and the agent takes it once', async () => {
    gateway.faults = { loseFirstInputAck: true };
    const r = await run(['sh', '-c', 'sleep 1; echo done'], { terminal: { cols: 120, rows: 40 } });
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe('done\n');
    expect(r.end.stats.resent).toBeGreaterThanOrEqual(1);
  });

  it('runs a KMS-encrypted session: handshake, data key from KMS with the session context, AES-GCM both ways', async () => {
    const key = await t.sandbox.clients.kms.send(new CreateKeyCommand({ Description: 'exec test' }));
    await setExecKey(key.KeyMetadata!.Arn!);
    const r = await run(['sh', '-c', 'echo secret-output; exit 4']);
    expect(r.end.ended).toBe('closed');
    expect(r.end.message).toBeUndefined();
    expect(r.exitCode).toBe(4);
    expect(r.output).toBe('secret-output\n');
    await setExecKey(undefined);
  });

  it("fails a KMS session whose client cannot reach KMS, with the agent's error", async () => {
    const key = await t.sandbox.clients.kms.send(new CreateKeyCommand({ Description: 'exec test 2' }));
    await setExecKey(key.KeyMetadata!.Arn!);
    const r = await run(['true'], { kms: undefined as never });
    expect(r.end.ended).toBe('closed');
    expect(r.end.message).toMatch(/KMS encryption handshake/);
    await setExecKey(undefined);
  });

  it('stops a command that runs past the time limit with Ctrl-C and reports the timeout', async () => {
    const started = Date.now();
    const r = await run(['sleep', '30'], { timeoutMs: 1_000 });
    expect(r.end.ended).toBe('timeout');
    expect(r.exitCode).toBe(130);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports the agent closing the channel with an error', async () => {
    gateway.faults = {
      closeWithError:
        '----------ERROR-------\nUnable to start command: exec: "sh": executable file not found',
    };
    const r = await run(['true']);
    expect(r.end.ended).toBe('closed');
    expect(r.end.message).toMatch(/executable file not found/);
    expect(r.exitCode).toBeNull();
  });

  it('accepts a session token once: a second connection with it is dropped', async () => {
    const out = await t.seed.ecs.send(
      new ExecuteCommandCommand({
        cluster: DEMO.cluster,
        task,
        container: 'web',
        command: 'true',
        interactive: true,
      }),
    );
    const connect = () =>
      runClientSession({
        streamUrl: out.session!.streamUrl!,
        tokenValue: out.session!.tokenValue!,
        sessionId: out.session!.sessionId!,
        targetId: 'x',
        onOutput: () => undefined,
        timeoutMs: 5_000,
      });
    expect((await connect()).ended).toBe('closed');
    expect((await connect()).ended).toBe('dropped');
  });
});

async function setExecKey(kmsKeyId: string | undefined) {
  await t.seed.ecs.send(
    new UpdateClusterCommand({
      cluster: DEMO.cluster,
      configuration: { executeCommandConfiguration: { ...(kmsKeyId ? { kmsKeyId } : {}), logging: 'NONE' } },
    }),
  );
}
