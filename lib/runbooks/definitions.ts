// The runbooks as Amazon States Language. Every Task state invokes an ecs-sidekick Lambda with
// the same direct payload `{route, input}` as `aws lambda invoke`, retries the named transient
// errors, and sends every failure (named types first, then States.ALL) to a path that undoes
// what the runbook did. Polling loops are bounded by what they poll: an operation fails at its
// own deadline (a sidekick task is stopped then), a steadiness check fails at its waitUntil.

import { RunbookName } from '../../lambdas/runbooks/inputs';

export interface RunbookFunctions {
  /** ARNs of the Lambdas the states invoke. */
  readonly read: string;
  readonly operate: string;
}

type State = Record<string, unknown>;
export interface StateMachineDefinition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Record<string, State>;
}

/** Errors worth another try: Lambda's own, and AWS throttling that outlasted the SDK's retries. */
const TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Sidekick.ThrottledError',
  'Sidekick.UpstreamError',
];
/** What a step can fail with; each failure path catches these by name, then anything else. */
const NAMED = [
  'Sidekick.ValidationError',
  'Sidekick.NotFoundError',
  'Sidekick.ConflictError',
  'Sidekick.CheckFailedError',
  'Sidekick.UpstreamError',
  'Sidekick.ThrottledError',
  'States.Timeout',
  'States.TaskFailed',
];
const POLL_SECONDS = 5;
/** A Lambda step never takes longer than the Lambda's own timeout. */
const STEP_TIMEOUT_SECONDS = 90;

/** `{a: '$.x', b: 1}` → `{'a.$': '$.x', b: 1}`: strings starting with `$` are paths. */
function params(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) =>
      typeof v === 'string' && v.startsWith('$') ? [`${k}.$`, v] : [k, v],
    ),
  );
}

interface StepOptions {
  readonly resultPath?: string;
  /** The state every failure goes to (with the error at $.failure, unless failurePath says). */
  readonly onError?: string;
  readonly failurePath?: string;
  readonly comment?: string;
}

function step(
  fn: string,
  route: string,
  input: Record<string, unknown>,
  next: string | null,
  options: StepOptions = {},
): State {
  const failurePath = options.failurePath ?? '$.failure';
  return {
    Type: 'Task',
    ...(options.comment ? { Comment: options.comment } : {}),
    Resource: fn,
    Parameters: { route, input: params(input) },
    ResultPath: options.resultPath ?? null,
    TimeoutSeconds: STEP_TIMEOUT_SECONDS,
    Retry: [
      { ErrorEquals: TRANSIENT, IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL' },
    ],
    ...(options.onError
      ? {
          Catch: [
            { ErrorEquals: NAMED, ResultPath: failurePath, Next: options.onError },
            { ErrorEquals: ['States.ALL'], ResultPath: failurePath, Next: options.onError },
          ],
        }
      : {}),
    ...(next ? { Next: next } : { End: true }),
  };
}

/**
 * Waits for an operation (backup, restore, restart) to end: SUCCEEDED goes to onDone; FAILED
 * records the operation's error at $.failure (unless keepFailure) and goes to onFailed.
 */
function awaitOperation(
  fns: RunbookFunctions,
  prefix: string,
  operationIdPath: string,
  resultPath: string,
  onDone: string,
  onFailed: string,
  keepFailure = false,
): Record<string, State> {
  return {
    [`${prefix}Wait`]: { Type: 'Wait', Seconds: POLL_SECONDS, Next: `${prefix}Poll` },
    [`${prefix}Poll`]: step(fns.operate, 'getOperation', { operationId: operationIdPath }, `${prefix}Ended`, {
      resultPath,
      onError: onFailed,
      ...(keepFailure ? { failurePath: `${resultPath}Failure` } : {}),
    }),
    [`${prefix}Ended`]: {
      Type: 'Choice',
      Choices: [
        { Variable: `${resultPath}.status`, StringEquals: 'SUCCEEDED', Next: onDone },
        {
          Variable: `${resultPath}.status`,
          StringEquals: 'FAILED',
          Next: keepFailure ? onFailed : `${prefix}Failed`,
        },
      ],
      Default: `${prefix}Wait`,
    },
    ...(keepFailure
      ? {}
      : {
          [`${prefix}Failed`]: {
            Type: 'Pass',
            Parameters: { Error: 'Sidekick.OperationFailed', 'Cause.$': `${resultPath}.error` },
            ResultPath: '$.failure',
            Next: onFailed,
          },
        }),
  };
}

function checkInput(fns: RunbookFunctions, runbook: RunbookName, next: string): State {
  // No Catch: invalid input fails the execution in its first state, with the field named.
  // No ResultPath: the default ($) makes the result the whole state.
  const { ResultPath: _replaced, ...state } = step(
    fns.operate,
    'checkRunbookInput',
    { runbook, input: '$', execution: '$$.Execution.Id' },
    next,
  );
  return {
    ...state,
    Comment:
      'Checks the input against its schema and the deployed config; the state becomes {input, execution, startedAt, tokens}.',
  };
}

const FAILED: State = { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' };

function present(path: string, then: string, otherwise: string): State {
  return { Type: 'Choice', Choices: [{ Variable: path, IsPresent: true, Next: then }], Default: otherwise };
}

/** A configured command in a running container (runCheck fails unless it exits 0). */
function runCheck(
  fns: RunbookFunctions,
  command: string,
  field: string,
  next: string,
  options: StepOptions,
): State {
  return step(fns.operate, 'runCheck', { service: '$.input.service', command, field }, next, options);
}

/** restore: the service's desired count set, with the time it has to get there. */
function scale(
  fns: RunbookFunctions,
  desiredCount: string | number,
  next: string,
  options: StepOptions,
): State {
  const input = {
    service: '$.input.service',
    desiredCount,
    steadyTimeoutSeconds: '$.input.steadyTimeoutSeconds',
    execution: '$.execution',
  };
  return step(fns.operate, 'scaleService', input, next, options);
}

export function backupThenRestart(fns: RunbookFunctions): StateMachineDefinition {
  const service = '$.input.service';
  return {
    Comment:
      'ecs-sidekick backup-then-restart: quiesce, back up a volume, resume, rolling restart, wait steady.',
    StartAt: 'CheckInput',
    TimeoutSeconds: 4 * 3600,
    States: {
      CheckInput: checkInput(fns, 'backup-then-restart', 'HasQuiesce'),
      HasQuiesce: present('$.input.quiesce', 'Quiesce', 'StartBackup'),
      Quiesce: runCheck(fns, '$.input.quiesce', 'quiesce', 'StartBackup', {
        resultPath: '$.quiesced',
        onError: 'ResumeAfterFailure',
      }),
      StartBackup: step(
        fns.operate,
        'startBackup',
        {
          service,
          volume: '$.input.volume',
          path: '$.input.path',
          clientToken: '$.tokens.backup',
          execution: '$.execution',
        },
        'BackupWait',
        { resultPath: '$.backup', onError: 'ResumeAfterFailure' },
      ),
      ...awaitOperation(fns, 'Backup', '$.backup.id', '$.backup', 'HasResume', 'ResumeAfterFailure'),
      HasResume: present('$.input.resume', 'Resume', 'Restart'),
      Resume: runCheck(fns, '$.input.resume', 'resume', 'Restart', {
        resultPath: '$.resumed',
        onError: 'Failed',
      }),
      Restart: step(
        fns.operate,
        'restart',
        {
          service,
          mode: 'rolling',
          timeoutSeconds: '$.input.restartTimeoutSeconds',
          clientToken: '$.tokens.restart',
          execution: '$.execution',
        },
        'RestartWait',
        { resultPath: '$.restart', onError: 'Failed' },
      ),
      ...awaitOperation(fns, 'Restart', '$.restart.id', '$.restart', 'Report', 'Failed'),
      Report: {
        Type: 'Pass',
        Parameters: {
          'service.$': service,
          'volume.$': '$.input.volume',
          'backupId.$': '$.backup.backupId',
          'backup.$': '$.backup.result',
          'restart.$': '$.restart.restart',
        },
        End: true,
      },
      ResumeAfterFailure: present('$.input.resume', 'ResumeAnyway', 'Failed'),
      ResumeAnyway: runCheck(fns, '$.input.resume', 'resume', 'Failed', {
        resultPath: '$.resumed',
        onError: 'Failed',
        failurePath: '$.resumeFailure',
      }),
      Failed: FAILED,
    },
  };
}

export function configChange(fns: RunbookFunctions): StateMachineDefinition {
  const service = '$.input.service';
  const file = { service, volume: '$.input.volume', path: '$.input.path' };
  const reload = (token: string) => ({
    service,
    reload: '$.input.reload',
    restartTimeoutSeconds: '$.input.restartTimeoutSeconds',
    clientToken: token,
    execution: '$.execution',
  });
  return {
    Comment:
      'ecs-sidekick config-change: write a version, validate, reload, verify; on failure put the previous version back and reload.',
    StartAt: 'CheckInput',
    TimeoutSeconds: 3600,
    States: {
      CheckInput: checkInput(fns, 'config-change', 'Write'),
      Write: step(
        fns.operate,
        'putConfig',
        {
          ...file,
          content: '$.input.content',
          expectedVersion: '$.input.expectedVersion',
          note: '$.execution',
        },
        'HasValidate',
        {
          resultPath: '$.written',
          onError: 'Failed',
          comment: 'Compare-and-swap: a stale expectedVersion fails here, nothing written.',
        },
      ),
      HasValidate: present('$.input.validate', 'Validate', 'Reload'),
      Validate: runCheck(fns, '$.input.validate', 'validate', 'Reload', {
        resultPath: '$.validation',
        onError: 'Undo',
      }),
      Reload: step(fns.operate, 'reloadService', reload('$.tokens.reload'), 'ReloadIsRolling', {
        resultPath: '$.reload',
        onError: 'Undo',
      }),
      ReloadIsRolling: present('$.reload.operationId', 'ReloadWait', 'Settle'),
      ...awaitOperation(fns, 'Reload', '$.reload.operationId', '$.reloadOperation', 'Settle', 'Undo'),
      Settle: { Type: 'Wait', SecondsPath: '$.input.settleSeconds', Next: 'HasHealthCommand' },
      HasHealthCommand: present('$.input.healthCommand', 'HealthCheck', 'Verify'),
      HealthCheck: runCheck(fns, '$.input.healthCommand', 'healthCommand', 'Verify', {
        resultPath: '$.health',
        onError: 'Undo',
      }),
      Verify: step(
        fns.operate,
        'verifyService',
        {
          service,
          since: '$.startedAt',
          maxErrorLines: '$.input.maxErrorLines',
          errorPattern: '$.input.errorPattern',
        },
        'Report',
        { resultPath: '$.verified', onError: 'Undo' },
      ),
      Report: {
        Type: 'Pass',
        Parameters: {
          'service.$': service,
          'path.$': '$.input.path',
          'version.$': '$.written.version',
          'previousVersion.$': '$.written.previous.version',
          'reload.$': '$.input.reload',
          'verified.$': '$.verified',
        },
        End: true,
      },
      Undo: step(
        fns.operate,
        'undoConfigChange',
        { ...file, written: '$.written', reason: '$.failure.Cause' },
        'UndoReload',
        {
          resultPath: '$.undone',
          onError: 'Failed',
          failurePath: '$.undoFailure',
          comment: 'The version before the write, written back.',
        },
      ),
      UndoReload: step(fns.operate, 'reloadService', reload('$.tokens.undo'), 'UndoReloadIsRolling', {
        resultPath: '$.undoReload',
        onError: 'Failed',
        failurePath: '$.undoReloadFailure',
      }),
      UndoReloadIsRolling: present('$.undoReload.operationId', 'UndoReloadWait', 'Failed'),
      ...awaitOperation(
        fns,
        'UndoReload',
        '$.undoReload.operationId',
        '$.undoReloadOperation',
        'Failed',
        'Failed',
        true,
      ),
      Failed: FAILED,
    },
  };
}

export function restore(fns: RunbookFunctions): StateMachineDefinition {
  const service = '$.input.service';
  const steady = (prefix: string, count: string, waitUntil: string, next: string): Record<string, State> => ({
    [`${prefix}Wait`]: { Type: 'Wait', Seconds: POLL_SECONDS, Next: `${prefix}Check` },
    [`${prefix}Check`]: step(
      fns.operate,
      'checkSteady',
      { service, desiredCount: count, waitUntil },
      `${prefix}Steady`,
      { resultPath: '$.steady', onError: 'Recover' },
    ),
    [`${prefix}Steady`]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.steady.steady', BooleanEquals: true, Next: next }],
      Default: `${prefix}Wait`,
    },
  });
  return {
    Comment:
      'ecs-sidekick restore: hold the volume lease, stop the writers, restore, start the service, verify; the lease is always released.',
    StartAt: 'CheckInput',
    TimeoutSeconds: 4 * 3600,
    States: {
      CheckInput: checkInput(fns, 'restore', 'TakeLease'),
      TakeLease: step(
        fns.operate,
        'takeVolumeLease',
        { service, volume: '$.input.volume', execution: '$.execution', ttlSeconds: 4 * 3600 },
        'StopWriters',
        {
          resultPath: '$.lease',
          onError: 'Failed',
          comment: 'A volume busy with a backup or restore fails here (409).',
        },
      ),
      StopWriters: {
        Type: 'Choice',
        Choices: [{ Variable: '$.input.stopWriters', StringEquals: 'scale-to-zero', Next: 'ScaleDown' }],
        Default: 'Restore',
      },
      ScaleDown: scale(fns, 0, 'ScaledDownWait', { resultPath: '$.scaled', onError: 'Recover' }),
      ...steady('ScaledDown', '$.scaled.desiredCount', '$.scaled.waitUntil', 'Restore'),
      Restore: step(
        fns.operate,
        'startRestore',
        {
          service,
          backupId: '$.input.backupId',
          volume: '$.input.volume',
          path: '$.input.path',
          clientToken: '$.tokens.restore',
          execution: '$.execution',
          lease: '$.lease',
        },
        'RestoreWait',
        { resultPath: '$.restore', onError: 'Recover' },
      ),
      ...awaitOperation(fns, 'Restore', '$.restore.id', '$.restore', 'WasScaledDown', 'Recover'),
      WasScaledDown: present('$.scaled', 'ScaleUp', 'Verify'),
      ScaleUp: scale(fns, '$.scaled.previousDesiredCount', 'ScaledUpWait', {
        resultPath: '$.scaledUp',
        onError: 'Recover',
      }),
      ...steady('ScaledUp', '$.scaledUp.desiredCount', '$.scaledUp.waitUntil', 'Verify'),
      Verify: step(
        fns.operate,
        'verifyService',
        { service, since: '$.startedAt', maxErrorLines: 1000, errorPattern: '?FATAL ?panic' },
        'ReleaseLease',
        { resultPath: '$.verified', onError: 'Recover' },
      ),
      ReleaseLease: step(fns.operate, 'releaseVolumeLease', { lease: '$.lease' }, 'Report', {
        onError: 'Failed',
      }),
      Report: {
        Type: 'Pass',
        Parameters: {
          'service.$': service,
          'volume.$': '$.input.volume',
          'backupId.$': '$.input.backupId',
          'restore.$': '$.restore.result',
          'verified.$': '$.verified',
        },
        End: true,
      },
      Recover: present('$.scaled', 'StartServiceAgain', 'ReleaseLeaseAfterFailure'),
      StartServiceAgain: scale(fns, '$.scaled.previousDesiredCount', 'ReleaseLeaseAfterFailure', {
        resultPath: '$.restarted',
        onError: 'ReleaseLeaseAfterFailure',
        failurePath: '$.restartFailure',
      }),
      ReleaseLeaseAfterFailure: step(fns.operate, 'releaseVolumeLease', { lease: '$.lease' }, 'Failed', {
        onError: 'Failed',
        failurePath: '$.releaseFailure',
      }),
      Failed: FAILED,
    },
  };
}

export function diagnoseFailedStart(fns: RunbookFunctions): StateMachineDefinition {
  return {
    Comment: 'ecs-sidekick diagnose-failed-start: collect the diagnosis of a service and keep it in S3.',
    StartAt: 'CheckInput',
    TimeoutSeconds: 600,
    States: {
      CheckInput: checkInput(fns, 'diagnose-failed-start', 'Diagnose'),
      Diagnose: step(
        fns.read,
        'diagnose',
        { service: '$.input.service', tasks: '$.input.tasks', lines: '$.input.lines' },
        'Save',
        { resultPath: '$.diagnosis' },
      ),
      Save: step(
        fns.operate,
        'saveDiagnosis',
        { service: '$.input.service', diagnosis: '$.diagnosis', execution: '$.execution' },
        'Report',
        { resultPath: '$.saved' },
      ),
      Report: {
        Type: 'Pass',
        Parameters: {
          'service.$': '$.input.service',
          'summary.$': '$.diagnosis.summary',
          'stoppedTasks.$': '$.diagnosis.stoppedTasks',
          'saved.$': '$.saved',
        },
        End: true,
      },
    },
  };
}

export const RUNBOOK_DEFINITIONS: Record<RunbookName, (fns: RunbookFunctions) => StateMachineDefinition> = {
  'backup-then-restart': backupThenRestart,
  'config-change': configChange,
  restore,
  'diagnose-failed-start': diagnoseFailedStart,
};
