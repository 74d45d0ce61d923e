// Runs an argv in a service's container through ECS Exec and returns its output and exit code:
// ExecuteCommand, the data channel (with KMS when the cluster asks for it), the marker that
// carries the exit status, a capped output, and an audit record before and after.

import { DescribeClustersCommand, ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import WebSocket from 'ws';
import { ServiceTarget } from '../../lib/config';
import { AuditLog } from '../shared/audit';
import { ConflictError, SidekickError, UpstreamError } from '../shared/errors';
import { Logger } from '../shared/logger';
import { OutputCollector, parseOutput, shlexQuote, wrapArgv } from './command';
import { ExecResult, InteractiveSession } from './contract';
import { runClientSession, DataKeySource } from './protocol/client-session';
import { ExecTarget } from './task-selection';

/**
 * Output kept for one response, across all tasks of a fan-out: far below Step Functions'
 * 256 KiB state limit (and Lambda's 6 MB). Each task keeps at most 64 KiB of it.
 */
export const OUTPUT_BUDGET_BYTES = 192 * 1024;
export const MAX_OUTPUT_PER_TASK = 64 * 1024;
/** ExecuteCommand fails with TargetNotConnected for a few seconds after a task starts. */
const NOT_CONNECTED_RETRIES = 3;
const FAN_OUT_CONCURRENCY = 5;

export interface ExecDeps {
  readonly ecs: ECSClient;
  readonly kms: KMSClient;
  readonly audit: AuditLog;
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly connect?: (url: string) => WebSocket;
}

export interface ExecContext {
  readonly caller: string;
  readonly requestId: string;
  readonly log: Logger;
  /** Epoch ms by which every session must be over. */
  readonly deadline: number;
  /** audit event name: exec or signal. */
  readonly kind: 'exec' | 'signal' | 'validate';
}

export async function execOnTargets(
  deps: ExecDeps,
  target: ServiceTarget,
  targets: readonly ExecTarget[],
  argv: readonly string[],
  timeoutMs: number,
  ctx: ExecContext,
): Promise<ExecResult[]> {
  const perTask = Math.min(MAX_OUTPUT_PER_TASK, Math.floor(OUTPUT_BUDGET_BYTES / targets.length));
  const one = (t: ExecTarget) =>
    execInContainer(deps, target, t, argv, { timeoutMs, outputBytes: perTask }, ctx);
  if (targets.length === 1) return [await one(targets[0]!)];
  // Fan-out: one task's failure is its own result, not the request's.
  return mapLimited(targets, FAN_OUT_CONCURRENCY, (t) =>
    one(t).catch((error: unknown) =>
      failedResult(t, error instanceof SidekickError ? error.message : String(error)),
    ),
  );
}

export async function execInContainer(
  deps: ExecDeps,
  target: ServiceTarget,
  t: ExecTarget,
  argv: readonly string[],
  limits: { timeoutMs: number; outputBytes: number },
  ctx: ExecContext,
): Promise<ExecResult> {
  if (t.notReady) throw new ConflictError(`cannot exec into task ${t.taskId}: ${t.notReady}`);
  const where = { service: target.name, cluster: t.cluster, task: t.taskId, container: t.container };
  await deps.audit.record({
    event: `${ctx.kind}.started`,
    caller: ctx.caller,
    requestId: ctx.requestId,
    ...where,
    argv,
  });
  return withContainerLock(`${t.cluster}/${t.taskId}/${t.container}`, async () => {
    const started = deps.now();
    const wrapped = wrapArgv(argv);
    // Looked up first: the session token is short-lived once issued.
    const kms = await dataKeySource(deps, t.cluster);
    const session = await executeCommand(deps, t, wrapped.command);
    const collector = new OutputCollector(
      Math.floor(limits.outputBytes / 4),
      Math.ceil((limits.outputBytes * 3) / 4),
    );
    const timeoutMs = Math.max(1_000, Math.min(limits.timeoutMs, ctx.deadline - deps.now() - 2_000));
    const end = await runClientSession({
      streamUrl: session.streamUrl,
      tokenValue: session.tokenValue,
      sessionId: session.sessionId,
      targetId: session.target,
      onOutput: (chunk) => collector.add(chunk),
      ...(kms ? { kms } : {}),
      timeoutMs,
      ...(deps.connect ? { connect: deps.connect } : {}),
    });
    const parsed = parseOutput(collector, wrapped.nonce);
    const result: ExecResult = {
      task: t.taskId,
      container: t.container,
      exitCode: parsed.exitCode,
      output: parsed.output,
      truncated: parsed.truncated,
      outputBytes: parsed.outputBytes,
      durationMs: deps.now() - started,
      ...(end.ended === 'timeout' ? { timedOut: true } : {}),
      ...(end.ended !== 'closed' && end.ended !== 'timeout'
        ? { error: `session ${end.ended}: ${end.message ?? ''}`.trim() }
        : {}),
      ...(end.ended === 'closed' && end.message ? { error: end.message } : {}),
    };
    await deps.audit
      .record({
        event: `${ctx.kind}.finished`,
        caller: ctx.caller,
        requestId: ctx.requestId,
        ...where,
        argv,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        outputBytes: result.outputBytes,
        truncated: result.truncated,
        ...(result.timedOut ? { timedOut: true } : {}),
        ...(result.error ? { error: result.error } : {}),
      })
      .catch((error: unknown) =>
        ctx.log.error('audit record of a finished command failed', { error: String(error), ...where }),
      );
    return result;
  });
}

/** Starts an interactive session and hands back what session-manager-plugin needs. */
export async function startInteractiveSession(
  deps: ExecDeps,
  target: ServiceTarget,
  t: ExecTarget,
  argv: readonly string[],
  region: string,
  ctx: Omit<ExecContext, 'kind' | 'deadline'>,
): Promise<InteractiveSession> {
  if (t.notReady) throw new ConflictError(`cannot open a session in task ${t.taskId}: ${t.notReady}`);
  const where = { service: target.name, cluster: t.cluster, task: t.taskId, container: t.container };
  await deps.audit.record({
    event: 'session.started',
    caller: ctx.caller,
    requestId: ctx.requestId,
    ...where,
    argv,
  });
  const session = await executeCommand(deps, t, argv.map(shlexQuote).join(' '));
  return { ...session, region, cluster: t.cluster, task: t.taskId, container: t.container };
}

interface OpenedSession {
  readonly sessionId: string;
  readonly streamUrl: string;
  readonly tokenValue: string;
  readonly target: string;
}

async function executeCommand(deps: ExecDeps, t: ExecTarget, command: string): Promise<OpenedSession> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await deps.ecs.send(
        new ExecuteCommandCommand({
          cluster: t.cluster,
          task: t.taskArn || t.taskId,
          container: t.container,
          command,
          interactive: true,
        }),
      );
      const s = out.session;
      if (!s?.streamUrl || !s.tokenValue || !s.sessionId)
        throw new UpstreamError('ExecuteCommand returned no session');
      return {
        sessionId: s.sessionId,
        streamUrl: s.streamUrl,
        tokenValue: s.tokenValue,
        target: `ecs:${t.cluster}_${t.taskId}_${t.runtimeId}`,
      };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TargetNotConnectedException' && attempt < NOT_CONNECTED_RETRIES) {
        await sleep(1_000 * 2 ** attempt);
        continue;
      }
      if (name === 'InvalidParameterException' || name === 'TargetNotConnectedException') {
        throw new ConflictError(
          `ECS Exec cannot reach task ${t.taskId} (${t.container}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

const clusterKeys = new Map<string, { keyId: string | undefined; until: number }>();

/** The cluster's exec KMS key, if it encrypts sessions (cached for five minutes). */
async function dataKeySource(deps: ExecDeps, cluster: string): Promise<DataKeySource | undefined> {
  const cached = clusterKeys.get(cluster);
  let keyId = cached && cached.until > deps.now() ? cached.keyId : undefined;
  if (!cached || cached.until <= deps.now()) {
    const out = await deps.ecs.send(
      new DescribeClustersCommand({ clusters: [cluster], include: ['CONFIGURATIONS'] }),
    );
    keyId = out.clusters?.[0]?.configuration?.executeCommandConfiguration?.kmsKeyId || undefined;
    clusterKeys.set(cluster, { keyId, until: deps.now() + 300_000 });
  }
  if (!keyId) return undefined;
  return {
    async generateDataKey(key, context) {
      const out = await deps.kms.send(
        new GenerateDataKeyCommand({ KeyId: key, NumberOfBytes: 64, EncryptionContext: context }),
      );
      if (!out.CiphertextBlob || !out.Plaintext) throw new UpstreamError('GenerateDataKey returned no key');
      return { ciphertext: out.CiphertextBlob, plaintext: out.Plaintext };
    },
  };
}

export function clearExecCaches(): void {
  clusterKeys.clear();
}

function failedResult(t: ExecTarget, error: string): ExecResult {
  return {
    task: t.taskId,
    container: t.container,
    exitCode: null,
    output: '',
    truncated: false,
    outputBytes: 0,
    durationMs: 0,
    error,
  };
}

// ECS Exec allows about two sessions per container; calls to one container take turns here.
const containerQueues = new Map<string, Promise<unknown>>();

async function withContainerLock<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = containerQueues.get(key) ?? Promise.resolve();
  const turn = previous.catch(() => undefined).then(run);
  containerQueues.set(key, turn);
  try {
    return await turn;
  } finally {
    if (containerQueues.get(key) === turn) containerQueues.delete(key);
  }
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
