// Restarts and runbooks on the sandbox, as `npm start` runs them (Wait states pause 0.5 s
// instead of 5 s): how long each takes from start to end, median of RUNBOOK_RUNS.

import { createApiClient } from '../cli/api-client';
import { OperationView } from '../lambdas/volumes/operations';
import { startMoto } from '../sandbox/moto-server';
import { startSandbox } from '../sandbox/sandbox';
import { Execution } from '../sandbox/step-functions';

export const RUNBOOK_RUNS = 3;

export type RunbookBench = Record<string, { medianS: number; status: string }>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchRunbooks(): Promise<RunbookBench> {
  const moto = await startMoto();
  const sandbox = await startSandbox({ awsEndpoint: moto.endpoint, seed: true, writeStateFile: false });
  try {
    const api = createApiClient({
      apiUrl: sandbox.apiUrl,
      region: sandbox.region,
      source: 'sandbox',
      credentialsFor: () => sandbox.identities.operate,
    });
    const restart = async (mode: string) => {
      const op = await api.call<OperationView>('restart', { service: 'web' }, {}, { mode });
      for (;;) {
        const now = await api.call<OperationView>('getOperation', { operationId: op.id });
        if (now.status === 'SUCCEEDED' || now.status === 'FAILED')
          return { status: now.status, ms: Date.parse(now.updatedAt) - Date.parse(now.createdAt) };
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const run = async (name: string, input: object) => {
      const machine = sandbox.stepFunctions.list().find((m) => m.name.endsWith(`-${name}`))!;
      const execution: Execution = sandbox.stepFunctions.start(machine.stateMachineArn, input);
      await execution.done;
      return { status: execution.status, ms: execution.stopDate!.getTime() - execution.startDate.getTime() };
    };
    let backupId = '';
    const cases: [string, () => Promise<{ status: string; ms: number }>][] = [
      ['restart (rolling)', () => restart('rolling')],
      ['restart (stop-tasks)', () => restart('stop-tasks')],
      [
        'config-change (validated, HUP, verified)',
        () =>
          run('config-change', {
            service: 'web',
            path: 'app.conf',
            content: `greeting=bench ${Date.now()}\nworkers=2\n`,
            validate: ['validate-config'],
            settleSeconds: 1,
          }),
      ],
      [
        'config-change (validation fails, undone)',
        () =>
          run('config-change', {
            service: 'web',
            path: 'app.conf',
            content: 'workers=0\n',
            validate: ['validate-config'],
          }),
      ],
      [
        'backup-then-restart',
        async () => {
          const out = await run('backup-then-restart', {
            service: 'web',
            volume: 'data',
            quiesce: ['app-ctl', 'pause'],
            resume: ['app-ctl', 'resume'],
          });
          const last = sandbox.stepFunctions.list().find((m) => m.name.endsWith('-backup-then-restart'))!;
          const execution = [...sandbox.stepFunctions.executions.values()]
            .filter((e) => e.stateMachineArn === last.stateMachineArn)
            .pop()!;
          backupId = (JSON.parse(execution.output ?? '{}') as { backupId?: string }).backupId ?? backupId;
          return out;
        },
      ],
      [
        'restore (scale to zero and back)',
        () => run('restore', { service: 'web', volume: 'data', backupId }),
      ],
      ['diagnose-failed-start', () => run('diagnose-failed-start', { service: 'web' })],
    ];
    const results: RunbookBench = {};
    for (const [name, once] of cases) {
      const times: number[] = [];
      let status = '';
      for (let i = 0; i < RUNBOOK_RUNS; i++) {
        const out = await once();
        times.push(out.ms);
        status = out.status;
      }
      results[name] = { medianS: Math.round(median(times) / 100) / 10, status };
    }
    return results;
  } finally {
    await sandbox.stop();
    await moto.stop();
  }
}
