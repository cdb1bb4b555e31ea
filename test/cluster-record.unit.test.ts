/**
 * Cluster records (contracts/cluster-record.ts): comparing a rebuilt cluster with what it was, field by field, and
 * reading what a saved plan would create (the AWS provider's resources and drover's terraform_data stand-ins).
 */
import type { EksRecordApi } from '../aws/clients';
import { readClusterRecord } from '../activities/cluster-record';
import { clusterFromPlan, compareClusterRecords, comparePlanWithRecord, describeDifference, type ClusterRecord } from '../contracts/cluster-record';

const ROLE = 'arn:aws:iam::111122223333:role/ci-deployer';
const KEY = 'arn:aws:kms:ap-south-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001';

function record(over: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    recordedAt: '2026-12-01T00:00:00.000Z',
    region: 'ap-south-1',
    name: 'apnakart-mumbai',
    present: true,
    version: '1.30',
    logging: ['api', 'audit'],
    encryption: { keyArn: KEY, resources: ['secrets'] },
    accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
    endpoint: { publicAccess: false, privateAccess: true },
    oidcIssuer: 'https://oidc.eks.ap-south-1.amazonaws.com/id/AAAA',
    platformVersion: 'eks.5',
    createdAt: '2026-01-01T00:00:00.000Z',
    nodeGroups: {
      general: {
        scaling: { min: 2, max: 6, desired: 3 },
        instanceTypes: ['m6i.large', 'm5.large'],
        labels: { tier: 'web' },
        taints: [{ key: 'dedicated', value: 'web', effect: 'NO_SCHEDULE' }],
        launchTemplate: { name: 'general-lt', version: '3', id: 'lt-0aaa' },
        amiType: 'AL2023_x86_64_STANDARD',
        capacityType: 'ON_DEMAND',
      },
    },
    addons: { coredns: { version: 'v1.11.4-eksbuild.2' }, 'vpc-cni': { version: 'v1.19.0-eksbuild.1', serviceAccountRoleArn: 'arn:aws:iam::111122223333:role/cni' } },
    accessEntries: { [ROLE]: { type: 'STANDARD', kubernetesGroups: ['deployers'], policies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy', scope: { type: 'namespace', namespaces: ['web', 'api'] } }] } },
    ...over,
  };
}

/** A copy of `r` with `edit` applied (deep, so edits never leak between tests). */
function changed(edit: (r: ClusterRecord) => void, r = record()): ClusterRecord {
  const copy = structuredClone(r);
  edit(copy);
  return copy;
}

const fields = (c: { differences: Array<{ field: string }> }) => c.differences.map((d) => d.field);

describe('compareClusterRecords', () => {
  test('a cluster compared with itself has no difference', () => {
    expect(compareClusterRecords(record(), record(), [])).toEqual({ differences: [], accepted: [], informational: [], unknown: [] });
  });

  test.each<[string, (r: ClusterRecord) => void, unknown, unknown]>([
    ['version', (r) => (r.version = '1.31'), '1.30', '1.31'],
    ['logging', (r) => (r.logging = ['api']), ['api', 'audit'], ['api']],
    ['encryption.keyArn', (r) => (r.encryption!.keyArn = KEY.replace('0001', '0002')), KEY, KEY.replace('0001', '0002')],
    ['encryption.resources', (r) => (r.encryption!.resources = []), ['secrets'], []],
    ['accessConfig.authenticationMode', (r) => (r.accessConfig = { authenticationMode: 'CONFIG_MAP' }), 'API_AND_CONFIG_MAP', 'CONFIG_MAP'],
    ['endpoint.publicAccess', (r) => (r.endpoint!.publicAccess = true), false, true],
    ['nodeGroups.general.scaling.min', (r) => (r.nodeGroups!.general.scaling!.min = 0), 2, 0],
    ['nodeGroups.general.scaling.max', (r) => (r.nodeGroups!.general.scaling!.max = 3), 6, 3],
    ['nodeGroups.general.instanceTypes', (r) => (r.nodeGroups!.general.instanceTypes = ['m6i.large']), ['m5.large', 'm6i.large'], ['m6i.large']],
    ['nodeGroups.general.labels', (r) => (r.nodeGroups!.general.labels = {}), { tier: 'web' }, {}],
    ['nodeGroups.general.taints', (r) => (r.nodeGroups!.general.taints = []), ['dedicated=web:NO_SCHEDULE'], []],
    ['nodeGroups.general.amiType', (r) => (r.nodeGroups!.general.amiType = 'BOTTLEROCKET_x86_64'), 'AL2023_x86_64_STANDARD', 'BOTTLEROCKET_x86_64'],
    ['nodeGroups.general.capacityType', (r) => (r.nodeGroups!.general.capacityType = 'SPOT'), 'ON_DEMAND', 'SPOT'],
    ['addons.coredns.version', (r) => (r.addons!.coredns.version = 'v1.11.3-eksbuild.1'), 'v1.11.4-eksbuild.2', 'v1.11.3-eksbuild.1'],
    ['addons.vpc-cni.serviceAccountRoleArn', (r) => delete r.addons!['vpc-cni'].serviceAccountRoleArn, 'arn:aws:iam::111122223333:role/cni', undefined],
    [`accessEntries.${ROLE}.policies`, (r) => (r.accessEntries![ROLE].policies![0].scope.namespaces = ['web']), ['arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy namespace:api,web'], ['arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy namespace:web']],
    [`accessEntries.${ROLE}.kubernetesGroups`, (r) => (r.accessEntries![ROLE].kubernetesGroups = []), ['deployers'], []],
  ])('%s: a change is one difference at that path', (field, edit, recorded, actual) => {
    const out = compareClusterRecords(record(), changed(edit), []);
    expect(out.differences).toEqual([{ field, recorded, actual }]);
    expect(out.accepted).toEqual([]);
  });

  test('lists whose order means nothing compare as sets: instance types, log types, taints, groups, policy namespaces', () => {
    const reordered = changed((r) => {
      r.logging = ['audit', 'api'];
      r.nodeGroups!.general.instanceTypes = ['m5.large', 'm6i.large'];
      r.accessEntries![ROLE].policies![0].scope.namespaces = ['api', 'web'];
      r.nodeGroups!.general.labels = { tier: 'web' };
    });
    expect(compareClusterRecords(record(), reordered, []).differences).toEqual([]);
  });

  test('a node group, add-on or access entry missing or extra is one difference naming it, absent on the other side', () => {
    const actual = changed((r) => {
      r.nodeGroups!.gpu = { scaling: { min: 0, max: 2, desired: 0 } };
      delete r.nodeGroups!.general;
      delete r.addons!.coredns;
      delete r.accessEntries![ROLE];
    });
    const out = compareClusterRecords(record(), actual, []);
    expect(fields(out)).toEqual(['nodeGroups.general', 'nodeGroups.gpu', 'addons.coredns', `accessEntries.${ROLE}`]);
    expect(out.differences.find((d) => d.field === 'nodeGroups.general')).toEqual({ field: 'nodeGroups.general', recorded: record().nodeGroups!.general, actual: 'absent' });
    expect(out.differences.find((d) => d.field === 'nodeGroups.gpu')).toMatchObject({ recorded: 'absent' });
    expect(describeDifference(out.differences.find((d) => d.field === 'addons.coredns')!)).toBe('addons.coredns: recorded {"version":"v1.11.4-eksbuild.2"}, now absent');
  });

  test('what differs by nature on a new cluster is informational, never a difference: OIDC issuer, platform version, created time, launch template id and version, desired size', () => {
    const rebuilt = changed((r) => {
      r.oidcIssuer = 'https://oidc.eks.ap-south-1.amazonaws.com/id/BBBB';
      r.platformVersion = 'eks.1';
      r.createdAt = '2026-12-06T00:00:00.000Z';
      r.nodeGroups!.general.launchTemplate!.id = 'lt-0bbb';
      r.nodeGroups!.general.launchTemplate!.version = '1';
      r.nodeGroups!.general.scaling!.desired = 6;
    });
    const out = compareClusterRecords(record(), rebuilt, []);
    expect(out.differences).toEqual([]);
    expect(out.informational.map((d) => d.field)).toEqual(['oidcIssuer', 'platformVersion', 'createdAt', 'nodeGroups.general.scaling.desired', 'nodeGroups.general.launchTemplate.version', 'nodeGroups.general.launchTemplate.id']);
  });

  test('accept globs move differences to accepted: exact paths, * across dots, principal ARNs with slashes', () => {
    const actual = changed((r) => {
      r.version = '1.31';
      r.addons!.coredns.version = 'v1.12.0-eksbuild.1';
      r.nodeGroups!.general.labels = { tier: 'api' };
      r.accessEntries![ROLE].kubernetesGroups = ['admins'];
      r.endpoint!.publicAccess = true;
    });
    const out = compareClusterRecords(record(), actual, ['version', 'addons.*', 'nodeGroups.*.labels', 'accessEntries.arn:aws:iam::*:role/ci-*']);
    expect(out.accepted.map((d) => d.field)).toEqual(['version', 'nodeGroups.general.labels', 'addons.coredns.version', `accessEntries.${ROLE}.kubernetesGroups`]);
    expect(fields(out)).toEqual(['endpoint.publicAccess']);
    // A glob does not match a prefix of a path by itself: `nodeGroups` is not `nodeGroups.general.labels`.
    expect(compareClusterRecords(record(), actual, ['nodeGroups']).accepted).toEqual([]);
  });

  test('a part the record holds but the cluster now does not show is a difference (verification cannot vouch for it); a part the record never had is only not compared, and said so', () => {
    const actual = changed((r) => {
      delete r.addons;
      delete r.accessEntries;
      r.unreadable = ['accessEntries: AccessDeniedException', 'addons: 404'];
      r.version = '1.31';
    });
    const out = compareClusterRecords(record(), actual, []);
    expect(fields(out)).toEqual(['accessEntries', 'addons', 'version']);
    expect(out.differences[0]).toEqual({ field: 'accessEntries', recorded: 'read', actual: 'unreadable (AccessDeniedException)' });
    expect(out.unknown).toEqual(['accessEntries: actual AccessDeniedException', 'addons: actual 404']);
    // Accepted like any difference (an emulator without the API, say).
    expect(compareClusterRecords(record(), actual, ['addons', 'accessEntries']).accepted.map((d) => d.field)).toEqual(['accessEntries', 'addons']);
    // Unread on both sides (the record never had them): nothing to compare, no difference.
    const before = changed((r) => {
      delete r.addons;
      r.unreadable = ['addons: 404'];
    });
    const both = compareClusterRecords(before, actual, []);
    expect(fields(both)).toEqual(['accessEntries', 'version']);
    expect(both.unknown).toEqual(['addons: recorded 404', 'accessEntries: actual AccessDeniedException', 'addons: actual 404']);
  });

  test('an access entry EKS makes itself for a node role (type EC2_LINUX) on one side only is informational; a STANDARD one is a difference', () => {
    const nodes = 'arn:aws:iam::111122223333:role/apnakart-mumbai-ap-south-1-node';
    const ci = 'arn:aws:iam::111122223333:role/ci';
    const actual = changed((r) => {
      r.accessEntries = { ...r.accessEntries, [nodes]: { type: 'EC2_LINUX' }, [ci]: { type: 'STANDARD', policies: [] } };
    });
    const out = compareClusterRecords(record(), actual, []);
    expect(fields(out)).toEqual([`accessEntries.${ci}`]);
    expect(out.informational.map((d) => d.field)).toEqual([`accessEntries.${nodes}`]);
  });

  test('a cluster gone is one difference, `cluster`; both gone, none; a cluster not read now is a difference, and nothing else is compared', () => {
    const gone: ClusterRecord = { recordedAt: 'x', region: 'ap-south-1', name: 'apnakart-mumbai', present: false };
    expect(compareClusterRecords(record(), gone, []).differences).toEqual([{ field: 'cluster', recorded: 'present', actual: 'absent' }]);
    expect(compareClusterRecords(gone, gone, []).differences).toEqual([]);
    const unread = compareClusterRecords(record(), { ...gone, unreadable: ['cluster: AccessDeniedException'] }, []);
    expect(unread.differences).toEqual([{ field: 'cluster', recorded: 'read', actual: 'unreadable (AccessDeniedException)' }]);
    expect(unread.unknown).toEqual(['cluster: actual AccessDeniedException']);
  });

  test('describeDifference names the field and both values on one line', () => {
    expect(describeDifference({ field: 'version', recorded: '1.30', actual: '1.31' })).toBe('version: recorded 1.30, now 1.31');
    expect(describeDifference({ field: 'nodeGroups.general.instanceTypes', recorded: ['m5.large', 'm6i.large'], actual: ['m6i.large'] })).toBe('nodeGroups.general.instanceTypes: recorded m5.large, m6i.large, now m6i.large');
    expect(describeDifference({ field: 'encryption.keyArn', recorded: KEY, actual: undefined })).toBe(`encryption.keyArn: recorded ${KEY}, now none`);
  });
});

/** `tofu show -json` of a saved plan, as the AWS provider (6.x) writes its resources: nested blocks are lists of one object. */
const PROVIDER_PLAN = {
  format_version: '1.2',
  resource_changes: [
    {
      address: 'aws_eks_cluster.cluster',
      type: 'aws_eks_cluster',
      name: 'cluster',
      change: {
        actions: ['create'],
        after: {
          name: 'apnakart-mumbai',
          region: 'ap-south-1',
          version: '1.31',
          enabled_cluster_log_types: ['audit', 'api'],
          encryption_config: [{ provider: [{ key_arn: KEY }], resources: ['secrets'] }],
          access_config: [{ authentication_mode: 'API', bootstrap_cluster_creator_admin_permissions: true }],
          vpc_config: [{ endpoint_public_access: false, endpoint_private_access: true, subnet_ids: ['subnet-1'] }],
        },
        // Known only after apply: left out of `after`.
        after_unknown: { arn: true, identity: true, platform_version: true, created_at: true },
      },
    },
    {
      address: 'aws_eks_node_group.node_group_general',
      type: 'aws_eks_node_group',
      name: 'node_group_general',
      change: {
        actions: ['create'],
        after: {
          cluster_name: 'apnakart-mumbai',
          node_group_name: 'general',
          scaling_config: [{ min_size: 2, max_size: 6, desired_size: 6 }],
          instance_types: ['m5.large', 'm6i.large'],
          labels: { tier: 'web' },
          taint: [{ key: 'dedicated', value: 'web', effect: 'NO_SCHEDULE' }],
          launch_template: [{ name: 'general-lt', version: '3' }],
          ami_type: 'AL2023_x86_64_STANDARD',
          capacity_type: 'ON_DEMAND',
        },
        after_unknown: { arn: true, launch_template: [{ id: true }] },
      },
    },
    { address: 'aws_eks_addon.addon_coredns', type: 'aws_eks_addon', name: 'addon_coredns', change: { actions: ['create'], after: { cluster_name: 'apnakart-mumbai', addon_name: 'coredns', addon_version: 'v1.11.4-eksbuild.2' } } },
    { address: 'aws_eks_addon.addon_other', type: 'aws_eks_addon', name: 'addon_other', change: { actions: ['create'], after: { cluster_name: 'another-cluster', addon_name: 'kube-proxy' } } },
    { address: 'aws_eks_access_entry.ci', type: 'aws_eks_access_entry', name: 'ci', change: { actions: ['create'], after: { cluster_name: 'apnakart-mumbai', principal_arn: ROLE, type: 'STANDARD', kubernetes_groups: ['deployers'] } } },
    {
      address: 'aws_eks_access_policy_association.ci_edit',
      type: 'aws_eks_access_policy_association',
      name: 'ci_edit',
      change: { actions: ['create'], after: { cluster_name: 'apnakart-mumbai', principal_arn: ROLE, policy_arn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy', access_scope: [{ type: 'namespace', namespaces: ['api', 'web'] }] } },
    },
    // Deleted: no `after`.
    { address: 'aws_eks_addon.old', type: 'aws_eks_addon', name: 'old', change: { actions: ['delete'], after: null } },
  ],
};

/** The same cluster in drover's terraform-data variant (infra/eks/stack.ts declareResource): the real config, snake_case, as `input`. */
const STAND_IN_PLAN = {
  format_version: '1.2',
  resource_changes: [
    { address: 'terraform_data.cluster_role', type: 'terraform_data', name: 'cluster_role', change: { actions: ['create'], after: { input: { name: 'apnakart-mumbai-ap-south-1-cluster' } } } },
    {
      address: 'terraform_data.cluster',
      type: 'terraform_data',
      name: 'cluster',
      change: { actions: ['create'], after: { input: { name: 'apnakart-mumbai', version: '1.31', vpc_config: { endpoint_public_access: false, endpoint_private_access: true, subnet_ids: ['subnet-1'] }, tags: { 'drover:runbook': 'apnakart' } } }, after_unknown: { input: { role_arn: true } } },
    },
    {
      address: 'terraform_data.node_group_general',
      type: 'terraform_data',
      name: 'node_group_general',
      change: { actions: ['create'], after: { input: { cluster_name: 'apnakart-mumbai', node_group_name: 'general', instance_types: ['m6i.large'], scaling_config: { desired_size: 6, min_size: 2, max_size: 6 } } } },
    },
    { address: 'terraform_data.addon_coredns', type: 'terraform_data', name: 'addon_coredns', change: { actions: ['create'], after: { input: { cluster_name: 'apnakart-mumbai', addon_name: 'coredns', addon_version: 'v1.11.4-eksbuild.2', resolve_conflicts_on_create: 'OVERWRITE' } } } },
  ],
};

describe('clusterFromPlan', () => {
  test('the AWS provider plan: the named cluster, its node groups, add-ons and access entries; unknown-after-apply values left out', () => {
    expect(clusterFromPlan(PROVIDER_PLAN, 'apnakart-mumbai')).toEqual({
      region: 'ap-south-1',
      name: 'apnakart-mumbai',
      present: true,
      version: '1.31',
      logging: ['audit', 'api'],
      encryption: { keyArn: KEY, resources: ['secrets'] },
      accessConfig: { authenticationMode: 'API' },
      endpoint: { publicAccess: false, privateAccess: true },
      nodeGroups: {
        general: {
          scaling: { min: 2, max: 6, desired: 6 },
          instanceTypes: ['m5.large', 'm6i.large'],
          labels: { tier: 'web' },
          taints: [{ key: 'dedicated', value: 'web', effect: 'NO_SCHEDULE' }],
          launchTemplate: { name: 'general-lt', version: '3' },
          amiType: 'AL2023_x86_64_STANDARD',
          capacityType: 'ON_DEMAND',
        },
      },
      addons: { coredns: { version: 'v1.11.4-eksbuild.2' } },
      accessEntries: { [ROLE]: { type: 'STANDARD', kubernetesGroups: ['deployers'], policies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy', scope: { type: 'namespace', namespaces: ['api', 'web'] } }] } },
    });
    expect(clusterFromPlan(PROVIDER_PLAN, 'no-such-cluster')).toBeUndefined();
    expect(clusterFromPlan({ nonsense: true }, 'apnakart-mumbai')).toBeUndefined();
  });

  test("drover's terraform_data stand-ins are read as the resources they stand for; other stand-ins (roles) are ignored", () => {
    expect(clusterFromPlan(STAND_IN_PLAN, 'apnakart-mumbai')).toEqual({
      region: '',
      name: 'apnakart-mumbai',
      present: true,
      version: '1.31',
      // A stand-in's input is the whole configuration: no log types, no encryption_config means none.
      logging: [],
      declaredNone: ['encryption'],
      endpoint: { publicAccess: false, privateAccess: true },
      nodeGroups: { general: { scaling: { min: 2, max: 6, desired: 6 }, instanceTypes: ['m6i.large'] } },
      addons: { coredns: { version: 'v1.11.4-eksbuild.2' } },
    });
  });

  test('a cluster of the same name in the other region is not the one read, when the plan says its region', () => {
    const show = { resource_changes: [{ type: 'aws_eks_cluster', name: 'a', change: { actions: ['create'], after: { name: 'shop', region: 'ap-southeast-1', version: '1.30' }, after_unknown: {} } }, { type: 'aws_eks_cluster', name: 'b', change: { actions: ['create'], after: { name: 'shop', region: 'ap-south-1', version: '1.31' }, after_unknown: { enabled_cluster_log_types: true } } }] };
    expect(clusterFromPlan(show, 'shop', 'ap-south-1')).toMatchObject({ region: 'ap-south-1', version: '1.31', declaredNone: ['encryption'] });
    // Log types known only after apply are not "none".
    expect(clusterFromPlan(show, 'shop', 'ap-south-1')).not.toHaveProperty('logging');
    expect(clusterFromPlan(show, 'shop', 'ap-southeast-1')).toMatchObject({ region: 'ap-southeast-1', version: '1.30', logging: [] });
  });

  test('a plan compared with a record: only over what the plan knows; a member the code would not create, or would add, is a difference', () => {
    const planned = clusterFromPlan(STAND_IN_PLAN, 'apnakart-mumbai')!;
    // The code declares no logging and no encryption: the record's are differences (the regressions a rebuild must not
    // hide). Labels, taints, launch template, access entries: the plan says nothing of them.
    const out = comparePlanWithRecord(record(), planned, []);
    expect(out.differences).toEqual([
      { field: 'version', recorded: '1.30', actual: '1.31' },
      { field: 'logging', recorded: ['api', 'audit'], actual: [] },
      { field: 'encryption.keyArn', recorded: 'arn:aws:kms:ap-south-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001', actual: undefined },
      { field: 'encryption.resources', recorded: ['secrets'], actual: undefined },
      { field: 'nodeGroups.general.instanceTypes', recorded: ['m5.large', 'm6i.large'], actual: ['m6i.large'] },
      { field: 'addons.vpc-cni', recorded: { version: 'v1.19.0-eksbuild.1', serviceAccountRoleArn: 'arn:aws:iam::111122223333:role/cni' }, actual: 'absent' },
    ]);
    expect(out.informational).toEqual([{ field: 'nodeGroups.general.scaling.desired', recorded: 3, actual: 6 }]);
    // The provider plan knows more, and matches the record but for the version and the authentication mode.
    const full = comparePlanWithRecord(record(), clusterFromPlan(PROVIDER_PLAN, 'apnakart-mumbai')!, ['addons.*']);
    expect(fields(full)).toEqual(['version', 'accessConfig.authenticationMode']);
    expect(full.accepted.map((d) => d.field)).toEqual(['addons.vpc-cni']);
  });
});

/** An SDK-shaped error: its name is the AWS error code. */
const awsError = (name: string, status: number) => Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });

/** An EKS client over fixed answers: listings paged two names a page, `refuse` naming the calls that fail. */
function fakeEks(refuse: Partial<Record<keyof EksRecordApi, Error>> = {}): EksRecordApi {
  const page = <K extends string>(key: K, all: string[], token?: string) => {
    const at = Number(token ?? 0);
    return { [key]: all.slice(at, at + 2), ...(at + 2 < all.length ? { nextToken: String(at + 2) } : {}) } as Record<K, string[]> & { nextToken?: string };
  };
  const or = <T>(k: keyof EksRecordApi, v: T): Promise<T> => (refuse[k] ? Promise.reject(refuse[k]) : Promise.resolve(v));
  const api = {
    describeCluster: async (i: { name?: string }) => {
      if (i.name !== 'c1') throw awsError('ResourceNotFoundException', 404);
      return or('describeCluster', { cluster: { name: 'c1', version: '1.31', logging: { clusterLogging: [{ types: ['api', 'audit'], enabled: true }, { types: ['scheduler'], enabled: false }] }, resourcesVpcConfig: { endpointPublicAccess: false, endpointPrivateAccess: true }, accessConfig: { authenticationMode: 'API' }, certificateAuthority: { data: 'LS0tLS1CRUdJTi' } } });
    },
    listNodegroups: async (i: { nextToken?: string }) => or('listNodegroups', page('nodegroups', ['a', 'b', 'c'], i.nextToken)),
    describeNodegroup: async (i: { nodegroupName?: string }) => {
      if (i.nodegroupName === 'named-only') throw awsError('ResourceNotFoundException', 404);
      return or('describeNodegroup', { nodegroup: { nodegroupName: i.nodegroupName, scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 2 }, instanceTypes: ['m6i.large'] } });
    },
    listAddons: async (i: { nextToken?: string }) => or('listAddons', page('addons', ['coredns', 'kube-proxy', 'vpc-cni'], i.nextToken)),
    describeAddon: async (i: { addonName?: string }) => or('describeAddon', { addon: { addonName: i.addonName, addonVersion: `${i.addonName}-v1` } }),
    listAccessEntries: async () => or('listAccessEntries', { accessEntries: [ROLE] }),
    describeAccessEntry: async () => or('describeAccessEntry', { accessEntry: { type: 'STANDARD', kubernetesGroups: ['deployers'] } }),
    listAssociatedAccessPolicies: async () => or('listAssociatedAccessPolicies', { associatedAccessPolicies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', accessScope: { type: 'cluster' } }] }),
  };
  return api as unknown as EksRecordApi;
}

describe('readClusterRecord', () => {
  test('every page of every listing is read; disabled log types are not enabled ones; no certificate data is kept', async () => {
    const r = await readClusterRecord(() => fakeEks(), 'ap-south-1', 'c1', ['a', 'named-only']);
    expect(r).toMatchObject({ present: true, version: '1.31', logging: ['api', 'audit'], accessConfig: { authenticationMode: 'API' }, endpoint: { publicAccess: false, privateAccess: true } });
    expect(Object.keys(r.nodeGroups!).sort()).toEqual(['a', 'b', 'c']);
    expect(r.addons).toEqual({ coredns: { version: 'coredns-v1' }, 'kube-proxy': { version: 'kube-proxy-v1' }, 'vpc-cni': { version: 'vpc-cni-v1' } });
    expect(r.accessEntries).toEqual({ [ROLE]: { type: 'STANDARD', kubernetesGroups: ['deployers'], policies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', scope: { type: 'cluster' } }] } });
    expect(r.unreadable).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain('LS0tLS1CRUdJTi');
  });

  test('a part refused is named unreadable with its code, the rest still recorded; a cluster not found is absent; a cluster refused is unreadable', async () => {
    const r = await readClusterRecord(() => fakeEks({ listAddons: awsError('AccessDeniedException', 403), listAssociatedAccessPolicies: awsError('AccessDeniedException', 403) }), 'ap-south-1', 'c1');
    expect(r.addons).toBeUndefined();
    expect(r.unreadable).toEqual(['addons: AccessDeniedException', `accessEntries.${ROLE}.policies: AccessDeniedException`].sort());
    expect(r.accessEntries).toEqual({ [ROLE]: { type: 'STANDARD', kubernetesGroups: ['deployers'] } });
    expect(Object.keys(r.nodeGroups!)).toHaveLength(3);
    expect(await readClusterRecord(() => fakeEks(), 'ap-south-1', 'gone')).toEqual({ recordedAt: expect.any(String), region: 'ap-south-1', name: 'gone', present: false });
    expect(await readClusterRecord(() => fakeEks({ describeCluster: awsError('AccessDeniedException', 403) }), 'ap-south-1', 'c1')).toMatchObject({ present: false, unreadable: ['cluster: AccessDeniedException'] });
  });
});
