// ECS Exec on the sandbox: the round trip of `exec` through the API (SigV4, handler,
// ExecuteCommand, a KMS-encrypted data channel, a real pty in the container) over the
// command's own run time, median of 20; and the data channel's throughput for 1 MB of output.

import { ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { ExecResult } from '../lambdas/exec/contract';
import { OutputCollector, parseOutput, wrapArgv } from '../lambdas/exec/command';
import { runClientSession } from '../lambdas/exec/protocol/client-session';
import { createApiClient } from '../cli/api-client';
import { DEMO } from '../sandbox/demo';
import { startMoto } from '../sandbox/moto-server';
import { startSandbox } from '../sandbox/sandbox';
import { median, round } from './stats';

export const EXEC_RUNS = 20;
const SLEEP_MS = 100;
const MEGABYTE_RUNS = 5;

export interface ExecBench {
  readonly runs: number;
  /** `sleep 0.1`: round trip minus the 100 ms the command itself takes. */
  readonly overheadMedianMs: number;
  readonly overheadP90Ms: number;
  /** `true`: the whole round trip of a command that takes no time. */
  readonly trueRoundTripMedianMs: number;
  readonly megabyteMedianMs: number;
  readonly megabytesPerSecond: number;
  readonly kmsEncrypted: boolean;
}

export async function benchExec(): Promise<ExecBench> {
  const moto = await startMoto();
  const sandbox = await startSandbox({ awsEndpoint: moto.endpoint, seed: true, writeStateFile: false });
  try {
    const api = createApiClient({
      apiUrl: sandbox.apiUrl,
      region: sandbox.region,
      source: 'sandbox',
      credentialsFor: () => sandbox.identities.breakglass,
    });
    const exec = async (command: string[]) => {
      const started = performance.now();
      const result = await api.call<ExecResult>('exec', { service: 'web' }, {}, { command });
      if (result.exitCode !== 0) throw new Error(`bench command failed: ${JSON.stringify(result)}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await exec(['true']);
    const overheads: number[] = [];
    for (let i = 0; i < EXEC_RUNS; i++)
      overheads.push((await exec(['sleep', String(SLEEP_MS / 1000)])) - SLEEP_MS);
    const trues: number[] = [];
    for (let i = 0; i < EXEC_RUNS; i++) trues.push(await exec(['true']));

    const task = sandbox.seeded!.runningTasks[0]!;
    const megabyte: number[] = [];
    for (let i = 0; i < MEGABYTE_RUNS; i++) {
      const wrapped = wrapArgv([
        'python3',
        '-c',
        'import sys\nfor i in range(16384): sys.stdout.write("%063d\\n" % i)',
      ]);
      const started = performance.now();
      const out = await sandbox.clients.ecs.send(
        new ExecuteCommandCommand({
          cluster: DEMO.cluster,
          task,
          container: 'web',
          command: wrapped.command,
          interactive: true,
        }),
      );
      const collector = new OutputCollector(2 * 1024 * 1024, 2 * 1024 * 1024);
      await runClientSession({
        streamUrl: out.session!.streamUrl!,
        tokenValue: out.session!.tokenValue!,
        sessionId: out.session!.sessionId!,
        targetId: `ecs:${DEMO.cluster}_${task}_${task}-web`,
        onOutput: (c) => collector.add(c),
        timeoutMs: 60_000,
        kms: {
          async generateDataKey(keyId, context) {
            const key = await sandbox.clients.kms.send(
              new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64, EncryptionContext: context }),
            );
            return { ciphertext: key.CiphertextBlob!, plaintext: key.Plaintext! };
          },
        },
      });
      megabyte.push(performance.now() - started);
      if (parseOutput(collector, wrapped.nonce).output.length !== 1024 * 1024)
        throw new Error('1 MB run lost output');
    }
    const sorted = [...overheads].sort((a, b) => a - b);
    return {
      runs: EXEC_RUNS,
      overheadMedianMs: round(median(overheads)),
      overheadP90Ms: round(sorted[Math.floor(sorted.length * 0.9)]!),
      trueRoundTripMedianMs: round(median(trues)),
      megabyteMedianMs: round(median(megabyte)),
      megabytesPerSecond: round(1000 / median(megabyte), 2),
      kmsEncrypted: true,
    };
  } finally {
    await sandbox.stop();
    await moto.stop();
  }
}
