// Operation records (what a 202 hands back and GET /operations/{id} reads) and client tokens
// that make every POST idempotent, in the same DynamoDB table as the leases.

import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError, NotFoundError } from '../shared/errors';
import { scanStateTable, StateTable } from './lease';
import type { RestartProgress } from '../restart/restart';

export type OperationStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export const TERMINAL: readonly OperationStatus[] = ['SUCCEEDED', 'FAILED'];

export interface Operation {
  readonly id: string;
  readonly kind: 'backup' | 'restore' | 'restart';
  readonly service: string;
  readonly volume?: string;
  readonly path?: string;
  readonly backupId?: string;
  readonly status: OperationStatus;
  readonly progress: { readonly bytes: number; readonly files: number };
  readonly caller: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Epoch ms after which the sidekick task is stopped and the operation fails. */
  readonly deadline: number;
  readonly taskArn?: string;
  readonly result?: Record<string, unknown>;
  readonly error?: string;
  /** A restart's deployment, rollout state, the tasks it stopped and the ones that failed. */
  readonly restart?: RestartProgress;
  /** The Step Functions execution that started it, if one did (stopped when that is aborted). */
  readonly execution?: string;
  /** The volume lease the operation holds; never shown to callers. */
  readonly lease?: {
    readonly pk: string;
    readonly holder: string;
    readonly token: string;
    /** A runbook's lease: renewed for ttlMs, released by the runbook, not by the operation. */
    readonly keep?: boolean;
    readonly ttlMs?: number;
  };
}

/** An operation as callers see it. */
export type OperationView = Omit<Operation, 'lease'>;

export function operationView(op: Operation): OperationView {
  const { lease: _lease, ...view } = op;
  return view;
}

/** Operation records are kept 30 days. */
const KEEP_SECONDS = 30 * 86_400;

const opKey = (id: string) => `op#${id}`;

export async function createOperation(state: StateTable, op: Operation): Promise<void> {
  await state.ddb.send(
    new PutItemCommand({
      TableName: state.table,
      Item: marshall(
        { pk: opKey(op.id), ...op, ttl: Math.ceil(Date.parse(op.createdAt) / 1000) + KEEP_SECONDS },
        { removeUndefinedValues: true },
      ),
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

export async function getOperation(state: StateTable, id: string): Promise<Operation> {
  const out = await state.ddb.send(
    new GetItemCommand({ TableName: state.table, Key: marshall({ pk: opKey(id) }), ConsistentRead: true }),
  );
  if (!out.Item) throw new NotFoundError(`operation ${id} was not found (records are kept 30 days)`);
  const { pk: _pk, ttl: _ttl, ...op } = unmarshall(out.Item);
  return op as Operation;
}

/**
 * Updates an operation that is not finished yet. Returns false when it already was (a late
 * update never changes a final status).
 */
export async function updateOperation(
  state: StateTable,
  id: string,
  fields: Partial<Pick<Operation, 'status' | 'progress' | 'result' | 'error' | 'taskArn' | 'restart'>>,
  now: number,
  /** Only if the restart is still at this step: two drivers never both take the next step. */
  expectStep?: number,
): Promise<boolean> {
  const values: Record<string, unknown> = {
    ':updated': new Date(now).toISOString(),
    ':succeeded': 'SUCCEEDED',
    ':failed': 'FAILED',
  };
  const sets = ['updatedAt = :updated'];
  const names: Record<string, string> = { '#status': 'status' };
  let condition = 'attribute_exists(pk) AND NOT #status IN (:succeeded, :failed)';
  if (expectStep !== undefined) {
    names['#r'] = 'restart';
    values[':step'] = expectStep;
    condition += ' AND #r.step = :step';
  }
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#${key}`] = key;
    values[`:${key}`] = value;
    sets.push(`#${key} = :${key}`);
  }
  try {
    await state.ddb.send(
      new UpdateItemCommand({
        TableName: state.table,
        Key: marshall({ pk: opKey(id) }),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Operations not finished yet (the table is small: leases, operations, tokens). */
export async function unfinishedOperations(state: StateTable): Promise<Operation[]> {
  const items = await scanStateTable<Operation & { pk: string; ttl?: number }>(
    state,
    'begins_with(pk, :op) AND #status IN (:pending, :running)',
    { ':op': 'op#', ':pending': 'PENDING', ':running': 'RUNNING' },
    { '#status': 'status' },
  );
  return items.map(({ pk: _pk, ttl: _ttl, ...op }) => op);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/**
 * Ties a client token to the operation it started. The same token with the same request
 * returns that operation's id; with a different request it is a 409.
 */
export async function claimClientToken(
  state: StateTable,
  token: string,
  hash: string,
  operationId: string,
  now: number,
): Promise<{ existing?: string }> {
  try {
    await state.ddb.send(
      new PutItemCommand({
        TableName: state.table,
        Item: marshall({
          pk: `token#${token}`,
          hash,
          operationId,
          ttl: Math.ceil(now / 1000) + KEEP_SECONDS,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return {};
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const out = await state.ddb.send(
    new GetItemCommand({
      TableName: state.table,
      Key: marshall({ pk: `token#${token}` }),
      ConsistentRead: true,
    }),
  );
  const item = out.Item ? unmarshall(out.Item) : undefined;
  if (item?.hash !== hash) throw new ConflictError('clientToken was already used with a different request');
  return { existing: String(item.operationId) };
}

export async function forgetClientToken(state: StateTable, token: string): Promise<void> {
  await state.ddb.send(
    new DeleteItemCommand({ TableName: state.table, Key: marshall({ pk: `token#${token}` }) }),
  );
}
