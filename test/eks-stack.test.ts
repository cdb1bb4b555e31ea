import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { ClusterStack, iamRoleName, partitionOf, type ClusterStackProps } from '../infra/eks/stack';
import { ClusterStackError, synthesizeClusterStack, type SynthInput } from '../infra/eks/synth';
import { Testing } from '../infra/eks/testing';
import { parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';

const APNAKART = readFileSync(join(__dirname, '..', 'runbooks', 'apnakart.yaml'), 'utf8');
const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const SUBNETS = ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f', 'subnet-0123456789abcdef0'];
const SECURITY_GROUPS = ['sg-0aaa1111bbbb2222c'];
const TAGS = { 'drover:managed-by': 'drover', 'drover:runbook': 'apnakart', 'drover:region': MUMBAI, 'drover:cluster': 'apnakart-mumbai' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drover-eks-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let dirCount = 0;
function freshDir(): string {
  return join(dir, `d${++dirCount}`);
}

/**
 * apnakart.yaml with this test's own network, add-ons and rebuild section (whatever the file
 * carries), then `edit`, loaded through the runbook loader.
 */
function runbook(edit: (doc: Document) => void = () => {}): Runbook {
  const doc = parseDocument(APNAKART);
  doc.setIn(['compute', 'clusters', 0, 'network'], doc.createNode({ subnetIds: SUBNETS, securityGroupIds: SECURITY_GROUPS }));
  doc.setIn(['compute', 'clusters', 1, 'network'], doc.createNode({ subnetIds: SUBNETS.slice(0, 2), endpointPublicAccess: true }));
  doc.setIn(['compute', 'clusters', 0, 'addons'], doc.createNode([{ name: 'vpc-cni' }, { name: 'coredns', version: 'v1.11.4-eksbuild.2' }, { name: 'kube-proxy' }]));
  doc.setIn(['compute', 'clusters', 1, 'addons'], doc.createNode([]));
  doc.setIn(['rebuild'], doc.createNode({ backend: { type: 'local' }, allowDestroy: ['aws_eks_addon.*'] }));
  edit(doc);
  const loaded = parseRunbook(doc.toString());
  if (!loaded.ok) throw new Error(`test runbook is invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.runbook;
}

/** The stack's Terraform JSON as Testing.synth renders it (keys sorted, `//` metadata removed). */
function synth(props: Partial<ClusterStackProps> = {}): string {
  const app = Testing.app({ outdir: mkdtempSync(join(dir, 'app-')) });
  return Testing.synth(new ClusterStack(app, 'stack', { runbook: runbook(), region: MUMBAI, stateDir: join(dir, 'state'), ...props }));
}

interface TerraformJson {
  provider?: Record<string, Array<Record<string, unknown>>>;
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown }>;
  terraform: { backend: Record<string, Record<string, unknown>>; required_providers?: Record<string, unknown> };
}
const parse = (json: string) => JSON.parse(json) as TerraformJson;

/** Testing.toHaveResourceWithProperties, with the resources of that type shown when it fails. */
function expectResource(json: string, type: string, properties: Record<string, unknown>): void {
  const found = Testing.toHaveResourceWithProperties(json, type, properties);
  if (!found) expect(Object.values(parse(json).resource[type] ?? {})).toContainEqual(expect.objectContaining(properties));
  expect(found).toBe(true);
}

describe('the aws variant', () => {
  let json: string;
  let tf: TerraformJson;
  beforeAll(() => {
    json = synth();
    tf = parse(json);
  });

  test("given the runbook's Mumbai cluster, the stack declares its EKS cluster with the runbook's name, version, role and network", () => {
    expectResource(json, 'aws_eks_cluster', {
      name: 'apnakart-mumbai',
      version: '1.31',
      role_arn: '${aws_iam_role.cluster_role.arn}',
      vpc_config: { subnet_ids: SUBNETS, security_group_ids: SECURITY_GROUPS, endpoint_public_access: false, endpoint_private_access: true },
    });
    expect(Object.keys(tf.resource.aws_eks_cluster)).toEqual(['cluster']);
    expect(tf.resource.aws_eks_cluster.cluster.depends_on).toEqual(['aws_iam_role_policy_attachment.cluster_role_AmazonEKSClusterPolicy']);
  });

  test('given the runbook, the AWS provider is for the region, pinned, with the drover tags as default tags', () => {
    expect(Testing.toHaveProviderWithProperties(json, 'aws', { region: MUMBAI, default_tags: [{ tags: TAGS }] })).toBe(true);
    expect(tf.provider?.aws).toHaveLength(1);
    expect(tf.terraform.required_providers).toEqual({ aws: { source: 'aws', version: '6.25.0' } });
  });

  test('given node groups, a later plan leaves their desired size (failovers own it) and SSH access (not managed) alone', () => {
    for (const group of ['node_group_general', 'node_group_checkout']) {
      expect(tf.resource.aws_eks_node_group[group].lifecycle).toEqual({ ignore_changes: ['scaling_config[0].desired_size', 'remote_access'] });
    }
  });

  test('given a worker that has another 6.x provider build, the stack requires that version instead', () => {
    expect(parse(synth({ awsProviderVersion: '6.47.1' })).terraform.required_providers).toEqual({ aws: { source: 'aws', version: '6.47.1' } });
  });

  test("given two node groups, each gets a node group with the runbook's capacities (desired active, min standby, max), instance types, and its launch template with the disk", () => {
    for (const [name, desired, min, max] of [['general', 12, 2, 24], ['checkout', 6, 1, 12]] as const) {
      expectResource(json, 'aws_eks_node_group', {
        cluster_name: '${aws_eks_cluster.cluster.name}',
        node_group_name: name,
        node_role_arn: '${aws_iam_role.node_role.arn}',
        subnet_ids: SUBNETS,
        instance_types: ['m6i.large'],
        launch_template: { id: `\${aws_launch_template.launch_template_${name}.id}`, version: `\${aws_launch_template.launch_template_${name}.latest_version}` },
        scaling_config: { desired_size: desired, min_size: min, max_size: max },
      });
      // "If you specify launchTemplate, then don't specify diskSize" (EKS API Reference, CreateNodegroup): the disk is the template's.
      expect(tf.resource.aws_eks_node_group[`node_group_${name}`]).not.toHaveProperty('disk_size');
      expect(tf.resource.aws_launch_template[`launch_template_${name}`].block_device_mappings).toEqual([
        { device_name: '/dev/xvda', ebs: { volume_size: 50, volume_type: 'gp3', encrypted: 'true', delete_on_termination: 'true' } },
      ]);
    }
    expect(Object.keys(tf.resource.aws_eks_node_group).sort()).toEqual(['node_group_checkout', 'node_group_general']);
    expect(tf.resource.aws_eks_node_group.node_group_general.depends_on).toEqual([
      'aws_iam_role_policy_attachment.node_role_AmazonEKSWorkerNodePolicy',
      'aws_iam_role_policy_attachment.node_role_AmazonEKS_CNI_Policy',
      'aws_iam_role_policy_attachment.node_role_AmazonEC2ContainerRegistryReadOnly',
    ]);
  });

  test('given a node group without max and with its own instance types and disk, max is its active size and the rest is carried over', () => {
    const rb = runbook((doc) => {
      doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1], doc.createNode({ name: 'batch', standby: 0, active: 3, instanceTypes: ['c7g.xlarge', 'c6g.xlarge'], diskSize: 200 }));
    });
    const out = synth({ runbook: rb });
    expectResource(out, 'aws_eks_node_group', {
      node_group_name: 'batch',
      instance_types: ['c7g.xlarge', 'c6g.xlarge'],
      scaling_config: { desired_size: 3, min_size: 0, max_size: 3 },
    });
    expect(parse(out).resource.aws_launch_template.launch_template_batch.block_device_mappings).toEqual([expect.objectContaining({ ebs: expect.objectContaining({ volume_size: 200 }) })]);
  });

  test('given the cluster, the cluster role trusts EKS and the node role trusts EC2, each with its AWS-managed policies attached', () => {
    const roles = tf.resource.aws_iam_role;
    // No service-account roles: the runbook neither asks for them nor says production (test/eks-stack-production.unit.test.ts).
    expect(Object.keys(roles).sort()).toEqual(['cluster_role', 'node_role']);
    expect(roles.cluster_role.name).toBe('apnakart-mumbai-ap-south-1-cluster');
    expect(roles.node_role.name).toBe('apnakart-mumbai-ap-south-1-node');
    const trusted = (role: Record<string, unknown>) => {
      const policy = JSON.parse(role.assume_role_policy as string) as { Statement: Array<{ Effect: string; Action: string; Principal: { Service: string } }> };
      return policy.Statement.map((s) => `${s.Effect} ${s.Action} ${s.Principal.Service}`);
    };
    expect(trusted(roles.cluster_role)).toEqual(['Allow sts:AssumeRole eks.amazonaws.com']);
    expect(trusted(roles.node_role)).toEqual(['Allow sts:AssumeRole ec2.amazonaws.com']);

    const attachments = Object.values(tf.resource.aws_iam_role_policy_attachment).map((a) => `${String(a.role)} ${String(a.policy_arn)}`);
    expect(attachments.sort()).toEqual([
      '${aws_iam_role.cluster_role.name} arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
      '${aws_iam_role.node_role.name} arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      '${aws_iam_role.node_role.name} arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      '${aws_iam_role.node_role.name} arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
    ]);
  });

  test('given the cluster, every taggable resource carries the drover tags, including the cluster name', () => {
    const taggable = ['aws_iam_role', 'aws_eks_cluster', 'aws_eks_node_group', 'aws_eks_addon', 'aws_iam_openid_connect_provider', 'aws_launch_template'];
    let count = 0;
    for (const type of taggable) {
      for (const [name, resource] of Object.entries(tf.resource[type])) {
        expect({ address: `${type}.${name}`, tags: resource.tags }).toEqual({ address: `${type}.${name}`, tags: TAGS });
        count++;
      }
    }
    expect(count).toBe(2 + 1 + 2 + 3 + 1 + 2);
    // A launch template also tags the instances and volumes it launches.
    for (const template of Object.values(tf.resource.aws_launch_template)) {
      expect(template.tag_specifications).toEqual([{ resource_type: 'instance', tags: TAGS }, { resource_type: 'volume', tags: TAGS }]);
    }
    // The only other resources are policy attachments, which AWS cannot tag.
    expect(Object.keys(tf.resource).sort()).toEqual([...taggable, 'aws_iam_role_policy_attachment'].sort());
  });

  test('given three add-ons, one with a version, each is an EKS add-on of the cluster, installed after the node groups', () => {
    expectResource(json, 'aws_eks_addon', { addon_name: 'coredns', addon_version: 'v1.11.4-eksbuild.2', cluster_name: '${aws_eks_cluster.cluster.name}' });
    const addons = tf.resource.aws_eks_addon;
    expect(Object.keys(addons).sort()).toEqual(['addon_coredns', 'addon_kube-proxy', 'addon_vpc-cni']);
    expect(addons['addon_vpc-cni']).not.toHaveProperty('addon_version');
    for (const addon of Object.values(addons)) {
      expect(addon.resolve_conflicts_on_create).toBe('OVERWRITE');
      expect(addon).not.toHaveProperty('service_account_role_arn');
      expect(addon.depends_on).toEqual(['aws_eks_node_group.node_group_general', 'aws_eks_node_group.node_group_checkout']);
    }
  });

  test('given the cluster, the outputs are its name, ARN, endpoint and node group names', () => {
    expect(tf.output).toEqual({
      cluster_name: { value: '${aws_eks_cluster.cluster.name}' },
      cluster_arn: { value: '${aws_eks_cluster.cluster.arn}' },
      cluster_endpoint: { value: '${aws_eks_cluster.cluster.endpoint}' },
      node_group_names: { value: ['${aws_eks_node_group.node_group_general.node_group_name}', '${aws_eks_node_group.node_group_checkout.node_group_name}'] },
      oidc_provider_arn: { value: '${aws_iam_openid_connect_provider.oidc_provider.arn}' },
    });
  });

  test("given the Singapore cluster, the stack is that region's: provider, tags, public endpoint, no add-ons", () => {
    const sg = synth({ region: SINGAPORE });
    expect(Testing.toHaveProviderWithProperties(sg, 'aws', { region: SINGAPORE })).toBe(true);
    expectResource(sg, 'aws_eks_cluster', {
      name: 'apnakart-singapore',
      vpc_config: { subnet_ids: SUBNETS.slice(0, 2), security_group_ids: [], endpoint_public_access: true, endpoint_private_access: true },
      tags: { ...TAGS, 'drover:region': SINGAPORE, 'drover:cluster': 'apnakart-singapore' },
    });
    expect(parse(sg).resource.aws_iam_role.node_role.name).toBe('apnakart-singapore-ap-southeast-1-node');
    expect(parse(sg).resource).not.toHaveProperty('aws_eks_addon');
  });
});

describe('IAM role names', () => {
  test('given a short cluster name, the role name is <cluster>-<region>-<kind>', () => {
    expect(iamRoleName('apnakart-mumbai', MUMBAI, 'cluster')).toBe('apnakart-mumbai-ap-south-1-cluster');
  });

  test('given a cluster name too long for IAM, the role name is cut to 64 characters with a hash, the same every time and distinct per name', () => {
    const long = 'a'.repeat(90);
    const name = iamRoleName(long, 'ap-southeast-1', 'cluster');
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^a+-[0-9a-f]{8}-ap-southeast-1-cluster$/);
    expect(iamRoleName(long, 'ap-southeast-1', 'cluster')).toBe(name);
    expect(iamRoleName(`${long}b`, 'ap-southeast-1', 'cluster')).not.toBe(name);
    expect(iamRoleName(long, 'ap-southeast-1', 'node')).toMatch(/-ap-southeast-1-node$/);
  });

  test('given a cluster name with characters IAM refuses, they are replaced and a hash keeps the name unique', () => {
    expect(iamRoleName('apna kart', MUMBAI, 'node')).toMatch(/^apna-kart-[0-9a-f]{8}-ap-south-1-node$/);
  });

  test('given a region outside the aws partition, policy ARNs use its partition', () => {
    expect(['cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-west-1'].map(partitionOf)).toEqual(['aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws']);
  });
});

describe('the state backend', () => {
  test('given a local backend, the state file is terraform.tfstate in the state directory the caller gives', () => {
    const stateDir = join(dir, 'state-local');
    expect(parse(synth({ stateDir })).terraform.backend).toEqual({ local: { path: join(stateDir, 'terraform.tfstate') } });
  });

  test('given a relative state directory, the path is made absolute (OpenTofu runs in the stack directory)', () => {
    expect(parse(synth({ stateDir: 'rel/state' })).terraform.backend.local.path).toBe(resolve('rel/state', 'terraform.tfstate'));
  });

  test('given an s3 backend with only a bucket, the key is per runbook and region and the state lives in the surviving region, encrypted and locked', () => {
    const rb = runbook((doc) => doc.setIn(['rebuild', 'backend'], doc.createNode({ type: 's3', bucket: 'apnakart-tfstate' })));
    expect(parse(synth({ runbook: rb, region: MUMBAI })).terraform.backend).toEqual({
      s3: { bucket: 'apnakart-tfstate', key: 'drover/apnakart/ap-south-1/terraform.tfstate', region: SINGAPORE, encrypt: true, use_lockfile: true },
    });
    expect(parse(synth({ runbook: rb, region: SINGAPORE })).terraform.backend.s3).toMatchObject({ key: 'drover/apnakart/ap-southeast-1/terraform.tfstate', region: MUMBAI });
  });

  test('given an s3 backend with a key and a region, both are used as given', () => {
    const rb = runbook((doc) => doc.setIn(['rebuild', 'backend'], doc.createNode({ type: 's3', bucket: 'apnakart-tfstate', key: 'eks/mumbai.tfstate', region: 'eu-west-1' })));
    expect(parse(synth({ runbook: rb })).terraform.backend.s3).toEqual({ bucket: 'apnakart-tfstate', key: 'eks/mumbai.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true });
  });

  test('given a runbook without a rebuild section, the backend is local', () => {
    const rb = runbook((doc) => doc.deleteIn(['rebuild']));
    expect(Object.keys(parse(synth({ runbook: rb })).terraform.backend)).toEqual(['local']);
  });
});

describe('synthesizeClusterStack', () => {
  const input = (over: Partial<SynthInput> = {}): SynthInput => ({ runbook: runbook(), region: MUMBAI, outdir: freshDir(), stateDir: join(dir, 'state'), ...over });

  test('given a runbook and a region, it writes cdk.tf.json into <outdir>/stacks/drover-<runbook>-<region> and lists the addresses', () => {
    const outdir = join(freshDir(), 'nested', 'run-1');
    const out = synthesizeClusterStack(input({ outdir }));
    expect(out.stackName).toBe('drover-apnakart-ap-south-1');
    expect(out.stackDir).toBe(join(outdir, 'stacks', 'drover-apnakart-ap-south-1'));
    expect(out.file).toBe(join(out.stackDir, 'cdk.tf.json'));
    expect(existsSync(out.file)).toBe(true);
    expect(out.resources).toEqual([
      'aws_eks_addon.addon_coredns',
      'aws_eks_addon.addon_kube-proxy',
      'aws_eks_addon.addon_vpc-cni',
      'aws_eks_cluster.cluster',
      'aws_eks_node_group.node_group_checkout',
      'aws_eks_node_group.node_group_general',
      'aws_iam_openid_connect_provider.oidc_provider',
      'aws_iam_role.cluster_role',
      'aws_iam_role.node_role',
      'aws_iam_role_policy_attachment.cluster_role_AmazonEKSClusterPolicy',
      'aws_iam_role_policy_attachment.node_role_AmazonEC2ContainerRegistryReadOnly',
      'aws_iam_role_policy_attachment.node_role_AmazonEKSWorkerNodePolicy',
      'aws_iam_role_policy_attachment.node_role_AmazonEKS_CNI_Policy',
      'aws_launch_template.launch_template_checkout',
      'aws_launch_template.launch_template_general',
    ]);
    const written = readFileSync(out.file, 'utf8');
    expect(Testing.toHaveResourceWithProperties(written, 'aws_eks_cluster', { name: 'apnakart-mumbai' })).toBe(true);
  });

  test('given the same input twice, into different directories, the JSON is byte-identical', () => {
    const a = synthesizeClusterStack(input());
    const b = synthesizeClusterStack(input());
    const again = synthesizeClusterStack(input({ outdir: join(a.stackDir, '..', '..') }));
    expect(readFileSync(b.file, 'utf8')).toBe(readFileSync(a.file, 'utf8'));
    expect(readFileSync(again.file, 'utf8')).toBe(readFileSync(b.file, 'utf8'));
    const d1 = synthesizeClusterStack(input({ variant: 'terraform-data' }));
    const d2 = synthesizeClusterStack(input({ variant: 'terraform-data' }));
    expect(readFileSync(d2.file, 'utf8')).toBe(readFileSync(d1.file, 'utf8'));
  });

  test("given a runbook change (a node group's active size, the Kubernetes version), the synthesized JSON changes with it", () => {
    const base = parse(readFileSync(synthesizeClusterStack(input()).file, 'utf8'));
    const bigger = runbook((doc) => doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 0, 'active'], 16));
    const newer = runbook((doc) => doc.setIn(['compute', 'clusters', 0, 'version'], '1.32'));
    const scaled = parse(readFileSync(synthesizeClusterStack(input({ runbook: bigger })).file, 'utf8'));
    const upgraded = parse(readFileSync(synthesizeClusterStack(input({ runbook: newer })).file, 'utf8'));

    expect(base.resource.aws_eks_node_group.node_group_general.scaling_config).toEqual({ desired_size: 12, min_size: 2, max_size: 24 });
    expect(scaled.resource.aws_eks_node_group.node_group_general.scaling_config).toEqual({ desired_size: 16, min_size: 2, max_size: 24 });
    expect(upgraded.resource.aws_eks_cluster.cluster.version).toBe('1.32');
    // Nothing else moved.
    expect({ ...scaled.resource.aws_eks_node_group.node_group_general, scaling_config: null }).toEqual({ ...base.resource.aws_eks_node_group.node_group_general, scaling_config: null });
    expect(upgraded.resource.aws_eks_node_group).toEqual(base.resource.aws_eks_node_group);

    const data = synthesizeClusterStack(input({ runbook: bigger, variant: 'terraform-data' }));
    const input16 = parse(readFileSync(data.file, 'utf8')).resource.terraform_data.node_group_general.input as { scaling_config: unknown };
    expect(input16.scaling_config).toEqual({ desired_size: 16, min_size: 2, max_size: 24 });
  });

  test('given a region where the runbook has no cluster, it throws a clear error and writes nothing', () => {
    const outdir = freshDir();
    const attempt = () => synthesizeClusterStack(input({ region: 'eu-west-1', outdir }));
    expect(attempt).toThrow(ClusterStackError);
    expect(attempt).toThrow('runbook apnakart has no cluster in region eu-west-1 (its clusters are in ap-south-1, ap-southeast-1)');
    expect(existsSync(outdir)).toBe(false);
  });

  test('given a cluster without a network, it throws a clear error naming the field to add', () => {
    const rb = runbook((doc) => {
      doc.deleteIn(['rebuild']); // the schema requires networks once a rebuild section exists
      doc.deleteIn(['compute', 'clusters', 1, 'network']);
    });
    expect(() => synthesizeClusterStack(input({ runbook: rb, region: SINGAPORE }))).toThrow(
      new ClusterStackError('cluster apnakart-singapore (ap-southeast-1) has no network: add compute.clusters[1].network (subnetIds, securityGroupIds) to rebuild it from code'),
    );
    // The other region still synthesizes.
    expect(synthesizeClusterStack(input({ runbook: rb, region: MUMBAI })).resources).toContain('aws_eks_cluster.cluster');
  });

  test('given two node groups with the same name, it throws a clear error instead of a construct clash', () => {
    const rb = runbook((doc) => doc.setIn(['compute', 'clusters', 0, 'nodeGroups', 1, 'name'], 'general'));
    expect(() => synthesizeClusterStack(input({ runbook: rb }))).toThrow('cluster apnakart-mumbai (ap-south-1) has two node groups named general');
  });
});

describe('the terraform-data variant', () => {
  let aws: TerraformJson;
  let data: TerraformJson;
  let dataResources: string[];
  beforeAll(() => {
    const common = { runbook: runbook(), region: MUMBAI, stateDir: join(dir, 'state') };
    aws = parse(readFileSync(synthesizeClusterStack({ ...common, outdir: freshDir() }).file, 'utf8'));
    const out = synthesizeClusterStack({ ...common, outdir: freshDir(), variant: 'terraform-data' });
    dataResources = out.resources;
    data = parse(readFileSync(out.file, 'utf8'));
  });

  /** aws_eks_cluster.cluster -> cluster, and the same for every address. */
  const names = (tf: TerraformJson) => Object.values(tf.resource).flatMap((byName) => Object.keys(byName)).sort();

  test('given the same runbook, it declares the same resource names, all of type terraform_data, and no provider', () => {
    expect(Object.keys(data.resource)).toEqual(['terraform_data']);
    expect(names(data)).toEqual(names(aws));
    expect(dataResources).toEqual(names(aws).map((n) => `terraform_data.${n}`));
    expect(data.provider).toBeUndefined();
    expect(data.terraform.required_providers ?? {}).toEqual({});
    expect(data.terraform.backend).toEqual(aws.terraform.backend);
    expect(Object.keys(data.output).sort()).toEqual(Object.keys(aws.output).sort());
  });

  test("given the same runbook, each stand-in's input is the real resource's configuration, with references to the stand-ins", () => {
    // References point at the same resource name in both variants; only the attribute differs
    // (a computed ARN becomes the stand-in's id, a configured name is read from its input).
    // Also inside expressions: the service-account roles' trust policies take the issuer through replace().
    const refs = (value: unknown) => JSON.parse(JSON.stringify(value).replace(/(?:aws_[a-z_]+|terraform_data)\.([\w-]+)\.[\w.[\]]+/g, 'ref($1)')) as unknown;
    for (const byName of Object.values(aws.resource)) {
      for (const [name, real] of Object.entries(byName)) {
        // Meta-arguments are not configuration (lifecycle's ignore_changes names real attributes only).
        const config = Object.fromEntries(Object.entries(real).filter(([key]) => key !== '//' && key !== 'depends_on' && key !== 'lifecycle'));
        const dependsOn = real.depends_on as string[] | undefined;
        const standIn = data.resource.terraform_data[name];
        expect({ name, input: refs(standIn.input) }).toEqual({ name, input: refs(config) });
        expect({ name, dependsOn: standIn.depends_on }).toEqual({ name, dependsOn: dependsOn?.map((d) => d.replace(/^aws_[a-z_]+\./, 'terraform_data.')) });
      }
    }
  });

  test('given the cluster, the stand-ins carry the runbook values (name, version, capacities, tags) where a plan shows them', () => {
    const td = data.resource.terraform_data;
    expect(Testing.toHaveResourceWithProperties(JSON.stringify(data), 'terraform_data', { input: { name: 'apnakart-mumbai', version: '1.31', tags: TAGS } })).toBe(true);
    expect(td.node_group_general.input).toMatchObject({ node_group_name: 'general', cluster_name: '${terraform_data.cluster.input.name}', node_role_arn: '${terraform_data.node_role.id}', scaling_config: { desired_size: 12, min_size: 2, max_size: 24 } });
    expect(td['addon_vpc-cni'].input).toMatchObject({ addon_name: 'vpc-cni', tags: TAGS });
    expect(data.output.cluster_name).toEqual({ value: '${terraform_data.cluster.input.name}' });
  });
});
