// `sidekick services` and `sidekick status <service>`

import { ServiceDetail, ServiceSummary } from '../../lambdas/services/contract';
import { ApiClient } from '../api-client';
import { ago, shortTask, table } from '../format';
import { Output } from '../output';

export async function servicesCommand(api: ApiClient, out: Output) {
  const result = await api.call<{ services: ServiceSummary[] }>('listServices', {});
  if (out.json) return out.print(result);
  out.print(
    table(
      ['SERVICE', 'CLUSTER', 'STATUS', 'DESIRED', 'RUNNING', 'PENDING', 'EXEC', 'ROLLOUT'],
      result.services.map((s) => [
        s.name,
        s.cluster,
        s.status,
        String(s.desiredCount),
        String(s.runningCount),
        String(s.pendingCount),
        s.execEnabled ? 'on' : 'off',
        s.deployments.map((d) => `${d.status.toLowerCase()}:${d.rolloutState ?? '-'}`).join(' ') || '-',
      ]),
    ),
  );
}

export async function statusCommand(api: ApiClient, out: Output, service: string) {
  const s = await api.call<ServiceDetail>('getService', { service });
  if (out.json) return out.print(s);
  out.print(
    `${s.name}  (${s.cluster}/${s.service})  ${s.status}  desired ${s.desiredCount}, running ${s.runningCount}, pending ${s.pendingCount}, exec ${s.execEnabled ? 'on' : 'off'}\n`,
  );
  out.print(
    table(
      ['DEPLOYMENT', 'STATUS', 'ROLLOUT', 'TASK DEFINITION', 'RUNNING', 'FAILED', 'UPDATED'],
      s.deployments.map((d) => [
        d.id,
        d.status,
        d.rolloutState ?? '-',
        d.taskDefinition.split('/').pop() ?? '',
        `${d.runningCount}/${d.desiredCount}`,
        String(d.failedTasks),
        ago(d.updatedAt),
      ]),
    ),
  );
  out.print('');
  out.print(
    table(
      ['TASK', 'STATUS', 'HEALTH', 'STARTED', 'REVISION', 'CONTAINERS'],
      s.tasks.map((t) => [
        shortTask(t.id),
        t.status,
        t.health ?? '-',
        ago(t.startedAt),
        t.taskDefinition,
        t.containers
          .map((c) => `${c.name}:${c.status}${c.health && c.health !== 'UNKNOWN' ? `/${c.health}` : ''}`)
          .join(' '),
      ]),
    ),
  );
  if (s.events.length > 0) {
    out.print('\nRecent events:');
    for (const e of s.events.slice(0, 10)) out.print(`  ${ago(e.at)}  ${e.message}`);
  }
}
