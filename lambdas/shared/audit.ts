// The audit trail of every command sent into a container: who, what, where, and how it ended.
// Records go to their own CloudWatch log group, written before the command runs (so a
// command that never finishes is still on record) and again when it ends. If the first record
// cannot be written, the command does not run.

import { randomUUID } from 'node:crypto';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import { UpstreamError } from './errors';

export interface AuditEntry {
  readonly event: string;
  readonly caller: string;
  readonly requestId: string;
  readonly service: string;
  readonly cluster: string;
  readonly task: string;
  readonly container: string;
  readonly argv?: readonly string[];
  readonly [key: string]: unknown;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
}

/** Long arguments are cut in the record (the full command ran). */
const MAX_ARG_IN_RECORD = 1_024;

export function cloudWatchAuditLog(
  logs: CloudWatchLogsClient,
  logGroup: string,
  now: () => number = Date.now,
): AuditLog {
  // One stream per Lambda container: no two writers share a stream.
  const stream = `${new Date(now()).toISOString().slice(0, 10).replace(/-/g, '/')}/${randomUUID()}`;
  let created: Promise<void> | undefined;
  const ensureStream = () =>
    (created ??= logs
      .send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream }))
      .then(() => undefined)
      .catch((error: unknown) => {
        if (error instanceof ResourceAlreadyExistsException) return;
        created = undefined;
        throw error;
      }));
  return {
    async record(entry) {
      const body = {
        time: new Date(now()).toISOString(),
        ...entry,
        argv: entry.argv?.map((a) =>
          a.length > MAX_ARG_IN_RECORD ? `${a.slice(0, MAX_ARG_IN_RECORD)}…` : a,
        ),
      };
      try {
        await ensureStream();
        await logs.send(
          new PutLogEventsCommand({
            logGroupName: logGroup,
            logStreamName: stream,
            logEvents: [{ timestamp: now(), message: JSON.stringify(body) }],
          }),
        );
      } catch (error) {
        throw new UpstreamError(
          `could not write the audit record to ${logGroup}; nothing was run in the container`,
          { cause: error },
        );
      }
    },
  };
}
