// The ecs-sidekick stack: wires the tiers, the API, backup storage, the sidekick tasks and
// config-files Lambdas of each volume, and (with no config) the demo service.

import { Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { Construct } from 'constructs';
import { NetworkConfig, resolveTargets, ServiceTarget, SidekickConfig, VolumeTarget } from './config';
import { BackupStorage } from './constructs/backup-storage';
import { ConfigFiles } from './constructs/config-files';
import { DemoService } from './constructs/demo-service';
import { ExecAudit } from './constructs/exec-audit';
import { ExecFunctions } from './constructs/exec-tier';
import { OperateTier } from './constructs/operate-tier';
import { OpsApi } from './constructs/ops-api';
import { ReadTier } from './constructs/read-tier';
import { Runbooks } from './constructs/runbooks';
import { TaskHistory } from './constructs/task-history';
import { SidekickTask } from './constructs/sidekick-task';
import { FunctionNetwork } from './constructs/tier-function';
import { sidekickImageDirectory } from './sidekick-image';

export interface SidekickStackProps extends StackProps {
  /** The services to operate. @default - deploy the demo service and operate it */
  readonly config?: SidekickConfig;
}

export class SidekickStack extends Stack {
  readonly api: OpsApi;
  readonly demo?: DemoService;
  readonly storage: BackupStorage;
  readonly runbooks: Runbooks;

  constructor(scope: Construct, id: string, props: SidekickStackProps = {}) {
    super(scope, id, props);
    const config = props.config;
    this.demo = config ? undefined : new DemoService(this, 'Demo');
    const configured = config ? resolveTargets(config) : [this.demo!.target];
    const logRetention = retentionOf(config?.logRetentionDays);
    const retention = logRetention ? { logRetention } : {};

    this.storage = new BackupStorage(this, 'Storage', {
      ...(config?.backups ? { backups: config.backups } : {}),
    });
    const volumes = this.provisionVolumes(
      configured,
      (service) => this.networkOf(service, config),
      logRetention,
    );

    const read = new ReadTier(this, 'Read', {
      targets: volumes.targets,
      storage: this.storage,
      configReaders: volumes.readers,
      ...retention,
    });
    const audit = new ExecAudit(this, 'ExecAudit');
    const exec = new ExecFunctions(this, 'Exec', { targets: volumes.targets, audit, ...retention });
    const operate = new OperateTier(this, 'Operate', {
      targets: volumes.targets,
      storage: this.storage,
      sidekicks: volumes.sidekicks,
      configFunctions: [...volumes.writers, ...volumes.readers],
      signal: exec.signal.function,
      ...retention,
    });
    this.api = new OpsApi(this, 'Ops', {
      functions: {
        read: read.lambda.function,
        operate: operate.lambda.function,
        breakglass: exec.breakglass.function,
        signal: exec.signal.function,
      },
      ...(config?.api?.rateLimit ? { rateLimit: config.api.rateLimit } : {}),
      ...(config?.api?.burstLimit ? { burstLimit: config.api.burstLimit } : {}),
    });
    new TaskHistory(this, 'TaskHistory', {
      targets: volumes.targets,
      recorder: operate.lambda.function,
      readers: [read.lambda.function],
      ...(config?.taskHistory?.retentionDays ? { retentionDays: config.taskHistory.retentionDays } : {}),
    });
    this.runbooks = new Runbooks(this, 'Runbooks', {
      read: read.lambda.function,
      operate: operate.lambda.function,
      ...retention,
    });
    this.runbooks.grantUse(this.api.tierPolicies.operate!, 'operate');
    this.runbooks.grantUse(this.api.tierPolicies.read!, 'read');
  }

  /**
   * A sidekick task definition for every volume, config-files Lambdas for the volumes that
   * serve config, and the targets the Lambdas get: each volume with what was made for it.
   */
  private provisionVolumes(
    targets: readonly ServiceTarget[],
    networkOf: (service: string) => FunctionNetwork,
    logRetention?: logs.RetentionDays,
  ) {
    const sidekicks: { cluster: string; task: SidekickTask }[] = [];
    const readers: lambda.IFunction[] = [];
    const writers: lambda.IFunction[] = [];
    const hasVolumes = targets.some((t) => Object.keys(t.volumes ?? {}).length > 0);
    if (!hasVolumes) return { targets: [...targets], sidekicks, readers, writers };
    const logGroup = new logs.LogGroup(this, 'SidekickLogs', {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const image = ecs.ContainerImage.fromAsset(sidekickImageDirectory(), { platform: Platform.LINUX_ARM64 });
    const provisioned = targets.map((target): ServiceTarget => {
      const volumes: Record<string, VolumeTarget> = {};
      for (const [name, volume] of Object.entries(target.volumes ?? {})) {
        const task = new SidekickTask(this, `Sidekick-${target.name}-${name}`, {
          service: target.name,
          volumeName: name,
          volume,
          storage: this.storage,
          image,
          logGroup,
        });
        sidekicks.push({ cluster: target.cluster, task });
        let files: VolumeTarget['files'];
        if (volume.configFiles) {
          const fns = new ConfigFiles(this, `ConfigFiles-${target.name}-${name}`, {
            service: target.name,
            volumeName: name,
            volume,
            network: networkOf(target.name),
            ...(logRetention ? { logRetention } : {}),
          });
          readers.push(fns.reader.function);
          writers.push(fns.writer.function);
          files = { read: fns.reader.function.functionName, write: fns.writer.function.functionName };
        }
        volumes[name] = {
          ...volume,
          sidekickTaskDefinition: task.taskDefinition.taskDefinitionArn,
          ...(files ? { files } : {}),
        };
      }
      return { ...target, ...(target.volumes ? { volumes } : {}) };
    });
    return { targets: provisioned, sidekicks, readers, writers };
  }

  private networkOf(service: string, config: SidekickConfig | undefined): FunctionNetwork {
    if (!config) return this.demo!.network;
    const network: NetworkConfig | undefined = config.services[service]?.network;
    if (!network) throw new Error(`services.${service}.network is required for a volume with configFiles`);
    return {
      vpc: ec2.Vpc.fromVpcAttributes(this, `Vpc-${service}`, {
        vpcId: network.vpcId,
        availabilityZones: [Fn.select(0, Fn.getAzs())],
      }),
      subnets: network.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet-${service}-${i}`, id)),
      securityGroups: network.securityGroupIds.map((id, i) =>
        ec2.SecurityGroup.fromSecurityGroupId(this, `Sg-${service}-${i}`, id, { mutable: false }),
      ),
    };
  }
}

/** CloudWatch accepts only certain retention periods; take the longest not above the ask. */
function retentionOf(days: number | undefined): logs.RetentionDays | undefined {
  if (days === undefined) return undefined;
  const allowed = Object.values(logs.RetentionDays).filter(
    (v): v is number => typeof v === 'number' && v > 0 && v <= days,
  );
  return (allowed.length ? Math.max(...allowed) : logs.RetentionDays.ONE_DAY) as logs.RetentionDays;
}
