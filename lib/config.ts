// The ecs-sidekick config: which ECS services it may operate and how to reach their logs and
// volumes. One schema serves synth, the Lambdas (as resolved targets), the sandbox and the CLI.

import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod/v3';

/** The name a service has in API paths and CLI commands. */
export const SERVICE_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** ECS cluster, service and container names. */
export const ECS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;
export const LOG_GROUP_NAME = /^[A-Za-z0-9._\-/#]{1,512}$/;
export const VOLUME_NAME = /^[a-z][a-z0-9-]{0,31}$/;

const ecsName = (what: string) =>
  z.string().regex(ECS_NAME, `must be an ECS ${what} name (letters, digits, '-' and '_', up to 255)`);

export const VolumeConfigSchema = z.strictObject({
  fileSystemId: z
    .string()
    .regex(/^fs-[0-9a-f]{8,40}$/, "must be an EFS file system id such as 'fs-0123456789abcdef0'"),
  accessPointId: z
    .string()
    .regex(/^fsap-[0-9a-f]{8,40}$/, "must be an EFS access point id such as 'fsap-0123456789abcdef0'")
    .optional(),
  rootDirectory: z
    .string()
    .regex(/^\/[^\0]*$/, "must be an absolute path on the file system, e.g. '/'")
    .optional(),
  containerPath: z
    .string()
    .regex(/^\/[^\0]*$/, "must be the absolute mount path in the container, e.g. '/data'"),
  iamAuthorization: z.boolean().optional(),
  transitEncryption: z.boolean().optional(),
  /**
   * Serve the config routes for this volume from a Lambda that mounts its access point, so a
   * config read or write does not wait for a task to start. Needs `accessPointId` and the
   * service's `network`.
   */
  configFiles: z.boolean().optional(),
});

const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,40}$/, "must be a subnet id such as 'subnet-0123abcd'");
const securityGroupId = z
  .string()
  .regex(/^sg-[0-9a-f]{8,40}$/, "must be a security group id such as 'sg-0123abcd'");

/** Where the config-files Lambdas run: subnets and security groups that reach the file system. */
export const NetworkConfigSchema = z.strictObject({
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,40}$/, "must be a VPC id such as 'vpc-0123abcd'"),
  subnetIds: z.array(subnetId).min(1, 'must list at least one subnet'),
  securityGroupIds: z.array(securityGroupId).min(1, 'must list at least one security group'),
});

/** An argv a config write may run in the service's container before it reloads. */
const validatorArgv = z
  .array(z.string().min(1).max(1024))
  .min(1, 'must hold at least the program to run')
  .max(32, 'must have at most 32 words');

export const ServiceConfigSchema = z
  .strictObject({
    cluster: ecsName('cluster'),
    service: ecsName('service').optional(),
    containers: z
      .array(ecsName('container'))
      .min(1, 'must list at least one container, or be left out')
      .optional(),
    logGroups: z
      .array(z.string().regex(LOG_GROUP_NAME, "must be a CloudWatch Logs group name such as '/ecs/web'"))
      .min(1, 'must list at least one log group, or be left out')
      .optional(),
    volumes: z
      .record(z.string().regex(VOLUME_NAME, "volume names are lower-case, e.g. 'data'"), VolumeConfigSchema)
      .optional(),
    execKmsKeyArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
        'must be the ARN of the KMS key the cluster encrypts ECS Exec sessions with',
      )
      .optional(),
    network: NetworkConfigSchema.optional(),
    /** Commands a config write may ask to run as its validation (e.g. ["nginx", "-t"]). */
    validators: z.array(validatorArgv).max(20).optional(),
  })
  .superRefine((service, ctx) => {
    for (const [name, volume] of Object.entries(service.volumes ?? {})) {
      if (!volume.configFiles) continue;
      if (!volume.accessPointId) {
        ctx.addIssue({
          code: 'custom',
          path: ['volumes', name, 'accessPointId'],
          message: 'is required when configFiles is true (a Lambda mounts EFS only through an access point)',
        });
      }
      if (!service.network) {
        ctx.addIssue({
          code: 'custom',
          path: ['network'],
          message: `is required when a volume serves config files (volumes.${name}.configFiles)`,
        });
      }
    }
  });

export const BackupsConfigSchema = z.strictObject({
  /** Days a backup is kept before the bucket's lifecycle deletes it. @default 35 */
  retentionDays: z.number().int().min(1).max(36500).optional(),
  /** Object Lock (governance mode) for this many days: nobody deletes a backup sooner. */
  objectLockDays: z.number().int().min(1).max(36500).optional(),
  /** A backup or restore task is stopped and reported failed after this long. @default 120 */
  timeLimitMinutes: z.number().int().min(5).max(1440).optional(),
});

export const SidekickConfigSchema = z.strictObject({
  services: z
    .record(
      z.string().regex(SERVICE_KEY, "service keys are letters, digits, '-' and '_' (up to 63), e.g. 'web'"),
      ServiceConfigSchema,
    )
    .refine((services) => Object.keys(services).length > 0, 'must name at least one service'),
  api: z
    .strictObject({
      rateLimit: z.number().int().min(1).max(10000).optional(),
      burstLimit: z.number().int().min(1).max(5000).optional(),
    })
    .optional(),
  logRetentionDays: z.number().int().min(1).max(3653).optional(),
  backups: BackupsConfigSchema.optional(),
  /** Stopped tasks of the services are kept this many days for diagnose. @default 30 */
  taskHistory: z.strictObject({ retentionDays: z.number().int().min(1).max(3653).optional() }).optional(),
});

export type SidekickConfig = z.infer<typeof SidekickConfigSchema>;
export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;
export type VolumeConfig = z.infer<typeof VolumeConfigSchema>;
export type NetworkConfig = z.infer<typeof NetworkConfigSchema>;
export type BackupsConfig = z.infer<typeof BackupsConfigSchema>;

/** A volume as the Lambdas see it: its config plus what synth made for it. */
export const VolumeTargetSchema = VolumeConfigSchema.extend({
  /** The pinned sidekick task definition that mounts exactly this volume. */
  sidekickTaskDefinition: z.string().optional(),
  /** The Lambdas that mount the volume for config reads and writes. */
  files: z.strictObject({ read: z.string(), write: z.string() }).optional(),
});
export type VolumeTarget = z.infer<typeof VolumeTargetSchema>;

/** A configured service as the Lambdas see it: defaults applied, keyed by its API name. */
export const ServiceTargetSchema = z.strictObject({
  name: z.string().regex(SERVICE_KEY),
  cluster: z.string().regex(ECS_NAME),
  service: z.string().regex(ECS_NAME),
  containers: z.array(z.string().regex(ECS_NAME)).optional(),
  logGroups: z.array(z.string().regex(LOG_GROUP_NAME)).optional(),
  volumes: z.record(z.string(), VolumeTargetSchema).optional(),
  execKmsKeyArn: z.string().optional(),
  validators: z.array(z.array(z.string())).optional(),
});
export type ServiceTarget = z.infer<typeof ServiceTargetSchema>;
export const TargetsSchema = z.array(ServiceTargetSchema);

export function resolveTargets(config: SidekickConfig): ServiceTarget[] {
  return Object.entries(config.services).map(([name, s]) => ({
    name,
    cluster: s.cluster,
    service: s.service ?? name,
    ...(s.containers ? { containers: s.containers } : {}),
    ...(s.logGroups ? { logGroups: s.logGroups } : {}),
    ...(s.volumes ? { volumes: s.volumes } : {}),
    ...(s.execKmsKeyArn ? { execKmsKeyArn: s.execKmsKeyArn } : {}),
    ...(s.validators ? { validators: s.validators } : {}),
  }));
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses a config object; the error lists every bad field with what to put there instead. */
export function parseConfig(raw: unknown, source: string): SidekickConfig {
  const result = SidekickConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  - ${formatPath(issue.path)}: ${issueMessage(issue)}`);
  throw new ConfigError(`Invalid ecs-sidekick config in ${source}:\n${lines.join('\n')}`);
}

export function loadConfigFile(path: string): SidekickConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Cannot read ecs-sidekick config ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseConfig(raw, path);
}

/**
 * The config to deploy: an explicit path (context `config` or SIDEKICK_CONFIG), else
 * `sidekick.config.json` when it exists, else undefined: the app deploys the demo.
 */
export function findConfig(explicitPath: string | undefined, defaultPath = 'sidekick.config.json') {
  if (explicitPath) return loadConfigFile(explicitPath);
  return existsSync(defaultPath) ? loadConfigFile(defaultPath) : undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

function issueMessage(issue: z.ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: remove them (see README "Config")`;
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    return `is required (${issue.expected})`;
  }
  return issue.message;
}
