// The sandbox's ECS agent: what runs and stops tasks on a real container instance.
//   - RunTask of a sidekick task definition: it runs the same sidekick program (bundled as for
//     the image) as a local process with the task's environment and its volume mapped to a
//     local directory, ships its output to the task's awslogs stream and reports its exit.
//   - StopTask (moto leaves the task DEACTIVATING): it sends SIGTERM to the task's local
//     processes and reports STOPPED when they have exited, or at once when none run here.

import { join } from 'node:path';
import { DescribeTasksCommand, ECSClient, KeyValuePair, ListTasksCommand, Task } from '@aws-sdk/client-ecs';
import { streamName, taskIdOf } from '../lambdas/shared/ecs-lookup';
import { SIDEKICK_CONTAINER } from '../lambdas/volumes/jobs';
import { bundleLambda } from '../lib/bundling';
import { SandboxRuntime } from './runtime';
import { TaskRuntime } from './task-runtime';
import { Poller, startPolling } from './poller';
import { SandboxStorage, SidekickVolume } from './volumes';

const POLL_MS = 200;

export interface EcsAgentOptions {
  readonly ecs: ECSClient;
  readonly tasks: TaskRuntime;
  readonly runtime: SandboxRuntime;
  /** Clusters whose StopTask calls it carries out. */
  readonly clusters: readonly string[];
  readonly volumes: ReadonlyMap<string, SidekickVolume>;
  readonly storage: SandboxStorage;
  readonly stateDir: string;
  /** AWS endpoint, region and credentials the sidekick program uses (moto). */
  readonly awsEnv: Record<string, string>;
}

export class SandboxEcsAgent {
  private readonly program: string;
  /** Every task ever launched: a task is run once, even while its exit is being reported. */
  private readonly launched = new Set<string>();
  private readonly stopping = new Set<string>();
  private poller: Poller | undefined;
  /** Test knob: leave new sidekick tasks unlaunched (a task that takes its time to start). */
  holdLaunches = false;

  constructor(private readonly options: EcsAgentOptions) {
    this.program = bundleLambda(
      join(__dirname, '..', 'lambdas', 'sidekick', 'main.ts'),
      {},
      join(options.stateDir, 'sidekick-program'),
    ).file;
  }

  start(): void {
    this.poller = startPolling('sandbox ECS agent', POLL_MS, () => this.poll());
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  private async poll(): Promise<void> {
    const families = new Map<string, string>();
    for (const v of this.options.volumes.values()) families.set(v.family, v.cluster);
    for (const [family, cluster] of this.holdLaunches ? [] : families) {
      const fresh = (await this.list(cluster, { family, desiredStatus: 'RUNNING' })).filter(
        (arn) => !this.launched.has(arn),
      );
      if (fresh.length === 0) continue;
      const described = await this.options.ecs.send(new DescribeTasksCommand({ cluster, tasks: fresh }));
      for (const task of described.tasks ?? []) await this.launch(cluster, task);
    }
    for (const cluster of this.options.clusters) await this.carryOutStops(cluster);
  }

  private async list(
    cluster: string,
    filter: { family?: string; desiredStatus: 'RUNNING' | 'STOPPED' },
  ): Promise<string[]> {
    try {
      return (await this.options.ecs.send(new ListTasksCommand({ cluster, ...filter }))).taskArns ?? [];
    } catch (error) {
      // No cluster yet (an unseeded sandbox): nothing runs on it.
      if ((error as Error).name === 'ClusterNotFoundException') return [];
      throw error;
    }
  }

  /** Tasks asked to stop that have not stopped yet. */
  private async carryOutStops(cluster: string): Promise<void> {
    const arns = (await this.list(cluster, { desiredStatus: 'STOPPED' })).filter(
      (arn) => !this.stopping.has(arn),
    );
    if (arns.length === 0) return;
    const described = await this.options.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
    for (const task of described.tasks ?? []) {
      if (!task.taskArn) continue;
      if (task.lastStatus === 'STOPPED') {
        this.stopping.add(task.taskArn);
        continue;
      }
      this.stopping.add(task.taskArn);
      const taskId = taskIdOf(task.taskArn);
      const reason = task.stoppedReason ?? 'Task stopped by user';
      if (this.options.tasks.runs(taskId)) {
        this.options.tasks.requestStop(taskId, reason);
      } else {
        const now = Date.now();
        await this.options.runtime.setTaskState({
          cluster,
          task: taskId,
          lastStatus: 'STOPPED',
          stopCode: 'UserInitiated',
          stoppedReason: reason,
          stoppedAt: now,
          executionStoppedAt: now,
          containers: (task.containers ?? []).map((c) => ({ name: c.name!, lastStatus: 'STOPPED' })),
        });
      }
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
    await this.options.tasks.start({
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
  }
}

function asEnv(pairs: readonly KeyValuePair[]): Record<string, string> {
  return Object.fromEntries(
    pairs.filter((p) => p.name && p.value !== undefined).map((p) => [p.name!, p.value!]),
  );
}
