/**
 * A workflow interceptor module (registered by the worker and every bundle) that names the failure type of a
 * run that ends in failure on the SDK's "Workflow failed" log entry. The entry's error crosses from the
 * workflow thread to the worker by postMessage, whose structured clone keeps an Error's message and stack
 * but drops ApplicationFailure's `type`; the attribute added here (`failureType`) survives, so the worker's
 * log function can write an expected refusal as one line (cli/worker-log.ts). No commands: replay-neutral.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let failureType: string | undefined;
  return {
    inbound: [
      {
        async execute(input, next) {
          try {
            return await next(input);
          } catch (e) {
            const type = (e as { type?: unknown } | null)?.type;
            if (typeof type === 'string') failureType = type;
            throw e;
          }
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          return next(failureType === undefined ? input : { ...input, failureType });
        },
      },
    ],
  };
};
