import { createAuroraActivities } from './aurora';
import type { AwsClients } from './aws/clients';
import type { Client } from '@temporalio/client';
import { createAuditActivities } from './audit';
import { createDbLifecycleActivities } from './dblifecycle';
import { createDrillActivities } from './drills';
import { createEksActivities } from './eks';
import { createHealthActivities } from './health';
import { createRdsActivities } from './rds';
import { createRoute53Activities } from './route53';

/** What activities need from the outside world; tests pass emulator-backed clients. */
export interface ActivityDeps {
  aws: AwsClients;
  /** The Temporal client the drill activities use to look at other runs. */
  temporal: () => Client;
  fetch?: typeof fetch;
}

/** Every drover activity, built over injected AWS clients. Workflows import this as a type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRoute53Activities(() => deps.aws.route53()),
    ...createRdsActivities(deps.aws.rds, deps.aws.cloudwatch),
    ...createEksActivities(deps.aws.eks),
    ...createHealthActivities(deps.aws.cloudwatch, deps.fetch),
    ...createDbLifecycleActivities(deps.aws.rds, deps.aws.ec2),
    ...createAuroraActivities(deps.aws.rds),
    ...createDrillActivities(deps.temporal),
    ...createAuditActivities({ s3: deps.aws.s3 }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
