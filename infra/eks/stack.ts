import path from 'node:path';
// Provider classes come from their submodules: the package root loads every binding (hundreds of MB).
import { EksAccessEntry } from '@cdktf/provider-aws/lib/eks-access-entry';
import { EksAccessPolicyAssociation } from '@cdktf/provider-aws/lib/eks-access-policy-association';
import { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { EksNodeGroup } from '@cdktf/provider-aws/lib/eks-node-group';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { LaunchTemplate, type LaunchTemplateConfig } from '@cdktf/provider-aws/lib/launch-template';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Fn, LocalBackend, S3Backend, TerraformOutput, TerraformResource, TerraformStack, type S3BackendConfig, type TerraformMetaArguments } from 'cdktf';
import type { Construct } from 'constructs';
import { addonServiceAccount } from '../../runbooks/eks';
import type { Cluster, NodeGroup, Runbook } from '../../runbooks/schema';
import { droverTags, iamRoleName, launchTemplateName, type RoleKind } from './names';

// The stack's names and tags live in ./names (no provider bindings behind them: aws/iam-policy.ts scopes the rebuild's
// statements with them); re-exported for the stack's callers.
export { droverTags, iamRoleName, launchTemplateName, type RoleKind } from './names';

/**
 * `aws`: the real EKS, IAM and provider resources. `terraform-data`: the same addresses and shape,
 * every AWS resource replaced by a built-in `terraform_data` whose `input` is the configuration
 * the real resource would get, and no provider (for machines without the AWS provider plugin).
 */
export type StackVariant = 'aws' | 'terraform-data';

export interface ClusterStackProps {
  runbook: Runbook;
  /** The region whose cluster the stack describes. */
  region: string;
  /** Directory of the local backend's state file (used when the runbook's backend is local). */
  stateDir: string;
  /** Default `aws`. */
  variant?: StackVariant;
  /**
   * The AWS provider version to require instead of the one the bindings were generated for (6.25.0):
   * a worker that only has another 6.x build (a local filesystem mirror) says which.
   */
  awsProviderVersion?: string;
}

/** A runbook that cannot be turned into a cluster stack. The message is meant for the operator, as is. */
export class ClusterStackError extends Error {
  override readonly name = 'ClusterStackError';
}

export type ClusterNetwork = NonNullable<Cluster['network']>;

/** The Terraform stack name of a runbook's region: drover-<runbook>-<region>. */
export function clusterStackName(runbook: Pick<Runbook, 'name'>, region: string): string {
  return `drover-${runbook.name}-${region}`;
}

/**
 * The cluster a rebuild of `region` recreates, with its network. Throws a ClusterStackError when the
 * runbook has no (or more than one) cluster there, the cluster has no network, or two of its node
 * groups or add-ons share a name.
 */
export function rebuildTarget(runbook: Runbook, region: string): { cluster: Cluster; network: ClusterNetwork; index: number } {
  const clusters = runbook.compute.clusters;
  const matches = clusters.filter((c) => c.region === region);
  if (matches.length === 0) {
    const regions = [...new Set(clusters.map((c) => c.region))].join(', ');
    throw new ClusterStackError(`runbook ${runbook.name} has no cluster in region ${region} (its clusters are in ${regions})`);
  }
  if (matches.length > 1) {
    throw new ClusterStackError(`runbook ${runbook.name} has ${matches.length} clusters in region ${region} (${matches.map((c) => c.name).join(', ')}); a cluster stack describes one cluster per region`);
  }
  const cluster = matches[0];
  const index = clusters.indexOf(cluster);
  if (!cluster.network) {
    throw new ClusterStackError(`cluster ${cluster.name} (${region}) has no network: add compute.clusters[${index}].network (subnetIds, securityGroupIds) to rebuild it from code`);
  }
  const duplicate = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const group = duplicate(cluster.nodeGroups.map((g) => g.name));
  if (group !== undefined) throw new ClusterStackError(`cluster ${cluster.name} (${region}) has two node groups named ${group}`);
  const addon = duplicate(cluster.addons.map((a) => a.name));
  if (addon !== undefined) throw new ClusterStackError(`cluster ${cluster.name} (${region}) lists the add-on ${addon} twice`);
  const principals = cluster.access?.entries.map((e) => e.principalArn) ?? [];
  const entryIds = principals.map(accessEntryId);
  const clash = duplicate(entryIds);
  if (clash !== undefined) {
    const named = principals.filter((_, i) => entryIds[i] === clash);
    throw new ClusterStackError(`cluster ${cluster.name} (${region}): the access entries of ${named.join(' and ')} would share the Terraform name ${clash}; their principals need different names`);
  }
  return { cluster, network: cluster.network, index };
}

/** The Terraform name of a principal's access entry: access_entry_<role|user>_<name> (the ARN's last path segment). */
export function accessEntryId(principalArn: string): string {
  const m = /:(role|user)\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  return `access_entry_${m ? `${m[1]}_${m[2]}` : principalArn}`.replace(/[^\w-]/g, '_');
}

/** The AWS partition of a region, for AWS-managed policy ARNs. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  const iso = /^[a-z]{2}-(iso[a-z]*)-/.exec(region);
  if (iso) return iso[1] === 'iso' ? 'aws-iso' : `aws-iso-${iso[1].slice(3)}`;
  return 'aws';
}

/** The other region of the runbook's pair: the one that survives while `region` is being rebuilt. */
export function survivingRegion(runbook: Runbook, region: string): string {
  return region === runbook.regions.primary ? runbook.regions.standby : runbook.regions.primary;
}

/** The launch template device whose size is the node group's diskSize (the AMI's root device; Bottlerocket's data volume). */
function diskDevice(amiType: NodeGroup['amiType']): string {
  if (amiType?.startsWith('BOTTLEROCKET')) return '/dev/xvdb';
  if (amiType?.startsWith('WINDOWS')) return '/dev/sda1';
  return '/dev/xvda';
}

const CLUSTER_POLICIES = ['AmazonEKSClusterPolicy'];
const NODE_POLICIES = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'];

/**
 * One region's EKS cluster from the runbook: provider, IAM roles, cluster (access configuration, secrets encryption,
 * control-plane logs), its OIDC provider, access entries, a launch template per node group, node groups, add-ons
 * (with service-account roles), outputs.
 */
export class ClusterStack extends TerraformStack {
  readonly variant: StackVariant;
  readonly cluster: Cluster;

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id);
    const { runbook, region } = props;
    const variant = props.variant ?? 'aws';
    const { cluster, network } = rebuildTarget(runbook, region);
    this.variant = variant;
    this.cluster = cluster;
    const tags = droverTags(runbook, region, cluster.name);

    declareBackend(this, runbook, region, props.stateDir);
    if (variant === 'aws') {
      new AwsProvider(this, 'aws', { region, defaultTags: [{ tags }] });
      if (props.awsProviderVersion) this.addOverride('terraform.required_providers.aws.version', props.awsProviderVersion);
    }

    // Construct ids are the Terraform names in both variants (aws_eks_node_group.node_group_general,
    // terraform_data.node_group_general): prefixed by kind, so names stay unique among terraform_data.
    const declare = <C extends TerraformMetaArguments>(id: string, resource: ResourceClass<C>, config: C) => declareResource(this, variant, id, resource, config);

    const policyArn = (policy: string) => `arn:${partitionOf(region)}:iam::aws:policy/${policy}`;
    const role = (id: string, kind: RoleKind, assumeRolePolicy: string, policies: string[]) => {
      const declared = declare(id, IamRole, { name: iamRoleName(cluster.name, region, kind), assumeRolePolicy, tags });
      // Construct ids are Terraform names: a policy's path (service-role/) is left out.
      const attachments = policies.map((policy) => declare(`${id}_${policy.split('/').pop() ?? policy}`, IamRolePolicyAttachment, { role: declared.ref('name'), policyArn: policyArn(policy) }));
      return { ...declared, attachments: attachments.map((a) => a.resource) };
    };
    const clusterRole = role('cluster_role', 'cluster', trustPolicy('eks.amazonaws.com'), CLUSTER_POLICIES);
    const nodeRole = role('node_role', 'node', trustPolicy('ec2.amazonaws.com'), NODE_POLICIES);

    const access = cluster.access;
    const encryptionKey = cluster.encryption?.kmsKeys[region];
    const logTypes = cluster.controlPlaneLogs ?? [];
    const eks = declare('cluster', EksCluster, {
      name: cluster.name,
      version: cluster.version,
      roleArn: clusterRole.ref('arn'),
      vpcConfig: {
        subnetIds: network.subnetIds,
        securityGroupIds: network.securityGroupIds,
        endpointPublicAccess: network.endpointPublicAccess,
        // EKS needs one of the two endpoints; nodes and in-VPC tooling use the private one.
        endpointPrivateAccess: true,
      },
      // Access entries, not the aws-auth ConfigMap; the creator (the worker's role) is an admin, as EKS makes it by
      // default and the redeploy hook needs, unless the runbook says false. EKS sets bootstrapClusterCreatorAdminPermissions
      // at creation only (UpdateClusterConfig takes the authentication mode alone).
      accessConfig: {
        authenticationMode: access?.authenticationMode ?? 'API',
        bootstrapClusterCreatorAdminPermissions: access?.bootstrapClusterCreatorAdminPermissions ?? true,
      },
      // "The KMS key must be symmetric and created in the same AWS Region as the cluster" (EKS API Reference,
      // Provider keyArn): the schema checks the key's region (runbooks/schema.ts clusterChecks).
      ...(encryptionKey ? { encryptionConfig: { provider: { keyArn: encryptionKey }, resources: ['secrets'] } } : {}),
      ...(logTypes.length > 0 ? { enabledClusterLogTypes: logTypes } : {}),
      tags,
      dependsOn: clusterRole.attachments,
    });

    // IAM roles for service accounts trust the cluster's OIDC issuer. No thumbprint: "AWS secures communication with
    // OIDC identity providers (IdPs) using our library of trusted root certificate authorities (CAs) to verify the
    // JSON Web Key Set (JWKS) endpoint's TLS certificate"; thumbprints are used only for an IdP whose certificate no
    // such CA signed (IAM API Reference, CreateOpenIDConnectProvider,
    // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html), and EKS's
    // oidc.eks.<region>.amazonaws.com serves a publicly trusted certificate.
    const issuer = eks.ref('identity[0].oidc[0].issuer');
    const oidc = declare('oidc_provider', IamOpenidConnectProvider, { url: issuer, clientIdList: ['sts.amazonaws.com'], tags });
    // The condition keys are the issuer without its scheme: oidc.eks.<region>.amazonaws.com/id/<id>:sub and :aud.
    const issuerHost = Fn.replace(issuer, 'https://', '');
    const serviceAccountTrust = (serviceAccount: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: oidc.ref('arn') },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { [`${issuerHost}:sub`]: `system:serviceaccount:kube-system:${serviceAccount}`, [`${issuerHost}:aud`]: 'sts.amazonaws.com' } },
          },
        ],
      });

    for (const entry of access?.entries ?? []) {
      const id = accessEntryId(entry.principalArn);
      const declared = declare(id, EksAccessEntry, {
        clusterName: eks.ref('name'),
        principalArn: entry.principalArn,
        type: 'STANDARD',
        ...(entry.kubernetesGroups.length > 0 ? { kubernetesGroups: entry.kubernetesGroups } : {}),
        tags,
      });
      for (const policy of entry.policies) {
        declare(`${id}_${policy.policyArn.split('/').pop() ?? ''}`, EksAccessPolicyAssociation, {
          clusterName: eks.ref('name'),
          principalArn: declared.ref('principal_arn'),
          policyArn: policy.policyArn,
          accessScope: { type: policy.scope, ...(policy.namespaces ? { namespaces: policy.namespaces } : {}) },
        });
      }
    }

    const nodeGroups = cluster.nodeGroups.map((group) => {
      // Managed node groups with a template of drover's own: IMDSv2 only, and a hop limit of 2 so pods reach the
      // instance metadata through their extra network hop (EC2 User Guide, "Configure the Instance Metadata Service
      // options": "In a container environment, a hop limit of 1 can cause issues"). The disk size moves into the template: "If you specify launchTemplate,
      // then don't specify diskSize, or the node group deployment will fail" (EKS API Reference, CreateNodegroup).
      const template = declare<LaunchTemplateConfig>(`launch_template_${group.name}`, LaunchTemplate, {
        name: launchTemplateName(cluster.name, group.name),
        blockDeviceMappings: [{ deviceName: diskDevice(group.amiType), ebs: { volumeSize: group.diskSize, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' } }],
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 2 },
        // A node group's tags stay on the node group; the template passes them to its instances and volumes.
        tagSpecifications: ['instance', 'volume'].map((resourceType) => ({ resourceType, tags })),
        tags,
      });
      return declare(`node_group_${group.name}`, EksNodeGroup, {
        clusterName: eks.ref('name'),
        nodeGroupName: group.name,
        nodeRoleArn: nodeRole.ref('arn'),
        subnetIds: network.subnetIds,
        // The template names no instance type, so the node group does (EKS API Reference, CreateNodegroup instanceTypes).
        instanceTypes: group.instanceTypes,
        ...(group.amiType ? { amiType: group.amiType } : {}),
        ...(group.labels && Object.keys(group.labels).length > 0 ? { labels: group.labels } : {}),
        ...(group.taints && group.taints.length > 0 ? { taint: group.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) } : {}),
        launchTemplate: { id: template.ref('id'), version: template.ref('latest_version') },
        scalingConfig: { desiredSize: group.active, minSize: group.standby, maxSize: group.max ?? group.active },
        tags,
        // Nodes cannot join before their role has the worker, CNI and registry policies.
        dependsOn: nodeRole.attachments,
        // The desired size is the runbook's active capacity at creation; after that failovers and
        // failbacks own it (standby <-> active), so a later plan does not fight them. drover does not
        // manage SSH access, which emulators fill in with a default key (a plan would replace the group).
        ...(variant === 'aws' ? { lifecycle: { ignoreChanges: ['scaling_config[0].desired_size', 'remote_access'] } } : {}),
      });
    });

    for (const addon of cluster.addons) {
      const account = addonServiceAccount(addon, cluster.production);
      const accountRole = account ? role(`${account.kind.replace(/-/g, '_')}_role`, account.kind, serviceAccountTrust(account.serviceAccount), [account.policy]) : undefined;
      declare(`addon_${addon.name}`, EksAddon, {
        clusterName: eks.ref('name'),
        addonName: addon.name,
        addonVersion: addon.version,
        ...(accountRole ? { serviceAccountRoleArn: accountRole.ref('arn') } : {}),
        // EKS installs self-managed vpc-cni, coredns and kube-proxy with the cluster; take them over.
        resolveConflictsOnCreate: 'OVERWRITE',
        tags,
        // Add-ons such as coredns stay degraded until there are nodes to run on; a service-account role is
        // useful only once its policy is attached.
        dependsOn: [...nodeGroups.map((g) => g.resource), ...(accountRole?.attachments ?? [])],
      });
    }

    new TerraformOutput(this, 'cluster_name', { value: eks.ref('name') });
    new TerraformOutput(this, 'cluster_arn', { value: eks.ref('arn') });
    new TerraformOutput(this, 'cluster_endpoint', { value: eks.ref('endpoint') });
    new TerraformOutput(this, 'node_group_names', { value: nodeGroups.map((g) => g.ref('node_group_name')) });
    new TerraformOutput(this, 'oidc_provider_arn', { value: oidc.ref('arn') });
  }
}

function trustPolicy(service: string): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
}

function declareBackend(stack: TerraformStack, runbook: Runbook, region: string, stateDir: string): void {
  const backend = runbook.rebuild?.backend ?? { type: 'local' };
  if (backend.type === 's3') {
    // cdktf 0.21 predates S3-native locking (use_lockfile, Terraform/OpenTofu >= 1.10); the backend
    // passes every key through, snake-cased, so the extra key reaches the JSON as use_lockfile.
    const config: S3BackendConfig & { readonly useLockfile: boolean } = {
      bucket: backend.bucket,
      key: backend.key ?? `drover/${runbook.name}/${region}/terraform.tfstate`,
      region: backend.region ?? survivingRegion(runbook, region),
      encrypt: true,
      useLockfile: true,
    };
    new S3Backend(stack, config);
  } else {
    // Relative to the caller, not to the stack directory Terraform runs in.
    new LocalBackend(stack, { path: path.resolve(stateDir, 'terraform.tfstate') });
  }
}

// ---------------------------------------------------------------------------------------------
// One declaration for both variants: the real resource, or a terraform_data stand-in for it.

/** A generated provider resource class (EksCluster, IamRole, ...). */
interface ResourceClass<C extends TerraformMetaArguments> {
  new (scope: Construct, id: string, config: C): TerraformResource;
  readonly tfResourceType: string;
}

/** A declared resource: its construct (for dependsOn) and references to its attributes. */
interface Declared {
  readonly resource: TerraformResource;
  /** A reference to an attribute (Terraform name, e.g. `arn`), resolved at plan or apply time. */
  ref(attribute: string): string;
}

const META_ARGUMENTS = new Set<string>(['dependsOn', 'count', 'forEach', 'lifecycle', 'provider', 'provisioners', 'connection']);
/** Map-valued attributes: their keys are data (tag keys), not attribute names. */
const MAP_ATTRIBUTES = new Set(['tags', 'tags_all', 'labels']);

/**
 * Declare `resource` with `config` under construct id `id`: the provider class itself, or (variant
 * terraform-data) a terraform_data whose input is that config as Terraform attributes, with the
 * same id and the same meta-arguments (depends_on, ...).
 */
function declareResource<C extends TerraformMetaArguments>(scope: Construct, variant: StackVariant, id: string, resource: ResourceClass<C>, config: C): Declared {
  if (variant === 'aws') {
    const real = new resource(scope, id, config);
    return { resource: real, ref: (attribute) => real.getStringAttribute(attribute) };
  }
  const meta: Record<string, unknown> = {};
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) (META_ARGUMENTS.has(key) ? meta : body)[key] = value;
  const standIn = new TerraformData(scope, id, toTerraformAttributes(body) as Record<string, unknown>, meta as TerraformMetaArguments);
  return { resource: standIn, ref: (attribute) => standIn.ref(attribute) };
}

/**
 * Terraform's built-in `terraform_data` resource with an `input`. (cdktf's own DataResource adds a
 * validation that runs `terraform version` for every instance, which fails where only OpenTofu is
 * installed; this one declares the same JSON without it.)
 */
class TerraformData extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    private readonly input: Record<string, unknown>,
    meta: TerraformMetaArguments,
  ) {
    super(scope, id, { ...meta, terraformResourceType: 'terraform_data', terraformGeneratorMetadata: { providerName: 'terraform' } });
  }

  /**
   * A configured attribute (a name) is read from `input`, known at plan time as the real one would be;
   * a computed one (an ARN, an endpoint) is the stand-in's id, which, like the real value, is known
   * only after apply. Either way the reference orders the resources as the real ones are ordered.
   */
  ref(attribute: string): string {
    return this.getStringAttribute(attribute in this.input ? `input.${attribute}` : 'id');
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { input: this.input };
  }
}

/** A resource config (camelCase, as the provider classes take it) as Terraform attributes (snake_case). */
function toTerraformAttributes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toTerraformAttributes);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[name] = MAP_ATTRIBUTES.has(name) ? item : toTerraformAttributes(item);
  }
  return out;
}
