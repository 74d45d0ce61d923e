// `sidekick backup`, `backups`, `restore`, `operation` and `config get|put|versions|diff|rollback`.

import { readFile } from 'node:fs/promises';
import { BackupSummary } from '../../lambdas/volumes/catalog';
import { ConfigFile, VersionInfo } from '../../lambdas/volumes/config-store';
import { OperationView } from '../../lambdas/volumes/operations';
import { ApiClient } from '../api-client';
import { CliError } from '../errors';
import { ago, table } from '../format';
import { Output } from '../output';

const POLL_MS = 1_000;

export async function backupCommand(
  api: ApiClient,
  out: Output,
  service: string,
  options: { volume: string; path?: string; clientToken?: string; wait?: boolean },
): Promise<number> {
  const body = {
    volume: options.volume,
    ...(options.path ? { path: options.path } : {}),
    ...(options.clientToken ? { clientToken: options.clientToken } : {}),
  };
  const op = await api.call<OperationView>('startBackup', { service }, {}, body);
  return options.wait ? follow(api, out, op) : started(out, op);
}

export async function restoreCommand(
  api: ApiClient,
  out: Output,
  service: string,
  backupId: string,
  options: { volume: string; path?: string; clientToken?: string; wait?: boolean },
): Promise<number> {
  const body = {
    volume: options.volume,
    ...(options.path ? { path: options.path } : {}),
    ...(options.clientToken ? { clientToken: options.clientToken } : {}),
  };
  const op = await api.call<OperationView>('startRestore', { service, backupId }, {}, body);
  return options.wait ? follow(api, out, op) : started(out, op);
}

export async function operationCommand(
  api: ApiClient,
  out: Output,
  id: string,
  options: { wait?: boolean },
): Promise<number> {
  const op = await api.call<OperationView>('getOperation', { operationId: id });
  if (options.wait) return follow(api, out, op);
  out.print(out.json ? op : describe(op));
  return op.status === 'FAILED' ? 1 : 0;
}

export async function backupsCommand(
  api: ApiClient,
  out: Output,
  service: string,
  options: { volume?: string; limit?: number },
) {
  const res = await api.call<{ backups: BackupSummary[] }>(
    'listBackups',
    { service },
    { volume: options.volume, limit: options.limit },
  );
  if (out.json) return out.print(res);
  out.print(
    table(
      ['BACKUP', 'VOLUME', 'PATH', 'COMPLETED', 'FILES', 'DATA', 'ARCHIVE', 'BY'],
      res.backups.map((b) => [
        b.backupId,
        b.volume,
        b.path || '/',
        ago(b.completedAt),
        String(b.files),
        bytes(b.fileBytes),
        bytes(b.archiveBytes),
        b.caller.split('/').pop() ?? b.caller,
      ]),
    ),
  );
}

export function started(out: Output, op: OperationView): number {
  const what =
    op.kind === 'restart' ? `${op.restart?.mode} restart of ${op.service}` : `backup ${op.backupId}`;
  out.print(
    out.json
      ? op
      : `${op.kind} ${op.id} started (${what}); follow it with: sidekick operation ${op.id} --wait`,
  );
  return 0;
}

/** Polls the operation, drawing progress on stderr, and exits 0 only when it succeeded. */
export async function follow(api: ApiClient, out: Output, first: OperationView): Promise<number> {
  let op = first;
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastLine = '';
  while (op.status === 'PENDING' || op.status === 'RUNNING') {
    const line = `${op.kind} ${op.id}: ${op.status.toLowerCase()} ${progressOf(op)}, ${Math.round((Date.now() - started) / 1000)}s`;
    if (tty) process.stderr.write(`\r${line.padEnd(lastLine.length)}`);
    else if (line.replace(/, \d+s$/, '') !== lastLine.replace(/, \d+s$/, ''))
      process.stderr.write(`${line}\n`);
    lastLine = line;
    await new Promise((r) => setTimeout(r, POLL_MS));
    op = await api.call<OperationView>('getOperation', { operationId: op.id });
  }
  if (tty) process.stderr.write('\n');
  out.print(out.json ? op : describe(op));
  return op.status === 'SUCCEEDED' ? 0 : 1;
}

function progressOf(op: OperationView): string {
  const r = op.restart;
  if (!r) return `${bytes(op.progress.bytes)}, ${op.progress.files} files`;
  const tasks = `${r.runningCount ?? '?'}/${r.desiredCount} running`;
  return r.mode === 'rolling'
    ? `deployment ${r.deploymentId ?? '?'} ${r.rolloutState ?? ''}, ${tasks}`
    : `stopped ${r.stopped.length} of ${r.stopped.length + r.remaining.length} tasks, ${tasks}`;
}

function describe(op: OperationView): string {
  if (op.kind === 'restart') return describeRestart(op);
  const head = `${op.kind} ${op.id} of ${op.service}/${op.volume ?? '-'}: ${op.status}`;
  if (op.status === 'FAILED') return `${head}: ${op.error ?? 'no reason given'}`;
  if (op.status === 'SUCCEEDED')
    return `${head} (${bytes(op.progress.bytes)}, ${op.progress.files} files; backup ${op.backupId})`;
  return `${head} (${bytes(op.progress.bytes)}, ${op.progress.files} files so far)`;
}

function describeRestart(op: OperationView): string {
  const head = `restart ${op.id} of ${op.service}: ${op.status} (${progressOf(op)})`;
  const failed = (op.restart?.failedTasks ?? []).map(
    (t) => `  task ${t.id}: ${t.cause}: ${t.hint}${t.nextStep ? ` Next: ${t.nextStep}` : ''}`,
  );
  const lines = [op.status === 'FAILED' ? `${head}: ${op.error ?? 'no reason given'}` : head, ...failed];
  if (op.status === 'SUCCEEDED') lines.push(`  ${op.service} is steady`);
  return lines.join('\n');
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

interface ConfigTarget {
  readonly service: string;
  readonly path: string;
  readonly volume: string;
}

const params = (t: ConfigTarget) => ({ service: t.service, volume: t.volume, path: t.path });

export async function configGetCommand(
  api: ApiClient,
  out: Output,
  t: ConfigTarget,
  options: { version?: number },
) {
  const file = await api.call<ConfigFile>('getConfig', params(t), { version: options.version });
  if (out.json) return out.print(file);
  process.stderr.write(
    `# ${t.service}/${t.volume}/${file.path} version ${file.version}${file.drifted ? ' (changed outside ecs-sidekick since)' : ''}\n`,
  );
  process.stdout.write(file.content);
}

export async function configPutCommand(
  api: ApiClient,
  out: Output,
  t: ConfigTarget,
  localFile: string,
  options: { expectedVersion?: number; reload?: string; validate?: string[]; note?: string },
) {
  const content = await readFile(localFile, 'utf8').catch((error: Error) => {
    throw new CliError(`cannot read ${localFile}: ${error.message}`, 2);
  });
  // Without --expected-version, write on top of the version read now (still compare-and-swap).
  const expectedVersion =
    options.expectedVersion ?? (await api.call<ConfigFile>('getConfig', params(t))).version;
  const body = {
    content,
    expectedVersion,
    ...(options.reload ? { reload: options.reload } : {}),
    ...(options.validate?.length ? { validate: options.validate } : {}),
    ...(options.note ? { note: options.note } : {}),
  };
  const written = await api.call<Record<string, unknown> & { version: number }>(
    'putConfig',
    params(t),
    {},
    body,
  );
  out.print(
    out.json
      ? written
      : `${t.service}/${t.volume}/${t.path}: version ${written.version} written${reloadNote(written)}`,
  );
}

export async function configRollbackCommand(
  api: ApiClient,
  out: Output,
  t: ConfigTarget,
  version: number,
  options: { expectedVersion?: number; reload?: string; validate?: string[] },
) {
  const expectedVersion =
    options.expectedVersion ?? (await api.call<ConfigFile>('getConfig', params(t))).version;
  const body = {
    version,
    expectedVersion,
    ...(options.reload ? { reload: options.reload } : {}),
    ...(options.validate?.length ? { validate: options.validate } : {}),
  };
  const written = await api.call<Record<string, unknown> & { version: number }>(
    'rollbackConfig',
    params(t),
    {},
    body,
  );
  out.print(
    out.json
      ? written
      : `${t.service}/${t.volume}/${t.path}: version ${written.version} restores version ${version}${reloadNote(written)}`,
  );
}

export async function configVersionsCommand(
  api: ApiClient,
  out: Output,
  t: ConfigTarget,
  options: { limit?: number },
) {
  const res = await api.call<{ versions: VersionInfo[] }>('configVersions', params(t), {
    limit: options.limit,
  });
  if (out.json) return out.print(res);
  out.print(
    table(
      ['VERSION', 'WHEN', 'AUTHOR', 'SIZE', 'SHA256', 'NOTE'],
      res.versions.map((v) => [
        String(v.version),
        v.time,
        v.author,
        String(v.size),
        v.sha256.slice(0, 12),
        v.note ?? '',
      ]),
    ),
  );
}

export async function configDiffCommand(
  api: ApiClient,
  out: Output,
  t: ConfigTarget,
  from: number,
  to: number,
) {
  const res = await api.call<{ diff: string }>('configDiff', params(t), { from, to });
  out.print(out.json ? res : res.diff.trimEnd());
}

function reloadNote(written: Record<string, unknown>): string {
  const reload = written.reload as
    { signal?: string; delivered?: number; tasks?: number; deploymentId?: string } | undefined;
  const validated = written.validation ? ', validated' : '';
  if (!reload) return validated;
  if (reload.signal)
    return `${validated}, SIG${reload.signal} delivered to ${reload.delivered} of ${reload.tasks} task(s)`;
  return `${validated}, rolling restart started (deployment ${reload.deploymentId ?? '?'})`;
}
