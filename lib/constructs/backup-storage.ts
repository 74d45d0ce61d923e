// Where backups and operation state live: a versioned, encrypted, TLS-only bucket with public
// access blocked, access logs, lifecycle retention and optional Object Lock; and a DynamoDB
// table for volume leases, operations and client tokens (TTL, point-in-time recovery).

import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BackupsConfig } from '../config';

export interface BackupStorageProps {
  readonly backups?: BackupsConfig;
}

export const DEFAULT_RETENTION_DAYS = 35;

export class BackupStorage extends Construct {
  readonly bucket: s3.Bucket;
  readonly table: dynamodb.Table;
  readonly timeLimitMinutes: number;

  constructor(scope: Construct, id: string, props: BackupStorageProps = {}) {
    super(scope, id);
    const retentionDays = props.backups?.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const lockDays = props.backups?.objectLockDays;
    if (lockDays !== undefined && lockDays > retentionDays) {
      throw new Error(
        `backups.objectLockDays (${lockDays}) must not exceed backups.retentionDays (${retentionDays})`,
      );
    }
    this.timeLimitMinutes = props.backups?.timeLimitMinutes ?? 120;
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Backups', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'backups/',
      ...(lockDays
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(lockDays)),
          }
        : {}),
      lifecycleRules: [
        {
          id: 'retention',
          prefix: 'backups/',
          expiration: Duration.days(retentionDays),
          noncurrentVersionExpiration: Duration.days(7),
          // Uploads of a sidekick that died never complete; their parts are dropped.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Where a function finds the bucket and table, set next to its grants. */
  configure(fn: lambda.Function): void {
    fn.addEnvironment('SIDEKICK_BUCKET', this.bucket.bucketName);
    fn.addEnvironment('SIDEKICK_TABLE', this.table.tableName);
    fn.addEnvironment('SIDEKICK_TIME_LIMIT_MINUTES', String(this.timeLimitMinutes));
  }

  /** The cdk-nag findings grantCatalogRead causes, with why each wildcard is there. */
  catalogFindings(services: readonly string[]): [string, string][] {
    const stack = Stack.of(this);
    const bucketId = stack.resolve(stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)) as string;
    return services.map((s) => [
      `Resource::<${bucketId}.Arn>/backups/${s}/*/manifest.json`,
      `only manifests of ${s}'s backups; the * is the volume and backup id`,
    ]);
  }

  /** Writes the diagnoses the diagnose-failed-start runbook keeps, under diagnoses/<service>/. */
  grantDiagnosesWrite(grantee: iam.IGrantable, services: readonly string[]): [string, string][] {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'KeepDiagnoses',
        actions: ['s3:PutObject'],
        resources: services.map((s) => this.bucket.arnForObjects(`diagnoses/${s}/*`)),
      }),
    );
    const stack = Stack.of(this);
    const bucketId = stack.resolve(stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)) as string;
    return services.map((s) => [
      `Resource::<${bucketId}.Arn>/diagnoses/${s}/*`,
      `only ${s}'s diagnoses; the * is the time and execution of each`,
    ]);
  }

  /** Lists backups of the given services and reads their manifests. */
  grantCatalogRead(grantee: iam.IGrantable, services: readonly string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListBackups',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': services.map((s) => `backups/${s}/*`) } },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadManifests',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: services.map((s) => this.bucket.arnForObjects(`backups/${s}/*/manifest.json`)),
      }),
    );
  }
}
