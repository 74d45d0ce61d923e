// POST /services/{service}/exec, /signal and /sessions

import { RouteHandler } from '../shared/dispatch';
import { Targets } from '../shared/targets';
import { parseInput } from '../shared/validation';
import {
  DEFAULT_TIMEOUT_SECONDS,
  ExecRequestSchema,
  SessionRequestSchema,
  SignalRequestSchema,
  SignalResult,
} from './contract';
import { ExecDeps, execOnTargets, startInteractiveSession } from './run-exec';
import { signalArgv, SIGNAL_TIMEOUT_MS } from './signals';
import { selectTargets } from './task-selection';
import { requireConfiguredValidator } from './validators';
import { ValidateConfigSchema } from '../volumes/contract';

export interface ExecHandlerDeps extends ExecDeps {
  readonly targets: Targets;
  readonly region: string;
}

export const execRoute: RouteHandler<ExecHandlerDeps> = async (input, deps, ctx) => {
  const req = parseInput(ExecRequestSchema, input);
  const target = deps.targets.get(req.service);
  const targets = await selectTargets(deps.ecs, target, req, deps.now());
  const timeoutMs = (req.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const results = await execOnTargets(deps, target, targets, req.command, timeoutMs, {
    ...ctx,
    kind: 'exec',
  });
  return req.allTasks ? { results } : results[0];
};

export const signalRoute: RouteHandler<ExecHandlerDeps> = async (input, deps, ctx) => {
  const req = parseInput(SignalRequestSchema, input);
  const target = deps.targets.get(req.service);
  const targets = await selectTargets(deps.ecs, target, req, deps.now());
  const results = await execOnTargets(deps, target, targets, signalArgv(req.signal), SIGNAL_TIMEOUT_MS, {
    ...ctx,
    kind: 'signal',
  });
  return {
    signal: req.signal,
    results: results.map((r): SignalResult => ({ ...r, signal: req.signal, delivered: r.exitCode === 0 })),
  };
};

export const sessionsRoute: RouteHandler<ExecHandlerDeps> = async (input, deps, ctx) => {
  const req = parseInput(SessionRequestSchema, input);
  const target = deps.targets.get(req.service);
  const [t] = await selectTargets(deps.ecs, target, req, deps.now());
  return startInteractiveSession(deps, target, t!, req.command ?? ['/bin/sh'], deps.region, ctx);
};

/** A validator may take this long; the operate Lambda waits for it inside the API's budget. */
export const VALIDATE_TIMEOUT_MS = 15_000;

/** Internal: runs one of the service's configured validators in its newest running task. */
export const validateConfigRoute: RouteHandler<ExecHandlerDeps> = async (input, deps, ctx) => {
  const req = parseInput(ValidateConfigSchema, input);
  const target = deps.targets.get(req.service);
  requireConfiguredValidator(target, req.command);
  const targets = await selectTargets(deps.ecs, target, {}, deps.now());
  const [result] = await execOnTargets(deps, target, targets, req.command, VALIDATE_TIMEOUT_MS, {
    ...ctx,
    kind: 'validate',
  });
  return result;
};
