/**
 * Fidelity rules for eks: see fidelity.ts for the mechanism, and docs/emulator-support.md for the table.
 *
 * moto (5.2) applies UpdateNodegroupConfig at once and answers its update `Successful`; it implements
 * neither DescribeUpdate nor ListUpdates (404), and never reports a node group UPDATING or a health issue.
 * `eks-nodegroup-update` makes a node group's update asynchronous, as EKS's are; `eks-nodegroup-health`
 * lets a test give a node group a health issue (a capacity shortage) by tagging it. moto also drops a cluster's access
 * configuration: `eks-access-config` answers it as EKS does (a cluster record compares it).
 */
import { kept, type FidelityAnswer, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity-rule';

/** How long an update stays InProgress by default: EKS takes minutes, tests a few hundred ms. */
export const EKS_UPDATE_MS = 300;

/**
 * The tag that switches on the health-issue fault: a node group created with
 * `tags: { 'drover-fault/health-issue': 'AsgInstanceLaunchFailures' }` reports that issue in DescribeNodegroup
 * (moto keeps a node group's creation tags and answers them; it cannot tag a node group afterwards).
 */
export const HEALTH_ISSUE_TAG = 'drover-fault/health-issue';

/** An update to a node group, as the rule remembers it: moto's update object, and when it stops being InProgress. */
interface TrackedUpdate {
  id: string;
  /** Region, cluster and node group (`nodegroupKey`). */
  group: string;
  update: Record<string, unknown>;
  doneAt: number;
}

interface UpdateState {
  byId: Map<string, TrackedUpdate>;
  /** Each node group's updates, oldest first. */
  byGroup: Map<string, TrackedUpdate[]>;
}

const UPDATE_RULE = 'eks-nodegroup-update';

function updatesOf(state: FidelityState): UpdateState {
  return kept(state, UPDATE_RULE, (): UpdateState => ({ byId: new Map(), byGroup: new Map() }));
}

const nodegroupKey = (region: string, cluster: string, nodegroup: string) => `${region}\u0000${cluster}\u0000${nodegroup}`;

const statusOf = (u: TrackedUpdate, now = Date.now()) => (now >= u.doneAt ? 'Successful' : 'InProgress');

/** The update of a node group still InProgress, if any (EKS runs one at a time). */
function inProgress(s: UpdateState, group: string): TrackedUpdate | undefined {
  return (s.byGroup.get(group) ?? []).find((u) => statusOf(u) === 'InProgress');
}

/** Cluster and node group of a node-group path (`/clusters/c/node-groups/g[/update-config]`). */
function nodegroupPath(path: string): { cluster: string; nodegroup: string } | undefined {
  const m = /^\/clusters\/([^/]+)\/node-groups\/([^/]+)(?:\/update-config)?\/?$/.exec(path);
  return m ? { cluster: m[1], nodegroup: m[2] } : undefined;
}

/** An update as AWS answers it: moto's object with the status of now. */
const asAws = (u: TrackedUpdate) => ({ ...u.update, id: u.id, status: statusOf(u), errors: [] });

/**
 * A 200 answer with a JSON body. The body needs the proxy to write `FidelityAnswer.body` (the success answer
 * carried headers only before DescribeUpdate and ListUpdates needed one).
 */
function json(value: unknown): FidelityAnswer {
  const answer = { status: 200 as const, ok: true as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
  return answer;
}

const notFound = (message: string): FidelityAnswer => ({ status: 404, code: 'ResourceNotFoundException', message });

/** Rewrite a JSON answer's `nodegroup` (DescribeNodegroup); anything unparseable is left as it was. */
function rewriteNodegroup(body: string, edit: (nodegroup: Record<string, unknown>) => boolean): string {
  let parsed: { nodegroup?: Record<string, unknown> };
  try {
    parsed = JSON.parse(body) as { nodegroup?: Record<string, unknown> };
  } catch {
    return body;
  }
  if (!parsed?.nodegroup || typeof parsed.nodegroup !== 'object') return body;
  return edit(parsed.nodegroup) ? JSON.stringify(parsed) : body;
}

/** The issue a node group tagged with `code` reports, as EKS words a capacity shortage. */
function issueFor(code: string, nodegroup: Record<string, unknown>): { code: string; message: string; resourceIds: string[] } {
  const groups = ((nodegroup.resources as { autoScalingGroups?: Array<{ name?: string }> } | undefined)?.autoScalingGroups ?? []).map((g) => g.name).filter((n): n is string => Boolean(n));
  const types = Array.isArray(nodegroup.instanceTypes) ? (nodegroup.instanceTypes as string[]).join(', ') : 'the requested instance type';
  const message =
    code === 'AsgInstanceLaunchFailures'
      ? `Could not launch On-Demand Instances. InsufficientInstanceCapacity - We currently do not have sufficient ${types} capacity in the Availability Zone you requested. Launching EC2 instance failed.`
      : `${code} (injected by drover fault proxy)`;
  return { code, message, resourceIds: groups };
}

const ACCESS_RULE = 'eks-access-config';

/** The authentication mode EKS gives a cluster created through its API without one ("the default is CONFIG_MAP"). */
const DEFAULT_AUTHENTICATION_MODE = 'CONFIG_MAP';

/** Each cluster's access configuration as it was created (region and name): moto does not keep it. */
function accessOf(state: FidelityState): Map<string, { authenticationMode: string; bootstrapClusterCreatorAdminPermissions: boolean }> {
  return kept(state, ACCESS_RULE, () => new Map<string, { authenticationMode: string; bootstrapClusterCreatorAdminPermissions: boolean }>());
}

function jsonOf(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** EKS's node-group rules, an update lasting `updateMs` (InProgress, then Successful). */
export function eksFidelityRules(opts: { updateMs?: number } = {}): FidelityRule[] {
  const updateMs = opts.updateMs ?? EKS_UPDATE_MS;
  return [
    {
      id: UPDATE_RULE,
      source: {
        url: 'https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupConfig.html',
        says:
          'UpdateNodegroupConfig: "Your node group continues to function during the update. The response output includes an update ID that you can use to track the status of your node group update with the DescribeUpdate API operation." DescribeUpdate: "When the status of the update is Successful, the update is complete." Update.status: "Valid Values: InProgress | Failed | Cancelled | Successful" (API_Update.html). UpdateNodegroupConfig errors: ResourceInUseException, "The specified resource is in use", HTTP 409 (the SDK\'s model); EKS answers it to an update while another is in progress ("currently has update … in progress", aws-controllers-k8s/community#1192). ListUpdates: "Lists the updates associated with an Amazon EKS resource" (nodegroupName: "The name of the Amazon EKS managed node group to list updates for"). Nodegroup.status includes UPDATING.',
      },
      // moto answers the update Successful at once, implements neither DescribeUpdate nor ListUpdates, and accepts any number of updates at once.
      service: 'eks',
      operations: ['UpdateNodegroupConfig', 'DescribeUpdate', 'ListUpdates', 'DescribeNodegroup', 'CreateNodegroup', 'DeleteNodegroup'],
      async refuse(call: FidelityCall, state: FidelityState) {
        const s = updatesOf(state);
        const op = call.info.operation;
        const region = call.info.region;
        if (op === 'UpdateNodegroupConfig') {
          const at = nodegroupPath(call.path);
          const busy = at && inProgress(s, nodegroupKey(region, at.cluster, at.nodegroup));
          if (!at || !busy) return undefined;
          return { status: 409, code: 'ResourceInUseException', message: `Cannot ConfigUpdate because nodegroup ${at.nodegroup} in cluster ${at.cluster} currently has update ${busy.id} in progress` };
        }
        if (op === 'DescribeUpdate') {
          const m = /^\/clusters\/([^/]+)\/updates\/([^/]+)\/?$/.exec(call.path);
          const nodegroup = call.param('nodegroupName');
          // Cluster and add-on updates are moto's (or nobody's) to answer.
          if (!m || !nodegroup) return undefined;
          const u = s.byId.get(m[2]);
          if (!u || u.group !== nodegroupKey(region, m[1], nodegroup)) return notFound(`No update found for ID: ${m[2]}`);
          return json({ update: asAws(u) });
        }
        if (op === 'ListUpdates') {
          const m = /^\/clusters\/([^/]+)\/updates\/?$/.exec(call.path);
          const nodegroup = call.param('nodegroupName');
          if (!m || !nodegroup) return undefined;
          // A node group that does not exist has no updates to list: EKS answers ResourceNotFoundException.
          if ((await call.probe('GET', `/clusters/${encodeURIComponent(m[1])}/node-groups/${encodeURIComponent(nodegroup)}`)) === 404) {
            return notFound(`No node group found for name: ${nodegroup}.`);
          }
          const ids = (s.byGroup.get(nodegroupKey(region, m[1], nodegroup)) ?? []).map((u) => u.id);
          const max = Math.min(100, Math.max(1, Number(call.param('maxResults') ?? 100) || 100));
          const from = Number(call.param('nextToken') ?? 0) || 0;
          const page = ids.slice(from, from + max);
          return json(from + max < ids.length ? { updateIds: page, nextToken: String(from + max) } : { updateIds: page });
        }
        return undefined;
      },
      observe(call: FidelityCall, state: FidelityState) {
        const op = call.info.operation;
        if (op !== 'CreateNodegroup' && op !== 'DeleteNodegroup') return;
        // A node group created or deleted under a name starts (or ends) its update history.
        const cluster = /^\/clusters\/([^/]+)\/node-groups/.exec(call.path)?.[1];
        const nodegroup = op === 'CreateNodegroup' ? call.param('nodegroupName') : nodegroupPath(call.path)?.nodegroup;
        if (!cluster || !nodegroup) return;
        const s = updatesOf(state);
        const key = nodegroupKey(call.info.region, cluster, nodegroup);
        for (const u of s.byGroup.get(key) ?? []) s.byId.delete(u.id);
        s.byGroup.delete(key);
      },
      rewrite(call: FidelityCall, body: string, state: FidelityState) {
        const s = updatesOf(state);
        const op = call.info.operation;
        const at = nodegroupPath(call.path);
        if (!at) return body;
        const key = nodegroupKey(call.info.region, at.cluster, at.nodegroup);
        if (op === 'UpdateNodegroupConfig') {
          let parsed: { update?: Record<string, unknown> };
          try {
            parsed = JSON.parse(body) as { update?: Record<string, unknown> };
          } catch {
            return body;
          }
          const id = parsed?.update?.id;
          if (typeof id !== 'string') return body;
          const tracked: TrackedUpdate = { id, group: key, update: parsed.update as Record<string, unknown>, doneAt: Date.now() + updateMs };
          s.byId.set(id, tracked);
          s.byGroup.set(key, [...(s.byGroup.get(key) ?? []), tracked]);
          return JSON.stringify({ ...parsed, update: asAws(tracked) });
        }
        if (op === 'DescribeNodegroup' && inProgress(s, key)) {
          return rewriteNodegroup(body, (ng) => {
            if (ng.status !== 'ACTIVE') return false;
            ng.status = 'UPDATING';
            return true;
          });
        }
        return body;
      },
    },
    {
      id: ACCESS_RULE,
      source: {
        url: 'https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessConfigRequest.html',
        says: 'CreateAccessConfigRequest.authenticationMode: "The desired authentication mode for the cluster. If you create a cluster by using the EKS API, AWS SDKs, or AWS CloudFormation, the default is CONFIG_MAP." bootstrapClusterCreatorAdminPermissions: "The default value is true." Cluster.accessConfig: "The access configuration for the cluster" (API_Cluster.html, AccessConfigResponse: authenticationMode, bootstrapClusterCreatorAdminPermissions).',
      },
      // moto (5.2) drops CreateCluster's accessConfig and answers DescribeCluster without one: a cluster record then
      // could not tell a rebuild that changed the authentication mode. The rule keeps what each cluster was created
      // with (EKS's default when nothing was given) and answers it, as EKS does.
      service: 'eks',
      operations: ['CreateCluster', 'DescribeCluster', 'DeleteCluster'],
      observe(call: FidelityCall, state: FidelityState) {
        const op = call.info.operation;
        const access = accessOf(state);
        if (op === 'DeleteCluster') {
          const name = /^\/clusters\/([^/]+)\/?$/.exec(call.path)?.[1];
          if (name) access.delete(`${call.info.region}\u0000${name}`);
          return;
        }
        if (op !== 'CreateCluster') return;
        const body = jsonOf(call.body.toString('utf8'));
        const name = body?.name;
        if (typeof name !== 'string') return;
        const asked = (body?.accessConfig ?? {}) as { authenticationMode?: unknown; bootstrapClusterCreatorAdminPermissions?: unknown };
        access.set(`${call.info.region}\u0000${name}`, {
          authenticationMode: typeof asked.authenticationMode === 'string' ? asked.authenticationMode : DEFAULT_AUTHENTICATION_MODE,
          bootstrapClusterCreatorAdminPermissions: typeof asked.bootstrapClusterCreatorAdminPermissions === 'boolean' ? asked.bootstrapClusterCreatorAdminPermissions : true,
        });
      },
      rewrite(call: FidelityCall, body: string, state: FidelityState) {
        if (call.info.operation === 'DeleteCluster') return body;
        const parsed = jsonOf(body);
        const cluster = parsed?.cluster as Record<string, unknown> | undefined;
        if (!parsed || !cluster || typeof cluster.name !== 'string' || cluster.accessConfig) return body;
        // A cluster created before this proxy (or by another) has EKS's default.
        cluster.accessConfig = accessOf(state).get(`${call.info.region}\u0000${cluster.name}`) ?? { authenticationMode: DEFAULT_AUTHENTICATION_MODE, bootstrapClusterCreatorAdminPermissions: true };
        return JSON.stringify(parsed);
      },
    },
    {
      id: 'eks-nodegroup-health',
      source: {
        url: 'https://docs.aws.amazon.com/eks/latest/APIReference/API_Issue.html',
        says: 'Issue.code: "AsgInstanceLaunchFailures: Your Auto Scaling group is experiencing failures while attempting to launch instances." NodegroupHealth.issues: "Any issues that are associated with the node group." Issue: code, message, resourceIds ("The Amazon Web Services resources that are afflicted by this issue").',
      },
      // moto's node groups never report an issue: a node group created with the tag HEALTH_ISSUE_TAG (value: the
      // issue code) reports it, naming its Auto Scaling group, as a region short of capacity does.
      service: 'eks',
      operations: ['DescribeNodegroup'],
      rewrite(_call: FidelityCall, body: string) {
        return rewriteNodegroup(body, (ng) => {
          const code = (ng.tags as Record<string, string> | undefined)?.[HEALTH_ISSUE_TAG];
          if (!code) return false;
          const health = (ng.health as { issues?: unknown[] } | undefined) ?? {};
          ng.health = { ...health, issues: [...(health.issues ?? []), issueFor(code, ng)] };
          return true;
        });
      },
    },
  ];
}

export const EKS_FIDELITY_RULES: readonly FidelityRule[] = eksFidelityRules();
