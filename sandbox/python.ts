// The Python interpreter the sandbox runs (moto, the pty helper). `python3` may be a version
// manager's shim that costs ~100 ms a start; the real executable is resolved once.

import { spawnSync } from 'node:child_process';

let resolved: string | undefined;

export function pythonExecutable(): string {
  if (resolved) return resolved;
  const requested = process.env.SIDEKICK_PYTHON ?? 'python3';
  const out = spawnSync(requested, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  resolved = out.status === 0 && out.stdout.trim() ? out.stdout.trim() : requested;
  return resolved;
}
