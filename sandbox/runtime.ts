// The sandbox's container runtime and scheduler reporting to moto, as the ECS agent and the
// ECS scheduler report to ECS: task and container states, exit codes, stop codes, service
// counts and service events (see moto/sidekick_moto.py).

export interface ContainerState {
  readonly name: string;
  readonly lastStatus?: string;
  readonly exitCode?: number;
  readonly reason?: string;
  readonly healthStatus?: string;
  readonly execAgent?: string;
}

export interface TaskState {
  readonly cluster: string;
  readonly task: string;
  readonly lastStatus?: string;
  readonly desiredStatus?: string;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly healthStatus?: string;
  readonly createdAt?: number;
  readonly pullStartedAt?: number | null;
  readonly pullStoppedAt?: number | null;
  readonly startedAt?: number | null;
  readonly stoppingAt?: number;
  readonly stoppedAt?: number;
  readonly executionStoppedAt?: number;
  readonly containers?: readonly ContainerState[];
}

export interface ServiceState {
  readonly cluster: string;
  readonly service: string;
  readonly runningCount?: number;
  readonly pendingCount?: number;
  readonly desiredCount?: number;
  readonly failedTasks?: number;
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  readonly event?: string;
  readonly eventAt?: number;
  /** The rollout is over: only the PRIMARY deployment stays. */
  readonly retireOldDeployments?: boolean;
}

export interface SandboxRuntime {
  setTaskState(state: TaskState): Promise<void>;
  setServiceState(state: ServiceState): Promise<void>;
}

export function sandboxRuntime(endpoint: string, region: string): SandboxRuntime {
  const post = async (path: string, body: object) => {
    const res = await fetch(`${endpoint}/_sandbox/ecs/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region, ...body }),
    });
    if (!res.ok) throw new Error(`sandbox runtime ${path}: ${res.status} ${await res.text()}`);
  };
  return {
    setTaskState: (state) => post('task-state', state),
    setServiceState: (state) => post('service-state', state),
  };
}
