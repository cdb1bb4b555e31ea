import { Command } from 'commander';
import { createAwsClients } from '../../activities/aws/clients';
import { resolveEndpoints } from '../../infra/local/stack';
import { awsConfig } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { namespace, taskQueue } from '../temporal';
import { createWorker, quietRuntime } from '../worker';
import type { SetExit } from './index';

/** `drover worker`: run the workflows and activities until interrupted. */
export function workerCommand(io: CliIO, _setExit: SetExit): Command {
  return new Command('worker')
    .description('run a drover worker (workflows and AWS activities) until interrupted')
    .option('--iac-stack <variant>', 'cluster rebuilds apply the "aws" stack, or its "terraform-data" stand-ins (no AWS provider plugin needed); default $DROVER_IAC_STACK or aws')
    .action(async (opts: { iacStack?: string }) => {
      const variant = opts.iacStack ?? process.env.DROVER_IAC_STACK ?? 'aws';
      if (variant !== 'aws' && variant !== 'terraform-data') throw new CliError('invalid options', EXIT.USAGE, [`--iac-stack: expected "aws" or "terraform-data", got "${variant}"`]);
      const { temporalAddress } = resolveEndpoints();
      const config = awsConfig();
      quietRuntime();
      const { worker, close } = await createWorker({
        address: temporalAddress,
        taskQueue: taskQueue(),
        namespace: namespace(),
        deps: { aws: createAwsClients(config), iac: { variant, awsProviderVersion: process.env.DROVER_AWS_PROVIDER_VERSION } },
        workflowBundle: process.env.DROVER_WORKFLOW_BUNDLE ? { codePath: process.env.DROVER_WORKFLOW_BUNDLE } : undefined,
      });
      io.err(`drover worker on ${temporalAddress}, task queue ${taskQueue()}, AWS ${config.endpoint ?? 'default endpoints'}, rebuilds apply the ${variant} stack`);
      const stop = () => worker.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await worker.run();
      } finally {
        await close();
      }
    });
}
