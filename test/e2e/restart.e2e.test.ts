// Restarts end to end on the seeded sandbox: the sandbox's service scheduler carries out
// deployments and replaces stopped tasks with new local containers, as ECS would.

import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describeServiceTasks } from '../../lambdas/services/service-status';
import { taskIdOf } from '../../lambdas/shared/ecs-lookup';
import { OperationView } from '../../lambdas/volumes/operations';
import { DEMO } from '../../sandbox/demo';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
const web = { name: 'web', cluster: DEMO.cluster, service: DEMO.service };

beforeAll(async () => {
  t = await startTestSandbox(undefined, { seed: true });
});
afterAll(async () => t?.stop());
afterEach(() => {
  t.sandbox.scheduler!.failNewTasks = undefined;
});

const restart = (body: object, tier: 'operate' | 'read' = 'operate') =>
  rawRequest(t, tier, 'POST', '/services/web/restart', { body: JSON.stringify(body) });

const runningIds = async () =>
  (await describeServiceTasks(t.seed.ecs, web, 'RUNNING'))
    .filter((task) => task.lastStatus === 'RUNNING')
    .map((task) => taskIdOf(task.taskArn));

/** Polls the operation until it ends, calling `watch` on every look. */
async function finished(id: string, watch?: () => Promise<void>): Promise<OperationView> {
  for (let i = 0; i < 400; i++) {
    const res = await rawRequest(t, 'operate', 'GET', `/operations/${id}`);
    const op = res.body as unknown as OperationView;
    if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
    await watch?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operation ${id} did not finish`);
}

describe('POST /services/{service}/restart', () => {
  it('rolling: a new deployment replaces every task and the operation reports it COMPLETED', async () => {
    const before = await runningIds();
    const res = await restart({ mode: 'rolling' });
    expect(res.status).toBe(202);
    const started = res.body as unknown as OperationView;
    expect(started).toMatchObject({ kind: 'restart', status: 'RUNNING', restart: { mode: 'rolling' } });
    expect(started.restart?.deploymentId).toMatch(/^ecs-svc\//);

    const op = await finished(started.id);
    expect(op.status).toBe('SUCCEEDED');
    expect(op.restart).toMatchObject({
      deploymentId: started.restart?.deploymentId,
      rolloutState: 'COMPLETED',
      runningCount: 3,
    });
    const after = await runningIds();
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });

  it('stop-tasks: stops the tasks one at a time, never below the minimum healthy percent', async () => {
    const before = await runningIds();
    const res = await restart({ mode: 'stop-tasks' });
    expect(res.status).toBe(202);
    const started = res.body as unknown as OperationView;
    expect(started.restart).toMatchObject({ minimumHealthy: 2, remaining: expect.arrayContaining(before) });

    let fewest = Infinity;
    const op = await finished(started.id, async () => {
      fewest = Math.min(fewest, (await runningIds()).length);
    });
    expect(op.status).toBe('SUCCEEDED');
    expect([...(op.restart?.stopped ?? [])].sort()).toEqual([...before].sort());
    expect(fewest).toBeGreaterThanOrEqual(2);
    const after = await runningIds();
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });

  it('stop-tasks is refused with 422 when one stopped task would break the minimum healthy percent', async () => {
    await t.seed.ecs.send(
      new UpdateServiceCommand({
        cluster: DEMO.cluster,
        service: DEMO.service,
        deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
      }),
    );
    try {
      const before = await runningIds();
      const res = await restart({ mode: 'stop-tasks' });
      expect(res.status).toBe(422);
      expect(res.body.error?.message).toMatch(/minimum healthy percent \(100% of 3 = 3\).*rolling/);
      expect(await runningIds()).toEqual(before);
    } finally {
      await t.seed.ecs.send(
        new UpdateServiceCommand({
          cluster: DEMO.cluster,
          service: DEMO.service,
          deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
        }),
      );
    }
  });

  it('a deployment whose tasks cannot start fails at its timeout, with the failed tasks diagnosed', async () => {
    t.sandbox.scheduler!.failNewTasks =
      'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found';
    const res = await restart({ mode: 'rolling', timeoutSeconds: 10 });
    expect(res.status).toBe(202);
    const op = await finished((res.body as unknown as OperationView).id);
    expect(op.status).toBe('FAILED');
    expect(op.error).toMatch(/did not become steady/);
    expect(op.restart?.rolloutState).toBe('IN_PROGRESS');
    expect(op.restart?.failedTasks?.length).toBeGreaterThan(0);
    expect(op.restart?.failedTasks?.[0]).toMatchObject({
      cause: 'IMAGE_PULL',
      stopCode: 'TaskFailedToStart',
    });

    // The old tasks kept serving; once tasks can start again the deployment completes.
    t.sandbox.scheduler!.failNewTasks = undefined;
    expect(await runningIds()).toHaveLength(3);
    for (let i = 0; i < 100; i++) {
      const service = (
        await t.seed.ecs.send(
          new DescribeServicesCommand({ cluster: DEMO.cluster, services: [DEMO.service] }),
        )
      ).services![0]!;
      if (service.deployments?.length === 1 && service.deployments[0]!.rolloutState === 'COMPLETED') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the deployment never completed');
  });

  it('the same clientToken returns the same operation; another body with it is a 409', async () => {
    const first = await restart({ mode: 'rolling', clientToken: 'restart-token-1' });
    const again = await restart({ mode: 'rolling', clientToken: 'restart-token-1' });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await restart({ mode: 'stop-tasks', clientToken: 'restart-token-1' });
    expect(other.status).toBe(409);
    await finished(String(first.body.id));
  });

  it('bad input is a 400 naming the field, the read tier gets 403, and nothing restarts', async () => {
    const before = await runningIds();
    const mode = await restart({ mode: 'reboot' });
    expect(mode.status).toBe(400);
    expect(mode.body.error?.field).toBe('mode');
    const timeout = await restart({ timeoutSeconds: 5 });
    expect(timeout.status).toBe(400);
    expect(timeout.body.error?.field).toBe('timeoutSeconds');
    const extra = await restart({ mode: 'rolling', force: true });
    expect(extra.status).toBe(400);
    expect((await restart({ mode: 'rolling' }, 'read')).status).toBe(403);
    expect((await rawRequest(t, 'operate', 'POST', '/services/nope/restart', { body: '{}' })).status).toBe(
      404,
    );
    expect(await runningIds()).toEqual(before);
  });
});
