// One backup or restore per volume at a time: a lease in DynamoDB, taken with a conditional
// write, renewed by the sidekick while it works, and checked (and renewed) right before it
// commits anything. A holder whose lease expired cannot renew it, so it cannot commit late.

import { randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../shared/errors';

export interface StateTable {
  readonly ddb: DynamoDBClient;
  readonly table: string;
}

export interface Lease {
  readonly pk: string;
  readonly holder: string;
  readonly token: string;
  readonly kind: string;
  readonly caller: string;
  readonly since: number;
  readonly expiresAt: number;
}

export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

export const LEASE_TTL_MS = 2 * 60_000;

export function leaseKey(service: string, volume: string): string {
  return `lease#${service}#${volume}`;
}

export async function acquireLease(
  state: StateTable,
  key: string,
  holder: { operationId: string; kind: string; caller: string },
  now: number,
  ttlMs = LEASE_TTL_MS,
): Promise<Lease> {
  const lease: Lease = {
    pk: key,
    holder: holder.operationId,
    token: randomBytes(12).toString('hex'),
    kind: holder.kind,
    caller: holder.caller,
    since: now,
    expiresAt: now + ttlMs,
  };
  try {
    await state.ddb.send(
      new PutItemCommand({
        TableName: state.table,
        Item: marshall({ ...lease, ttl: Math.ceil((now + 86_400_000) / 1000) }),
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: marshall({ ':now': now }),
      }),
    );
    return lease;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = await readLease(state, key);
    throw new ConflictError(
      current
        ? `volume is busy: ${current.kind} ${current.holder} by ${current.caller} since ${new Date(current.since).toISOString()} (lease until ${new Date(current.expiresAt).toISOString()})`
        : 'volume is busy with another operation',
    );
  }
}

export async function readLease(state: StateTable, key: string): Promise<Lease | undefined> {
  const out = await state.ddb.send(
    new GetItemCommand({ TableName: state.table, Key: marshall({ pk: key }), ConsistentRead: true }),
  );
  return out.Item ? (unmarshall(out.Item) as Lease) : undefined;
}

/** Extends the lease if it is still ours and not expired; otherwise throws LeaseLost. */
export async function renewLease(
  state: StateTable,
  lease: Pick<Lease, 'pk' | 'holder' | 'token'>,
  now: number,
  ttlMs = LEASE_TTL_MS,
): Promise<number> {
  const expiresAt = now + ttlMs;
  try {
    await state.ddb.send(
      new UpdateItemCommand({
        TableName: state.table,
        Key: marshall({ pk: lease.pk }),
        UpdateExpression: 'SET expiresAt = :expires',
        ConditionExpression: 'holder = :holder AND #token = :token AND expiresAt >= :now',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: marshall({
          ':expires': expiresAt,
          ':holder': lease.holder,
          ':token': lease.token,
          ':now': now,
        }),
      }),
    );
    return expiresAt;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new LeaseLost(
        `the lease on ${lease.pk} is no longer held by ${lease.holder} (expired or taken over): nothing was committed`,
      );
    }
    throw error;
  }
}

export async function releaseLease(
  state: StateTable,
  lease: Pick<Lease, 'pk' | 'holder' | 'token'>,
): Promise<void> {
  try {
    await state.ddb.send(
      new DeleteItemCommand({
        TableName: state.table,
        Key: marshall({ pk: lease.pk }),
        ConditionExpression: 'holder = :holder AND #token = :token',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: marshall({ ':holder': lease.holder, ':token': lease.token }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Items of the state table matching a filter, every page (a small table: leases, operations, tokens). */
export async function scanStateTable<T>(
  state: StateTable,
  filter: string,
  values: Record<string, unknown>,
  names?: Record<string, string>,
): Promise<T[]> {
  const found: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await state.ddb.send(
      new ScanCommand({
        TableName: state.table,
        FilterExpression: filter,
        ExpressionAttributeValues: marshall(values),
        ...(names ? { ExpressionAttributeNames: names } : {}),
        ...(start ? { ExclusiveStartKey: marshall(start) } : {}),
      }),
    );
    found.push(...(out.Items ?? []).map((item) => unmarshall(item) as T));
    start = out.LastEvaluatedKey ? unmarshall(out.LastEvaluatedKey) : undefined;
  } while (start);
  return found;
}
