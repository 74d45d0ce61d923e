// Starts moto_server (with the sandbox additions in moto/sidekick_moto.py) on a free loopback
// port and stops it again. Used by `npm start`, the tests and the benchmarks.

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pythonExecutable } from './python';

export interface MotoServer {
  /** The last few KB moto wrote to stderr (its tracebacks), for diagnosing a 500. */
  stderr(): string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

const SCRIPT = join(__dirname, 'moto', 'sidekick_moto.py');
const START_TIMEOUT_MS = 30_000;

export async function startMoto(options: { python?: string; host?: string } = {}): Promise<MotoServer> {
  const python = options.python ?? pythonExecutable();
  const host = options.host ?? '127.0.0.1';
  const child = spawn(python, [SCRIPT, '--host', host, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`moto did not start within ${START_TIMEOUT_MS / 1000} s:\n${stderr}`)),
      START_TIMEOUT_MS,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^MOTO_READY port=(\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new Error(`cannot run ${python} (moto needs Python 3 with moto[server] installed): ${error.message}`),
      );
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with code ${code} before it was ready:\n${stderr}`));
    });
  });
  return { endpoint: `http://${host}:${port}`, stop: () => stopChild(child), stderr: () => stderr };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Forgets every resource moto holds: a clean AWS between tests. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
}
