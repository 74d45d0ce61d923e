// Inputs of the backup, restore, operation and config routes, and of the internal routes the
// config-files Lambdas and the signal Lambda serve.

import { z } from 'zod/v3';
import { VOLUME_NAME } from '../../lib/config';
import { argv, SIGNALS } from '../exec/contract';
import { integerParam, serviceKey } from '../shared/validation';
import { BACKUP_ID } from './manifest';

const volume = z.string().regex(VOLUME_NAME, "must be a volume name from the config, e.g. 'data'");
/** Checked in full (segments, NUL, symlinks) by the core; here only its size. */
const relativePath = z.string().max(1024, 'must be at most 1024 characters');
const backupId = z.string().regex(BACKUP_ID, "must be a backup id such as '20261203T151500Z-1a2b3c'");

/** The same token with the same request returns the same operation. */
export const clientToken = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, "must be 8 to 64 letters, digits, '-' or '_' (a UUID works)");

export const OPERATION_ID = /^op-[0-9a-f]{24}$/;

/** Set only by runbooks (direct invocations): the execution, and a lease it holds. */
export const ExecutionArnSchema = z
  .string()
  .max(2048)
  .regex(/^arn:aws[a-z-]*:states:[^:]*:\d{12}:execution:/, 'must be an execution ARN');
/** A volume lease a runbook holds (takeVolumeLease). */
export const RunbookLeaseSchema = z.strictObject({
  pk: z.string().max(300),
  holder: z.string().max(2048),
  token: z.string().max(64),
  ttlMs: z.number().int().positive(),
});
export const runbookFields = {
  execution: ExecutionArnSchema.optional(),
  lease: RunbookLeaseSchema.optional(),
};

export const StartBackupSchema = z.strictObject({
  service: serviceKey,
  volume,
  path: relativePath.optional(),
  clientToken: clientToken.optional(),
  execution: runbookFields.execution,
});
export type StartBackupRequest = z.infer<typeof StartBackupSchema>;

export const StartRestoreSchema = z.strictObject({
  service: serviceKey,
  backupId,
  volume,
  path: relativePath.optional(),
  clientToken: clientToken.optional(),
  ...runbookFields,
});
export type StartRestoreRequest = z.infer<typeof StartRestoreSchema>;

export const ListBackupsSchema = z.strictObject({
  service: serviceKey,
  volume: volume.optional(),
  limit: integerParam(1, 100).optional(),
});

export const GetBackupSchema = z.strictObject({ service: serviceKey, backupId, volume: volume.optional() });

export const GetOperationSchema = z.strictObject({
  operationId: z
    .string()
    .regex(OPERATION_ID, "must be an operation id such as 'op-0123456789abcdef01234567'"),
});

const fileRef = { service: serviceKey, volume, path: relativePath };
const version = integerParam(1, 999_999_999);
const expectedVersion = integerParam(0, 999_999_999);

/** How the service picks up a written file: a signal to PID 1, or a rolling restart. */
export const RELOADS = [...SIGNALS, 'rolling'] as const;
export type Reload = (typeof RELOADS)[number];
const reload = z.enum(RELOADS, {
  errorMap: () => ({ message: `must be a signal name (${SIGNALS.join(', ')}) or 'rolling'` }),
});

const afterWrite = {
  reload: reload.optional(),
  /** One of the service's configured validators, run in its container before the reload. */
  validate: argv.optional(),
};

export const GetConfigSchema = z.strictObject({ ...fileRef, version: version.optional() });
export const PutConfigSchema = z.strictObject({
  ...fileRef,
  content: z.string({ invalid_type_error: 'must be the whole file as a string' }),
  expectedVersion,
  note: z.string().max(500).optional(),
  ...afterWrite,
});
export type PutConfigRequest = z.infer<typeof PutConfigSchema>;
export const RollbackConfigSchema = z.strictObject({ ...fileRef, version, expectedVersion, ...afterWrite });
export type RollbackConfigRequest = z.infer<typeof RollbackConfigSchema>;
export const ConfigVersionsSchema = z.strictObject({
  ...fileRef,
  limit: integerParam(1, 100).optional(),
  before: version.optional(),
});
export const ConfigDiffSchema = z.strictObject({ ...fileRef, from: version, to: version });

/** Internal: what the operate Lambda asks a config-files Lambda to write. */
export const WriteFileSchema = z.strictObject({
  ...fileRef,
  author: z.string().min(1).max(2048),
  expectedVersion,
  note: z.string().max(600).optional(),
  content: z.string().optional(),
  rollbackTo: version.optional(),
  remove: z.literal(true).optional(),
});
export type WriteFileRequest = z.infer<typeof WriteFileSchema>;

/** Internal: a configured validator to run in one of the service's tasks. */
export const ValidateConfigSchema = z.strictObject({ service: serviceKey, command: argv });
