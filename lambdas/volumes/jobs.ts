// Starts a backup or restore: the volume's lease is taken, an operation is recorded, and a
// sidekick task is run from the volume's pinned task definition in the service's own subnets
// and security groups (they already reach its file system). The sidekick program does the
// work and finishes the operation; reconcile.ts catches a task that dies or overstays.

import { randomBytes } from 'node:crypto';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { z } from 'zod/v3';
import { ServiceTarget, VolumeTarget } from '../../lib/config';
import { describeService } from '../shared/ecs-lookup';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../shared/errors';
import { Targets } from '../shared/targets';
import { StorageDeps } from './backup';
import { acquireLease, leaseKey, LeaseLost, releaseLease, renewLease, StateTable } from './lease';
import { newBackupId } from './manifest';
import {
  claimClientToken,
  createOperation,
  forgetClientToken,
  getOperation,
  Operation,
  OperationView,
  operationView,
  requestHash,
  updateOperation,
} from './operations';
import { readManifest, RestoreRefused } from './restore';
import { requireSafePath } from './safe-path';

/** The container name of every sidekick task definition. */
export const SIDEKICK_CONTAINER = 'sidekick';
export const DEFAULT_TIME_LIMIT_MS = 120 * 60_000;

/** What a sidekick task is told to do, in its SIDEKICK_JOB environment variable. */
export const SidekickJobSchema = z.strictObject({
  kind: z.enum(['backup', 'restore']),
  operationId: z.string(),
  service: z.string(),
  volume: z.string(),
  backupId: z.string(),
  /** backup: what to back up ('' = all). restore: what to restore (absent = all the backup holds). */
  path: z.string().optional(),
  caller: z.string(),
  deadline: z.number(),
  lease: z.strictObject({
    pk: z.string(),
    holder: z.string(),
    token: z.string(),
    /** Renewed for this long (default 2 minutes). */
    ttlMs: z.number().optional(),
    /** Held by a runbook: the sidekick renews it but leaves releasing it to the runbook. */
    keep: z.boolean().optional(),
  }),
});
export type SidekickJob = z.infer<typeof SidekickJobSchema>;

export interface JobDeps {
  readonly ecs: ECSClient;
  readonly state: StateTable;
  readonly storage: StorageDeps;
  readonly targets: Targets;
  readonly now: () => number;
  readonly timeLimitMs: number;
}

export interface JobRequest {
  readonly kind: 'backup' | 'restore';
  readonly service: string;
  readonly volume: string;
  readonly path?: string;
  readonly backupId?: string;
  readonly clientToken?: string;
  /** A lease a runbook already holds on the volume, used instead of taking one. */
  readonly lease?: RunbookLease;
  /** The Step Functions execution that asks (its abort stops the task). */
  readonly execution?: string;
}

export interface RunbookLease {
  readonly pk: string;
  readonly holder: string;
  readonly token: string;
  readonly ttlMs: number;
}

export function sidekickVolume(
  target: ServiceTarget,
  volume: string,
): VolumeTarget & { sidekickTaskDefinition: string } {
  const vol = target.volumes?.[volume];
  if (!vol) {
    const names = Object.keys(target.volumes ?? {}).join(', ') || '(none)';
    throw new ValidationError(
      'volume',
      `'${volume}' is not a volume of ${target.name} (configured: ${names})`,
    );
  }
  if (!vol.sidekickTaskDefinition) {
    throw new ValidationError(
      'volume',
      `'${volume}' of ${target.name} has no sidekick task definition; deploy the stack with it in the config`,
    );
  }
  return { ...vol, sidekickTaskDefinition: vol.sidekickTaskDefinition };
}

export async function startJob(deps: JobDeps, request: JobRequest, caller: string): Promise<OperationView> {
  const target = deps.targets.get(request.service);
  const volume = sidekickVolume(target, request.volume);
  const path =
    request.path === undefined || request.path === '' ? undefined : requireSafePath('path', request.path);
  if (request.kind === 'restore')
    await checkRestorable(deps, target, request.volume, request.backupId ?? '', path);

  const now = deps.now();
  const operationId = `op-${randomBytes(12).toString('hex')}`;
  if (request.clientToken) {
    const hash = requestHash({ ...request, path, clientToken: undefined });
    const { existing } = await claimClientToken(deps.state, request.clientToken, hash, operationId, now);
    if (existing) return operationView(await getOperation(deps.state, existing));
  }
  let lease: Operation['lease'] & object;
  try {
    lease = request.lease
      ? await useRunbookLease(deps, request.lease, leaseKey(target.name, request.volume), now)
      : await acquireLease(
          deps.state,
          leaseKey(target.name, request.volume),
          { operationId, kind: request.kind, caller },
          now,
        );
  } catch (error) {
    if (request.clientToken) await forgetClientToken(deps.state, request.clientToken);
    throw error;
  }
  const backupId = request.backupId ?? newBackupId(now, randomBytes(3).toString('hex'));
  const op: Operation = {
    id: operationId,
    kind: request.kind,
    service: target.name,
    volume: request.volume,
    path: path ?? '',
    backupId,
    status: 'PENDING',
    progress: { bytes: 0, files: 0 },
    caller,
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    deadline: now + deps.timeLimitMs,
    lease: {
      pk: lease.pk,
      holder: lease.holder,
      token: lease.token,
      ...(lease.keep ? { keep: true, ttlMs: lease.ttlMs } : {}),
    },
    ...(request.execution ? { execution: request.execution } : {}),
  };
  await createOperation(deps.state, op);
  const job: SidekickJob = {
    kind: request.kind,
    operationId,
    service: target.name,
    volume: request.volume,
    backupId,
    ...(request.kind === 'backup' ? { path: path ?? '' } : path !== undefined ? { path } : {}),
    caller,
    deadline: op.deadline,
    lease: op.lease!,
  };
  try {
    const taskArn = await runSidekickTask(deps.ecs, target, volume.sidekickTaskDefinition, job);
    await updateOperation(deps.state, operationId, { taskArn }, deps.now());
    return operationView({ ...op, taskArn });
  } catch (error) {
    const message = `the sidekick task could not be started: ${(error as Error).message}`;
    await updateOperation(deps.state, operationId, { status: 'FAILED', error: message }, deps.now());
    if (!lease.keep) await releaseLease(deps.state, lease);
    throw error instanceof UpstreamError ? error : new UpstreamError(message, { cause: error });
  }
}

/** The runbook's lease, if it is for this volume and still held (renewing it proves both). */
async function useRunbookLease(deps: JobDeps, lease: RunbookLease, key: string, now: number) {
  if (lease.pk !== key) throw new ValidationError('lease', `is a lease on ${lease.pk}, not on ${key}`);
  try {
    await renewLease(deps.state, lease, now, lease.ttlMs);
  } catch (error) {
    if (error instanceof LeaseLost) throw new ConflictError(error.message);
    throw error;
  }
  return { ...lease, keep: true as const };
}

export async function checkRestorable(
  deps: JobDeps,
  target: ServiceTarget,
  volume: string,
  backupId: string,
  path: string | undefined,
) {
  let manifest;
  try {
    manifest = await readManifest(deps.storage, target.name, volume, backupId);
  } catch (error) {
    if (error instanceof RestoreRefused) {
      throw new NotFoundError(
        `backup ${backupId} of ${target.name}/${volume} was not found, or is incomplete (no manifest)`,
      );
    }
    throw error;
  }
  if (manifest.volume !== volume)
    throw new ValidationError('volume', `backup ${backupId} is of volume ${manifest.volume}`);
  if (
    path !== undefined &&
    manifest.path &&
    path !== manifest.path &&
    !path.startsWith(`${manifest.path}/`)
  ) {
    throw new ValidationError('path', `'${path}' is not inside the backed-up path '${manifest.path}'`);
  }
}

/** One sidekick task, in the service's own network placement. */
async function runSidekickTask(
  ecs: ECSClient,
  target: ServiceTarget,
  taskDefinition: string,
  job: SidekickJob,
): Promise<string> {
  const service = await describeService(ecs, target);
  const network = service.networkConfiguration?.awsvpcConfiguration;
  if (!network?.subnets?.length) {
    throw new ConflictError(
      `service ${target.name} has no awsvpc network configuration; sidekick tasks run in the service's subnets`,
    );
  }
  const placement = service.capacityProviderStrategy?.length
    ? { capacityProviderStrategy: service.capacityProviderStrategy }
    : { launchType: service.launchType ?? 'FARGATE' };
  const out = await ecs.send(
    new RunTaskCommand({
      cluster: target.cluster,
      taskDefinition,
      count: 1,
      ...placement,
      ...(service.platformVersion && service.launchType === 'FARGATE'
        ? { platformVersion: service.platformVersion }
        : {}),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: network.subnets,
          securityGroups: network.securityGroups,
          assignPublicIp: network.assignPublicIp,
        },
      },
      overrides: {
        containerOverrides: [
          { name: SIDEKICK_CONTAINER, environment: [{ name: 'SIDEKICK_JOB', value: JSON.stringify(job) }] },
        ],
      },
      startedBy: job.operationId,
      clientToken: job.operationId,
    }),
  );
  const taskArn = out.tasks?.[0]?.taskArn;
  if (!taskArn) {
    const failure = out.failures?.[0];
    throw new UpstreamError(
      `ECS did not start the sidekick task: ${failure?.reason ?? 'no reason given'}${failure?.detail ? ` (${failure.detail})` : ''}`,
    );
  }
  return taskArn;
}
