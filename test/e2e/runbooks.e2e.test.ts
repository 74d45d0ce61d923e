// The runbooks as the stack deploys them (definitions taken from the synthesized template),
// run by aws-local-stepfunctions against the real handlers, the sandbox's ECS agent and
// scheduler, and moto: each happy path and each failure branch.

import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describeServiceTasks } from '../../lambdas/services/service-status';
import { taskIdOf } from '../../lambdas/shared/ecs-lookup';
import { OperationView } from '../../lambdas/volumes/operations';
import { DEMO } from '../../sandbox/demo';
import { Execution } from '../../sandbox/step-functions';
import { volumeDir } from '../../sandbox/volumes';
import { synthesizedRunbooks } from '../support/runbooks';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';
import { snapshot } from '../support/trees';

let t: TestSandbox;
const web = { name: 'web', cluster: DEMO.cluster, service: DEMO.service };

beforeAll(async () => {
  t = await startTestSandbox(undefined, {
    seed: true,
    runbookDefinitions: synthesizedRunbooks(),
    runbookWaitMs: 100,
  });
  // The seeded demo has a task from before ECS Exec was on; a rolling restart replaces it,
  // so signals reach every task.
  const res = await rawRequest(t, 'operate', 'POST', '/services/web/restart', { body: '{"mode":"rolling"}' });
  await finished(String(res.body.id));
}, 120_000);
afterAll(async () => t?.stop());
afterEach(() => {
  t.sandbox.scheduler!.failNewTasks = undefined;
});

const configFile = () => join(volumeDir(t.stateDir, 'web', 'config'), 'app.conf');
const dataDir = () => volumeDir(t.stateDir, 'web', 'data');

async function run(runbook: string, input: object): Promise<Execution> {
  const machine = t.sandbox.stepFunctions.list().find((m) => m.name === `EcsSidekick-${runbook}`)!;
  const execution = t.sandbox.stepFunctions.start(machine.stateMachineArn, input);
  await execution.done;
  return execution;
}

const entered = (e: Execution) =>
  e.history.filter((h) => h.type.endsWith('StateEntered')).map((h) => h.stateName);

async function finished(id: string): Promise<OperationView> {
  for (let i = 0; i < 600; i++) {
    const op = (await rawRequest(t, 'operate', 'GET', `/operations/${id}`)).body as unknown as OperationView;
    if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operation ${id} did not finish`);
}

const runningIds = async () =>
  (await describeServiceTasks(t.seed.ecs, web, 'RUNNING'))
    .filter((task) => task.lastStatus === 'RUNNING')
    .map((task) => taskIdOf(task.taskArn));

/** Lines of the web containers matching `pattern` since `since`. */
async function webLines(pattern: string, since: number): Promise<string[]> {
  const out = await t.seed.logs.send(
    new FilterLogEventsCommand({ logGroupName: DEMO.logGroup, startTime: since, filterPattern: pattern }),
  );
  return (out.events ?? []).map((e) => e.message ?? '');
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

describe('config-change', () => {
  it('writes, validates, reloads every task, verifies, and reports the new version', async () => {
    const since = Date.now();
    const e = await run('config-change', {
      service: 'web',
      path: 'app.conf',
      content: 'greeting=hello from a runbook\nworkers=3\n',
      validate: ['validate-config'],
      healthCommand: ['app-ctl', 'health'],
      settleSeconds: 1,
    });
    expect([e.status, e.cause]).toEqual(['SUCCEEDED', undefined]);
    expect(entered(e)).toEqual(
      expect.arrayContaining(['Write', 'Validate', 'Reload', 'Settle', 'HealthCheck', 'Verify', 'Report']),
    );
    const output = JSON.parse(e.output!);
    expect(output).toMatchObject({
      service: 'web',
      path: 'app.conf',
      reload: 'HUP',
      verified: { verified: true },
    });
    expect(await readFile(configFile(), 'utf8')).toBe('greeting=hello from a runbook\nworkers=3\n');
    await eventually(
      async () => (await webLines('"greeting=hello from a runbook"', since)).length >= 3,
      'every web task logged the reloaded config',
    );
  });

  it('a validation that fails puts the old config back, reloads it, and fails with the reason', async () => {
    const before = await readFile(configFile(), 'utf8');
    const since = Date.now();
    const e = await run('config-change', {
      service: 'web',
      path: 'app.conf',
      content: 'greeting=too many\nworkers=300\n',
      validate: ['validate-config'],
    });
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Sidekick.CheckFailedError');
    expect(e.cause).toMatch(/workers must be a whole number from 1 to 64, got "300"/);
    expect(entered(e)).toEqual(expect.arrayContaining(['Validate', 'Undo', 'UndoReload']));
    expect(entered(e)).not.toContain('Reload');
    expect(await readFile(configFile(), 'utf8')).toBe(before);
    // Reloaded again, with the old content.
    const greeting = /greeting=([^\n]*)/.exec(before)![1]!;
    await eventually(
      async () =>
        (await webLines('"received SIGHUP"', since)).filter((l) => l.includes(`greeting=${greeting}`))
          .length >= 3,
      'every web task reloaded the old config',
    );
  });

  it('a stale expectedVersion fails at the write and changes nothing', async () => {
    const before = await readFile(configFile(), 'utf8');
    const e = await run('config-change', {
      service: 'web',
      path: 'app.conf',
      content: 'x=1\n',
      expectedVersion: 1,
    });
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Sidekick.ConflictError');
    expect(entered(e)).not.toContain('Undo');
    expect(await readFile(configFile(), 'utf8')).toBe(before);
  });
});

describe('backup-then-restart', () => {
  it('quiesces, backs up, resumes, restarts and waits for a steady service', async () => {
    const tasksBefore = await runningIds();
    const e = await run('backup-then-restart', {
      service: 'web',
      volume: 'data',
      quiesce: ['app-ctl', 'pause'],
      resume: ['app-ctl', 'resume'],
    });
    expect([e.status, e.cause]).toEqual(['SUCCEEDED', undefined]);
    const output = JSON.parse(e.output!);
    expect(output.restart).toMatchObject({ mode: 'rolling', rolloutState: 'COMPLETED' });
    // The backup was taken while paused: it holds the pause marker, which is gone from the volume.
    const manifest = (
      await rawRequest(t, 'read', 'GET', `/services/web/backups/${output.backupId}?volume=data`)
    ).body as { counts: { files: number } };
    await expect(readFile(join(dataDir(), '.paused'))).rejects.toThrow();
    const files = readdirSync(dataDir(), { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    expect(manifest.counts.files).toBe(files.length + 1);
    const tasksAfter = await runningIds();
    expect(tasksAfter).toHaveLength(3);
    expect(tasksAfter.filter((id) => tasksBefore.includes(id))).toEqual([]);
  });

  it('a failed sidekick releases the lease, lists no backup, and still resumes', async () => {
    const listed = async () =>
      (
        (await rawRequest(t, 'read', 'GET', '/services/web/backups?volume=data')).body as {
          backups: unknown[];
        }
      ).backups.length;
    const before = await listed();
    const e = await run('backup-then-restart', {
      service: 'web',
      volume: 'data',
      path: 'no/such/dir',
      quiesce: ['app-ctl', 'pause'],
      resume: ['app-ctl', 'resume'],
    });
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Sidekick.OperationFailed');
    expect(entered(e)).toEqual(expect.arrayContaining(['ResumeAnyway']));
    expect(entered(e)).not.toContain('Restart');
    expect(await listed()).toBe(before);
    await expect(readFile(join(dataDir(), '.paused'))).rejects.toThrow();
    const again = await rawRequest(t, 'operate', 'POST', '/services/web/backups', {
      body: '{"volume":"data"}',
    });
    expect(again.status).toBe(202);
    await finished(String(again.body.id));
  });

  it('a restart that never becomes steady fails at its timeout and says why', async () => {
    t.sandbox.scheduler!.failNewTasks = 'CannotPullContainerError: pull access denied';
    const e = await run('backup-then-restart', { service: 'web', volume: 'data', restartTimeoutSeconds: 10 });
    t.sandbox.scheduler!.failNewTasks = undefined;
    expect(e.status).toBe('FAILED');
    expect(e.error).toBe('Sidekick.OperationFailed');
    expect(e.cause).toMatch(/did not become steady/);
    expect(entered(e)).toEqual(expect.arrayContaining(['Restart', 'RestartPoll']));
    await eventually(async () => {
      const s = (
        await t.seed.ecs.send(
          new DescribeServicesCommand({ cluster: DEMO.cluster, services: [DEMO.service] }),
        )
      ).services![0]!;
      return s.deployments?.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED';
    }, 'the deployment completed once tasks could start');
  });
});

describe('restore', () => {
  it('holds the lease, scales to zero, restores, scales back, verifies and releases the lease', async () => {
    const backup = await rawRequest(t, 'operate', 'POST', '/services/web/backups', {
      body: '{"volume":"data"}',
    });
    const op = await finished(String(backup.body.id));
    expect(op.status).toBe('SUCCEEDED');
    const before = await snapshot(dataDir());
    await writeFile(join(dataDir(), 'orders', 'order-0001.json'), '{"id":1,"item":"changed"}\n');

    const e = await run('restore', { service: 'web', volume: 'data', backupId: op.backupId });
    expect([e.status, e.cause]).toEqual(['SUCCEEDED', undefined]);
    expect(entered(e)).toEqual(
      expect.arrayContaining(['TakeLease', 'ScaleDown', 'Restore', 'ScaleUp', 'Verify', 'ReleaseLease']),
    );
    const after = await snapshot(dataDir());
    expect(after['orders/order-0001.json']).toEqual(before['orders/order-0001.json']);
    expect(await runningIds()).toHaveLength(3);
    const again = await rawRequest(t, 'operate', 'POST', '/services/web/backups', {
      body: '{"volume":"data"}',
    });
    expect(again.status).toBe(202);
    await finished(String(again.body.id));
  });

  it('an abort stops the sidekick task, fails its operation, releases the lease and scales the service back', async () => {
    const backups = (await rawRequest(t, 'read', 'GET', '/services/web/backups?volume=data')).body as {
      backups: { backupId: string }[];
    };
    // The sidekick task is accepted by ECS but not started yet when the abort comes.
    t.sandbox.agent.holdLaunches = true;
    const machine = t.sandbox.stepFunctions.list().find((m) => m.name === 'EcsSidekick-restore')!;
    const e = t.sandbox.stepFunctions.start(machine.stateMachineArn, {
      service: 'web',
      volume: 'data',
      backupId: backups.backups[0]!.backupId,
    });
    try {
      await eventually(
        async () => e.history.some((h) => h.stateName === 'RestoreWait'),
        'the restore started',
      );
      expect(await runningIds()).toEqual([]);
      e.abort();
      await e.done;
    } finally {
      t.sandbox.agent.holdLaunches = false;
    }
    expect(e.status).toBe('ABORTED');
    const [op] = await operationsOf(e.executionArn);
    expect(op).toMatchObject({
      kind: 'restore',
      status: 'FAILED',
      error: 'the runbook execution was aborted',
    });
    const task = (
      await t.seed.ecs.send(new DescribeTasksCommand({ cluster: DEMO.cluster, tasks: [op!.taskArn!] }))
    ).tasks![0]!;
    expect(task.desiredStatus).toBe('STOPPED');
    expect(task.stoppedReason).toMatch(/runbook execution ABORTED/);
    await eventually(async () => (await runningIds()).length === 3, 'the service was scaled back to 3');
    const again = await rawRequest(t, 'operate', 'POST', '/services/web/backups', {
      body: '{"volume":"data"}',
    });
    expect(again.status).toBe(202);
    await finished(String(again.body.id));
  });
});

/** The operations an execution started, from the state table. */
async function operationsOf(executionArn: string): Promise<OperationView[]> {
  const out = await t.sandbox.clients.ddb.send(
    new ScanCommand({
      TableName: t.sandbox.storage.table,
      FilterExpression: 'begins_with(pk, :op) AND execution = :e',
      ExpressionAttributeValues: marshall({ ':op': 'op#', ':e': executionArn }),
    }),
  );
  return (out.Items ?? []).map((item) => unmarshall(item) as OperationView);
}

describe('diagnose-failed-start', () => {
  it('collects the diagnosis and keeps it in the bucket', async () => {
    const e = await run('diagnose-failed-start', { service: 'web', tasks: 10, lines: 5 });
    expect([e.status, e.cause]).toEqual(['SUCCEEDED', undefined]);
    const output = JSON.parse(e.output!);
    const direct = await rawRequest(t, 'read', 'GET', '/services/web/diagnose?tasks=10&lines=5');
    expect(output.summary).toBe(direct.body.summary);
    expect(output.stoppedTasks.map((s: { id: string }) => s.id)).toEqual(
      (direct.body.stoppedTasks as { id: string }[]).map((s) => s.id),
    );
    const object = await t.sandbox.clients.s3.send(
      new GetObjectCommand({ Bucket: output.saved.bucket, Key: output.saved.key }),
    );
    const saved = JSON.parse(await object.Body!.transformToString());
    expect(saved).toMatchObject({ service: 'web', execution: e.executionArn, summary: output.summary });
  });
});

describe('input validation', () => {
  it.each([
    ['config-change', { service: 'web', path: 'app.conf', content: 'a=1\n', bogus: 1 }, /bogus/],
    ['config-change', { service: 'web', path: '../etc/passwd', content: 'a=1\n' }, /path/],
    [
      'backup-then-restart',
      { service: 'web', volume: 'data', quiesce: ['rm', '-rf', '/'] },
      /quiesce.*validators/,
    ],
    ['backup-then-restart', { service: 'web' }, /volume/],
    ['restore', { service: 'web', volume: 'data', backupId: '20261203T000000Z-000000' }, /not found/],
    ['diagnose-failed-start', { service: 'nope' }, /nope/],
  ])('%s with %j fails in its first state and starts nothing', async (runbook, input, reason) => {
    const before = await runningIds();
    const e = await run(runbook, input);
    expect(e.status).toBe('FAILED');
    expect(e.error).toMatch(/^Sidekick\.(ValidationError|NotFoundError)$/);
    expect(e.cause).toMatch(reason);
    expect(entered(e)).toEqual(['CheckInput']);
    expect(await runningIds()).toEqual(before);
  });
});
