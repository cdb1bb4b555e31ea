import { workerSinks } from '../cli/worker';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from './harness/fixtures';
import { recordedHistories } from '../cli/bundle';
import { exec } from '../cli/main';
import { captureIO } from './harness/fixtures';
import { testTempDir } from './harness/servers';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
/** The committed histories, each with the workflow id it was recorded under (`drover bundle` replays the same list). */
const RECORDED = recordedHistories();
const load = (file: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, 'histories', file), 'utf8')));

describe('replay of committed workflow histories', () => {
  test.each(RECORDED.map((h) => [h.file, h.workflowId, h.about]))('given %s (%s, %s), the current workflows replay it without nondeterminism', async (file, workflowId) => {
    const history = load(file);
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), sinks: workerSinks() }, history, workflowId)).resolves.toBeUndefined();
  });

  test('given a workflow change that adds a timer before preflight, replaying the recorded failover fails with a determinism violation', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/changed-workflows'), logger: silent });
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, load('failover-planned.json'), 'failover-apnakart')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

describe('drover bundle', () => {
  test('every committed history is in the index the replays and drover bundle read', () => {
    const files = fs.readdirSync(path.join(__dirname, 'histories')).filter((f) => f.endsWith('.json') && f !== 'index.json');
    expect(RECORDED.map((h) => h.file).sort()).toEqual(files.sort());
  });

  test('writes the bundle once every recorded history replays against it, and writes nothing (exit 1) when one does not', async () => {
    const dir = testTempDir('bundle-');
    const out = path.join(dir, 'workflows.js');
    const io = captureIO();
    expect(await exec(['bundle', '--out', out], io)).toBe(0);
    expect(io.stdout).toEqual([`wrote ${out}: ${RECORDED.length} recorded histories replay against it`]);
    expect(fs.readFileSync(out, 'utf8')).toContain('runbookLock');
    // Workflow code quotes the secret patterns it scrubs: not left for the temporary root's secrets scan.
    fs.rmSync(out);

    // One history the bundle cannot replay (a recording cut short): refused, nothing written.
    const histories = path.join(dir, 'histories');
    fs.mkdirSync(histories);
    fs.copyFileSync(path.join(__dirname, 'histories', 'drill-lock.json'), path.join(histories, 'drill-lock.json'));
    fs.writeFileSync(path.join(histories, 'cut.json'), '{"events": [');
    fs.writeFileSync(path.join(histories, 'index.json'), JSON.stringify([{ file: 'drill-lock.json', workflowId: 'drill-apnakart-v5', about: '' }, { file: 'cut.json', workflowId: 'x', about: '' }]));
    const refused = captureIO();
    const second = path.join(dir, 'second.js');
    expect(await exec(['bundle', '--out', second, '--histories', histories], refused)).toBe(1);
    expect(refused.stderr[0]).toBe('drover: the bundle does not replay 1 of 2 recorded histories; not written');
    expect(refused.stderr[1]).toMatch(/^ {2}cut\.json \(x\): /);
    expect(fs.existsSync(second)).toBe(false);
  });
});

