/**
 * What `drover worker --production` refuses to start with, and the IaC lane's shutdown grace, from the runbooks the
 * worker holds (cli/production.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadOrCreateIdentityKey } from '../activities/sealing';
import { heldRunbooks, iacGraceMs, keptOnOneHost, productionProblems } from '../cli/production';
import { writeRunbook } from './harness/fixtures';
import { plantedDir, testTempDir } from './harness/servers';

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

/** A production worker's other settings, all good: the bundle, the shared identity key, OpenTofu. */
function goodEnv(dir: string): NodeJS.ProcessEnv {
  const bundle = path.join(dir, 'bundle.js');
  fs.writeFileSync(bundle, '// a bundle');
  // A key planted on purpose: the secrets scan leaves planted-* directories out, and finds any other.
  const key = path.join(plantedDir('identity-'), 'identity.jwk');
  loadOrCreateIdentityKey(key);
  return { DROVER_WORKFLOW_BUNDLE: bundle, DROVER_IDENTITY_KEY_FILE: key, DROVER_TOFU: process.execPath };
}

test('a production worker needs the shared identity key, never one of its own', () => {
  const dir = runbookDir([[S3_AUDIT, NO_REBUILD]]);
  const env = goodEnv(dir);
  expect(productionProblems(heldRunbooks(dir), env)).toEqual([]);
  expect(productionProblems(heldRunbooks(dir), { ...env, DROVER_IDENTITY_KEY_FILE: undefined })).toEqual([
    'DROVER_IDENTITY_KEY_FILE is not set: production workers share one identity key, mounted from your secrets manager (docs/approvals.md); a worker never makes its own',
  ]);
  const absent = path.join(dir, 'nope.jwk');
  expect(productionProblems(heldRunbooks(dir), { ...env, DROVER_IDENTITY_KEY_FILE: absent })).toEqual([`DROVER_IDENTITY_KEY_FILE: identity key ${absent} cannot be read: ENOENT`]);
  expect(fs.existsSync(absent)).toBe(false);
  const publicOnly = path.join(dir, 'public.jwk');
  const { kty, crv, x, y } = JSON.parse(fs.readFileSync(env.DROVER_IDENTITY_KEY_FILE!, 'utf8')) as Record<string, string>;
  fs.writeFileSync(publicOnly, JSON.stringify({ kty, crv, x, y }));
  expect(productionProblems(heldRunbooks(dir), { ...env, DROVER_IDENTITY_KEY_FILE: publicOnly })).toEqual([`DROVER_IDENTITY_KEY_FILE: identity key ${publicOnly} holds no private key (d): the worker needs the private JWK`]);
});

test('a production worker serving the IaC lane for a runbook that rebuilds names its OpenTofu; one serving only the runs does not need it', () => {
  const dir = runbookDir([[S3_AUDIT, S3_STATE]]);
  const env = goodEnv(dir);
  const noTofu = { ...env, DROVER_TOFU: undefined };
  expect(productionProblems(heldRunbooks(dir), noTofu)).toEqual([
    `${path.join(dir, 'prod-0.yaml')} rebuild: this worker serves the IaC lane and names no OpenTofu: set DROVER_TOFU to the tofu binary in its image (or the runbook's rebuild.binary), or serve --queues core and run the IaC lane on workers that have one`,
  ]);
  expect(productionProblems(heldRunbooks(dir), noTofu, 'iac')).toHaveLength(1);
  expect(productionProblems(heldRunbooks(dir), noTofu, 'core')).toEqual([]);
  expect(productionProblems(heldRunbooks(dir), { ...env, DROVER_TOFU: path.join(dir, 'no-tofu') })).toEqual([`DROVER_TOFU: ${path.join(dir, 'no-tofu')} is not an executable file`]);
});

test('a production worker needs the prebuilt bundle, S3 OpenTofu state for runbooks that rebuild, and an S3 audit trail for every runbook', () => {
  const dir = runbookDir([[[['rebuild'], { backend: { type: 'local' } }]], [NO_REBUILD]]);
  const held = heldRunbooks(dir);
  const { DROVER_IDENTITY_KEY_FILE, DROVER_TOFU } = goodEnv(dir);
  expect(productionProblems(held, { DROVER_IDENTITY_KEY_FILE, DROVER_TOFU })).toEqual([
    'DROVER_WORKFLOW_BUNDLE is not set: production workers run the prebuilt workflow bundle that `drover bundle` checked against the recorded histories',
    `${path.join(dir, 'prod-0.yaml')} rebuild.backend: type local keeps the OpenTofu state on one host; production workers share it: use type s3`,
    `${path.join(dir, 'prod-0.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
    `${path.join(dir, 'prod-1.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
  ]);
  expect(productionProblems(held, { DROVER_IDENTITY_KEY_FILE, DROVER_TOFU, DROVER_WORKFLOW_BUNDLE: path.join(dir, 'absent.js') })[0]).toBe(`DROVER_WORKFLOW_BUNDLE: ${path.join(dir, 'absent.js')} does not exist`);
});

test('a production worker with all of them starts; a runbook that does not load, or none at all, is refused', () => {
  const dir = runbookDir([[S3_AUDIT, S3_STATE], [S3_AUDIT, NO_REBUILD]]);
  const env = goodEnv(dir);
  expect(productionProblems(heldRunbooks(dir), env)).toEqual([]);

  fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: [unclosed\n');
  const problems = productionProblems(heldRunbooks(dir), env);
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.every((p) => p.startsWith(path.join(dir, 'broken.yaml')))).toBe(true);
  expect(productionProblems([], env)).toEqual(['the runbook directory holds no <name>.yaml: this worker would refuse every run']);
});

test("the IaC lane's shutdown grace covers the longest OpenTofu command or redeploy hook a held runbook allows, plus tofu's 30 s to stop", () => {
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, NO_REBUILD]])))).toBe(30_000);
  // rebuild.timeout 45m, redeploy 20m: 45m + 30s; a default rebuild section: 60m + 30s.
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, S3_STATE], [[['rebuild'], { backend: { type: 'local' } }]]])))).toBe(60 * 60_000 + 30_000);
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, S3_STATE]])))).toBe(45 * 60_000 + 30_000);
  // The team's CDK for Terraform app's synth runs on the lane too.
  expect(iacGraceMs(heldRunbooks(runbookDir([[S3_AUDIT, [['rebuild'], { code: { cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: 's-{region}', timeout: '90m' } } }]]])))).toBe(90 * 60_000 + 30_000);
});

test('what a held runbook keeps on one host (said as warnings by a worker that is not --production): local OpenTofu state and a JSONL-only trail; nothing for S3 ones or a runbook that did not load', () => {
  const dir = runbookDir([[[['rebuild'], { backend: { type: 'local' } }]], [S3_AUDIT, S3_STATE], [S3_AUDIT, NO_REBUILD], [S3_AUDIT, [['rebuild'], { code: { module: { dir: '/srv/infra/eks', workspace: 'eks-{region}' } } }]]]);
  fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: [unclosed\n');
  expect(heldRunbooks(dir).map(keptOnOneHost)).toEqual([
    [],
    [
      `${path.join(dir, 'prod-0.yaml')} rebuild.backend: type local keeps the OpenTofu state on one host; production workers share it: use type s3`,
      `${path.join(dir, 'prod-0.yaml')} audit.s3: not set, so the trail would be only in each worker's JSONL directory; production workers write it to S3 (Object Lock)`,
    ],
    [],
    [],
    // The team's own code keeps its state in the team's backend: drover's local default is not used.
    [],
  ]);
});
