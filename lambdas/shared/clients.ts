// The one place AWS SDK clients are created. Every client uses the SDK's standard retry mode
// (exponential backoff with jitter) with a bounded number of attempts, so throttling is
// retried a few times and then surfaces as an error instead of stalling a request.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export const MAX_ATTEMPTS = 5;

export interface AwsClients {
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  readonly kms: KMSClient;
  readonly iam: IAMClient;
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
}

export interface ClientOptions {
  readonly region?: string;
  /** Overrides AWS_ENDPOINT_URL, e.g. the sandbox's moto server. */
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly maxAttempts?: number;
}

export function clientConfig(options: ClientOptions = {}) {
  return {
    maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    retryMode: 'standard',
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  } as const;
}

/** S3 behind a local endpoint (moto) is addressed path-style; real S3 virtual-hosted. */
export function s3Config(options: ClientOptions = {}) {
  const local = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  return { ...clientConfig(options), ...(local ? { forcePathStyle: true } : {}) };
}

/** All clients: for the sandbox and tests. A Lambda creates only the ones it uses, so its bundle holds no others. */
export function createClients(options: ClientOptions = {}): AwsClients {
  const config = clientConfig(options);
  return {
    ecs: new ECSClient(config),
    logs: new CloudWatchLogsClient(config),
    kms: new KMSClient(config),
    iam: new IAMClient(config),
    s3: new S3Client(s3Config(options)),
    ddb: new DynamoDBClient(config),
  };
}
