import { processAlive } from '../processes/supervisor';
import { readDevState } from './dev-state';

/**
 * Where drover commands find their servers: `TEMPORAL_ADDRESS`, else the running `drover dev` stack,
 * else `127.0.0.1:7233`; `AWS_ENDPOINT_URL`, else the dev stack's moto, else the real AWS endpoints.
 */
export function resolveEndpoints(): { temporalAddress: string; awsEndpoint?: string } {
  const state = readDevState();
  // A state file left behind by a crash or reboot must not win over the default.
  const t = state?.temporal && processAlive(state.temporal.pid, state.temporal.bin) ? state.temporal : undefined;
  const m = state?.moto && processAlive(state.moto.pid, state.moto.bin) ? state.moto : undefined;
  const temporalAddress = process.env.TEMPORAL_ADDRESS || t?.address || '127.0.0.1:7233';
  const awsEndpoint = process.env.AWS_ENDPOINT_URL || m?.endpoint || undefined;
  return awsEndpoint ? { temporalAddress, awsEndpoint } : { temporalAddress };
}
