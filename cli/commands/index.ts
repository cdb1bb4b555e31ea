import type { Command } from 'commander';
import type { CliIO, SetExit } from '../io';

/** What builds a command: the function each command file exports. */
export type CommandFactory = (io: CliIO, setExit: SetExit) => Command;

/**
 * A drover command as `drover --help` lists it, and where its code is. A command's module (and the AWS SDK,
 * Temporal client or worker, CDKTF it imports) is loaded only when that command runs or shows its own help,
 * so `drover --version`, `--help` and `validate` start in a fraction of the time (BENCHMARKS.md, bench/cli.ts).
 * test/cli-lazy.unit.test.ts holds each row to its command: the same name, help term and description.
 */
export interface CommandEntry {
  name: string;
  /** Its term in the root help, as commander writes it: `validate [options] <file>`. */
  term: string;
  description: string;
  load(): Promise<CommandFactory>;
  /**
   * False when the command reaches neither AWS nor Temporal through cli/context.ts, so it does not load that
   * module (the Temporal client, the AWS SDK) just to say where its calls go. The test checks its imports.
   */
  announces: boolean;
}

/** Every drover command, one per file, in the order the help lists them. */
export const COMMANDS: CommandEntry[] = [
  {
    name: 'init',
    term: 'init [options]',
    description: 'write a starting runbook discovered from an AWS account for a region pair (reads only; every guess is marked "# GUESSED:")',
    load: () => import('./init').then((m) => m.initCommand),
    announces: true,
  },
  {
    name: 'validate',
    term: 'validate [options] <file>',
    description: 'validate a runbook file and report every problem at once',
    load: () => import('./validate').then((m) => m.validateCommand),
    announces: false,
  },
  {
    name: 'schema',
    term: 'schema [options]',
    description: "print the runbook's JSON Schema (draft-07) for editors' autocompletion; drover validate remains the full check",
    load: () => import('./schema').then((m) => m.schemaCommand),
    announces: false,
  },
  {
    name: 'prepare',
    term: 'prepare [options] <file>',
    description: "build the runbook's data-plane controls (alarms, Route 53 health checks, writer failover pairs) so an unplanned failover needs no Route 53 API; shows the changes, makes them with --apply",
    load: () => import('./prepare').then((m) => m.prepareCommand),
    announces: true,
  },
  {
    name: 'iam-policy',
    term: 'iam-policy [options] <file>',
    description: "print the IAM policy (JSON) drover's worker or an approver needs for this runbook, scoped to its resources",
    load: () => import('./iam-policy').then((m) => m.iamPolicyCommand),
    announces: true,
  },
  {
    name: 'failover',
    term: 'failover [options] <runbook>',
    description: 'fail an application over to its standby region, then follow the run live',
    load: () => import('./failover').then((m) => m.failoverCommand),
    announces: true,
  },
  {
    name: 'promote',
    term: 'promote [options] <runbook>',
    description: 'promote the database in a region to writer (planned: fenced, RPO 0; unplanned: RPO = last lag), then follow it live',
    load: () => import('./promote').then((m) => m.promoteCommand),
    announces: true,
  },
  {
    name: 'failback',
    term: 'failback [options] <runbook>',
    description: 'return a failed-over application to its original region (needs a completed failover), then follow it live',
    load: () => import('./failback').then((m) => m.failbackCommand),
    announces: true,
  },
  {
    name: 'rebuild',
    term: 'rebuild [options] <runbook>',
    description: "recreate a region's EKS cluster from code (CDK for Terraform + OpenTofu): plan, approve the plan, apply, redeploy, verify; follow it live",
    load: () => import('./rebuild').then((m) => m.rebuildCommand),
    announces: true,
  },
  {
    name: 'cleanup',
    term: 'cleanup [options] <runbook>',
    description: "list the RDS instances the runbook's failbacks and drills kept (renamed <id>-old-…); with --delete, delete those old enough, each after a final snapshot, in an audited run",
    load: () => import('./cleanup').then((m) => m.cleanupCommand),
    announces: true,
  },
  {
    name: 'approve',
    term: 'approve [options] <run>',
    description: 'approve the pending gate of a run (your identity: a signed STS GetCallerIdentity, or --as ID where the runbook trusts client identities)',
    load: () => import('./decide').then((m) => m.approveCommand),
    announces: true,
  },
  {
    name: 'reject',
    term: 'reject [options] <run>',
    description: 'reject the pending gate of a run; the run ends and nothing after the gate changes',
    load: () => import('./decide').then((m) => m.rejectCommand),
    announces: true,
  },
  {
    name: 'check',
    term: 'check [options] <runbook>',
    description: "evaluate the runbook's readiness now on the workers: a verdict per check (ready, degraded, not ready) with the reason and the fix; exit 0 ready, 7 degraded, 1 not ready",
    load: () => import('./check').then((m) => m.checkCommand),
    announces: true,
  },
  {
    name: 'readiness',
    term: 'readiness [options] [runbook]',
    description: "the runbook's readiness over time: its latest evaluations and when each check last changed; schedule evaluations (Temporal Schedule) that publish each change of verdict",
    load: () => import('./readiness').then((m) => m.readinessCommand),
    announces: true,
  },
  {
    name: 'drill',
    term: 'drill',
    description: 'DR drills: a failover in drill mode, verification, automatic failback and a report',
    load: () => import('./drill').then((m) => m.drillCommand),
    announces: true,
  },
  {
    name: 'report',
    term: 'report [options] <run>',
    description: 'the report of a drill, failover, failback or promotion: RTO, RPO, steps, critical path, gates, pass or fail',
    load: () => import('./report').then((m) => m.reportCommand),
    announces: true,
  },
  {
    name: 'audit',
    term: 'audit',
    description: "a run's tamper-evident audit trail: show, export, verify",
    load: () => import('./audit').then((m) => m.auditCommand),
    announces: true,
  },
  {
    name: 'status',
    term: 'status [options] <run>',
    description: 'show a run: its steps with durations, the current step and any pending gate',
    load: () => import('./status').then((m) => m.statusCommand),
    announces: true,
  },
  {
    name: 'runs',
    term: 'runs',
    description: "drover's runs (failovers, failbacks, promotions, rebuilds, drills), from Temporal visibility",
    load: () => import('./runs').then((m) => m.runsCommand),
    announces: true,
  },
  {
    name: 'worker',
    term: 'worker [options]',
    description: 'run a drover worker (workflows and AWS activities) until interrupted',
    load: () => import('./worker').then((m) => m.workerCommand),
    announces: true,
  },
  {
    name: 'bundle',
    term: 'bundle [options]',
    description: 'build the workflow bundle production workers load (DROVER_WORKFLOW_BUNDLE), after replaying every recorded workflow history against it',
    load: () => import('./bundle').then((m) => m.bundleCommand),
    announces: false,
  },
  {
    name: 'demo',
    term: 'demo',
    description: 'seed an emulator from a runbook, or run the whole ApnaKart failover demo',
    load: () => import('./demo').then((m) => m.demoCommand),
    announces: true,
  },
  {
    name: 'dev',
    term: 'dev',
    description: 'run a local Temporal dev server (with Web UI) and a moto AWS emulator for demos and development',
    load: () => import('./dev').then((m) => m.devCommand),
    announces: false,
  },
];
