// `sidekick restart <service> [--mode rolling|stop-tasks] [--wait]`.

import { OperationView } from '../../lambdas/volumes/operations';
import { ApiClient } from '../api-client';
import { Output } from '../output';
import { follow, started } from './volumes';

export async function restartCommand(
  api: ApiClient,
  out: Output,
  service: string,
  options: { mode: string; timeout?: number; clientToken?: string; wait?: boolean },
): Promise<number> {
  const body = {
    mode: options.mode,
    ...(options.timeout ? { timeoutSeconds: options.timeout } : {}),
    ...(options.clientToken ? { clientToken: options.clientToken } : {}),
  };
  const op = await api.call<OperationView>('restart', { service }, {}, body);
  return options.wait ? follow(api, out, op) : started(out, op);
}
