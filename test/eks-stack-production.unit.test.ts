/**
 * The production elements of the EKS cluster stack (infra/eks/stack.ts) for teams without IaC of their own: the
 * cluster's OIDC provider, access entries and authentication mode, secrets encryption with the region's KMS key,
 * control-plane logs, a launch template per node group (IMDSv2, labels, taints, AMI type), pinned add-ons with
 * service-account roles; in both variants (`aws` and `terraform-data`), and the runbook checks that guard them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AMITypes, AuthenticationMode, LogType, TaintEffect } from '@aws-sdk/client-eks';
import { parseDocument, type Document } from 'yaml';
import { accessEntryId, iamRoleName, launchTemplateName } from '../infra/eks/stack';
import { ClusterStackError, synthesizeClusterStack, type StackVariant } from '../infra/eks/synth';
import { parseRunbook } from '../runbooks/load';
import { EKS_AMI_TYPES, EKS_AUTHENTICATION_MODES, EKS_LOG_TYPES, EKS_TAINT_EFFECTS } from '../runbooks/eks';
import type { Runbook } from '../runbooks/schema';

const APNAKART = readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8');
const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const SUBNETS = ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f'];
const KEY_MUMBAI = 'arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_SINGAPORE = 'arn:aws:kms:ap-southeast-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
const ADMINS = 'arn:aws:iam::123456789012:role/platform/platform-admins';
const DEVELOPER = 'arn:aws:iam::123456789012:user/priya';
const CLUSTER_ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const EDIT = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy';
const TAGS = { 'drover:managed-by': 'drover', 'drover:runbook': 'apnakart', 'drover:region': MUMBAI, 'drover:cluster': 'apnakart-mumbai' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drover-eks-prod-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** apnakart.yaml with networks, a rebuild section and every production element on both clusters, then `edit`. */
function document(edit: (doc: Document) => void = () => {}): Document {
  const doc = parseDocument(APNAKART);
  const keys = { [MUMBAI]: KEY_MUMBAI, [SINGAPORE]: KEY_SINGAPORE };
  for (const i of [0, 1]) {
    doc.setIn(['compute', 'clusters', i, 'network'], doc.createNode({ subnetIds: SUBNETS }));
    doc.setIn(['compute', 'clusters', i, 'encryption'], doc.createNode({ kmsKeys: keys }));
    doc.setIn(['compute', 'clusters', i, 'controlPlaneLogs'], doc.createNode(['api', 'audit', 'authenticator']));
    doc.setIn(['compute', 'clusters', i, 'production'], true);
    doc.setIn(
      ['compute', 'clusters', i, 'addons'],
      doc.createNode([
        { name: 'vpc-cni', version: 'v1.19.2-eksbuild.1' },
        { name: 'aws-ebs-csi-driver', version: 'v1.38.1-eksbuild.1' },
        { name: 'coredns', version: 'v1.11.4-eksbuild.2' },
      ]),
    );
  }
  doc.setIn(
    ['compute', 'clusters', 0, 'access'],
    doc.createNode({
      // Least privilege: the worker's role (the creator) is no admin; who administers the cluster is listed.
      bootstrapClusterCreatorAdminPermissions: false,
      entries: [
        { principalArn: ADMINS, policies: [{ policyArn: CLUSTER_ADMIN, scope: 'cluster' }] },
        { principalArn: DEVELOPER, kubernetesGroups: ['developers'], policies: [{ policyArn: EDIT, scope: 'namespace', namespaces: ['checkout', 'payments'] }] },
      ],
    }),
  );
  doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'amiType'], 'BOTTLEROCKET_x86_64');
  doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'labels'], doc.createNode({ workload: 'checkout', 'apnakart.in/tier': 'frontend' }));
  doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'taints'], doc.createNode([{ key: 'dedicated', value: 'checkout', effect: 'NO_SCHEDULE' }, { key: 'spot', effect: 'PREFER_NO_SCHEDULE' }]));
  doc.setIn(['rebuild'], doc.createNode({ backend: { type: 'local' } }));
  edit(doc);
  return doc;
}

function runbook(edit?: (doc: Document) => void): Runbook {
  const loaded = parseRunbook(document(edit).toString());
  if (!loaded.ok) throw new Error(`test runbook is invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.runbook;
}

/** The runbook's problems as `path: message` lines. */
function problems(edit: (doc: Document) => void): string[] {
  const loaded = parseRunbook(document(edit).toString());
  return loaded.ok ? [] : loaded.problems.map((p) => `${p.path}: ${p.message}`);
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;
let count = 0;
function synth(variant: StackVariant, rb: Runbook = runbook(), region = MUMBAI): { resource: Resources } {
  const out = synthesizeClusterStack({ runbook: rb, region, outdir: join(dir, `s${++count}`), stateDir: join(dir, 'state'), variant });
  return JSON.parse(readFileSync(out.file, 'utf8')) as { resource: Resources };
}

/**
 * One resource's configuration by its Terraform name, in either variant: the real resource's attributes, or the
 * stand-in's `input` (the same configuration). References are written as ref(<name>.<attribute>), where a
 * stand-in's computed attribute is its id.
 */
function resourceOf(variant: StackVariant, name: string, rb?: Runbook, region?: string): Record<string, unknown> {
  const json = synth(variant, rb, region);
  const found = variant === 'aws' ? Object.values(json.resource).find((byName) => name in byName)?.[name] : (json.resource.terraform_data[name]?.input as Record<string, unknown> | undefined);
  if (!found) throw new Error(`no resource named ${name} in the ${variant} variant`);
  const text = JSON.stringify(found).replace(/(?:aws_[a-z_]+|terraform_data)\.([\w-]+)\.([\w.[\]]+)/g, (_, n: string, attribute: string) => `ref(${n}.${variant === 'aws' || attribute.startsWith('input.') ? attribute.replace(/^input\./, '') : 'computed'})`);
  const meta = new Set(['//', 'depends_on', 'lifecycle']);
  return Object.fromEntries(Object.entries(JSON.parse(text) as Record<string, unknown>).filter(([key]) => !meta.has(key)));
}

/** The computed attribute a reference names: itself in the aws variant, the stand-in's id in terraform-data. */
const computed = (variant: StackVariant, attribute: string) => (variant === 'aws' ? attribute : 'computed');

describe.each<StackVariant>(['aws', 'terraform-data'])('the %s variant, given a production runbook', (variant) => {
  test('the cluster authenticates through access entries only, its creator is no admin, its secrets are encrypted with the Mumbai key and it logs api, audit and authenticator', () => {
    expect(resourceOf(variant, 'cluster')).toMatchObject({
      access_config: { authentication_mode: 'API', bootstrap_cluster_creator_admin_permissions: false },
      encryption_config: { provider: { key_arn: KEY_MUMBAI }, resources: ['secrets'] },
      enabled_cluster_log_types: ['api', 'audit', 'authenticator'],
      tags: TAGS,
    });
  });

  test("the Singapore stack encrypts with Singapore's key from the same map", () => {
    expect(resourceOf(variant, 'cluster', runbook(), SINGAPORE)).toMatchObject({ encryption_config: { provider: { key_arn: KEY_SINGAPORE }, resources: ['secrets'] } });
  });

  test("the OIDC provider is the cluster's issuer, for the audience sts.amazonaws.com, without a thumbprint, tagged", () => {
    expect(resourceOf(variant, 'oidc_provider')).toEqual({ url: `\${ref(cluster.${computed(variant, 'identity[0].oidc[0].issuer')})}`, client_id_list: ['sts.amazonaws.com'], tags: TAGS });
  });

  test.each([
    ['aws-ebs-csi-driver', 'ebs_csi_role', 'ebs-csi', 'ebs-csi-controller-sa', 'service-role/AmazonEBSCSIDriverPolicy'],
    ['vpc-cni', 'vpc_cni_role', 'vpc-cni', 'aws-node', 'AmazonEKS_CNI_Policy'],
  ])('the %s add-on is pinned and runs as a role only its kube-system service account can assume through the OIDC provider', (addon, roleId, kind, serviceAccount, policy) => {
    const issuer = `\${replace(ref(cluster.${computed(variant, 'identity[0].oidc[0].issuer')}), "https://", "")}`;
    const role = resourceOf(variant, roleId);
    expect(role).toMatchObject({ name: `apnakart-mumbai-ap-south-1-${kind}`, tags: TAGS });
    // The condition keys are the issuer without its scheme, an expression OpenTofu evaluates inside the policy text.
    expect(role.assume_role_policy).toContain(issuer);
    expect(JSON.parse((role.assume_role_policy as string).split(issuer).join('ISSUER'))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `\${ref(oidc_provider.${computed(variant, 'arn')})}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { 'ISSUER:sub': `system:serviceaccount:kube-system:${serviceAccount}`, 'ISSUER:aud': 'sts.amazonaws.com' } },
        },
      ],
    });
    const attachment = resourceOf(variant, `${roleId}_${policy.split('/').pop()}`);
    expect(attachment).toEqual({ role: `\${ref(${roleId}.name)}`, policy_arn: `arn:aws:iam::aws:policy/${policy}` });
    expect(resourceOf(variant, `addon_${addon}`)).toMatchObject({ addon_name: addon, addon_version: expect.stringMatching(/^v\d/), service_account_role_arn: `\${ref(${roleId}.${computed(variant, 'arn')})}`, tags: TAGS });
  });

  test('without production, a known add-on gets its role only when the runbook asks for it', () => {
    const rb = runbook((doc) => {
      doc.setIn(['compute', 'clusters', 0, 'production'], false);
      doc.setIn(['compute', 'clusters', 0, 'addons', 1, 'serviceAccountRole'], true);
    });
    expect(resourceOf(variant, 'addon_vpc-cni', rb)).not.toHaveProperty('service_account_role_arn');
    expect(resourceOf(variant, 'addon_aws-ebs-csi-driver', rb)).toHaveProperty('service_account_role_arn', `\${ref(ebs_csi_role.${computed(variant, 'arn')})}`);
  });

  test('an add-on drover knows no service account of (coredns) gets no role, and is pinned all the same', () => {
    const coredns = resourceOf(variant, 'addon_coredns');
    expect(coredns).toMatchObject({ addon_version: 'v1.11.4-eksbuild.2' });
    expect(coredns).not.toHaveProperty('service_account_role_arn');
  });

  test('each listed principal gets an access entry and its access policies, cluster-wide or in the namespaces listed', () => {
    expect(resourceOf(variant, 'access_entry_role_platform-admins')).toEqual({ cluster_name: '${ref(cluster.name)}', principal_arn: ADMINS, type: 'STANDARD', tags: TAGS });
    expect(resourceOf(variant, 'access_entry_user_priya')).toEqual({ cluster_name: '${ref(cluster.name)}', principal_arn: DEVELOPER, type: 'STANDARD', kubernetes_groups: ['developers'], tags: TAGS });
    expect(resourceOf(variant, 'access_entry_role_platform-admins_AmazonEKSClusterAdminPolicy')).toEqual({
      cluster_name: '${ref(cluster.name)}',
      principal_arn: '${ref(access_entry_role_platform-admins.principal_arn)}',
      policy_arn: CLUSTER_ADMIN,
      access_scope: { type: 'cluster' },
    });
    expect(resourceOf(variant, 'access_entry_user_priya_AmazonEKSEditPolicy')).toEqual({
      cluster_name: '${ref(cluster.name)}',
      principal_arn: '${ref(access_entry_user_priya.principal_arn)}',
      policy_arn: EDIT,
      access_scope: { type: 'namespace', namespaces: ['checkout', 'payments'] },
    });
  });

  test("each node group launches from its own template (IMDSv2 only, hop limit 2, the group's disk and tags), by id and latest version, with its labels, taints and AMI type", () => {
    const template = resourceOf(variant, 'launch_template_checkout');
    expect(template).toEqual({
      name: 'apnakart-mumbai-checkout',
      metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 2 },
      // Bottlerocket's diskSize is its data volume.
      block_device_mappings: [{ device_name: '/dev/xvdb', ebs: { volume_size: 50, volume_type: 'gp3', encrypted: 'true', delete_on_termination: 'true' } }],
      tag_specifications: [{ resource_type: 'instance', tags: TAGS }, { resource_type: 'volume', tags: TAGS }],
      tags: TAGS,
    });
    const group = resourceOf(variant, 'node_group_checkout');
    expect(group).toMatchObject({
      launch_template: { id: `\${ref(launch_template_checkout.${computed(variant, 'id')})}`, version: `\${ref(launch_template_checkout.${computed(variant, 'latest_version')})}` },
      ami_type: 'BOTTLEROCKET_x86_64',
      labels: { workload: 'checkout', 'apnakart.in/tier': 'frontend' },
      taint: [{ key: 'dedicated', value: 'checkout', effect: 'NO_SCHEDULE' }, { key: 'spot', effect: 'PREFER_NO_SCHEDULE' }],
      tags: TAGS,
    });
    expect(group).not.toHaveProperty('disk_size');
    // A group without them sets none (EKS's default AMI type for the version), and its disk is the root device.
    const general = resourceOf(variant, 'node_group_general');
    for (const absent of ['ami_type', 'labels', 'taint']) expect(general).not.toHaveProperty(absent);
    expect(resourceOf(variant, 'launch_template_general')).toMatchObject({ block_device_mappings: [expect.objectContaining({ device_name: '/dev/xvda' })] });
  });
});

describe('defaults, for runbooks that name none of it', () => {
  const plain = () =>
    runbook((doc) => {
      for (const i of [0, 1]) {
        for (const key of ['encryption', 'controlPlaneLogs', 'production', 'access']) doc.deleteIn(['compute', 'clusters', i, key]);
        doc.setIn(['compute', 'clusters', i, 'addons'], doc.createNode([{ name: 'vpc-cni' }, { name: 'aws-ebs-csi-driver' }, { name: 'kube-proxy' }]));
      }
    });

  test.each<StackVariant>(['aws', 'terraform-data'])('%s: authentication mode API with the creator an admin (EKS default: the redeploy hook reaches the cluster); no encryption, logs, access entries or add-on roles', (variant) => {
    const cluster = resourceOf(variant, 'cluster', plain());
    expect(cluster.access_config).toEqual({ authentication_mode: 'API', bootstrap_cluster_creator_admin_permissions: true });
    for (const absent of ['encryption_config', 'enabled_cluster_log_types']) expect(cluster).not.toHaveProperty(absent);
    const names = Object.values(synth(variant, plain()).resource).flatMap((byName) => Object.keys(byName));
    expect(names.filter((n) => n.startsWith('access_entry') || n.endsWith('_role') || n.includes('_role_')).sort()).toEqual([
      'cluster_role',
      'cluster_role_AmazonEKSClusterPolicy',
      'node_role',
      'node_role_AmazonEC2ContainerRegistryReadOnly',
      'node_role_AmazonEKSWorkerNodePolicy',
      'node_role_AmazonEKS_CNI_Policy',
    ]);
    for (const addon of ['addon_vpc-cni', 'addon_aws-ebs-csi-driver']) expect(resourceOf(variant, addon, plain())).not.toHaveProperty('service_account_role_arn');
  });

  test('API_AND_CONFIG_MAP and no bootstrap admin, when the runbook says so', () => {
    const rb = runbook((doc) => {
      doc.setIn(['compute', 'clusters', 0, 'access', 'authenticationMode'], 'API_AND_CONFIG_MAP');
      doc.setIn(['compute', 'clusters', 0, 'access', 'bootstrapClusterCreatorAdminPermissions'], false);
    });
    expect(resourceOf('aws', 'cluster', rb).access_config).toEqual({ authentication_mode: 'API_AND_CONFIG_MAP', bootstrap_cluster_creator_admin_permissions: false });
  });
});

describe('names within AWS limits', () => {
  test('the service-account roles are <cluster>-<region>-<kind>, cut with a hash to 64 characters', () => {
    expect(iamRoleName('apnakart-mumbai', MUMBAI, 'ebs-csi')).toBe('apnakart-mumbai-ap-south-1-ebs-csi');
    const long = iamRoleName('c'.repeat(100), 'ap-southeast-1', 'vpc-cni');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^c+-[0-9a-f]{8}-ap-southeast-1-vpc-cni$/);
  });

  test('a launch template is <cluster>-<group>, cut with a hash to 128 characters', () => {
    expect(launchTemplateName('apnakart-mumbai', 'general')).toBe('apnakart-mumbai-general');
    const long = launchTemplateName('c'.repeat(100), 'g'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(128);
    expect(long).toMatch(/^c+-[0-9a-f]{8}-g{63}$/);
  });

  test("an access entry's Terraform name is its principal's kind and name; two that would clash are refused before synthesis", () => {
    expect(accessEntryId(ADMINS)).toBe('access_entry_role_platform-admins');
    expect(accessEntryId('arn:aws:iam::123456789012:user/a.b@c')).toBe('access_entry_user_a_b_c');
    const rb = runbook((doc) =>
      doc.setIn(['compute', 'clusters', 0, 'access', 'entries'], doc.createNode([{ principalArn: 'arn:aws:iam::123456789012:role/a/ops' }, { principalArn: 'arn:aws:iam::123456789012:role/b/ops' }])),
    );
    expect(() => synthesizeClusterStack({ runbook: rb, region: MUMBAI, outdir: join(dir, 'clash'), stateDir: join(dir, 'state') })).toThrow(ClusterStackError);
    expect(() => synthesizeClusterStack({ runbook: rb, region: MUMBAI, outdir: join(dir, 'clash'), stateDir: join(dir, 'state') })).toThrow(/access_entry_role_ops/);
  });
});

describe("the runbook's checks of the production elements", () => {
  test('a production runbook with every element is valid', () => {
    expect(problems(() => {})).toEqual([]);
  });

  test.each<[string, (doc: Document) => void, string[]]>([
    [
      "a key of another region, listed for the cluster's",
      (doc) => doc.setIn(['compute', 'clusters', 0, 'encryption', 'kmsKeys', MUMBAI], KEY_SINGAPORE),
      ['compute.clusters[0].encryption.kmsKeys.ap-south-1: is a key of ap-southeast-1, listed for ap-south-1: KMS keys are regional, give a key of ap-south-1'],
    ],
    [
      "no key for the cluster's region",
      (doc) => doc.deleteIn(['compute', 'clusters', 1, 'encryption', 'kmsKeys', SINGAPORE]),
      ["compute.clusters[1].encryption.kmsKeys: has no key for the cluster's region ap-southeast-1: EKS encrypts secrets only with a key of the cluster's own region"],
    ],
    [
      'an alias instead of a key ARN',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'encryption', 'kmsKeys', MUMBAI], 'arn:aws:kms:ap-south-1:123456789012:alias/eks'),
      ['compute.clusters[0].encryption.kmsKeys.ap-south-1: expected a KMS key ARN such as arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ],
    [
      'an unknown log type and a repeated one',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'controlPlaneLogs'], doc.createNode(['api', 'kubelet', 'api'])),
      ['compute.clusters[0].controlPlaneLogs[1]: expected "api", "audit", "authenticator", "controllerManager" or "scheduler", got "kubelet"', 'compute.clusters[0].controlPlaneLogs[2]: api is listed twice'],
    ],
    [
      'an AMI type EKS does not have (the x86_64 spelling is lower case)',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'amiType'], 'AL2023_X86_64_STANDARD'),
      ['compute.clusters[0].nodeGroups[1].amiType: expected '],
    ],
    [
      'a taint effect in Kubernetes spelling',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'taints', 0, 'effect'], 'NoSchedule'),
      ['compute.clusters[0].nodeGroups[1].taints[0].effect: expected "NO_SCHEDULE", "NO_EXECUTE" or "PREFER_NO_SCHEDULE", got "NoSchedule"'],
    ],
    [
      'a label key Kubernetes refuses',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'labels'], doc.createNode({ '-tier': 'x' })),
      ['compute.clusters[0].nodeGroups[1].labels.-tier: expected a Kubernetes label key such as workload or example.com/tier'],
    ],
    [
      'a namespace-scoped policy without namespaces, and a cluster-scoped one with them',
      (doc) => {
        doc.deleteIn(['compute', 'clusters', 0, 'access', 'entries', 1, 'policies', 0, 'namespaces']);
        doc.setIn(['compute', 'clusters', 0, 'access', 'entries', 0, 'policies', 0, 'namespaces'], doc.createNode(['default']));
      },
      [
        'compute.clusters[0].access.entries[0].policies[0].namespaces: applies to scope namespace only; scope cluster is the whole cluster',
        'compute.clusters[0].access.entries[1].policies[0].namespaces: required with scope namespace: the namespaces the policy applies in',
      ],
    ],
    [
      'the same principal twice',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'access', 'entries', 1, 'principalArn'], ADMINS),
      [`compute.clusters[0].access.entries[1].principalArn: ${ADMINS} already has an access entry (access.entries[0])`],
    ],
    [
      'the aws-auth ConfigMap alone',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'access', 'authenticationMode'], 'CONFIG_MAP'),
      ['compute.clusters[0].access.authenticationMode: expected "API" or "API_AND_CONFIG_MAP", got "CONFIG_MAP"'],
    ],
    [
      'production with an unpinned add-on and without encryption',
      (doc) => {
        doc.deleteIn(['compute', 'clusters', 0, 'addons', 2, 'version']);
        doc.deleteIn(['compute', 'clusters', 0, 'encryption']);
      },
      [
        // In file order: a missing field is shown at its cluster, above the add-ons.
        'compute.clusters[0].encryption: required with production: true (cluster apnakart-mumbai): a KMS key of ap-south-1 for the envelope encryption of secrets',
        'compute.clusters[0].addons[2].version: required with production: true (cluster apnakart-mumbai): an unpinned add-on gets whatever version EKS defaults to on the day of the rebuild',
      ],
    ],
    [
      'a service-account role for an add-on drover knows no service account of',
      (doc) => doc.setIn(['compute', 'clusters', 0, 'addons', 2, 'serviceAccountRole'], true),
      ['compute.clusters[0].addons[2].serviceAccountRole: drover knows the service account and policy of aws-ebs-csi-driver and vpc-cni only; give coredns its role outside the stack'],
    ],
  ])('given %s, the runbook is refused with the path', (_, edit, expected) => {
    const found = problems(edit);
    expect(found).toHaveLength(expected.length);
    expected.forEach((line, i) => expect(found[i]?.startsWith(line) ? line : found).toBe(line));
  });

  test("drover's EKS enums are EKS's (the SDK's), CUSTOM AMIs and the CONFIG_MAP-only mode left out on purpose", () => {
    expect([...EKS_AMI_TYPES].sort()).toEqual(Object.values(AMITypes).filter((t) => t !== 'CUSTOM').sort());
    expect([...EKS_LOG_TYPES].sort()).toEqual(Object.values(LogType).sort());
    expect([...EKS_TAINT_EFFECTS].sort()).toEqual(Object.values(TaintEffect).sort());
    expect([...EKS_AUTHENTICATION_MODES].sort()).toEqual(Object.values(AuthenticationMode).filter((m) => m !== 'CONFIG_MAP').sort());
  });
});
