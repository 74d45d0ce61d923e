// Where backups and operation state live: the stack sets these next to the grants.

export interface StorageSettings {
  readonly bucket: string;
  readonly table: string;
  /** The account that must own the bucket (every S3 call says so). */
  readonly bucketOwner?: string;
  readonly timeLimitMs: number;
}

export function storageSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): StorageSettings {
  const bucket = env.SIDEKICK_BUCKET;
  const table = env.SIDEKICK_TABLE;
  if (!bucket || !table) throw new Error('SIDEKICK_BUCKET and SIDEKICK_TABLE must be set');
  const minutes = Number(env.SIDEKICK_TIME_LIMIT_MINUTES ?? '120');
  return {
    bucket,
    table,
    ...(env.SIDEKICK_BUCKET_OWNER ? { bucketOwner: env.SIDEKICK_BUCKET_OWNER } : {}),
    timeLimitMs: minutes * 60_000,
  };
}
