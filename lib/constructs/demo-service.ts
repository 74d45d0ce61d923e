// What `cdk deploy` with no config creates, so there is something to operate: a VPC, a
// cluster whose ECS Exec sessions are KMS-encrypted and logged to an encrypted log group, and
// a Fargate service `web` (nginx plus a worker sidecar) with ECS Exec on (initProcessEnabled),
// EFS volumes `data` and `config` through access points, and awslogs.

import { CfnElement, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ServiceTarget, VolumeConfig } from '../config';
import { allowLogsToUseKey } from './exec-audit';
import { FunctionNetwork } from './tier-function';

export interface DemoServiceProps {
  /** @default logs.RetentionDays.ONE_WEEK */
  readonly logRetention?: logs.RetentionDays;
}

/** The demo's volumes: name → (path on the file system, mount path in the containers). */
const VOLUMES = { data: '/data', config: '/config' } as const;
/** The nginx image runs its workers as uid/gid 101. */
const APP_USER = { uid: '101', gid: '101' };

export class DemoService extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly fileSystem: efs.FileSystem;
  readonly logGroup: logs.LogGroup;
  readonly execKey: kms.Key;
  readonly target: ServiceTarget;
  /** Where the demo's config-files Lambdas run: its subnets and the service's security group. */
  readonly network: FunctionNetwork;

  constructor(scope: Construct, id: string, props: DemoServiceProps = {}) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    // Literal names (not the resources' Ref tokens) so IAM statements and the targets file
    // name them directly.
    const clusterName = `${stackName}-demo`;
    const logGroupName = `/ecs-sidekick/${stackName}/web`;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      // Public subnets only: the demo pulls public images without paying for a NAT gateway.
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    // ECS Exec: sessions encrypted with this key, transcripts in a log group encrypted with it.
    this.execKey = new kms.Key(this, 'ExecKey', {
      description: `${stackName} demo cluster: ECS Exec sessions`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    allowLogsToUseKey(this.execKey);
    const execLogs = new logs.LogGroup(this, 'ExecSessionLogs', {
      encryptionKey: this.execKey,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      clusterName,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      executeCommandConfiguration: {
        kmsKey: this.execKey,
        logging: ecs.ExecuteCommandLogging.OVERRIDE,
        logConfiguration: { cloudWatchLogGroup: execLogs, cloudWatchEncryptionEnabled: true },
      },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSg', {
      vpc,
      description: 'demo web service: no inbound, outbound to pull images and reach EFS',
    });
    this.fileSystem = new efs.FileSystem(this, 'Files', {
      vpc,
      encrypted: true,
      removalPolicy: RemovalPolicy.DESTROY,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
    });
    this.fileSystem.connections.allowDefaultPortFrom(serviceSecurityGroup, 'NFS from the demo service');

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: `${stackName}-demo-web`,
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const volumes: Record<string, VolumeConfig> = {};
    for (const [name, path] of Object.entries(VOLUMES)) {
      const accessPoint = this.fileSystem.addAccessPoint(`${name}AccessPoint`, {
        path,
        createAcl: { ownerUid: APP_USER.uid, ownerGid: APP_USER.gid, permissions: '0755' },
        posixUser: APP_USER,
      });
      taskDefinition.addVolume({
        name,
        efsVolumeConfiguration: {
          fileSystemId: this.fileSystem.fileSystemId,
          transitEncryption: 'ENABLED',
          authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
        },
      });
      accessPoint.node.addDependency(this.fileSystem.mountTargetsAvailable);
      this.fileSystem.grant(
        taskDefinition.taskRole,
        'elasticfilesystem:ClientMount',
        'elasticfilesystem:ClientWrite',
      );
      volumes[name] = {
        fileSystemId: this.fileSystem.fileSystemId,
        accessPointId: accessPoint.accessPointId,
        containerPath: path,
        iamAuthorization: true,
        transitEncryption: true,
        ...(name === 'config' ? { configFiles: true } : {}),
      };
    }

    const logging = ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'web' });
    const web = taskDefinition.addContainer('web', {
      containerName: 'web',
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:stable-alpine'),
      essential: true,
      logging,
      linuxParameters: new ecs.LinuxParameters(this, 'WebLinux', { initProcessEnabled: true }),
      portMappings: [{ containerPort: 80 }],
    });
    const worker = taskDefinition.addContainer('worker', {
      containerName: 'worker',
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:stable'),
      essential: false,
      logging,
      linuxParameters: new ecs.LinuxParameters(this, 'WorkerLinux', { initProcessEnabled: true }),
      // A fixed demo loop; nothing from a request ever reaches a shell.
      command: ['sh', '-c', 'n=0; while true; do n=$((n+1)); echo "INFO job $n done"; sleep 5; done'],
    });
    for (const container of [web, worker]) {
      for (const [name, path] of Object.entries(VOLUMES)) {
        container.addMountPoints({ sourceVolume: name, containerPath: path, readOnly: false });
      }
    }

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      serviceName: 'web',
      taskDefinition,
      desiredCount: 1,
      assignPublicIp: true,
      securityGroups: [serviceSecurityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      enableExecuteCommand: true,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      platformVersion: ecs.FargatePlatformVersion.VERSION1_4,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.target = {
      name: 'web',
      cluster: clusterName,
      service: 'web',
      logGroups: [logGroupName],
      volumes,
      execKmsKeyArn: this.execKey.keyArn,
      // nginx checks its own configuration before a reload.
      validators: [['nginx', '-t']],
    };
    this.network = {
      vpc,
      subnets: vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC }).subnets,
      securityGroups: [serviceSecurityGroup],
    };
    this.acknowledgeFindings(taskDefinition, execLogs);
  }

  private acknowledgeFindings(taskDefinition: ecs.FargateTaskDefinition, execLogs: logs.LogGroup) {
    const stack = Stack.of(this);
    const taskPolicy = Validations.of(
      taskDefinition.taskRole.node.tryFindChild('DefaultPolicy') ?? taskDefinition.taskRole,
    );
    taskPolicy.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ECS Exec: ssmmessages:Create/OpenControlChannel and Create/OpenDataChannel have no resource-level permissions ' +
        '(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html).',
    });
    // CDK's ECS Exec grant: the agent writes session transcripts to streams it names itself.
    // cdk-nag names the finding after the rendered ARN: the env's Region and account when set.
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const logsId = stack.resolve(stack.getLogicalId(execLogs.node.defaultChild as CfnElement)) as string;
    taskPolicy.acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:<${logsId}>:*]`,
      reason: "The ECS Exec agent creates one stream per session in the demo cluster's session log group.",
    });
    const executionPolicy = taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      Validations.of(executionPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken has no resource-level permissions; the images are public.',
      });
    }
  }
}
