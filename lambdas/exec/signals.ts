// Signals to a container's PID 1, through ECS Exec. Only these names are accepted, and the
// command is fixed: nothing from the request but the allowlisted name reaches the container.
//
// With initProcessEnabled, PID 1 is the init (tini), which passes the signal on to the app.
// Without it, PID 1 is the app itself, and the kernel drops any signal PID 1 has no handler
// for: an app that does not handle HUP will not see it.

import { SignalName } from './contract';

export const SIGNAL_TIMEOUT_MS = 10_000;

export function signalArgv(signal: SignalName): string[] {
  return ['kill', '-s', signal, '1'];
}
