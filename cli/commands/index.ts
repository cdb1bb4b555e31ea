import type { Command } from 'commander';
import type { CliIO, SetExit } from '../io';
import { auditCommand } from './audit';
import { cleanupCommand } from './cleanup';
import { approveCommand, rejectCommand } from './decide';
import { demoCommand } from './demo';
import { devCommand } from './dev';
import { drillCommand } from './drill';
import { failbackCommand } from './failback';
import { failoverCommand } from './failover';
import { initCommand } from './init';
import { promoteCommand } from './promote';
import { rebuildCommand } from './rebuild';
import { reportCommand } from './report';
import { runsCommand } from './runs';
import { schemaCommand } from './schema';
import { statusCommand } from './status';
import { validateCommand } from './validate';
import { workerCommand } from './worker';
import { bundleCommand } from './bundle';
import { prepareCommand } from './prepare';
import { iamPolicyCommand } from './iam-policy';


/** Every drover command, one per file. */
export function registerCommands(program: Command, io: CliIO, setExit: SetExit): void {
  const commands = [initCommand, validateCommand, schemaCommand, prepareCommand, failoverCommand, promoteCommand, failbackCommand, rebuildCommand, cleanupCommand, approveCommand, rejectCommand, drillCommand, reportCommand, auditCommand, statusCommand, runsCommand, workerCommand, bundleCommand, demoCommand, devCommand, iamPolicyCommand];
  for (const command of commands) program.addCommand(command(io, setExit));
}
