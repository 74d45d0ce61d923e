// The sandbox's ECS service scheduler for the demo service: what ECS does for a service and
// moto does not.
//   - A deployment in progress (UpdateService with forceNewDeployment): it starts tasks of the
//     new deployment one at a time up to the desired count, then stops the old ones, then marks
//     the rollout COMPLETED and says the service reached a steady state.
//   - Otherwise it keeps the desired count: a stopped task is replaced, a scale-down stops
//     the oldest tasks, a scale-up starts new ones.
// Each task it starts runs as local containers (launch), like the seeded ones. `failNewTasks`
// makes new tasks fail to start (an image that cannot be pulled), for tests of restarts that
// never become steady.

import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  Service,
  StopTaskCommand,
  Task,
} from '@aws-sdk/client-ecs';
import { taskIdOf } from '../lambdas/shared/ecs-lookup';
import { SandboxRuntime } from './runtime';
import { Poller, startPolling } from './poller';

const TICK_MS = 250;
/** After a task failed to start, the scheduler waits this long before it tries again (ECS backs off too). */
const FAILED_START_BACKOFF_MS = 1_000;

export interface ServiceSchedulerOptions {
  readonly ecs: ECSClient;
  readonly runtime: SandboxRuntime;
  readonly cluster: string;
  readonly service: string;
  /** Starts the containers of a task that RunTask has just created. */
  readonly launch: (taskId: string) => Promise<void>;
}

export class SandboxServiceScheduler {
  /** When set, new tasks fail to start with this reason. */
  failNewTasks: string | undefined;
  private poller: Poller | undefined;
  private backoffUntil = 0;

  constructor(private readonly options: ServiceSchedulerOptions) {}

  start(): void {
    this.poller = startPolling('sandbox service scheduler', TICK_MS, () => this.tick());
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  private async tick(): Promise<void> {
    const { ecs, cluster } = this.options;
    const service = (
      await ecs.send(new DescribeServicesCommand({ cluster, services: [this.options.service] }))
    ).services?.[0];
    const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
    if (!service || !primary?.id || service.status !== 'ACTIVE') return;
    const tasks = await this.runningTasks();
    const desired = service.desiredCount ?? 0;

    if (primary.rolloutState === 'IN_PROGRESS') {
      const fresh = tasks.filter((t) => t.startedBy === primary.id);
      const old = tasks.filter((t) => t.startedBy !== primary.id);
      if (fresh.length < desired) await this.startTask(service, primary.id, primary.taskDefinition);
      else if (old.length > 0)
        await this.stopTasks(old, `Scaling activity initiated by (deployment ${primary.id})`);
      else await this.completeRollout(primary.id, tasks.length);
    } else if (tasks.length < desired) {
      await this.startTask(service, primary.id, primary.taskDefinition);
    } else if (tasks.length > desired) {
      const oldest = [...tasks].sort((a, b) => time(a.startedAt) - time(b.startedAt));
      await this.stopTasks(
        oldest.slice(0, tasks.length - desired),
        'Scaling activity initiated by (service)',
      );
    }
    await this.options.runtime.setServiceState({
      cluster,
      service: this.options.service,
      runningCount: (await this.runningTasks()).length,
      pendingCount: 0,
    });
  }

  /** Tasks the service has not asked to stop, that have not failed. */
  private async runningTasks(): Promise<Task[]> {
    const { ecs, cluster } = this.options;
    const arns =
      (
        await ecs.send(
          new ListTasksCommand({ cluster, serviceName: this.options.service, desiredStatus: 'RUNNING' }),
        )
      ).taskArns ?? [];
    if (arns.length === 0) return [];
    const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
    return (described.tasks ?? []).filter((t) => t.lastStatus !== 'STOPPED');
  }

  private async startTask(service: Service, deploymentId: string, taskDefinition?: string): Promise<void> {
    if (Date.now() < this.backoffUntil || !taskDefinition) return;
    const network = service.networkConfiguration?.awsvpcConfiguration;
    const out = await this.options.ecs.send(
      new RunTaskCommand({
        cluster: this.options.cluster,
        taskDefinition,
        launchType: 'FARGATE',
        platformVersion: '1.4.0',
        group: `service:${this.options.service}`,
        startedBy: deploymentId,
        enableExecuteCommand: service.enableExecuteCommand ?? false,
        ...(network ? { networkConfiguration: { awsvpcConfiguration: network } } : {}),
      }),
    );
    const task = taskIdOf(out.tasks?.[0]?.taskArn);
    const now = Date.now();
    await this.say(`has started 1 tasks: (task ${task}).`);
    if (this.failNewTasks) {
      this.backoffUntil = now + FAILED_START_BACKOFF_MS;
      await this.options.runtime.setTaskState({
        cluster: this.options.cluster,
        task,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'TaskFailedToStart',
        stoppedReason: this.failNewTasks,
        startedAt: null,
        stoppingAt: now,
        stoppedAt: now,
        executionStoppedAt: now,
        containers: (out.tasks?.[0]?.containers ?? []).map((c) => ({
          name: c.name!,
          lastStatus: 'STOPPED',
          reason: this.failNewTasks,
        })),
      });
      return;
    }
    await this.options.launch(task);
    await this.options.runtime.setTaskState({
      cluster: this.options.cluster,
      task,
      lastStatus: 'RUNNING',
      createdAt: now,
      startedAt: now,
      healthStatus: 'HEALTHY',
    });
  }

  private async stopTasks(tasks: readonly Task[], reason: string): Promise<void> {
    for (const task of tasks) {
      await this.options.ecs.send(
        new StopTaskCommand({ cluster: this.options.cluster, task: task.taskArn, reason }),
      );
    }
    await this.say(
      `has stopped ${tasks.length} running tasks: ${tasks.map((t) => `(task ${taskIdOf(t.taskArn)})`).join(' ')}.`,
    );
  }

  private async completeRollout(deploymentId: string, running: number): Promise<void> {
    await this.options.runtime.setServiceState({
      cluster: this.options.cluster,
      service: this.options.service,
      runningCount: running,
      rolloutState: 'COMPLETED',
      rolloutStateReason: `ECS deployment ${deploymentId} completed.`,
      retireOldDeployments: true,
    });
    await this.say(`deployment ${deploymentId} deployment completed.`);
    await this.say('has reached a steady state.');
  }

  private say(message: string): Promise<void> {
    return this.options.runtime.setServiceState({
      cluster: this.options.cluster,
      service: this.options.service,
      event: `(service ${this.options.service}) ${message}`,
      eventAt: Date.now(),
    });
  }
}

function time(date: Date | undefined): number {
  return date ? date.getTime() : 0;
}
