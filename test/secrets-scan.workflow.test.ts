import { startTimeSkipping, scanTimeSkippingHistories } from './harness/timeskipping';

/**
 * The workflow tier's servers are scanned too: timeSkippingPerFile() scans every history on its
 * time-skipping server before tearing it down. Here, on a server of this test's own (so the planted
 * secret does not fail this file's own scan), a workflow started with a secret in its input is found.
 */
jest.setTimeout(180_000);

test('a secret planted in a history on a time-skipping server is found, named by workflow and kind, never printed', async () => {
  const env = await startTimeSkipping();
  try {
    expect(await scanTimeSkippingHistories(env)).toEqual({ histories: 0 });
    // A workflow type no worker serves: its start event records the input, which is all this needs.
    const keyId = ['AKIA', 'Z7QW3PLANTEDX2VK'].join('');
    const handle = await env.client.workflow.start('nobodyServesThis', {
      taskQueue: 'secrets-scan-planted',
      workflowId: 'planted-secret',
      args: [{ note: Buffer.from(`aws_access_key_id=${keyId}`).toString('base64') }],
    });
    await handle.terminate('planted for the scan');
    await env.client.workflow.start('nobodyServesThis', { taskQueue: 'secrets-scan-planted', workflowId: 'clean', args: [{ note: 'nothing here' }] });

    const error = await scanTimeSkippingHistories(env).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/^secrets scan of the time-skipping server: 1 finding\(s\):\nplanted-secret \(run [0-9a-f-]{36}\), event 1: /);
    expect(error?.message).not.toContain(keyId);
  } finally {
    await env.teardown();
  }
});
