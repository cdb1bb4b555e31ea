import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import YAML from 'yaml';
import { scrubSecrets } from '../audit/scrub';
import type { StackVariant } from '../infra/eks/stack';
import { droverHome } from '../config/home';
import type { Runbook } from '../runbooks/schema';
import { FailureType } from '../contracts/failures';
import type { EksApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { superviseProcess } from '../processes/supervisor';
import { inActivity, pollUntil } from './wait';

/** Which stack a rebuild applies: the real EKS resources, or their terraform_data stand-ins (no provider plugin). */
export type { StackVariant };

export interface RebuildDeps {
  eks: (region: string) => EksApi;
  /** Default `aws`; `terraform-data` for machines without the AWS provider plugin (CI, demos). */
  variant?: StackVariant;
  /** Where per-run stacks and local state live; default `$DROVER_HOME`. */
  home?: () => string;
  /** Require this AWS provider version (a local mirror's build) instead of the bindings' own. */
  awsProviderVersion?: string;
}

export interface SynthesizedStack {
  dir: string;
  stackName: string;
  variant: StackVariant;
  resources: string[];
}

export interface RedeployResult {
  exitCode: number;
  durationMs: number;
  /** The last lines of the hook's output (stdout and stderr), secrets redacted. */
  outputTail: string[];
  kubeconfig: string;
}

const TAIL_LINES = 40;

/** The directory a run's stack is synthesized into, and the local state directory of a runbook's region. */
export function rebuildPaths(home: string, runbook: Runbook, region: string, runTag: string): { outdir: string; stateDir: string } {
  const backend = runbook.rebuild?.backend;
  const stateDir = backend?.type === 'local' && backend.dir ? path.resolve(backend.dir) : path.join(home, 'iac-state', runbook.name, region);
  return { outdir: path.join(home, 'iac', runbook.name, region, runTag), stateDir };
}

/** Rebuild activities: synthesize the region's cluster stack, wait for the cluster, run the redeploy hook. */
export function createRebuildActivities(deps: RebuildDeps) {
  const home = deps.home ?? droverHome;

  return {
    /** Synthesize the region's EKS stack into a per-run directory (same input, same JSON: safe to repeat). */
    async synthesizeCluster(input: { runbook: Runbook; region: string; runTag: string }): Promise<SynthesizedStack> {
      const variant = deps.variant ?? 'aws';
      const { outdir, stateDir } = rebuildPaths(home(), input.runbook, input.region, input.runTag);
      fs.mkdirSync(stateDir, { recursive: true });
      // Loaded on first use: the CDKTF bindings are large, and most workers never rebuild.
      const { synthesizeClusterStack } = await import('../infra/eks/synth');
      try {
        const out = synthesizeClusterStack({ runbook: input.runbook, region: input.region, outdir, stateDir, variant, awsProviderVersion: deps.awsProviderVersion });
        return { dir: out.stackDir, stackName: out.stackName, variant, resources: out.resources };
      } catch (e) {
        throw ApplicationFailure.create({ type: FailureType.IacInvalidStack, message: `cannot synthesize the ${input.region} cluster stack: ${(e as Error).message}`, nonRetryable: true });
      }
    },

    /** Wait until the cluster and each of its node groups are ACTIVE. */
    async waitClusterActive(input: { region: string; cluster: string; nodeGroups: string[]; timeoutMs: number }): Promise<{ clusterArn?: string; endpoint?: string; nodeGroups: string[] }> {
      const eks = deps.eks(input.region);
      return pollUntil({ what: `cluster ${input.cluster} and its node groups to be ACTIVE`, timeoutMs: input.timeoutMs, initialIntervalMs: 500, maxIntervalMs: 15_000 }, async () => {
        const c = (await aws(`eks:DescribeCluster(${input.cluster})`, () => eks.describeCluster({ name: input.cluster }))).cluster;
        const groups = await Promise.all(
          input.nodeGroups.map(async (name) => {
            const ng = (await aws(`eks:DescribeNodegroup(${input.cluster}/${name})`, () => eks.describeNodegroup({ clusterName: input.cluster, nodegroupName: name }))).nodegroup;
            return `${name} ${ng?.status ?? 'UNKNOWN'}`;
          }),
        );
        const pending = [`cluster ${c?.status ?? 'UNKNOWN'}`, ...groups].filter((s) => !s.endsWith(' ACTIVE'));
        return { done: pending.length === 0, value: { clusterArn: c?.arn, endpoint: c?.endpoint, nodeGroups: input.nodeGroups }, progress: pending.join(', ') || 'all ACTIVE' };
      });
    },

    /**
     * Run the runbook's redeploy hook (an Argo CD sync, `kubectl apply -k`, ...) with KUBECONFIG for
     * the rebuilt cluster. Such hooks are idempotent by nature, so a retry after a lost worker reruns it.
     */
    async runRedeployHook(input: { runbook: Runbook; region: string; cluster: string; runTag: string; command: string[]; timeoutMs: number }): Promise<RedeployResult> {
      const c = (await aws(`eks:DescribeCluster(${input.cluster})`, () => deps.eks(input.region).describeCluster({ name: input.cluster }))).cluster;
      const { outdir } = rebuildPaths(home(), input.runbook, input.region, input.runTag);
      fs.mkdirSync(outdir, { recursive: true });
      const kubeconfig = path.join(outdir, 'kubeconfig');
      fs.writeFileSync(kubeconfig, kubeconfigFor(input.region, input.cluster, c?.endpoint, c?.certificateAuthority?.data, c?.arn), { mode: 0o600 });
      const env = { ...process.env, KUBECONFIG: kubeconfig, DROVER_RUNBOOK: input.runbook.name, DROVER_REGION: input.region, DROVER_CLUSTER: input.cluster };
      const started = Date.now();
      const { code, tail, timedOut } = await runHook(input.command, env, input.timeoutMs);
      const outputTail = scrubSecrets(tail);
      if (code !== 0) {
        const why = timedOut ? `did not finish within ${Math.round(input.timeoutMs / 1000)}s` : `exited with ${code}`;
        throw ApplicationFailure.create({
          type: FailureType.RedeployFailed,
          message: `redeploy hook \`${input.command.join(' ')}\` ${why}${outputTail.length ? `; last output: ${outputTail.slice(-3).join(' | ')}` : ''}`,
          nonRetryable: true,
          details: [{ exitCode: code, outputTail }],
        });
      }
      return { exitCode: code, durationMs: Date.now() - started, outputTail, kubeconfig };
    },
  };
}

/** A kubeconfig for an EKS cluster that gets its token from `aws eks get-token` (no credential in the file). */
export function kubeconfigFor(region: string, cluster: string, endpoint?: string, caData?: string, arn?: string): string {
  const name = arn ?? `${region}/${cluster}`;
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: endpoint ?? '', ...(caData ? { 'certificate-authority-data': caData } : {}) } }],
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: ['--region', region, 'eks', 'get-token', '--cluster-name', cluster, '--output', 'json'],
            interactiveMode: 'Never',
          },
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/**
 * Run the hook, keeping the last lines of its output and heartbeating the latest one. A timeout or
 * the activity's cancellation stops it with SIGTERM, then SIGKILL after 10 s.
 */
async function runHook(command: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; tail: string[]; timedOut: boolean }> {
  const ctx = inActivity();
  const tail: string[] = [];
  const keep = (line: string) => {
    if (line.trim() === '') return;
    tail.push(line);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  const beat = setInterval(() => ctx?.heartbeat({ hook: command[0], lastLine: scrubSecrets(tail[tail.length - 1] ?? '') }), 2000);
  try {
    const r = await superviseProcess(command[0], command.slice(1), { env, timeoutMs, signal: ctx?.cancellationSignal, stopSignal: 'SIGTERM', graceMs: 10_000, onStdoutLine: keep, onStderrLine: keep });
    if (r.spawnError) {
      const missing = r.spawnError.code === 'ENOENT';
      throw ApplicationFailure.create({ type: FailureType.RedeployFailed, message: missing ? `redeploy hook command not found: ${command[0]}` : `redeploy hook could not start: ${r.spawnError.message}`, nonRetryable: true });
    }
    if (r.interrupted === 'cancelled') throw ctx?.cancellationSignal.reason ?? new Error('cancelled');
    return { code: r.code === -1 ? 128 : r.code, tail, timedOut: r.interrupted === 'timed out' };
  } finally {
    clearInterval(beat);
  }
}
