// Who a principal is and who counts as the same approver: pure rules over ARNs and ARN patterns, shared by
// the runbook schema (which validates principals) and the approval rules (approvers.ts). Imports nothing.
/**
 * Who an approver is, as a gate counts them. Pure (no Temporal, no Node): the gates, `drover validate`
 * and the unit tests share these rules, documented in docs/approvals.md.
 *
 * A role principal means "every session of that role", and a role's session name is chosen by whoever
 * assumes it unless the role's trust policy pins it to the person (`sts:RoleSessionName` = `${aws:username}`,
 * or IAM Identity Center, which names sessions after the user). So drover counts approvers by seat:
 * - a session of a role: the role (its unique id, `AROA…`); all its sessions are one approver, unless the
 *   principal it matched pins session names to people (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/${username}`),
 *   when the session name is the person;
 * - an IAM user: the person of that user name;
 * Person names are compared case-folded and across accounts (alice in two accounts is one person: a
 * false match only refuses an approval, a missed one would count a person twice).
 * - any other verified identity: its ARN; an unverified id (`--as`, trustClientIdentity): the id.
 * Two approvals with the same seat, or the same person's name (an IAM user `alice` and a pinned session
 * `alice`), count once; the requester's seat and name may not approve a gate that forbids self-approval.
 */

/** An actor whose identity STS verified carries the UserId STS answered (`AROA…:session` for a role session). */
export interface VerifiedActor {
  id: string;
  verified: boolean;
  userId?: string;
}

/** The placeholder that pins a role's session names to people, in the session position of an assumed-role ARN. */
export const PINNED_SESSION = '${username}';

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;
const SESSION_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;
const USER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/;
const PINNED_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/*?]+)\/\$\{username\}$/;

/** Whether a principal pins the session names of its role to people (`.../assumed-role/ROLE/${username}`). */
export function isPinnedPrincipal(principal: string): boolean {
  return PINNED_ARN.test(principal);
}

/**
 * Whether an identity matches a policy principal: an exact ARN or id; a pattern (`*` any characters, `?`
 * one); an IAM role ARN, which stands for every session of that role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`,
 * what STS reports for assumed roles); or a pinned role (`.../assumed-role/<role>/${username}`), any one session of it.
 */
export function principalMatches(principal: string, id: string): boolean {
  const pinned = PINNED_ARN.exec(principal);
  if (pinned) {
    const s = SESSION_ARN.exec(id);
    return s !== null && s[1] === pinned[1] && s[2] === pinned[2] && s[3] === pinned[3];
  }
  const role = ROLE_ARN.exec(principal);
  if (role && !/[*?]/.test(principal)) return id === principal || id.startsWith(`arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/`);
  if (!/[*?]/.test(principal)) return principal === id;
  // A wildcard never crosses a colon: `arn:aws:iam::*:user/*` cannot reach into another account's ARN.
  const re = new RegExp(`^${principal.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^:]*').replace(/\?/g, '[^:]')}$`);
  return re.test(id);
}

/** The seat an approver fills under `principals` (see the module comment). */
export function seatOf(actor: VerifiedActor, principals: string[]): string {
  if (!actor.verified) return `id:${actor.id}`;
  const session = SESSION_ARN.exec(actor.id);
  if (session) {
    const [, , account, role, name] = session;
    const roleId = /^(AROA[A-Z0-9]+):/.exec(actor.userId ?? '')?.[1] ?? `${account}/${role}`;
    const pinned = principals.some((p) => isPinnedPrincipal(p) && principalMatches(p, actor.id));
    return pinned ? `person:${name.toLowerCase()}` : `role:${roleId}`;
  }
  const user = USER_ARN.exec(actor.id);
  if (user) return `person:${user[3].toLowerCase()}`;
  return `arn:${actor.id}`;
}

/** The names of people an identity may be: an IAM user's name, a session's name (its role's sessions may be that person). */
function personNames(actor: VerifiedActor): string[] {
  if (!actor.verified) return [];
  const session = SESSION_ARN.exec(actor.id);
  if (session) return [session[4].toLowerCase()];
  const user = USER_ARN.exec(actor.id);
  return user ? [user[3].toLowerCase()] : [];
}

/** Whether two identities count as one approver under `principals`: the same seat, or the same person's name. */
export function sameApprover(a: VerifiedActor, b: VerifiedActor, principals: string[]): boolean {
  if (seatOf(a, principals) === seatOf(b, principals)) return true;
  const names = new Set(personNames(a));
  return personNames(b).some((n) => names.has(n));
}

/** Who may request a run whose requester is verified: `approvals.requesters`, else every principal of the runbook's gates. */
export function requesterPrincipals(approvals: { approvers: string[]; gates: string[]; requesters?: string[]; policies: Partial<Record<string, { principals?: string[] } | undefined>> }): string[] {
  if (approvals.requesters) return approvals.requesters;
  const all = new Set<string>();
  for (const gate of approvals.gates) for (const x of approvals.policies[gate]?.principals ?? approvals.approvers) all.add(x);
  return [...all];
}

/** An ARN pattern must name its partition, service and account literally: a wildcard there would match other accounts. */
export function patternOutsideAccount(principal: string): boolean {
  return principal.startsWith('arn:') && /[*?]/.test(principal) && !/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[^*?]/.test(principal);
}

/**
 * How many distinct approvers a gate's principals can supply at most: a role (or one role's session
 * pattern) that does not pin session names is one; an exact ARN or id is one; a pinned role, or a pattern
 * over users or over several roles, is any number.
 */
export function seatsAvailable(principals: string[]): number {
  let seats = 0;
  for (const p of principals) {
    if (isPinnedPrincipal(p)) return Number.POSITIVE_INFINITY;
    if (!/[*?]/.test(p)) {
      seats += 1;
      continue;
    }
    // A pattern over the sessions of one role: every session of it is one seat.
    if (/^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/*?]+\/[^/]*$/.test(p)) seats += 1;
    else return Number.POSITIVE_INFINITY;
  }
  return seats;
}

/** The role principals of a gate that do not pin session names (each one seat), for messages. */
export function unpinnedRoles(principals: string[]): string[] {
  return principals.filter((p) => (ROLE_ARN.test(p) && !/[*?]/.test(p)) || /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/*?]+\/[^/]*[*?][^/]*$/.test(p));
}

