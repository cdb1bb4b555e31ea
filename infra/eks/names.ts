/**
 * The names and tags infra/eks/stack.ts gives a cluster stack's resources, without the stack's provider bindings: the
 * worker's policy (aws/iam-policy.ts) scopes the rebuild's IAM statements to the same names and tag values.
 */
import { createHash } from 'node:crypto';
import type { AddonServiceAccount } from '../../runbooks/eks';
import type { Runbook } from '../../runbooks/schema';

/** The tag naming a resource's cluster: the worker's policy allows changes to launch templates and OIDC providers only with it. */
export const CLUSTER_TAG = 'drover:cluster';

/** The tags drover puts on every taggable resource of a cluster stack. */
export function droverTags(runbook: Pick<Runbook, 'name'>, region: string, clusterName: string): Record<string, string> {
  return {
    'drover:managed-by': 'drover',
    'drover:runbook': runbook.name,
    'drover:region': region,
    [CLUSTER_TAG]: clusterName,
  };
}

const IAM_ROLE_NAME_MAX = 64;

/** The roles a cluster stack creates: the cluster's, the nodes', and one per add-on service account (runbooks/eks.ts). */
export type RoleKind = 'cluster' | 'node' | AddonServiceAccount['kind'];

/**
 * The IAM role name of one of a cluster's roles: <cluster>-<region>-<kind>. IAM names are
 * account-wide (hence the region) and at most 64 characters of [A-Za-z0-9+=,.@_-]: a longer name, or
 * one with other characters, keeps as much of the cluster name as fits plus a hash of the full name.
 */
export function iamRoleName(clusterName: string, region: string, kind: RoleKind): string {
  return fittedName(clusterName, `-${region}-${kind}`, IAM_ROLE_NAME_MAX, /[^\w+=,.@-]/g);
}

/**
 * `name` + `rest` when it fits in `max` characters and `name` has none of `refused`; else as much of `name` as fits
 * (refused characters replaced by `-`), a hash of the full name, and `rest`.
 */
function fittedName(name: string, rest: string, max: number, refused: RegExp): string {
  const full = `${name}${rest}`;
  const safe = name.replace(refused, '-');
  if (safe === name && full.length <= max) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${safe.slice(0, max - rest.length - hash.length - 1)}-${hash}${rest}`;
}

/**
 * The launch template name of a node group: <cluster>-<group>. Launch template names are regional, "up to 128
 * characters" of letters, digits, ( ) . - / _ (EC2 API Reference, CreateLaunchTemplate, LaunchTemplateName).
 */
export function launchTemplateName(clusterName: string, group: string): string {
  return fittedName(clusterName, `-${group}`, 128, /[^\w()./-]/g);
}
