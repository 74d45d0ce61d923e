// Input of POST /services/{service}/restart and of the internal driver route.

import { z } from 'zod/v3';
import { integerParam, serviceKey } from '../shared/validation';
import { clientToken, OPERATION_ID, runbookFields } from '../volumes/contract';

export const RESTART_MODES = ['rolling', 'stop-tasks'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];

export const StartRestartSchema = z.strictObject({
  service: serviceKey,
  mode: z
    .enum(RESTART_MODES, { errorMap: () => ({ message: `must be one of ${RESTART_MODES.join(', ')}` }) })
    .default('rolling'),
  /** How long the operation waits for a steady service before it fails. */
  timeoutSeconds: integerParam(10, 3600).default(900),
  clientToken: clientToken.optional(),
  execution: runbookFields.execution,
});
export type StartRestartRequest = z.infer<typeof StartRestartSchema>;

export const DriveRestartSchema = z.strictObject({
  operationId: z.string().regex(OPERATION_ID, 'must be an operation id'),
});
