/**
 * EKS vocabulary the runbook language, the cluster stack (infra/eks/stack.ts) and the worker's IAM policy
 * (aws/iam-policy.ts) share. Plain data: no imports, so the schema (and workflow code through it) stays free of
 * the AWS SDK. test/eks-stack.test.ts compares the enums with @aws-sdk/client-eks's, so a drift shows.
 */

/**
 * The AMI types of a managed node group: EKS API Reference, CreateNodegroup `amiType` (the SDK's `AMITypes`),
 * without CUSTOM, which needs an AMI id in the launch template that drover does not manage.
 */
export const EKS_AMI_TYPES = [
  'AL2023_ARM_64_NVIDIA',
  'AL2023_ARM_64_STANDARD',
  'AL2023_x86_64_NEURON',
  'AL2023_x86_64_NVIDIA',
  'AL2023_x86_64_STANDARD',
  'AL2_ARM_64',
  'AL2_x86_64',
  'AL2_x86_64_GPU',
  'BOTTLEROCKET_ARM_64',
  'BOTTLEROCKET_ARM_64_FIPS',
  'BOTTLEROCKET_ARM_64_NVIDIA',
  'BOTTLEROCKET_ARM_64_NVIDIA_FIPS',
  'BOTTLEROCKET_x86_64',
  'BOTTLEROCKET_x86_64_FIPS',
  'BOTTLEROCKET_x86_64_NVIDIA',
  'BOTTLEROCKET_x86_64_NVIDIA_FIPS',
  'WINDOWS_CORE_2019_x86_64',
  'WINDOWS_CORE_2022_x86_64',
  'WINDOWS_CORE_2025_x86_64',
  'WINDOWS_FULL_2019_x86_64',
  'WINDOWS_FULL_2022_x86_64',
  'WINDOWS_FULL_2025_x86_64',
] as const;
export type EksAmiType = (typeof EKS_AMI_TYPES)[number];

/** Control-plane log types (EKS API Reference, LogSetup `types`; the SDK's `LogType`). */
export const EKS_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'] as const;

/** Taint effects of a managed node group (EKS API Reference, Taint `effect`; the SDK's `TaintEffect`). */
export const EKS_TAINT_EFFECTS = ['NO_SCHEDULE', 'NO_EXECUTE', 'PREFER_NO_SCHEDULE'] as const;

/** How the cluster authenticates IAM principals (EKS API Reference, CreateAccessConfigRequest; CONFIG_MAP alone is not offered). */
export const EKS_AUTHENTICATION_MODES = ['API', 'API_AND_CONFIG_MAP'] as const;

/** An add-on that gets its own IAM role for its Kubernetes service account (IRSA) from the cluster stack. */
export interface AddonServiceAccount {
  /** The Kubernetes service account in kube-system the add-on runs as. */
  serviceAccount: string;
  /** The AWS managed policy (path and name, after arn:<partition>:iam::aws:policy/) the role gets. */
  policy: string;
  /** The role name's suffix: <cluster>-<region>-<kind> (infra/eks/stack.ts iamRoleName). */
  kind: 'ebs-csi' | 'vpc-cni';
}

/**
 * The add-ons whose service-account role the stack creates.
 * - aws-ebs-csi-driver: "The Amazon EKS add-on name is aws-ebs-csi-driver" and it needs "the permissions in the
 *   AmazonEBSCSIDriverPolicy AWS managed policy", for the service account ebs-csi-controller-sa in kube-system,
 *   policy arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy (EKS User Guide, "Amazon EBS CSI driver",
 *   https://docs.aws.amazon.com/eks/latest/userguide/add-ons-aws-ebs-csi-driver.html).
 * - vpc-cni: the plugin "creates and is configured to use a Kubernetes service account named aws-node"; on IPv4
 *   clusters its permissions are the AmazonEKS_CNI_Policy AWS managed policy, and AWS recommends a separate role
 *   (EKS User Guide, "Configure Amazon VPC CNI plugin to use IRSA",
 *   https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html).
 */
export const ADDON_SERVICE_ACCOUNTS: Readonly<Record<string, AddonServiceAccount>> = {
  'aws-ebs-csi-driver': { serviceAccount: 'ebs-csi-controller-sa', policy: 'service-role/AmazonEBSCSIDriverPolicy', kind: 'ebs-csi' },
  'vpc-cni': { serviceAccount: 'aws-node', policy: 'AmazonEKS_CNI_Policy', kind: 'vpc-cni' },
};

/**
 * The service-account role the stack gives an add-on: for a known add-on (above) when the runbook says
 * serviceAccountRole: true, or leaves it out on a cluster with production: true; otherwise none (the add-on uses the
 * node role, as the stack's clusters did before).
 */
export function addonServiceAccount(addon: { name: string; serviceAccountRole?: boolean }, production: boolean | undefined): AddonServiceAccount | undefined {
  const wanted = addon.serviceAccountRole ?? production === true;
  return wanted ? ADDON_SERVICE_ACCOUNTS[addon.name] : undefined;
}
