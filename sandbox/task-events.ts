// The sandbox's EventBridge for ECS task state changes: moto emits no events, so this watches
// the configured clusters for tasks that stopped and hands each one, once, to the operate
// Lambda's recordTaskStop route, as the stack's rule does with the event's detail.

import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { Poller, startPolling } from './poller';

const POLL_MS = 1_000;

export function forwardTaskStops(options: {
  readonly ecs: ECSClient;
  readonly clusters: readonly string[];
  readonly deliver: (detail: Record<string, unknown>) => Promise<unknown>;
}): Poller {
  const delivered = new Set<string>();
  return startPolling('sandbox task events', POLL_MS, async () => {
    for (const cluster of options.clusters) {
      const listed = await options.ecs
        .send(new ListTasksCommand({ cluster, desiredStatus: 'STOPPED' }))
        .catch(() => ({ taskArns: [] as string[] }));
      const fresh = (listed.taskArns ?? []).filter((arn) => !delivered.has(arn));
      for (let i = 0; i < fresh.length; i += 100) {
        const out = await options.ecs.send(
          new DescribeTasksCommand({ cluster, tasks: fresh.slice(i, i + 100) }),
        );
        for (const task of out.tasks ?? []) {
          if (task.lastStatus !== 'STOPPED' || !task.taskArn) continue;
          // The event's detail is the task as JSON: times as ISO strings.
          await options.deliver(JSON.parse(JSON.stringify(task)) as Record<string, unknown>);
          delivered.add(task.taskArn);
        }
      }
    }
  });
}
