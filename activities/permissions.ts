/**
 * The preflight's permission check: before anything changes, the worker asks IAM whether its own role's policies allow
 * what the run will ask of AWS (the policy `drover iam-policy --role worker` generates for the runbook: aws/iam-policy.ts)
 * with iam:SimulatePrincipalPolicy, and names each action refused. The check is advice about itself: a worker that
 * cannot ask (no permission to simulate, IAM unreachable, not a role or user) says so in a note and the run goes on,
 * its calls refused later as typed AccessDenied failures.
 */
import type { IamSelfApi } from '../aws/clients';
import { workerPolicy } from '../aws/iam-policy';
import type { Runbook } from '../runbooks/schema';

export interface PermissionCheck {
  /** One line per refused action and resource. */
  problems: string[];
  notes: string[];
}

/** The IAM ARN SimulatePrincipalPolicy takes for a caller STS names: an assumed role's session is its role (without a path STS does not show). */
export function policySourceOf(callerArn: string): string | undefined {
  const role = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  if (/^arn:[^:]+:iam::\d{12}:user\//.test(callerArn)) return callerArn;
  return undefined;
}

/** At most this many statements are simulated (one SimulatePrincipalPolicy each): a bound on the check's calls. */
const MAX_STATEMENTS = 40;

export function createPermissionActivities(iam: (() => IamSelfApi) | undefined) {
  return {
    /** The actions the runbook's runs need that the worker's own policies do not allow, each named (docs/iam.md). */
    async checkPermissions(input: { runbook: Runbook; stsRegion: string }): Promise<PermissionCheck> {
      if (!iam) return { problems: [], notes: ['worker permissions not checked: this worker has no IAM client'] };
      const api = iam();
      let caller: string | undefined;
      try {
        caller = (await api.getCallerIdentity(input.stsRegion)).Arn;
      } catch (e) {
        return { problems: [], notes: [`worker permissions not checked: sts:GetCallerIdentity failed (${(e as Error).message.split('\n')[0]})`] };
      }
      const source = caller ? policySourceOf(caller) : undefined;
      if (!caller || !source) return { problems: [], notes: [`worker permissions not checked: ${caller ?? 'an unknown identity'} is neither a role session nor an IAM user`] };
      const account = source.split(':')[4];
      const { policy } = workerPolicy(input.runbook, { account });
      // Each refused action once, with the resources it is refused on (the first named).
      const refused = new Map<string, { resources: string[]; explicit: boolean }>();
      try {
        // A rebuild's statements (OpenTofu's, aws/iam-policy.ts) are not a failover's business: not asked here.
        for (const s of policy.Statement.filter((x) => !x.Sid.startsWith('Rebuild')).slice(0, MAX_STATEMENTS)) {
          const context = Object.values(s.Condition ?? {}).flatMap((keys) => Object.entries(keys).map(([k, v]) => ({ ContextKeyName: k, ContextKeyValues: Array.isArray(v) ? v : [v] })));
          const results = await api.simulatePrincipalPolicy({ PolicySourceArn: source, ActionNames: s.Action, ...(s.Resource.includes('*') ? {} : { ResourceArns: s.Resource }), ...(context.length > 0 ? { ContextEntries: context } : {}) });
          for (const r of results.filter((x) => x.decision !== 'allowed')) {
            const entry = refused.get(r.action) ?? { resources: [], explicit: false };
            entry.resources.push(r.resource);
            entry.explicit ||= r.decision === 'explicitDeny';
            refused.set(r.action, entry);
          }
        }
      } catch (e) {
        return { problems: [], notes: [`worker permissions not checked: iam:SimulatePrincipalPolicy on ${source} failed (${(e as Error).message.split('\n')[0]}); drover iam-policy prints what the role needs`] };
      }
      const problems = [...refused].map(([action, r]) => `${action}: ${r.explicit ? 'denied by a policy' : 'not allowed'} for ${source} on ${r.resources[0]}${r.resources.length > 1 ? ` and ${r.resources.length - 1} more` : ''}`);
      if (problems.length > 0) problems.push(`the worker's role lacks what this runbook's runs need: drover iam-policy <the ${input.runbook.name} runbook file> --role worker prints it (docs/iam.md)`);
      return { problems, notes: problems.length === 0 ? [`worker permissions: ${source} is allowed every action this runbook's runs need`] : [] };
    },
  };
}
