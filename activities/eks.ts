import type { EksApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { pollUntil } from './wait';

export interface NodeGroupTarget {
  name: string;
  size: number;
  max?: number;
}

export interface NodeGroupState {
  name: string;
  status: string;
  desiredSize?: number;
  minSize?: number;
  maxSize?: number;
}

/** EKS activities: cluster and node group state, idempotent scaling with a wait for ACTIVE. */
export function createEksActivities(eks: (region: string) => EksApi) {
  async function nodeGroup(region: string, cluster: string, name: string): Promise<NodeGroupState> {
    const out = await aws(`eks:DescribeNodegroup(${cluster}/${name})`, () => eks(region).describeNodegroup({ clusterName: cluster, nodegroupName: name }));
    const ng = out.nodegroup;
    return { name, status: ng?.status ?? 'UNKNOWN', desiredSize: ng?.scalingConfig?.desiredSize, minSize: ng?.scalingConfig?.minSize, maxSize: ng?.scalingConfig?.maxSize };
  }

  return {
    /** The cluster's status and its node groups' states; missing ones are reported, not thrown. */
    async describeCompute(input: { region: string; cluster: string; nodeGroups: string[] }): Promise<{ clusterStatus: string; nodeGroups: NodeGroupState[]; problems: string[] }> {
      const problems: string[] = [];
      let clusterStatus = 'MISSING';
      try {
        const out = await aws(`eks:DescribeCluster(${input.cluster})`, () => eks(input.region).describeCluster({ name: input.cluster }));
        clusterStatus = out.cluster?.status ?? 'UNKNOWN';
        if (clusterStatus !== 'ACTIVE') problems.push(`cluster ${input.cluster} is ${clusterStatus}, not ACTIVE`);
      } catch (e) {
        problems.push(`cluster ${input.cluster} in ${input.region}: ${(e as Error).message}`);
        return { clusterStatus, nodeGroups: [], problems };
      }
      const nodeGroups: NodeGroupState[] = [];
      for (const name of input.nodeGroups) {
        try {
          const ng = await nodeGroup(input.region, input.cluster, name);
          nodeGroups.push(ng);
          if (ng.status !== 'ACTIVE') problems.push(`node group ${input.cluster}/${name} is ${ng.status}, not ACTIVE`);
        } catch (e) {
          problems.push(`node group ${input.cluster}/${name}: ${(e as Error).message}`);
        }
      }
      return { clusterStatus, nodeGroups, problems };
    },

    /**
     * Set each node group to its target size (min = desired = size), skipping groups already there,
     * then wait until every group is ACTIVE at that size.
     */
    async scaleNodeGroups(input: { region: string; cluster: string; groups: NodeGroupTarget[] }): Promise<{ before: NodeGroupState[]; after: NodeGroupState[]; requestIds: string[] }> {
      const before = await Promise.all(input.groups.map((g) => nodeGroup(input.region, input.cluster, g.name)));
      // Node groups scale independently: send every update, then wait for all of them.
      const updates = await Promise.all(
        input.groups.map(async (g, i) => {
          const cur = before[i];
          if (cur.desiredSize === g.size && cur.minSize === g.size) return undefined;
          const maxSize = Math.max(g.size, g.max ?? 0, cur.maxSize ?? 0, 1);
          return aws(`eks:UpdateNodegroupConfig(${input.cluster}/${g.name})`, () =>
            eks(input.region).updateNodegroupConfig({ clusterName: input.cluster, nodegroupName: g.name, scalingConfig: { minSize: g.size, desiredSize: g.size, maxSize } }),
          );
        }),
      );
      const requestIds = updates.map((u) => u?.$metadata.requestId).filter((id): id is string => Boolean(id));
      const after = await pollUntil({ what: `${input.cluster} node groups to be ACTIVE at size`, timeoutMs: 30 * 60_000, initialIntervalMs: 500, maxIntervalMs: 10_000 }, async () => {
        const states = await Promise.all(input.groups.map((g) => nodeGroup(input.region, input.cluster, g.name)));
        const pending = states.filter((s, i) => s.status !== 'ACTIVE' || s.desiredSize !== input.groups[i].size);
        return { done: pending.length === 0, value: states, progress: pending.map((s) => `${s.name} ${s.status} ${s.desiredSize}`).join(', ') || 'all ACTIVE' };
      });
      return { before, after, requestIds };
    },
  };
}
