// The config-files Lambdas of one volume: a reader and a writer that mount the volume's EFS
// access point at /mnt/<volume>, so config reads and writes never wait for a task to start.
// The reader's role may only mount; the writer's may mount and write. Only the read and
// operate Lambdas may invoke them.

import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { VolumeConfig } from '../config';
import { acknowledgeWildcards } from './read-tier';
import { FunctionNetwork, TierFunction } from './tier-function';

export interface ConfigFilesProps {
  readonly service: string;
  readonly volumeName: string;
  readonly volume: VolumeConfig;
  readonly network: FunctionNetwork;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const ENTRY = join(__dirname, '..', '..', 'lambdas', 'tiers', 'files.ts');

export class ConfigFiles extends Construct {
  readonly reader: TierFunction;
  readonly writer: TierFunction;

  constructor(scope: Construct, id: string, props: ConfigFilesProps) {
    super(scope, id);
    const { volume, volumeName, service } = props;
    if (!volume.accessPointId)
      throw new Error(`volumes.${volumeName}.accessPointId is required for configFiles`);
    const accessPointArn = `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:access-point/${volume.accessPointId}`;
    const fileSystemArn = `arn:${Aws.PARTITION}:elasticfilesystem:${Aws.REGION}:${Aws.ACCOUNT_ID}:file-system/${volume.fileSystemId}`;
    const mountPath = `/mnt/${volumeName}`;
    const make = (access: 'read' | 'write') => {
      const actions =
        access === 'write'
          ? ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']
          : ['elasticfilesystem:ClientMount'];
      const filesystem = new AccessPointMount({
        arn: accessPointArn,
        localMountPath: mountPath,
        policies: [
          new iam.PolicyStatement({
            actions,
            resources: [fileSystemArn],
            conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPointArn } },
          }),
        ],
      });
      return new TierFunction(this, access === 'write' ? 'Writer' : 'Reader', {
        tier: access === 'write' ? 'operate' : 'read',
        entry: ENTRY,
        targets: [],
        timeout: Duration.seconds(20),
        memorySize: 256,
        description: `ecs-sidekick config files of ${service}/${volumeName} (${access})`,
        network: props.network,
        filesystem,
        environment: {
          SIDEKICK_FILES_SERVICE: service,
          SIDEKICK_FILES_VOLUME: volumeName,
          SIDEKICK_FILES_ROOT: mountPath,
          SIDEKICK_FILES_ACCESS: access,
        },
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
    };
    this.reader = make('read');
    this.writer = make('write');
    for (const fn of [this.reader, this.writer]) {
      acknowledgeWildcards(fn.role, [
        [
          'Resource::*',
          'ec2:CreateNetworkInterface/DescribeNetworkInterfaces/DeleteNetworkInterface (the function in its VPC) and X-Ray writes have no resource-level permissions',
        ],
      ]);
    }
  }
}

/** lambda.FileSystem with our own policy: fromEfsAccessPoint always grants ClientWrite. */
class AccessPointMount extends lambda.FileSystem {
  constructor(config: lambda.FileSystemConfig) {
    super(config);
  }
}
