// Inputs and outputs of GET /services and GET /services/{service}.

import { z } from 'zod/v3';
import { serviceKey } from '../shared/validation';

export const ListServicesSchema = z.strictObject({});
export const GetServiceSchema = z.strictObject({ service: serviceKey });

export interface DeploymentSummary {
  readonly id: string;
  readonly status: string;
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly failedTasks: number;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export interface ServiceSummary {
  readonly name: string;
  readonly cluster: string;
  readonly service: string;
  /** ACTIVE, DRAINING, or MISSING when ECS does not know the configured service. */
  readonly status: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly taskDefinition?: string;
  readonly execEnabled: boolean;
  readonly deployments: readonly DeploymentSummary[];
}

export interface ContainerStatus {
  readonly name: string;
  readonly status: string;
  readonly health?: string;
  readonly exitCode?: number;
  readonly reason?: string;
  /** ECS Exec agent state: RUNNING when exec can reach the container. */
  readonly execAgent?: string;
}

export interface TaskStatus {
  readonly id: string;
  readonly status: string;
  readonly desiredStatus: string;
  readonly health?: string;
  readonly taskDefinition: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly execEnabled: boolean;
  readonly containers: readonly ContainerStatus[];
}

export interface ServiceEvent {
  readonly at?: string;
  readonly message: string;
}

export interface ServiceDetail extends ServiceSummary {
  readonly tasks: readonly TaskStatus[];
  readonly events: readonly ServiceEvent[];
}
