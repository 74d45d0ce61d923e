// Entry of the sidekick task (and of the sandbox's local task runner): reads its job from
// SIDEKICK_JOB, runs it, and exits 0 when the operation succeeded, 1 when it failed, 143 when
// ECS stopped it.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, s3Config } from '../shared/clients';
import { createLogger } from '../shared/logger';
import { SidekickJobSchema } from '../volumes/jobs';
import { runJob } from './run-job';

async function taskArnOf(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.SIDEKICK_TASK_ARN) return env.SIDEKICK_TASK_ARN;
  const metadata = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!metadata) return 'unknown';
  const response = await fetch(`${metadata}/task`);
  const task = (await response.json()) as { TaskARN?: string };
  return task.TaskARN ?? 'unknown';
}

async function main(): Promise<number> {
  const env = process.env;
  const log = createLogger({ program: 'ecs-sidekick' });
  const parsed = SidekickJobSchema.safeParse(JSON.parse(env.SIDEKICK_JOB ?? 'null'));
  const { SIDEKICK_BUCKET: bucket, SIDEKICK_TABLE: table, SIDEKICK_VOLUME_ROOT: volumeRoot } = env;
  if (!parsed.success || !bucket || !table || !volumeRoot) {
    log.error('SIDEKICK_JOB, SIDEKICK_BUCKET, SIDEKICK_TABLE and SIDEKICK_VOLUME_ROOT must be set', {
      job: parsed.success ? 'ok' : parsed.error.issues[0]?.message,
    });
    return 2;
  }
  const config = clientConfig();
  const stop = new AbortController();
  let stoppedBySignal = false;
  process.once('SIGTERM', () => {
    stoppedBySignal = true;
    stop.abort('stopped by ECS (SIGTERM)');
  });
  const outcome = await runJob(
    {
      state: { ddb: new DynamoDBClient(config), table },
      storage: {
        s3: new S3Client(s3Config()),
        bucket,
        ...(env.SIDEKICK_BUCKET_OWNER ? { bucketOwner: env.SIDEKICK_BUCKET_OWNER } : {}),
        now: Date.now,
      },
      volumeRoot,
      taskArn: await taskArnOf(env),
      now: Date.now,
      log,
    },
    parsed.data,
    stop.signal,
  );
  if (stoppedBySignal) return 143;
  return outcome.status === 'FAILED' ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
