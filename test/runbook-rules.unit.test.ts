/**
 * The runbook's cross-field rules (runbooks/schema.ts, crossFieldChecks): each one named by its exact path
 * and message, at its boundary (equal steps, standby equal to active, escalation equal to the timeout), and
 * never a second time for what a field's own shape already reported. Every runbook is built inside its
 * test (nothing is parsed while the file loads), so the mutation run can tell which test covers which rule.
 */
import { stringify } from 'yaml';
import { parseRunbook } from '../runbooks/load';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const ROLE = 'arn:aws:iam::123456789012:role/IncidentCommander';
const PRIYA = 'arn:aws:iam::123456789012:user/priya';
const ARJUN = 'arn:aws:iam::123456789012:user/arjun';
const TOPIC = 'arn:aws:sns:ap-southeast-1:123456789012:drover-escalations';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a runbook being edited, any shape on purpose

/** A small valid runbook: one weighted record, one database, a cluster per region, no gates. */
function base(): Doc {
  return {
    version: 1,
    name: 'shop',
    regions: { primary: PRIMARY, standby: STANDBY },
    dns: {
      hostedZone: 'shop.example',
      records: [{ name: 'api.shop.example', type: 'CNAME', routing: 'weighted', targets: { [PRIMARY]: { setIdentifier: 'api-a', value: 'a.elb.example' }, [STANDBY]: { setIdentifier: 'api-b', value: 'b.elb.example' } } }],
      shift: { steps: [50, 100], soak: '1m' },
    },
    database: { engine: 'postgres', primary: { identifier: 'shop-a' }, replica: { identifier: 'shop-b' }, maxReplicaLag: '30s', writerRecord: { name: 'db.shop.example' } },
    compute: {
      clusters: [
        { region: PRIMARY, name: 'shop-a', nodeGroups: [{ name: 'general', standby: 1, active: 4, max: 8 }] },
        { region: STANDBY, name: 'shop-b', nodeGroups: [{ name: 'general', standby: 1, active: 4, max: 8 }] },
      ],
    },
    health: {},
    approvals: {},
    objectives: { rto: '15m', rpo: '1m' },
  };
}

/** The problems of `base()` after `edit`, as `drover validate` reports them: path and message. */
function problems(edit: (rb: Doc) => void = () => undefined): Array<{ path: string; message: string }> {
  const rb = base();
  edit(rb);
  const r = parseRunbook(stringify(rb));
  return r.ok ? [] : r.problems.map(({ path, message }) => ({ path, message }));
}

/** A second database for the `databases` list, with identifiers and a writer record of its own. */
function orders(): Doc {
  return { name: 'orders', engine: 'postgres', primary: { identifier: 'orders-a' }, replica: { identifier: 'orders-b' }, maxReplicaLag: '30s', writerRecord: { name: 'orders-db.shop.example' } };
}

function asList(rb: Doc, ...more: Doc[]): void {
  rb.databases = [{ name: 'main', ...rb.database }, ...more];
  delete rb.database;
}

describe('the base runbook', () => {
  test('is valid: every rule below starts from a runbook without problems', () => {
    expect(problems()).toEqual([]);
  });
});

describe('regions', () => {
  test('given the standby equal to the primary, regions.standby must differ, and nothing is judged against the pair', () => {
    expect(problems((rb) => (rb.regions.standby = PRIMARY))).toEqual([
      { path: 'regions.standby', message: 'must differ from the primary region (ap-south-1)' },
      // The record's and the cluster's STANDBY entries are not flagged as outside a pair that is not one.
    ]);
  });

  test('given a record target, a cluster, an alarm list and a probe list in a third region, each is named', () => {
    expect(
      problems((rb) => {
        rb.dns.records[0].targets['eu-west-1'] = { setIdentifier: 'api-c', value: 'c.elb.example' };
        rb.compute.clusters.push({ region: 'eu-west-1', name: 'shop-c', nodeGroups: [{ name: 'general', standby: 0, active: 1 }] });
        rb.health.alarms = { 'eu-west-1': ['5xx'] };
        rb.health.probes = { 'eu-west-1': [{ name: 'home', url: 'https://shop.example/' }] };
      }),
    ).toEqual([
      { path: 'dns.records[0].targets.eu-west-1', message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)' },
      { path: 'compute.clusters[2].region', message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)' },
      { path: 'health.alarms.eu-west-1', message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)' },
      { path: 'health.probes.eu-west-1', message: 'region eu-west-1 is neither the primary (ap-south-1) nor the standby (ap-southeast-1)' },
    ]);
  });

  test('given the pair\'s own regions in alarms and probes, nothing is flagged', () => {
    expect(
      problems((rb) => {
        rb.health.alarms = { [PRIMARY]: ['5xx'], [STANDBY]: ['5xx'] };
        rb.health.probes = { [STANDBY]: [{ name: 'home', url: 'https://shop.example/' }] };
      }),
    ).toEqual([]);
  });

  test('given a malformed primary, only its own field is reported: no rule compares against half a pair', () => {
    expect(
      problems((rb) => {
        rb.regions.primary = 'mumbai';
        rb.dns.records[0].targets['eu-west-1'] = { setIdentifier: 'api-c', value: 'c.elb.example' };
        rb.compute.clusters.pop();
      }),
    ).toEqual([{ path: 'regions.primary', message: 'expected an AWS region name such as ap-south-1' }]);
  });

  test('given a malformed region as a record target, its key is reported once, not also as outside the pair', () => {
    const found = problems((rb) => (rb.dns.records[0].targets.Mumbai = { setIdentifier: 'api-c', value: 'c.elb.example' }));
    expect(found.map((p) => p.path)).toEqual(['dns.records[0].targets.Mumbai']);
    expect(found[0].message).not.toContain('neither the primary');
  });
});

describe('dns records', () => {
  test('given a record without a target in the standby region, its set identifier is missing', () => {
    expect(problems((rb) => delete rb.dns.records[0].targets[STANDBY])).toEqual([{ path: 'dns.records[0].targets.ap-southeast-1', message: 'missing set identifier for region ap-southeast-1' }]);
  });

  test('given a record without targets in either region, both are missing, primary first', () => {
    expect(problems((rb) => (rb.dns.records[0].targets = {}))).toEqual([
      { path: 'dns.records[0].targets.ap-south-1', message: 'missing set identifier for region ap-south-1' },
      { path: 'dns.records[0].targets.ap-southeast-1', message: 'missing set identifier for region ap-southeast-1' },
    ]);
  });

  test('given the same set identifier in both regions, the record needs two', () => {
    expect(problems((rb) => (rb.dns.records[0].targets[STANDBY].setIdentifier = 'api-a'))).toEqual([{ path: 'dns.records[0].targets', message: 'the two regions need different set identifiers' }]);
  });

  test('given the same name and type twice in one zone, the second duplicates the first (a record naming the hosted zone is in it)', () => {
    expect(
      problems((rb) => {
        const first = rb.dns.records[0];
        rb.dns.records.push({ ...first, zone: 'shop.example', targets: { [PRIMARY]: { setIdentifier: 'x-a', value: 'a' }, [STANDBY]: { setIdentifier: 'x-b', value: 'b' } } });
      }),
    ).toEqual([{ path: 'dns.records[1].name', message: 'duplicates dns.records[0] (api.shop.example CNAME)' }]);
  });

  test('given the same name with another type, or in another zone (a delegated zone at that name), there is no duplicate', () => {
    expect(
      problems((rb) => {
        const first = rb.dns.records[0];
        rb.dns.records.push({ ...first, type: 'A' }, { ...first, zone: first.name });
      }),
    ).toEqual([]);
  });

  test('given a record at its zone\'s apex, a wildcard and a name two labels down, each is in its zone', () => {
    expect(
      problems((rb) => {
        const first = rb.dns.records[0];
        rb.dns.records.push({ ...first, name: 'shop.example', type: 'A' }, { ...first, name: '*.shop.example' }, { ...first, name: 'a.b.shop.example' });
      }),
    ).toEqual([]);
  });

  test('given a record outside its own zone, or one whose name only ends with the zone\'s text, each is named with the zone it was checked against', () => {
    expect(
      problems((rb) => {
        const first = rb.dns.records[0];
        rb.dns.records.push({ ...first, name: 'api.other.example' }, { ...first, name: 'api.shop.example', zone: 'eu.shop.example' }, { ...first, name: 'myshop.example', type: 'A' });
      }),
    ).toEqual([
      { path: 'dns.records[1].name', message: 'api.other.example is not in zone shop.example (dns.hostedZone): a record must be the zone\'s name or end with .shop.example' },
      { path: 'dns.records[2].name', message: 'api.shop.example is not in zone eu.shop.example (dns.records[2].zone): a record must be the zone\'s name or end with .eu.shop.example' },
      { path: 'dns.records[3].name', message: 'myshop.example is not in zone shop.example (dns.hostedZone): a record must be the zone\'s name or end with .shop.example' },
    ]);
  });

  test('given a third copy, it names the first one, not the second', () => {
    const found = problems((rb) => {
      const first = rb.dns.records[0];
      rb.dns.records.push({ ...first }, { ...first });
    });
    expect(found).toEqual([
      { path: 'dns.records[1].name', message: 'duplicates dns.records[0] (api.shop.example CNAME)' },
      { path: 'dns.records[2].name', message: 'duplicates dns.records[0] (api.shop.example CNAME)' },
    ]);
  });
});

describe('the traffic shift', () => {
  test('given a step equal to the one before, the steps must increase (strictly)', () => {
    expect(problems((rb) => (rb.dns.shift.steps = [50, 50, 100]))).toEqual([{ path: 'dns.shift.steps[1]', message: 'steps must increase (50 then 50)' }]);
  });

  test('given a step lower than the one before, it is named with both values', () => {
    expect(problems((rb) => (rb.dns.shift.steps = [10, 60, 30, 100]))).toEqual([{ path: 'dns.shift.steps[2]', message: 'steps must increase (60 then 30)' }]);
  });

  test('given steps that stop short of 100, the list must end at 100', () => {
    expect(problems((rb) => (rb.dns.shift.steps = [10, 50]))).toEqual([{ path: 'dns.shift.steps', message: 'must end at 100, ends at 50' }]);
  });

  test('given no steps at all, only the list\'s own minimum is reported', () => {
    expect(problems((rb) => (rb.dns.shift.steps = []))).toEqual([{ path: 'dns.shift.steps', message: 'Too small: expected array to have >=1 items' }]);
  });

  test('given a single step of 100, it is valid', () => {
    expect(problems((rb) => (rb.dns.shift.steps = [100]))).toEqual([]);
  });
});

describe('compute', () => {
  test('given standby capacity above active, it is named; equal capacities are fine', () => {
    expect(
      problems((rb) => {
        rb.compute.clusters[0].nodeGroups.push({ name: 'checkout', standby: 5, active: 4 }, { name: 'equal', standby: 4, active: 4 });
      }),
    ).toEqual([{ path: 'compute.clusters[0].nodeGroups[1].standby', message: 'standby capacity 5 exceeds active capacity 4' }]);
  });

  test('given a max below active, it is named; a max equal to active, or none, is fine', () => {
    expect(
      problems((rb) => {
        rb.compute.clusters[1].nodeGroups.push({ name: 'low', standby: 1, active: 4, max: 3 }, { name: 'equal', standby: 1, active: 4, max: 4 }, { name: 'unbounded', standby: 1, active: 4 });
      }),
    ).toEqual([{ path: 'compute.clusters[1].nodeGroups[1].max', message: 'max 3 is below active capacity 4' }]);
  });

  test('given no cluster in the standby region, there is nothing to fail over to', () => {
    expect(problems((rb) => rb.compute.clusters.pop())).toEqual([{ path: 'compute.clusters', message: 'no cluster in the standby region ap-southeast-1' }]);
  });

  test('given no cluster in the primary region, that is fine (a cluster may be rebuilt there)', () => {
    expect(problems((rb) => rb.compute.clusters.shift())).toEqual([]);
  });

  test('given a rebuild section, every cluster needs its network', () => {
    expect(
      problems((rb) => {
        rb.rebuild = {};
        rb.compute.clusters[0].network = { subnetIds: ['subnet-0a4d7c19', 'subnet-0a4d7c20'] };
      }),
    ).toEqual([{ path: 'compute.clusters[1].network', message: 'required when the runbook has a rebuild section (cluster shop-b)' }]);
  });

  test('given clusters without a network and no rebuild section, nothing is required', () => {
    expect(problems((rb) => delete rb.rebuild)).toEqual([]);
  });
});

describe('databases', () => {
  test('given neither database nor databases, one is required', () => {
    expect(problems((rb) => delete rb.database)).toEqual([{ path: 'database', message: 'required (or databases, a list of them)' }]);
  });

  test('given both database and databases, only one may be given', () => {
    expect(problems((rb) => (rb.databases = [orders()]))).toEqual([{ path: 'databases', message: 'give either database (one) or databases (a list), not both' }]);
  });

  test('given a list, every database needs a name, and nameless ones are not duplicates of each other', () => {
    expect(
      problems((rb) => {
        asList(rb, { ...orders(), name: undefined }, { ...orders(), name: undefined, primary: { identifier: 'x-a' }, replica: { identifier: 'x-b' }, writerRecord: { name: 'x.shop.example' } });
        delete rb.databases[1].name;
        delete rb.databases[2].name;
      }),
    ).toEqual([
      { path: 'databases[1].name', message: 'required in a list of databases (CLI flags, workflow ids and reports name it)' },
      { path: 'databases[2].name', message: 'required in a list of databases (CLI flags, workflow ids and reports name it)' },
    ]);
  });

  test('given one database without a name, none is needed', () => {
    expect(problems((rb) => delete rb.database.name)).toEqual([]);
  });

  test('given two databases of one name, the second is named as a duplicate of the first', () => {
    expect(problems((rb) => asList(rb, { ...orders(), name: 'main' }))).toEqual([{ path: 'databases[1].name', message: 'database name main is already used by databases[0]' }]);
  });

  test('given an identifier used twice, across primaries and replicas, each reuse names the first use', () => {
    expect(
      problems((rb) => {
        asList(rb, { ...orders(), primary: { identifier: 'shop-b' }, replica: { identifier: 'shop-a' } });
      }),
    ).toEqual([
      { path: 'databases[1].primary.identifier', message: 'identifier shop-b is already used by databases[0].replica' },
      { path: 'databases[1].replica.identifier', message: 'identifier shop-a is already used by databases[0].primary' },
    ]);
  });

  test('given one database whose replica is its own primary, the replica is named', () => {
    expect(problems((rb) => (rb.database.replica.identifier = 'shop-a'))).toEqual([{ path: 'database.replica.identifier', message: 'identifier shop-a is already used by database.primary' }]);
  });

  test('given two databases repointing one writer record, the second is named', () => {
    expect(problems((rb) => asList(rb, { ...orders(), writerRecord: { name: 'DB.shop.example.' } }))).toEqual([{ path: 'databases[1].writerRecord.name', message: 'writer record db.shop.example is already used by databases[0]' }]);
  });

  test('given a name equal to an identifier, they are different kinds and do not clash', () => {
    expect(problems((rb) => asList(rb, { ...orders(), name: 'shop-a' }))).toEqual([]);
  });

  test('given the security-group fence without its group, the group is required; with it, or with no fence, nothing is', () => {
    expect(problems((rb) => (rb.database.fence = { method: 'security-group' }))).toEqual([{ path: 'database.fence.groupName', message: 'required when the fence method is security-group' }]);
    expect(problems((rb) => (rb.database.fence = { method: 'security-group', groupName: 'shop-fence' }))).toEqual([]);
    expect(problems((rb) => (rb.database.fence = { method: 'none' }))).toEqual([]);
  });

  test('given an aurora-global database without its global cluster, it is required, in a list too', () => {
    expect(problems((rb) => (rb.database.engine = 'aurora-global'))).toEqual([{ path: 'database.globalClusterIdentifier', message: 'required when the engine is aurora-global' }]);
    expect(problems((rb) => asList(rb, { ...orders(), engine: 'aurora-global' }))).toEqual([{ path: 'databases[1].globalClusterIdentifier', message: 'required when the engine is aurora-global' }]);
    expect(problems((rb) => Object.assign(rb.database, { engine: 'aurora-global', globalClusterIdentifier: 'shop-global' }))).toEqual([]);
  });

  test('given one malformed database in a list, the others are still checked', () => {
    expect(
      problems((rb) => {
        asList(rb, { ...orders(), name: 'main' });
        rb.databases[0].fence = { method: 'security-group' };
        delete rb.databases[0].writerRecord;
      }),
    ).toEqual([
      { path: 'databases[0].writerRecord', message: 'required' },
      { path: 'databases[0].fence.groupName', message: 'required when the fence method is security-group' },
      { path: 'databases[1].name', message: 'database name main is already used by databases[0]' },
    ]);
  });
});

describe('drills', () => {
  test('given a window whose end is not after its start, to must be later than from (equal too)', () => {
    expect(
      problems((rb) => {
        rb.drills = { windows: [{ from: '02:00', to: '06:00' }, { from: '06:00', to: '06:00' }, { from: '23:00', to: '01:00' }] };
      }),
    ).toEqual([
      { path: 'drills.windows[1].to', message: 'must be later than from (06:00)' },
      { path: 'drills.windows[2].to', message: 'must be later than from (23:00)' },
    ]);
  });

  test('given drills enabled without a window, one is needed; disabled, none is', () => {
    expect(problems((rb) => (rb.drills = { enabled: true }))).toEqual([{ path: 'drills.windows', message: 'name at least one window when drills are enabled' }]);
    expect(problems((rb) => (rb.drills = { enabled: false }))).toEqual([]);
    expect(problems((rb) => (rb.drills = { enabled: true, windows: [{ from: '02:00', to: '03:00' }] }))).toEqual([]);
  });
});

describe('approvals', () => {
  test('given gates without approvers or policy principals, they need one; a gate with its own principals does not', () => {
    expect(problems((rb) => (rb.approvals = { gates: ['failover', 'failback'] }))).toEqual([{ path: 'approvals.approvers', message: 'gates failover, failback need at least one approver' }]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover', 'failback'], policies: { failover: { principals: [PRIYA] } } }))).toEqual([{ path: 'approvals.approvers', message: 'gates failback need at least one approver' }]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: [PRIYA] } } }))).toEqual([]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA] }))).toEqual([]);
  });

  test('given 2 of a role whose sessions are not pinned, the role is named with its pinned form, in the policy or in the approvers', () => {
    const message = `a gate that needs 2 distinct approvers cannot tell people apart through ${ROLE}: every session of a role counts as one approver unless session names are pinned to people; list arn:aws:sts::123456789012:assumed-role/IncidentCommander/\${username} (the role's trust policy pins sessions, e.g. sts:RoleSessionName = \${aws:username}, or IAM Identity Center) or IAM user ARNs`;
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: [PRIYA, ROLE], required: 2 } } }))).toEqual([{ path: 'approvals.policies.failover.principals[1]', message }]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [ROLE, PRIYA], policies: { failover: { required: 2 } } }))).toEqual([{ path: 'approvals.approvers[0]', message }]);
    // One approval from a role is fine.
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [ROLE] }))).toEqual([]);
  });

  test('given a session pattern of one role and 2 required, the pattern is named with the role\'s pinned form', () => {
    const pattern = 'arn:aws:sts::123456789012:assumed-role/Ops/*';
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: [PRIYA, pattern], required: 2 } } }))).toEqual([
      {
        path: 'approvals.policies.failover.principals[1]',
        message: `a gate that needs 2 distinct approvers cannot tell people apart through ${pattern}: every session of a role counts as one approver unless session names are pinned to people; list arn:aws:sts::123456789012:assumed-role/Ops/\${username} (the role's trust policy pins sessions, e.g. sts:RoleSessionName = \${aws:username}, or IAM Identity Center) or IAM user ARNs`,
      },
    ]);
  });

  test('given 2 required and no principals at all, only the missing approvers are reported', () => {
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { required: 2 } } }))).toEqual([{ path: 'approvals.approvers', message: 'gates failover need at least one approver' }]);
  });

  test('given a role with a path and 2 required, its pinned form names the role alone', () => {
    const role = 'arn:aws-cn:iam::123456789012:role/team/Ops';
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: [role, PRIYA], required: 2 } } }))).toEqual([
      {
        path: 'approvals.policies.failover.principals[0]',
        message: `a gate that needs 2 distinct approvers cannot tell people apart through ${role}: every session of a role counts as one approver unless session names are pinned to people; list arn:aws-cn:sts::123456789012:assumed-role/Ops/\${username} (the role's trust policy pins sessions, e.g. sts:RoleSessionName = \${aws:username}, or IAM Identity Center) or IAM user ARNs`,
      },
    ]);
  });

  test('given M of N with fewer exact principals than M, the count is named (one principal, several)', () => {
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: [PRIYA], required: 2 } } }))).toEqual([{ path: 'approvals.policies.failover.required', message: 'needs 2 distinct approvers, but only 1 principal is listed' }]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA, ARJUN], policies: { failover: { required: 3 } } }))).toEqual([{ path: 'approvals.policies.failover.required', message: 'needs 3 distinct approvers, but only 2 principals are listed' }]);
    // Exactly M principals, a user pattern or a pinned role: enough.
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA, ARJUN], policies: { failover: { required: 2 } } }))).toEqual([]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: ['arn:aws:iam::123456789012:user/*'], required: 5 } } }))).toEqual([]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], policies: { failover: { principals: ['arn:aws:sts::123456789012:assumed-role/IC/${username}'], required: 3 } } }))).toEqual([]);
  });

  test('given onTimeout proceed without drills enabled, a real run could not proceed: refused; with drills, allowed', () => {
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failover: { onTimeout: 'proceed' } } }))).toEqual([
      { path: 'approvals.policies.failover.onTimeout', message: '"proceed" is only allowed for drills (enable drills); a real run aborts when its gate times out' },
    ]);
    expect(
      problems((rb) => {
        rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failover: { onTimeout: 'proceed' } } };
        rb.drills = { enabled: true, windows: [{ from: '02:00', to: '03:00' }] };
      }),
    ).toEqual([]);
  });

  test('given an escalation not shorter than the timeout, it must be (equal too); shorter is fine', () => {
    const gate = (escalateAfter: string, timeout: string) => (rb: Doc) => {
      rb.notifications = { snsTopicArn: TOPIC };
      rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failover: { timeout, escalateAfter } } };
    };
    expect(problems(gate('10m', '10m'))).toEqual([{ path: 'approvals.policies.failover.escalateAfter', message: 'must be shorter than the timeout (600s)' }]);
    expect(problems(gate('15m', '10m'))).toEqual([{ path: 'approvals.policies.failover.escalateAfter', message: 'must be shorter than the timeout (600s)' }]);
    expect(problems(gate('9m', '10m'))).toEqual([]);
  });

  test('given an escalation without a timeout of its own, only the topic is required', () => {
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failover: { escalateAfter: '30m' } } }))).toEqual([
      { path: 'approvals.policies.failover.escalateAfter', message: 'needs notifications.snsTopicArn to send the escalation to' },
    ]);
    expect(
      problems((rb) => {
        rb.notifications = { snsTopicArn: TOPIC };
        rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failover: { escalateAfter: '30m' } } };
      }),
    ).toEqual([]);
  });

  test('given plain ids without trustClientIdentity, each list names its own; with it, they are accepted', () => {
    const approvals = { gates: ['failover'], approvers: ['priya'], requesters: [PRIYA, 'arjun'], policies: { failback: { principals: ['ops'] } } };
    expect(problems((rb) => (rb.approvals = approvals))).toEqual([
      { path: 'approvals.approvers[0]', message: '"priya" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)' },
      { path: 'approvals.requesters[1]', message: '"arjun" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)' },
      { path: 'approvals.policies.failback.principals[0]', message: '"ops" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)' },
    ]);
    expect(problems((rb) => (rb.approvals = { ...approvals, trustClientIdentity: true }))).toEqual([]);
    // Without requesters, the policies' principals are still checked.
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failback: { principals: ['ops'] } } }))).toEqual([
      { path: 'approvals.policies.failback.principals[0]', message: '"ops" is not an IAM ARN; plain ids can only approve with approvals.trustClientIdentity: true (local development)' },
    ]);
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA], policies: { failback: { principals: ['arn:aws:iam::*:user/x'] } } }))).toEqual([
      { path: 'approvals.policies.failback.principals[0]', message: '"arn:aws:iam::*:user/x": a pattern must name its partition, service and account (arn:aws:iam::123456789012:user/*): a wildcard before the resource would match identities of any account' },
    ]);
  });

  test('given ${username} outside a role\'s session position, or a wildcard before the account, each list names it', () => {
    const misplaced = 'arn:aws:iam::123456789012:user/${username}';
    const wide = 'arn:aws:iam::*:user/priya';
    expect(problems((rb) => (rb.approvals = { gates: ['failover'], approvers: [PRIYA, misplaced], requesters: [wide], policies: { failback: { principals: [wide] } }, trustClientIdentity: true }))).toEqual([
      { path: 'approvals.approvers[1]', message: '${username} stands only for the session name of one role: arn:aws:sts::ACCOUNT:assumed-role/ROLE/${username}' },
      { path: 'approvals.requesters[0]', message: `"${wide}": a pattern must name its partition, service and account (arn:aws:iam::123456789012:user/*): a wildcard before the resource would match identities of any account` },
      { path: 'approvals.policies.failback.principals[0]', message: `"${wide}": a pattern must name its partition, service and account (arn:aws:iam::123456789012:user/*): a wildcard before the resource would match identities of any account` },
    ]);
  });
});

describe('on malformed input', () => {
  test('given a document that is not an object, only that is reported', () => {
    expect(parseRunbook('null')).toEqual({ ok: false, problems: [{ path: '', message: 'expected object, got null', line: 1, col: 1 }] });
  });

  test('given malformed sections, each is reported by its shape alone and the other rules still run', () => {
    expect(
      problems((rb) => {
        rb.dns.records = 'api';
        rb.compute.clusters = 3;
        rb.approvals = 'none';
        rb.drills = { windows: 'nightly' };
        rb.regions.standby = PRIMARY;
      }),
    ).toEqual([
      // In file order (regions come before dns), not the order the rules ran in.
      { path: 'regions.standby', message: 'must differ from the primary region (ap-south-1)' },
      { path: 'dns.records', message: 'expected array, got string' },
      { path: 'compute.clusters', message: 'expected array, got number' },
      { path: 'approvals', message: 'expected object, got string' },
      { path: 'drills.windows', message: 'expected array, got string' },
    ]);
  });
});
