// The ecs-sidekick stack: wires the tiers, the API and (with no config) the demo service.

import { Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { resolveTargets, SidekickConfig } from './config';
import { DemoService } from './constructs/demo-service';
import { ExecAudit } from './constructs/exec-audit';
import { ExecFunctions } from './constructs/exec-tier';
import { OpsApi } from './constructs/ops-api';
import { ReadTier } from './constructs/read-tier';

export interface SidekickStackProps extends StackProps {
  /** The services to operate. @default - deploy the demo service and operate it */
  readonly config?: SidekickConfig;
}

export class SidekickStack extends Stack {
  readonly api: OpsApi;
  readonly demo?: DemoService;

  constructor(scope: Construct, id: string, props: SidekickStackProps = {}) {
    super(scope, id, props);
    const config = props.config;
    this.demo = config ? undefined : new DemoService(this, 'Demo');
    const targets = config ? resolveTargets(config) : [this.demo!.target];
    const logRetention = retentionOf(config?.logRetentionDays);

    const read = new ReadTier(this, 'Read', { targets, ...(logRetention ? { logRetention } : {}) });
    const audit = new ExecAudit(this, 'ExecAudit');
    const exec = new ExecFunctions(this, 'Exec', {
      targets,
      audit,
      ...(logRetention ? { logRetention } : {}),
    });
    this.api = new OpsApi(this, 'Ops', {
      functions: {
        read: read.lambda.function,
        breakglass: exec.breakglass.function,
        signal: exec.signal.function,
      },
      ...(config?.api?.rateLimit ? { rateLimit: config.api.rateLimit } : {}),
      ...(config?.api?.burstLimit ? { burstLimit: config.api.burstLimit } : {}),
    });
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
