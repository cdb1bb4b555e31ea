import { RDS } from '@aws-sdk/client-rds';
import { createAuroraActivities } from '../activities/aurora';
import { createAwsClients, type AwsClients } from '../aws/clients';
import { FailureType } from '../contracts/failures';
import { expectCallFailure, expectFailure, rejection, useMockActivityEnvironment } from './harness/activity';
import { useAuthMoto } from './harness/iam-principals';
import { testAwsEndpoint } from './harness/servers';

// drover's Aurora global database activities against moto, for every state moto produces: a global cluster
// with a writer and a secondary in another region (CreateGlobalCluster, then CreateDBCluster with
// GlobalClusterIdentifier in each region), DescribeGlobalClusters, and IAM denials of SwitchoverGlobalCluster and
// FailoverGlobalCluster from a moto with IAM authentication on (test/harness/authmoto.ts), which checks the
// caller's policy before it looks at the action. The pinned moto (5.2.5) implements neither of those two calls
// (it answers 500), so a switchover or failover that is requested, under way or refused with
// InvalidGlobalClusterStateFault stays in test/aurora.unit.test.ts over a typed fake. Each test seeds its own
// global cluster on the suite's shared moto under unique names.

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

const mock = useMockActivityEnvironment();
const run = mock.run;
const { auth, principal } = useAuthMoto();

let seq = 0;
/** A name part no other test uses: lowercase, as RDS stores identifiers. */
const uid = () => `t${process.pid.toString(36)}${Date.now().toString(36)}${(++seq).toString(36)}`;

const sharedRds = (region: string) => new RDS({ region, endpoint: testAwsEndpoint(), credentials: CREDS });
let clients: AwsClients;
beforeAll(() => {
  clients = createAwsClients({ endpoint: testAwsEndpoint(), credentials: CREDS, maxAttempts: 2 });
});

interface GlobalWorld {
  id: string;
  mumbai: { id: string; arn: string };
  singapore: { id: string; arn: string };
}

/**
 * A global cluster of its own: a Mumbai and a Singapore Aurora PostgreSQL cluster, the writer created first (the
 * first cluster of a global database is its primary; the next ones join as secondaries).
 */
async function seedGlobal(rds: (region: string) => RDS, writer: 'mumbai' | 'singapore' = 'mumbai'): Promise<GlobalWorld> {
  const u = uid();
  const id = `shop-${u}`;
  await rds(MUMBAI).createGlobalCluster({ GlobalClusterIdentifier: id, Engine: 'aurora-postgresql' });
  const members = { mumbai: { region: MUMBAI, id: `shop-${u}-mumbai`, arn: '' }, singapore: { region: SINGAPORE, id: `shop-${u}-singapore`, arn: '' } };
  const order = writer === 'mumbai' ? [members.mumbai, members.singapore] : [members.singapore, members.mumbai];
  for (const [i, m] of order.entries()) {
    const primary = i === 0 ? { MasterUsername: 'shop', MasterUserPassword: 'not-a-secret-1' } : {};
    const out = await rds(m.region).createDBCluster({ DBClusterIdentifier: m.id, Engine: 'aurora-postgresql', GlobalClusterIdentifier: id, ...primary });
    m.arn = out.DBCluster?.DBClusterArn as string;
  }
  return { id, mumbai: members.mumbai, singapore: members.singapore };
}

/** Which member moto reports as the writer, read with the SDK directly. */
async function writerOf(rds: (region: string) => RDS, id: string): Promise<string[]> {
  const gc = (await rds(SINGAPORE).describeGlobalClusters({ GlobalClusterIdentifier: id })).GlobalClusters?.find((g) => g.GlobalClusterIdentifier === id);
  return (gc?.GlobalClusterMembers ?? []).filter((m) => m.IsWriter).map((m) => m.DBClusterArn as string);
}

/** Aurora activities over drover's clients, every RDS call recorded with the region it went to (and still made). */
function auroraActivities(over: AwsClients = clients) {
  const calls: { region: string; op: string }[] = [];
  const activities = createAuroraActivities(
    (region) =>
      new Proxy(over.rds(region), {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (typeof prop !== 'string' || typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push({ region, op: prop });
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }),
  );
  return { ...activities, calls, ops: () => calls.map((c) => c.op) };
}

const stateOf = (w: GlobalWorld, writer: 'mumbai' | 'singapore') => ({
  identifier: w.id,
  status: 'available',
  writerArn: w[writer].arn,
  members: (writer === 'mumbai' ? [w.mumbai, w.singapore] : [w.singapore, w.mumbai]).map((m) => ({
    clusterArn: m.arn,
    region: m === w.mumbai ? MUMBAI : SINGAPORE,
    isWriter: m === w[writer],
  })),
});

describe('describeGlobalCluster', () => {
  it('reports each member with the region parsed from its ARN and which one is the writer', async () => {
    const w = await seedGlobal(sharedRds);
    const { describeGlobalCluster, calls } = auroraActivities();

    const state = await run(describeGlobalCluster, { region: SINGAPORE, globalClusterId: w.id });

    expect(state).toEqual(stateOf(w, 'mumbai'));
    expect(calls).toEqual([{ region: SINGAPORE, op: 'describeGlobalClusters' }]);
  });

  // RDS answers GlobalClusterNotFoundFault, "The GlobalClusterIdentifier doesn't refer to an existing global
  // database cluster" (RDS API Reference); the unit test covers that answer. moto ignores the identifier and
  // answers every global cluster it holds: drover must not take another one for the one it asked for.
  it('given a global cluster that does not exist, fails with a non-retryable NotFound', async () => {
    await seedGlobal(sharedRds);
    const missing = `no-such-global-${uid()}`;
    const { describeGlobalCluster } = auroraActivities();

    const err = await rejection(run(describeGlobalCluster, { region: SINGAPORE, globalClusterId: missing }));

    expectFailure(err, FailureType.NotFound, new RegExp(`^global cluster ${missing} not found in ${SINGAPORE}$`));
  });
});

describe('switchoverGlobalCluster (planned)', () => {
  it('given the target is already the writer, makes no call (a re-run after the switchover finished)', async () => {
    const w = await seedGlobal(sharedRds, 'singapore');
    const { switchoverGlobalCluster, ops } = auroraActivities();

    const result = await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: w.singapore.id });

    expect(result).toEqual({ alreadyWriter: true, alreadyInProgress: false, before: stateOf(w, 'singapore') });
    expect(ops()).toEqual(['describeGlobalClusters']);
    expect(await writerOf(sharedRds, w.id)).toEqual([w.singapore.arn]);
  });

  it('given a target that is not a member of the global cluster, fails with NotFound naming it and calls nothing', async () => {
    const w = await seedGlobal(sharedRds);
    const tokyo = w.singapore.id.replace(/-singapore$/, '-tokyo');
    const { switchoverGlobalCluster, ops } = auroraActivities();

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: tokyo }));

    expectFailure(err, FailureType.NotFound, new RegExp(`^DB cluster ${tokyo} is not a member of global cluster ${w.id} \\(members: ${w.mumbai.id}, ${w.singapore.id}\\)$`));
    expect(ops()).toEqual(['describeGlobalClusters']);
    expect(await writerOf(sharedRds, w.id)).toEqual([w.mumbai.arn]);
  });

  it('does not match a target by a mere suffix of another cluster identifier', async () => {
    const w = await seedGlobal(sharedRds);
    const { switchoverGlobalCluster, ops } = auroraActivities();

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: 'singapore' }));

    expectFailure(err, FailureType.NotFound, new RegExp(`^DB cluster singapore is not a member of global cluster ${w.id} `));
    expect(ops()).toEqual(['describeGlobalClusters']);
  });

  it('given IAM denies SwitchoverGlobalCluster, fails with a non-retryable PermissionDenied naming the call', async () => {
    const m = await auth();
    const seeder = await principal(['*']);
    const seederRds = (region: string) => new RDS({ region, endpoint: m.endpoint, credentials: seeder.credentials });
    const w = await seedGlobal(seederRds);
    const operator = await principal(['rds:DescribeGlobalClusters']);
    const { switchoverGlobalCluster, ops } = auroraActivities(createAwsClients({ endpoint: m.endpoint, credentials: operator.credentials, maxAttempts: 1 }));

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: w.singapore.id }));

    expectCallFailure(err, FailureType.PermissionDenied, `rds:SwitchoverGlobalCluster(${w.id} -> ${w.singapore.id})`, 'AccessDenied');
    expect(ops()).toEqual(['describeGlobalClusters', 'switchoverGlobalCluster']);
    expect(await writerOf(seederRds, w.id)).toEqual([w.mumbai.arn]);
  });
});

describe('failoverGlobalCluster (unplanned)', () => {
  it('given the target is already the writer, makes no call', async () => {
    const w = await seedGlobal(sharedRds, 'singapore');
    const { failoverGlobalCluster, calls } = auroraActivities();

    const result = await run(failoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: w.singapore.arn });

    expect(result).toEqual({ alreadyWriter: true, alreadyInProgress: false, before: stateOf(w, 'singapore') });
    // The primary region may be gone: nothing is asked of it.
    expect(calls).toEqual([{ region: SINGAPORE, op: 'describeGlobalClusters' }]);
  });

  it('given IAM denies FailoverGlobalCluster, fails with a non-retryable PermissionDenied', async () => {
    const m = await auth();
    const seeder = await principal(['*']);
    const seederRds = (region: string) => new RDS({ region, endpoint: m.endpoint, credentials: seeder.credentials });
    const w = await seedGlobal(seederRds);
    const operator = await principal(['rds:DescribeGlobalClusters']);
    const { failoverGlobalCluster, calls } = auroraActivities(createAwsClients({ endpoint: m.endpoint, credentials: operator.credentials, maxAttempts: 1 }));

    const err = await rejection(run(failoverGlobalCluster, { region: SINGAPORE, globalClusterId: w.id, targetCluster: w.singapore.id }));

    expectCallFailure(err, FailureType.PermissionDenied, `rds:FailoverGlobalCluster(${w.id} -> ${w.singapore.id})`, 'AccessDenied');
    expect(calls).toEqual([
      { region: SINGAPORE, op: 'describeGlobalClusters' },
      { region: SINGAPORE, op: 'failoverGlobalCluster' },
    ]);
    expect(await writerOf(seederRds, w.id)).toEqual([w.mumbai.arn]);
  });
});

describe('waitGlobalWriter', () => {
  it('given a transition that is instant (the target already writes), returns after one describe', async () => {
    const w = await seedGlobal(sharedRds, 'singapore');
    const { waitGlobalWriter, ops } = auroraActivities();

    const state = await run(waitGlobalWriter, { region: SINGAPORE, globalClusterId: w.id, targetCluster: w.singapore.arn });

    expect(state).toEqual(stateOf(w, 'singapore'));
    expect(ops()).toEqual(['describeGlobalClusters']);
    expect(mock.heartbeats).toEqual([{ waitingFor: `${w.singapore.arn} to be the writer of ${w.id}`, progress: `available, writer ${w.singapore.id}` }]);
  });

  it('given a target that is not a member, fails at once with NotFound instead of waiting', async () => {
    const w = await seedGlobal(sharedRds);
    const tokyo = w.singapore.id.replace(/-singapore$/, '-tokyo');
    const { waitGlobalWriter, ops } = auroraActivities();

    const err = await rejection(run(waitGlobalWriter, { region: SINGAPORE, globalClusterId: w.id, targetCluster: tokyo, timeoutMs: 60_000 }));

    expectFailure(err, FailureType.NotFound, new RegExp(`^DB cluster ${tokyo} is not a member of global cluster ${w.id} `));
    expect(ops()).toEqual(['describeGlobalClusters']);
    expect(mock.heartbeats).toEqual([]);
  });
});
