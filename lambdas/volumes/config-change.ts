// A config write as the API offers it: write the new version through the volume's files
// Lambda, run the configured validator in the service's container, and if it fails put the
// previous version back and report 422; if it passes, reload the service.

import { ServiceTarget, VolumeTarget } from '../../lib/config';
import { shlexQuote } from '../exec/command';
import { ExecResult } from '../exec/contract';
import { CheckFailedError, ValidationError } from '../shared/errors';
import { Invoke } from '../shared/invoke';
import { WriteResult } from './config-store';
import { Reload } from './contract';
import { Reloader, RollingRestart } from './reload';
import { requireConfiguredValidator } from '../exec/validators';

export interface ConfigChange {
  readonly volume: string;
  readonly path: string;
  readonly expectedVersion: number;
  readonly change: { readonly content: string; readonly note?: string } | { readonly rollbackTo: number };
  readonly validate?: readonly string[];
  readonly reload?: Reload;
}

export interface ConfigChangeResult extends WriteResult {
  readonly validation?: ExecResult;
  readonly reload?: RollingRestart | { signal: string; delivered: number; tasks: number; results: unknown[] };
}

/** The volume's config-files Lambdas, or a 400 saying why the volume has none. */
export function filesOf(target: ServiceTarget, volume: string): { read: string; write: string } {
  const configured = target.volumes ?? {};
  const vol: VolumeTarget | undefined = configured[volume];
  if (!vol) {
    const names = Object.keys(configured).join(', ') || '(none)';
    throw new ValidationError(
      'volume',
      `'${volume}' is not a volume of ${target.name} (configured: ${names})`,
    );
  }
  if (!vol.files) {
    throw new ValidationError(
      'volume',
      `'${volume}' does not serve config files: set services.${target.name}.volumes.${volume}.configFiles to true`,
    );
  }
  return vol.files;
}

export async function applyConfigChange(
  deps: { invoke: Invoke; reloader: Reloader },
  target: ServiceTarget,
  request: ConfigChange,
  caller: string,
): Promise<ConfigChangeResult> {
  const files = filesOf(target, request.volume).write;
  if (request.validate) requireConfiguredValidator(target, request.validate);
  const ref = { service: target.name, volume: request.volume, path: request.path };
  const written = (await deps.invoke(files, 'writeConfigFile', {
    ...ref,
    author: caller,
    expectedVersion: request.expectedVersion,
    ...request.change,
  })) as WriteResult;

  let validation: ExecResult | undefined;
  if (request.validate) {
    validation = await runValidator(deps.reloader, target.name, request.validate);
    if (validation.exitCode !== 0) {
      const undone = await undoWrite(
        deps.invoke,
        files,
        ref,
        written,
        `ecs-sidekick for ${caller}`,
        `undo version ${written.version} (validation failed): back to version ${written.previous.version}`,
      );
      const how =
        validation.exitCode === null
          ? `did not finish (${validation.error ?? 'no exit code'})`
          : `exited ${validation.exitCode}`;
      throw new CheckFailedError(
        `validation [${request.validate.map(shlexQuote).join(' ')}] ${how}: version ${written.version} was undone by version ${undone.version}; the service was not reloaded`,
        { validation, rejectedVersion: written.version, version: undone.version },
      );
    }
  }
  if (!request.reload) return { ...written, ...(validation ? { validation } : {}) };
  const reload =
    request.reload === 'rolling'
      ? await deps.reloader.rollingRestart(target)
      : summarizeSignal(await deps.reloader.signal(target.name, request.reload));
  return { ...written, ...(validation ? { validation } : {}), reload };
}

/** Puts back what was live before `written`: the previous version, or no file when there was none. */
export async function undoWrite(
  invoke: Invoke,
  writer: string,
  ref: { service: string; volume: string; path: string },
  written: WriteResult,
  author: string,
  note: string,
): Promise<WriteResult> {
  const undo = written.previous.exists ? { rollbackTo: written.previous.version } : { remove: true };
  return (await invoke(writer, 'writeConfigFile', {
    ...ref,
    author,
    expectedVersion: written.version,
    note,
    ...undo,
  })) as WriteResult;
}

async function runValidator(
  reloader: Reloader,
  service: string,
  command: readonly string[],
): Promise<ExecResult> {
  try {
    return await reloader.validate(service, command);
  } catch (error) {
    return {
      task: '',
      container: '',
      exitCode: null,
      output: '',
      truncated: false,
      outputBytes: 0,
      durationMs: 0,
      error: (error as Error).message,
    };
  }
}

function summarizeSignal(sent: { signal: string; results: { delivered: boolean }[] }) {
  return {
    signal: sent.signal,
    delivered: sent.results.filter((r) => r.delivered).length,
    tasks: sent.results.length,
    results: sent.results,
  };
}
