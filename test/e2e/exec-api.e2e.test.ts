// exec, signal, sessions and exec-check end to end: the seeded sandbox (its containers are
// real processes, each PID 1 of its own namespace; the cluster encrypts sessions with KMS),
// requests signed as each tier's identity.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ExecCheckReport, ExecResult, InteractiveSession, SignalResult } from '../../lambdas/exec/contract';
import { MAX_OUTPUT_PER_TASK } from '../../lambdas/exec/run-exec';
import { streamName } from '../../lambdas/shared/ecs-lookup';
import { DEMO } from '../../sandbox/demo';
import { rawRequest, startTestSandbox, TestSandbox } from '../support/sandbox';

let t: TestSandbox;
let withExec: string[];
let withoutExec: string;

beforeAll(async () => {
  t = await startTestSandbox(undefined, { seed: true });
  const running = t.sandbox.seeded!.runningTasks;
  withExec = running.slice(0, 2);
  withoutExec = running[2]!;
});
afterAll(async () => t?.stop());
beforeEach(() => {
  t.awsCalls.length = 0;
});

const exec = (body: object) =>
  rawRequest(t, 'breakglass', 'POST', '/services/web/exec', { body: JSON.stringify(body) });
const execCalls = () => t.awsCalls.filter((c) => c === 'ExecuteCommandCommand').length;

describe('POST /services/{service}/exec', () => {
  it.each([
    [['ls', '-la', '/'], 0, /^total \d+/],
    [['sh', '-c', 'exit 3'], 3, /^$/],
    [['sh', '-c', 'echo out; echo err >&2; kill -9 $$'], 137, /^out\nerr\nKilled\n$/],
  ])('runs %j and returns its exit code %d and output', async (command, exitCode, output) => {
    const res = await exec({ command });
    expect(res.status).toBe(200);
    const body = res.body as unknown as ExecResult;
    expect(body).toMatchObject({ task: withExec[0], container: 'web', exitCode, truncated: false });
    expect(body.output).toMatch(output);
    expect(body.durationMs).toBeGreaterThan(0);
  });

  it("runs in the container's own PID namespace: PID 1 is the app", async () => {
    const body = (await exec({ command: ['cat', '/proc/1/cmdline'] })).body as unknown as ExecResult;
    expect(body.output).toContain('web.cjs');
  });

  it('writes an audit record before and after, with the caller, argv and exit code', async () => {
    const marker = `audit-${Date.now()}`;
    await exec({ command: ['echo', marker] });
    const out = await t.sandbox.clients.logs.send(
      new FilterLogEventsCommand({
        logGroupName: DEMO.auditLogGroup,
        filterPattern: `"${marker}"`,
        interleaved: true,
      }),
    );
    const records = (out.events ?? []).map((e) => JSON.parse(e.message!));
    expect(records.map((r) => r.event)).toEqual(['exec.started', 'exec.finished']);
    for (const r of records) {
      expect(r).toMatchObject({
        caller: t.sandbox.identities.breakglass.arn,
        service: 'web',
        cluster: DEMO.cluster,
        task: withExec[0],
        container: 'web',
        argv: ['echo', marker],
      });
    }
    expect(records[1]).toMatchObject({ exitCode: 0, truncated: false });
  });

  it('fans out to every running task and reports each, including the one without exec', async () => {
    const res = await exec({ command: ['hostname'], allTasks: true });
    const results = (res.body as unknown as { results: ExecResult[] }).results;
    expect(results.map((r) => r.task).sort()).toEqual([...withExec, withoutExec].sort());
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(2);
    expect(results.find((r) => r.task === withoutExec)).toMatchObject({
      exitCode: null,
      error: expect.stringMatching(/ECS Exec was not enabled/),
    });
  });

  it('caps 1 MB of output, says so, and still returns the exit code', async () => {
    const res = await exec({
      command: ['python3', '-c', 'import sys\nfor i in range(16384): sys.stdout.write("%063d\\n" % i)'],
    });
    const body = res.body as unknown as ExecResult;
    expect(body.exitCode).toBe(0);
    expect(body.truncated).toBe(true);
    expect(body.outputBytes).toBeGreaterThan(1024 * 1024);
    expect(Buffer.byteLength(body.output)).toBeLessThan(MAX_OUTPUT_PER_TASK + 200);
    expect(body.output).toMatch(/bytes cut/);
    expect(body.output.endsWith(`${'0'.repeat(58)}16383\n`)).toBe(true);
  });

  it('stops a command at its time limit and reports it', async () => {
    const body = (await exec({ command: ['sleep', '30'], timeoutSeconds: 1 })).body as unknown as ExecResult;
    expect(body).toMatchObject({ timedOut: true, exitCode: 130 });
    expect(body.durationMs).toBeLessThan(5_000);
  });

  it('answers 409 for a task started without exec, and calls no ExecuteCommand', async () => {
    const res = await exec({ command: ['true'], task: withoutExec });
    expect(res.status).toBe(409);
    expect(res.body.error!.message).toMatch(/ECS Exec was not enabled/);
    expect(execCalls()).toBe(0);
  });

  const otherCluster = `arn:aws:ecs:us-east-1:123456789012:task/other-cluster/${'b'.repeat(32)}`;
  const BAD: [string, object, string][] = [
    ['an empty argv', { command: [] }, 'command'],
    ['a shell string instead of argv', { command: 'ls -la /' }, 'command'],
    ['a NUL in an argument', { command: ['echo', 'a\u0000b'] }, 'command.1'],
    ['a word that is not a string', { command: ['echo', 5] }, 'command.1'],
    ['an over-long argv', { command: Array.from({ length: 65 }, () => 'x') }, 'command'],
    ['an over-long argument', { command: ['echo', 'x'.repeat(4097)] }, 'command.1'],
    ['an empty program', { command: [''] }, 'command'],
    ['a container name with metacharacters', { command: ['true'], container: 'web;rm -rf /' }, 'container'],
    ['a container that is not in the service', { command: ['true'], container: 'db' }, 'container'],
    ['a task of another cluster', { command: ['true'], task: otherCluster }, 'task'],
    ['a task id that is not an id', { command: ['true'], task: '$(reboot)' }, 'task'],
    ['task and allTasks together', { command: ['true'], task: 'a'.repeat(32), allTasks: true }, 'allTasks'],
    ['a zero timeout', { command: ['true'], timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['a huge timeout', { command: ['true'], timeoutSeconds: 100_000 }, 'timeoutSeconds'],
    ['an unknown field', { command: ['true'], sudo: true }, 'sudo'],
  ];

  it.each(BAD)(
    'refuses %s with 400 naming the field, and calls no ExecuteCommand',
    async (_name, body, field) => {
      const res = await exec(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'Sidekick.ValidationError', field });
      expect(execCalls()).toBe(0);
    },
  );
});

describe('POST /services/{service}/signal', () => {
  const signal = (body: object, tier: 'operate' | 'read' | 'breakglass' = 'operate') =>
    rawRequest(t, tier, 'POST', '/services/web/signal', { body: JSON.stringify(body) });

  it('sends HUP to PID 1 and the demo app reloads its config, as its log says', async () => {
    const since = Date.now();
    const res = await signal({ signal: 'HUP' });
    expect(res.status).toBe(200);
    const results = (res.body as unknown as { results: SignalResult[] }).results;
    expect(results).toEqual([
      expect.objectContaining({ task: withExec[0], signal: 'HUP', delivered: true, exitCode: 0 }),
    ]);
    const stream = streamName(DEMO.streamPrefix, 'web', withExec[0]!);
    const found = await poll(async () => {
      const out = await t.sandbox.clients.logs.send(
        new FilterLogEventsCommand({
          logGroupName: DEMO.logGroup,
          logStreamNames: [stream],
          startTime: since,
          filterPattern: '"received SIGHUP"',
          interleaved: true,
        }),
      );
      return out.events?.[0]?.message;
    });
    expect(found).toMatch(/received SIGHUP: reloaded config: greeting=hello from the sandbox/);
  });

  it('reports per task with allTasks', async () => {
    const results = (
      (await signal({ signal: 'USR1', allTasks: true })).body as unknown as { results: SignalResult[] }
    ).results;
    expect(
      results
        .filter((r) => r.delivered)
        .map((r) => r.task)
        .sort(),
    ).toEqual([...withExec].sort());
    expect(results.find((r) => r.task === withoutExec)?.delivered).toBe(false);
  });

  it.each([
    ['an unknown signal', { signal: 'KILL' }],
    ['a signal given as a number', { signal: 9 }],
    ['a signal with a SIG prefix', { signal: 'SIGHUP' }],
    ['a command', { signal: 'HUP', command: ['rm', '-rf', '/'] }],
  ])('refuses %s with 400 and no ExecuteCommand', async (_name, body) => {
    const res = await signal(body);
    expect(res.status).toBe(400);
    expect(execCalls()).toBe(0);
  });
});

describe('tiers', () => {
  it.each([
    ['read', 'POST', '/services/web/exec'],
    ['operate', 'POST', '/services/web/exec'],
    ['read', 'POST', '/services/web/sessions'],
    ['operate', 'POST', '/services/web/sessions'],
    ['read', 'POST', '/services/web/signal'],
    ['breakglass', 'POST', '/services/web/signal'],
    ['operate', 'GET', '/services/web/exec-check'],
  ] as const)('refuses the %s identity on %s %s with 403', async (tier, method, path) => {
    const res = await rawRequest(
      t,
      tier,
      method,
      path,
      method === 'POST' ? { body: JSON.stringify({ command: ['true'], signal: 'HUP' }) } : {},
    );
    expect(res.status).toBe(403);
    expect(execCalls()).toBe(0);
  });
});

describe('POST /services/{service}/sessions', () => {
  it('returns what session-manager-plugin needs, audits it, and logs no token', async () => {
    const res = await rawRequest(t, 'breakglass', 'POST', '/services/web/sessions', {
      body: JSON.stringify({ container: 'worker' }),
    });
    expect(res.status).toBe(200);
    const s = res.body as unknown as InteractiveSession;
    expect(s).toMatchObject({
      sessionId: expect.stringMatching(/^ecs-execute-command-/),
      streamUrl: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/data-channel\//),
      tokenValue: expect.any(String),
      target: `ecs:${DEMO.cluster}_${withExec[0]}_${withExec[0]}-worker`,
      region: 'us-east-1',
      task: withExec[0],
      container: 'worker',
    });
    const handlerLog = readFileSync(join(t.stateDir, 'handlers.log'), 'utf8');
    expect(handlerLog).toContain('"route":"sessions"');
    expect(handlerLog).not.toContain(s.tokenValue);
    const audit = await t.sandbox.clients.logs.send(
      new FilterLogEventsCommand({
        logGroupName: DEMO.auditLogGroup,
        filterPattern: '"session.started"',
        interleaved: true,
      }),
    );
    expect(audit.events?.map((e) => JSON.parse(e.message!))).toContainEqual(
      expect.objectContaining({
        event: 'session.started',
        caller: t.sandbox.identities.breakglass.arn,
        container: 'worker',
        argv: ['/bin/sh'],
      }),
    );
    expect(JSON.stringify(audit.events)).not.toContain(s.tokenValue);
  });
});

describe('GET /services/{service}/exec-check', () => {
  it('explains the task without exec and passes the others', async () => {
    const res = await rawRequest(t, 'read', 'GET', '/services/web/exec-check');
    const report = res.body as unknown as ExecCheckReport;
    expect(report.ready).toBe(false);
    const bad = report.tasks.find((r) => r.task === withoutExec)!;
    expect(bad.ready).toBe(false);
    expect(bad.checks).toContainEqual(
      expect.objectContaining({
        name: 'task-exec-enabled',
        status: 'FAIL',
        fix: expect.stringMatching(/force a new deployment/),
      }),
    );
    for (const good of report.tasks.filter((r) => r.task !== withoutExec)) {
      expect(good.ready).toBe(true);
      expect(good.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining([
          'exec-agent:web',
          'task-role-ssmmessages',
          'task-role-kms',
          'platform-version',
        ]),
      );
    }
    expect(report.cluster).toContainEqual(
      expect.objectContaining({
        name: 'cluster-logging',
        status: 'OK',
        detail: expect.stringMatching(/KMS-encrypted/),
      }),
    );
  });
});

async function poll<T>(read: () => Promise<T | undefined>, timeoutMs = 8_000): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}
