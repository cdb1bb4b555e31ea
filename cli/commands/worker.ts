import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { AWS_REGION_NAME } from '../../activities/identity';
import { droverHome } from '../../config/home';
import { DirectoryRunbookSource } from '../../runbooks/source';
import { createAwsClients } from '../../aws/clients';
import { currentAwsTarget, currentTemporalConnection, describeAwsTarget } from '../../config/endpoints';
import { describeTemporal, isLoopbackAddress } from '../../config/temporal';
import { awsConfig } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { taskQueue, unavailable, usableTemporalConfig } from '../temporal';
import type { DroverWorker } from '../worker';
import { freeLoopbackPort, metricsText, parseHealthAddress, startHealthServer, type HealthServer } from '../health';
import { enableMetrics } from '../../telemetry/metrics';
import { describeTracesEndpoint, startTracing, tracingSettings } from '../../telemetry/tracing';
import { heldRunbooks, iacGraceMs, keptOnOneHost, productionProblems } from '../production';
import { iacTaskQueue } from '../../contracts/ids';
import { formatDuration } from '../../reports/format';
import { duration } from '../../runbooks/schema';

/** `drover worker`: run the workflows and activities until interrupted. */
export function workerCommand(io: CliIO, _setExit: SetExit): Command {
  return new Command('worker')
    .description('run a drover worker (workflows and AWS activities) until interrupted')
    .option('--iac-stack <variant>', 'cluster rebuilds apply the "aws" stack, or its "terraform-data" stand-ins (no AWS provider plugin needed); default $DROVER_IAC_STACK or aws')
    .option('--runbooks <dir>', 'the runbooks this worker runs, as <name>.yaml files (runs name one; the worker runs its own copy); default $DROVER_RUNBOOKS, else $DROVER_HOME/runbooks')
    .option('--queues <which>', 'serve the runs\' task queue ("core"), the IaC lane ("iac": OpenTofu and redeploy hooks), or both ("all"); default $DROVER_WORKER_QUEUES or all')
    .option('--production', 'refuse to start unless the prebuilt workflow bundle, S3 OpenTofu state and an S3 audit trail are configured (also DROVER_PRODUCTION=1)')
    .action(async (opts: { iacStack?: string; runbooks?: string; queues?: string; production?: boolean }) => {
      const variant = opts.iacStack ?? process.env.DROVER_IAC_STACK ?? 'aws';
      if (variant !== 'aws' && variant !== 'terraform-data') throw new CliError('invalid options', EXIT.USAGE, [`--iac-stack: expected "aws" or "terraform-data", got "${variant}"`]);
      // Where AWS calls go, decided (or refused) before anything else is checked.
      const target = currentAwsTarget();
      const config = awsConfig(target, false); // its start line below names both targets
      const runbooksDir = path.resolve(opts.runbooks ?? process.env.DROVER_RUNBOOKS ?? path.join(droverHome(), 'runbooks'));
      if (!fs.existsSync(runbooksDir) || !fs.statSync(runbooksDir).isDirectory()) {
        throw new CliError('invalid options', EXIT.USAGE, [`--runbooks: ${runbooksDir} is not a directory; the worker runs only the runbooks it holds there (<name>.yaml)`]);
      }
      const queues = opts.queues ?? process.env.DROVER_WORKER_QUEUES ?? 'all';
      if (queues !== 'all' && queues !== 'core' && queues !== 'iac') throw new CliError('invalid options', EXIT.USAGE, [`--queues: expected "all", "core" or "iac", got "${queues}"`]);
      const held = heldRunbooks(runbooksDir);
      const flag = (process.env.DROVER_PRODUCTION ?? '').trim().toLowerCase();
      if (!['', '0', 'false', 'no', '1', 'true', 'yes'].includes(flag)) throw new CliError('invalid options', EXIT.USAGE, [`DROVER_PRODUCTION: expected 1/true/yes or 0/false/no, got "${process.env.DROVER_PRODUCTION}"`]);
      const production = opts.production || ['1', 'true', 'yes'].includes(flag);
      if (production) {
        const problems = productionProblems(held, process.env, queues);
        if (problems.length > 0) throw new CliError('not a production worker', EXIT.USAGE, problems);
      }
      const grace = durationFromEnv('DROVER_SHUTDOWN_GRACE', 30_000);
      const iacGrace = durationFromEnv('DROVER_IAC_SHUTDOWN_GRACE', iacGraceMs(held));
      const healthAt = process.env.DROVER_HEALTH_ADDRESS ? parseHealthAddress(process.env.DROVER_HEALTH_ADDRESS) : undefined;
      if (healthAt && 'problem' in healthAt) throw new CliError('invalid options', EXIT.USAGE, [healthAt.problem]);
      const tracingAsked = tracingSettings();
      const stsRegions = (process.env.DROVER_STS_REGIONS ?? '').split(',').map((r) => r.trim()).filter(Boolean);
      const badRegion = stsRegions.find((r) => !AWS_REGION_NAME.test(r));
      if (badRegion) throw new CliError('invalid options', EXIT.USAGE, [`DROVER_STS_REGIONS: "${badRegion}" is not an AWS region name`]);
      const temporal = usableTemporalConfig(currentTemporalConnection);
      // A production worker answers whoever polls its task queue's tasks: never over plain text to another host,
      // unless the operator says the path is secured otherwise (a mesh sidecar that does the mTLS).
      if (production && !temporal.tls && !isLoopbackAddress(temporal.address) && process.env.DROVER_ALLOW_PLAINTEXT_TEMPORAL !== '1') {
        throw new CliError('not a production worker', EXIT.USAGE, [`the connection to Temporal at ${temporal.address} is plain text: configure TLS (TEMPORAL_TLS_*, or TEMPORAL_API_KEY), or set DROVER_ALLOW_PLAINTEXT_TEMPORAL=1 when a sidecar secures it (docs/production.md)`]);
      }
      // The Temporal worker (its native core) loads only once the options are known to be good.
      const { createWorker, quietRuntime, TemporalConnectFailure } = await import('../worker');
      // With a health address, /metrics too: drover's metrics, and the Temporal runtime's from its loopback exporter.
      let coreMetricsAt: string | undefined;
      for (let attempt = 1; ; attempt++) {
        coreMetricsAt = healthAt ? `127.0.0.1:${await freeLoopbackPort()}` : undefined;
        try {
          quietRuntime({ prometheus: coreMetricsAt });
          break;
        } catch (e) {
          // The port found free was taken before the runtime bound it: another, twice more.
          if (attempt < 3 && /address already in use/i.test((e as Error).message)) continue;
          throw new CliError('cannot start the worker', EXIT.FAILED, [`the Temporal runtime's metrics exporter on ${coreMetricsAt}: ${(e as Error).message}`]);
        }
      }
      const metrics = healthAt ? enableMetrics() : undefined;
      // Traces when OTEL_EXPORTER_OTLP_*ENDPOINT says where (telemetry/tracing.ts): started before the worker, whose
      // activity interceptors and workflow span sink read it.
      for (const w of tracingAsked.warnings) io.err(w);
      const tracing = tracingAsked.traced ? startTracing('drover-worker', (line) => io.err(line)) : undefined;
      let drover: DroverWorker;
      try {
        drover = await createWorker({
          address: temporal.address,
          connection: temporal,
          taskQueue: taskQueue(),
          namespace: temporal.namespace,
          deps: { aws: createAwsClients(config), iac: { variant, awsProviderVersion: process.env.DROVER_AWS_PROVIDER_VERSION }, runbooks: new DirectoryRunbookSource(runbooksDir), stsRegions },
          workflowBundle: process.env.DROVER_WORKFLOW_BUNDLE ? { codePath: process.env.DROVER_WORKFLOW_BUNDLE } : undefined,
          queues,
          shutdownGrace: grace,
          iacShutdownGrace: iacGrace,
        });
      } catch (e) {
        await tracing?.shutdown();
        if (e instanceof TemporalConnectFailure) throw await unavailable(e.cause, temporal);
        throw e;
      }
      io.err(`drover worker on ${describeTemporal(temporal)}, task queue ${taskQueue()}; ${describeAwsTarget(target)}; rebuilds apply the ${variant} stack, runbooks from ${runbooksDir}`);
      // What the pod's terminationGracePeriodSeconds must cover: the longest grace of the queues served, and a margin.
      const longest = queues === 'core' ? grace : Math.max(grace, iacGrace);
      io.err(`serving ${queues === 'all' ? `${taskQueue()} and its IaC lane ${iacTaskQueue(taskQueue())}` : queues === 'core' ? taskQueue() : `the IaC lane ${iacTaskQueue(taskQueue())}`}; on SIGTERM running activities get ${formatDuration(grace)}${queues === 'core' ? '' : ` (OpenTofu and redeploy hooks ${formatDuration(iacGrace)})`} to finish: give the pod terminationGracePeriodSeconds of at least ${Math.ceil(longest / 1000) + 30}`);
      // Fine for one worker on one host; said at every start so that no one adds a second worker unwarned.
      if (!production) for (const kept of held.flatMap(keptOnOneHost)) io.err(`warning: ${kept} (refused with --production; one worker on one host only)`);
      const insecure = plainTextWarning(temporal.address, Boolean(temporal.tls));
      if (insecure) io.err(insecure);
      if (tracing) io.err(`traces: OTLP/HTTP to ${describeTracesEndpoint()} as ${String(tracing.resource.attributes['service.name'])}`);
      // Probes (/livez, /readyz) answer from the workers' own states: ready only while every one polls.
      let health: HealthServer | undefined;
      if (healthAt) {
        try {
          health = await startHealthServer(
            { states: () => drover.workers.map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() })), metrics: metrics && (() => metricsText(metrics.registry, coreMetricsAt)) },
            healthAt,
          );
        } catch (e) {
          await drover.close();
          await tracing?.shutdown();
          throw new CliError('invalid options', EXIT.USAGE, [`DROVER_HEALTH_ADDRESS: cannot listen on ${process.env.DROVER_HEALTH_ADDRESS}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
        }
        io.err(`health: http://${health.address}/healthz and /readyz; Prometheus metrics: http://${health.address}/metrics`);
      }
      const stop = () => drover.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await drover.run();
      } finally {
        await health?.close();
        await drover.close();
        // What the last activities and workflow tasks traced is exported before the process ends (5 s at most).
        await tracing?.shutdown(5_000);
      }
    });
}

/** A duration from the environment, read as runbooks read theirs (`90s`, `61m`: a unit required), else `fallback` ms. */
function durationFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = duration.safeParse(raw);
  if (!parsed.success) throw new CliError('invalid options', EXIT.USAGE, [`${name}: ${parsed.error.issues[0]?.message ?? 'expected a duration such as 90s or 61m'}`]);
  return parsed.data;
}

/**
 * Whether to warn that the worker's Temporal connection is not TLS: whoever can reach that server and poll
 * drover's task queue can run activities in the worker's place, identity checks included (docs/security.md).
 * The embedded dev server on loopback is exempt.
 */
export function plainTextWarning(address: string, tls = false): string | undefined {
  if (tls || isLoopbackAddress(address)) return undefined;
  return `warning: the connection to Temporal at ${address} is not TLS: anything that reaches it and may poll task queue ${taskQueue()} can answer drover's activities, identity checks included; use a namespace with mTLS and authorization that admits only drover's workers (docs/security.md)`;
}
