/**
 * Who a principal is (runbooks/principals.ts): which identities a principal matches, the seat an approver
 * fills, when two identities are one approver, who may request, and how many approvers a gate's principals
 * can supply. Exact answers at the edges: other accounts and partitions, a wildcard against a colon,
 * regular-expression characters in a pattern, case, a role's path.
 */
import {
  isPinnedPrincipal,
  patternOutsideAccount,
  principalMatches,
  requesterPrincipals,
  sameApprover,
  seatOf,
  seatsAvailable,
  unpinnedRoles,
  type VerifiedActor,
} from '../runbooks/principals';

const A = '123456789012';
const B = '210987654321';
const ROLE = `arn:aws:iam::${A}:role/IncidentCommander`;
const PINNED = `arn:aws:sts::${A}:assumed-role/IncidentCommander/\${username}`;
const session = (name: string, role = 'IncidentCommander', account = A, partition = 'aws') => `arn:${partition}:sts::${account}:assumed-role/${role}/${name}`;
const user = (name: string, account = A) => `arn:aws:iam::${account}:user/${name}`;

describe('principalMatches', () => {
  test.each([
    // A pinned role: any one session of that role, in that account and partition.
    [PINNED, session('alice'), true],
    [PINNED, session('alice', 'Other'), false],
    [PINNED, session('alice', 'IncidentCommander', B), false],
    [PINNED, session('alice', 'IncidentCommander', A, 'aws-cn'), false],
    [PINNED, user('alice'), false],
    // A role: itself and every session of it, nothing of a role whose name it prefixes.
    [ROLE, ROLE, true],
    [ROLE, session('bob'), true],
    [ROLE, session('bob', 'IncidentCommanderX'), false],
    [ROLE, session('bob', 'IncidentCommander', B), false],
    [ROLE, session('bob', 'IncidentCommander', A, 'aws-cn'), false],
    [ROLE, `arn:aws:iam::${A}:role/IncidentCommanderX`, false],
    [`arn:aws:iam::${A}:role/team/Ops`, session('carol', 'Ops'), true],
    [`arn:aws-cn:iam::${A}:role/Ops`, session('carol', 'Ops', A, 'aws-cn'), true],
    [`arn:aws-cn:iam::${A}:role/Ops`, session('carol', 'Ops'), false],
    [`x${ROLE}`, session('bob'), false],
    [`arn:aws:iam::1234567890123:role/Ops`, session('carol', 'Ops', '1234567890123'), false],
    [`arn:aws:sts::${A}:assumed-role/Ops/\${username}x`, session('carol', 'Ops'), false],
    // An exact ARN or plain id: only itself.
    [user('priya'), user('priya'), true],
    [user('priya'), user('priya2'), false],
    ['ic-priya', 'ic-priya', true],
    ['ic-priya', 'IC-PRIYA', false],
    // A pattern: * any characters but a colon, ? one character but a colon, anchored at both ends.
    [user('*'), user('alice'), true],
    [user('*'), user('ops/alice'), true],
    [user('*'), user('alice', B), false],
    [`arn:aws*:iam::${A}:user/alice`, `arn:aws:iam::${B}:user/x:iam::${A}:user/alice`, false],
    [user('a?'), user('ab'), true],
    [user('a?'), user('a'), false],
    [user('a?'), user('abc'), false],
    [user('a?'), user('a:'), false],
    [user('a*'), `x${user('alice')}`, false],
    [user('a*'), `${user('alice')}:x`, false],
    // Characters that mean something in a regular expression are literal.
    [user('a.b*'), user('a.bc'), true],
    [user('a.b*'), user('aXbc'), false],
    [user('a+*'), user('a+x'), true],
    [user('a+*'), user('aax'), false],
    [user('(a|b)*'), user('(a|b)x'), true],
    [user('(a|b)*'), user('ax'), false],
    [user('[ab]*'), user('[ab]x'), true],
    [user('[ab]*'), user('ax'), false],
    [user('a^b$*'), user('a^b$c'), true],
    [user('{a}\\*'), user('{a}\\x'), true],
    // A role pattern is a pattern over role ARNs: it does not stand for sessions.
    [`arn:aws:iam::${A}:role/*`, ROLE, true],
    [`arn:aws:iam::${A}:role/*`, session('bob'), false],
  ])('%s matches %s: %s', (principal, id, expected) => {
    expect(principalMatches(principal, id)).toBe(expected);
  });
});

describe('isPinnedPrincipal', () => {
  test.each([
    [PINNED, true],
    [`arn:aws-us-gov:sts::${A}:assumed-role/Ops/\${username}`, true],
    [`arn:aws:sts::${A}:assumed-role/Ops*/\${username}`, false],
    [`arn:aws:sts::${A}:assumed-role/Ops/\${username}/x`, false],
    [`arn:aws:sts::12345:assumed-role/Ops/\${username}`, false],
    [`arn:aws:iam::${A}:user/\${username}`, false],
    [`x${PINNED}`, false],
    [session('alice'), false],
  ])('%s: %s', (principal, expected) => {
    expect(isPinnedPrincipal(principal)).toBe(expected);
  });
});

describe('seatOf', () => {
  const v = (id: string, userId?: string): VerifiedActor => ({ id, verified: true, userId });

  test('an unverified id is its own seat, whatever it looks like', () => {
    expect(seatOf({ id: user('alice'), verified: false }, [])).toBe(`id:${user('alice')}`);
  });

  test('a session of a role is the role: by its unique id when STS gave one, else by account and name', () => {
    expect(seatOf(v(session('alice'), 'AROA1EXAMPLE:alice'), [ROLE])).toBe('role:AROA1EXAMPLE');
    expect(seatOf(v(session('alice')), [ROLE])).toBe(`role:${A}/IncidentCommander`);
    expect(seatOf(v(session('alice'), 'AIDAEXAMPLE'), [ROLE])).toBe(`role:${A}/IncidentCommander`);
    expect(seatOf(v(session('alice'), 'xAROA1:alice'), [ROLE])).toBe(`role:${A}/IncidentCommander`);
    expect(seatOf(v(session('alice'), 'AROAlower:alice'), [ROLE])).toBe(`role:${A}/IncidentCommander`);
  });

  test('a session of a pinned role is the person, case-folded; a pinned principal of another role does not pin it', () => {
    expect(seatOf(v(session('Alice'), 'AROA1:Alice'), [ROLE, PINNED])).toBe('person:alice');
    expect(seatOf(v(session('Alice', 'Ops'), 'AROA2:Alice'), [PINNED])).toBe('role:AROA2');
  });

  test('an IAM user is the person, case-folded, whatever its path; any other identity is its ARN', () => {
    expect(seatOf(v(user('Bob')), [])).toBe('person:bob');
    expect(seatOf(v(user('team/Bob')), [])).toBe('person:bob');
    expect(seatOf(v(`arn:aws:iam::${A}:root`), [])).toBe(`arn:arn:aws:iam::${A}:root`);
  });

  test.each([
    // Other partitions are users and sessions too.
    [`arn:aws-us-gov:iam::${A}:user/Dan`, 'person:dan'],
    [session('Dan', 'Ops', A, 'aws-cn'), `role:${A}/Ops`],
    // Anything that only looks like one is its ARN: a prefix, a suffix, another account length, a path in a session.
    [`x${user('dan')}`, `arn:x${user('dan')}`],
    [`${user('dan')}/`, `arn:${user('dan')}/`],
    [user('dan', '1234567890123'), `arn:${user('dan', '1234567890123')}`],
    [`x${session('dan')}`, `arn:x${session('dan')}`],
    [`${session('dan')}/more`, `arn:${session('dan')}/more`],
    [session('dan', 'Ops', '12345678901'), `arn:${session('dan', 'Ops', '12345678901')}`],
    [`arn:aws:sts::${A}:assumed-role//dan`, `arn:arn:aws:sts::${A}:assumed-role//dan`],
  ])('the seat of %s is %s', (id, seat) => {
    expect(seatOf(v(id), [])).toBe(seat);
  });
});

describe('sameApprover', () => {
  const v = (id: string, userId?: string): VerifiedActor => ({ id, verified: true, userId });

  test('two sessions of an unpinned role are one approver; of a pinned role, two people', () => {
    expect(sameApprover(v(session('a'), 'AROA1:a'), v(session('b'), 'AROA1:b'), [ROLE])).toBe(true);
    expect(sameApprover(v(session('a'), 'AROA1:a'), v(session('b'), 'AROA1:b'), [PINNED])).toBe(false);
  });

  test('a user and a session of the same name are one person, across accounts and case', () => {
    expect(sameApprover(v(user('alice')), v(session('Alice'), 'AROA1:Alice'), [PINNED])).toBe(true);
    expect(sameApprover(v(session('alice'), 'AROA1:alice'), v(user('ALICE', B)), [PINNED])).toBe(true);
    expect(sameApprover(v(user('alice')), v(user('bob')), [])).toBe(false);
  });

  test('unverified ids have no person name: only the same id is the same approver', () => {
    expect(sameApprover({ id: 'alice', verified: false }, { id: 'alice', verified: false }, [])).toBe(true);
    expect(sameApprover({ id: 'alice', verified: false }, v(user('alice')), [])).toBe(false);
    expect(sameApprover(v(user('alice')), { id: 'alice', verified: false }, [])).toBe(false);
    expect(sameApprover({ id: user('alice'), verified: false }, v(user('alice')), [])).toBe(false);
  });

  test('a session and a user of other partitions share the person name; an id that only looks like a user has none', () => {
    expect(sameApprover(v(session('dan', 'Ops', A, 'aws-cn'), 'AROA9:dan'), v(`arn:aws-us-gov:iam::${A}:user/Dan`), [])).toBe(true);
    expect(sameApprover(v(`x${user('dan')}`), v(user('dan')), [])).toBe(false);
    expect(sameApprover(v(`${session('dan')}/more`), v(user('dan')), [])).toBe(false);
  });

  test('identities that are neither users nor sessions are one approver only by ARN', () => {
    expect(sameApprover(v(`arn:aws:iam::${A}:root`), v(`arn:aws:iam::${A}:root`), [])).toBe(true);
    expect(sameApprover(v(`arn:aws:iam::${A}:root`), v(`arn:aws:iam::${B}:root`), [])).toBe(false);
  });
});

describe('requesterPrincipals', () => {
  test('the requesters when listed, else every gate\'s principals once, a gate without a policy by the approvers', () => {
    expect(requesterPrincipals({ approvers: ['arn:a'], gates: ['failover'], requesters: ['arn:r'], policies: { failover: { principals: ['arn:f'] } } })).toEqual(['arn:r']);
    expect(requesterPrincipals({ approvers: ['arn:a', 'arn:b'], gates: ['failover', 'failback', 'promote'], policies: { failback: { principals: ['arn:b', 'arn:c'] }, promote: {} } })).toEqual(['arn:a', 'arn:b', 'arn:c']);
    expect(requesterPrincipals({ approvers: ['arn:a'], gates: [], policies: { failover: { principals: ['arn:f'] } } })).toEqual([]);
  });
});

describe('patternOutsideAccount', () => {
  test.each([
    ['priya', false],
    ['pri*', false],
    [user('priya'), false],
    [user('*'), false],
    [`arn:aws-cn:iam::${A}:user/*`, false],
    [`arn:aws:sts::${A}:assumed-role/Ops/*`, false],
    ['arn:aws:iam::*:user/priya', true],
    [`arn:*:iam::${A}:user/priya`, true],
    [`arn:aws:*::${A}:user/priya`, true],
    [`arn:aws:iam::${A}:*`, true],
    [`arn:aws:iam::${A}:?ser/priya`, true],
    ['arn:aws:s3:::bucket*', true],
    [`arn:aws:iam::12345678901:user/*`, true],
    [`xarn:aws:iam::*:user/*`, false],
  ])('%s: %s', (principal, expected) => {
    expect(patternOutsideAccount(principal)).toBe(expected);
  });
});

describe('seatsAvailable', () => {
  test.each([
    [[], 0],
    [[user('a'), user('b')], 2],
    [[ROLE], 1],
    [['ic-priya', ROLE, user('b')], 3],
    [[`arn:aws:sts::${A}:assumed-role/Ops/*`], 1],
    [[`arn:aws:sts::${A}:assumed-role/Ops/a?`, user('b')], 2],
    [[PINNED], Number.POSITIVE_INFINITY],
    [[user('a'), PINNED], Number.POSITIVE_INFINITY],
    [[user('*')], Number.POSITIVE_INFINITY],
    [[`arn:aws:sts::${A}:assumed-role/*/x`], Number.POSITIVE_INFINITY],
    [[`arn:aws:sts::${A}:assumed-role/Ops/a/*`], Number.POSITIVE_INFINITY],
    [[`xarn:aws:sts::${A}:assumed-role/Ops/*`], Number.POSITIVE_INFINITY],
    [[`arn:aws:sts::1234567890123:assumed-role/Ops/*`], Number.POSITIVE_INFINITY],
    [[`arn:aws-cn:sts::${A}:assumed-role/Ops/*`], 1],
    [[`arn:aws:sts::${A}:assumed-role/Ops/*`, `arn:aws:sts::${A}:assumed-role/Db/*`], 2],
  ])('%j: %s', (principals, expected) => {
    expect(seatsAvailable(principals)).toBe(expected);
  });
});

describe('unpinnedRoles', () => {
  test('roles without a wildcard and session patterns of one role, in their order; nothing else', () => {
    const list = [
      ROLE,
      user('a'),
      `arn:aws:iam::${A}:role/*`,
      `arn:aws:sts::${A}:assumed-role/Ops/*`,
      `arn:aws:sts::${A}:assumed-role/Ops/al?ce`,
      session('alice', 'Ops'),
      PINNED,
      `arn:aws:sts::${A}:assumed-role/*/x*`,
      `arn:aws:sts::${A}:assumed-role/Ops/a/*`,
      `xarn:aws:sts::${A}:assumed-role/Ops/*`,
      `arn:aws:iam::${A}:role/team/Db`,
      `arn:aws-cn:sts::${A}:assumed-role/Cn/*`,
      `arn:aws:sts::1234567890123:assumed-role/Long/*`,
      `arn:aws:sts::${A}:assumed-role/Ops/*x/`,
    ];
    expect(unpinnedRoles(list)).toEqual([ROLE, `arn:aws:sts::${A}:assumed-role/Ops/*`, `arn:aws:sts::${A}:assumed-role/Ops/al?ce`, `arn:aws:iam::${A}:role/team/Db`, `arn:aws-cn:sts::${A}:assumed-role/Cn/*`]);
  });
});
