/**
 * What an EKS cluster was (issue 25): its configuration as EKS described it at one time, so that a cluster rebuilt
 * from code can be compared with it field by field. Pure: the readiness activity records it, the rebuild compares a
 * rebuilt cluster (or the plan of one) with the last record (docs/readiness.md, "Cluster records").
 */
import picomatch from 'picomatch';

/** A taint as EKS keeps it (NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE). */
export interface TaintRecord {
  key: string;
  value?: string;
  effect: string;
}

export interface NodeGroupRecord {
  /** Desired is informational: failovers and failbacks own it. */
  scaling?: { min?: number; max?: number; desired?: number };
  instanceTypes?: string[];
  labels?: Record<string, string>;
  taints?: TaintRecord[];
  /** The id is informational: a rebuilt stack creates a new launch template. */
  launchTemplate?: { name?: string; version?: string; id?: string };
  amiType?: string;
  capacityType?: string;
}

export interface AddonRecord {
  version?: string;
  serviceAccountRoleArn?: string;
}

export interface AccessPolicyRecord {
  policyArn: string;
  scope: { type: string; namespaces?: string[] };
}

export interface AccessEntryRecord {
  /** STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, ... */
  type?: string;
  kubernetesGroups?: string[];
  policies?: AccessPolicyRecord[];
}

/**
 * A cluster's configuration as recorded at `recordedAt`. `present: false`: EKS said the cluster does not exist (or the
 * cluster itself could not be read: then `unreadable` says `cluster: <code>`). A part EKS refused (permission, an
 * endpoint that does not implement the call) is absent and named in `unreadable` as `<part>: <error code>`, where
 * `<part>` is a field path (`cluster`, `nodeGroups`, `nodeGroups.<name>`, `addons`, `addons.<name>`, `accessEntries`,
 * `accessEntries.<principalArn>`, `accessEntries.<principalArn>.policies`): a record never pretends a part was empty.
 * Holds no secret: no certificate authority data, no token, no endpoint URL.
 */
export interface ClusterRecord {
  recordedAt: string;
  region: string;
  name: string;
  present: boolean;
  version?: string;
  /** The control-plane log types enabled (api, audit, authenticator, controllerManager, scheduler). */
  logging?: string[];
  /** Envelope encryption of Kubernetes secrets (EKS allows one encryption configuration). */
  encryption?: { keyArn?: string; resources?: string[] };
  accessConfig?: { authenticationMode?: string };
  endpoint?: { publicAccess?: boolean; privateAccess?: boolean };
  /** Informational: a new cluster has a new issuer. */
  oidcIssuer?: string;
  /** Informational: EKS sets it. */
  platformVersion?: string;
  /** Informational. */
  createdAt?: string;
  nodeGroups?: Record<string, NodeGroupRecord>;
  addons?: Record<string, AddonRecord>;
  accessEntries?: Record<string, AccessEntryRecord>;
  unreadable?: string[];
}

/** One field that differs: `recorded` and `actual` are the values (`absent` for a whole node group, add-on or entry). */
export interface Difference {
  field: string;
  recorded: unknown;
  actual: unknown;
}

export interface Comparison {
  /** What differs and was not accepted. */
  differences: Difference[];
  /** What differs and an `accept` glob covers. */
  accepted: Difference[];
  /** What differs by nature on a new cluster (OIDC issuer, platform version, created time, launch template id, node group desired size): never a difference. */
  informational: Difference[];
  /** Parts not compared because one side could not read them (`<part>: recorded|actual <code>`). */
  unknown: string[];
}

/** The value a whole node group, add-on or access entry has on the side where it does not exist. */
export const ABSENT = 'absent';

/** The part and the code of one `unreadable` entry (`addons: AccessDeniedException`). */
export function unreadablePart(entry: string): { part: string; code: string } {
  const at = entry.indexOf(': ');
  return at < 0 ? { part: entry, code: '' } : { part: entry.slice(0, at), code: entry.slice(at + 2) };
}

const sorted = (xs: readonly string[] | undefined): string[] | undefined => (xs === undefined ? undefined : [...xs].sort());
const taintKey = (t: TaintRecord) => `${t.key}=${t.value ?? ''}:${t.effect}`;
const policyKey = (p: AccessPolicyRecord) => `${p.policyArn} ${p.scope.type}${p.scope.namespaces?.length ? `:${[...p.scope.namespaces].sort().join(',')}` : ''}`;

/** Stable JSON: object keys sorted, so two equal maps compare equal whatever order they were built in. */
function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A field: its path, its value on each side (as compared: lists sorted), and whether it differs by nature. */
interface Field {
  field: string;
  recorded: unknown;
  actual: unknown;
  informational?: boolean;
}

function nodeGroupFields(name: string, r: NodeGroupRecord, a: NodeGroupRecord): Field[] {
  const at = `nodeGroups.${name}`;
  return [
    { field: `${at}.scaling.min`, recorded: r.scaling?.min, actual: a.scaling?.min },
    { field: `${at}.scaling.max`, recorded: r.scaling?.max, actual: a.scaling?.max },
    { field: `${at}.scaling.desired`, recorded: r.scaling?.desired, actual: a.scaling?.desired, informational: true },
    { field: `${at}.instanceTypes`, recorded: sorted(r.instanceTypes), actual: sorted(a.instanceTypes) },
    { field: `${at}.labels`, recorded: r.labels, actual: a.labels },
    { field: `${at}.taints`, recorded: r.taints && sorted(r.taints.map(taintKey)), actual: a.taints && sorted(a.taints.map(taintKey)) },
    { field: `${at}.launchTemplate.name`, recorded: r.launchTemplate?.name, actual: a.launchTemplate?.name },
    // A new template starts again at version 1, and a plan knows its version only as a reference: new by nature, like its id.
    { field: `${at}.launchTemplate.version`, recorded: r.launchTemplate?.version, actual: a.launchTemplate?.version, informational: true },
    { field: `${at}.launchTemplate.id`, recorded: r.launchTemplate?.id, actual: a.launchTemplate?.id, informational: true },
    { field: `${at}.amiType`, recorded: r.amiType, actual: a.amiType },
    { field: `${at}.capacityType`, recorded: r.capacityType, actual: a.capacityType },
  ];
}

function addonFields(name: string, r: AddonRecord, a: AddonRecord): Field[] {
  return [
    { field: `addons.${name}.version`, recorded: r.version, actual: a.version },
    { field: `addons.${name}.serviceAccountRoleArn`, recorded: r.serviceAccountRoleArn, actual: a.serviceAccountRoleArn },
  ];
}

function accessEntryFields(principal: string, r: AccessEntryRecord, a: AccessEntryRecord): Field[] {
  const at = `accessEntries.${principal}`;
  return [
    { field: `${at}.type`, recorded: r.type, actual: a.type },
    { field: `${at}.kubernetesGroups`, recorded: sorted(r.kubernetesGroups), actual: sorted(a.kubernetesGroups) },
    { field: `${at}.policies`, recorded: r.policies && sorted(r.policies.map(policyKey)), actual: a.policies && sorted(a.policies.map(policyKey)) },
  ];
}

/** Each member of a map on either side: its fields when on both, else one field for the whole member (`absent` on the other side). */
function mapFields<T>(prefix: string, r: Record<string, T> | undefined, a: Record<string, T> | undefined, fields: (name: string, r: T, a: T) => Field[], byNature: (member: T) => boolean = () => false): Field[] {
  if (r === undefined && a === undefined) return [];
  const rec = r ?? {};
  const act = a ?? {};
  const names = [...new Set([...Object.keys(rec), ...Object.keys(act)])].sort();
  return names.flatMap((n) => {
    if (!(n in act)) return [{ field: `${prefix}.${n}`, recorded: rec[n], actual: ABSENT, ...(byNature(rec[n]) ? { informational: true } : {}) }];
    if (!(n in rec)) return [{ field: `${prefix}.${n}`, recorded: ABSENT, actual: act[n], ...(byNature(act[n]) ? { informational: true } : {}) }];
    return fields(n, rec[n], act[n]);
  });
}

/**
 * An access entry EKS makes itself for a node role (type EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX: "Create
 * access entries", EKS User Guide): it comes and goes with node groups and Fargate profiles, not with the team's code.
 */
const nodeEntry = (e: AccessEntryRecord): boolean => e.type !== undefined && e.type !== 'STANDARD';

function fieldsOf(r: ClusterRecord, a: ClusterRecord): Field[] {
  return [
    { field: 'version', recorded: r.version, actual: a.version },
    { field: 'logging', recorded: sorted(r.logging ?? []), actual: sorted(a.logging ?? []) },
    { field: 'encryption.keyArn', recorded: r.encryption?.keyArn, actual: a.encryption?.keyArn },
    { field: 'encryption.resources', recorded: sorted(r.encryption?.resources), actual: sorted(a.encryption?.resources) },
    { field: 'accessConfig.authenticationMode', recorded: r.accessConfig?.authenticationMode, actual: a.accessConfig?.authenticationMode },
    { field: 'endpoint.publicAccess', recorded: r.endpoint?.publicAccess, actual: a.endpoint?.publicAccess },
    { field: 'endpoint.privateAccess', recorded: r.endpoint?.privateAccess, actual: a.endpoint?.privateAccess },
    { field: 'oidcIssuer', recorded: r.oidcIssuer, actual: a.oidcIssuer, informational: true },
    { field: 'platformVersion', recorded: r.platformVersion, actual: a.platformVersion, informational: true },
    { field: 'createdAt', recorded: r.createdAt, actual: a.createdAt, informational: true },
    ...mapFields('nodeGroups', r.nodeGroups, a.nodeGroups, nodeGroupFields),
    ...mapFields('addons', r.addons, a.addons, addonFields),
    ...mapFields('accessEntries', r.accessEntries, a.accessEntries, accessEntryFields, nodeEntry),
  ];
}

/**
 * A matcher of `accept` globs over field paths (picomatch, as the rebuild's allowDestroy). A field path is not a file
 * path: `/` (in principal ARNs) is matched as any other character, so `*` matches any run of characters, dots
 * included: `nodeGroups.*.labels`, `addons.*`, `accessEntries.arn:aws:iam::*:role/ci.policies`.
 */
export function acceptMatcher(accept: readonly string[]): (field: string) => boolean {
  const slash = (s: string) => s.replaceAll('/', '\u2215');
  const matchers = accept.map((g) => picomatch(slash(g), { nobracket: true, nonegate: true, noextglob: true, bash: true, dot: true }));
  return (field) => accept.includes(field) || matchers.some((m) => m(slash(field)));
}

/**
 * `recorded` against `actual`, field by field (paths above: `version`, `nodeGroups.<name>.scaling.min`, ...).
 * Lists whose order means nothing (instance types, log types, taints, groups, policies) compare as sets; a node group,
 * add-on or access entry on one side only is one difference (`nodeGroups.<name>`: the member, and `absent`). A part
 * either side could not read is not compared (listed in `unknown`). A cluster absent on one side is one difference,
 * `cluster`. Fields that differ by nature on a new cluster are `informational`; differences an `accept` glob covers
 * are `accepted`.
 */
export function compareClusterRecords(recorded: ClusterRecord, actual: ClusterRecord, accept: readonly string[] = []): Comparison {
  const out: Comparison = { differences: [], accepted: [], informational: [], unknown: [] };
  const unread = [...(recorded.unreadable ?? []).map((u) => ({ ...unreadablePart(u), side: 'recorded' })), ...(actual.unreadable ?? []).map((u) => ({ ...unreadablePart(u), side: 'actual' }))];
  out.unknown = unread.map((u) => `${u.part}: ${u.side} ${u.code}`);
  const isAccepted = acceptMatcher(accept);
  const put = (d: Difference) => (isAccepted(d.field) ? out.accepted : out.differences).push(d);
  // A part the record holds but the cluster now does not show (refused, throttled) is a difference, never a pass:
  // verification cannot vouch for what it could not read. A part the record never had is only not compared.
  const recordedUnread = new Set(unread.filter((u) => u.side === 'recorded').map((u) => u.part));
  for (const u of unread.filter((x) => x.side === 'actual' && !recordedUnread.has(x.part))) put({ field: u.part, recorded: 'read', actual: `unreadable (${u.code})` });
  if (unread.some((u) => u.part === 'cluster')) return out;
  if (!recorded.present || !actual.present) {
    if (recorded.present !== actual.present) put({ field: 'cluster', recorded: recorded.present ? 'present' : ABSENT, actual: actual.present ? 'present' : ABSENT });
    return out;
  }
  const skipped = (field: string) => unread.some((u) => field === u.part || field.startsWith(`${u.part}.`));
  for (const f of fieldsOf(recorded, actual)) {
    if (skipped(f.field) || canonical(f.recorded) === canonical(f.actual)) continue;
    const d = { field: f.field, recorded: f.recorded, actual: f.actual };
    if (f.informational) out.informational.push(d);
    else put(d);
  }
  return out;
}

const shown = (v: unknown): string => {
  if (v === undefined || v === null) return 'none';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length === 0 ? '[]' : v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  return JSON.stringify(v);
};

/** One line naming the field: `version: recorded 1.30, now 1.31`; `nodeGroups.gpu: recorded {...}, now absent`. */
export function describeDifference(d: Difference): string {
  return `${d.field}: recorded ${shown(d.recorded)}, now ${shown(d.actual)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// What the code would create: from `tofu show -json PLANFILE`.

/** The planned cluster: a ClusterRecord without the record's own fields; a field the plan does not know is absent. */
export type PlannedCluster = Omit<ClusterRecord, 'recordedAt' | 'present' | 'unreadable'> & {
  present: true;
  /** Parts the code declares none of (no encryption): compared whole against the record, where absence alone says nothing. */
  declaredNone?: Array<'encryption'>;
};

type Attrs = Record<string, unknown>;
const isObject = (v: unknown): v is Attrs => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A nested block: a list of one object in the AWS provider's plan, an object in a terraform_data stand-in's input. */
const block = (v: unknown): Attrs | undefined => (Array.isArray(v) ? (isObject(v[0]) ? v[0] : undefined) : isObject(v) ? v : undefined);
const blocks = (v: unknown): Attrs[] => (Array.isArray(v) ? v.filter(isObject) : isObject(v) ? [v] : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
const strMap = (v: unknown): Record<string, string> | undefined => (isObject(v) && Object.values(v).every((x) => typeof x === 'string') ? (v as Record<string, string>) : undefined);

/** Drop undefined members (and objects left empty), so an unknown field is absent rather than `undefined`. */
function pruned<T extends object>(o: T): T | undefined {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(o) as Array<[string, unknown]>) {
    const val = isObject(v) && !Object.keys(v).length ? undefined : v;
    if (val !== undefined) out[k] = val;
  }
  return Object.keys(out).length ? (out as T) : undefined;
}

/** The resource type a terraform_data stand-in (infra/eks/stack.ts declareResource) stands for, by its name. */
function standInType(name: string): string | undefined {
  if (name === 'cluster') return 'aws_eks_cluster';
  if (name.startsWith('node_group_')) return 'aws_eks_node_group';
  if (name.startsWith('addon_')) return 'aws_eks_addon';
  return undefined;
}

interface PlannedResource {
  type: string;
  after: Attrs;
  /** `change.after_unknown`: the attributes known only after apply (empty for a stand-in, whose input is known). */
  unknown: Attrs;
}

/** The resources a saved plan would leave in place or create (`resource_changes[].change.after`; deletions have none). */
function plannedResources(show: unknown): PlannedResource[] {
  const changes = isObject(show) && Array.isArray(show.resource_changes) ? show.resource_changes : [];
  const out: PlannedResource[] = [];
  for (const rc of changes) {
    if (!isObject(rc) || !isObject(rc.change) || !isObject(rc.change.after)) continue;
    const type = str(rc.type);
    if (type === 'terraform_data') {
      const input = rc.change.after.input;
      const real = standInType(str(rc.name) ?? '');
      if (real && isObject(input)) out.push({ type: real, after: input, unknown: {} });
    } else if (type) out.push({ type, after: rc.change.after, unknown: isObject(rc.change.after_unknown) ? rc.change.after_unknown : {} });
  }
  return out;
}

/**
 * The cluster named `clusterName` as the plan would create it, from OpenTofu's `show -json` of a saved plan. Read are
 * the AWS provider's (6.x) aws_eks_cluster (`name`, `version`, `enabled_cluster_log_types`, `encryption_config`
 * { `provider` { `key_arn` }, `resources` }, `access_config` { `authentication_mode` }, `vpc_config`
 * { `endpoint_public_access`, `endpoint_private_access` }), aws_eks_node_group (`cluster_name`, `node_group_name`,
 * `scaling_config` { `min_size`, `max_size`, `desired_size` }, `instance_types`, `labels`, `taint` { `key`, `value`,
 * `effect` }, `launch_template` { `name`, `version`, `id` }, `ami_type`, `capacity_type`), aws_eks_addon
 * (`addon_name`, `addon_version`, `service_account_role_arn`), aws_eks_access_entry (`principal_arn`, `type`,
 * `kubernetes_groups`) and aws_eks_access_policy_association (`principal_arn`, `policy_arn`, `access_scope` { `type`,
 * `namespaces` }); and drover's terraform_data stand-ins (`cluster`, `node_group_<x>`, `addon_<x>`), whose `input` is
 * the real resource's configuration. A value unknown until apply is not in `after` (the plan's `after_unknown` says
 * so): it is left out, like an attribute the code does not set (EKS would choose it). A part with no resource in the
 * plan (no add-on declared) is left out as a whole. Undefined when the plan does not create the cluster.
 */
export function clusterFromPlan(show: unknown, clusterName: string, region?: string): PlannedCluster | undefined {
  const resources = plannedResources(show);
  // A team module may declare same-named clusters in both regions: the one of `region` (the provider's `region`
  // attribute, 6.x), when the plan says.
  const cluster = resources.find((r) => r.type === 'aws_eks_cluster' && r.after.name === clusterName && (region === undefined || r.after.region === undefined || r.after.region === region));
  if (!cluster) return undefined;
  const c = cluster.after;
  // An attribute the code leaves empty is "none" (EKS computes neither), unless the plan knows it only after apply.
  const none = (attribute: string) => !cluster.unknown[attribute] && (c[attribute] === undefined || c[attribute] === null || (Array.isArray(c[attribute]) && (c[attribute] as unknown[]).length === 0));
  const ofCluster = (type: string) => resources.filter((r) => r.type === type && r.after.cluster_name === clusterName).map((r) => r.after);
  const enc = block(c.encryption_config);
  const vpc = block(c.vpc_config);
  const planned: PlannedCluster = {
    region: '',
    name: clusterName,
    present: true,
    ...pruned({
      version: str(c.version),
      logging: strs(c.enabled_cluster_log_types),
      encryption: enc && pruned({ keyArn: str(block(enc.provider)?.key_arn), resources: strs(enc.resources) }),
      accessConfig: pruned({ authenticationMode: str(block(c.access_config)?.authentication_mode) }),
      endpoint: vpc && pruned({ publicAccess: bool(vpc.endpoint_public_access), privateAccess: bool(vpc.endpoint_private_access) }),
    }),
  };
  if (typeof c.region === 'string') planned.region = c.region;
  // No log types and no encryption in the code: compared as none, so a record with them is a difference at the gate.
  if (none('enabled_cluster_log_types')) planned.logging = [];
  if (none('encryption_config')) planned.declaredNone = ['encryption'];

  const groups = ofCluster('aws_eks_node_group');
  if (groups.length) {
    planned.nodeGroups = {};
    for (const g of groups) {
      const name = str(g.node_group_name);
      if (!name) continue;
      const sc = block(g.scaling_config);
      const lt = block(g.launch_template);
      const taints = g.taint === undefined ? undefined : blocks(g.taint).map((t) => ({ key: str(t.key) ?? '', ...(str(t.value) !== undefined ? { value: str(t.value) } : {}), effect: str(t.effect) ?? '' }));
      planned.nodeGroups[name] =
        pruned<NodeGroupRecord>({
          scaling: sc && pruned({ min: num(sc.min_size), max: num(sc.max_size), desired: num(sc.desired_size) }),
          instanceTypes: strs(g.instance_types),
          labels: strMap(g.labels),
          taints,
          launchTemplate: lt && pruned({ name: str(lt.name), version: str(lt.version), id: str(lt.id) }),
          amiType: str(g.ami_type),
          capacityType: str(g.capacity_type),
        }) ?? {};
    }
  }

  const addons = ofCluster('aws_eks_addon');
  if (addons.length) {
    planned.addons = {};
    for (const a of addons) {
      const name = str(a.addon_name);
      if (name) planned.addons[name] = pruned<AddonRecord>({ version: str(a.addon_version), serviceAccountRoleArn: str(a.service_account_role_arn) }) ?? {};
    }
  }

  const entries = ofCluster('aws_eks_access_entry');
  const associations = ofCluster('aws_eks_access_policy_association');
  if (entries.length || associations.length) {
    planned.accessEntries = {};
    for (const e of entries) {
      const arn = str(e.principal_arn);
      if (arn) planned.accessEntries[arn] = pruned<AccessEntryRecord>({ type: str(e.type), kubernetesGroups: strs(e.kubernetes_groups) }) ?? {};
    }
    for (const p of associations) {
      const arn = str(p.principal_arn);
      const policyArn = str(p.policy_arn);
      const scope = block(p.access_scope);
      if (!arn || !policyArn || !scope) continue;
      const entry = (planned.accessEntries[arn] ??= {});
      const ns = strs(scope.namespaces);
      (entry.policies ??= []).push({ policyArn, scope: { type: str(scope.type) ?? '', ...(ns?.length ? { namespaces: ns } : {}) } });
    }
  }
  return planned;
}

/**
 * `recorded` restricted to what `planned` knows: the top-level fields the plan sets; of node groups, add-ons and access
 * entries, every member when the plan declares that kind at all (so one the code would not create is a difference),
 * and of a member on both sides only the fields the plan sets.
 */
function restrictTo(recorded: ClusterRecord, planned: PlannedCluster): ClusterRecord {
  const pick = <T extends object>(r: T | undefined, p: T | undefined): T | undefined => {
    if (r === undefined || p === undefined) return undefined;
    const out: Attrs = {};
    for (const k of Object.keys(p)) {
      const rv = (r as Attrs)[k];
      const pv = (p as Attrs)[k];
      // Labels are a value (a map compared whole), not fields to pick from.
      out[k] = isObject(rv) && isObject(pv) && k !== 'labels' ? pick(rv, pv) : rv;
    }
    return out as T;
  };
  const members = <T extends object>(r: Record<string, T> | undefined, p: Record<string, T> | undefined): Record<string, T> | undefined => {
    if (p === undefined) return undefined;
    return Object.fromEntries(Object.entries(r ?? {}).map(([n, m]) => [n, n in p ? (pick(m, p[n]) ?? ({} as T)) : m]));
  };
  return {
    recordedAt: recorded.recordedAt,
    region: recorded.region,
    name: recorded.name,
    present: recorded.present,
    ...(recorded.unreadable ? { unreadable: recorded.unreadable } : {}),
    version: planned.version !== undefined ? recorded.version : undefined,
    logging: planned.logging !== undefined ? recorded.logging : undefined,
    encryption: planned.declaredNone?.includes('encryption') ? recorded.encryption : pick(recorded.encryption ?? {}, planned.encryption),
    accessConfig: pick(recorded.accessConfig ?? {}, planned.accessConfig),
    endpoint: pick(recorded.endpoint ?? {}, planned.endpoint),
    nodeGroups: members(recorded.nodeGroups, planned.nodeGroups),
    addons: members(recorded.addons, planned.addons),
    // Only the entries the code declares: EKS itself makes the creator's entry and the node role's (type EC2_LINUX ...),
    // which no plan holds; verification compares the rebuilt cluster's whole set.
    accessEntries: planned.accessEntries && Object.fromEntries(Object.entries(recorded.accessEntries ?? {}).filter(([n]) => n in (planned.accessEntries ?? {})).map(([n, m]) => [n, pick(m, planned.accessEntries?.[n]) ?? m])),
  };
}

/**
 * What a plan would change against a record: compareClusterRecords over the fields the plan knows only (restrictTo:
 * a field the code leaves to EKS, or unknown until apply, is no difference; a whole part the plan does not declare is
 * not compared).
 */
export function comparePlanWithRecord(recorded: ClusterRecord, planned: PlannedCluster, accept: readonly string[] = []): Comparison {
  return compareClusterRecords(restrictTo(recorded, planned), { ...planned, recordedAt: '', region: planned.region || recorded.region }, accept);
}
