// Benchmark baseline: only the SDK clients, commands and WebSocket library the exec Lambdas
// (breakglass, signal) use, as any hand-written ECS Exec Lambda would bundle them.

import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ExecuteCommandCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import WebSocket from 'ws';

export const clients = [new ECSClient({}), new KMSClient({}), new CloudWatchLogsClient({})];
export const commands = [
  ExecuteCommandCommand,
  DescribeTasksCommand,
  DescribeClustersCommand,
  ListTasksCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  GenerateDataKeyCommand,
  PutLogEventsCommand,
  CreateLogStreamCommand,
  WebSocket,
];
