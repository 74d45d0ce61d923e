// Makes RunTask real for sidekick task definitions: it watches moto for RUNNING tasks of the
// sidekick families, runs the same sidekick program (bundled as for the image) as a local
// process with the task's environment and its volume mapped to a local directory, ships its
// output to the task's awslogs stream, reports its exit code, and sends SIGTERM when the task
// is stopped through the API.

import { join } from 'node:path';
import { DescribeTasksCommand, ECSClient, KeyValuePair, ListTasksCommand, Task } from '@aws-sdk/client-ecs';
import { taskIdOf, streamName } from '../lambdas/shared/ecs-lookup';
import { SIDEKICK_CONTAINER } from '../lambdas/volumes/jobs';
import { bundleLambda } from '../lib/bundling';
import { SandboxRuntime } from './runtime';
import { TaskRuntime } from './task-runtime';
import { SandboxStorage, SidekickVolume } from './volumes';

const POLL_MS = 200;

export interface SidekickRunnerOptions {
  readonly ecs: ECSClient;
  readonly tasks: TaskRuntime;
  readonly runtime: SandboxRuntime;
  readonly volumes: ReadonlyMap<string, SidekickVolume>;
  readonly storage: SandboxStorage;
  readonly stateDir: string;
  /** AWS endpoint, region and credentials the program uses (moto). */
  readonly awsEnv: Record<string, string>;
}

export class SidekickRunner {
  private readonly program: string;
  private readonly running = new Map<string, { cluster: string; exited: Promise<unknown> }>();
  /** Every task ever launched: a task is run once, even while its exit is being reported. */
  private readonly launched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = Promise.resolve();

  constructor(private readonly options: SidekickRunnerOptions) {
    this.program = bundleLambda(
      join(__dirname, '..', 'lambdas', 'sidekick', 'main.ts'),
      {},
      join(options.stateDir, 'sidekick-program'),
    ).file;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling
        .then(() => this.poll())
        .catch((error: unknown) => {
          process.stderr.write(`sandbox sidekick runner: ${String(error)}\n`);
        });
    }, POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
  }

  /** Resolves when every sidekick task started so far has exited. */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.exited));
  }

  private async poll(): Promise<void> {
    const families = new Map<string, string>();
    for (const v of this.options.volumes.values()) families.set(v.family, v.cluster);
    const desired = new Set<string>();
    for (const [family, cluster] of families) {
      const list = await this.options.ecs.send(
        new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING' }),
      );
      const fresh = (list.taskArns ?? []).filter((arn) => !this.launched.has(arn));
      for (const arn of list.taskArns ?? []) desired.add(arn);
      if (fresh.length === 0) continue;
      const described = await this.options.ecs.send(new DescribeTasksCommand({ cluster, tasks: fresh }));
      for (const task of described.tasks ?? []) await this.launch(cluster, task);
    }
    // A task of ours that is no longer desired RUNNING was stopped through the API.
    for (const arn of this.running.keys()) {
      if (!desired.has(arn))
        await this.options.tasks.stopTask(taskIdOf(arn), 'SIGTERM').catch(() => undefined);
    }
  }

  private async launch(cluster: string, task: Task): Promise<void> {
    const volume = this.options.volumes.get(task.taskDefinitionArn ?? '');
    if (!volume || !task.taskArn) return;
    this.launched.add(task.taskArn);
    const taskId = taskIdOf(task.taskArn);
    const overrides =
      task.overrides?.containerOverrides?.find((o) => o.name === SIDEKICK_CONTAINER)?.environment ?? [];
    const env: Record<string, string> = {
      ...this.options.awsEnv,
      SIDEKICK_BUCKET: this.options.storage.bucket,
      SIDEKICK_TABLE: this.options.storage.table,
      ...asEnv(overrides),
      // The task mounts its volume at /mnt/volume; here the volume is a local directory.
      SIDEKICK_VOLUME_ROOT: volume.hostDir,
      SIDEKICK_TASK_ARN: task.taskArn,
    };
    await this.options.runtime.setTaskState({
      cluster,
      task: taskId,
      lastStatus: 'RUNNING',
      startedAt: Date.now(),
      containers: [{ name: SIDEKICK_CONTAINER, lastStatus: 'RUNNING' }],
    });
    const started = await this.options.tasks.start({
      cluster,
      taskId,
      container: SIDEKICK_CONTAINER,
      essential: true,
      isolate: false,
      argv: [process.execPath, this.program],
      env,
      logs: {
        logGroup: this.options.storage.logGroup,
        stream: streamName('sidekick', SIDEKICK_CONTAINER, taskId),
        container: SIDEKICK_CONTAINER,
      },
    });
    const entry = { cluster, exited: started.exited };
    this.running.set(task.taskArn, entry);
    void started.exited.finally(() => this.running.delete(task.taskArn!));
  }
}

function asEnv(pairs: readonly KeyValuePair[]): Record<string, string> {
  return Object.fromEntries(
    pairs.filter((p) => p.name && p.value !== undefined).map((p) => [p.name!, p.value!]),
  );
}
