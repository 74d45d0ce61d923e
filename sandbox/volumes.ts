// The sandbox's volumes and backup storage: each configured EFS volume is a local directory,
// backups go to a bucket in moto and operations/leases to a table in moto, and each volume
// gets a sidekick task definition in moto (what the stack deploys), which the sidekick runner
// recognises and runs.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateLogGroupCommand, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { ServiceTarget } from '../lib/config';
import { SIDEKICK_CONTAINER } from '../lambdas/volumes/jobs';

export interface SandboxStorage {
  readonly bucket: string;
  readonly table: string;
  readonly logGroup: string;
  /** Stopped tasks kept for diagnose (the stack's task history table). */
  readonly historyTable: string;
}

export function volumeDir(stateDir: string, service: string, volume: string): string {
  return join(stateDir, 'volumes', service, volume);
}

/** The config-files Lambdas' names in the sandbox. */
export function filesFunctionName(service: string, volume: string, access: 'read' | 'write'): string {
  return `sandbox-files-${service}-${volume}-${access}`;
}
export const SIGNAL_FUNCTION = 'sandbox-signal';

export async function createStorage(
  clients: { s3: S3Client; ddb: DynamoDBClient; logs: CloudWatchLogsClient },
  storage: SandboxStorage,
): Promise<void> {
  await clients.s3.send(new CreateBucketCommand({ Bucket: storage.bucket }));
  await clients.s3.send(
    new PutBucketVersioningCommand({
      Bucket: storage.bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  await clients.ddb.send(
    new CreateTableCommand({
      TableName: storage.table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await clients.ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: storage.table,
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
    }),
  );
  await clients.ddb.send(
    new CreateTableCommand({
      TableName: storage.historyTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'service', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'service', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  await clients.logs.send(new CreateLogGroupCommand({ logGroupName: storage.logGroup }));
}

export interface SidekickVolume {
  readonly service: string;
  readonly volume: string;
  readonly cluster: string;
  readonly family: string;
  readonly hostDir: string;
}

/**
 * Registers a sidekick task definition for each volume and returns the targets with what the
 * stack would give the Lambdas: the task definition ARNs and the config-files function names.
 */
export async function provisionVolumes(
  ecs: ECSClient,
  targets: readonly ServiceTarget[],
  stateDir: string,
  storage: SandboxStorage,
): Promise<{ targets: ServiceTarget[]; volumes: Map<string, SidekickVolume> }> {
  const volumes = new Map<string, SidekickVolume>();
  const out: ServiceTarget[] = [];
  for (const target of targets) {
    const provisioned: NonNullable<ServiceTarget['volumes']> = {};
    for (const [name, volume] of Object.entries(target.volumes ?? {})) {
      const family = `ecs-sidekick-${target.name}-${name}`;
      const hostDir = volumeDir(stateDir, target.name, name);
      mkdirSync(hostDir, { recursive: true });
      const registered = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: '1024',
          memory: '2048',
          volumes: [
            {
              name,
              efsVolumeConfiguration: {
                fileSystemId: volume.fileSystemId,
                ...(volume.rootDirectory ? { rootDirectory: volume.rootDirectory } : {}),
                transitEncryption: volume.transitEncryption ? 'ENABLED' : 'DISABLED',
                ...(volume.accessPointId
                  ? {
                      authorizationConfig: {
                        accessPointId: volume.accessPointId,
                        iam: volume.iamAuthorization ? 'ENABLED' : 'DISABLED',
                      },
                    }
                  : {}),
              },
            },
          ],
          containerDefinitions: [
            {
              name: SIDEKICK_CONTAINER,
              image: 'ecs-sidekick/sidekick:sandbox',
              essential: true,
              memory: 2048,
              mountPoints: [{ sourceVolume: name, containerPath: '/mnt/volume' }],
              environment: [
                { name: 'SIDEKICK_BUCKET', value: storage.bucket },
                { name: 'SIDEKICK_TABLE', value: storage.table },
                { name: 'SIDEKICK_VOLUME_ROOT', value: '/mnt/volume' },
              ],
              logConfiguration: {
                logDriver: 'awslogs',
                options: { 'awslogs-group': storage.logGroup, 'awslogs-stream-prefix': 'sidekick' },
              },
            },
          ],
        }),
      );
      const arn = registered.taskDefinition!.taskDefinitionArn!;
      volumes.set(arn, { service: target.name, volume: name, cluster: target.cluster, family, hostDir });
      provisioned[name] = {
        ...volume,
        sidekickTaskDefinition: arn,
        ...(volume.configFiles
          ? {
              files: {
                read: filesFunctionName(target.name, name, 'read'),
                write: filesFunctionName(target.name, name, 'write'),
              },
            }
          : {}),
      };
    }
    out.push({ ...target, ...(target.volumes ? { volumes: provisioned } : {}) });
  }
  return { targets: out, volumes };
}
