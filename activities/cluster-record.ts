/**
 * Read what an EKS cluster is (contracts/cluster-record.ts): DescribeCluster, then its node groups, add-ons and access
 * entries, each listing followed to its end. Read-only. A part EKS refuses is named in the record's `unreadable` with
 * the error code, never thrown: a record of the rest is still worth having, and it says what it lacks.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { EksRecordApi } from '../aws/clients';
import { aws, awsErrorCode } from '../aws/errors';
import { FailureType } from '../contracts/failures';
import type { AccessEntryRecord, AccessPolicyRecord, AddonRecord, ClusterRecord, NodeGroupRecord } from '../contracts/cluster-record';

/** Pages of one listing read at most (100 names a page at EKS's maximum): a listing that never ends cannot hold the evaluation. */
const PAGES = 50;

/**
 * The AWS error code of what `aws()` threw (a typed failure keeps it in its details), or the failure type, with the
 * HTTP status when known: an endpoint that does not implement a call may answer a bare 404 the SDK cannot parse
 * (`SyntaxError (HTTP 404)`).
 */
function codeOf(e: unknown): string {
  let code: string;
  let status = (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (e instanceof ApplicationFailure) {
    const detail = (e.details?.[0] as { code?: unknown } | undefined)?.code;
    code = typeof detail === 'string' ? detail : (e.type ?? 'Unknown');
    status ??= Number(/\(HTTP (\d{3})/.exec(e.message)?.[1]) || undefined;
  } else code = awsErrorCode(e) ?? 'Unknown';
  return status ? `${code} (HTTP ${status})` : code;
}

const isNotFound = (e: unknown) => e instanceof ApplicationFailure && e.type === FailureType.NotFound;

/** Every page of a listing: `page(token)` answers the names and the next token. */
async function listAll(page: (token: string | undefined) => Promise<{ names?: string[]; next?: string }>): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < PAGES; i++) {
    const out = await page(token);
    names.push(...(out.names ?? []));
    // A token equal to the one sent would list the same page forever.
    if (!out.next || out.next === token) break;
    token = out.next;
  }
  return names;
}

/**
 * The record of cluster `name` in `region`. The node groups are those ListNodegroups names, and any of
 * `nodeGroupNames` (the runbook's) it does not (a group that does not exist is then absent, not an error).
 * ResourceNotFound on the cluster: `present: false`. Any other refusal of DescribeCluster: `present: false` with
 * `unreadable: ['cluster: <code>']`. Refusals of one part: that part in `unreadable`.
 * (DescribeCluster, ListNodegroups, DescribeNodegroup, ListAddons, DescribeAddon, ListAccessEntries,
 * DescribeAccessEntry, ListAssociatedAccessPolicies: https://docs.aws.amazon.com/eks/latest/APIReference/API_Operations_Amazon_Elastic_Kubernetes_Service.html;
 * the list calls are paginated by nextToken, maxResults up to 100.)
 */
export async function readClusterRecord(eks: (region: string) => EksRecordApi, region: string, name: string, nodeGroupNames: string[] = []): Promise<ClusterRecord> {
  const client = eks(region);
  const recordedAt = new Date().toISOString();
  const unreadable: string[] = [];
  const refused = (part: string) => (e: unknown) => {
    unreadable.push(`${part}: ${codeOf(e)}`);
    return undefined;
  };
  let cluster;
  try {
    cluster = (await aws('eks:DescribeCluster', () => client.describeCluster({ name }))).cluster;
  } catch (e) {
    if (isNotFound(e)) return { recordedAt, region, name, present: false };
    return { recordedAt, region, name, present: false, unreadable: [`cluster: ${codeOf(e)}`] };
  }
  if (!cluster) return { recordedAt, region, name, present: false };

  const enc = cluster.encryptionConfig?.[0];
  const record: ClusterRecord = {
    recordedAt,
    region,
    name,
    present: true,
    ...(cluster.version !== undefined ? { version: cluster.version } : {}),
    // The enabled types only (a disabled entry lists the others): "clusterLogging: The cluster control plane logging configuration" (API_Logging).
    logging: (cluster.logging?.clusterLogging ?? []).filter((l) => l.enabled).flatMap((l) => l.types ?? []),
    ...(enc ? { encryption: { ...(enc.provider?.keyArn ? { keyArn: enc.provider.keyArn } : {}), resources: enc.resources ?? [] } } : {}),
    ...(cluster.accessConfig?.authenticationMode ? { accessConfig: { authenticationMode: cluster.accessConfig.authenticationMode } } : {}),
    endpoint: { publicAccess: cluster.resourcesVpcConfig?.endpointPublicAccess, privateAccess: cluster.resourcesVpcConfig?.endpointPrivateAccess },
    ...(cluster.identity?.oidc?.issuer ? { oidcIssuer: cluster.identity.oidc.issuer } : {}),
    ...(cluster.platformVersion ? { platformVersion: cluster.platformVersion } : {}),
    ...(cluster.createdAt ? { createdAt: new Date(cluster.createdAt).toISOString() } : {}),
  };

  const [nodeGroups, addons, accessEntries] = await Promise.all([readNodeGroups(client, name, nodeGroupNames, refused), readAddons(client, name, refused), readAccessEntries(client, name, refused)]);
  if (nodeGroups) record.nodeGroups = nodeGroups;
  if (addons) record.addons = addons;
  if (accessEntries) record.accessEntries = accessEntries;
  if (unreadable.length) record.unreadable = unreadable.sort();
  return record;
}

type Refused = (part: string) => (e: unknown) => undefined;

async function readNodeGroups(client: EksRecordApi, cluster: string, named: string[], refused: Refused): Promise<Record<string, NodeGroupRecord> | undefined> {
  const listed = await listAll(async (nextToken) => {
    const out = await aws('eks:ListNodegroups', () => client.listNodegroups({ clusterName: cluster, ...(nextToken ? { nextToken } : {}) }));
    return { names: out.nodegroups, next: out.nextToken };
  }).catch(refused('nodeGroups'));
  const names = [...new Set([...(listed ?? []), ...named])].sort();
  const out: Record<string, NodeGroupRecord> = {};
  await Promise.all(
    names.map(async (g) => {
      try {
        const ng = (await aws('eks:DescribeNodegroup', () => client.describeNodegroup({ clusterName: cluster, nodegroupName: g }))).nodegroup;
        if (!ng) return;
        const sc = ng.scalingConfig;
        const lt = ng.launchTemplate;
        out[g] = {
          scaling: { min: sc?.minSize, max: sc?.maxSize, desired: sc?.desiredSize },
          instanceTypes: ng.instanceTypes ?? [],
          labels: ng.labels ?? {},
          taints: (ng.taints ?? []).map((t) => ({ key: t.key ?? '', ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect ?? '' })),
          ...(lt ? { launchTemplate: { name: lt.name, version: lt.version, id: lt.id } } : {}),
          ...(ng.amiType ? { amiType: ng.amiType } : {}),
          ...(ng.capacityType ? { capacityType: ng.capacityType } : {}),
        };
      } catch (e) {
        // A group the runbook names that does not exist is absent (a comparison says so), not unreadable.
        if (!isNotFound(e)) refused(`nodeGroups.${g}`)(e);
      }
    }),
  );
  return listed === undefined && names.length === 0 ? undefined : out;
}

async function readAddons(client: EksRecordApi, cluster: string, refused: Refused): Promise<Record<string, AddonRecord> | undefined> {
  const names = await listAll(async (nextToken) => {
    const out = await aws('eks:ListAddons', () => client.listAddons({ clusterName: cluster, ...(nextToken ? { nextToken } : {}) }));
    return { names: out.addons, next: out.nextToken };
  }).catch(refused('addons'));
  if (names === undefined) return undefined;
  const out: Record<string, AddonRecord> = {};
  await Promise.all(
    names.map(async (a) => {
      const addon = await aws('eks:DescribeAddon', () => client.describeAddon({ clusterName: cluster, addonName: a })).then((o) => o.addon, refused(`addons.${a}`));
      if (addon) out[a] = { ...(addon.addonVersion ? { version: addon.addonVersion } : {}), ...(addon.serviceAccountRoleArn ? { serviceAccountRoleArn: addon.serviceAccountRoleArn } : {}) };
    }),
  );
  return out;
}

async function readAccessEntries(client: EksRecordApi, cluster: string, refused: Refused): Promise<Record<string, AccessEntryRecord> | undefined> {
  const principals = await listAll(async (nextToken) => {
    const out = await aws('eks:ListAccessEntries', () => client.listAccessEntries({ clusterName: cluster, ...(nextToken ? { nextToken } : {}) }));
    return { names: out.accessEntries, next: out.nextToken };
  }).catch(refused('accessEntries'));
  if (principals === undefined) return undefined;
  const out: Record<string, AccessEntryRecord> = {};
  await Promise.all(
    principals.map(async (principalArn) => {
      const [entry, policies] = await Promise.all([
        aws('eks:DescribeAccessEntry', () => client.describeAccessEntry({ clusterName: cluster, principalArn })).then((o) => o.accessEntry, refused(`accessEntries.${principalArn}`)),
        readPolicies(client, cluster, principalArn).catch(refused(`accessEntries.${principalArn}.policies`)),
      ]);
      // The username EKS maps the principal to is left out: it is configuration, but often the principal's own name, and no comparison needs it.
      out[principalArn] = { ...(entry?.type ? { type: entry.type } : {}), ...(entry ? { kubernetesGroups: entry.kubernetesGroups ?? [] } : {}), ...(policies ? { policies } : {}) };
    }),
  );
  return out;
}

async function readPolicies(client: EksRecordApi, cluster: string, principalArn: string): Promise<AccessPolicyRecord[]> {
  const policies: AccessPolicyRecord[] = [];
  let token: string | undefined;
  for (let i = 0; i < PAGES; i++) {
    const next = token;
    const out = await aws('eks:ListAssociatedAccessPolicies', () => client.listAssociatedAccessPolicies({ clusterName: cluster, principalArn, ...(next ? { nextToken: next } : {}) }));
    for (const p of out.associatedAccessPolicies ?? []) {
      if (!p.policyArn) continue;
      const ns = p.accessScope?.namespaces ?? [];
      policies.push({ policyArn: p.policyArn, scope: { type: p.accessScope?.type ?? '', ...(ns.length ? { namespaces: ns } : {}) } });
    }
    if (!out.nextToken || out.nextToken === next) break;
    token = out.nextToken;
  }
  return policies;
}
