// The operate Lambda's runbook steps: the internal routes the runbooks' states invoke, next
// to the API routes they also use (startBackup, startRestore, restart, getOperation,
// putConfig). Each step is small and checks its input like a route; the state machines
// (lib/runbooks/definitions.ts) do the sequencing, retries and failure paths.

import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { StopTaskCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod/v3';
import { ServiceTarget } from '../../lib/config';
import { shlexQuote } from '../exec/command';
import { argv, ExecResult } from '../exec/contract';
import { requireConfiguredValidator } from '../exec/validators';
import { failedSince, rollingOutcome, startRestart } from '../restart/restart';
import { describeServiceTasks } from '../services/service-status';
import { RouteHandler } from '../shared/dispatch';
import { describeService, getTaskDefinition, containerLogs } from '../shared/ecs-lookup';
import { CheckFailedError } from '../shared/errors';
import { parseInput, serviceKey } from '../shared/validation';
import { filesOf, undoWrite } from '../volumes/config-change';
import { configPath, WriteResult } from '../volumes/config-store';
import { checkRestorable, sidekickVolume } from '../volumes/jobs';
import { acquireLease, leaseKey, releaseLease, scanStateTable } from '../volumes/lease';
import { TERMINAL, unfinishedOperations, updateOperation } from '../volumes/operations';
import { ExecutionArnSchema, RELOADS, RunbookLeaseSchema } from '../volumes/contract';
import type { OperateDeps } from '../tiers/operate-routes';
import { RUNBOOK_INPUTS, RUNBOOKS, RunbookName } from './inputs';

const execution = ExecutionArnSchema;

/** Step 1 of every runbook: the input checked against its schema and the deployed config. */
export const checkRunbookInputRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({ runbook: z.enum(RUNBOOKS), input: z.record(z.unknown()), execution }),
    input,
  );
  const runbook: RunbookName = req.runbook;
  const checked = parseInput(RUNBOOK_INPUTS[runbook], req.input) as Record<string, unknown> & {
    service: string;
  };
  const target = deps.targets.get(checked.service);
  for (const field of ['quiesce', 'resume', 'validate', 'healthCommand']) {
    const command = checked[field] as string[] | undefined;
    if (command) requireConfiguredValidator(target, command, field);
  }
  if (runbook === 'backup-then-restart') sidekickVolume(target, String(checked.volume));
  if (runbook === 'restore') {
    sidekickVolume(target, String(checked.volume));
    const path = checked.path ? String(checked.path) : undefined;
    await checkRestorable(deps, target, String(checked.volume), String(checked.backupId), path);
  }
  if (runbook === 'config-change') {
    const files = filesOf(target, String(checked.volume));
    checked.path = configPath(String(checked.path));
    if (checked.expectedVersion === undefined) {
      const current = (await deps.invoke(files.read, 'readConfigFile', {
        service: target.name,
        volume: checked.volume,
        path: checked.path,
      })) as { version: number };
      checked.expectedVersion = current.version;
    }
  }
  return {
    input: checked,
    execution: req.execution,
    startedAt: new Date(deps.now()).toISOString(),
    // Client tokens for the operations the runbook starts: a retried state starts nothing twice.
    tokens: Object.fromEntries(
      ['backup', 'restore', 'restart', 'reload', 'undo'].map((step) => [step, tokenOf(req.execution, step)]),
    ),
  };
};

function tokenOf(executionArn: string, step: string): string {
  return `rb-${createHash('sha256').update(`${executionArn}#${step}`).digest('hex').slice(0, 40)}-${step}`;
}

/** restore: the volume's lease, held by the execution for the whole runbook. */
export const takeVolumeLeaseRoute: RouteHandler<OperateDeps> = async (input, deps, ctx) => {
  const req = parseInput(
    z.strictObject({
      service: serviceKey,
      volume: z.string(),
      execution,
      ttlSeconds: z.number().int().min(60).max(86_400),
    }),
    input,
  );
  const target = deps.targets.get(req.service);
  sidekickVolume(target, req.volume);
  const ttlMs = req.ttlSeconds * 1000;
  const lease = await acquireLease(
    deps.state,
    leaseKey(target.name, req.volume),
    { operationId: req.execution, kind: 'restore runbook', caller: ctx.caller },
    deps.now(),
    ttlMs,
  );
  return { pk: lease.pk, holder: lease.holder, token: lease.token, ttlMs };
};

export const releaseVolumeLeaseRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(z.strictObject({ lease: RunbookLeaseSchema }), input);
  await releaseLease(deps.state, req.lease);
  return { released: req.lease.pk };
};

/**
 * restore: stop the writers (desired count 0) and start them again (the count from before).
 * The count from before is also kept with the execution, so an aborted runbook's clean-up
 * can put it back.
 */
export const scaleServiceRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({
      service: serviceKey,
      desiredCount: z.number().int().min(0).max(1000),
      steadyTimeoutSeconds: z.number().int().min(10).max(3600),
      execution,
    }),
    input,
  );
  const target = deps.targets.get(req.service);
  const before = await describeService(deps.ecs, target);
  await deps.state.ddb
    .send(
      new PutItemCommand({
        TableName: deps.state.table,
        Item: marshall({
          pk: scaledKey(req.execution, target.name),
          service: target.name,
          desiredCount: before.desiredCount ?? 0,
          ttl: Math.ceil(deps.now() / 1000) + 7 * 86_400,
        }),
        // The first scaling of the execution holds the count to go back to.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
  await deps.ecs.send(
    new UpdateServiceCommand({
      cluster: target.cluster,
      service: target.service,
      desiredCount: req.desiredCount,
    }),
  );
  return {
    previousDesiredCount: before.desiredCount ?? 0,
    desiredCount: req.desiredCount,
    waitUntil: deps.now() + req.steadyTimeoutSeconds * 1000,
  };
};

/** Whether the service runs its desired count; past waitUntil, a failure that says so. */
export const checkSteadyRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({ service: serviceKey, desiredCount: z.number().int().min(0), waitUntil: z.number() }),
    input,
  );
  const target = deps.targets.get(req.service);
  const [service, tasks] = await Promise.all([
    describeService(deps.ecs, target),
    describeServiceTasks(deps.ecs, target, 'RUNNING'),
  ]);
  const running = tasks.filter((t) => t.lastStatus === 'RUNNING').length;
  // What the tasks say and what ECS's own counts say, both.
  const steady =
    running === req.desiredCount &&
    service.runningCount === req.desiredCount &&
    (service.deployments ?? []).length <= 1;
  if (!steady && deps.now() > req.waitUntil) {
    throw new CheckFailedError(
      `${target.name} runs ${running} task(s), not ${req.desiredCount}, at ${new Date(req.waitUntil).toISOString()}`,
      { running, desiredCount: req.desiredCount },
    );
  }
  return { steady, running, desiredCount: req.desiredCount };
};

/** config-change: the reload, by signal (done at once) or rolling restart (an operation to await). */
export const reloadServiceRoute: RouteHandler<OperateDeps> = async (input, deps, ctx) => {
  const req = parseInput(
    z.strictObject({
      service: serviceKey,
      reload: z.enum(RELOADS),
      restartTimeoutSeconds: z.number().int().min(10).max(3600),
      clientToken: z.string(),
      execution,
    }),
    input,
  );
  const target = deps.targets.get(req.service);
  if (req.reload === 'rolling') {
    const op = await startRestart(
      deps,
      {
        service: target.name,
        mode: 'rolling',
        timeoutSeconds: req.restartTimeoutSeconds,
        clientToken: req.clientToken,
      },
      ctx.caller,
      req.execution,
    );
    return { operationId: op.id };
  }
  const sent = await deps.reloader.signal(target.name, req.reload);
  const missed = sent.results.filter((r) => !r.delivered);
  if (missed.length > 0 || sent.results.length === 0) {
    const why = missed.map((r) => `task ${r.task}: ${r.error ?? 'not delivered'}`).join('; ');
    throw new CheckFailedError(
      `SIG${req.reload} reached ${sent.results.length - missed.length} of ${sent.results.length} task(s)${why ? ` (${why})` : ''}`,
      { results: sent.results },
    );
  }
  return { signal: req.reload, tasks: sent.results.length };
};

/** config-change: a configured command (validator, health check) in a running container; exit 0 or a failure. */
export const runCheckRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({ service: serviceKey, command: argv, field: z.string().max(32) }),
    input,
  );
  const target = deps.targets.get(req.service);
  requireConfiguredValidator(target, req.command, req.field);
  const result = await deps.reloader.validate(target.name, req.command);
  if (result.exitCode !== 0) {
    throw new CheckFailedError(
      `${req.field} [${req.command.map(shlexQuote).join(' ')}] ${result.exitCode === null ? `did not finish (${result.error ?? 'no exit code'})` : `exited ${result.exitCode}`}: ${lastLine(result)}`,
      { exitCode: result.exitCode, output: result.output.slice(-2000), task: result.task },
    );
  }
  return { exitCode: 0, task: result.task, output: result.output.slice(-2000) };
};

function lastLine(result: ExecResult): string {
  return result.output.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
}

/**
 * After a change: the service steady (its deployment COMPLETED, running = desired), no task
 * failed since the runbook started, and at most maxErrorLines log lines matching errorPattern.
 */
export const verifyServiceRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({
      service: serviceKey,
      since: z.string().datetime(),
      maxErrorLines: z.number().int().min(0),
      errorPattern: z.string().min(1).max(256),
    }),
    input,
  );
  const target = deps.targets.get(req.service);
  const since = Date.parse(req.since);
  const service = await describeService(deps.ecs, target);
  const problems: string[] = [];
  const rollout = rollingOutcome(service, undefined);
  if (rollout.status !== 'SUCCEEDED')
    problems.push(`the service is not steady (rollout ${rollout.rollout.rolloutState ?? 'unknown'})`);
  // What counts as a failed task is what a restart reports: the diagnosis says it failed.
  const failed = await failedSince(deps, target, since);
  if (failed.length > 0) {
    const which = failed.map((t) => `${t.id} (${t.cause})`).join(', ');
    problems.push(`${failed.length} task(s) failed since ${req.since}: ${which}`);
  }
  const errorLines = await countLogLines(
    deps,
    target,
    service.taskDefinition,
    req.errorPattern,
    since,
    req.maxErrorLines + 1,
  );
  if (errorLines > req.maxErrorLines) {
    problems.push(`more than ${req.maxErrorLines} log line(s) match ${req.errorPattern}`);
  }
  const facts = {
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    failedTasks: failed.length,
    errorLines,
  };
  if (problems.length > 0) throw new CheckFailedError(`verification failed: ${problems.join('; ')}`, facts);
  return { verified: true, ...facts };
};

async function countLogLines(
  deps: OperateDeps,
  target: ServiceTarget,
  taskDefinitionArn: string | undefined,
  pattern: string,
  since: number,
  atMost: number,
): Promise<number> {
  const definition = taskDefinitionArn ? await getTaskDefinition(deps.ecs, taskDefinitionArn) : undefined;
  const groups = [
    ...new Set(
      definition
        ? containerLogs(definition, target).flatMap((c) => ('logGroup' in c ? [c.logGroup] : []))
        : (target.logGroups ?? []),
    ),
  ];
  let count = 0;
  for (const logGroupName of groups) {
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await deps.diagnose.logs.send(
        new FilterLogEventsCommand({
          logGroupName,
          startTime: since,
          filterPattern: pattern,
          limit: atMost,
          nextToken,
        }),
      );
      count += out.events?.length ?? 0;
      nextToken = out.nextToken;
    } while (nextToken && count < atMost && ++pages < 5);
    if (count >= atMost) break;
  }
  return count;
}

/** config-change's failure path: the version before the runbook's write, written back. */
export const undoConfigChangeRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({
      service: serviceKey,
      volume: z.string(),
      path: z.string(),
      written: z.object({
        version: z.number(),
        previous: z.object({ version: z.number(), exists: z.boolean() }),
      }),
      reason: z.string().max(4000),
    }),
    input,
  );
  const target = deps.targets.get(req.service);
  const files = filesOf(target, req.volume);
  return undoWrite(
    deps.invoke,
    files.write,
    { service: target.name, volume: req.volume, path: configPath(req.path) },
    req.written as WriteResult,
    'ecs-sidekick config-change runbook',
    `undo version ${req.written.version}: ${req.reason.slice(0, 300)}`,
  );
};

/** diagnose-failed-start: the diagnosis, kept in the backup bucket. */
export const saveDiagnosisRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(
    z.strictObject({ service: serviceKey, diagnosis: z.record(z.unknown()), execution }),
    input,
  );
  const target = deps.targets.get(req.service);
  const at = new Date(deps.now())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const key = `diagnoses/${target.name}/${at}-${req.execution.split(':').pop()}.json`;
  await deps.storage.s3.send(
    new PutObjectCommand({
      Bucket: deps.storage.bucket,
      Key: key,
      Body: JSON.stringify({ execution: req.execution, ...req.diagnosis }, null, 2),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      ...(deps.storage.bucketOwner ? { ExpectedBucketOwner: deps.storage.bucketOwner } : {}),
    }),
  );
  return { bucket: deps.storage.bucket, key, summary: req.diagnosis.summary };
};

/**
 * An execution ended without its own clean-up (aborted, timed out): its sidekick tasks are
 * stopped, its operations failed, its volume leases released. EventBridge calls this.
 */
export const executionEndedRoute: RouteHandler<OperateDeps> = async (input, deps) => {
  const req = parseInput(z.strictObject({ executionArn: execution, status: z.string().max(32) }), input);
  const ops = (await unfinishedOperations(deps.state)).filter((op) => op.execution === req.executionArn);
  for (const op of ops) {
    const cluster = deps.targets.list().find((t) => t.name === op.service)?.cluster;
    if (op.taskArn && cluster) {
      await deps.ecs.send(
        new StopTaskCommand({
          cluster,
          task: op.taskArn,
          reason: `ecs-sidekick: runbook execution ${req.status}`,
        }),
      );
    }
    if (!TERMINAL.includes(op.status)) {
      await updateOperation(
        deps.state,
        op.id,
        { status: 'FAILED', error: `the runbook execution was ${req.status.toLowerCase()}` },
        deps.now(),
      );
    }
  }
  const scaled = await scanStateTable<{ pk: string; service: string; desiredCount: number }>(
    deps.state,
    'begins_with(pk, :p)',
    { ':p': scaledKey(req.executionArn, '') },
  );
  for (const s of scaled) {
    const target = deps.targets.get(s.service);
    await deps.ecs.send(
      new UpdateServiceCommand({
        cluster: target.cluster,
        service: target.service,
        desiredCount: s.desiredCount,
      }),
    );
    await deps.state.ddb.send(
      new DeleteItemCommand({ TableName: deps.state.table, Key: marshall({ pk: s.pk }) }),
    );
  }
  const leases = await scanStateTable<{ pk: string }>(
    deps.state,
    'begins_with(pk, :lease) AND holder = :holder',
    {
      ':lease': 'lease#',
      ':holder': req.executionArn,
    },
  );
  for (const lease of leases) {
    await deps.state.ddb.send(
      new DeleteItemCommand({
        TableName: deps.state.table,
        Key: marshall({ pk: lease.pk }),
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: marshall({ ':holder': req.executionArn }),
      }),
    );
  }
  return {
    stopped: ops.filter((op) => op.taskArn).length,
    failed: ops.length,
    leasesReleased: leases.length,
    servicesScaledBack: scaled.length,
  };
};

function scaledKey(executionArn: string, service: string): string {
  return `scaled#${executionArn}#${service}`;
}
