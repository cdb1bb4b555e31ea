import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { iacWorkerOptions, workerSinks } from '../../cli/worker';
import { createAwsClients, type AwsConfig } from '../../aws/clients';
import { startLagFeeders, startRegionApps, type RegionApps } from '../../infra/local/apps';
import { FeederScope } from './feeders';
import { seedRunbook } from '../../infra/local/seed';
import type { MotoServer } from '../../infra/local/stack';
import type { FidelityRule } from '../../infra/faults/fidelity';
import type { Runbook } from '../../runbooks/schema';
import { resolveTofu } from '../../tools/tofu';
import { emulatorConfig, testRunbooks, workflowBundle, writeRunbook } from './fixtures';
import { startOwnMoto, testTemporalAddress } from './servers';

type Activities = ReturnType<typeof createActivities>;

export const PRIMARY = 'ap-south-1';
export const STANDBY = 'ap-southeast-1';

/** One test file's world: a private moto, region apps, Temporal connections, lag feeders. */
export class IntegrationEnv {
  moto!: MotoServer;
  apps!: RegionApps;
  client!: Client;
  private connection!: Connection;
  private native!: NativeConnection;
  private readonly feeders = new FeederScope();
  private seq = 0;
  /** ReplicaLag the feeders publish, per DB identifier (default 0: caught up). */
  readonly lag = new Map<string, number>();

  /**
   * `motoEnv`: environment for the private moto server (e.g. MOTO_IAM_LOAD_MANAGED_POLICIES). Constructed at a test
   * file's top level: a test's lag feeders stop when it ends (FeederScope).
   */
  constructor(
    private readonly motoEnv?: Record<string, string>,
    /** The fidelity rules in front of the private moto (default: AWS_FIDELITY_RULES). */
    private readonly fidelity?: readonly FidelityRule[],
  ) {}

  async start(): Promise<void> {
    this.moto = await startOwnMoto({ env: this.motoEnv, fidelity: this.fidelity });
    this.apps = await startRegionApps([PRIMARY, STANDBY]);
    this.connection = await Connection.connect({ address: testTemporalAddress() });
    this.native = await NativeConnection.connect({ address: testTemporalAddress() });
    this.client = new Client({ connection: this.connection });
    await workflowBundle();
  }

  async stop(): Promise<void> {
    this.feeders.stopAll();
    await this.connection?.close();
    await this.native?.close();
    await this.apps?.stop();
    await this.moto?.stop();
  }

  config(regionEndpoints: Record<string, string> = {}): AwsConfig {
    return emulatorConfig(this.moto.endpoint, regionEndpoints);
  }

  /** A seeded ApnaKart variant with its own names, and ReplicaLag published for both names of each database (one per region). */
  async seeded(prefix: string, set?: Array<[Array<string | number>, unknown]>): Promise<{ file: string; runbook: Runbook; taskQueue: string }> {
    const name = `${prefix}-${process.pid}-${++this.seq}`;
    const { file, runbook } = writeRunbook({ name, unique: true, set, probeBases: { [PRIMARY]: this.apps.apps[PRIMARY].baseUrl, [STANDBY]: this.apps.apps[STANDBY].baseUrl } });
    await seedRunbook(runbook, this.config());
    const feeders = startLagFeeders({ endpoint: this.moto.endpoint, rb: runbook, regions: [STANDBY, PRIMARY], lagSeconds: (id) => this.lag.get(id) ?? 0, everyMs: 300 });
    this.feeders.add(feeders);
    return { file, runbook, taskQueue: `tq-${name}` };
  }

  /**
   * Run `fn` with a worker (and its IaC lane) on `taskQueue`. `extra.wrap` may put the test in front of the real
   * activities (to hold one until the test lets it go); it must call through to them.
   */
  async withWorker<T>(taskQueue: string, fn: () => Promise<T>, config: AwsConfig = this.config(), extra: Pick<ActivityDeps, 'iac' | 'engines'> & { wrap?: (a: Activities) => Activities } = {}): Promise<T> {
    // Like cli/worker.ts, the harness injects the OpenTofu resolver (activities install no tools of their own).
    const deps: ActivityDeps = { aws: createAwsClients(config), temporal: () => this.client, runbooks: testRunbooks, iac: { binary: resolveTofu, ...extra.iac }, ...(extra.engines ? { engines: extra.engines } : {}) };
    const activities = (extra.wrap ?? ((a) => a))(createActivities(deps));
    const worker = await Worker.create({ sinks: workerSinks(), connection: this.native, taskQueue, workflowBundle: await workflowBundle(), activities });
    // The IaC lane (rebuilds' synthesis, OpenTofu and redeploy hooks), as `drover worker` serves it by default.
    const iac = await Worker.create(iacWorkerOptions(this.native, 'default', taskQueue, activities, { iacShutdownGrace: '5s' }));
    return worker.runUntil(() => iac.runUntil(fn));
  }
}
