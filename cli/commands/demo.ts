import fs from 'node:fs';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Command } from 'commander';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { createAwsClients } from '../../aws/clients';
import { readDevState } from '../../config/dev-state';
import { emulatorTarget } from '../../config/endpoints';
import { droverHome } from '../../config/home';
import { buildReport } from '../../reports/report';
import { databasesOf, dbIn } from '../../runbooks/databases';
import type { Runbook } from '../../runbooks/schema';
import { MemoryRunbookSource } from '../../runbooks/source';
import { renderHtml } from '../../reports/render';
import { approveUpdate } from '../../contracts/messages';
import { rtoVerdict } from '../../contracts/run';
import type { FailoverInput } from '../../workflows/regionFailover';
import { awsConfig, loadRunbookOrThrow, withClient } from '../context';
import { runReportInput } from '../drills';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions } from '../options';
import { exitCodeFor, watchRun } from '../runs';
import { failoverWorkflowId } from '../temporal';
import { WORKFLOW_TYPES } from '../../contracts/ids';
import type { WorkflowOf } from '../workflows';
import { startAttributes } from '../visibility';
import { createWorker, quietRuntime } from '../worker';

/**
 * The embedded stack's code (infra/local/, cli/dev-stack.ts), loaded only when a demo command runs (not for its help):
 * a production worker must not load the embedded stack (test/production-imports.unit.test.ts).
 */
async function embeddedStack() {
  const [apps, seed, stack, dev, proxy, fidelity] = await Promise.all([
    import('../../infra/local/apps'),
    import('../../infra/local/seed'),
    import('../../infra/local/stack'),
    import('../dev-stack'),
    import('../../infra/faults/proxy'),
    import('../../infra/faults/fidelity'),
  ]);
  /** A proxy in front of the emulator that answers as AWS does where the emulator would not (infra/faults/fidelity.ts). */
  const fidelityProxy = (target: string) => proxy.startFaultProxy({ target, fidelity: fidelity.AWS_FIDELITY_RULES });
  return { ...apps, ...seed, resetMoto: stack.resetMoto, devUp: dev.devUp, fidelityProxy };
}

const DEFAULT_RUNBOOK = path.join(__dirname, '../../runbooks/apnakart.yaml');

/** Refuse to seed anything but an emulator: the demo must never create resources in a real account. */
function emulatorEndpoint(): string {
  const endpoint = emulatorTarget().kind === 'invalid' ? undefined : awsConfig(emulatorTarget()).endpoint;
  if (!endpoint) {
    throw new CliError('no AWS emulator endpoint configured; the demo only seeds emulators', EXIT.USAGE, ['run `drover dev up`, or set AWS_ENDPOINT_URL to a moto or LocalStack endpoint']);
  }
  return endpoint;
}

/**
 * `demo seed --serve`: what a user's own runbook needs to run on the emulator. Stand-in apps answer its
 * probes (one per region), a feeder publishes each database's ReplicaLag (0, caught up) in both regions as
 * RDS would, and a copy of the runbook whose probe URLs point at the stand-ins (path and query kept) is
 * written to the workers' runbook directory, so a run names it and `drover worker` holds the same file; the
 * fidelity rules in front of the emulator are served for the worker too. Serves until SIGINT or SIGTERM, then
 * stops all three.
 */
async function serveStandIns(file: string, rb: Runbook, endpoint: string, io: CliIO): Promise<void> {
  const { startRegionApps, startLagFeeders, fidelityProxy } = await embeddedStack();
  // The worker reaches the emulator through the fidelity rules, which answer as AWS does where moto would not (a
  // promoted replica keeps its source in moto, and a worker would wait on it): served here, as the stand-ins are.
  const fidelity = await fidelityProxy(endpoint);
  const apps = await startRegionApps([rb.regions.primary, rb.regions.standby]).catch(async (e: unknown) => {
    await fidelity.stop();
    throw e;
  });
  const feeder = startLagFeeders({ endpoint, rb, regions: [rb.regions.primary, rb.regions.standby], lagSeconds: 0, everyMs: 1000 });
  try {
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    for (const [region, probes] of Object.entries(rb.health.probes)) {
      probes.forEach((p, i) => {
        const app = apps.apps[region];
        if (!app) return;
        const u = new URL(p.url);
        doc.setIn(['health', 'probes', region, i, 'url'], `${app.baseUrl}${u.pathname}${u.search}`);
      });
    }
    const dir = path.resolve(process.env.DROVER_RUNBOOKS ?? path.join(droverHome(), 'runbooks'));
    fs.mkdirSync(dir, { recursive: true });
    const copy = path.join(dir, `${rb.name}.yaml`);
    fs.writeFileSync(copy, doc.toString());
    for (const app of Object.values(apps.apps)) io.out(`stand-in app for ${app.region}'s probes: ${app.baseUrl}`);
    io.out(`ReplicaLag 0 published every 1s for: ${databasesOf(rb).flatMap((d) => [rb.regions.primary, rb.regions.standby].map((r) => dbIn(rb, d, r))).join(', ')}`);
    io.out(`runbook with its probes on the stand-ins: ${copy} (the workers' runbook directory)`);
    io.out(`the emulator as AWS answers (the fidelity rules): ${fidelity.endpoint}`);
    io.out(`next: AWS_ENDPOINT_URL=${fidelity.endpoint} drover worker (another terminal), then drover failover ${copy} --to ${rb.regions.standby} --reason "..."`);
    io.out('serving; Ctrl-C stops the stand-ins, the feeder and the fidelity rules');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.out('stopped');
  } finally {
    feeder.stop();
    await apps.stop();
    await fidelity.stop();
  }
}

const runOptions = z.object({
  runbook: z.string().default(DEFAULT_RUNBOOK),
  timeScale: z.coerce.number().positive().max(1).default(0.05),
});

/** `drover demo seed|run`: the embedded ApnaKart environment and an end-to-end failover. */
export function demoCommand(io: CliIO, setExit: SetExit): Command {
  const demo = new Command('demo').description('seed an emulator from a runbook, or run the whole ApnaKart failover demo');

  demo
    .command('seed')
    .description('create in the emulator everything a runbook references (idempotent)')
    .argument('<runbook>', 'runbook YAML file')
    .option('--json', 'print what was created as JSON')
    .option('--serve', "also start stand-in apps for the runbook's probes and a ReplicaLag feeder, write a copy of the runbook whose probes point at them into the workers' runbook directory, and serve until interrupted")
    .action(async (file: string, opts: { json?: boolean; serve?: boolean }) => {
      const rb = loadRunbookOrThrow(file);
      const endpoint = emulatorEndpoint();
      const { seedRunbook } = await embeddedStack();
      const actions = await seedRunbook(rb, awsConfig(emulatorTarget()));
      if (opts.json) io.out(JSON.stringify(actions, null, 2));
      else {
        for (const a of actions) if (a.action !== 'unchanged') io.out(`  ${a.action.padEnd(9)} ${a.resource}`);
        const count = (k: string) => actions.filter((a) => a.action === k).length;
        io.out(`seeded ${rb.name} into ${endpoint}: ${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`);
        if (!opts.serve) io.out(`the emulator cannot reach ${rb.name}'s probes and publishes no ReplicaLag: \`drover demo seed ${file} --serve\` starts stand-ins for both and a copy of the runbook that uses them`);
      }
      if (opts.serve) await serveStandIns(file, rb, endpoint, io);
      setExit(EXIT.OK);
    });

  demo
    .command('run')
    .description('start the embedded stack, seed ApnaKart, fail it over with an automatic approver, print the timeline and RTO')
    .option('--runbook <file>', 'runbook to demonstrate', DEFAULT_RUNBOOK)
    .option('--time-scale <factor>', 'compress soak times (0.05: a 2 min soak takes 6 s)', '0.05')
    .action(async (raw: unknown) => {
      const opts = parseOptions(runOptions, raw);
      const loaded = loadRunbookOrThrow(opts.runbook);
      const { devUp, resetMoto, startRegionApps, pointProbesAt, seedRunbook, startLagFeeders, fidelityProxy } = await embeddedStack();

      io.out('== 1. embedded stack (Temporal dev server + moto)');
      await devUp(io, { temporalPort: 7233, uiPort: 8233, motoPort: 5055 });
      const endpoint = emulatorEndpoint();
      const dev = readDevState();
      if (dev?.moto?.endpoint === endpoint) {
        // The dev emulator belongs to drover: start every demo from the seeded topology.
        await resetMoto(endpoint);
      }

      // The seed and the worker reach the emulator through AWS's fidelity rules, as the tests do.
      const fidelity = await fidelityProxy(endpoint);
      const aws = { ...awsConfig(emulatorTarget()), endpoint: fidelity.endpoint };
      let apps: Awaited<ReturnType<typeof startRegionApps>> | undefined;
      let feeder: { stop(): void } | undefined;
      try {
        io.out(`== 2. seed ${loaded.name} into ${endpoint} (through the fidelity rules at ${fidelity.endpoint})`);
        apps = await startRegionApps([loaded.regions.primary, loaded.regions.standby]);
        const rb = pointProbesAt(loaded, apps.apps);
        for (const app of Object.values(apps.apps)) io.out(`  local app for ${app.region} probes: ${app.baseUrl}`);
        const actions = await seedRunbook(rb, aws);
        io.out(`  ${actions.filter((a) => a.action === 'created').length} resources created (zone, records, RDS primary + cross-region replica, EKS clusters, alarms)`);

        // The emulator does not replicate: publish each replica's ReplicaLag (caught up) as RDS would.
        feeder = startLagFeeders({ endpoint, rb, lagSeconds: 0 });

        io.out('== 3. worker');
        const taskQueue = `drover-demo-${process.pid}`;
        quietRuntime();
        // The demo's worker holds the demo's runbook (its probes pointed at the local apps): runs name it, the worker runs its copy.
        const runbooks = new MemoryRunbookSource('demo');
        const runbookRef = runbooks.putRunbook(rb);
        // The demo runs on the stack it just started, never on a Temporal a profile names (the developer's default
        // profile may be production's): TEMPORAL_ADDRESS still wins, as for every command, plain text, namespace default.
        const temporal = { address: process.env.TEMPORAL_ADDRESS || readDevState()?.temporal?.address || '127.0.0.1:7233', namespace: 'default' };
        const { runUntil, close } = await createWorker({ address: temporal.address, namespace: temporal.namespace, taskQueue, deps: { aws: createAwsClients(aws), runbooks }, queues: 'core' });
        const approver = rb.approvals.approvers[0];
        const workflowId = failoverWorkflowId(rb.name);
        try {
          await runUntil(
            withClient(async (client) => {
              io.out(`== 4. failover ${rb.regions.primary} -> ${rb.regions.standby} (planned; soak x${opts.timeScale}; auto-approver ${approver ?? 'none needed'})`);
              const input: FailoverInput = {
                runbookRef,
                targetRegion: rb.regions.standby,
                mode: 'planned',
                reason: 'drover demo: regional failover of ApnaKart',
                requestedBy: 'drover-demo',
                options: { timeScale: opts.timeScale },
              };
              let runId: string;
              try {
                const attributes = await startAttributes(client, io, { runbook: rb.name, kind: 'failover', mode: input.mode, requestedBy: input.requestedBy });
                runId = (await client.workflow.start<WorkflowOf<'failover'>>(WORKFLOW_TYPES.failover, { taskQueue, workflowId, args: [input], ...attributes })).firstExecutionRunId;
              } catch (e) {
                if (e instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`a failover of ${rb.name} is already running (${workflowId})`, EXIT.REFUSED);
                throw e;
              }
              const final = await watchRun(client, workflowId, io, {
                tty: false,
                onPendingGate: async (s) => {
                  if (!approver || !s.pendingGate) return;
                  await client.workflow.getHandle(workflowId).executeUpdate(approveUpdate, { args: [{ gate: s.pendingGate.name, approver, comment: 'demo auto-approver' }] });
                  io.out(`  (demo auto-approver approved gate "${s.pendingGate.name}" as ${approver})`);
                },
              });
              io.out('== 5. result');
              if (final.rto) io.out(`RTO ${(final.rto.ms / 1000).toFixed(1)}s (objective ${final.rto.objectiveMs / 1000}s: ${rtoVerdict(final.rto.met, final.timeScale)})`);
              const reportFile = path.join(droverHome(), 'reports', `${workflowId}-${runId.slice(0, 8)}.html`);
              fs.mkdirSync(path.dirname(reportFile), { recursive: true });
              fs.writeFileSync(reportFile, renderHtml(buildReport(runReportInput(final)), []));
              io.out(`HTML report (timeline chart, steps, gates, audit excerpt): ${reportFile}`);
              io.out(`  the same from the CLI: bin/drover report ${workflowId} --format html --out report.html`);
              const ui = dev?.temporal?.uiUrl ?? 'http://127.0.0.1:8233';
              io.out(`Temporal Web UI: ${ui}/namespaces/default/workflows/${workflowId}/${runId}/history`);
              io.out('the stack keeps running for a look around; stop it with: bin/drover dev down');
              setExit(exitCodeFor(final));
            }, temporal),
          );
        } finally {
          await close();
        }
      } finally {
        // Whatever failed (the seed, the worker), nothing the demo started keeps the process alive.
        feeder?.stop();
        await apps?.stop();
        await fidelity.stop();
      }
    });

  return demo;
}
