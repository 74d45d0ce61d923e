// Task history: stopped tasks are recorded as the stack's EventBridge rule records them (the
// sandbox forwards moto's stopped tasks the same way), and diagnose reports a task ECS no
// longer describes from that record.

import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { recordTaskStop } from '../../lambdas/diagnose/history';
import { StoppedTaskReport } from '../../lambdas/diagnose/contract';
import { createTargets } from '../../lambdas/shared/targets';
import { resolveTargets } from '../../lib/config';
import { DEMO, DEMO_CONFIG, SANDBOX_ACCOUNT, SANDBOX_REGION } from '../../sandbox/demo';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox(undefined, { seed: true });
});
afterAll(async () => t?.stop());

const history = () => ({ ddb: t.sandbox.clients.ddb, table: DEMO.historyTable, retentionDays: 30 });
const targets = () => createTargets(resolveTargets(DEMO_CONFIG));
const clusterArn = `arn:aws:ecs:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:cluster/${DEMO.cluster}`;

async function recorded(): Promise<Record<string, unknown>[]> {
  const out = await t.sandbox.clients.ddb.send(
    new QueryCommand({
      TableName: DEMO.historyTable,
      KeyConditionExpression: 'service = :s',
      ExpressionAttributeValues: marshall({ ':s': 'web' }),
    }),
  );
  return (out.Items ?? []).map((i) => unmarshall(i));
}

it("records the service's stopped tasks with their stop code, reason and container exits", async () => {
  for (let i = 0; i < 50 && !(await recorded()).some((r) => r.stopCode === 'EssentialContainerExited'); i++)
    await new Promise((r) => setTimeout(r, 100));
  const oom = (await recorded()).find((r) => r.stopCode === 'EssentialContainerExited');
  expect(oom).toMatchObject({
    service: 'web',
    stoppedReason: 'Essential container in task exited',
    containers: expect.arrayContaining([expect.objectContaining({ name: 'web', exitCode: 137 })]),
  });
  expect(Number(oom!.ttl) - Date.now() / 1000).toBeGreaterThan(29 * 86_400);
});

it('ignores tasks of other services and tasks that did not stop', async () => {
  const base = {
    taskArn: `${clusterArn.replace(':cluster/', ':task/')}/0123456789abcdef0123456789abcdef`,
    clusterArn,
    containers: [],
  };
  expect(
    await recordTaskStop(
      history(),
      targets(),
      { ...base, group: 'service:other', lastStatus: 'STOPPED' },
      Date.now(),
    ),
  ).toEqual({ recorded: false });
  expect(
    await recordTaskStop(
      history(),
      targets(),
      { ...base, group: 'service:web', lastStatus: 'RUNNING' },
      Date.now(),
    ),
  ).toEqual({ recorded: false });
  expect(
    await recordTaskStop(
      history(),
      targets(),
      {
        ...base,
        clusterArn: clusterArn.replace(DEMO.cluster, 'other'),
        group: 'service:web',
        lastStatus: 'STOPPED',
      },
      Date.now(),
    ),
  ).toEqual({ recorded: false });
});

it('diagnose reports a task stopped hours ago, which ECS no longer describes, from the history', async () => {
  const stoppedAt = new Date(Date.now() - 3 * 3600_000).toISOString();
  const id = 'feedfacefeedfacefeedfacefeedface';
  await recordTaskStop(
    history(),
    targets(),
    {
      taskArn: `arn:aws:ecs:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:task/${DEMO.cluster}/${id}`,
      clusterArn,
      group: 'service:web',
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason:
        'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed',
      createdAt: stoppedAt,
      stoppedAt,
      containers: [{ name: 'web', lastStatus: 'STOPPED' }],
    },
    Date.now(),
  );
  const res = await rawRequest(t, 'read', 'GET', '/services/web/diagnose?tasks=10&lines=0');
  expect(res.status).toBe(200);
  const tasks = res.body.stoppedTasks as StoppedTaskReport[];
  const old = tasks.find((x) => x.id === id);
  expect(old).toMatchObject({
    fromHistory: true,
    cause: 'SECRETS',
    stopCode: 'TaskFailedToStart',
    neverStarted: true,
  });
  // A task both ECS and the history know is reported once, as ECS describes it.
  const ids = tasks.map((x) => x.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(tasks.filter((x) => x.stopCode === 'EssentialContainerExited').map((x) => x.fromHistory)).toEqual([
    undefined,
  ]);
});
