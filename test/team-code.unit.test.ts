/**
 * "Bring your own IaC" without a server: how a runbook names the team's code (runbooks/schema.ts, path-qualified
 * refusals of unpinned module sources, credentials in backend settings, relative directories), and how drover runs
 * OpenTofu on it (activities/team-code.ts: variables per region, the root written for a module source, the work
 * settings that keep OpenTofu out of the team's directory, the code digest another checkout changes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseRunbook } from '../runbooks/load';
import { moduleSourceRefusal, type TeamCode } from '../runbooks/schema';
import { backendRefusal, codeDigest, codeKind, initDigest, rootModule, synthArgv, teamWork, variablesFor } from '../activities/team-code';
import { tofuEnvironment } from '../activities/iac';

const PRIMARY = 'ap-south-1';
const STANDBY = 'ap-southeast-1';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
/** Each region its own state key (the runbook refuses two regions on one state). */
const PER_REGION = { [PRIMARY]: { key: `eks/${PRIMARY}.tfstate` }, [STANDBY]: { key: `eks/${STANDBY}.tfstate` } };

/** A valid runbook whose rebuild runs `code`; its clusters have no network (the team's code describes it). */
function runbook(code: unknown): Record<string, unknown> {
  return {
    version: 1,
    name: 'shop',
    regions: { primary: PRIMARY, standby: STANDBY },
    dns: { hostedZone: 'shop.example', records: [{ name: 'api.shop.example', type: 'CNAME', routing: 'weighted', targets: { [PRIMARY]: { setIdentifier: 'a', value: 'a.example' }, [STANDBY]: { setIdentifier: 'b', value: 'b.example' } } }], shift: { steps: [50, 100], soak: '1m' } },
    database: { engine: 'postgres', primary: { identifier: 'shop-a' }, replica: { identifier: 'shop-b' }, maxReplicaLag: '30s', writerRecord: { name: 'db.shop.example' } },
    compute: { clusters: [{ region: PRIMARY, name: 'shop-a', nodeGroups: [{ name: 'general', standby: 1, active: 4 }] }, { region: STANDBY, name: 'shop-b', nodeGroups: [{ name: 'general', standby: 1, active: 4 }] }] },
    health: {},
    approvals: {},
    objectives: { rto: '15m', rpo: '1m' },
    rebuild: { code },
  };
}

function problems(code: unknown): Array<{ path: string; message: string }> {
  const r = parseRunbook(stringify(runbook(code)));
  return r.ok ? [] : r.problems.map(({ path: p, message }) => ({ path: p, message }));
}

function parsedCode(code: unknown): TeamCode {
  const r = parseRunbook(stringify(runbook(code)));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.runbook.rebuild!.code!;
}

describe('naming the team code in the runbook', () => {
  test('a root module directory, a pinned registry module, a pinned Git module and a CDK for Terraform app are valid; the clusters need no network then', () => {
    expect(problems({ module: { dir: '/srv/infra/eks', vars: { name: 'x' }, backendConfig: { bucket: 'state' }, regionBackendConfig: PER_REGION } })).toEqual([]);
    expect(problems({ module: { source: 'terraform-aws-modules/eks/aws', version: '20.31.6', backend: { type: 's3', config: { bucket: 'b', region: STANDBY }, regionConfig: PER_REGION } } })).toEqual([]);
    expect(problems({ module: { source: `git::https://git.example.com/infra/eks.git?ref=${COMMIT}`, backend: { type: 's3' }, workspace: 'eks-{region}' } })).toEqual([]);
    expect(problems({ cdktf: { dir: '/srv/infra/cdktf', synth: ['node', 'main.js'], stack: 'eks-{region}' } })).toEqual([]);
    expect(problems({ module: { dir: '/srv/infra/{region}/eks' } })).toEqual([]);
  });

  test('the built-in stack still needs each cluster network', () => {
    const r = parseRunbook(stringify({ ...runbook(undefined), rebuild: {} }));
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['compute.clusters[0].network', 'compute.clusters[1].network']);
  });

  test.each([
    [{ source: 'terraform-aws-modules/eks/aws' }, 'rebuild.code.module.version', 'is a registry module without a version'],
    [{ source: 'terraform-aws-modules/eks/aws', version: '~> 20.0' }, 'rebuild.code.module.version', 'has the version constraint "~> 20.0", which may match several releases'],
    [{ source: 'git::https://git.example.com/eks.git' }, 'rebuild.code.module.source', 'is a Git source without ?ref=: it would follow a branch'],
    [{ source: 'git::https://git.example.com/eks.git?ref=main' }, 'rebuild.code.module.source', 'pins ?ref=main, which is not a commit'],
    // A tag can be moved to another commit after the plan was approved.
    [{ source: 'git::https://git.example.com/eks.git?ref=v2.4.0' }, 'rebuild.code.module.source', 'pins ?ref=v2.4.0, which is not a commit'],
    [{ source: 'github.com/acme/eks?ref=v1.0.0', version: '1.0.0' }, 'rebuild.code.module.source', 'is a Git source, which takes no version'],
    [{ source: './modules/eks' }, 'rebuild.code.module.source', 'is a local path, which names no version'],
    [{ source: 'https://example.com/eks.zip' }, 'rebuild.code.module.source', 'is a source whose version drover cannot tell'],
  ])('an unpinned module source %j is refused at %s', (module, at, message) => {
    const found = problems({ module: { ...module, backend: { type: 's3', regionConfig: PER_REGION } } });
    expect(found).toHaveLength(1);
    expect(found[0].path).toBe(at);
    expect(found[0].message).toContain(message);
  });

  test('a relative directory, a credential in backend settings, a region outside the pair and a refused passEnv are each named', () => {
    expect(problems({ module: { dir: 'infra/eks', workspace: '{region}' } })).toEqual([{ path: 'rebuild.code.module.dir', message: 'must be an absolute path: it is read on the worker, whatever its working directory' }]);
    expect(problems({ module: { dir: '/srv/eks', backendConfig: { secret_key: 'x' }, regionBackendConfig: PER_REGION } }).map((p) => p.path)).toEqual(['rebuild.code.module.backendConfig.secret_key']);
    expect(problems({ module: { dir: '/srv/eks', regionVars: { 'eu-west-1': { a: 1 } }, regionBackendConfig: PER_REGION } })).toEqual([{ path: 'rebuild.code.module.regionVars.eu-west-1', message: `is not one of the runbook's regions (${PRIMARY}, ${STANDBY})` }]);
    expect(problems({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: 's-{region}', passEnv: ['AWS_SECRET_ACCESS_KEY'] } }).map((p) => p.path)).toEqual(['rebuild.code.cdktf.passEnv[0]']);
  });

  test('two regions on one state are refused: the same directory, backend settings and workspace (and cdktf stack) for both', () => {
    const one = (at: string, kind: string) => [{ path: at, message: expect.stringContaining(`both regions would plan against one state (the same directory, backend settings and workspace${kind === 'cdktf' ? ' and stack' : ''} for ${PRIMARY} and ${STANDBY})`) as unknown as string }];
    // A module directory with a full backend block (or one backendConfig for both), a module source with one backend, a cdktf stack without {region}.
    expect(problems({ module: { dir: '/srv/eks' } })).toEqual(one('rebuild.code.module', 'module'));
    expect(problems({ module: { dir: '/srv/eks', backendConfig: { key: 'eks.tfstate' } } })).toEqual(one('rebuild.code.module', 'module'));
    expect(problems({ module: { source: 'acme/eks/aws', version: '1.2.3', backend: { type: 's3', config: { bucket: 'b', key: 'k' } } } })).toEqual(one('rebuild.code.module', 'module'));
    expect(problems({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: 'eks' } })).toEqual(one('rebuild.code.cdktf', 'cdktf'));
    // Any one of them per region is enough: a key, a directory, a workspace, a stack.
    expect(problems({ module: { dir: '/srv/eks', backendConfig: { key: 'eks.tfstate' }, regionBackendConfig: { [STANDBY]: { key: 'eks-b.tfstate' } } } })).toEqual([]);
    expect(problems({ module: { dir: '/srv/eks', workspace: 'eks-{region}' } })).toEqual([]);
    expect(problems({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: 'eks', regionBackendConfig: PER_REGION } })).toEqual([]);
    // A regionBackendConfig for a region outside the pair is named.
    expect(problems({ module: { dir: '/srv/eks', workspace: '{region}', regionBackendConfig: { 'eu-west-1': { key: 'x' } } } }).map((p) => p.path)).toEqual(['rebuild.code.module.regionBackendConfig.eu-west-1']);
  });

  test("a module source's variables cannot be named like the module block's own arguments (they would replace the pin)", () => {
    const found = problems({ module: { source: 'acme/eks/aws', version: '1.2.3', vars: { source: 'evil/eks/aws', name: 'x' }, regionVars: { [STANDBY]: { version: '9.9.9', for_each: {} } }, backend: { type: 's3', regionConfig: PER_REGION } } });
    expect(found.map((p) => p.path).sort()).toEqual(['rebuild.code.module.regionVars.ap-southeast-1.for_each', 'rebuild.code.module.regionVars.ap-southeast-1.version', 'rebuild.code.module.vars.source']);
    expect(found[0].message).toContain('is an argument of the module block itself');
    // A module directory's variables are its own root variables: any name.
    expect(problems({ module: { dir: '/srv/eks', vars: { count: 2 }, workspace: '{region}' } })).toEqual([]);
  });

  test('credentials in backend settings (by name or by value) and in variables are refused, path-qualified', () => {
    const paths = (code: unknown) => problems(code).map((p) => p.path);
    for (const key of ['sse_customer_key', 'conn_str', 'credentials', 'encryption_key', 'access_key']) {
      expect(paths({ module: { dir: '/srv/eks', workspace: '{region}', backendConfig: { [key]: 'x' } } })).toEqual([`rebuild.code.module.backendConfig.${key}`]);
    }
    expect(paths({ module: { source: 'acme/eks/aws', version: '1.2.3', backend: { type: 'pg', config: {}, regionConfig: { [PRIMARY]: { conn_info: 'postgres://drover:hunter22@db.example/a' }, [STANDBY]: { conn_info: 'postgres://db.example/b' } } } } })).toEqual([`rebuild.code.module.backend.regionConfig.${PRIMARY}.conn_info`]);
    expect(paths({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: '{region}', vars: { db: { url: 'https://u:p4ss@x.example' } }, regionVars: { [STANDBY]: { key: 'AKIAIOSFODNN7EXAMPLE' } } } })).toEqual(['rebuild.code.cdktf.vars.db.url', `rebuild.code.cdktf.regionVars.${STANDBY}.key`]);
    expect(paths({ module: { dir: '/srv/eks', workspace: '{region}', vars: { name: 'shop', endpoint: 'https://eks.example' } } })).toEqual([]);
  });

  test('a cdktf app needs its synth command, and its stack is a name, not a path', () => {
    expect(problems({ cdktf: { dir: '/srv/app', stack: '{region}' } }).map((p) => p.path)).toEqual(['rebuild.code.cdktf.synth']);
    expect(problems({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: '../{region}' } }).map((p) => p.path)).toEqual(['rebuild.code.cdktf.stack', 'rebuild.code.cdktf.stack']);
    expect(problems({ cdktf: { dir: '/srv/app', synth: ['node', 'main.js'], stack: 'a..{region}' } }).map((p) => p.path)).toEqual(['rebuild.code.cdktf.stack']);
    expect(synthArgv(['npx', 'cdktf', 'synth', '--output', '{outdir}'], '/run/cdktf.out')).toEqual(['npx', 'cdktf', 'synth', '--output', '/run/cdktf.out']);
    expect(synthArgv(['node', 'main.js', '--out={outdir}/x'], '/o')).toEqual(['node', 'main.js', '--out=/o/x']);
  });

  test('moduleSourceRefusal accepts a commit pin and a registry address with a host, not a tag', () => {
    expect(moduleSourceRefusal(`git::ssh://git@example.com/eks.git?ref=${'a'.repeat(40)}`, undefined)).toBeUndefined();
    expect(moduleSourceRefusal('git::ssh://git@example.com/eks.git?ref=v1.2.3', undefined)).toContain('which is not a commit');
    expect(moduleSourceRefusal('registry.example.com/acme/eks/aws', '3.2.1')).toBeUndefined();
    expect(moduleSourceRefusal('terraform-aws-modules/eks/aws//modules/node', '=20.31.6')).toBeUndefined();
  });
});

describe('running OpenTofu on the team code', () => {
  test('variables are vars with the region over them; a root module gets a var file, the read-only lock file and its backend settings', () => {
    const code = parsedCode({ module: { dir: '/srv/{region}/eks', vars: { name: 'shop', size: 2 }, regionVars: { [STANDBY]: { size: 3 } }, backendConfig: { key: 'eks.tfstate', encrypt: 'true' }, regionBackendConfig: { [STANDBY]: { key: 'eks-b.tfstate' } }, workspace: 'w-{region}' } });
    expect(codeKind(code)).toBe('module');
    expect(variablesFor(code, STANDBY)).toEqual({ name: 'shop', size: 3 });
    expect(variablesFor(code, PRIMARY)).toEqual({ name: 'shop', size: 2 });
    expect(teamWork(code, STANDBY, '/run', '/home/d')).toEqual({
      dataDir: '/run/tofu-data',
      varFile: '/run/drover.tfvars.json',
      backendConfig: ['key=eks-b.tfstate', 'encrypt=true'],
      lockfileReadonly: true,
      region: STANDBY,
      codeDir: `/srv/${STANDBY}/eks`,
      workspace: `w-${STANDBY}`,
      pluginCacheDir: '/home/d/iac/plugin-cache',
    });
    expect(teamWork(code, PRIMARY, '/run').backendConfig).toEqual(['key=eks.tfstate', 'encrypt=true']);
  });

  test('a module source is called from a root drover writes, with the team backend and the variables as the module block arguments', () => {
    const code = parsedCode({ module: { source: 'acme/eks/aws', version: '1.2.3', vars: { name: 'shop' }, backend: { type: 's3', config: { bucket: 'state', key: 'eks' }, regionConfig: { [STANDBY]: { key: 'eks-b' } } } } });
    expect(codeKind(code)).toBe('module-source');
    if (!('module' in code) || !('source' in code.module)) throw new Error('expected a module source');
    expect(rootModule(code.module, STANDBY)).toEqual({ terraform: { backend: { s3: { bucket: 'state', key: 'eks-b' } } }, module: { cluster: { source: 'acme/eks/aws', version: '1.2.3', name: 'shop' } } });
    expect(rootModule(code.module, PRIMARY)).toEqual({ terraform: { backend: { s3: { bucket: 'state', key: 'eks' } } }, module: { cluster: { source: 'acme/eks/aws', version: '1.2.3', name: 'shop' } } });
    // The variables are in the root; no var file, no read-only lock (the root is drover's).
    expect(teamWork(code, STANDBY, '/run')).toEqual({ dataDir: '/run/tofu-data', varFile: undefined, backendConfig: [], lockfileReadonly: false, region: STANDBY, codeDir: '/run/root' });
    // Variables spread first: even one named like the pin (which the runbook refuses) cannot replace it.
    const sneaky = { ...code.module, vars: { source: 'evil/eks/aws', version: '6.6.6' } };
    expect(rootModule(sneaky, STANDBY)).toMatchObject({ module: { cluster: { source: 'acme/eks/aws', version: '1.2.3' } } });
  });

  test("the code digest covers every file's path and content, not OpenTofu's working data, state or plans", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'team-code-'));
    fs.writeFileSync(path.join(dir, 'main.tf'), 'resource "terraform_data" "a" {}\n');
    fs.mkdirSync(path.join(dir, 'modules'));
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# x\n');
    const first = codeDigest(dir);
    fs.mkdirSync(path.join(dir, '.terraform'));
    fs.writeFileSync(path.join(dir, '.terraform', 'environment'), 'default');
    fs.writeFileSync(path.join(dir, 'terraform.tfstate'), '{}');
    fs.writeFileSync(path.join(dir, 'drover.tfplan'), 'plan');
    expect(codeDigest(dir)).toBe(first);
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# changed\n');
    expect(codeDigest(dir)).not.toBe(first);
    fs.writeFileSync(path.join(dir, 'modules', 'x.tf'), '# x\n');
    fs.renameSync(path.join(dir, 'modules', 'x.tf'), path.join(dir, 'modules', 'y.tf'));
    expect(codeDigest(dir)).not.toBe(first);
  });
});

describe('what OpenTofu runs with, and what it settled on after init', () => {
  test("tofu's environment drops drover's and Temporal's settings and the worker's TF_WORKSPACE; the runbook's workspace and region are set", () => {
    const env = tofuEnvironment({ PATH: '/bin', TEMPORAL_ADDRESS: 'x', DROVER_TOFU: '/t', drover_x: '1', TF_WORKSPACE: 'other', AWS_REGION: 'us-east-1' }, { TEMPORAL_NAMESPACE: 'n', KEEP: 'k' }, { TF_WORKSPACE: 'w', AWS_REGION: STANDBY });
    expect(env).toEqual({ PATH: '/bin', KEEP: 'k', TF_WORKSPACE: 'w', AWS_REGION: STANDBY });
    expect(tofuEnvironment({ TF_WORKSPACE: 'other', PATH: '/bin' }, undefined, {})).toEqual({ PATH: '/bin' });
  });

  test('the code digest hashes a symlinked file by its content and a symlink to a directory by its link text, never skipping either', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'team-code-links-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'team-code-outside-'));
    fs.writeFileSync(path.join(dir, 'main.tf'), '# main\n');
    fs.writeFileSync(path.join(outside, 'shared.tf'), '# shared v1\n');
    const alone = codeDigest(dir);
    fs.symlinkSync(path.join(outside, 'shared.tf'), path.join(dir, 'shared.tf'));
    const linked = codeDigest(dir);
    expect(linked).not.toBe(alone);
    fs.writeFileSync(path.join(outside, 'shared.tf'), '# shared v2\n');
    expect(codeDigest(dir)).not.toBe(linked);
    // A link to a directory: its text counts, what it points to is not walked.
    fs.symlinkSync(outside, path.join(dir, 'modules'));
    const withDir = codeDigest(dir);
    expect(withDir).not.toBe(codeDigest(fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))));
    fs.writeFileSync(path.join(outside, 'other.tf'), '# not walked\n');
    fs.writeFileSync(path.join(outside, 'shared.tf'), '# shared v2\n');
    expect(codeDigest(dir)).toBe(withDir);
    fs.unlinkSync(path.join(dir, 'modules'));
    fs.symlinkSync('/elsewhere', path.join(dir, 'modules'));
    expect(codeDigest(dir)).not.toBe(withDir);
  });

  test('the digest after init covers the code, the lock file and every module in modules.json (a local ../ module and a downloaded one)', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'team-init-'));
    const root = path.join(base, 'root');
    const local = path.join(base, 'eks-module');
    const data = path.join(base, 'data');
    for (const d of [root, local, path.join(data, 'modules', 'net')]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(root, 'main.tf'), 'module "eks" { source = "../eks-module" }\n');
    fs.writeFileSync(path.join(local, 'main.tf'), '# eks\n');
    fs.writeFileSync(path.join(data, 'modules', 'net', 'main.tf'), '# net\n');
    fs.writeFileSync(path.join(data, 'modules', 'modules.json'), JSON.stringify({ Modules: [{ Key: '', Dir: '.' }, { Key: 'eks', Dir: '../eks-module' }, { Key: 'net', Dir: path.join(data, 'modules', 'net') }] }));
    const first = initDigest(root, data);
    expect(initDigest(root, data)).toBe(first);
    fs.writeFileSync(path.join(local, 'main.tf'), '# eks changed\n');
    const second = initDigest(root, data);
    expect(second).not.toBe(first);
    fs.writeFileSync(path.join(data, 'modules', 'net', 'main.tf'), '# net moved\n');
    const third = initDigest(root, data);
    expect(third).not.toBe(second);
    fs.writeFileSync(path.join(root, '.terraform.lock.hcl'), 'provider "x" {}\n');
    expect(initDigest(root, data)).not.toBe(third);
  });

  test("a backend that keeps the state in the team's directory (none, or local with a relative path or one inside it), remote and cloud are refused", () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'team-backend-'));
    const record = (backend: unknown) => fs.writeFileSync(path.join(data, 'terraform.tfstate'), JSON.stringify({ version: 3, backend }));
    expect(backendRefusal(data, '/srv/eks')).toMatch(/^the team's code keeps its state in its own directory \(it names no backend/);
    record({ type: 'local', config: { path: null, workspace_dir: null } });
    expect(backendRefusal(data, '/srv/eks')).toContain("the team's code keeps its state in its own directory (local backend path terraform.tfstate");
    record({ type: 'local', config: { path: 'state/x.tfstate' } });
    expect(backendRefusal(data, '/srv/eks')).toContain('name a backend (s3, or local with an absolute path outside the code)');
    record({ type: 'local', config: { path: '/srv/eks/state/x.tfstate' } });
    expect(backendRefusal(data, '/srv/eks')).toContain('local backend path /srv/eks/state/x.tfstate');
    record({ type: 'local', config: { path: '/var/lib/team/x.tfstate' } });
    expect(backendRefusal(data, '/srv/eks')).toBeUndefined();
    expect(backendRefusal(data, '/srv/eks', 'blue')).toContain('workspace blue under terraform.tfstate.d');
    record({ type: 'local', config: { path: '/srv/eks-state/x.tfstate' } }); // a sibling, not inside
    expect(backendRefusal(data, '/srv/eks')).toBeUndefined();
    record({ type: 's3', config: { bucket: 'b', key: 'k' } });
    expect(backendRefusal(data, '/srv/eks')).toBeUndefined();
    for (const type of ['remote', 'cloud']) {
      record({ type, config: {} });
      expect(backendRefusal(data, '/srv/eks')).toContain(`uses the ${type} backend, which runs plans remotely and cannot save a plan`);
    }
  });
});
