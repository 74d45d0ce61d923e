// The synthesized stack: IAM on every method, tier policies that allow exactly their routes,
// scoped Lambda roles, cdk-nag clean with reasons, cfn-lint clean.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, SidekickConfig } from '../../lib/config';
import { SidekickStack } from '../../lib/sidekick-stack';
import { ROUTES, Tier, TIERS } from '../../lambdas/shared/routes';
import { sampleRequestArn } from '../../lib/tier-policy';
import { simulateInvoke } from '../support/iam';

const run = promisify(execFile);

interface Synth {
  readonly app: App;
  readonly stack: SidekickStack;
  readonly template: Template;
  readonly json: Record<string, any>;
  readonly outdir: string;
}

function synth(config?: SidekickConfig, extra?: (stack: Stack) => void): Synth {
  const outdir = mkdtempSync(join(tmpdir(), 'sidekick-synth-'));
  const app = new App({ outdir });
  const stack = new SidekickStack(app, 'TestSidekick', {
    ...(config ? { config } : {}),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  extra?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const json = JSON.parse(readFileSync(join(assembly.directory, 'TestSidekick.template.json'), 'utf8'));
  return { app, stack, template: Template.fromJSON(json), json, outdir: assembly.directory };
}

const CONFIG: SidekickConfig = {
  services: {
    web: { cluster: 'prod', logGroups: ['/ecs/prod/web'] },
    api: { cluster: 'prod', service: 'api-svc', logGroups: ['/ecs/prod/api'] },
  },
};

let demo: Synth;
let configured: Synth;

beforeAll(() => {
  demo = synth();
  configured = synth(CONFIG);
});

const resources = (s: Synth, type: string) =>
  Object.entries(s.json.Resources as Record<string, { Type: string; Properties: any }>).filter(
    ([, r]) => r.Type === type,
  );

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
};

/** Turns the template's Fn::Join/Ref ARNs into concrete strings for the IAM evaluator. */
function concrete(value: unknown, s: Synth): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v.Ref) {
    if (PSEUDO[v.Ref]) return PSEUDO[v.Ref]!;
    const target = s.json.Resources[v.Ref];
    if (target?.Type === 'AWS::ApiGateway::RestApi') return 'api123';
    if (target?.Type === 'AWS::ApiGateway::Stage') return target.Properties.StageName;
    if (target?.Type === 'AWS::StepFunctions::StateMachine')
      return `arn:aws:states:eu-west-1:123456789012:stateMachine:${target.Properties.StateMachineName}`;
  }
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map((x) => concrete(x, s)).join(v['Fn::Join'][0]);
  throw new Error(`cannot make ${JSON.stringify(value)} concrete`);
}

/** The statements of the default policy of the role whose logical id starts with `rolePrefix`. */
function statementsOf(s: Synth, rolePrefix: string): any[] {
  const [, policy] = resources(s, 'AWS::IAM::Policy').find(([, p]) =>
    (p.Properties.Roles as any[]).some((r) => String(r.Ref).startsWith(rolePrefix)),
  )!;
  return policy.Properties.PolicyDocument.Statement;
}

/** Every action any Lambda role in the template may perform. */
function lambdaActions(s: Synth): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, f] of resources(s, 'AWS::Lambda::Function')) {
    const role = f.Properties.Role['Fn::GetAtt'][0];
    out.set(
      id,
      statementsOf(s, role).flatMap((st) => [st.Action].flat()),
    );
  }
  return out;
}

describe.each([
  ['demo', () => demo],
  ['configured', () => configured],
])('the %s stack', (_name, get) => {
  it('uses AWS_IAM on every API method', () => {
    const methods = resources(get(), 'AWS::ApiGateway::Method');
    expect(methods.length).toBe(Object.keys(ROUTES).length);
    for (const [, m] of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('validates requests on every method', () => {
    get().template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    for (const [, m] of resources(get(), 'AWS::ApiGateway::Method'))
      expect(m.Properties.RequestValidatorId).toBeDefined();
  });

  it('logs access with the caller ARN, throttles, and keeps data traces off', () => {
    get().template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { Format: Match.stringLikeRegexp('\\$context.identity.userArn') },
      MethodSettings: [
        Match.objectLike({
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ],
    });
  });

  it.each(TIERS.filter((tier) => Object.values(ROUTES).some((r) => r.tier === tier)))(
    'gives the %s tier a managed policy that allows exactly its routes',
    async (tier: Tier) => {
      const [, policy] = resources(get(), 'AWS::IAM::ManagedPolicy').find(([, p]) =>
        String(p.Properties.Description).includes(` ${tier} tier`),
      )!;
      const statements = (policy.Properties.PolicyDocument.Statement as any[]).map((s) => ({
        ...s,
        Resource: (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r: unknown) =>
          concrete(r, get()),
        ),
      }));
      const base = 'arn:aws:execute-api:eu-west-1:123456789012:api123/v1';
      for (const route of Object.values(ROUTES)) {
        expect([route.path, await simulateInvoke(statements, sampleRequestArn(base, route))]).toEqual([
          route.path,
          route.tier === tier,
        ]);
      }
    },
  );

  it('gives no Lambda role a wildcard action', () => {
    const lambdaRoles = new Set(
      resources(get(), 'AWS::Lambda::Function').map(([, f]) => f.Properties.Role['Fn::GetAtt'][0]),
    );
    const policies = resources(get(), 'AWS::IAM::Policy').filter(([, p]) =>
      (p.Properties.Roles as any[]).some((r) => lambdaRoles.has(r.Ref)),
    );
    expect(policies.length).toBeGreaterThan(0);
    for (const [, p] of policies) {
      for (const s of p.Properties.PolicyDocument.Statement) {
        for (const action of [s.Action].flat()) expect(action).not.toMatch(/(^\*$)|(:\*$)/);
      }
    }
  });

  it('runs every Lambda on Node 22 or newer, arm64, with tracing and its own log group', () => {
    for (const [, f] of resources(get(), 'AWS::Lambda::Function')) {
      expect(Number(/^nodejs(\d+)\.x$/.exec(f.Properties.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(f.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
  });

  it('lets API Gateway invoke a Lambda only for a concrete stage, method and path', () => {
    const permissions = resources(get(), 'AWS::Lambda::Permission').filter(
      ([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    expect(permissions.length).toBe(Object.keys(ROUTES).length);
    for (const [, p] of permissions) {
      const arn = concrete(p.Properties.SourceArn, get());
      expect(arn).toMatch(/:api123\/v1\/(GET|POST|PUT|DELETE)\/(services|operations)/);
      expect(arn).not.toMatch(/\/v1\/\*/);
    }
  });

  it('outputs the API URL and each tier policy ARN', () => {
    const outputs = Object.keys(get().json.Outputs);
    expect(outputs).toEqual(expect.arrayContaining(['ApiUrl', 'ReadPolicyArn']));
  });

  it('passes cdk-nag AwsSolutions with a reason for every acknowledgement', () => {
    const acknowledgements = get()
      .app.node.findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) expect([id, reason.length >= 30]).toEqual([id, true]);
    const report = JSON.parse(readFileSync(join(get().outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.flatMap((p: any) => p.violations ?? [])).toEqual([]);
  });

  it('passes cfn-lint with no errors', async () => {
    const file = join(get().outdir, 'TestSidekick.template.json');
    const { stdout } = await run('cfn-lint', ['--format', 'json', file]).catch((e: { stdout: string }) => ({
      stdout: e.stdout,
    }));
    const errors = (
      JSON.parse(stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[]
    ).filter((m) => m.Level === 'Error');
    expect(errors).toEqual([]);
  });

  it('bundles each Lambda with local esbuild, its targets file beside it', () => {
    for (const [, f] of resources(get(), 'AWS::Lambda::Function')) {
      const asset = join(get().outdir, `asset.${f.Properties.Code.S3Key.replace('.zip', '')}`);
      expect(existsSync(join(asset, 'index.js'))).toBe(true);
      const targets = JSON.parse(readFileSync(join(asset, 'targets.json'), 'utf8')) as { name: string }[];
      // A config-files Lambda serves one volume and is told which by its environment.
      const filesLambda = f.Properties.Environment?.Variables?.SIDEKICK_FILES_ACCESS !== undefined;
      if (filesLambda) expect(targets).toEqual([]);
      else expect(targets.map((t) => t.name)).toContain('web');
    }
  });
});

describe('cdk-nag', () => {
  it('fails synth when a finding is not acknowledged', () => {
    expect(() =>
      synth(CONFIG, (stack) => {
        new iam.Role(stack, 'TooBroad', {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
        });
      }),
    ).toThrow(/uses AWS managed policies/);
  });
});

describe('the configured stack', () => {
  it('scopes the read role to the configured services, clusters and log groups', () => {
    const text = JSON.stringify(configured.json.Resources);
    expect(text).toContain(':service/prod/web');
    expect(text).toContain(':service/prod/api-svc');
    expect(text).toContain(':task/prod/*');
    const logRead = statementsOf(configured, 'ReadLambdaRole').find((st) =>
      [st.Action].flat().includes('logs:FilterLogEvents'),
    );
    expect(logRead.Resource.map((r: unknown) => concrete(r, configured))).toEqual([
      'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/prod/web',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/prod/web:*',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/prod/api',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/prod/api:*',
    ]);
    configured.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ecs:ListTasks',
            Condition: { ArnEquals: { 'ecs:cluster': [Match.objectLike({ 'Fn::Join': Match.anyValue() })] } },
          }),
        ]),
      },
    });
  });

  it('creates no demo resources', () => {
    expect(resources(configured, 'AWS::ECS::Service')).toEqual([]);
    expect(resources(configured, 'AWS::EC2::VPC')).toEqual([]);
  });
});

describe('ECS Exec permissions', () => {
  const CONTAINERS: SidekickConfig = {
    services: {
      web: {
        cluster: 'prod',
        containers: ['app'],
        logGroups: ['/ecs/web'],
        execKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b1f4c2e-7a1d-4c1e-9b8e-2f6d1a3c4b5d',
      },
    },
  };
  let withContainers: Synth;
  beforeAll(() => {
    withContainers = synth(CONTAINERS);
  });

  it('lets only the breakglass and signal Lambdas call ecs:ExecuteCommand', () => {
    const holders = [...lambdaActions(demo)]
      .filter(([, actions]) => actions.includes('ecs:ExecuteCommand'))
      .map(([id]) => id);
    expect(holders.sort()).toEqual([
      expect.stringMatching(/^ExecBreakglassFunction/),
      expect.stringMatching(/^ExecSignalFunction/),
    ]);
    const read = [...lambdaActions(demo)].find(([id]) => id.startsWith('ReadLambda'))![1];
    expect(read).not.toContain('ecs:ExecuteCommand');
  });

  it('scopes ecs:ExecuteCommand to the configured cluster and containers', () => {
    for (const role of ['ExecBreakglassRole', 'ExecSignalRole']) {
      const exec = statementsOf(withContainers, role).find((st) => st.Action === 'ecs:ExecuteCommand');
      expect(exec.Resource.map((r: unknown) => concrete(r, withContainers))).toEqual([
        'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
        'arn:aws:ecs:eu-west-1:123456789012:task/prod/*',
      ]);
      expect(exec.Condition.StringEquals).toEqual({ 'ecs:container-name': ['app'] });
      expect(concrete(exec.Condition.ArnEquals['ecs:cluster'], withContainers)).toBe(
        'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
      );
    }
  });

  it('allows kms:GenerateDataKey only on the configured exec session key', () => {
    const kms = statementsOf(withContainers, 'ExecBreakglassRole').filter((st) =>
      [st.Action].flat().some((a: string) => a.startsWith('kms:')),
    );
    expect(kms).toEqual([
      expect.objectContaining({
        Action: 'kms:GenerateDataKey',
        Resource: CONTAINERS.services.web!.execKmsKeyArn,
      }),
    ]);
  });

  it('gives the exec Lambdas the encrypted audit log group', () => {
    withContainers.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/ecs-sidekick/TestSidekick/audit',
      KmsKeyId: Match.anyValue(),
      RetentionInDays: 365,
    });
    for (const [id, f] of resources(withContainers, 'AWS::Lambda::Function')) {
      if (id.startsWith('Exec'))
        expect(f.Properties.Environment.Variables.SIDEKICK_AUDIT_LOG_GROUP).toBeDefined();
    }
  });

  it("encrypts and logs the demo cluster's exec sessions with a KMS key", () => {
    demo.template.hasResourceProperties('AWS::ECS::Cluster', {
      Configuration: {
        ExecuteCommandConfiguration: Match.objectLike({
          KmsKeyId: Match.anyValue(),
          Logging: 'OVERRIDE',
          LogConfiguration: Match.objectLike({ CloudWatchEncryptionEnabled: true }),
        }),
      },
    });
    demo.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('ECS Exec sessions'),
    });
  });
});

describe('the demo stack', () => {
  it('runs a Fargate service with ECS Exec and init process, and EFS data and config volumes', () => {
    demo.template.hasResourceProperties('AWS::ECS::Service', {
      EnableExecuteCommand: true,
      ServiceName: 'web',
      LaunchType: 'FARGATE',
    });
    demo.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({
          Name: 'web',
          LinuxParameters: { InitProcessEnabled: true },
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ]),
      Volumes: Match.arrayWith(
        ['data', 'config'].map((name) =>
          Match.objectLike({
            Name: name,
            EFSVolumeConfiguration: Match.objectLike({
              TransitEncryption: 'ENABLED',
              AuthorizationConfig: Match.objectLike({ IAM: 'ENABLED' }),
            }),
          }),
        ),
      ),
    });
    demo.template.resourceCountIs('AWS::EFS::AccessPoint', 2);
  });
});

describe('an invalid config', () => {
  it('fails synth with a message naming the field and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-badconfig-'));
    const file = join(dir, 'sidekick.config.json');
    writeFileSync(file, JSON.stringify({ services: { web: { cluster: 'prod cluster', logGroups: [] } } }));
    const result = await run('npx', ['tsx', 'bin/app.ts'], {
      env: { ...process.env, SIDEKICK_CONFIG: file, CDK_OUTDIR: dir },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/services\.web\.cluster: must be an ECS cluster name/);
    expect(result.stderr).toMatch(
      /services\.web\.logGroups: must list at least one log group, or be left out/,
    );
  });
});

describe('backups, sidekick tasks and config files', () => {
  const VOLUMES: SidekickConfig = {
    services: {
      web: {
        cluster: 'prod',
        logGroups: ['/ecs/web'],
        volumes: {
          data: {
            fileSystemId: 'fs-0123456789abcdef0',
            accessPointId: 'fsap-0aaaaaaaaaaaaaaa1',
            containerPath: '/data',
            iamAuthorization: true,
            transitEncryption: true,
          },
          config: {
            fileSystemId: 'fs-0123456789abcdef0',
            accessPointId: 'fsap-0aaaaaaaaaaaaaaa2',
            containerPath: '/etc/app',
            iamAuthorization: true,
            transitEncryption: true,
            configFiles: true,
          },
        },
        network: {
          vpcId: 'vpc-0123abcd',
          subnetIds: ['subnet-0123abcd', 'subnet-0456abcd'],
          securityGroupIds: ['sg-0123abcd'],
        },
        validators: [['nginx', '-t']],
      },
    },
    backups: { retentionDays: 90, objectLockDays: 30, timeLimitMinutes: 60 },
  };
  let s: Synth;
  beforeAll(() => {
    s = synth(VOLUMES);
  });

  it('keeps backups in a versioned, encrypted, TLS-only, private bucket with retention and Object Lock', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.objectLike({ ServerSideEncryptionConfiguration: Match.anyValue() }),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } },
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            ExpirationInDays: 90,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ]),
      },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('gives each volume a sidekick task definition that mounts exactly its EFS volume', () => {
    const defs = resources(s, 'AWS::ECS::TaskDefinition');
    expect(defs).toHaveLength(2);
    for (const [name, ap] of [
      ['data', 'fsap-0aaaaaaaaaaaaaaa1'],
      ['config', 'fsap-0aaaaaaaaaaaaaaa2'],
    ] as const) {
      s.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Family: `TestSidekick-sidekick-web-${name}`,
        RequiresCompatibilities: ['FARGATE'],
        Volumes: [
          {
            Name: name,
            EFSVolumeConfiguration: {
              FilesystemId: 'fs-0123456789abcdef0',
              TransitEncryption: 'ENABLED',
              AuthorizationConfig: { AccessPointId: ap, IAM: 'ENABLED' },
            },
          },
        ],
        ContainerDefinitions: [
          Match.objectLike({
            Name: 'sidekick',
            MountPoints: [{ SourceVolume: name, ContainerPath: '/mnt/volume', ReadOnly: false }],
          }),
        ],
      });
    }
  });

  it("scopes a sidekick task role to its own S3 prefix, its own lease and its volume's access point", () => {
    const [roleId] = resources(s, 'AWS::IAM::Role').find(
      ([id]) => id.startsWith('Sidekickwebdata') && id.includes('TaskRole'),
    )!;
    const statements = statementsOf(s, roleId);
    const s3 = statements.find((st) => [st.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(s3.Resource)).toMatch(/\/backups\/web\/data\/\*"/);
    const ddb = statements.find((st) => [st.Action].flat().includes('dynamodb:UpdateItem'));
    expect(ddb.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['op#*', 'lease#web#data'] },
    });
    const efs = statements.find((st) => [st.Action].flat().includes('elasticfilesystem:ClientMount'));
    expect(JSON.stringify(efs.Condition)).toContain('access-point/fsap-0aaaaaaaaaaaaaaa1');
  });

  it('lets the operate Lambda run only the pinned sidekick task definitions and pass their roles only to ECS tasks', () => {
    const statements = statementsOf(s, 'OperateLambdaRole');
    const run = statements.find((st) => [st.Action].flat().includes('ecs:RunTask'));
    expect(run.Resource).toHaveLength(2);
    for (const r of run.Resource)
      expect(r).toEqual({ Ref: expect.stringMatching(/^Sidekickweb(data|config)Task/) });
    expect(run.Condition.ArnEquals['ecs:cluster']).toBeDefined();
    const pass = statements.find((st) => [st.Action].flat().includes('iam:PassRole'));
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(pass.Resource).toHaveLength(4);
    const everyAction = resources(s, 'AWS::IAM::Policy').flatMap(
      ([, p]) => p.Properties.PolicyDocument.Statement as any[],
    );
    for (const st of everyAction.filter((x) => [x.Action].flat().includes('ecs:RunTask')))
      expect(st.Resource).not.toEqual('*');
  });

  it('mounts the config volume in a reader and a writer Lambda in the service network; the reader may not write', () => {
    const files = resources(s, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Properties.Environment?.Variables?.SIDEKICK_FILES_ACCESS,
    );
    expect(files.map(([, f]) => f.Properties.Environment.Variables.SIDEKICK_FILES_ACCESS).sort()).toEqual([
      'read',
      'write',
    ]);
    for (const [, f] of files) {
      expect(f.Properties.FileSystemConfigs).toEqual([
        { Arn: expect.anything(), LocalMountPath: '/mnt/config' },
      ]);
      expect(JSON.stringify(f.Properties.FileSystemConfigs[0].Arn)).toContain(
        'access-point/fsap-0aaaaaaaaaaaaaaa2',
      );
      expect(f.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0123abcd', 'subnet-0456abcd'],
        SecurityGroupIds: ['sg-0123abcd'],
      });
      const role = f.Properties.Role['Fn::GetAtt'][0];
      const efsActions = statementsOf(s, role)
        .filter((st) => JSON.stringify(st.Action).includes('elasticfilesystem'))
        .flatMap((st) => [st.Action].flat());
      const access = f.Properties.Environment.Variables.SIDEKICK_FILES_ACCESS;
      expect(efsActions.sort()).toEqual(
        access === 'read'
          ? ['elasticfilesystem:ClientMount']
          : ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      );
    }
  });

  it('reconciles operations on a schedule through the operate Lambda', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ route: 'reapOperations', input: {} }) })],
    });
  });

  it('passes cdk-nag with volumes configured', () => {
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.flatMap((p: any) => p.violations ?? [])).toEqual([]);
  });

  it('refuses config files without a network, naming the field', () => {
    const bad = { services: { web: { ...VOLUMES.services.web!, network: undefined } } };
    expect(() => parseConfig(JSON.parse(JSON.stringify(bad)), 'test.json')).toThrow(
      /services\.web\.network: is required when a volume serves config files/,
    );
  });
});

describe('runbooks', () => {
  const machines = () => resources(demo, 'AWS::StepFunctions::StateMachine');
  /** The definition with every Lambda ARN replaced by the logical id of its function. */
  const definitionOf = (machine: { Properties: any }) => {
    const render = (v: any): string =>
      typeof v === 'string'
        ? v
        : v['Fn::Join']
          ? (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0])
          : `fn:${v['Fn::GetAtt'][0]}`;
    return JSON.parse(render(machine.Properties.DefinitionString)) as {
      TimeoutSeconds: number;
      States: Record<string, any>;
    };
  };

  it('deploys the four runbooks as standard state machines with logging ALL without data, and tracing', () => {
    const names = machines().map(([, m]) => m.Properties.StateMachineName);
    expect(names.sort()).toEqual(
      ['backup-then-restart', 'config-change', 'diagnose-failed-start', 'restore'].map(
        (n) => `TestSidekick-${n}`,
      ),
    );
    for (const [, m] of machines()) {
      expect(m.Properties.StateMachineType).toBe('STANDARD');
      expect(m.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it('gives every Task state a timeout and retries of named errors, and every execution a timeout', () => {
    for (const [, m] of machines()) {
      const definition = definitionOf(m);
      expect(definition.TimeoutSeconds).toBeGreaterThan(0);
      for (const [name, state] of Object.entries(definition.States)) {
        if (state.Type === 'Wait')
          expect([name, state.Seconds ?? state.SecondsPath]).toEqual([name, expect.anything()]);
        if (state.Type !== 'Task') continue;
        expect([name, state.TimeoutSeconds]).toEqual([name, expect.any(Number)]);
        expect(state.Retry[0].ErrorEquals).toEqual(
          expect.arrayContaining(['Sidekick.ThrottledError', 'Lambda.ServiceException']),
        );
        for (const c of state.Catch ?? []) expect(c.ErrorEquals.length).toBeGreaterThan(0);
        if (state.Catch) expect(state.Catch[0].ErrorEquals).toContain('Sidekick.CheckFailedError');
      }
    }
  });

  it('invokes only the read and operate Lambdas, each state with a route of the Lambda it invokes', () => {
    const fnIds = new Set(resources(demo, 'AWS::Lambda::Function').map(([id]) => id));
    for (const [, m] of machines()) {
      for (const state of Object.values(definitionOf(m).States)) {
        if (state.Type !== 'Task') continue;
        const id = String(state.Resource).replace(/^fn:/, '');
        expect(fnIds.has(id)).toBe(true);
        expect(id).toMatch(/^(Read|Operate)Lambda/);
      }
    }
  });

  it('lets the operate tier start and stop runbooks, the read tier only follow them', () => {
    const policy = (tier: string) =>
      resources(demo, 'AWS::IAM::ManagedPolicy').find(([, p]) =>
        String(p.Properties.Description).includes(` ${tier} tier`),
      )![1];
    const actions = (tier: string) =>
      (policy(tier).Properties.PolicyDocument.Statement as any[]).flatMap((s) => [s.Action].flat());
    expect(actions('operate')).toEqual(
      expect.arrayContaining(['states:StartExecution', 'states:StopExecution']),
    );
    expect(actions('read')).toEqual(expect.arrayContaining(['states:DescribeExecution']));
    expect(actions('read')).not.toContain('states:StartExecution');
    expect(actions('breakglass').filter((a) => a.startsWith('states:'))).toEqual([]);
  });

  it('hands aborted and timed-out executions to the operate Lambda, and outputs each runbook ARN', () => {
    const [, rule] = resources(demo, 'AWS::Events::Rule').find(
      ([, r]) => r.Properties.EventPattern?.source?.[0] === 'aws.states',
    )!;
    expect(rule.Properties.EventPattern.detail.status).toEqual(['ABORTED', 'TIMED_OUT', 'FAILED']);
    expect(rule.Properties.Targets[0].Arn['Fn::GetAtt'][0]).toMatch(/^OperateLambda/);
    expect(JSON.stringify(rule.Properties.Targets[0].InputTransformer)).toMatch(/executionEnded/);
    expect(Object.keys(demo.json.Outputs)).toEqual(
      expect.arrayContaining([
        'RunbookBackupThenRestartArn',
        'RunbookConfigChangeArn',
        'RunbookRestoreArn',
        'RunbookDiagnoseFailedStartArn',
      ]),
    );
  });
});
