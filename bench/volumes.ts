// Backup and restore of a mixed tree (1 GiB by default; BENCH_VOLUME_MB to change) by the
// sidekick program as a separate process, next to `tar -cz | sha256sum` and `tar -xz` on the
// same tree in the same run; the sidekick's peak RSS; and config write + read latency through
// the sandbox API. S3 is a local file-backed endpoint (s3-sink.ts), DynamoDB is moto's.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientConfig } from '../lambdas/shared/clients';
import { acquireLease, leaseKey } from '../lambdas/volumes/lease';
import { backupKeys, newBackupId } from '../lambdas/volumes/manifest';
import { createOperation } from '../lambdas/volumes/operations';
import { SidekickJob } from '../lambdas/volumes/jobs';
import { bundleLambda } from '../lib/bundling';
import { createApiClient } from '../cli/api-client';
import { startMoto } from '../sandbox/moto-server';
import { startSandbox } from '../sandbox/sandbox';
import { startS3Sink } from './s3-sink';
import { median, round } from './stats';

export const CONFIG_RUNS = 30;
const MiB = 1024 * 1024;

export interface VolumesBench {
  readonly treeMiB: number;
  readonly files: number;
  readonly backup: {
    sidekickS: number;
    tarS: number;
    sidekickMiBps: number;
    tarMiBps: number;
    ratio: number;
    peakRssMiB: number;
  };
  readonly restore: {
    sidekickS: number;
    tarS: number;
    sidekickMiBps: number;
    tarMiBps: number;
    ratio: number;
    peakRssMiB: number;
  };
  readonly config: { writeMedianMs: number; readMedianMs: number; writeThenReadMedianMs: number };
}

/** A tree like a service's data: 40% log-like text in one file, 30% incompressible media, 30% small JSON files. */
async function buildTree(root: string, totalMiB: number): Promise<number> {
  const line = (i: number) =>
    `2026-12-03T10:${String(i % 60).padStart(2, '0')}:00Z INFO order ${i} paid ${(i * 7919) % 10007} EUR by user ${(i * 104729) % 99991}\n`;
  let text = '';
  for (let i = 0; text.length < MiB; i++) text += line(i);
  const textBlock = Buffer.from(text.slice(0, MiB));
  const write = async (file: string, mib: number, block: () => Buffer) => {
    const handle = await open(file, 'w');
    for (let i = 0; i < mib; i++) await handle.write(block());
    await handle.close();
  };
  mkdirSync(join(root, 'logs'), { recursive: true });
  await write(join(root, 'logs', 'orders.log'), Math.round(totalMiB * 0.4), () => textBlock);
  mkdirSync(join(root, 'media'), { recursive: true });
  const media = Math.round(totalMiB * 0.3);
  for (let i = 0; i < 8; i++)
    await write(join(root, 'media', `image-${i}.bin`), Math.ceil(media / 8), () => randomBytes(MiB));
  let files = 9;
  const smallBytes = totalMiB * 0.3 * MiB;
  for (let written = 0; written < smallBytes; files++) {
    const dir = join(root, 'orders', String(files % 200));
    mkdirSync(dir, { recursive: true });
    const size = 4096 + ((files * 7919) % 60_000);
    writeFileSync(
      join(dir, `order-${files}.json`),
      JSON.stringify({ id: files, note: text.slice(files % 1000, (files % 1000) + size) }),
    );
    written += size;
  }
  return files;
}

function runProcess(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdoutTo?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tail = '';
    child.stdout.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve((performance.now() - started) / 1000)
        : reject(new Error(`${argv[0]} exited ${code}: ${tail}`)),
    );
  });
}

/** `tar -cz -C dir . | sha256sum`, two processes joined by a pipe. */
function tarCreateAndHash(dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tar = spawn('tar', ['-cz', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sum = spawn('sha256sum', [], { stdio: ['pipe', 'ignore', 'inherit'] });
    tar.stdout.pipe(sum.stdin);
    tar.on('error', reject);
    sum.on('exit', (code) =>
      code === 0
        ? resolve((performance.now() - started) / 1000)
        : reject(new Error(`sha256sum exited ${code}`)),
    );
  });
}

export async function benchVolumes(): Promise<VolumesBench> {
  const totalMiB = Number(process.env.BENCH_VOLUME_MB ?? 1024);
  const work = mkdtempSync(join(tmpdir(), 'sidekick-bench-volumes-'));
  const moto = await startMoto();
  const sink = await startS3Sink(join(work, 's3'));
  try {
    const volume = join(work, 'volume');
    const files = await buildTree(volume, totalMiB);
    const program = bundleLambda(
      join(__dirname, '..', 'lambdas', 'sidekick', 'main.ts'),
      {},
      join(work, 'program'),
    ).file;
    const ddb = new DynamoDBClient(
      clientConfig({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
    );
    const state = { ddb, table: 'bench-state' };
    await ddb.send(
      new CreateTableCommand({
        TableName: state.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const backupId = newBackupId(Date.now(), 'be7c40');

    const runSidekick = async (kind: 'backup' | 'restore', root: string) => {
      const now = Date.now();
      const operationId = `op-${randomBytes(12).toString('hex')}`;
      const lease = await acquireLease(
        state,
        leaseKey('web', kind === 'backup' ? 'data' : 'restore'),
        { operationId, kind, caller: 'bench' },
        now,
      );
      await createOperation(state, {
        id: operationId,
        kind,
        service: 'web',
        volume: 'data',
        path: '',
        backupId,
        status: 'PENDING',
        progress: { bytes: 0, files: 0 },
        caller: 'bench',
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        deadline: now + 3_600_000,
        lease,
      });
      const job: SidekickJob = {
        kind,
        operationId,
        service: 'web',
        volume: 'data',
        backupId,
        ...(kind === 'backup' ? { path: '' } : {}),
        caller: 'bench',
        deadline: now + 3_600_000,
        lease: { pk: lease.pk, holder: lease.holder, token: lease.token },
      };
      const rssFile = join(work, `${kind}.rss`);
      const seconds = await runProcess([process.execPath, '-r', join(__dirname, 'report-rss.cjs'), program], {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ENDPOINT_URL_S3: sink.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'x',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          SIDEKICK_JOB: JSON.stringify(job),
          SIDEKICK_BUCKET: 'bench',
          SIDEKICK_TABLE: state.table,
          SIDEKICK_VOLUME_ROOT: root,
          SIDEKICK_TASK_ARN: 'bench',
          BENCH_RSS_FILE: rssFile,
        },
      });
      return { seconds, peakRssMiB: round(Number(readFileSync(rssFile, 'utf8')) / 1024) };
    };

    const tarBackup = await tarCreateAndHash(volume);
    const backup = await runSidekick('backup', volume);
    const archive = sink.fileOf('bench', backupKeys('web', 'data', backupId).archive);

    const tarOut = join(work, 'tar-out');
    mkdirSync(tarOut);
    const tarRestore = await runProcess(['tar', '-xz', '-C', tarOut, '-f', archive]);
    rmSync(tarOut, { recursive: true, force: true });
    const restoreRoot = join(work, 'restored');
    mkdirSync(restoreRoot);
    const restore = await runSidekick('restore', restoreRoot);

    const mibps = (s: number) => round(totalMiB / s);
    return {
      treeMiB: totalMiB,
      files,
      backup: {
        sidekickS: round(backup.seconds, 2),
        tarS: round(tarBackup, 2),
        sidekickMiBps: mibps(backup.seconds),
        tarMiBps: mibps(tarBackup),
        ratio: round(tarBackup / backup.seconds, 2),
        peakRssMiB: backup.peakRssMiB,
      },
      restore: {
        sidekickS: round(restore.seconds, 2),
        tarS: round(tarRestore, 2),
        sidekickMiBps: mibps(restore.seconds),
        tarMiBps: mibps(tarRestore),
        ratio: round(tarRestore / restore.seconds, 2),
        peakRssMiB: restore.peakRssMiB,
      },
      config: await benchConfig(),
    };
  } finally {
    await sink.close();
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** PUT then GET of a 4 KiB config file through the sandbox API (SigV4, handler, files Lambda). */
async function benchConfig(): Promise<VolumesBench['config']> {
  const moto = await startMoto();
  const sandbox = await startSandbox({ awsEndpoint: moto.endpoint, seed: false, writeStateFile: false });
  try {
    const api = (tier: 'read' | 'operate') =>
      createApiClient({
        apiUrl: sandbox.apiUrl,
        region: sandbox.region,
        source: 'sandbox',
        credentialsFor: () => sandbox.identities[tier],
      });
    const file = { service: 'web', volume: 'config', path: 'bench.conf' };
    const writes: number[] = [];
    const reads: number[] = [];
    let version = 0;
    for (let i = 0; i < CONFIG_RUNS + 3; i++) {
      const content = `run=${i}\n${'x'.repeat(4090)}\n`;
      const t0 = performance.now();
      version = (
        await api('operate').call<{ version: number }>(
          'putConfig',
          file,
          {},
          { content, expectedVersion: version },
        )
      ).version;
      const t1 = performance.now();
      await api('read').call('getConfig', file);
      const t2 = performance.now();
      if (i >= 3) {
        writes.push(t1 - t0);
        reads.push(t2 - t1);
      }
    }
    return {
      writeMedianMs: round(median(writes)),
      readMedianMs: round(median(reads)),
      writeThenReadMedianMs: round(median(writes.map((w, i) => w + reads[i]!))),
    };
  } finally {
    await sandbox.stop();
    await moto.stop();
  }
}
