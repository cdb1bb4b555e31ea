import fs from 'node:fs';
import path from 'node:path';
import { App } from 'cdktf';
import type { Runbook } from '../../runbooks/schema';
import { ClusterStack, clusterStackName, rebuildTarget, type StackVariant } from './stack';

export { ClusterStackError, clusterStackName, type StackVariant } from './stack';

export interface SynthInput {
  runbook: Runbook;
  region: string;
  /** Where the app is synthesized; the stack lands in <outdir>/stacks/<stackName>. */
  outdir: string;
  /** Directory of the local backend's state file (when the runbook's backend is local). */
  stateDir: string;
  /** Default `aws`. */
  variant?: StackVariant;
  /** Require this AWS provider version instead of the bindings' 6.25.0 (see ClusterStackProps). */
  awsProviderVersion?: string;
}

export interface SynthOutput {
  /** The directory holding cdk.tf.json: where OpenTofu runs. */
  stackDir: string;
  /** drover-<runbook>-<region> */
  stackName: string;
  /** The synthesized cdk.tf.json. */
  file: string;
  /** The Terraform addresses the stack declares (aws_eks_cluster.cluster, ...), sorted. */
  resources: string[];
}

/**
 * Synthesize one region's EKS cluster stack from the runbook, programmatically (no cdktf-cli).
 * Same input, byte-identical JSON. Throws a ClusterStackError, before writing anything, when the
 * runbook cannot describe that region's cluster (no cluster there, or no network).
 */
export function synthesizeClusterStack(input: SynthInput): SynthOutput {
  rebuildTarget(input.runbook, input.region);
  const stackName = clusterStackName(input.runbook, input.region);
  // App creates outdir itself, but not its parents.
  fs.mkdirSync(input.outdir, { recursive: true });
  const app = new App({ outdir: input.outdir, stackTraces: false });
  new ClusterStack(app, stackName, { runbook: input.runbook, region: input.region, stateDir: input.stateDir, variant: input.variant, awsProviderVersion: input.awsProviderVersion });
  app.synth();

  const stackDir = path.join(input.outdir, 'stacks', stackName);
  const file = path.join(stackDir, 'cdk.tf.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { resource?: Record<string, Record<string, unknown>> };
  const resources = Object.entries(json.resource ?? {})
    .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`))
    .sort();
  return { stackDir, stackName, file, resources };
}
