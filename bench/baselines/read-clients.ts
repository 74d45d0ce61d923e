// Benchmark baseline: only the SDK clients and commands the read tier uses (status, logs,
// diagnose with task history, exec-check, backups list, config reads), as any hand-written Lambda would bundle them.

import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';

export const clients = [
  new ECSClient({}),
  new CloudWatchLogsClient({}),
  new IAMClient({}),
  new S3Client({}),
  new LambdaClient({}),
  new DynamoDBClient({}),
];
export const commands = [
  QueryCommand,
  ListObjectsV2Command,
  GetObjectCommand,
  InvokeCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  DescribeLogGroupsCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
];
