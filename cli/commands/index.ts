import type { Command } from 'commander';
import type { CliIO, ExitCode } from '../io';
import { auditCommand } from './audit';
import { approveCommand, rejectCommand } from './decide';
import { demoCommand } from './demo';
import { devCommand } from './dev';
import { drillCommand } from './drill';
import { failbackCommand } from './failback';
import { failoverCommand } from './failover';
import { promoteCommand } from './promote';
import { reportCommand } from './report';
import { statusCommand } from './status';
import { validateCommand } from './validate';
import { workerCommand } from './worker';

/** Sets the exit code of the command being run. */
export type SetExit = (code: ExitCode) => void;

/** Every drover command, one per file. */
export function registerCommands(program: Command, io: CliIO, setExit: SetExit): void {
  program.addCommand(validateCommand(io, setExit));
  program.addCommand(failoverCommand(io, setExit));
  program.addCommand(promoteCommand(io, setExit));
  program.addCommand(failbackCommand(io, setExit));
  program.addCommand(approveCommand(io, setExit));
  program.addCommand(rejectCommand(io, setExit));
  program.addCommand(drillCommand(io, setExit));
  program.addCommand(reportCommand(io, setExit));
  program.addCommand(auditCommand(io, setExit));
  program.addCommand(statusCommand(io, setExit));
  program.addCommand(workerCommand(io, setExit));
  program.addCommand(demoCommand(io, setExit));
  program.addCommand(devCommand(io, setExit));
}
