import { createAuroraActivities } from './aurora';
import type { AwsClients } from '../aws/clients';
import type { Client } from '@temporalio/client';
import { createAuditActivities } from './audit';
import { createDbLifecycleActivities } from './dblifecycle';
import { createDbConfigActivities } from './dbconfig';
import { createFingerprintActivities } from './fingerprint';
import { createDrillActivities } from './drills';
import { createEksActivities } from './eks';
import { createEngineActivities, type EngineEndpoint } from './engines';
import { createHealthActivities } from './health';
import fs from 'node:fs';
import { createIacActivities, type IacApplyInput, type IacDeps, type IacPlanInput, type StackSource } from './iac';
import type { ApplySummary, PlanSummary } from '../contracts/run';
import { createRdsActivities } from './rds';
import { createRebuildActivities, rebuildPaths, stackDigest, type StackVariant } from './rebuild';
import { codeKind, teamWork, type IacWork } from './team-code';
import { droverHome } from '../config/home';
import type { TeamCode } from '../runbooks/schema';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import { createRoute53Activities } from './route53';
import { createControlActivities } from './controls';
import { createPermissionActivities } from './permissions';
import { createIdentityActivities } from './identity';
import { createNotifyActivities } from './notify';
import { createRunbookActivities } from './runbooks';
import { createReadinessActivities } from './readiness';
import type { RunbookSource } from '../runbooks/source';

/** What activities need from the outside world; tests pass emulator-backed clients. */
export interface ActivityDeps {
  aws: AwsClients;
  /** The Temporal client the drill activities use to look at other runs. */
  temporal: () => Client;
  fetch?: typeof fetch;
  /** Where this worker's runbooks come from: runs name one (name and digest), the worker runs its own copy. */
  runbooks?: RunbookSource;
  /** Regions whose STS endpoint verifies identities (DROVER_STS_REGIONS); default: the run's runbook regions. */
  stsRegions?: string[];
  /**
   * Cluster rebuilds: which stack variant to apply, and how to find OpenTofu. `binary` is injected by whoever
   * builds the worker (cli/worker.ts: tools/tofu's resolveTofu); without it only a runbook's rebuild.binary runs.
   */
  /** The engines behind RDS instances: tests map instances to loopback servers (a production worker uses each instance's endpoint). */
  engines?: { endpoint?: EngineEndpoint };
  iac?: { variant?: StackVariant; home?: () => string; binary?: IacDeps['binary']; env?: NodeJS.ProcessEnv; awsProviderVersion?: string };
}

/** Every drover activity, built over injected AWS clients. Workflows import this as a type only. */
export function createActivities(deps: ActivityDeps) {
  const rebuild = createRebuildActivities({ eks: deps.aws.eks, variant: deps.iac?.variant, home: deps.iac?.home, awsProviderVersion: deps.iac?.awsProviderVersion });
  const iac = createIacActivities({ binary: deps.iac?.binary ?? runbookBinaryOnly, env: deps.iac?.env });
  /**
   * A plan or apply on a worker that does not hold the stack's directory (the run's plan was made on another host,
   * or by a pod since replaced): the stack is synthesized again here from the same input, into this worker's own
   * directory. Its state is wherever the runbook's backend keeps it, which for several workers must be S3
   * (`drover worker --production` refuses a rebuild runbook with a local backend).
   */
  const onThisWorker = async <I extends { dir: string; stack?: StackSource }>(input: I): Promise<{ input: I; resynthesized?: string }> => {
    const stack = input.stack;
    if (!stack) return { input };
    const code = stack.runbook.rebuild?.code;
    if (code) return teamCodeHere(input, stack, code);
    // Here and whole (a worker killed mid-synthesis leaves a partial directory): used as it is.
    if (fs.existsSync(input.dir) && (stack.digest === undefined || stackDigest(input.dir) === stack.digest)) return { input };
    const backend = stack.runbook.rebuild?.backend;
    if (backend?.type === 'local' && !backend.dir) {
      throw ApplicationFailure.create({
        type: FailureType.IacInvalidStack,
        nonRetryable: true,
        message: `the stack's directory ${input.dir} is not on this worker, and the runbook keeps its OpenTofu state in the default local backend of the worker that synthesized it: planning here would start from another state. Use rebuild.backend.type s3 when several workers rebuild (docs/operations.md); nothing was applied`,
      });
    }
    const out = await rebuild.synthesizeCluster(stack);
    if (stack.digest !== undefined && out.digest !== stack.digest) {
      throw ApplicationFailure.create({ type: FailureType.IacInvalidStack, nonRetryable: true, message: `synthesized again on this worker, the stack differs from the one planned (${out.digest ?? 'unreadable'} vs ${stack.digest}): this worker's drover or provider version is not the planning worker's; nothing was applied` });
    }
    return { input: { ...input, dir: out.dir }, resynthesized: out.dir };
  };
  /**
   * The team's own code on this worker: prepared again (variables, a module source's root, a CDK for Terraform app's
   * stack when this worker has none) and run with OpenTofu's working data in this worker's run directory. Code that
   * differs from what was planned (another checkout on this worker) is refused: nothing is applied.
   */
  const teamCodeHere = async <I extends { dir: string; stack?: StackSource }>(input: I, stack: StackSource, code: TeamCode): Promise<{ input: I & { work: IacWork }; resynthesized?: string }> => {
    const home = (deps.iac?.home ?? droverHome)();
    const { outdir } = rebuildPaths(home, stack.runbook, stack.region, stack.runTag);
    const work = teamWork(code, stack.region, outdir, home);
    // A CDK for Terraform stack already synthesized here (its cdk.tf.json is the one planned, which prepareTeamCode's
    // digest is) is used as it is: synthesizing again would delete the lock file init wrote next to it.
    const synthesized = codeKind(code) === 'cdktf' && fs.existsSync(input.dir) && stackDigest(input.dir) === stack.digest && (!work.varFile || fs.existsSync(work.varFile));
    if (synthesized) return { input: { ...input, work } };
    const out = await rebuild.synthesizeCluster(stack);
    if (stack.digest !== undefined && out.digest !== stack.digest) {
      throw ApplicationFailure.create({ type: FailureType.IacInvalidStack, nonRetryable: true, message: `the team's code on this worker (${out.dir}) differs from the code that was planned (digest ${out.digest?.slice(0, 12) ?? 'unreadable'}, planned ${stack.digest.slice(0, 12)}): another checkout or another release; nothing was applied` });
    }
    return { input: { ...input, dir: out.dir, work }, resynthesized: out.dir === input.dir ? undefined : out.dir };
  };
  const route53 = createRoute53Activities(() => deps.aws.route53());
  const rds = createRdsActivities(deps.aws.rds, deps.aws.cloudwatch);
  const eks = createEksActivities(deps.aws.eks);
  const health = createHealthActivities(deps.aws.cloudwatch, deps.fetch);
  const controls = createControlActivities(deps.aws.cloudwatch);
  const permissions = createPermissionActivities(deps.aws.iam?.bind(deps.aws));
  return {
    ...route53,
    ...rds,
    ...eks,
    ...health,
    ...controls,
    ...createDbLifecycleActivities(deps.aws.rds, deps.aws.ec2),
    ...createDbConfigActivities(deps.aws.rds, deps.aws.ec2, deps.aws.kms),
    ...createFingerprintActivities({ route53: deps.aws.route53, rds: deps.aws.rds, ec2: deps.aws.ec2, kms: deps.aws.kms, eks: deps.aws.eks, cloudwatch: deps.aws.cloudwatch, temporal: deps.temporal }),
    ...createAuroraActivities(deps.aws.rds),
    ...createEngineActivities({ rds: deps.aws.rds, secrets: deps.aws.secrets, endpoint: deps.engines?.endpoint }),
    ...createDrillActivities(deps.temporal),
    ...createAuditActivities({ s3: deps.aws.s3 }),
    ...rebuild,
    ...iac,
    async iacPlan(input: IacPlanInput): Promise<PlanSummary> {
      const here = await onThisWorker(input);
      const plan = await iac.iacPlan(here.input);
      return here.resynthesized ? { ...plan, resynthesized: here.resynthesized } : plan;
    },
    async iacApply(input: IacApplyInput): Promise<ApplySummary> {
      const here = await onThisWorker(input);
      const applied = await iac.iacApply(here.input);
      return here.resynthesized ? { ...applied, resynthesized: here.resynthesized } : applied;
    },
    ...createIdentityActivities({ sts: deps.aws.sts, regions: deps.stsRegions }),
    ...createNotifyActivities(deps.aws.sns),
    ...createRunbookActivities(deps.runbooks),
    ...permissions,
    // Readiness is made of the preflight's own checks (one implementation of each), composed in one activity.
    ...createReadinessActivities({ parts: { ...route53, ...rds, ...eks, ...health, ...controls, ...permissions }, cloudwatch: deps.aws.cloudwatch, ec2: deps.aws.ec2, serviceQuotas: deps.aws.serviceQuotas, temporal: deps.temporal, runbooks: deps.runbooks, eks: deps.aws.eks }),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** A worker given no way to find OpenTofu runs only the binary a runbook names (activities install no tools). */
async function runbookBinaryOnly(preferred?: string): Promise<string> {
  if (preferred) return preferred;
  throw new Error('this worker was started without an OpenTofu binary (its ActivityDeps.iac.binary is not set)');
}
