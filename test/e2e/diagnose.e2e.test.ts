// GET /services/{service}/diagnose end to end: each kind of failure is seeded into moto the
// way ECS reports it (stop code, stopped reason, container exit codes, service events), and
// the diagnosis must name it with the right hint.

import { Diagnosis } from '../../lambdas/diagnose/contract';
import { streamName } from '../../lambdas/shared/ecs-lookup';
import { createDemoService, DEMO, Network, reportStopped, runServiceTask } from '../../sandbox/demo';
import { backfill } from '../../sandbox/log-producer';
import { ContainerState } from '../../sandbox/runtime';
import { startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
let network: Network;
let taskDefinition: string;

interface Failure {
  readonly name: string;
  readonly stopCode?: string;
  readonly stoppedReason: string;
  readonly started: boolean;
  readonly containers: ContainerState[];
  readonly logLines?: number;
  readonly cause: string;
  readonly hint: RegExp;
}

const FAILURES: Failure[] = [
  {
    name: 'image pull',
    stopCode: 'TaskFailedToStart',
    stoppedReason:
      'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/acme/web:v2: not found',
    started: false,
    containers: [
      { name: 'web', lastStatus: 'STOPPED' },
      { name: 'worker', lastStatus: 'STOPPED' },
    ],
    cause: 'IMAGE_PULL',
    hint: /image or tag does not exist/,
  },
  {
    name: 'secrets',
    stopCode: 'TaskFailedToStart',
    stoppedReason:
      'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): ResourceNotFoundException',
    started: false,
    containers: [{ name: 'web', lastStatus: 'STOPPED' }],
    cause: 'SECRETS',
    hint: /could not fetch a secret/,
  },
  {
    name: 'EFS mount',
    stopCode: 'TaskFailedToStart',
    stoppedReason:
      "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: b'mount.nfs4: access denied by server while mounting 127.0.0.1:/'",
    started: false,
    containers: [{ name: 'web', lastStatus: 'STOPPED' }],
    cause: 'EFS_MOUNT',
    hint: /EFS volume could not be mounted/,
  },
  {
    name: 'essential container exit',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    started: true,
    containers: [
      { name: 'web', lastStatus: 'STOPPED', exitCode: 1 },
      { name: 'worker', lastStatus: 'STOPPED', exitCode: 143 },
    ],
    logLines: 80,
    cause: 'ESSENTIAL_EXIT',
    hint: /Essential container web exited with code 1/,
  },
  {
    name: 'out of memory',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    started: true,
    containers: [
      {
        name: 'web',
        lastStatus: 'STOPPED',
        exitCode: 137,
        reason: 'OutOfMemoryError: Container killed due to memory usage',
      },
    ],
    logLines: 10,
    cause: 'OOM',
    hint: /more memory than its limit/,
  },
  {
    name: 'failing health checks',
    stopCode: 'ServiceSchedulerInitiated',
    stoppedReason: 'Task failed container health checks',
    started: true,
    containers: [{ name: 'web', lastStatus: 'STOPPED', exitCode: 137, healthStatus: 'UNHEALTHY' }],
    logLines: 5,
    cause: 'HEALTH_CHECK',
    hint: /health check kept failing/,
  },
  {
    name: 'no capacity',
    stopCode: 'TaskFailedToStart',
    stoppedReason:
      'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    started: false,
    containers: [{ name: 'web', lastStatus: 'STOPPED' }],
    cause: 'NO_CAPACITY',
    hint: /could not find capacity/,
  },
];

beforeAll(async () => {
  t = await startTestSandbox();
  ({ network, taskDefinition } = await createDemoService(t.seed, { desiredCount: 1, execEnabled: false }));
});
afterAll(async () => t?.stop());

async function seedFailure(f: Failure, stoppedAt: number): Promise<string> {
  const task = await runServiceTask(t.seed.ecs, network, taskDefinition);
  if (f.logLines) {
    const target = {
      logGroup: DEMO.logGroup,
      stream: streamName(DEMO.streamPrefix, 'web', task),
      container: 'web',
    };
    await backfill(
      t.seed.logs,
      target,
      stoppedAt - 60_000,
      stoppedAt,
      f.logLines,
      (_, __, n) => `${f.name} line ${n}`,
    );
  }
  await reportStopped(t.seed.runtime, {
    cluster: DEMO.cluster,
    task,
    ...(f.stopCode ? { stopCode: f.stopCode } : {}),
    stoppedReason: f.stoppedReason,
    createdAt: stoppedAt - 120_000,
    startedAt: f.started ? stoppedAt - 90_000 : null,
    stoppedAt,
    containers: f.containers,
  });
  await t.seed.runtime.setServiceState({
    cluster: DEMO.cluster,
    service: DEMO.service,
    event: `(service web) has stopped 1 running tasks: (task ${task}).`,
    eventAt: stoppedAt + 1000,
  });
  return task;
}

describe('diagnose', () => {
  const seeded = new Map<string, Failure>();
  let diagnosis: Diagnosis;

  beforeAll(async () => {
    const now = Date.now();
    for (const [i, f] of FAILURES.entries()) seeded.set(await seedFailure(f, now - (i + 1) * 5 * 60_000), f);
    await t.seed.runtime.setServiceState({
      cluster: DEMO.cluster,
      service: DEMO.service,
      event:
        '(service web) was unable to place a task because no container instance met all of its requirements.',
    });
    diagnosis = await t.api('read').call('diagnose', { service: 'web' }, { tasks: 10 });
  });

  it.each(FAILURES.map((f) => [f.name, f] as const))(
    'names the cause of a task stopped by %s, with a hint and next step',
    (_name, f) => {
      const report = diagnosis.stoppedTasks.find((r) => seeded.get(r.id) === f);
      expect(report).toBeDefined();
      expect(report!.cause).toBe(f.cause);
      expect(report!.hint).toMatch(f.hint);
      expect(report!.nextStep.length).toBeGreaterThan(20);
      expect(report!.neverStarted).toBe(!f.started);
    },
  );

  it('returns the last 50 log lines of a container that logged, oldest first', () => {
    const report = diagnosis.stoppedTasks.find((r) => r.cause === 'ESSENTIAL_EXIT')!;
    const web = report.containers.find((c) => c.name === 'web')!;
    expect(web.logs.status).toBe('OK');
    expect(web.logs.lines).toEqual(
      Array.from({ length: 50 }, (_, i) => `essential container exit line ${i + 30}`),
    );
    expect(web.exitCode).toBe(1);
    expect(web.essential).toBe(true);
  });

  it('says so when a container never wrote a log line', () => {
    const report = diagnosis.stoppedTasks.find((r) => r.cause === 'IMAGE_PULL')!;
    const web = report.containers.find((c) => c.name === 'web')!;
    expect(web.logs).toMatchObject({ status: 'NO_STREAM', lines: [] });
    expect(web.logs.note).toMatch(/never wrote a log line.*stopped before its process ran/);
  });

  it('puts the latest failure in the summary', () => {
    expect(diagnosis.summary).toMatch(/image or tag does not exist/);
    expect(diagnosis.nextStep).toMatch(/image name and tag/);
  });

  it('includes the service events around each stopped task', () => {
    for (const report of diagnosis.stoppedTasks) {
      expect(report.events.some((e) => e.message.includes(report.id))).toBe(true);
    }
  });

  it('reports placement failures and exec being off as service findings', () => {
    expect(diagnosis.findings.map((f) => f.kind)).toEqual(
      expect.arrayContaining(['NO_CAPACITY', 'EXEC_DISABLED']),
    );
    const exec = diagnosis.findings.find((f) => f.kind === 'EXEC_DISABLED')!;
    expect(exec.nextStep).toMatch(/--enable-execute-command --force-new-deployment/);
  });

  it('limits how many tasks and lines it returns', async () => {
    const small: Diagnosis = await t.api('read').call('diagnose', { service: 'web' }, { tasks: 2, lines: 3 });
    expect(small.stoppedTasks).toHaveLength(2);
    for (const c of small.stoppedTasks.flatMap((r) => r.containers))
      expect(c.logs.lines.length).toBeLessThanOrEqual(3);
  });
});
