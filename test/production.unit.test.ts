/**
 * What `drover worker --production` refuses to start with, and the IaC lane's shutdown grace, from the runbooks the
 * worker holds (cli/production.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { heldRunbooks, iacGraceMs, keptOnOneHost, productionProblems } from '../cli/production';
import { writeRunbook } from './harness/fixtures';
import { testTempDir } from './harness/servers';

function runbookDir(runbooks: Array<Array<[Array<string | number>, unknown]>>): string {
  const dir = testTempDir('worker-runbooks-');
  runbooks.forEach((set, i) => {
    const { file } = writeRunbook({ name: `prod-${i}`, set });
    fs.copyFileSync(file, path.join(dir, `prod-${i}.yaml`));
  });
  return dir;
}

const S3_AUDIT: [Array<string | number>, unknown] = [['audit'], { s3: { bucket: 'apnakart-drover-audit' } }];
/** The fixture runbook rebuilds (a local backend): this one does not. */
const NO_REBUILD: [Array<string | number>, unknown] = [['rebuild'], undefined];
const S3_STATE: [Array<string | number>, unknown] = [['rebuild'], { backend: { type: 's3', bucket: 'apnakart-tofu-state' }, timeout: '45m', redeploy: { command: ['true'], timeout: '20m' } }];

test('a production worker needs the prebuilt bundle, S3 OpenTofu state for runbooks that rebuild, and an S3 audit trail for every runbook', () => {
  const dir = runbookDir([[[['rebuild'], { backend: { type: 'local' } }]], [NO_REBUILD]]);
  const held = heldRunbooks(dir);
  expect(productionProblems(held, {})).toEqual([
    'DROVER_WORKFLOW_BUNDLE is not set: production workers run the prebuilt workflow bundle that `drover bundle` checked against the recorded histories',
    `${path.join(dir, 'prod-0.yaml')} rebuild.backend: type local keeps the OpenTofu state on one host; production workers share it: use type s3`,
    `${path.join(dir, 'prod-0.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
    `${path.join(dir, 'prod-1.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
  ]);
  expect(productionProblems(held, { DROVER_WORKFLOW_BUNDLE: path.join(dir, 'absent.js') })[0]).toBe(`DROVER_WORKFLOW_BUNDLE: ${path.join(dir, 'absent.js')} does not exist`);
});

test('a production worker with all of them starts; a runbook that does not load, or none at all, is refused', () => {
  const dir = runbookDir([[S3_AUDIT, S3_STATE], [S3_AUDIT, NO_REBUILD]]);
  const bundle = path.join(dir, 'bundle.js');
  fs.writeFileSync(bundle, '// a bundle');
  expect(productionProblems(heldRunbooks(dir), { DROVER_WORKFLOW_BUNDLE: bundle })).toEqual([]);

  fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: [unclosed\n');
  const problems = productionProblems(heldRunbooks(dir), { DROVER_WORKFLOW_BUNDLE: bundle });
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.every((p) => p.startsWith(path.join(dir, 'broken.yaml')))).toBe(true);
  expect(productionProblems([], { DROVER_WORKFLOW_BUNDLE: bundle })).toEqual(['the runbook directory holds no <name>.yaml: this worker would refuse every run']);
});

test("the IaC lane's shutdown grace covers the longest OpenTofu command or redeploy hook a held runbook allows, plus tofu's 30 s to stop", () => {
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, NO_REBUILD]])))).toBe(30_000);
  // rebuild.timeout 45m, redeploy 20m: 45m + 30s; a default rebuild section: 60m + 30s.
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, S3_STATE], [[['rebuild'], { backend: { type: 'local' } }]]])))).toBe(60 * 60_000 + 30_000);
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, S3_STATE]])))).toBe(45 * 60_000 + 30_000);
});

test('what a held runbook keeps on one host (said as warnings by a worker that is not --production): local OpenTofu state and a JSONL-only trail; nothing for S3 ones or a runbook that did not load', () => {
  const dir = runbookDir([[[['rebuild'], { backend: { type: 'local' } }]], [S3_AUDIT, S3_STATE], [S3_AUDIT, NO_REBUILD]]);
  fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: [unclosed\n');
  expect(heldRunbooks(dir).map(keptOnOneHost)).toEqual([
    [],
    [
      `${path.join(dir, 'prod-0.yaml')} rebuild.backend: type local keeps the OpenTofu state on one host; production workers share it: use type s3`,
      `${path.join(dir, 'prod-0.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
    ],
    [],
    [],
  ]);
});
