import {
  GlobalClusterNotFoundFault,
  InvalidGlobalClusterStateFault,
  RDSServiceException,
  type DescribeGlobalClustersCommandInput,
  type FailoverGlobalClusterCommandInput,
  type FailoverState,
  type FailoverStatus,
  type GlobalCluster,
  type SwitchoverGlobalClusterCommandInput,
} from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import { createAuroraActivities } from '../activities/aurora';
import type { AuroraApi } from '../aws/clients';
import { FailureType } from '../contracts/failures';
import { expectCallFailure, expectFailure, rejection, useMockActivityEnvironment } from './harness/activity';

// Only what moto cannot produce runs here, over a typed fake that walks through the role changes RDS reports:
// the pinned moto (5.2.5) implements neither SwitchoverGlobalCluster nor FailoverGlobalCluster (it answers
// 500), so it never shows a switchover or failover requested, under way (FailoverState) or refused with
// InvalidGlobalClusterStateFault; it never answers GlobalClusterNotFoundFault (it ignores the identifier
// filter) and never throttles. Every state moto does produce (members and writer, a target already writer or
// not a member, IAM denials) is tested against it in test/aurora.integration.test.ts.

const MUMBAI = 'ap-south-1';
const SINGAPORE = 'ap-southeast-1';
const GLOBAL = 'shop-global';
const arn = (region: string, id: string) => `arn:aws:rds:${region}:123456789012:cluster:${id}`;
// RDS reports this FailoverState status during a switchover; the SDK's FailoverStatus type predates it.
const SWITCHING_OVER = 'switching-over' as FailoverStatus;
const PRIMARY = arn(MUMBAI, 'shop-mumbai');
const SECONDARY = arn(SINGAPORE, 'shop-singapore');

const mock = useMockActivityEnvironment();
const run = mock.run;

/** An AWS error as the SDK builds it from the wire: its class name, and the query protocol's code in Code. */
function awsError(name: string, message: string, httpStatusCode: number): RDSServiceException {
  return Object.assign(new RDSServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode, requestId: 'req-err-1' }, message }), { Code: name });
}

/** "The global cluster is in an invalid state and can't perform the requested operation", HTTP 400 (RDS API Reference). */
const invalidState = () =>
  Object.assign(new InvalidGlobalClusterStateFault({ $metadata: { httpStatusCode: 400, requestId: 'req-400' }, message: `Global cluster ${GLOBAL} is in an invalid state.` }), {
    Code: 'InvalidGlobalClusterStateFault',
  });

interface FakeGlobalOptions {
  writer?: string;
  status?: string;
  failoverState?: FailoverState;
  /** Describes after a switchover/failover call before the target reports IsWriter (old writer demoted). */
  flipAfter?: number;
  /** Further describes after the flip before the global cluster is 'available' again. */
  availableAfter?: number;
  /** The move never completes. */
  neverSettles?: boolean;
  switchoverError?: Error;
  /** Applied when the call fails, to show what a concurrent actor started meanwhile. */
  onError?: (g: FakeGlobal) => void;
  missing?: boolean;
}

interface FakeGlobal {
  writer: string;
  status: string;
  failoverState?: FailoverState;
}

/**
 * One global cluster, Mumbai primary and Singapore secondary, with RDS's writer-move phases. Kept as a fake:
 * moto 5.2.5 answers SwitchoverGlobalCluster and FailoverGlobalCluster with 500 (not implemented).
 */
function fakeAurora(opts: FakeGlobalOptions = {}) {
  const g: FakeGlobal = { writer: opts.writer ?? PRIMARY, status: opts.status ?? 'available', failoverState: opts.failoverState };
  const switchovers: SwitchoverGlobalClusterCommandInput[] = [];
  const failovers: FailoverGlobalClusterCommandInput[] = [];
  const describeCalls: string[] = [];
  let pending: { to: string; flipIn: number; availableIn: number } | undefined;

  const begin = (to: string, dataLoss: boolean) => {
    g.status = dataLoss ? 'failing-over' : 'switching-over';
    g.failoverState = { Status: dataLoss ? 'failing-over' : 'pending', FromDbClusterArn: g.writer, ToDbClusterArn: to, IsDataLossAllowed: dataLoss };
    pending = { to, flipIn: opts.flipAfter ?? 1, availableIn: opts.availableAfter ?? 0 };
  };
  const advance = () => {
    if (!pending || opts.neverSettles) return;
    if (pending.flipIn > 0) {
      pending.flipIn -= 1;
      if (pending.flipIn === 0) g.writer = pending.to;
      return;
    }
    if (pending.availableIn > 0) pending.availableIn -= 1;
    if (pending.availableIn === 0) {
      g.status = 'available';
      g.failoverState = undefined;
      pending = undefined;
    }
  };
  const snapshot = (): GlobalCluster => ({
    GlobalClusterIdentifier: GLOBAL,
    GlobalClusterArn: `arn:aws:rds::123456789012:global-cluster:${GLOBAL}`,
    Status: g.status,
    Engine: 'aurora-postgresql',
    GlobalClusterMembers: [PRIMARY, SECONDARY].map((m) => ({ DBClusterArn: m, IsWriter: m === g.writer, Readers: [PRIMARY, SECONDARY].filter((r) => r !== m) })),
    FailoverState: g.failoverState,
  });
  const fail = (err: Error) => {
    opts.onError?.(g);
    throw err;
  };

  const api = {
    describeGlobalClusters: async (input: DescribeGlobalClustersCommandInput = {}) => {
      describeCalls.push(input.GlobalClusterIdentifier ?? '');
      if (opts.missing || input.GlobalClusterIdentifier !== GLOBAL) {
        throw Object.assign(new GlobalClusterNotFoundFault({ $metadata: { httpStatusCode: 404, requestId: 'req-404' }, message: `Global cluster ${input.GlobalClusterIdentifier} not found.` }), {
          Code: 'GlobalClusterNotFoundFault',
        });
      }
      advance();
      return { GlobalClusters: [snapshot()], $metadata: { requestId: `req-describe-${describeCalls.length}` } };
    },
    switchoverGlobalCluster: async (input: SwitchoverGlobalClusterCommandInput) => {
      switchovers.push(input);
      if (opts.switchoverError) fail(opts.switchoverError);
      begin(input.TargetDbClusterIdentifier ?? '', false);
      return { GlobalCluster: snapshot(), $metadata: { requestId: 'req-switchover-1' } };
    },
    failoverGlobalCluster: async (input: FailoverGlobalClusterCommandInput) => {
      failovers.push(input);
      begin(input.TargetDbClusterIdentifier ?? '', input.AllowDataLoss === true);
      return { GlobalCluster: snapshot(), $metadata: { requestId: 'req-failover-1' } };
    },
  } satisfies AuroraApi;

  return { api, switchovers, failovers, state: g, describes: () => describeCalls.length };
}

/** Activities whose calls all go to the fake, recording the region each call was made in. */
function activitiesOver(fake: ReturnType<typeof fakeAurora>) {
  const regions: string[] = [];
  const activities = createAuroraActivities((region) => {
    regions.push(region);
    return fake.api;
  });
  return { ...activities, regions };
}

describe('describeGlobalCluster', () => {
  // "The GlobalClusterIdentifier doesn't refer to an existing global database cluster", HTTP 404 (RDS API Reference).
  it('given DescribeGlobalClusters answering GlobalClusterNotFoundFault (RDS, for an unknown identifier), fails with a non-retryable NotFound naming the call', async () => {
    const { describeGlobalCluster } = activitiesOver(fakeAurora({ missing: true }));

    const err = await rejection(run(describeGlobalCluster, { region: SINGAPORE, globalClusterId: 'no-such-global' }));

    expectCallFailure(err, FailureType.NotFound, 'rds:DescribeGlobalClusters(no-such-global)', 'GlobalClusterNotFoundFault');
  });
});

describe('switchoverGlobalCluster (planned)', () => {
  it('switches over to the secondary named by cluster identifier: one SwitchoverGlobalCluster with its ARN, no FailoverGlobalCluster', async () => {
    const fake = fakeAurora();
    const { switchoverGlobalCluster, regions } = activitiesOver(fake);

    const result = await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });

    expect(fake.switchovers).toEqual([{ GlobalClusterIdentifier: GLOBAL, TargetDbClusterIdentifier: SECONDARY }]);
    expect(fake.failovers).toEqual([]);
    expect(result).toMatchObject({ alreadyWriter: false, alreadyInProgress: false, requestId: 'req-switchover-1' });
    expect(result.before.writerArn).toBe(PRIMARY);
    expect(new Set(regions)).toEqual(new Set([SINGAPORE]));
  });

  it('accepts the target as a full cluster ARN', async () => {
    const fake = fakeAurora();
    const { switchoverGlobalCluster } = activitiesOver(fake);

    await run(switchoverGlobalCluster, { region: MUMBAI, globalClusterId: GLOBAL, targetCluster: SECONDARY });

    expect(fake.switchovers.map((s) => s.TargetDbClusterIdentifier)).toEqual([SECONDARY]);
  });

  it('given a retry while the first attempt\'s switchover is still under way, does not request a second one', async () => {
    const fake = fakeAurora({ flipAfter: 5 });
    const { switchoverGlobalCluster } = activitiesOver(fake);

    await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });
    const retry = await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });

    expect(retry).toMatchObject({ alreadyWriter: false, alreadyInProgress: true });
    expect(retry.before.transition).toMatchObject({ toArn: SECONDARY });
    expect(fake.switchovers).toHaveLength(1);
  });

  it('given InvalidGlobalClusterStateFault because a switchover toward the target just started, treats it as under way', async () => {
    const fake = fakeAurora({
      switchoverError: invalidState(),
      onError: (g) => {
        g.status = 'switching-over';
        g.failoverState = { Status: SWITCHING_OVER, FromDbClusterArn: PRIMARY, ToDbClusterArn: SECONDARY, IsDataLossAllowed: false };
      },
    });
    const { switchoverGlobalCluster } = activitiesOver(fake);

    const result = await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });

    expect(result).toMatchObject({ alreadyWriter: false, alreadyInProgress: true });
    expect(fake.switchovers).toHaveLength(1);
  });

  it('given InvalidGlobalClusterStateFault while the cluster is busy with something else, fails with a non-retryable InvalidState', async () => {
    const fake = fakeAurora({
      switchoverError: invalidState(),
      onError: (g) => {
        g.status = 'modifying';
      },
    });
    const { switchoverGlobalCluster } = activitiesOver(fake);

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' }));

    expectFailure(err, FailureType.InvalidState, /^rds:SwitchoverGlobalCluster\(shop-global -> shop-singapore\) failed: InvalidGlobalClusterStateFault: .+ \(request req-400\); global cluster now modifying, writer shop-mumbai$/);
  });

  it('given a failover toward another cluster already under way, does not take it for the requested switchover', async () => {
    const third = arn('eu-west-1', 'shop-ireland');
    const fake = fakeAurora({
      status: 'failing-over',
      failoverState: { Status: 'failing-over', FromDbClusterArn: PRIMARY, ToDbClusterArn: third, IsDataLossAllowed: true },
      switchoverError: invalidState(),
    });
    const { switchoverGlobalCluster } = activitiesOver(fake);

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' }));

    expectFailure(
      err,
      FailureType.InvalidState,
      /^rds:SwitchoverGlobalCluster\(shop-global -> shop-singapore\) failed: InvalidGlobalClusterStateFault: .+ \(request req-400\); global cluster now failing-over, writer shop-mumbai, failing-over toward shop-ireland$/,
    );
  });

  it('given throttling, leaves the error for Temporal to retry', async () => {
    const fake = fakeAurora({ switchoverError: awsError('Throttling', 'Rate exceeded', 400) });
    const { switchoverGlobalCluster } = activitiesOver(fake);

    const err = await rejection(run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' }));

    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).name).toBe('Throttling');
  });
});

describe('failoverGlobalCluster (unplanned)', () => {
  it('fails over to the secondary with AllowDataLoss, calling FailoverGlobalCluster once and never SwitchoverGlobalCluster', async () => {
    const fake = fakeAurora();
    const { failoverGlobalCluster, regions } = activitiesOver(fake);

    const result = await run(failoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });

    expect(fake.failovers).toEqual([{ GlobalClusterIdentifier: GLOBAL, TargetDbClusterIdentifier: SECONDARY, AllowDataLoss: true }]);
    expect(fake.switchovers).toEqual([]);
    expect(result).toMatchObject({ alreadyWriter: false, requestId: 'req-failover-1' });
    // The primary region may be gone: nothing is asked of it.
    expect(regions).not.toContain(MUMBAI);
  });
});

describe('waitGlobalWriter', () => {
  it('polls while member roles are in transition, heartbeating, until the target is the only writer and the cluster is available', async () => {
    const fake = fakeAurora({ flipAfter: 2, availableAfter: 1 });
    const { switchoverGlobalCluster, waitGlobalWriter } = activitiesOver(fake);
    await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });
    const describesBefore = fake.describes();

    const state = await run(waitGlobalWriter, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore', timeoutMs: 60_000 });

    expect(state.status).toBe('available');
    expect(state.writerArn).toBe(SECONDARY);
    expect(state.members.find((m) => m.clusterArn === PRIMARY)?.isWriter).toBe(false);
    expect(fake.describes() - describesBefore).toBe(3);
    expect(mock.heartbeats.map((h) => h.progress)).toEqual([
      'switching-over, writer shop-mumbai, pending toward shop-singapore',
      'switching-over, writer shop-singapore, pending toward shop-singapore',
      'available, writer shop-singapore',
    ]);
    expect(mock.heartbeats[0].waitingFor).toBe('shop-singapore to be the writer of shop-global');
  });

  it('given a switchover that never converges, fails with a non-retryable WaitTimedOut naming the last state', async () => {
    const fake = fakeAurora({ neverSettles: true });
    const { switchoverGlobalCluster, waitGlobalWriter } = activitiesOver(fake);
    await run(switchoverGlobalCluster, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore' });

    const err = await rejection(run(waitGlobalWriter, { region: SINGAPORE, globalClusterId: GLOBAL, targetCluster: 'shop-singapore', timeoutMs: 1000 }));

    expectFailure(err, FailureType.WaitTimedOut, /^timed out after 1000 ms waiting for shop-singapore to be the writer of shop-global \(last: switching-over, writer shop-mumbai, pending toward shop-singapore\)$/);
    expect(mock.heartbeats.length).toBeGreaterThan(1);
  });
});
