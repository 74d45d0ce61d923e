// GET /services/{service}/diagnose: input and output.

import { z } from 'zod/v3';
import { ServiceEvent } from '../services/contract';
import { integerParam, serviceKey } from '../shared/validation';
import { Cause } from './causes';

export const MAX_LOG_LINES = 50;

export const DiagnoseQuerySchema = z.strictObject({
  service: serviceKey,
  /** How many of the most recently stopped tasks to examine. */
  tasks: integerParam(1, 10).default(5),
  /** Last log lines per container. */
  lines: integerParam(0, MAX_LOG_LINES).default(MAX_LOG_LINES),
});
export type DiagnoseQuery = z.infer<typeof DiagnoseQuerySchema>;

export interface ContainerLogTail {
  /** OK: lines read. NO_STREAM: the container never wrote a log line. UNAVAILABLE: no awslogs. */
  readonly status: 'OK' | 'NO_STREAM' | 'UNAVAILABLE';
  readonly lines: readonly string[];
  readonly note?: string;
}

export interface StoppedContainer {
  readonly name: string;
  readonly essential: boolean;
  readonly lastStatus?: string;
  readonly exitCode?: number;
  readonly reason?: string;
  readonly logs: ContainerLogTail;
}

export interface StoppedTaskReport {
  readonly id: string;
  /** ECS no longer describes it: it comes from the task history the stack records. */
  readonly fromHistory?: boolean;
  readonly taskDefinition: string;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  /** The task stopped before its containers ran. */
  readonly neverStarted: boolean;
  readonly cause: Cause;
  readonly evidence: string;
  readonly hint: string;
  readonly nextStep: string;
  readonly containers: readonly StoppedContainer[];
  /** Service events from shortly before the task was created to shortly after it stopped. */
  readonly events: readonly ServiceEvent[];
}

export type FindingKind = 'NO_CAPACITY' | 'DEPLOYMENT_FAILED' | 'EXEC_DISABLED' | 'NO_STOPPED_TASKS';

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
  readonly nextStep: string;
}

export interface Diagnosis {
  readonly service: string;
  /** The most useful single answer: the latest failure's hint, else the first finding. */
  readonly summary: string;
  readonly nextStep?: string;
  readonly stoppedTasks: readonly StoppedTaskReport[];
  readonly findings: readonly Finding[];
  readonly recentEvents: readonly ServiceEvent[];
}
