// The `sidekick` CLI as a user runs it (the npm bin), against a sandbox seeded with the demo.

import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DEMO_CONFIG, SeededDemo } from '../../sandbox/demo';
import { MotoServer, startMoto } from '../../sandbox/moto-server';
import { Sandbox, startSandbox } from '../../sandbox/sandbox';

const BIN = join(__dirname, '..', '..', 'bin', 'sidekick.cjs');
let moto: MotoServer;
let sandbox: Sandbox;
let seeded: SeededDemo;
let cwd: string;

beforeAll(async () => {
  moto = await startMoto();
  cwd = mkdtempSync(join(tmpdir(), 'sidekick-cli-'));
  // Seeded like `npm start`: the demo's containers run as local processes.
  sandbox = await startSandbox({
    awsEndpoint: moto.endpoint,
    seed: true,
    config: DEMO_CONFIG,
    stateDir: join(cwd, '.sidekick'),
  });
  seeded = sandbox.seeded!;
});
afterAll(async () => {
  await sandbox?.stop();
  await moto?.stop();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWithEnv({}, ...args);
}

async function cliWithEnv(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe('sidekick', () => {
  it('lists services with their counts', async () => {
    const r = await cli('services');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SERVICE\s+CLUSTER\s+STATUS/m);
    expect(r.stdout).toMatch(/^web\s+sidekick-demo\s+ACTIVE\s+3\s+3\s+0\s+on/m);
  });

  it('shows a service with its tasks and events', async () => {
    const r = await cli('status', 'web');
    expect(r.code).toBe(0);
    for (const task of seeded.runningTasks) expect(r.stdout).toContain(task.slice(0, 8));
    expect(r.stdout).toMatch(/has reached a steady state/);
  });

  it('prints log lines of the last minutes, task and container on each', async () => {
    const r = await cli('logs', 'web', '--since', '5m', '--limit', '7');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    for (const line of lines)
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} {2}(web|worker)\/[0-9a-f]{8} {2}\S/);
  });

  it('prints one JSON event per line with --output json', async () => {
    const r = await cli(
      '--output',
      'json',
      'logs',
      'web',
      '--since',
      '5m',
      '--limit',
      '3',
      '--container',
      'worker',
    );
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.container === 'worker' && typeof e.timestamp === 'number')).toBe(true);
  });

  it('diagnoses the seeded failures with their hints', async () => {
    const r = await cli('diagnose', 'web');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OOM/);
    expect(r.stdout).toMatch(/IMAGE_PULL, never started/);
    expect(r.stdout).toMatch(/image or tag does not exist/);
    expect(r.stdout).toMatch(/never wrote a log line/);
  });

  it('prints one clear line and exits 1 for an unknown service', async () => {
    const r = await cli('status', 'payments');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: service 'payments' is not configured .*\(HTTP 404, Sidekick\.NotFoundError\)$/,
      ),
    ]);
  });

  it('exits 2 on a bad option value without calling the API', async () => {
    const r = await cli('logs', 'web', '--limit', 'abc');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit.*must be a whole number/);
  });

  it('reports the 403 of an unsigned request', async () => {
    const r = await cli('--as', 'none', 'services');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Missing Authentication Token \(HTTP 403/);
  });

  it("reports the 403 of another tier's identity", async () => {
    const r = await cli('--as', 'operate', 'services');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not authorized to perform: execute-api:Invoke.*\(HTTP 403/);
  });

  it('says when the endpoint cannot be reached', async () => {
    const r = await cli('--endpoint', 'http://127.0.0.1:9', 'services');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('follows: prints a line written after it started, once', async () => {
    const child: ChildProcess = spawn(
      'node',
      [BIN, 'logs', 'web', '--follow', '--since', '20s', '--interval', '1'],
      { cwd },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.length > 0 || child.exitCode !== null, 20_000);
      const target = seeded.liveStreams[0]!;
      await sandbox.clients.logs.send(
        new PutLogEventsCommand({
          logGroupName: target.logGroup,
          logStreamName: target.stream,
          logEvents: [{ timestamp: Date.now(), message: 'follow-marker' }],
        }),
      );
      await waitFor(() => out.includes('follow-marker'), 20_000);
      await new Promise((r) => setTimeout(r, 2500)); // two more polls
      expect(out.split('\n').filter((l) => l.includes('follow-marker'))).toHaveLength(1);
    } finally {
      child.kill('SIGINT');
    }
  });
});

describe('sidekick exec, signal, exec-check, shell', () => {
  it('prints the listing of ls -la / and exits 0', async () => {
    const r = await cli('exec', 'web', '--', 'ls', '-la', '/');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^total \d+\n/);
    expect(r.stdout).toMatch(/ proc\n/);
  });

  it("exits with the remote command's exit code", async () => {
    expect((await cli('exec', 'web', '--', 'sh', '-c', 'exit 3')).code).toBe(3);
    expect((await cli('exec', 'web', '--', 'sh', '-c', 'kill -9 $$')).code).toBe(137);
  });

  it('exits 124 when the command runs out of time', async () => {
    const r = await cli('exec', 'web', '--timeout', '1', '--', 'sleep', '20');
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/timed out/);
  });

  it('sends HUP and reports it delivered', async () => {
    const r = await cli('signal', 'web', 'HUP');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^HUP → task ${seeded.runningTasks[0]!.slice(0, 8)} \\(web\\) PID 1: delivered$`, 'm'),
    );
  });

  it('explains the task started without exec, and exits 1', async () => {
    const r = await cli('exec-check', 'web');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`task ${seeded.runningTasks[2]!.slice(0, 8)}\\s+FAIL\\s+task-exec-enabled`),
    );
  });

  it('says how to install session-manager-plugin when it is missing, before opening a session', async () => {
    const r = await cliWithEnv({ PATH: '/nonexistent' }, 'shell', 'web');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /session-manager-plugin is not installed.*session-manager-working-with-install-plugin/,
    );
  });

  it('hands session-manager-plugin the session, Region and Target the way the AWS CLI does', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'smp-'));
    const argsFile = join(bin, 'args.json');
    writeFileSync(
      join(bin, 'session-manager-plugin'),
      `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify(process.argv.slice(2)));\n`,
      { mode: 0o755 },
    );
    const r = await cliWithEnv(
      { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}` },
      'shell',
      'web',
      '--container',
      'worker',
    );
    expect(r.code).toBe(0);
    const [session, region, op, profile, target, endpoint] = JSON.parse(
      readFileSync(argsFile, 'utf8'),
    ) as string[];
    expect(JSON.parse(session!)).toEqual({
      SessionId: expect.stringMatching(/^ecs-execute-command-/),
      StreamUrl: expect.stringMatching(/^ws:/),
      TokenValue: expect.any(String),
    });
    expect([region, op, profile, endpoint]).toEqual([
      'us-east-1',
      'StartSession',
      '',
      'https://ecs.us-east-1.amazonaws.com',
    ]);
    expect(JSON.parse(target!)).toEqual({
      Target: `ecs:sidekick-demo_${seeded.runningTasks[0]}_${seeded.runningTasks[0]}-worker`,
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('sidekick backup, restore, config', () => {
  const dataDir = () => join(cwd, '.sidekick', 'volumes', 'web', 'data');

  it('backs up data with --wait, restores it after a change, and the file is back byte for byte', async () => {
    const order = join(dataDir(), 'orders', 'order-0001.json');
    const before = readFileSync(order);
    const backup = await cli('backup', 'web', '--volume', 'data', '--wait');
    expect(backup.code).toBe(0);
    const backupId = /backup (\d{8}T\d{6}Z-[0-9a-f]{6})\)/.exec(backup.stdout)?.[1];
    expect(backup.stdout).toMatch(/^backup op-[0-9a-f]{24} of web\/data: SUCCEEDED/);
    expect(backupId).toBeDefined();

    const listed = await cli('backups', 'web');
    expect(listed.stdout).toMatch(new RegExp(`^${backupId}\\s+data\\s+/`, 'm'));

    writeFileSync(order, '{"changed":true}\n');
    const restore = await cli('restore', 'web', backupId!, '--volume', 'data', '--wait');
    expect(restore.code).toBe(0);
    expect(readFileSync(order).equals(before)).toBe(true);
  });

  it('puts app.conf with --reload HUP (the service logs the new value) and a stale put gets 409', async () => {
    const local = join(cwd, 'app.conf');
    writeFileSync(local, 'greeting=hello from the cli\nworkers=3\n');
    const current = JSON.parse(
      (await cli('--output', 'json', 'config', 'get', 'web', 'app.conf')).stdout,
    ) as { version: number };
    const put = await cli(
      'config',
      'put',
      'web',
      'app.conf',
      local,
      '--reload',
      'HUP',
      '--expected-version',
      String(current.version),
    );
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/version \d+ written, SIGHUP delivered to 2 of 3 task\(s\)/);
    // The container's log line reaches CloudWatch within a second or so.
    let logged = '';
    for (let i = 0; i < 10 && !/greeting=hello from the cli/.test(logged); i++) {
      logged = (await cli('logs', 'web', '--since', '1m', '--filter', '"received SIGHUP"')).stdout;
    }
    expect(logged).toMatch(/reloaded config: greeting=hello from the cli, workers=3/);

    const stale = await cli(
      'config',
      'put',
      'web',
      'app.conf',
      local,
      '--expected-version',
      String(current.version),
    );
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/HTTP 409/);
  });

  it('lists versions and diffs two of them', async () => {
    const versions = await cli('config', 'versions', 'web', 'app.conf');
    expect(versions.stdout).toMatch(/^VERSION\s+WHEN\s+AUTHOR/);
    const diff = await cli('config', 'diff', 'web', 'app.conf', '1', '2');
    expect(diff.stdout).toMatch(/\+greeting=hello from the cli/);
  });
});

describe('sidekick restart and runbooks', () => {
  const appConf = () => join(cwd, '.sidekick', 'volumes', 'web', 'config', 'app.conf');
  const inputFile = (input: object) => {
    const file = join(cwd, `input-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(input));
    return file;
  };

  it('restart --wait follows the rollout and reports a steady service', async () => {
    const restart = await cli('restart', 'web', '--wait');
    expect(restart.code).toBe(0);
    expect(restart.stdout).toMatch(
      /^restart op-[0-9a-f]{24} of web: SUCCEEDED \(deployment ecs-svc\/\d+ COMPLETED, 3\/3 running\)/,
    );
    expect(restart.stdout).toMatch(/web is steady/);
  });

  it('runbook list shows the four runbooks and what their input needs', async () => {
    const list = await cli('runbook', 'list');
    for (const name of ['backup-then-restart', 'config-change', 'restore', 'diagnose-failed-start'])
      expect(list.stdout).toMatch(new RegExp(`^${name}\\s`, 'm'));
    const json = JSON.parse((await cli('--output', 'json', 'runbook', 'list')).stdout) as {
      name: string;
      input: { required: string[] };
    }[];
    expect(json.find((r) => r.name === 'config-change')?.input.required).toEqual([
      'service',
      'path',
      'content',
    ]);
  });

  it('config-change with a failing validation keeps the old config, reloaded, and says why', async () => {
    const before = readFileSync(appConf(), 'utf8');
    const failed = await cli(
      'runbook',
      'start',
      'config-change',
      '--service',
      'web',
      '--input',
      inputFile({ path: 'app.conf', content: 'greeting=bad\nworkers=0\n', validate: ['validate-config'] }),
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^Sidekick\.CheckFailedError: validate .*workers must be a whole number/m);
    expect(failed.stderr).toMatch(/\s+Validate\n(.|\n)*\s+Undo\n(.|\n)*\s+UndoReload\n/);
    expect(failed.stderr).toMatch(/runbook FAILED after \d+\.\ds/);
    expect(readFileSync(appConf(), 'utf8')).toBe(before);
  });

  it('config-change with a passing validation makes the new config live and reloaded; status reports it', async () => {
    const ok = await cli(
      'runbook',
      'start',
      'config-change',
      '--service',
      'web',
      '--input',
      inputFile({
        path: 'app.conf',
        content: 'greeting=from a runbook\nworkers=5\n',
        validate: ['validate-config'],
        settleSeconds: 1,
      }),
    );
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/\s+Reload\n(.|\n)*\s+Verify\n/);
    expect(JSON.parse(ok.stdout)).toMatchObject({ service: 'web', path: 'app.conf', reload: 'HUP' });
    expect(readFileSync(appConf(), 'utf8')).toBe('greeting=from a runbook\nworkers=5\n');
    const arn = /started: (arn:\S+)/.exec(ok.stderr)![1]!;
    const status = await cli('runbook', 'status', arn);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/: SUCCEEDED \(CheckInput > Write > HasValidate > Validate > Reload/);
  });

  it('runbook start refuses an unknown runbook, and the read tier cannot start one', async () => {
    expect((await cli('runbook', 'start', 'nope', '--service', 'web')).code).toBe(1);
    const denied = await cli('--as', 'read', 'runbook', 'start', 'diagnose-failed-start', '--service', 'web');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/not authorized to perform states:StartExecution/);
  });
});
