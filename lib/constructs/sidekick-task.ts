// The sidekick task definition of one volume: the Fargate `--volumes-from`. It mounts exactly
// the service's EFS volume (file system, access point, root directory, IAM authorization,
// transit encryption) at /mnt/volume, runs the sidekick program, and its role may write only
// its own S3 prefix, update only its own lease and operations, and mount only that volume.

import { Aws, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { VolumeConfig } from '../config';
import { SIDEKICK_CONTAINER } from '../../lambdas/volumes/jobs';
import { BackupStorage } from './backup-storage';
import { acknowledgeWildcards } from './read-tier';

export interface SidekickTaskProps {
  readonly service: string;
  readonly volumeName: string;
  readonly volume: VolumeConfig;
  readonly storage: BackupStorage;
  readonly image: ecs.ContainerImage;
  readonly logGroup: logs.ILogGroup;
  /** @default 1024 - gzip is CPU-bound; a full vCPU keeps backups near `tar -cz` speed */
  readonly cpu?: number;
  /** @default 2048 */
  readonly memoryLimitMiB?: number;
}

export const VOLUME_MOUNT = '/mnt/volume';

export class SidekickTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;

  constructor(scope: Construct, id: string, props: SidekickTaskProps) {
    super(scope, id);
    const { volume, volumeName, service, storage } = props;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: `${Stack.of(this).stackName}-sidekick-${service}-${volumeName}`,
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinition.addVolume({
      name: volumeName,
      efsVolumeConfiguration: {
        fileSystemId: volume.fileSystemId,
        ...(volume.rootDirectory && !volume.accessPointId ? { rootDirectory: volume.rootDirectory } : {}),
        transitEncryption: volume.transitEncryption || volume.accessPointId ? 'ENABLED' : 'DISABLED',
        ...(volume.accessPointId
          ? {
              authorizationConfig: {
                accessPointId: volume.accessPointId,
                iam: volume.iamAuthorization ? 'ENABLED' : 'DISABLED',
              },
            }
          : {}),
      },
    });
    const container = this.taskDefinition.addContainer('Sidekick', {
      containerName: SIDEKICK_CONTAINER,
      image: props.image,
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: `${service}-${volumeName}` }),
      environment: {
        SIDEKICK_BUCKET: storage.bucket.bucketName,
        SIDEKICK_TABLE: storage.table.tableName,
        SIDEKICK_BUCKET_OWNER: Aws.ACCOUNT_ID,
        SIDEKICK_VOLUME_ROOT: VOLUME_MOUNT,
      },
      readonlyRootFilesystem: true,
    });
    container.addMountPoints({ sourceVolume: volumeName, containerPath: VOLUME_MOUNT, readOnly: false });
    this.grant(props);
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds the bucket and table names and the mount path, no secrets.',
    });
    const executionPolicy = this.taskDefinition.obtainExecutionRole().node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      Validations.of(executionPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken has no resource-level permissions (pulling the sidekick image asset).',
      });
    }
  }

  get taskRole(): iam.IRole {
    return this.taskDefinition.taskRole;
  }

  private grant({ service, volumeName, volume, storage }: SidekickTaskProps) {
    const role = this.taskDefinition.taskRole;
    const prefix = `backups/${service}/${volumeName}/*`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteAndReadOwnBackups',
        actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:AbortMultipartUpload'],
        resources: [storage.bucket.arnForObjects(prefix)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnLeaseAndOperations',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [storage.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['op#*', `lease#${service}#${volumeName}`] },
        },
      }),
    );
    if (volume.iamAuthorization) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'MountTheVolume',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          resources: [
            `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:file-system/${volume.fileSystemId}`,
          ],
          ...(volume.accessPointId
            ? {
                conditions: {
                  StringEquals: {
                    'elasticfilesystem:AccessPointArn': `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:access-point/${volume.accessPointId}`,
                  },
                },
              }
            : {}),
        }),
      );
    }
    const stack = Stack.of(this);
    const bucketId = stack.resolve(
      stack.getLogicalId(storage.bucket.node.defaultChild as CfnElement),
    ) as string;
    acknowledgeWildcards(role as iam.Role, [
      [
        `Resource::<${bucketId}.Arn>/backups/${service}/${volumeName}/*`,
        `backup object keys hold their backup id; the prefix is this volume's own (backups/${service}/${volumeName}/)`,
      ],
    ]);
  }
}
