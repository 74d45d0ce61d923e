// The sidekick program's core: one backup or restore for one operation. It marks the
// operation RUNNING, keeps the volume lease alive, reports progress, checks the lease right
// before it commits, and always finishes the operation and releases the lease, whether the
// job succeeds, fails, passes its time limit or is stopped by ECS.

import { Logger } from '../shared/logger';
import { runBackup, StorageDeps } from '../volumes/backup';
import { LeaseLost, renewLease, releaseLease, StateTable } from '../volumes/lease';
import { updateOperation } from '../volumes/operations';
import { runRestore } from '../volumes/restore';
import { recoverInterruptedSwaps } from '../volumes/swap';
import { SidekickJob } from '../volumes/jobs';

export interface SidekickDeps {
  readonly state: StateTable;
  readonly storage: StorageDeps;
  /** Where the task mounts the volume. */
  readonly volumeRoot: string;
  readonly taskArn: string;
  readonly now: () => number;
  readonly log: Logger;
  readonly heartbeatMs?: number;
  readonly progressMs?: number;
}

export interface JobOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  readonly error?: string;
  readonly result?: Record<string, unknown>;
}

const HEARTBEAT_MS = 30_000;
const PROGRESS_MS = 2_000;

/** Runs the job; `stop` aborts it (SIGTERM). Never throws: the outcome says what happened. */
export async function runJob(deps: SidekickDeps, job: SidekickJob, stop: AbortSignal): Promise<JobOutcome> {
  const log = deps.log.child({
    operationId: job.operationId,
    kind: job.kind,
    service: job.service,
    volume: job.volume,
  });
  const started = await updateOperation(
    deps.state,
    job.operationId,
    { status: 'RUNNING', taskArn: deps.taskArn },
    deps.now(),
  );
  if (!started) {
    log.warn('operation already finished; nothing to do');
    return { status: 'SKIPPED' };
  }
  const abort = new AbortController();
  const onStop = () => abort.abort(new Error(String(stop.reason ?? 'stopped')));
  stop.addEventListener('abort', onStop);
  const limit = setTimeout(
    () => abort.abort(new Error(`passed its time limit (${new Date(job.deadline).toISOString()})`)),
    Math.max(0, job.deadline - deps.now()),
  );
  const heartbeat = setInterval(() => {
    renewLease(deps.state, job.lease, deps.now(), job.lease.ttlMs).catch((error: unknown) => {
      if (error instanceof LeaseLost) abort.abort(error);
      else log.warn('lease renewal failed; will retry', { error: String(error) });
    });
  }, deps.heartbeatMs ?? HEARTBEAT_MS);
  let progress = { bytes: 0, files: 0 };
  let reported = progress;
  const reporter = setInterval(() => {
    if (progress === reported) return;
    reported = progress;
    updateOperation(deps.state, job.operationId, { progress }, deps.now()).catch((error: unknown) =>
      log.warn('progress update failed', { error: String(error) }),
    );
  }, deps.progressMs ?? PROGRESS_MS);

  const commitCheck = async () => {
    if (abort.signal.aborted) throw abort.signal.reason;
    await renewLease(deps.state, job.lease, deps.now(), job.lease.ttlMs);
  };
  const onProgress = (p: { bytes: number; files: number }) => {
    progress = p;
  };
  const aborted = new Promise<never>((_, reject) => {
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);

  let outcome: JobOutcome;
  try {
    const work = (async () => {
      const recovered = await recoverInterruptedSwaps(deps.volumeRoot);
      if (recovered) log.warn('put back contents from an interrupted restore', { recovered });
      return job.kind === 'backup'
        ? backup(deps, job, onProgress, commitCheck)
        : restore(deps, job, onProgress, commitCheck);
    })();
    work.catch(() => undefined);
    const result = await Promise.race([work, aborted]);
    outcome = { status: 'SUCCEEDED', result };
  } catch (error) {
    outcome = { status: 'FAILED', error: (error as Error).message };
  } finally {
    clearTimeout(limit);
    clearInterval(heartbeat);
    clearInterval(reporter);
    stop.removeEventListener('abort', onStop);
  }
  const finished = await updateOperation(
    deps.state,
    job.operationId,
    {
      status: outcome.status as 'SUCCEEDED' | 'FAILED',
      progress,
      ...(outcome.result ? { result: outcome.result } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    },
    deps.now(),
  );
  // A runbook's lease stays with the runbook (renewed once more); any other is released.
  if (job.lease.keep)
    await renewLease(deps.state, job.lease, deps.now(), job.lease.ttlMs).catch(() => undefined);
  else await releaseLease(deps.state, job.lease);
  log[outcome.status === 'SUCCEEDED' ? 'info' : 'error'](`${job.kind} ${outcome.status.toLowerCase()}`, {
    ...(outcome.error ? { error: outcome.error } : {}),
    recorded: finished,
  });
  return outcome;
}

async function backup(
  deps: SidekickDeps,
  job: SidekickJob,
  onProgress: (p: { bytes: number; files: number }) => void,
  commitCheck: () => Promise<void>,
) {
  const { manifest } = await runBackup(deps.storage, {
    service: job.service,
    volume: job.volume,
    backupId: job.backupId,
    path: job.path ?? '',
    volumeRoot: deps.volumeRoot,
    operationId: job.operationId,
    caller: job.caller,
    task: deps.taskArn,
    onProgress,
    commitCheck,
  });
  return {
    backupId: manifest.backupId,
    archiveBytes: manifest.archive.bytes,
    archiveSha256: manifest.archive.sha256,
    files: manifest.counts.files,
    fileBytes: manifest.files.fileBytes,
    skipped: manifest.skipped.length,
  };
}

async function restore(
  deps: SidekickDeps,
  job: SidekickJob,
  onProgress: (p: { bytes: number; files: number }) => void,
  commitCheck: () => Promise<void>,
) {
  const result = await runRestore(deps.storage, {
    service: job.service,
    volume: job.volume,
    backupId: job.backupId,
    ...(job.path !== undefined ? { path: job.path } : {}),
    volumeRoot: deps.volumeRoot,
    operationId: job.operationId,
    onProgress,
    commitCheck,
  });
  return { ...result };
}
