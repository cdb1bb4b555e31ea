/**
 * The preflight's permission check: before anything changes, the worker asks IAM whether its own role's policies allow
 * what the run will ask of AWS (the policy `drover iam-policy --role worker` generates for the runbook: aws/iam-policy.ts)
 * with iam:SimulatePrincipalPolicy, and names each action refused. The check is advice about itself: a worker that
 * cannot ask (no permission to simulate, IAM unreachable, not a role or user) says so in a note and the run goes on,
 * its calls refused later as typed AccessDenied failures.
 */
import type { IamSelfApi, SimulationResult } from '../aws/clients';
import { workerPolicy, type PolicyDocument, type PolicyStatement } from '../aws/iam-policy';
import { CliError } from '../cli/io';
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

/** How many SimulatePrincipalPolicy calls are in flight at once, and how long the whole check may take. */
export interface PermissionCheckLimits {
  concurrency: number;
  deadlineMs: number;
}
const LIMITS: PermissionCheckLimits = { concurrency: 5, deadlineMs: 10_000 };

/** A resource IAM would read as a pattern: simulating it asks about the string, not the resources it matches. */
const isPattern = (resource: string) => /[*?]/.test(resource);

/** One SimulatePrincipalPolicy call: actions on resources (none: "*"), and whether a deny it answers can be trusted. */
interface Ask {
  actions: string[];
  resources?: string[];
  context: Array<{ ContextKeyName: string; ContextKeyValues: string[] }>;
  /** The condition is one the check passes faithfully (StringEquals: typed strings); other operators' keys are not. */
  faithfulCondition: boolean;
}

/** The asks for a policy's statements; iam:SimulatePrincipalPolicy itself is asked on `source`, the role being checked. */
function asksOf(statements: PolicyStatement[], source: string): Ask[] {
  const asks: Ask[] = [];
  for (const s of statements) {
    const context = Object.values(s.Condition ?? {}).flatMap((keys) => Object.entries(keys).map(([k, v]) => ({ ContextKeyName: k, ContextKeyValues: Array.isArray(v) ? v : [v] })));
    const faithfulCondition = Object.keys(s.Condition ?? {}).every((op) => op === 'StringEquals');
    const resources = s.Resource.length === 1 && s.Resource[0] === '*' ? undefined : s.Resource;
    const self = s.Action.filter((a) => a === 'iam:SimulatePrincipalPolicy');
    const rest = s.Action.filter((a) => a !== 'iam:SimulatePrincipalPolicy');
    if (self.length > 0) asks.push({ actions: self, resources: [source], context, faithfulCondition });
    if (rest.length > 0) asks.push({ actions: rest, resources, context, faithfulCondition });
  }
  return asks;
}

/** Run `f` on each item, at most `limit` at once; the first failure rejects. */
async function eachBounded<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await f(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const TIMED_OUT = Symbol('timed out');

export function createPermissionActivities(iam: (() => IamSelfApi) | undefined, limits: PermissionCheckLimits = LIMITS) {
  return {
    /** The actions the runbook's runs need that the worker's own policies do not allow, each named (docs/iam.md). */
    async checkPermissions(input: { runbook: Runbook; stsRegion: string }): Promise<PermissionCheck> {
      if (!iam) return { problems: [], notes: ['worker permissions not checked: this worker has no IAM client'] };
      const api = iam();
      const seconds = `${Math.round(limits.deadlineMs / 1000)} s`;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), limits.deadlineMs)));
      const inTime = <T>(p: Promise<T>) => Promise.race([p, deadline]);
      const timedOut: PermissionCheck = { problems: [], notes: [`worker permissions not checked: IAM did not answer in ${seconds}; drover iam-policy prints what the role needs`] };
      try {
        let caller: string | undefined;
        try {
          const id = await inTime(api.getCallerIdentity(input.stsRegion));
          if (id === TIMED_OUT) return timedOut;
          caller = id.Arn;
        } catch (e) {
          return { problems: [], notes: [`worker permissions not checked: sts:GetCallerIdentity failed (${(e as Error).message.split('\n')[0]})`] };
        }
        const source = caller ? policySourceOf(caller) : undefined;
        if (!caller || !source) return { problems: [], notes: [`worker permissions not checked: ${caller ?? 'an unknown identity'} is neither a role session nor an IAM user`] };
        const account = source.split(':')[4];
        let policy: PolicyDocument;
        try {
          policy = workerPolicy(input.runbook, { account }).policy;
        } catch (e) {
          const lines = e instanceof CliError ? e.lines : [];
          return { problems: [], notes: [`worker permissions not checked: ${(e as Error).message}${lines.length > 0 ? ` (${lines.join('; ')})` : ''}`] };
        }
        // A rebuild's statements (OpenTofu's, aws/iam-policy.ts) are not a failover's business: not asked here.
        const asks = asksOf(policy.Statement.filter((x) => !x.Sid.startsWith('Rebuild')), source);
        let answers: SimulationResult[][] | typeof TIMED_OUT;
        try {
          const ask = (a: Ask) => api.simulatePrincipalPolicy({ PolicySourceArn: source, ActionNames: a.actions, ...(a.resources ? { ResourceArns: a.resources } : {}), ...(a.context.length > 0 ? { ContextEntries: a.context } : {}) });
          // One ask alone first: a worker that may not simulate is told once, not by every call in flight.
          answers = await inTime((async () => (asks.length === 0 ? [] : [await ask(asks[0]), ...(await eachBounded(asks.slice(1), limits.concurrency, ask))]))());
        } catch (e) {
          return { problems: [], notes: [`worker permissions not checked: iam:SimulatePrincipalPolicy on ${source} failed (${(e as Error).message.split('\n')[0]}); drover iam-policy prints what the role needs`] };
        }
        if (answers === TIMED_OUT) return timedOut;
        return judge(asks, answers, source, input.runbook.name);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * IAM's answers made into problems and notes. Refused: an explicit deny anywhere, an implicit deny on a concrete ARN
 * (or "*", for actions with no resource-level permission). Noted, not refused: an implicit deny the simulation cannot
 * be trusted on: a resource that is a pattern (IAM matches the policy's pattern against the string given, which a
 * narrower policy need not match although it allows every real resource), missing context values, a condition
 * operator other than StringEquals (its keys are passed as strings).
 */
function judge(asks: Ask[], answers: SimulationResult[][], source: string, runbookName: string): PermissionCheck {
  const refused = new Map<string, { resources: string[]; explicit: boolean }>();
  const unchecked = new Map<string, Set<string>>();
  asks.forEach((ask, i) => {
    for (const r of answers[i] ?? []) {
      if (r.decision === 'allowed') continue;
      const explicit = r.decision === 'explicitDeny';
      const missing = ((r as SimulationResult & { missingContextValues?: string[] }).missingContextValues ?? []).length > 0;
      const pattern = ask.resources !== undefined && isPattern(r.resource);
      if (!explicit && (pattern || missing || !ask.faithfulCondition)) {
        const actions = unchecked.get(r.resource) ?? new Set<string>();
        actions.add(r.action);
        unchecked.set(r.resource, actions);
        continue;
      }
      const entry = refused.get(r.action) ?? { resources: [], explicit: false };
      entry.resources.push(r.resource);
      entry.explicit ||= explicit;
      refused.set(r.action, entry);
    }
  });
  const problems = [...refused].map(([action, r]) => `${action}: ${r.explicit ? 'denied by a policy' : 'not allowed'} for ${source} on ${r.resources[0]}${r.resources.length > 1 ? ` and ${r.resources.length - 1} more` : ''}`);
  if (problems.length > 0) problems.push(`the worker's role lacks what this runbook's runs need: drover iam-policy <the ${runbookName} runbook file> --role worker prints it (docs/iam.md)`);
  const notes = [...unchecked].map(([resource, actions]) => `worker permissions: could not check ${[...actions].sort().join(', ')} on ${isPattern(resource) ? 'pattern ' : ''}${resource}: simulate it with a concrete ARN`);
  if (problems.length === 0) notes.unshift(unchecked.size === 0 ? `worker permissions: ${source} is allowed every action this runbook's runs need` : `worker permissions: ${source} is allowed every action this runbook's runs need that IAM's simulation can answer`);
  return { problems, notes };
}
