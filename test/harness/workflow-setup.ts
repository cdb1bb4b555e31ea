import { ensureTestServer } from '../../infra/local/testserver';

/**
 * The workflow project's global setup: installs the Temporal time-skipping test server (first run only,
 * from Maven Central; infra/local/testserver.ts) so that each test file starts its own in about a
 * second (test/harness/timeskipping.ts). No Temporal dev server, no moto: the workflows run against
 * stub activities. Workers inherit DROVER_TEST_SERVER_BIN.
 */
export default async function workflowSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[drover harness] ${line}\n`);
  process.env.DROVER_TEST_SERVER_BIN = await ensureTestServer({ log });
}
