// How a config change reaches the service: a configured validator run in its container, then
// a signal to PID 1 or a rolling restart. Exec runs in the signal Lambda (the operate tier's
// only Lambda with ECS Exec), the restart is one UpdateService call.

import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ServiceTarget } from '../../lib/config';
import { ExecResult, SignalName, SignalResult } from '../exec/contract';
import { Invoke } from '../shared/invoke';

export interface Reloader {
  validate(service: string, command: readonly string[]): Promise<ExecResult>;
  signal(service: string, signal: SignalName): Promise<{ signal: SignalName; results: SignalResult[] }>;
  rollingRestart(target: ServiceTarget): Promise<RollingRestart>;
}

export interface RollingRestart {
  readonly mode: 'rolling';
  readonly deploymentId?: string;
  readonly taskDefinition?: string;
}

export function createReloader(deps: { invoke: Invoke; signalFunction: string; ecs: ECSClient }): Reloader {
  return {
    validate: async (service, command) =>
      (await deps.invoke(deps.signalFunction, 'validateConfig', {
        service,
        command: [...command],
      })) as ExecResult,
    signal: async (service, signal) =>
      (await deps.invoke(deps.signalFunction, 'signal', { service, signal, allTasks: true })) as {
        signal: SignalName;
        results: SignalResult[];
      },
    rollingRestart: (target) => startRollingRestart(deps.ecs, target),
  };
}

/** A new deployment of the same task definition: ECS replaces the tasks as the service allows. */
export async function startRollingRestart(ecs: ECSClient, target: ServiceTarget): Promise<RollingRestart> {
  const out = await ecs.send(
    new UpdateServiceCommand({ cluster: target.cluster, service: target.service, forceNewDeployment: true }),
  );
  const primary = out.service?.deployments?.find((d) => d.status === 'PRIMARY');
  return {
    mode: 'rolling',
    ...(primary?.id ? { deploymentId: primary.id } : {}),
    ...(primary?.taskDefinition ? { taskDefinition: primary.taskDefinition } : {}),
  };
}
