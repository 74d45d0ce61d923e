// Benchmark baseline: only the SDK clients and commands the operate Lambda uses (backups,
// restores, operations, config writes, restarts, runbook steps, task history), as any hand-written Lambda would bundle them.

import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';

export const clients = [
  new ECSClient({}),
  new DynamoDBClient({}),
  new S3Client({}),
  new LambdaClient({}),
  new CloudWatchLogsClient({}),
];
export const commands = [
  PutObjectCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  DeleteItemCommand,
  ScanCommand,
  GetObjectCommand,
  InvokeCommand,
];
