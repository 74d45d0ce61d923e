// The sandbox's container runtime. Each container of a sandbox task is a local process that
// is PID 1 of its own PID namespace (unshare), like a container; its output goes to its
// awslogs stream in moto; its exit is reported to moto as the ECS agent would. Exec commands
// join the container's namespace (nsenter) and run on a real pty, so `kill -s HUP 1` reaches
// the container's PID 1, never the host's.

import { ChildProcess, ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ensureStream, LogTarget } from './log-producer';
import { pythonExecutable } from './python';
import { SandboxRuntime } from './runtime';

export interface ContainerSpec {
  readonly cluster: string;
  readonly taskId: string;
  readonly container: string;
  readonly essential: boolean;
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  readonly logs?: LogTarget;
  /**
   * Run as PID 1 of its own PID namespace (default). A sidekick task needs no namespace: it
   * is never a target of exec or signals, so it runs as a plain process.
   */
  readonly isolate?: boolean;
}

export interface RunningContainer {
  readonly spec: ContainerSpec;
  /** Host pid of the container's PID 1. */
  readonly pid: number;
  readonly cwd: string;
  readonly exited: Promise<number | null>;
}

const PTY_RUN = join(__dirname, 'exec-gateway', 'pty_run.py');
const LOG_FLUSH_MS = 250;

/** Whether this machine lets us make PID namespaces (root, or unprivileged user namespaces). */
export function namespaceFlags(): string[] | undefined {
  for (const flags of [
    ['--pid', '--fork', '--mount-proc'],
    ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc'],
  ]) {
    if (spawnSync('unshare', [...flags, 'true'], { stdio: 'ignore' }).status === 0) return flags;
  }
  return undefined;
}

export class TaskRuntime {
  private readonly containers = new Map<string, RunningContainer & { process: ChildProcess }>();
  private readonly flags = namespaceFlags();
  /** Set while the sandbox shuts down: exits are not reported to an AWS that is going away. */
  private stopping = false;
  /** Tasks stopped through StopTask, with the reason the caller gave. */
  private readonly stopRequests = new Map<string, string>();

  constructor(
    private readonly deps: {
      readonly logs: CloudWatchLogsClient;
      readonly runtime: SandboxRuntime;
      readonly stateDir: string;
    },
  ) {}

  get canIsolate(): boolean {
    return this.flags !== undefined;
  }

  async start(spec: ContainerSpec): Promise<RunningContainer> {
    const isolate = spec.isolate ?? true;
    if (isolate && !this.flags)
      throw new Error('the sandbox needs PID namespaces (unshare) to run containers');
    const cwd = join(this.deps.stateDir, 'tasks', spec.taskId, spec.container);
    mkdirSync(cwd, { recursive: true });
    const argv = isolate ? ['unshare', ...this.flags!, '--kill-child', '--', ...spec.argv] : [...spec.argv];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: cwd,
        HOSTNAME: `ip-10-0-1-${spec.taskId.charCodeAt(0) % 250}`,
        ...spec.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = isolate ? await innerPid(child) : child.pid!;
    const shipper = spec.logs ? this.shipLogs(child, spec.logs) : undefined;
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code, signal) => {
        shipper?.flush();
        this.containers.delete(key(spec.taskId, spec.container));
        void this.reportExit(spec, code ?? (signal ? 128 + signalNumber(signal) : null)).finally(() =>
          resolve(code),
        );
      });
    });
    const running = { spec, pid, cwd, exited, process: child };
    this.containers.set(key(spec.taskId, spec.container), running);
    return running;
  }

  find(taskId: string, container: string): RunningContainer | undefined {
    return this.containers.get(key(taskId, container));
  }

  /** Runs an exec command inside a container's namespace, on a pty. */
  launchExec(taskId: string, container: string, argv: readonly string[]): ChildProcessWithoutNullStreams {
    const running = this.containers.get(key(taskId, container));
    if (!running) throw new Error(`container ${container} of task ${taskId} is not running in the sandbox`);
    const nsenter = [
      'nsenter',
      '--target',
      String(running.pid),
      '--pid',
      '--mount',
      ...(this.flags?.includes('--user') ? ['--user', '--preserve-credentials'] : []),
      `--wd=${running.cwd}`,
      '--',
    ];
    // The pty is made inside the namespace, so a Ctrl-C reaches the command, not nsenter.
    // -I -S: no user site or site-packages to load; the helper needs the standard library only.
    return spawn(nsenter[0]!, [...nsenter.slice(1), pythonExecutable(), '-I', '-S', PTY_RUN, ...argv], {
      cwd: running.cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: running.cwd,
        LANG: 'C.UTF-8',
        TERM: 'xterm-256color',
        ...running.spec.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    }) as ChildProcessWithoutNullStreams;
  }

  runs(taskId: string): boolean {
    return [...this.containers.values()].some((c) => c.spec.taskId === taskId);
  }

  /** StopTask: SIGTERM to every container of the task; its exit is reported as UserInitiated. */
  requestStop(taskId: string, reason: string): void {
    this.stopRequests.set(taskId, reason);
    for (const c of this.containers.values()) if (c.spec.taskId === taskId) killQuietly(c.pid, 'SIGTERM');
  }

  async stopTask(taskId: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = [...this.containers.values()].filter((c) => c.spec.taskId === taskId);
    for (const c of running) killQuietly(c.pid, signal);
    await Promise.all(running.map((c) => c.exited));
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    const all = [...this.containers.values()];
    for (const c of all) killQuietly(c.pid, 'SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(resolve, 3_000));
    await Promise.race([Promise.all(all.map((c) => c.exited)), timeout]);
    for (const c of this.containers.values()) c.process.kill('SIGKILL');
  }

  private shipLogs(child: ChildProcess, target: LogTarget) {
    let pending: { timestamp: number; message: string }[] = [];
    let carry = '';
    const onData = (data: Buffer) => {
      const lines = (carry + data.toString('utf8')).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) if (line) pending.push({ timestamp: Date.now(), message: line });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let writing = Promise.resolve();
    const flush = () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      writing = writing
        .then(() => ensureStream(this.deps.logs, target))
        .then(async () => {
          await this.deps.logs.send(
            new PutLogEventsCommand({
              logGroupName: target.logGroup,
              logStreamName: target.stream,
              logEvents: batch,
            }),
          );
        })
        .catch((error: unknown) => {
          // While the sandbox shuts down, AWS may already be gone.
          if (!this.stopping) process.stderr.write(`sandbox log shipping: ${String(error)}\n`);
        });
    };
    const timer = setInterval(flush, LOG_FLUSH_MS);
    timer.unref();
    child.on('exit', () => clearInterval(timer));
    return { flush };
  }

  /** Reports what the ECS agent reports when a container ends; an essential one ends its task. */
  private async reportExit(spec: ContainerSpec, exitCode: number | null) {
    if (this.stopping) return;
    const now = Date.now();
    try {
      if (!spec.essential) {
        await this.deps.runtime.setTaskState({
          cluster: spec.cluster,
          task: spec.taskId,
          containers: [
            { name: spec.container, lastStatus: 'STOPPED', ...(exitCode !== null ? { exitCode } : {}) },
          ],
        });
        return;
      }
      await this.stopTask(spec.taskId);
      await this.deps.runtime.setTaskState({
        cluster: spec.cluster,
        task: spec.taskId,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        ...(this.stopRequests.has(spec.taskId)
          ? { stopCode: 'UserInitiated', stoppedReason: this.stopRequests.get(spec.taskId) }
          : { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' }),
        stoppingAt: now,
        stoppedAt: now,
        executionStoppedAt: now,
        containers: [
          { name: spec.container, lastStatus: 'STOPPED', ...(exitCode !== null ? { exitCode } : {}) },
        ],
      });
    } catch (error) {
      process.stderr.write(`sandbox runtime: ${String(error)}\n`);
    }
  }
}

function key(taskId: string, container: string): string {
  return `${taskId}/${container}`;
}

/** unshare forks the container's PID 1; its host pid is unshare's only child. */
async function innerPid(unshare: ChildProcess): Promise<number> {
  const file = `/proc/${unshare.pid}/task/${unshare.pid}/children`;
  for (let i = 0; i < 200; i++) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
      if (pid > 0) return pid;
    } catch {
      // not there yet
    }
    if (unshare.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the container process did not start');
}

function killQuietly(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};
function signalNumber(signal: NodeJS.Signals): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}
