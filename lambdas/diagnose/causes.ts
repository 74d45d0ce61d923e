// Known reasons a Fargate task stops or never starts, as small named rules over what ECS
// reports (stop code, stopped reason, container exit codes and reasons, service events).
// Each gives a plain-language hint and the next step. The first rule that matches wins.

import { Task } from '@aws-sdk/client-ecs';

export const CAUSES = [
  'IMAGE_PULL',
  'SECRETS',
  'EFS_MOUNT',
  'NO_CAPACITY',
  'OOM',
  'HEALTH_CHECK',
  'ESSENTIAL_EXIT',
  'STOPPED_BY_DEPLOYMENT',
  'STOPPED_BY_USER',
  'UNKNOWN',
] as const;
export type Cause = (typeof CAUSES)[number];

export interface Classification {
  readonly cause: Cause;
  /** The text from ECS that matched. */
  readonly evidence: string;
  readonly hint: string;
  readonly nextStep: string;
}

/** True when the cause is a failure someone should act on (not a planned stop). */
export function isFailure(cause: Cause): boolean {
  return cause !== 'STOPPED_BY_DEPLOYMENT' && cause !== 'STOPPED_BY_USER';
}

interface Facts {
  readonly task: Task;
  readonly essential: ReadonlySet<string>;
  /** Stopped reason and every container reason, for text matching. */
  readonly texts: readonly string[];
}

interface Rule {
  readonly cause: Cause;
  match(facts: Facts): Omit<Classification, 'cause'> | undefined;
}

const findText = (facts: Facts, pattern: RegExp) => facts.texts.find((t) => pattern.test(t));
const HEALTH_CHECK_TEXT = /failed (container|ELB) health checks?|health check/i;

const imagePull: Rule = {
  cause: 'IMAGE_PULL',
  match(facts) {
    const evidence =
      findText(facts, /CannotPullContainerError/i) ??
      findText(facts, /registry auth from Amazon ECR|pull registry auth/i);
    if (!evidence) return undefined;
    const notFound = /not found|manifest unknown|does not exist/i.test(evidence);
    const denied = /403|denied|unauthorized|forbidden/i.test(evidence);
    return {
      evidence,
      hint: notFound
        ? 'The image could not be pulled because the image or tag does not exist.'
        : denied
          ? 'The image could not be pulled because the registry refused the credentials.'
          : 'The image could not be pulled: the task could not reach the registry, or the pull failed.',
      nextStep: notFound
        ? 'Check the image name and tag in the task definition against the registry, then redeploy.'
        : denied
          ? 'Give the task execution role ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (or fix the repositoryCredentials secret).'
          : "Check that the task's subnets reach the registry: a NAT gateway or public IP, or VPC endpoints for ecr.api, ecr.dkr and S3.",
    };
  },
};

const secrets: Rule = {
  cause: 'SECRETS',
  match(facts) {
    const evidence = findText(
      facts,
      /unable to (pull|retrieve) secrets?|retrieve secret|secrets? from (ssm|asm)|ssm parameter|secretsmanager/i,
    );
    if (!evidence) return undefined;
    return {
      evidence,
      hint: 'The task could not fetch a secret or parameter named in its task definition, so no container started.',
      nextStep:
        'Check that each referenced SSM parameter / Secrets Manager secret exists in this Region, that the task execution role may ssm:GetParameters / secretsmanager:GetSecretValue (and kms:Decrypt for its key), and that the subnets reach SSM and Secrets Manager.',
    };
  },
};

const efsMount: Rule = {
  cause: 'EFS_MOUNT',
  match(facts) {
    const evidence = findText(
      facts,
      /EFS utils|set up EFS volumes|mount\.nfs|efs\.[a-z0-9-]+\.amazonaws\.com|elasticfilesystem/i,
    );
    if (!evidence) return undefined;
    return {
      evidence,
      hint: 'The EFS volume could not be mounted, so no container started.',
      nextStep:
        "Check that the file system has a mount target in each of the task's subnets' AZs, that the mount targets' security group allows NFS (TCP 2049) from the task's security group, that the access point exists, and, with IAM authorization, that the task role may elasticfilesystem:ClientMount (and ClientWrite).",
    };
  },
};

const noCapacity: Rule = {
  cause: 'NO_CAPACITY',
  match(facts) {
    const evidence = findText(
      facts,
      /Capacity is unavailable|insufficient capacity|unable to place|network interface provisioning|RESOURCE:(ENI|CPU|MEMORY)|SpotInterruption|TerminationNotice/i,
    );
    if (!evidence) return undefined;
    return {
      evidence,
      hint: 'ECS could not find capacity (or an IP address / network interface) to run the task.',
      nextStep:
        "Retry later or in more Availability Zones; check free IPs in the subnets and the account's Fargate vCPU quota; for Spot, add an On-Demand capacity provider.",
    };
  },
};

const outOfMemory: Rule = {
  cause: 'OOM',
  match(facts) {
    const oomReason = findText(facts, /OutOfMemory|out of memory|OOM/i);
    const killed = (facts.task.containers ?? []).find(
      (c) => c.exitCode === 137 && facts.essential.has(c.name ?? ''),
    );
    if (!oomReason && !killed) return undefined;
    // ECS kills a task that fails its health checks, so 137 alone is not memory then.
    if (!oomReason && findText(facts, HEALTH_CHECK_TEXT)) return undefined;
    const name =
      killed?.name ?? (facts.task.containers ?? []).find((c) => /OutOfMemory/i.test(c.reason ?? ''))?.name;
    return {
      evidence: oomReason ?? `container ${name} exited with 137`,
      hint: oomReason
        ? `${name ? `Container ${name}` : 'A container'} was killed for using more memory than its limit (exit code 137).`
        : `Container ${name} was killed with SIGKILL (exit code 137): out of memory, or it did not stop within the stop timeout after SIGTERM.`,
      nextStep:
        'Raise the container or task memory in the task definition, or find the leak in the last log lines below; if it ignores SIGTERM, handle it or enable initProcessEnabled.',
    };
  },
};

const healthCheck: Rule = {
  cause: 'HEALTH_CHECK',
  match(facts) {
    const evidence = findText(facts, HEALTH_CHECK_TEXT);
    if (!evidence) return undefined;
    const elb = /ELB/i.test(evidence);
    return {
      evidence,
      hint: elb
        ? 'The load balancer marked the task unhealthy and ECS replaced it.'
        : 'The container health check kept failing and ECS replaced the task.',
      nextStep: elb
        ? "Check the target group's health check path and port against what the app serves, the security group from the load balancer, and the service's healthCheckGracePeriodSeconds."
        : 'Run the health check command by hand (sidekick exec) and read the last log lines; raise startPeriod if the app starts slowly.',
    };
  },
};

const EXIT_MEANING: Record<number, string> = {
  0: 'its command finished, but a service task must keep running',
  1: 'a general application error',
  126: 'its command could not be executed: permissions or wrong CPU architecture',
  127: 'its command was not found: check the entrypoint and command',
  139: 'a segmentation fault',
  143: 'it was stopped with SIGTERM',
};

const essentialExit: Rule = {
  cause: 'ESSENTIAL_EXIT',
  match(facts) {
    const exited = (facts.task.containers ?? []).find(
      (c) => facts.essential.has(c.name ?? '') && c.exitCode !== undefined,
    );
    const evidence = findText(facts, /Essential container in task exited/i);
    if (!evidence && !(facts.task.stopCode === 'EssentialContainerExited')) return undefined;
    const code = exited?.exitCode;
    const meaning = EXIT_MEANING[code ?? -1];
    const what = code === undefined ? 'exited' : `exited with code ${code}${meaning ? ` (${meaning})` : ''}`;
    return {
      evidence: evidence ?? 'stopCode EssentialContainerExited',
      hint: `Essential container ${exited?.name ?? '(unknown)'} ${what}, so ECS stopped the task.`,
      nextStep:
        'Read its last log lines below; reproduce with the same image and environment, or exec into a running task of the previous revision.',
    };
  },
};

const stoppedByDeployment: Rule = {
  cause: 'STOPPED_BY_DEPLOYMENT',
  match(facts) {
    if (facts.task.stopCode !== 'ServiceSchedulerInitiated') return undefined;
    return {
      evidence: facts.task.stoppedReason ?? 'stopCode ServiceSchedulerInitiated',
      hint: 'The service scheduler stopped this task on purpose (a deployment or scale-in).',
      nextStep: 'Nothing to fix unless the replacement tasks fail; see the deployments and events.',
    };
  },
};

const stoppedByUser: Rule = {
  cause: 'STOPPED_BY_USER',
  match(facts) {
    if (facts.task.stopCode !== 'UserInitiated') return undefined;
    return {
      evidence: facts.task.stoppedReason || 'stopCode UserInitiated',
      hint: 'Someone (or automation) stopped this task with StopTask.',
      nextStep: 'Check CloudTrail for the StopTask call if the stop was not expected.',
    };
  },
};

/** In order: specific start failures first, exit-code readings after them. */
const RULES: readonly Rule[] = [
  imagePull,
  secrets,
  efsMount,
  noCapacity,
  outOfMemory,
  healthCheck,
  essentialExit,
  stoppedByDeployment,
  stoppedByUser,
];

export function classifyStoppedTask(task: Task, essentialContainers: ReadonlySet<string>): Classification {
  const texts = [task.stoppedReason ?? '', ...(task.containers ?? []).map((c) => c.reason ?? '')].filter(
    Boolean,
  );
  const facts: Facts = { task, essential: essentialContainers, texts };
  for (const rule of RULES) {
    const found = rule.match(facts);
    if (found) return { cause: rule.cause, ...found };
  }
  return {
    cause: 'UNKNOWN',
    evidence: task.stoppedReason ?? '(no stopped reason)',
    hint: 'ECS did not report a known cause for this stop.',
    nextStep:
      "Read the stopped reason, the containers' exit codes and last log lines below, and the service events.",
  };
}

/** Service events that say ECS could not place tasks. */
export function placementFailure(message: string): boolean {
  return noCapacity.match({ task: {}, essential: new Set(), texts: [message] }) !== undefined;
}
