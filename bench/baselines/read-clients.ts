// Benchmark baseline: only the SDK clients and commands the read tier uses, as any
// hand-written Lambda would bundle them.

import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';

export const clients = [new ECSClient({}), new CloudWatchLogsClient({})];
export const commands = [
  FilterLogEventsCommand,
  GetLogEventsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
];
